"""SNeRV backbone, "Ours(B)" (paper Sec. 3.2).

Data flow (640x1280 frame, strides 5,4,2,2,2)::

    frame --DWT--> LL (3,320,640) --normalise per frame--> encoder --> embedding (16,2,4)
    embedding --stem--> UB1 (10x20) --> UB2 (40x80) --> UB3 (80x160) --> UB4 (160x320) --> UB5 (320x640)
                                                     \\______ MFB1 ______/          |
                                                                  \\______ MFB2 ___/ = F
    F --head--> normalised LL --denormalise (min,max)--\\
    F --HFR (3 branches)--> H1, H2, H3 ----------------+--IDWT--> frame (3,640,1280)

Only the decoder (stem, UBs, MFU, head, HFR) and the embeddings are transmitted.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import (
    ConvNeXtEncoder,
    FusionBlock,
    HFRBranch,
    nerv_blocks,
    tanh_unit,
    width_schedule,
)
from ..errors import ConfigError
from .config import ModelConfig
from .window import Region, chain_spans, conv_back, cut, up_back


def encoder_for(cfg: ModelConfig) -> ConvNeXtEncoder:
    """The (never transmitted) ConvNeXt encoder producing ``cfg``'s embeddings."""
    dims = [cfg.enc_width] * (len(cfg.strides) - 1) + [cfg.emb_channels]
    return ConvNeXtEncoder(3, cfg.strides, dims)


class SNeRVDecoder(nn.Module):
    """Stem, five UBs, MFU (two MFBs), LL head and HFR. Output: normalised LL and raw HF bands."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        if len(cfg.strides) < 3:
            raise ConfigError("SNeRV needs at least three up-sampling blocks for its MFU")
        self.cfg = cfg
        widths = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
        self.stem = nn.Conv2d(cfg.emb_channels, cfg.c1, 1)
        self.ubs = nn.ModuleList(nerv_blocks(cfg.c1, widths, cfg.kernels, cfg.strides))
        c3, c4, c5 = widths[-3:]
        self.mfb1 = FusionBlock(c3, c4, cfg.strides[-2], cfg.n_rb)
        self.mfb2 = FusionBlock(c4, c5, cfg.strides[-1], cfg.n_rb)
        self.head = nn.Conv2d(c5, 3, 3, padding=1)
        self.hfr = nn.ModuleList(HFRBranch(c5) for _ in range(3))

    def forward(self, emb: torch.Tensor, window: Region | None = None) -> tuple[torch.Tensor, torch.Tensor]:
        """``emb`` (N, 16, h, w) -> (normalised LL (N,3,H,W) in [0,1], HF (N,3,3,H,W)); with a ``window``
        of the LL grid, that window's LL and HF alone (:mod:`.window`)."""
        if window is not None:
            return self._draw(emb, window)
        x = F.gelu(self.stem(emb))
        feats = []
        for ub in self.ubs:
            x = ub(x)
            feats.append(x)
        return self.heads(feats)

    def heads(self, feats: list[torch.Tensor]) -> tuple[torch.Tensor, torch.Tensor]:
        """MFU over the last three blocks' outputs, then the LL head and the HFR branches."""
        f = self.mfb2(self.mfb1(feats[-3], feats[-2]), feats[-1])
        ll = tanh_unit(self.head(f))
        hf = torch.stack([branch(f) for branch in self.hfr], dim=1)
        return ll, hf

    def _spans(self, cells: int, out: tuple[int, int]) -> tuple[dict[int, tuple[int, int]], tuple[int, int], ...]:
        """Along one axis: the span of every block's output (level 0: the embedding), of each fusion's
        input and output, and of the MFU's output, that give ``out`` of the LL grid."""
        s, n = self.cfg.strides, len(self.cfg.strides)
        size = cells * math.prod(s)
        q = 1 + 2 * self.cfg.n_rb  # a residual stack: its projection and two convolutions a block
        f = conv_back(out, 1, size)  # the LL head and the HFR branches: 3x3
        cat2 = conv_back(f, q, size)
        m1 = up_back(cat2, s[-1])
        cat1 = conv_back(m1, q, size // s[-1])
        levels = chain_spans(cat2, s, self.cfg.kernels, cells, {n - 1: cat1, n - 2: up_back(cat1, s[-2])})
        return levels, cat1, m1, cat2, f

    def _draw(self, emb: torch.Tensor, window: Region) -> tuple[torch.Tensor, torch.Tensor]:
        """:meth:`forward` over ``window`` of the LL grid: each layer computed on the part the window needs."""
        rows = self._spans(emb.shape[-2], window.rows)
        cols = self._spans(emb.shape[-1], window.cols)
        level = [Region.of(r, c) for r, c in zip(*(self._ordered(sp[0]) for sp in (rows, cols)))]
        cat1, m1, cat2, f = (Region.of(r, c) for r, c in zip(rows[1:], cols[1:]))
        full = Region(0, 0, *emb.shape[-2:])
        x, at = cut(emb, full, level[0])
        x = F.gelu(self.stem(x))
        feats = []
        for k, (ub, stride) in enumerate(zip(self.ubs, self.cfg.strides)):
            x, at = cut(ub(x), at.scaled(stride), level[k + 1])
            feats.append((x, at))
        (c3, a3), (c4, a4), (c5, a5) = feats[-3:]
        s4, s5 = self.cfg.strides[-2:]
        y = self.mfb1.fuse(torch.cat([cut(self.mfb1.up(c3), a3.scaled(s4), cat1)[0], cut(c4, a4, cat1)[0]], 1))
        y, at = cut(y, cat1, m1)
        y = self.mfb2.fuse(torch.cat([cut(self.mfb2.up(y), at.scaled(s5), cat2)[0], cut(c5, a5, cat2)[0]], 1))
        y, at = cut(y, cat2, f)
        ll = cut(tanh_unit(self.head(y)), at, window)[0]
        hf = cut(torch.stack([branch(y) for branch in self.hfr], dim=1), at, window)[0]
        return ll, hf

    @staticmethod
    def _ordered(levels: dict[int, tuple[int, int]]) -> list[tuple[int, int]]:
        return [levels[k] for k in range(len(levels))]


def count_decoder_params(decoder: nn.Module, include_head: bool = False) -> int:
    """Decoder size as the paper counts it: stem + UBs + MFU + HFR (the LL head excluded unless asked)."""
    total = sum(p.numel() for p in decoder.parameters())
    if not include_head and hasattr(decoder, "head"):
        total -= sum(p.numel() for p in decoder.head.parameters())
    return total
