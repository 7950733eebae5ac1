"""Format 1.2's ``DECG`` payload: every decoder tensor with per-channel step codes, all of them in one
range-coded word stream (bitstream/SPEC.md, section 4.1b); format 1.6's ``DECA``, the same with an
axis law per tensor instead of its symbol model (section 4.1c).

Per tensor the stream holds its bit depth, the model of its per-channel step codes and the model
of its weight symbols; then one word stream carries, tensor after tensor, the step codes and the
symbols. One stream instead of one per tensor saves a coder flush and word padding per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compress.stepcodes import K_BITS
from ..entropy.coder import SymbolModel
from ..errors import FormatError
from .axislaw import CLASS_BITS, AxisLaw, read_axis_law, write_axis_law
from .bytesio import Reader, Writer
from .payload import read_bits, read_model, read_tensor_count, read_words, write_model, write_words


@dataclass
class StepCodedTensor:
    bits: int
    step_model: SymbolModel  # over the 12-bit step codes of the tensor's channels (one for a vector)
    model: SymbolModel | None  # over the signed symbols, offset by 2^(bits-1) (DECG)
    law: AxisLaw | None = None  # DECA (1.6): the symbols' law per row class + column class
    row_model: SymbolModel | None = None  # DECA, law.rows > 1: over the row classes (axis 0)
    col_model: SymbolModel | None = None  # DECA, law.cols > 1: over the column classes (axis 1)

    def symbol_models(self) -> list[SymbolModel]:
        """Every table the tensor is coded with."""
        if self.law is None:
            return [self.step_model, self.model]
        return [self.step_model, *self.law.models(self.bits), *(m for m in (self.row_model, self.col_model) if m)]


@dataclass
class StepCodedWeights:
    tensors: list[StepCodedTensor]
    words: np.ndarray  # uint32: for each tensor, its step codes (DECA: and classes) then its symbols

    @property
    def tag(self) -> bytes:
        """The section that carries them: DECA when the tensors have axis laws, else DECG."""
        return b"DECA" if self.tensors and self.tensors[0].law is not None else b"DECG"


def channels_of(shape: tuple[int, ...]) -> int:
    """Step codes a tensor carries: one per output channel for kernels, one for a vector."""
    return shape[0] if len(shape) > 1 else 1


def write_stepcoded_weights(gw: StepCodedWeights) -> bytes:
    w = Writer()
    w.u16(len(gw.tensors))
    axis = gw.tag == b"DECA"
    for t in gw.tensors:
        if (t.law is not None) != axis:
            raise ValueError("a weight section's tensors all have axis laws (DECA) or none (DECG)")
        w.u8(t.bits)
        write_model(w, t.step_model)
        if not axis:
            write_model(w, t.model)
            continue
        write_axis_law(w, t.law)
        for n, m in ((t.law.rows, t.row_model), (t.law.cols, t.col_model)):
            if n > 1:
                write_model(w, m)
    write_words(w, gw.words)
    return w.getvalue()


def _read_axis_tensor(r: Reader, bits: int, step_model: SymbolModel, shape: tuple[int, ...]) -> StepCodedTensor:
    law = read_axis_law(r)
    if len(shape) < 2 and (law.rows, law.cols) != (1, 1):
        raise FormatError(f"{r.what}: a vector's axis law has {law.rows} x {law.cols} classes (1 x 1 allowed)")
    models = []
    for n in (law.rows, law.cols):
        m = read_model(r, CLASS_BITS) if n > 1 else None
        if m is not None and m.hi >= n:
            raise FormatError(f"{r.what}: class model up to {m.hi} for {n} classes")
        models.append(m)
    return StepCodedTensor(bits, step_model, None, law, *models)


def read_stepcoded_weights(payload: bytes, shapes: list[tuple[int, ...]], tag: bytes = b"DECG") -> StepCodedWeights:
    """A DECG section, or (``tag`` DECA, format 1.6) one with axis laws."""
    r = Reader(payload, f"{tag.decode()} section")
    read_tensor_count(r, shapes, tag.decode())
    tensors = []
    for shape in shapes:
        bits = read_bits(r)
        step_model = read_model(r, K_BITS)
        tensors.append(_read_axis_tensor(r, bits, step_model, shape) if tag == b"DECA"
                       else StepCodedTensor(bits, step_model, read_model(r, bits)))
    words = read_words(r)
    r.expect_end()
    return StepCodedWeights(tensors, words)
