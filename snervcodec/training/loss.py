"""Training loss (paper Sec. 3.5, Eq. 2).

Per term F(a, b) = 0.7 * L1(a, b) + 0.3 * (1 - SSIM(a, b)) (window 11, sigma 1.5, data range 1).
SNeRV: F(frame) + F(normalised LL) + F(HF bands), weights 1:1:1. HNeRV: F(frame).
In-painting (``batch.known``): L1 and SSIM only over known pixels (a wavelet coefficient is known
when its whole 2x2 block is).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from ..metrics import ssim
from ..models.synthesis import Synthesis
from .data import Batch


def fusion_loss(a: torch.Tensor, b: torch.Tensor, known: torch.Tensor | None = None) -> torch.Tensor:
    if known is None:
        return 0.7 * (a - b).abs().mean() + 0.3 * (1.0 - ssim(a, b))
    l1 = ((a - b).abs() * known).sum() / (known.sum() * a.shape[1]).clamp_min(1.0)
    return 0.7 * l1 + 0.3 * (1.0 - ssim(a, b, mask=known))


def snerv_loss(out: Synthesis, batch: Batch, weights: tuple[float, float, float] = (1.0, 1.0, 1.0)) -> torch.Tensor:
    known = batch.known
    loss = weights[0] * fusion_loss(out.frame, batch.frame, known)
    if out.ll_norm is not None:
        k2 = -F.max_pool2d(-known, 2) if known is not None else None
        loss = loss + weights[1] * fusion_loss(out.ll_norm, batch.ll_norm, k2)
        loss = loss + weights[2] * fusion_loss(out.hf.flatten(1, 2), batch.hf.flatten(1, 2), k2)
    return loss
