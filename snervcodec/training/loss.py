"""Training loss (paper Sec. 3.5, Eq. 2).

Per term F(a, b) = 0.7 * L1(a, b) + 0.3 * (1 - SSIM(a, b)) (window 11, sigma 1.5, data range 1).
SNeRV: F(frame) + F(normalised LL) + F(HF bands), weights 1:1:1. HNeRV: F(frame).
"""

from __future__ import annotations

import torch

from ..metrics import ssim
from ..models.synthesis import Synthesis
from .data import Batch


def fusion_loss(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    return 0.7 * (a - b).abs().mean() + 0.3 * (1.0 - ssim(a, b))


def snerv_loss(out: Synthesis, batch: Batch, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    loss = weights[0] * fusion_loss(out.frame, batch.frame)
    if out.ll_norm is not None:
        loss = loss + weights[1] * fusion_loss(out.ll_norm, batch.ll_norm)
        loss = loss + weights[2] * fusion_loss(out.hf.flatten(1, 2), batch.hf.flatten(1, 2))
    return loss
