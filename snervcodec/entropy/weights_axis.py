"""The decoder weights' axis-law entropy model (format 1.6's ``DECA``), after NVRC's weight entropy
model (Kwan et al., NeurIPS 2024): the geometric law's scale of every kernel varies per output
channel (axis 0) and per input channel (axis 1), as a rank-1 product of two learned scales on a grid
of half octaves, so channels of small weights cost fewer bits.

- Training: :meth:`AxisWeightModel.forward` (inherited) estimates the bits of every symbol under its
  own decay ``a exp(-(u_row + v_col))``, the offsets snapped to the grid (straight-through).
- Coding: :meth:`AxisWeightModel.compress` writes each tensor's integer classes and decays, and
  codes its symbols class by class under exactly those laws, so the estimate is the coded rate.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.axislaw import AxisLaw
from ..bitstream.stepcoded import StepCodedTensor, StepCodedWeights
from ..compress.flat import expand_segments
from ..compress.stepcodes import dequantize_steps, offset
from .axis import OFFSET_LIMIT, axis_law, class_histograms, classed_bits, encode_classed, fit_classes, \
    integer_classes, law_bits, law_bits_np, law_bytes, snap, tensor_classes
from .coder import ChunkEncoder, fit_model
from .groups import quantize_group, rate_a, step_codes
from .laws import model_bits
from .weights import CodedWeights, Sensitivity, WeightEntropyModel, _of, _trim_costs


def initial_offsets(x: torch.Tensor, steps: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Log-scale offsets (rows, columns) of a kernel's magnitudes at its first steps: each row's mean
    magnitude against the tensor's, then each column's once the rows are divided out."""
    y = (x / steps).abs().reshape(x.shape[0], x.shape[1], -1)  # (rows, columns, taps)
    floor = float(y.mean()) * 1e-3 + 1e-12
    u = torch.log(y.mean((1, 2)) + floor) - torch.log(y.mean() + floor)
    y = y / u.exp()[:, None, None]
    v = torch.log(y.mean((0, 2)) + floor) - torch.log(y.mean() + floor)
    return u.clamp(-OFFSET_LIMIT, OFFSET_LIMIT), v.clamp(-OFFSET_LIMIT, OFFSET_LIMIT)


class AxisWeightModel(WeightEntropyModel):
    """:class:`~.weights.WeightEntropyModel` with learned row and column scales of every kernel's law
    (vectors keep one law). Costs a few elementwise passes over the flat network per step."""

    def __init__(self, decoder: nn.Module, bits: int, target_bits: float | None = None):
        super().__init__(decoder, bits, target_bits)
        params = [p.detach().float() for _, p in decoder.named_parameters()]
        steps = [g.steps(p.dim()).detach() for g, p in zip(self.groups, params)]
        self.axis_pos = {i: j for j, i in enumerate(i for i, s in enumerate(self.shapes) if len(s) >= 2)}
        offsets = [initial_offsets(params[i], steps[i]) for i in self.axis_pos]
        self.row_offsets = nn.ParameterList(nn.Parameter(u) for u, _ in offsets)
        self.col_offsets = nn.ParameterList(nn.Parameter(v) for _, v in offsets)
        self.register_buffer("group_index", torch.repeat_interleave(torch.arange(len(self.groups)), self.group_sizes),
                             persistent=False)
        self._index_of: tuple[object, tuple[torch.Tensor, torch.Tensor] | None] = (None, None)

    def _axis_index(self, orders: list[tuple[int, ...]], device) -> tuple[torch.Tensor, torch.Tensor]:
        """Every flat value's row and column offset index (in the parameters' memory orders; the
        last index of each is a zero offset, the vectors'), built once per layout."""
        if self._index_of[0] == orders and self._index_of[1][0].device == device:
            return self._index_of[1]
        n_rows, n_cols = sum(len(p) for p in self.row_offsets), sum(len(p) for p in self.col_offsets)
        rows, cols, r0, c0 = [], [], 0, 0
        for i, (s, o) in enumerate(zip(self.shapes, orders)):
            if i in self.axis_pos:
                tail = (1,) * (len(s) - 2)
                rows.append((torch.arange(s[0]).view(-1, 1, *tail) + r0).expand(s).permute(o).reshape(-1))
                cols.append((torch.arange(s[1]).view(1, -1, *tail) + c0).expand(s).permute(o).reshape(-1))
                r0, c0 = r0 + s[0], c0 + s[1]
            else:
                rows.append(torch.full((s.numel(),), n_rows))
                cols.append(torch.full((s.numel(),), n_cols))
        index = (torch.cat(rows).to(device), torch.cat(cols).to(device))
        self._index_of = (list(orders), index)
        return index

    def _rate(self, y: torch.Tensor, orders: list[tuple[int, ...]]) -> torch.Tensor:
        """Estimated bits of the flat symbols ``y``, each under its own row's and column's decay."""
        ri, ci = self._axis_index(orders, y.device)
        zero = y.new_zeros(1)
        u = torch.cat([snap(p) for p in self.row_offsets] + [zero])
        v = torch.cat([snap(p) for p in self.col_offsets] + [zero])
        base = expand_segments(torch.stack([g.log_a for g in self.groups]), self.group_index, self.group_sizes)
        return law_bits(y, base - u[ri] - v[ci]).sum()

    # ---- the coding face ----------------------------------------------------------------
    def group_law(self, i: int, k: np.ndarray) -> tuple[AxisLaw, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """(law, row classes, column classes, every class's float decay, every symbol's class) of
        tensor ``i`` at step codes ``k``."""
        base, shape = rate_a(self.groups[i], k), tuple(self.shapes[i])
        if i in self.axis_pos:
            j = self.axis_pos[i]
            (rows, r_lo), (cols, c_lo) = integer_classes(self.row_offsets[j]), integer_classes(self.col_offsets[j])
        else:  # a vector: one law
            rows, r_lo, cols, c_lo = np.zeros(1, np.int64), 0, np.zeros(1, np.int64), 0
        law, a, cls = axis_law(base, rows, r_lo, cols, c_lo, shape)
        return law, rows, cols, a, cls

    def symbol_decays(self, i: int, k: np.ndarray) -> np.ndarray:
        *_, a, cls = self.group_law(i, k)
        return a[cls]

    def compress(self, decoder: nn.Module, shift: int = 0, trim: float | None = None,
                 sensitivity: Sensitivity | None = None) -> CodedWeights:
        """:meth:`~.weights.WeightEntropyModel.compress` with axis laws (a DECA section): per tensor its
        step codes, its row and column classes, then its symbols class by class under one law per
        class refitted to them (the estimate is the coded rate). A tensor keeps both axes' classes, one
        axis's or none, whichever codes smallest with its side information."""
        enc = ChunkEncoder()
        params = {n: p.detach().float().cpu() for n, p in decoder.named_parameters()}
        tensors, state = [], {}
        est = trained = side = n_sym = step_bits = class_bits = one_law = chosen = 0.0
        for i, (name, g) in enumerate(zip(self.names, self.groups)):
            x, k = params[name], step_codes(g, shift)
            sym = quantize_group(x, g, k)
            _, rows, cols, a_learned, cls_learned = self.group_law(i, k)
            if trim is not None:
                move = _trim_costs(x, g, k, sym, a_learned[cls_learned], _of(sensitivity, name)) < trim
                sym = np.where(move, sym - np.sign(sym - offset(g.bits)), sym).astype(sym.dtype)
            k_model = fit_model(k)
            enc.encode(k, k_model)
            (law, cls, classes, models, a, cbits, cside), costs = _best_classes(sym, rows, cols, g.bits)
            one_law += costs[(False, False)]
            chosen += min(costs.values())
            for c, m in zip(classes, models):
                if m is not None:
                    enc.encode(c, m)
            encode_classed(enc, sym, cls, law, g.bits)
            tensors.append(StepCodedTensor(g.bits, k_model, None, law, *models))
            state[name] = torch.from_numpy(dequantize_steps(sym, k, g.bits, 0))
            trained += law_bits_np(sym.astype(np.int64) - offset(g.bits), a_learned[cls_learned])
            est += law_bits_np(sym.astype(np.int64) - offset(g.bits), a[cls])
            step_bits += model_bits(k, k_model)
            class_bits += cbits
            side += 8 + k_model.side_bits() + cside
            n_sym += sym.size
        words = enc.words()
        stats = {"symbols": int(n_sym), "estimated_bits": est + step_bits + class_bits,
                 "coded_bits": int(32 * len(words)), "side_bits": int(side), "step_code_bits": step_bits,
                 "class_code_bits": class_bits, "trained_estimate_bits": trained + step_bits + class_bits,
                 # the same symbols with one law per tensor (refitted) against the laws chosen, tables included
                 "one_law_bits": one_law, "axis_law_bits": chosen,
                 "law": "axis (per output x input channel)"}
        return CodedWeights(StepCodedWeights(tensors, words), state, stats)


def fitted_classes(sym: np.ndarray, bits: int) -> tuple[np.ndarray, np.ndarray]:
    """Row and column classes fitted to a kernel's symbols (:func:`initial_offsets` of the symbols):
    the coder's alternative to the learned ones, when the symbols moved away from them in training."""
    q = torch.from_numpy(sym.astype(np.float64) - offset(bits))
    return tuple(integer_classes(o)[0] for o in initial_offsets(q, torch.ones(())))


def _best_classes(sym: np.ndarray, rows: np.ndarray, cols: np.ndarray, bits: int):
    """((law, every symbol's class, the row and column classes, their models, every class's decay,
    the class codes' bits, side bits) of the cheapest of: both axes' classes, the rows', the columns', none,
    with the learned classes or those fitted to the symbols; the bits with tables of each, by
    (row classes?, column classes?) the cheapest of its kind)."""
    variants = [(np.zeros_like(rows), np.zeros_like(cols))]
    if sym.ndim >= 2:
        for r, c in ((rows, cols), fitted_classes(sym, bits)):
            variants += [(r, c), (r, np.zeros_like(c)), (np.zeros_like(r), c)]
    best, best_bits, costs = None, np.inf, {}
    for r_cls, c_cls in variants:
        shape = (int(r_cls.max()) + 1, int(c_cls.max()) + 1)
        kind = (shape[0] > 1, shape[1] > 1)
        if kind == (False, False) and kind in costs:
            continue  # no classes: the same whichever axis had none
        cls = tensor_classes(sym.shape, r_cls, c_cls)
        hist, lo = class_histograms(sym, cls, shape[0] + shape[1] - 1)
        law, a = fit_classes(hist, lo, bits, shape)
        models = [fit_model(v) if n > 1 else None for v, n in ((r_cls, shape[0]), (c_cls, shape[1]))]
        cbits = sum(model_bits(v, m) for v, m in zip((r_cls, c_cls), models) if m is not None)
        side = 8 * law_bytes(law) + sum(m.side_bits() for m in models if m is not None)
        total = classed_bits(hist, lo, law, bits) + cbits + side
        costs[kind] = min(total, costs.get(kind, np.inf))
        if total < best_bits:
            best, best_bits = (law, cls, (r_cls, c_cls), models, a, cbits, side), total
    return best, costs
