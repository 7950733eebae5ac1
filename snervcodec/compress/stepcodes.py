"""Step codes: how format 1.2 writes a quantisation step (bitstream/SPEC.md, section 4.0, "Step codes").

A quantisation step is sent as a 12-bit code ``k``: ``step(k) = (64 + (k & 63)) * 2^((k >> 6) - 44)``,
a 6-bit-mantissa float that is exact in float32 (no libm on either side, so the encoder and every
decoder dequantise bit-identically). Neighbouring codes are at most 1.6% apart, so snapping a
learned step to the grid moves a weight by at most 0.8% of itself.

Symbols are signed and stored offset by ``2^(bits-1)``: ``w' = (s - 2^(bits-1)) * step``, so a
pruned weight is symbol ``2^(bits-1)`` and decodes to exactly 0.0.
"""

from __future__ import annotations

import numpy as np

K_BITS = 12
K_MAX = (1 << K_BITS) - 1


def step_from_code(k) -> np.ndarray:
    """float32 steps of integer codes ``k`` (array or int), exactly."""
    k = np.asarray(k, dtype=np.int64)
    if np.any((k < 0) | (k > K_MAX)):
        raise ValueError("step code outside 0..4095")
    return np.ldexp((64 + (k & 63)).astype(np.float32), ((k >> 6) - 44).astype(np.int32)).astype(np.float32)


def code_for_step(step) -> np.ndarray:
    """The nearest grid code (in the log domain) for positive steps, clipped to the grid."""
    s = np.asarray(step, dtype=np.float64)
    s = np.where(np.isfinite(s) & (s > 0), s, 1.0)
    mant, exp = np.frexp(s)  # s = mant * 2^exp, mant in [0.5, 1)
    m = np.rint(128 * mant - 64).astype(np.int64)  # (64 + m) * 2^(exp - 7), m in 0..64
    exp = exp.astype(np.int64) + (m == 64)
    m = np.where(m == 64, 0, m)
    k = ((exp - 7 + 44) << 6) + m
    # the lower candidate may be closer in the log domain than in the linear one: check both neighbours
    k = np.clip(k, 0, K_MAX)
    cands = np.stack([np.clip(k - 1, 0, K_MAX), k, np.clip(k + 1, 0, K_MAX)])
    err = np.abs(np.log(step_from_code(cands).astype(np.float64)) - np.log(s))
    return np.take_along_axis(cands, np.argmin(err, axis=0)[None], axis=0)[0].astype(np.int64)


def offset(bits: int) -> int:
    """The symbol that stands for 0 in a ``bits``-bit signed alphabet."""
    return 1 << (bits - 1)


def dequantize_steps(symbols: np.ndarray, k: np.ndarray, bits: int, axis: int = 0) -> np.ndarray:
    """float32 values of ``symbols`` with one step code per slice along ``axis`` (or one in all)."""
    steps = step_from_code(np.atleast_1d(k))
    shape = [1] * symbols.ndim
    if steps.size > 1:
        shape[axis] = -1
    q = (symbols.astype(np.int32) - np.int32(offset(bits))).astype(np.float32)
    return q * steps.reshape(shape)
