"""Entropy coding of integer symbols with constriction's range coder.

Every probability model is defined by integers (stored in the stream) and turned into a frequency
table that sums to exactly 2^24 by integer arithmetic alone, so the decoder rebuilds bit-identical
tables on any machine. The table reaches constriction exactly (see :func:`_categorical`), so coded
lengths equal the ideal ``-log2(f/2^24)`` plus the flush, and building a model is linear in its
alphabet (a 65,536-symbol table takes well under a millisecond: a hostile stream cannot make the
decoder spend seconds per table).

Models (the encoder picks whichever costs fewer bits, side information included):

- ``constant``: a single symbol value; nothing coded.
- ``counts``: an explicit table at precision P (8..16 bits), every symbol in [lo, hi] at least 1;
  costs about one varint per table entry.
- ``laplace``: a two-sided geometric law, weight ``r^|k - centre|`` with ``r = R / 65536`` and the
  weights computed by integer shifts; costs 8 bytes.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

PRECISION = 24
TOTAL = 1 << PRECISION
ModelKind = Literal["constant", "counts", "laplace"]
MAX_ALPHABET = 1 << 16


@dataclass(frozen=True)
class SymbolModel:
    kind: ModelKind
    lo: int  # smallest codable symbol
    hi: int  # largest codable symbol
    table_bits: int = 0  # counts: precision P of the stored table
    table: tuple[int, ...] = ()  # counts: frequencies at precision P (sum 2^P, each >= 1)
    centre: int = 0  # laplace
    decay: int = 0  # laplace: R in 1..65535, r = R / 65536

    @property
    def alphabet(self) -> int:
        return self.hi - self.lo + 1

    def frequencies(self) -> np.ndarray:
        """Frequencies over [lo, hi] summing to exactly 2^24, each >= 1 (int64)."""
        if self.kind == "constant":
            return np.array([TOTAL], dtype=np.int64)
        if self.kind == "counts":
            t = np.asarray(self.table, dtype=np.int64)
            return t << (PRECISION - self.table_bits)
        dist = np.abs(np.arange(self.lo, self.hi + 1, dtype=np.int64) - self.centre)
        w = _laplace_weights(self.decay, int(dist.max()) + 1)
        return _normalise(w[dist], TOTAL, int(self.centre - self.lo))

    def ideal_bits(self, hist: np.ndarray) -> float:
        """Bits the range coder spends on symbols with histogram ``hist`` over [lo, hi]."""
        f = self.frequencies()
        if self.kind == "constant":
            return 0.0
        nz = hist > 0
        return float(np.sum(hist[nz] * (PRECISION - np.log2(f[nz]))))

    def side_bits(self) -> int:
        """Approximate size of the model's parameters in the stream (exact sizes: bitstream/SPEC.md)."""
        if self.kind == "constant":
            return 8 + 16
        if self.kind == "laplace":
            return 8 + 4 * 16
        return 8 + 2 * 16 + 8 + sum(8 * _varint_len(v) for v in self.table)


@functools.lru_cache(maxsize=64)
def _laplace_weights(decay: int, n: int) -> np.ndarray:
    """``w[0] = 2^32``, ``w[d] = floor(w[d-1] * decay / 2^16)`` for ``d < n`` (int64, read-only).
    Python integers (exact, and faster than numpy scalars); once a weight reaches 0 the rest are 0."""
    vals, v = [], 1 << 32
    while v and len(vals) < n:
        vals.append(v)
        v = (v * decay) >> 16
    w = np.zeros(n, dtype=np.int64)
    w[:len(vals)] = vals
    w.flags.writeable = False
    return w


def _varint_len(v: int) -> int:
    n = 1
    while v >= 0x80:
        v >>= 7
        n += 1
    return n


def _normalise(weights: np.ndarray, total: int, argmax_hint: int) -> np.ndarray:
    """Integer frequencies proportional to ``weights`` (int64 >= 0), each >= 1, summing to ``total``."""
    k = len(weights)
    wsum = int(weights.sum())
    free = total - k
    if wsum == 0:
        f = np.ones(k, dtype=np.int64)
    else:
        # floor(w * free / wsum) without overflow: weights < 2^33, free < 2^25 -> products < 2^58
        f = 1 + (weights.astype(np.int64) * np.int64(free)) // np.int64(wsum)
    f[argmax_hint] += total - int(f.sum())
    return f


def _counts_model(hist: np.ndarray, lo: int, bits: int) -> SymbolModel | None:
    k = len(hist)
    if k >= (1 << bits):
        return None
    f = _normalise(hist.astype(np.int64), 1 << bits, int(np.argmax(hist)))
    return SymbolModel("counts", lo, lo + k - 1, table_bits=bits, table=tuple(int(v) for v in f))


def _laplace_model(hist: np.ndarray, lo: int) -> SymbolModel:
    centre = lo + int(np.argmax(hist))
    best, best_bits = None, math.inf
    # coarse log-spaced search of the decay, then a local refinement
    grid = sorted({int(round(65536 * (1 - 2.0 ** -e))) for e in np.linspace(0.25, 12, 48)} | {1, 32768})
    grid = [g for g in grid if 1 <= g <= 65535]
    for r in grid:
        m = SymbolModel("laplace", lo, lo + len(hist) - 1, centre=centre, decay=r)
        b = m.ideal_bits(hist)
        if b < best_bits:
            best, best_bits = m, b
    lo_r, hi_r = max(1, best.decay - 2048), min(65535, best.decay + 2048)
    for _ in range(12):
        if hi_r - lo_r < 3:
            break
        m1, m2 = lo_r + (hi_r - lo_r) // 3, hi_r - (hi_r - lo_r) // 3
        b1 = SymbolModel("laplace", best.lo, best.hi, centre=centre, decay=m1).ideal_bits(hist)
        b2 = SymbolModel("laplace", best.lo, best.hi, centre=centre, decay=m2).ideal_bits(hist)
        if b1 < b2:
            hi_r = m2
        else:
            lo_r = m1
        for r, b in ((m1, b1), (m2, b2)):
            if b < best_bits:
                best, best_bits = SymbolModel("laplace", best.lo, best.hi, centre=centre, decay=r), b
    return best


def fit_model(symbols: np.ndarray) -> SymbolModel:
    """The model with the fewest total bits (side information + coded symbols) for ``symbols``."""
    s = np.asarray(symbols).ravel()
    if s.size == 0:
        return SymbolModel("constant", 0, 0)
    lo, hi = int(s.min()), int(s.max())
    if lo == hi:
        return SymbolModel("constant", lo, hi)
    if hi - lo + 1 > MAX_ALPHABET:
        raise ValueError("alphabet too large")
    hist = np.bincount(s - lo, minlength=hi - lo + 1)
    cands = [_laplace_model(hist, lo)]
    for bits in (8, 10, 12, 14, 16):
        m = _counts_model(hist, lo, bits)
        if m is not None:
            cands.append(m)
    return min(cands, key=lambda m: m.side_bits() + m.ideal_bits(hist))


def _categorical(model: SymbolModel):
    """constriction's model of exactly ``model.frequencies()``, built in linear time.

    constriction's fast (``perfect=False``) quantiser gives symbol ``i`` the left cumulative
    ``floor(sum_{j<i} p_j * (2^24 - K) / sum_j p_j) + i``. With ``p_j = f_j - 1`` (integers, exact in
    float64, summing to ``2^24 - K``) the scale is exactly 1 and that is ``sum_{j<i} f_j``: our table,
    bit for bit, the same table its quadratic-time ``perfect`` quantiser returns for it (tests check
    both).
    """
    import constriction

    return constriction.stream.model.Categorical((model.frequencies() - 1).astype(np.float64), perfect=False)


class ChunkEncoder:
    """Range-codes a sequence of symbol groups, each under its own model, into one word array."""

    def __init__(self):
        import constriction

        self._enc = constriction.stream.queue.RangeEncoder()
        self._cache: dict[SymbolModel, object] = {}

    def encode(self, symbols: np.ndarray, model: SymbolModel) -> None:
        if model.kind == "constant":
            if np.any(np.asarray(symbols) != model.lo):
                raise ValueError("symbol differs from the constant model")
            return
        s = np.asarray(symbols, dtype=np.int32).ravel() - model.lo
        if s.size and (s.min() < 0 or s.max() >= model.alphabet):
            raise ValueError("symbol outside the model's alphabet")
        cat = self._cache.get(model)
        if cat is None:
            cat = self._cache[model] = _categorical(model)
        self._enc.encode(s, cat)

    def words(self) -> np.ndarray:
        return np.asarray(self._enc.get_compressed(), dtype=np.uint32)


class ChunkDecoder:
    def __init__(self, words: np.ndarray, cache: dict | None = None):
        import constriction

        self._words = np.ascontiguousarray(words, dtype=np.uint32)
        self._dec = constriction.stream.queue.RangeDecoder(self._words)
        self._cache = cache if cache is not None else {}
        self._decoded: list[tuple[np.ndarray, SymbolModel]] = []

    def decode(self, n: int, model: SymbolModel) -> np.ndarray:
        if model.kind == "constant":
            return np.full(n, model.lo, dtype=np.int32)
        cat = self._cache.get(model)
        if cat is None:
            cat = self._cache[model] = _categorical(model)
        sym = np.asarray(self._dec.decode(cat, n), dtype=np.int32) + model.lo
        self._decoded.append((sym, model))
        return sym

    def consumed_exactly(self) -> bool:
        """True when the words are exactly those coding the decoded symbols produces (SPEC.md 4.0: a
        payload holds its symbols' canonical words, nothing else). The range decoder reads ahead, so
        left-over words cannot be seen while decoding; coding the symbols again (about the cost of
        decoding them) catches those, and any other word that does not belong to the symbols."""
        if not self._decoded:
            return len(self._words) == 0
        enc = ChunkEncoder()
        enc._cache = self._cache
        for sym, model in self._decoded:
            enc.encode(sym, model)
        return np.array_equal(enc.words(), self._words)


def encode_symbols(symbols: np.ndarray, model: SymbolModel) -> np.ndarray:
    enc = ChunkEncoder()
    enc.encode(symbols, model)
    return enc.words()


def decode_symbols(words: np.ndarray, model: SymbolModel, n: int) -> np.ndarray:
    return ChunkDecoder(words).decode(n, model)
