"""HNeRV baseline (Chen et al., CVPR 2023), the paper's main point of comparison.

The same ConvNeXt encoder and NeRV up-sampling blocks as SNeRV, but on the full frame: no DWT, no
MFU, no HFR. Its head predicts the frame directly. Strides 5,4,4,2,2 at 640x1280.
"""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import nerv_blocks, tanh_unit, width_schedule
from .config import ModelConfig


class HNeRVDecoder(nn.Module):
    """Stem, five UBs and an RGB head: ``emb`` (N, 16, h, w) -> frame (N, 3, H, W) in [0, 1]."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.cfg = cfg
        widths = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
        self.stem = nn.Conv2d(cfg.emb_channels, cfg.c1, 1)
        self.ubs = nn.Sequential(*nerv_blocks(cfg.c1, widths, cfg.kernels, cfg.strides))
        self.head = nn.Conv2d(widths[-1], 3, 3, padding=1)

    def forward(self, emb: torch.Tensor) -> torch.Tensor:
        return tanh_unit(self.head(self.ubs(F.gelu(self.stem(emb)))))
