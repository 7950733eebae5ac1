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

    def forward(self, emb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``emb`` (N, 16, h, w) -> (normalised LL (N,3,H,W) in [0,1], HF (N,3,3,H,W))."""
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


def count_decoder_params(decoder: nn.Module, include_head: bool = False) -> int:
    """Decoder size as the paper counts it: stem + UBs + MFU + HFR (the LL head excluded unless asked)."""
    total = sum(p.numel() for p in decoder.parameters())
    if not include_head and hasattr(decoder, "head"):
        total -= sum(p.numel() for p in decoder.head.parameters())
    return total
