"""The quantiser in the training loop (after Balle et al., HiNeRV's Quant-Noise and Cool-chic's
annealing): values over a step, in one of three modes, inside the signed ``bits``-bit alphabet
(8 for weights, 6 for embeddings); pruned weights stay exactly zero (the mask multiplies the
relaxed symbol). The steps and rate laws it is used with are the entropy models' (:mod:`..entropy`).

- ``noise``: ``w/step + u``, u ~ U(-1/2, 1/2): a differentiable proxy early in training;
- ``ste``: ``round(w/step)`` with a straight-through gradient: exactly the coded values;
- ``mixed``: the values rounded straight-through (the network sees what is coded), the symbols the rate
  is estimated on with noise (Minnen & Singh, ICIP 2020, "mixed" quantisation).
"""

from __future__ import annotations

from typing import Literal

import torch

QuantMode = Literal["noise", "ste", "mixed"]


def relaxed(mode: QuantMode) -> bool:
    """Whether the rate is estimated on noisy symbols (so the rounded ones' bits are measured apart)."""
    return mode != "ste"


def fake_quant(x: torch.Tensor, step: torch.Tensor, bits: int, mode: QuantMode,
               mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(dequantised values, relaxed symbols) of ``x`` with steps broadcastable to it."""
    y = x / step
    lim = 1 << (bits - 1)
    noisy = rounded = None
    if mode != "ste":
        noisy = (y + (torch.rand_like(y) - 0.5)).clamp(-lim, lim - 1)
        noisy = noisy * mask if mask is not None else noisy
    if mode != "noise":
        rounded = (y + (torch.round(y) - y).detach()).clamp(-lim, lim - 1)
        rounded = rounded * mask if mask is not None else rounded
    return (rounded if rounded is not None else noisy) * step, noisy if noisy is not None else rounded


def round_symbols(x: torch.Tensor, steps: torch.Tensor, bits: int) -> torch.Tensor:
    """The coder's integer symbols of ``x`` at ``steps``: rounded, clipped to the signed alphabet."""
    lim = 1 << (bits - 1)
    return torch.round(x.float() / steps).clamp(-lim, lim - 1)
