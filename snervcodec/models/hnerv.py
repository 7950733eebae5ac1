"""HNeRV baseline (Chen et al., CVPR 2023), the paper's main point of comparison.

The same ConvNeXt encoder and NeRV up-sampling blocks as SNeRV, but on the full frame: no DWT, no
MFU, no HFR. Its head predicts the frame directly. Strides 5,4,4,2,2 at 640x1280.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import nerv_blocks, tanh_unit, width_schedule
from .config import ModelConfig
from .window import Region, chain_spans, conv_back, cut


class HNeRVDecoder(nn.Module):
    """Stem, five UBs and an RGB head: ``emb`` (N, 16, h, w) -> frame (N, 3, H, W) in [0, 1]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        widths = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
        self.stem = nn.Conv2d(cfg.emb_channels, cfg.c1, 1)
        self.ubs = nn.Sequential(*nerv_blocks(cfg.c1, widths, cfg.kernels, cfg.strides))
        self.head = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, emb: torch.Tensor, window: Region | None = None) -> torch.Tensor:
        """With a ``window`` of the frame, that window alone, each layer computed on the part it needs
        (:mod:`.window`)."""
        if window is None:
            return tanh_unit(self.head(self.ubs(F.gelu(self.stem(emb)))))
        size = [n * math.prod(self.cfg.strides) for n in emb.shape[-2:]]
        spans = [chain_spans(conv_back(out, 1, n), self.cfg.strides, self.cfg.kernels, cells)
                 for out, n, cells in zip((window.rows, window.cols), size, emb.shape[-2:])]
        level = [Region.of(spans[0][k], spans[1][k]) for k in range(len(self.cfg.strides) + 1)]
        x, at = cut(emb, Region(0, 0, *emb.shape[-2:]), level[0])
        x = F.gelu(self.stem(x))
        for k, (ub, stride) in enumerate(zip(self.ubs, self.cfg.strides)):
            x, at = cut(ub(x), at.scaled(stride), level[k + 1])
        return cut(tanh_unit(self.head(x)), at, window)[0]
