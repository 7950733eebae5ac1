"""The quantiser in the training loop (after Balle et al., HiNeRV's Quant-Noise and Cool-chic's
annealing): values over a step, in one of two modes, inside the signed ``bits``-bit alphabet
(8 for weights, 6 for embeddings); pruned weights stay exactly zero (the mask multiplies the
relaxed symbol). The steps and rate laws it is used with are the entropy models' (:mod:`..entropy`).

- ``noise``: ``w/step + u``, u ~ U(-1/2, 1/2): a differentiable proxy early in training;
- ``ste``: ``round(w/step)`` with a straight-through gradient: exactly the coded values.
"""

from __future__ import annotations

from typing import Literal

import torch

QuantMode = Literal["noise", "ste"]


def fake_quant(x: torch.Tensor, step: torch.Tensor, bits: int, mode: QuantMode,
               mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(dequantised values, relaxed symbols) of ``x`` with steps broadcastable to it."""
    y = x / step
    if mode == "noise":
        y = y + (torch.rand_like(y) - 0.5)
    else:
        y = y + (torch.round(y) - y).detach()
    q_lo, q_hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    y = y.clamp(q_lo, q_hi)
    if mask is not None:
        y = y * mask
    return y * step, y


def round_symbols(x: torch.Tensor, steps: torch.Tensor, bits: int) -> torch.Tensor:
    """The coder's integer symbols of ``x`` at ``steps``: rounded, clipped to the signed alphabet."""
    lim = 1 << (bits - 1)
    return torch.round(x.float() / steps).clamp(-lim, lim - 1)
