"""The decoder weights' entropy model: every tensor's learned per-channel steps and rate law
(:class:`~.groups.GroupEntropyModel`), in CompressAI's two faces.

- Training: :meth:`WeightEntropyModel.forward` quantises the whole network as one flat vector and
  estimates its bits (the rate term of the loss).
- Coding: :meth:`WeightEntropyModel.compress` turns the learned steps and laws into integer step
  codes, integer Laplace tables and range-coded words (format 1.2's DECG section), and
  :func:`decompress_weights` reads them back. The tables come from the learned parameters
  themselves, so the rate estimated in training is the rate coded (``stats`` reports both).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.stepcoded import StepCodedTensor, StepCodedWeights, channels_of
from ..compress.flat import expand_segments, inverse_order, memory_order, segment_sum
from ..compress.qat import QuantMode, fake_quant, relaxed, round_symbols
from ..compress.stepcodes import dequantize_steps, offset
from ..errors import FormatError
from .coder import ChunkDecoder, ChunkEncoder, fit_model
from .axis import axis_model_bits, decode_axis_tensor
from .groups import GroupEntropyModel, quantize_group, rate_a, step_codes, steps_like
from .laws import LN2, _log_p0, geometric_bits_np, laplace_table, model_bits


Sensitivity = dict[str, torch.Tensor]  # decoder tensor name -> a tensor of its shape (Evaluation.sensitivity)


@dataclass
class CodedWeights:
    """Weights as coded: the payload, the dequantised state the decoder will see, and rate figures."""

    payload: StepCodedWeights
    state: dict[str, torch.Tensor]
    stats: dict


class WeightEntropyModel(nn.Module):
    """One :class:`~.groups.GroupEntropyModel` per decoder parameter, in ``state_dict`` order (the stream's):
    per output channel for kernels, one step for a bias or other vector.

    The forward pass quantises the whole network as one flat vector (each value indexed to its
    step and its law), so a step costs a handful of kernels whatever the number of tensors (per
    tensor it took ~20 small kernels each): for GPUs, where the step is launch-bound. The vector
    follows each parameter's memory layout, so the quantised kernels keep it (channels-last ones
    stay channels-last instead of being converted by every convolution); on the 2-core CPU the
    difference is within the machine's noise. Quantisation cost a noise-phase step 1.14x a float
    step (with the noise proxy), a straight-through one 1.08x a float fine-tune step (357K decoder,
    CPU time)."""

    def __init__(self, decoder: nn.Module, bits: int, target_bits: float | None = None):
        super().__init__()
        self.bits = bits
        self.names = [n for n, _ in decoder.named_parameters()]
        if list(decoder.state_dict()) != self.names:
            raise ValueError("a coded decoder holds parameters only, in state_dict order")
        self.groups = nn.ModuleList(GroupEntropyModel(p, bits, 0, target_bits) for _, p in decoder.named_parameters())
        self.shapes = [p.shape for _, p in decoder.named_parameters()]
        sizes = [p.numel() for _, p in decoder.named_parameters()]
        n_steps = [g.log_step.numel() for g in self.groups]
        # the flat network in runs: values per step (channel-major, as GroupEntropyModel slices), per law
        counts = torch.tensor([n // k for n, k in zip(sizes, n_steps) for _ in range(k)])
        self.register_buffer("step_counts", counts, persistent=False)
        self.register_buffer("step_index", torch.repeat_interleave(torch.arange(len(counts)), counts), persistent=False)
        self.register_buffer("group_sizes", torch.tensor(sizes), persistent=False)
        self._mask_of: tuple[object, torch.Tensor | None] = (None, None)

    def _flat_mask(self, masks: dict[str, torch.Tensor] | None, like: torch.Tensor,
                   orders: list[tuple[int, ...]]) -> torch.Tensor | None:
        """The prune masks as one flat vector in the parameters' memory orders (built once per
        masks dict and layout)."""
        if not masks:
            return None
        key = self._mask_of[0]
        if not (isinstance(key, tuple) and key[0] is masks and key[1] == orders):
            flat = torch.cat([(masks[n] if n in masks else torch.ones(s)).to(like).permute(o).reshape(-1)
                              for n, s, o in zip(self.names, self.shapes, orders)])
            self._mask_of = ((masks, orders), flat)
        return self._mask_of[1]

    def forward(self, decoder: nn.Module, mode: QuantMode, masks: dict[str, torch.Tensor] | None = None,
                measure: bool = True) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        """(quantised parameters by name, estimated bits of all of them); :attr:`coded_bits`: the
        estimate for the rounded symbols (with ``measure``)."""
        params = dict(decoder.named_parameters())
        orders = [memory_order(params[n]) for n in self.names]
        flat = torch.cat([params[n].permute(o).reshape(-1) for n, o in zip(self.names, orders)])
        steps = expand_segments(torch.cat([g.step_values() for g in self.groups]), self.step_index, self.step_counts)
        mask = self._flat_mask(masks, flat, orders)
        xq, y = fake_quant(flat, steps.to(flat.dtype), self.bits, mode, mask)
        bits = self._rate(y.float(), orders)
        if measure:
            if relaxed(mode):
                with torch.no_grad():
                    q = round_symbols(flat, steps, self.bits)
                    self.coded_bits = self._rate(q * mask if mask is not None else q, orders)
            else:
                self.coded_bits = bits.detach()
        parts = xq.split([s.numel() for s in self.shapes])
        return {n: t.view([s[d] for d in o]).permute(inverse_order(o))
                for n, s, o, t in zip(self.names, self.shapes, orders, parts)}, bits

    def _rate(self, y: torch.Tensor, orders: list[tuple[int, ...]]) -> torch.Tensor:
        """Estimated bits of the flat symbols ``y``: each group's geometric law."""
        a = torch.stack([g.log_a for g in self.groups]).exp()
        head = (self.group_sizes * -_log_p0(a)).sum()  # every group's zero-symbol cost, per value
        return (head + (a * segment_sum(y.abs(), self.group_sizes)).sum()) / LN2

    @torch.no_grad()
    def scale_steps(self, octaves: float) -> None:
        """Every step x 2^octaves (rate control during training)."""
        for g in self.groups:
            g.scale_steps(octaves)

    @torch.no_grad()
    def shift_codes(self, n: int) -> None:
        """Every step onto the grid, ``n`` codes coarser (> 0) or finer: the coder's global knob."""
        for g in self.groups:
            g.shift_codes(n)

    @property
    def numel(self) -> int:
        return sum(g.numel for g in self.groups)

    def trim_costs(self, decoder: nn.Module, shift: int = 0, sensitivity: Sensitivity | None = None) -> np.ndarray:
        """Every weight symbol's :func:`_trim_costs`, sorted: the thresholds :meth:`compress`'s
        ``trim`` can take (rate-distortion-optimised quantisation, as video encoders' RDOQ)."""
        params = {n: p.detach().float().cpu() for n, p in decoder.named_parameters()}
        out = []
        for i, (name, g) in enumerate(zip(self.names, self.groups)):
            k = step_codes(g, shift)
            sym = quantize_group(params[name], g, k)
            c = _trim_costs(params[name], g, k, sym, self.symbol_decays(i, k), _of(sensitivity, name)).ravel()
            out.append(c[np.isfinite(c)])
        return np.sort(np.concatenate(out)) if out else np.zeros(0)

    def symbol_decays(self, i: int, k: np.ndarray):
        """The decay of group ``i``'s law at step codes ``k`` (one for all its symbols)."""
        return rate_a(self.groups[i], k)

    def compress(self, decoder: nn.Module, shift: int = 0, trim: float | None = None,
                 sensitivity: Sensitivity | None = None) -> CodedWeights:
        """Quantise every decoder tensor with its learned steps (``shift`` codes coarser or finer) and
        code them all in one word stream. Pruned weights are exact zeros and stay symbol 2^(bits-1).
        ``trim``: every symbol whose :func:`_trim_costs` (under ``sensitivity``) is below it moves one
        level toward zero (the rate lands without moving the steps the network was trained on)."""
        enc = ChunkEncoder()
        params = {n: p.detach().float().cpu() for n, p in decoder.named_parameters()}
        tensors, state = [], {}
        est = side = n_sym = step_bits = 0.0
        for name, g in zip(self.names, self.groups):
            x = params[name]
            k = step_codes(g, shift)
            sym = quantize_group(x, g, k)
            a = rate_a(g, k)
            if trim is not None:
                move = _trim_costs(x, g, k, sym, a, _of(sensitivity, name)) < trim
                sym = np.where(move, sym - np.sign(sym - offset(g.bits)), sym).astype(sym.dtype)
            model, k_model = laplace_table(sym, g.bits, a), fit_model(k)
            enc.encode(k, k_model)
            enc.encode(sym, model)
            tensors.append(StepCodedTensor(g.bits, k_model, model))
            state[name] = torch.from_numpy(dequantize_steps(sym, k, g.bits, 0))
            est += geometric_bits_np(sym - offset(g.bits), a)
            step_bits += k_model.ideal_bits(np.bincount(k - k_model.lo, minlength=k_model.alphabet))
            side += 8 + k_model.side_bits() + model.side_bits()
            n_sym += sym.size
        words = enc.words()
        # estimated: the training rate model's bits of the symbols, plus the step codes' code length;
        # coded: the words actually written (SPEC.md 4.4); side: the models ahead of them
        stats = {"symbols": int(n_sym), "estimated_bits": est + step_bits, "coded_bits": int(32 * len(words)),
                 "side_bits": int(side), "step_code_bits": step_bits}
        return CodedWeights(StepCodedWeights(tensors, words), state, stats)


def _trim_costs(x: torch.Tensor, g: GroupEntropyModel, k: np.ndarray, sym: np.ndarray, a,
                sensitivity: torch.Tensor | None = None) -> np.ndarray:
    """Distortion per bit saved of moving each symbol one level toward zero (inf for zeros), over the
    bits the geometric law saves, ``a / ln 2`` for any nonzero symbol (``a``: a decay, or one per
    symbol). The distortion: how far past its rounding boundary the value lies, in steps (moving
    ``q`` to ``q - 1`` adds ``2 margin`` squared steps of error to the value), times the squared step
    and the weight's ``sensitivity`` where given (the empirical Fisher of the clip's MSE, a stand-in
    for its curvature in that weight: :meth:`~..training.evaluation.Evaluation.sensitivity`; floored
    at a tiny value, so that weights with none still rank by margin); without it every squared step
    weighs alike."""
    steps = steps_like(x, g, k).double()
    y = (x.double() / steps).numpy()
    q = sym.astype(np.int64) - offset(g.bits)
    margin = np.abs(y) - (np.abs(q) - 0.5)
    if sensitivity is not None:
        margin = margin * np.maximum((sensitivity.double() * steps.square()).numpy(), 1e-30)
    return np.where(q != 0, margin * math.log(2.0) / np.maximum(a, 1e-9), np.inf)


def _of(sensitivity: Sensitivity | None, name: str) -> torch.Tensor | None:
    if sensitivity is None:
        return None
    if name not in sensitivity:
        raise ValueError(f"no sensitivity for decoder tensor {name}")
    return sensitivity[name].detach().float().cpu()


def coded_symbols(gw: StepCodedWeights, shapes: dict[str, tuple[int, ...]]):
    """(name, step codes, symbols, DECA's (row, column) classes or None) of every tensor of a DECG
    (or DECA) section, in stream order."""
    dec, tag = ChunkDecoder(gw.words), gw.tag.decode()
    for (name, shape), t in zip(shapes.items(), gw.tensors):
        try:
            k = dec.decode(channels_of(shape), t.step_model)
            if t.law is not None:
                sym, *classes = decode_axis_tensor(dec, t, shape)
            else:
                sym, classes = dec.decode(math.prod(shape), t.model), None
        except Exception as e:  # constriction raises on words that cannot be a valid stream
            raise FormatError(f"{tag} section: tensor {name} does not decode ({e})") from None
        yield name, k, sym.reshape(shape), classes
    if not dec.consumed_exactly():
        raise FormatError(f"{tag} section: the coded words are not those of its symbols")


def decompress_weights(gw: StepCodedWeights, shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(dequantize_steps(sym, k, t.bits, 0))
            for (name, k, sym, _), t in zip(coded_symbols(gw, shapes), gw.tensors)}


def weight_rate(gw: StepCodedWeights, shapes: dict[str, tuple[int, ...]]) -> dict:
    """Predicted (``model_bits``) against written (``coded_bits``) bits of a DECG or DECA section."""
    predicted = sum(model_bits(k, t.step_model) + (axis_model_bits(sym, *classes, t) if classes is not None
                                                   else model_bits(sym, t.model))
                    for (_, k, sym, classes), t in zip(coded_symbols(gw, shapes), gw.tensors))
    return {"model_bits": round(predicted, 1), "coded_bits": 32 * len(gw.words)}
