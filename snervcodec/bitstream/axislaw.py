"""Format 1.6's axis law (bitstream/SPEC.md 4.0): one geometric law per scale class, the class of a
symbol being the sum of an integer class of its row and one of its column (a rank-1 product of two
scales in the log domain, after NVRC's per-axis entropy parameters, Kwan et al., NeurIPS 2024).
Every decay is a stored integer, so the decoder rebuilds the coder's tables bit for bit."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compress.stepcodes import offset
from ..entropy.coder import SymbolModel
from ..errors import FormatError
from .bytesio import Reader, Writer

MAX_CLASSES = 64  # row classes and column classes each (class codes are 6-bit symbols)
CLASS_BITS = 6


@dataclass(frozen=True)
class AxisLaw:
    rows: int  # A: row classes 0..A-1
    cols: int  # B: column classes 0..B-1
    decays: tuple[int, ...]  # A + B - 1 values: the law of class m = row + column (1..65535; 0: unused)

    def model(self, m: int, bits: int) -> SymbolModel:
        """The coder's table of class ``m``: a Laplace over the whole ``bits``-bit alphabet, centred on zero."""
        if not self.decays[m]:
            raise FormatError(f"a symbol of class {m}, which has no law")
        return SymbolModel("laplace", 0, (1 << bits) - 1, centre=offset(bits), decay=self.decays[m])

    def models(self, bits: int) -> list[SymbolModel]:
        return [self.model(m, bits) for m, d in enumerate(self.decays) if d]


def write_axis_law(w: Writer, law: AxisLaw) -> None:
    """rows u8, cols u8, n u8; then, with n = rows + cols - 1, every class's decay (u16; a class
    without a law gets 1), else n x (class u8, decay u16) for the classes with a law, ascending:
    whichever is shorter."""
    used = [(m, d) for m, d in enumerate(law.decays) if d]
    dense = 2 * len(law.decays) <= 3 * len(used)
    w.u8(law.rows)
    w.u8(law.cols)
    w.u8(len(law.decays) if dense else len(used))
    if dense:
        w.array(np.maximum(np.asarray(law.decays, np.int64), 1), "u2")
        return
    for m, d in used:
        w.u8(m)
        w.u16(d)


def read_axis_law(r: Reader) -> AxisLaw:
    rows, cols, n = r.u8(), r.u8(), r.u8()
    if not (1 <= rows <= MAX_CLASSES and 1 <= cols <= MAX_CLASSES):
        raise FormatError(f"{r.what}: axis law of {rows} x {cols} classes (1..{MAX_CLASSES} each)")
    if not 1 <= n <= rows + cols - 1:
        raise FormatError(f"{r.what}: axis law with {n} laws for {rows + cols - 1} classes")
    dense = n == rows + cols - 1
    if (2 if dense else 3) * n > r.remaining:
        raise FormatError(f"truncated {r.what}: axis law decays")
    if dense:
        decays = tuple(int(d) for d in r.array(n, "u2"))
        if min(decays) < 1:
            raise FormatError(f"{r.what}: axis law decay 0 (allowed 1..65535)")
        return AxisLaw(rows, cols, decays)
    decays, last = [0] * (rows + cols - 1), -1
    for _ in range(n):
        m, d = r.u8(), r.u16()
        if not last < m < rows + cols - 1 or d < 1:
            raise FormatError(f"{r.what}: axis law entry (class {m}, decay {d}) out of order or range")
        decays[m], last = d, m
    return AxisLaw(rows, cols, tuple(decays))


def class_order(classes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(positions sorted by class, stably; the distinct classes present): the order a frame's or a
    tensor's symbols are coded in, class 0 first, each class in the symbols' own order."""
    flat = np.asarray(classes).ravel()
    return np.argsort(flat, kind="stable"), np.unique(flat)
