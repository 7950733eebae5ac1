"""Uniform affine quantisation with an exactly representable zero.

``q = clamp(round(w / scale) + zero, 0, 2^bits - 1)`` and ``w' = (q - zero) * scale``, with
``scale = (max - min) / (2^bits - 1)`` over a range that always contains 0 and ``zero`` an integer,
so pruned weights decode to exactly 0.0. Scales are float32 and the arithmetic is float32 on both
sides, so encoder and decoder agree bit for bit. Per tensor, or per output channel (axis 0).

Choosing between the two: per-channel ranges lower the error but cost side information and change
the symbol statistics. At high rate one extra bit per weight divides the squared error by 4, so a
mode with ``bits`` coded bits and squared error ``mse`` over ``n`` weights is worth
``bits + n/2 * log2(mse)`` "equal-error bits"; we keep the mode with the smaller value.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch


@dataclass
class QTensor:
    """A quantised tensor: integer symbols and the (scale, zero) pair of each channel (or of the tensor)."""

    symbols: np.ndarray  # int32, same shape as the tensor
    scale: np.ndarray  # float32, (1,) or (C,)
    zero: np.ndarray  # int32, (1,) or (C,)
    bits: int
    per_channel: bool
    shape: tuple[int, ...]

    def dequantize(self) -> torch.Tensor:
        return dequantize(self)


def _ranges(w: np.ndarray, per_channel: bool) -> tuple[np.ndarray, np.ndarray]:
    if per_channel and w.ndim > 1:
        flat = w.reshape(w.shape[0], -1)
        return flat.min(1), flat.max(1)
    return np.array([w.min()]), np.array([w.max()])


def quantize(w: torch.Tensor | np.ndarray, bits: int, per_channel: bool = False) -> QTensor:
    a = (w.detach().cpu().float().numpy() if isinstance(w, torch.Tensor) else np.asarray(w, np.float32))
    a = a.astype(np.float32, copy=False)
    per_channel = per_channel and a.ndim > 1
    lo, hi = _ranges(a, per_channel)
    lo, hi = np.minimum(lo, 0.0), np.maximum(hi, 0.0)
    levels = (1 << bits) - 1
    scale = ((hi - lo) / levels).astype(np.float32)
    scale = np.where(scale > 0, scale, np.float32(1.0)).astype(np.float32)
    zero = np.clip(np.round(-lo / scale), 0, levels).astype(np.int32)
    shape = (-1,) + (1,) * (a.ndim - 1) if per_channel else (1,) * max(a.ndim, 1)
    s, z = scale.reshape(shape), zero.reshape(shape)
    q = np.clip(np.round(a / s) + z, 0, levels).astype(np.int32)
    return QTensor(q.reshape(a.shape), scale, zero, bits, per_channel, tuple(a.shape))


def dequantize(qt: QTensor) -> torch.Tensor:
    ndim = len(qt.shape)
    shape = (-1,) + (1,) * (ndim - 1) if qt.per_channel else (1,) * max(ndim, 1)
    q = qt.symbols.astype(np.int32) - qt.zero.reshape(shape).astype(np.int32)
    w = q.astype(np.float32) * qt.scale.reshape(shape).astype(np.float32)
    return torch.from_numpy(np.ascontiguousarray(w.reshape(qt.shape)))


def empirical_bits(symbols: np.ndarray) -> float:
    """Empirical (zeroth-order) entropy of the symbols times their count, in bits."""
    _, counts = np.unique(symbols, return_counts=True)
    p = counts / counts.sum()
    return float(-(counts * np.log2(p)).sum())


def quantize_best(w: torch.Tensor | np.ndarray, bits: int, side_bits_per_channel: int = 48) -> QTensor:
    """Per-tensor or per-channel, whichever costs fewer equal-error bits (see module docstring)."""
    a = w.detach().cpu().float().numpy() if isinstance(w, torch.Tensor) else np.asarray(w, np.float32)
    candidates = [quantize(a, bits, False)]
    if a.ndim > 1 and a.shape[0] > 1:
        candidates.append(quantize(a, bits, True))
    best, best_cost = None, math.inf
    for qt in candidates:
        err = float(np.mean((dequantize(qt).numpy() - a) ** 2))
        rate = empirical_bits(qt.symbols) + side_bits_per_channel * len(qt.scale)
        cost = rate + 0.5 * a.size * math.log2(max(err, 1e-20))
        if cost < best_cost:
            best, best_cost = qt, cost
    return best


def ll_range_grid(lo: float, hi: float, q: np.ndarray, bits: int) -> np.ndarray:
    """Values of the ``bits``-bit grid over [lo, hi] at integer positions ``q`` (float32 arithmetic,
    shared by the encoder and the decoder so both get identical per-frame LL ranges)."""
    lo32, hi32 = np.float32(lo), np.float32(hi)
    step = np.float32((hi32 - lo32) / np.float32((1 << bits) - 1))
    return (lo32 + np.asarray(q, np.float32) * step).astype(np.float32)


@dataclass(frozen=True)
class LLRange:
    """The per-frame LL ranges (min, max) of a clip as transmitted: integer positions on a
    ``bits``-bit grid over [lo, hi], and the values they stand for (paper Sec. 3.2: the LL band is
    normalised per frame before the encoder sees it)."""

    lo: float  # the clip's grid, float32
    hi: float
    q_min: np.ndarray  # (T,) int32
    q_max: np.ndarray
    min_values: np.ndarray  # (T,) float32: ll_range_grid(lo, hi, q_min, bits)
    max_values: np.ndarray
    bits: int

    @property
    def symbols(self) -> np.ndarray:
        """(T, 2) integer pairs, the coded form."""
        return np.stack([self.q_min, self.q_max], axis=1)


def quantize_ll_range(ll_min: np.ndarray, ll_max: np.ndarray, bits: int) -> LLRange:
    """Per-frame LL (min, max) on a ``bits``-bit grid over the clip's range. The min is rounded down
    and the max up, so every quantised range still contains its frame's LL values."""
    lo = np.float32(np.min(ll_min))
    hi = np.float32(np.max(ll_max))
    if not hi > lo:
        hi = np.float32(lo + np.float32(1e-3))
    levels = (1 << bits) - 1
    step = np.float32((hi - lo) / np.float32(levels))
    qmin = np.clip(np.floor((ll_min.astype(np.float32) - lo) / step), 0, levels).astype(np.int32)
    qmax = np.clip(np.ceil((ll_max.astype(np.float32) - lo) / step), 0, levels).astype(np.int32)
    # guard against float32 rounding in the division: move outwards until the grid value contains the data
    vmin, vmax = ll_range_grid(lo, hi, qmin, bits), ll_range_grid(lo, hi, qmax, bits)
    while True:
        bad_lo = (vmin > ll_min) & (qmin > 0)
        bad_hi = (vmax < ll_max) & (qmax < levels)
        if not (bad_lo.any() or bad_hi.any()):
            break
        qmin = np.where(bad_lo, qmin - 1, qmin)
        qmax = np.where(bad_hi, qmax + 1, qmax)
        vmin, vmax = ll_range_grid(lo, hi, qmin, bits), ll_range_grid(lo, hi, qmax, bits)
    # a non-empty range for every frame
    flat = qmax <= qmin
    qmax = np.where(flat & (qmin < levels), qmin + 1, qmax)
    qmin = np.where(flat & (qmax == qmin), qmin - 1, qmin)
    return LLRange(float(lo), float(hi), qmin, qmax, ll_range_grid(lo, hi, qmin, bits),
                   ll_range_grid(lo, hi, qmax, bits), bits)
