"""Decoder weights <-> coded tensors: quantise each tensor (per tensor or per channel, paper
Supp. D's 8 bits), fit an integer entropy model to its symbols and range-code them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch
import torch.nn as nn

from ..bitstream.payload import QUANT_PARAM_BYTES, CodedTensor
from ..bitstream.stepcoded import StepCodedWeights
from ..compress.quant import QTensor, dequantize, empirical_bits, quantize_best
from ..entropy.coder import ChunkDecoder, encode_symbols, fit_model
from ..entropy.weights import decompress_weights
from ..errors import FormatError


@dataclass
class CodedModel:
    tensors: list[CodedTensor]
    state: dict[str, torch.Tensor]  # dequantised weights, exactly as the decoder will see them
    stats: dict


def code_weights(decoder: nn.Module, bits: int) -> CodedModel:
    tensors, state = [], {}
    n_sym = coded = emp = side = 0.0
    for name, p in decoder.state_dict().items():
        qt = quantize_best(p, bits)
        model = fit_model(qt.symbols)
        words = encode_symbols(qt.symbols, model)
        tensors.append(CodedTensor(bits, qt.per_channel, qt.scale, qt.zero, model, words))
        state[name] = dequantize(qt)
        n_sym += qt.symbols.size
        coded += 32 * len(words)
        emp += empirical_bits(qt.symbols)
        side += model.side_bits() + 16 + 8 * QUANT_PARAM_BYTES * len(qt.scale)
    return CodedModel(tensors, state, {"symbols": int(n_sym), "coded_bits": int(coded), "entropy_bits": emp,
                                       "side_bits": int(side)})


def decode_weights(tensors: list[CodedTensor] | StepCodedWeights, shapes: dict[str, tuple[int, ...]]
                   ) -> dict[str, torch.Tensor]:
    """Dequantised decoder state from a DECW section (1.0 per-tensor layout) or a DECG section (1.2 grid)."""
    if isinstance(tensors, StepCodedWeights):
        return decompress_weights(tensors, shapes)
    state = {}
    for (name, shape), t in zip(shapes.items(), tensors):
        n = math.prod(shape)
        try:
            dec = ChunkDecoder(t.words)
            sym = dec.decode(n, t.model)
        except Exception as e:  # constriction raises on words that cannot be a valid stream
            raise FormatError(f"DECW section: tensor {name} does not decode ({e})") from None
        if not dec.consumed_exactly():
            raise FormatError(f"DECW section: tensor {name}: the coded words are not those of its symbols")
        qt = QTensor(sym.reshape(shape), t.scale, t.zero, t.bits, t.per_channel, shape)
        state[name] = dequantize(qt)
    return state


def cpu_copy(decoder: nn.Module) -> nn.Module:
    """A float32, contiguous copy on the CPU: what the coder quantises (any training device)."""
    import copy

    return copy.deepcopy(decoder).to("cpu", memory_format=torch.contiguous_format).float()
