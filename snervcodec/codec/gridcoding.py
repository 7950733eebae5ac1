"""Format 1.2's coding face: what the rate-distortion-optimised trainer learned (steps, rate
models: :mod:`..compress.qat`) becomes integer step codes, integer Laplace tables and range-coded
words; and back. The tables come from the learned parameters themselves, so the rate estimated in
training is the rate coded (``stats`` reports both)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.payload_grid import GridTensor, GridWeights, channels_of
from ..compress.grid import K_MAX, code_for_step, dequantize_grid, offset, step_from_code
from ..compress.qat import GroupQuantizer, WeightQuantizers, geometric_bits
from ..entropy import ChunkDecoder, ChunkEncoder, SymbolModel, fit_model
from ..errors import FormatError


@dataclass
class GridCoded:
    """Weights as coded: the payload, the dequantised state the decoder will see, and rate figures."""

    weights: GridWeights
    state: dict[str, torch.Tensor]
    stats: dict


def laplace_table(symbols: np.ndarray, bits: int, a: float) -> SymbolModel:
    """The stream's integer model of signed-offset symbols under the learned geometric law
    ``r = exp(-a)``: centred on the zero symbol, over the whole ``bits``-bit alphabet, so that the
    code length is the training estimate's (a table cut to the symbols' range would renormalise
    the law; constant when every symbol is the same)."""
    lo, hi = int(symbols.min()), int(symbols.max())
    if lo == hi:
        return SymbolModel("constant", lo, hi)
    decay = int(min(65535, max(1, round(65536 * math.exp(-a)))))
    return SymbolModel("laplace", 0, (1 << bits) - 1, centre=offset(bits), decay=decay)


def step_codes(g: GroupQuantizer, shift: int = 0) -> np.ndarray:
    """The learned steps snapped to the grid, moved by ``shift`` codes (rate control's knob)."""
    k = code_for_step(g.log_step.detach().exp().cpu().double().numpy()) + shift
    return np.clip(k, 0, K_MAX)


def _rate_a(g: GroupQuantizer, k: np.ndarray) -> float:
    """The learned decay, rescaled to the symbols of steps ``k`` (a shifted step rescales them)."""
    learned = g.log_step.detach().exp().cpu().double().numpy()
    ratio = float(np.exp(np.mean(np.log(step_from_code(k).astype(np.float64) / learned))))
    return float(g.log_a.detach().exp()) * ratio


def geometric_bits_np(q: np.ndarray, a: float) -> float:
    """Training's rate estimate (:func:`..compress.qat.geometric_bits`, the one formula) of signed symbols ``q``."""
    return float(geometric_bits(torch.from_numpy(np.asarray(q, np.float64)), torch.tensor(math.log(a), dtype=torch.float64)))


def _group_steps(x: torch.Tensor, g: GroupQuantizer, k: np.ndarray) -> torch.Tensor:
    """The steps of codes ``k``, shaped to broadcast along the group's axis of ``x``."""
    shape = [1] * x.dim()
    if g.axis is not None and len(k) > 1:
        shape[g.axis] = -1
    return torch.from_numpy(step_from_code(k)).reshape(shape)


def quantize_group(x: torch.Tensor, g: GroupQuantizer, k: np.ndarray) -> np.ndarray:
    """Signed-offset symbols of ``x`` (float32, CPU) with step codes ``k`` along the group's axis."""
    return (g.symbols(x, _group_steps(x, g, k)).numpy().astype(np.int32) + offset(g.bits))


def _trim_costs(x: torch.Tensor, g: GroupQuantizer, k: np.ndarray, sym: np.ndarray, a: float) -> np.ndarray:
    """Distortion per bit saved of moving each symbol one level toward zero (inf for zeros): how far
    past its rounding boundary the value lies, in steps (the learned steps equalise the steps'
    weight in the loss), over the bits the geometric law saves, ``a / ln 2`` for any nonzero symbol."""
    y = (x.double() / _group_steps(x, g, k).double()).numpy()
    q = sym.astype(np.int64) - offset(g.bits)
    margin = np.abs(y) - (np.abs(q) - 0.5)
    return np.where(q != 0, margin * math.log(2.0) / max(a, 1e-9), np.inf)


def trim_costs(decoder: nn.Module, quantizers: WeightQuantizers, shift: int = 0) -> np.ndarray:
    """Every weight symbol's :func:`_trim_costs`, sorted: the thresholds :func:`code_weights_grid`'s
    ``trim`` can take (rate-distortion-optimised quantisation, as video encoders' RDOQ)."""
    params = {n: p.detach().float().cpu() for n, p in decoder.named_parameters()}
    out = []
    for name, g in zip(quantizers.names, quantizers.groups):
        k = step_codes(g, shift)
        sym = quantize_group(params[name], g, k)
        c = _trim_costs(params[name], g, k, sym, _rate_a(g, k)).ravel()
        out.append(c[np.isfinite(c)])
    return np.sort(np.concatenate(out)) if out else np.zeros(0)


def code_weights_grid(decoder: nn.Module, quantizers: WeightQuantizers, shift: int = 0,
                      trim: float | None = None) -> GridCoded:
    """Quantise every decoder tensor with its learned steps (``shift`` codes coarser or finer) and
    code them all in one word stream. Pruned weights are exact zeros and stay symbol 2^(bits-1).
    ``trim``: every symbol whose :func:`_trim_costs` is below it moves one level toward zero (the
    rate lands without moving the steps the network was trained on)."""
    enc = ChunkEncoder()
    params = {n: p.detach().float().cpu() for n, p in decoder.named_parameters()}
    tensors, state = [], {}
    est = side = n_sym = step_bits = 0.0
    for name, g in zip(quantizers.names, quantizers.groups):
        x = params[name]
        k = step_codes(g, shift)
        sym = quantize_group(x, g, k)
        a = _rate_a(g, k)
        if trim is not None:
            move = _trim_costs(x, g, k, sym, a) < trim
            sym = np.where(move, sym - np.sign(sym - offset(g.bits)), sym).astype(sym.dtype)
        model, k_model = laplace_table(sym, g.bits, a), fit_model(k)
        enc.encode(k, k_model)
        enc.encode(sym, model)
        tensors.append(GridTensor(g.bits, k_model, model))
        state[name] = torch.from_numpy(dequantize_grid(sym, k, g.bits, 0))
        est += geometric_bits_np(sym - offset(g.bits), a)
        step_bits += k_model.ideal_bits(np.bincount(k - k_model.lo, minlength=k_model.alphabet))
        side += 8 + k_model.side_bits() + model.side_bits()
        n_sym += sym.size
    words = enc.words()
    # estimated: the training rate model's bits of the symbols, plus the step codes' code length;
    # coded: the words actually written (SPEC.md 4.4); side: the models ahead of them
    stats = {"symbols": int(n_sym), "estimated_bits": est + step_bits, "coded_bits": int(32 * len(words)),
             "side_bits": int(side), "step_code_bits": step_bits}
    return GridCoded(GridWeights(tensors, words), state, stats)


def grid_symbols(gw: GridWeights, shapes: dict[str, tuple[int, ...]]):
    """(name, step codes, symbols) of every tensor of a DECG section, in stream order."""
    dec = ChunkDecoder(gw.words)
    for (name, shape), t in zip(shapes.items(), gw.tensors):
        try:
            k = dec.decode(channels_of(shape), t.step_model)
            sym = dec.decode(math.prod(shape), t.model)
        except Exception as e:  # constriction raises on words that cannot be a valid stream
            raise FormatError(f"DECG section: tensor {name} does not decode ({e})") from None
        yield name, k, sym.reshape(shape)
    if not dec.consumed_exactly():
        raise FormatError("DECG section: the coded words are not those of its symbols")


def decode_weights_grid(gw: GridWeights, shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(dequantize_grid(sym, k, t.bits, 0))
            for (name, k, sym), t in zip(grid_symbols(gw, shapes), gw.tensors)}


def model_bits(symbols: np.ndarray, model: SymbolModel) -> float:
    """Code length of ``symbols`` under ``model``'s integer table: the rate the stream's own entropy
    model predicts (for grid streams, the rate model training optimised)."""
    if model.kind == "constant":
        return 0.0
    return model.ideal_bits(np.bincount(np.asarray(symbols).ravel() - model.lo, minlength=model.alphabet))


def grid_rate(gw: GridWeights, shapes: dict[str, tuple[int, ...]]) -> dict:
    """Predicted (``model_bits``) against written (``coded_bits``) bits of a DECG section."""
    predicted = sum(model_bits(k, t.step_model) + model_bits(sym, t.model)
                    for (_, k, sym), t in zip(grid_symbols(gw, shapes), gw.tensors))
    return {"model_bits": round(predicted, 1), "coded_bits": 32 * len(gw.words)}
