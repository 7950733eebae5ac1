"""Format 1.2's ``DECG`` payload: every decoder tensor with per-channel step codes, all of them in one
range-coded word stream (bitstream/SPEC.md, section 4.1b).

Per tensor the stream holds its bit depth, the model of its per-channel step codes and the model
of its weight symbols; then one word stream carries, tensor after tensor, the step codes and the
symbols. One stream instead of one per tensor saves a coder flush and word padding per tensor.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compress.stepcodes import K_BITS
from ..entropy.coder import SymbolModel
from .bytesio import Reader, Writer
from .payload import read_bits, read_model, read_tensor_count, read_words, write_model, write_words


@dataclass
class StepCodedTensor:
    bits: int
    step_model: SymbolModel  # over the 12-bit step codes of the tensor's channels (one for a vector)
    model: SymbolModel  # over the signed symbols, offset by 2^(bits-1)


@dataclass
class StepCodedWeights:
    tensors: list[StepCodedTensor]
    words: np.ndarray  # uint32: for each tensor, its step codes then its symbols


def channels_of(shape: tuple[int, ...]) -> int:
    """Step codes a tensor carries: one per output channel for kernels, one for a vector."""
    return shape[0] if len(shape) > 1 else 1


def write_stepcoded_weights(gw: StepCodedWeights) -> bytes:
    w = Writer()
    w.u16(len(gw.tensors))
    for t in gw.tensors:
        w.u8(t.bits)
        write_model(w, t.step_model)
        write_model(w, t.model)
    write_words(w, gw.words)
    return w.getvalue()


def read_stepcoded_weights(payload: bytes, shapes: list[tuple[int, ...]]) -> StepCodedWeights:
    r = Reader(payload, "DECG section")
    read_tensor_count(r, shapes, "DECG")
    tensors = []
    for _ in shapes:
        bits = read_bits(r)
        tensors.append(StepCodedTensor(bits, read_model(r, K_BITS), read_model(r, bits)))
    words = read_words(r)
    r.expect_end()
    return StepCodedWeights(tensors, words)
