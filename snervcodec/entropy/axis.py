"""Shared pieces of the axis-law entropy models (format 1.6, after NVRC, Kwan et al., NeurIPS 2024:
entropy parameters per axis of a coded tensor): the geometric law's decay is scaled per row and per
column by learned log-scale offsets on a grid of half octaves, so a class is an integer.

- Training face: :func:`snap` (the offsets on the grid, straight-through) and :func:`law_bits`
  (differentiable bits under per-symbol decays), the same formula the coder's tables follow.
- Coding face: :func:`axis_law` (integer classes and decays), :func:`encode_classed` /
  :func:`decode_classed` (symbols coded class by class under the stored tables).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..bitstream.axislaw import AxisLaw, class_order
from ..compress.stepcodes import offset
from .coder import PRECISION, ChunkDecoder, ChunkEncoder
from .laws import LN2, _log_p0

CLASS_STEP = math.log(2.0) / 2  # a class is half an octave of the law's scale (at most 0.02 bits a symbol off)
OFFSET_LIMIT = 8 * CLASS_STEP  # learned offsets stay within +-4 octaves: at most 17 classes per axis


def snap(offsets: torch.Tensor) -> torch.Tensor:
    """Log-scale offsets clamped and rounded to whole classes, with a straight-through gradient."""
    u = offsets.clamp(-OFFSET_LIMIT, OFFSET_LIMIT) / CLASS_STEP
    return (u + (torch.round(u) - u).detach()) * CLASS_STEP


def law_bits(y: torch.Tensor, log_a: torch.Tensor) -> torch.Tensor:
    """Bits of each symbol ``y`` under the geometric law of decay ``exp(log_a)`` (broadcast), not summed."""
    a = log_a.exp()
    return (-_log_p0(a) + a * y.abs()) / LN2


def law_bits_np(q: np.ndarray, a: np.ndarray) -> float:
    """:func:`law_bits` summed, in float64, for integer symbols ``q`` and decays ``a`` (broadcast)."""
    q = torch.from_numpy(np.asarray(q, np.float64))
    a = torch.from_numpy(np.asarray(a, np.float64))
    return float(law_bits(q, a.log()).sum())


def integer_classes(offsets: torch.Tensor) -> tuple[np.ndarray, int]:
    """(classes from 0, the smallest class before shifting) of learned log-scale offsets."""
    u = offsets.detach().double().clamp(-OFFSET_LIMIT, OFFSET_LIMIT).cpu().numpy() / CLASS_STEP
    c = np.round(u).astype(np.int64)
    lo = int(c.min()) if c.size else 0
    return c - lo, lo


def decay_code(a: np.ndarray) -> tuple[int, ...]:
    """The stored integer decays ``round(2^16 exp(-a))`` in 1..65535."""
    return tuple(int(v) for v in np.clip(np.round(65536.0 * np.exp(-np.asarray(a, np.float64))), 1, 65535))


def law_of(a: np.ndarray, shape: tuple[int, int], used: np.ndarray) -> AxisLaw:
    """The stream's law of class decays ``a``, with a table for the ``used`` classes only."""
    decays = np.zeros(len(a), np.int64)
    decays[used] = decay_code(a[used])
    return AxisLaw(shape[0], shape[1], tuple(int(d) for d in decays))


def axis_law(base_a: float, rows: np.ndarray, row_lo: int, cols: np.ndarray, col_lo: int, shape: tuple[int, ...]
             ) -> tuple[AxisLaw, np.ndarray, np.ndarray]:
    """(the stream's law, the float decay of every class, every symbol's class) of a tensor of
    ``shape`` for a base decay and integer classes: class ``m`` has decay
    ``base_a 2^(-(m + row_lo + col_lo) / 4)``, the training estimate's."""
    n_rows, n_cols = int(rows.max()) + 1, int(cols.max()) + 1
    a = base_a * np.exp(-(np.arange(n_rows + n_cols - 1) + row_lo + col_lo) * CLASS_STEP)
    cls = tensor_classes(shape, rows, cols)
    return law_of(a, (n_rows, n_cols), np.unique(cls)), a, cls


def encode_classed(enc: ChunkEncoder, symbols: np.ndarray, classes: np.ndarray, law: AxisLaw, bits: int) -> None:
    """Code ``symbols`` class by class (ascending), each class in the symbols' order, under its table."""
    order, present = class_order(classes)
    sym, cls = np.asarray(symbols).ravel()[order], np.asarray(classes).ravel()[order]
    bounds = np.searchsorted(cls, present, side="left").tolist() + [len(cls)]
    for i, m in enumerate(present.tolist()):
        enc.encode(sym[bounds[i]:bounds[i + 1]], law.model(m, bits))


def decode_classed(dec: ChunkDecoder, classes: np.ndarray, law: AxisLaw, bits: int) -> np.ndarray:
    """The inverse of :func:`encode_classed`: symbols in their own order, shaped as ``classes``."""
    order, present = class_order(classes)
    cls = np.asarray(classes).ravel()[order]
    out = np.empty(cls.size, dtype=np.int32)
    bounds = np.searchsorted(cls, present, side="left").tolist() + [len(cls)]
    for i, m in enumerate(present.tolist()):
        out[order[bounds[i]:bounds[i + 1]]] = dec.decode(bounds[i + 1] - bounds[i], law.model(m, bits))
    return out.reshape(np.shape(classes))


def tensor_classes(shape: tuple[int, ...], rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Every symbol's class, row class (axis 0) plus column class (axis 1); 0 for a vector."""
    if len(shape) < 2:
        return np.zeros(shape, dtype=np.int64)
    tail = (1,) * (len(shape) - 2)
    return np.broadcast_to(rows.reshape(-1, 1, *tail) + cols.reshape(1, -1, *tail), shape)


def decode_axis_tensor(dec: ChunkDecoder, t, shape: tuple[int, ...]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(symbols, row classes, column classes) of a DECA tensor, read after its step codes: its row and
    column classes, then its symbols class by class (``t``: a
    :class:`~..bitstream.stepcoded.StepCodedTensor` with a law)."""
    rows = dec.decode(shape[0], t.row_model) if t.law.rows > 1 else np.zeros(shape[:1], np.int32)
    cols = dec.decode(shape[1], t.col_model) if t.law.cols > 1 else np.zeros(shape[1:2], np.int32)
    rows, cols = rows.astype(np.int64), cols.astype(np.int64)
    return decode_classed(dec, tensor_classes(shape, rows, cols), t.law, t.bits), rows, cols


def axis_model_bits(symbols: np.ndarray, rows: np.ndarray, cols: np.ndarray, t) -> float:
    """Code length of a DECA tensor's classes and symbols under its stored models."""
    from .laws import model_bits

    s, c = np.asarray(symbols).ravel(), tensor_classes(np.shape(symbols), rows, cols).ravel()
    bits = sum(model_bits(s[c == m], t.law.model(int(m), t.bits)) for m in np.unique(c))
    return bits + sum(model_bits(v, m) for v, m in ((rows, t.row_model), (cols, t.col_model)) if m is not None)


def class_histograms(symbols: np.ndarray, classes: np.ndarray, n_classes: int) -> tuple[np.ndarray, int]:
    """(counts of every symbol value per class, (n_classes, hi - lo + 1); lo): one pass."""
    s, c = np.asarray(symbols, np.int64).ravel(), np.asarray(classes, np.int64).ravel()
    lo, hi = (int(s.min()), int(s.max())) if s.size else (0, 0)
    width = hi - lo + 1
    return np.bincount(c * width + (s - lo), minlength=n_classes * width).reshape(n_classes, width), lo


def fit_classes(hist: np.ndarray, lo: int, bits: int, shape: tuple[int, int]) -> tuple[AxisLaw, np.ndarray]:
    """(the law, every class's float decay): each used class's geometric law fitted by maximum
    likelihood to its symbols (:func:`~.laws.ml_log_a`'s formula), so the estimate is the coded rate."""
    mag = np.abs(np.arange(lo, lo + hist.shape[1]) - offset(bits))
    n = hist.sum(1)
    m = np.maximum(np.where(n > 0, (hist * mag).sum(1) / np.maximum(n, 1), 1.0), 1e-3)
    a = -np.log((np.sqrt(1.0 + m * m) - 1.0) / m)
    return law_of(a, shape, np.flatnonzero(n)), a


def classed_bits(hist: np.ndarray, lo: int, law: AxisLaw, bits: int) -> float:
    """Code length of the symbols of ``hist`` under their classes' integer tables."""
    total = 0.0
    for m in np.flatnonzero(hist.sum(1)):
        f = law.model(int(m), bits).frequencies()[lo:lo + hist.shape[1]]
        h = hist[m]
        total += float(np.sum(h[h > 0] * (PRECISION - np.log2(f[h > 0]))))
    return total


def law_bytes(law: AxisLaw) -> int:
    """Bytes of the law in the stream (SPEC.md 4.0: the shorter of the dense and sparse forms)."""
    return 3 + min(2 * len(law.decays), 3 * sum(1 for d in law.decays if d))
