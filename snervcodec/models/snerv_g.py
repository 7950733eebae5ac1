"""SNeRV-B with grid encodings (model id 5, ``snerv-g``): the backbone of :mod:`.snerv` and, after
each up-sampling block that has one, a learned (time, height, width) grid read at the frame's time
and added to the block's output (:mod:`.grids`; HiNeRV, Kwan et al., NeurIPS 2023). The decoder
takes the frames' normalised times beside their embeddings."""

from __future__ import annotations

import torch
import torch.nn as nn
import torch.nn.functional as F

from .config import ModelConfig
from .grids import GridEncodings
from .snerv import SNeRVDecoder


class SNeRVGDecoder(SNeRVDecoder):
    """``forward(emb, t)`` -> (normalised LL, HF bands), as Ours(B). Without sized grids
    (``cfg.grids == ()``) it is the backbone alone (what sizing counts the grids' share against)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg)
        self.grids = GridEncodings(cfg) if cfg.grids else nn.Module()

    def forward(self, emb: torch.Tensor, t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """``emb`` (N, 16, h, w) and ``t`` (N,) in [0, 1] (:func:`~.grids.frame_times`)."""
        x = F.gelu(self.stem(emb))
        feats = []
        for i, ub in enumerate(self.ubs):
            x = ub(x)
            if isinstance(self.grids, GridEncodings):
                x = self.grids.add(i, x, t)
            feats.append(x)
        return self.heads(feats)
