"""Quantisation and rate in the training loop: the training face of format 1.2's coder.

Each coded group (a decoder tensor, the embeddings) gets a :class:`GroupQuantizer`: a learned step
per channel (LSQ-style, in the log domain) and a learned two-sided geometric ("discrete Laplace")
rate model ``p(q) = (1-r)/(1+r) * r^|q|``. The same two numbers are what the coder writes
(steps snapped to :mod:`.grid`, ``r`` as the 16-bit decay of ``entropy``'s ``laplace`` model), so the
rate trained on is the rate coded. The quantiser has two modes (after Balle et al., HiNeRV's
Quant-Noise and Cool-chic's annealing):

- ``noise``: ``w/step + u``, u ~ U(-1/2, 1/2): a differentiable proxy early in training;
- ``ste``: ``round(w/step)`` with a straight-through gradient: exactly the coded values.

Symbols stay inside the signed ``bits``-bit alphabet (8 for weights, 6 for embeddings), and pruned
weights stay exactly zero (the mask multiplies the relaxed symbol).
"""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

from .flat import expand_segments, inverse_order, memory_order, segment_sum
from .grid import K_MAX, code_for_step, step_from_code

QuantMode = Literal["noise", "ste"]
LN2 = math.log(2.0)


def fake_quant(x: torch.Tensor, step: torch.Tensor, bits: int, mode: QuantMode,
               mask: torch.Tensor | None = None) -> tuple[torch.Tensor, torch.Tensor]:
    """(dequantised values, relaxed symbols) of ``x`` with steps broadcastable to it."""
    y = x / step
    if mode == "noise":
        y = y + (torch.rand_like(y) - 0.5)
    else:
        y = y + (torch.round(y) - y).detach()
    q_lo, q_hi = -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    y = y.clamp(q_lo, q_hi)
    if mask is not None:
        y = y * mask
    return y * step, y


def geometric_bits(y: torch.Tensor, log_a: torch.Tensor) -> torch.Tensor:
    """Bits of symbols ``y`` under ``p(q) = (1-r)/(1+r) r^|q|`` with ``r = exp(-a)``, summed.
    Exact at integer ``y`` (the code length of the coder's table up to its 2^-24 rounding)."""
    a = log_a.exp()
    return (y.numel() * -_log_p0(a) + a * y.abs().sum()) / LN2


def _log_p0(a: torch.Tensor) -> torch.Tensor:
    """log((1-r)/(1+r)) with r = exp(-a): the log-probability of the zero symbol."""
    return torch.log(-torch.expm1(-a)) - F.softplus(-a)


class GroupQuantizer(nn.Module):
    """Learned steps (one per slice along ``axis``) and rate model of one coded group."""

    def __init__(self, x: torch.Tensor, bits: int, axis: int | None, target_bits: float | None = None):
        """Steps start where a Laplace source of ``x``'s mean magnitude costs ``target_bits`` per
        value (high-rate: ``step = 2e E|x| / 2^bits``), never finer than the alphabet needs to
        cover ``x`` without clipping; without a target, at that finest step."""
        super().__init__()
        self.bits, self.axis = bits, axis
        x = x.detach().float()
        if axis is None or x.dim() < 2:
            self.axis, flat = None, x.reshape(1, -1)
        else:
            flat = x.transpose(0, axis).reshape(x.shape[axis], -1)
        qmax = (1 << (bits - 1)) - 1
        step = flat.abs().amax(1).clamp_min(1e-8) / qmax
        if target_bits is not None:
            step = torch.maximum(step, 2 * math.e * flat.abs().mean(1).clamp_min(1e-8) / 2 ** target_bits)
        self.log_step = nn.Parameter(step.log())
        self.numel = x.numel()  # values in the group (for embeddings: the whole clip's)
        # the rate model's start: a geometric law fitted to the symbols at those steps by moments
        mean_abs = float((flat.abs() / step[:, None]).round().mean())
        self.log_a = nn.Parameter(torch.tensor(math.log(math.log1p(1.0 / max(mean_abs, 1e-2)))))

    def steps(self, ndim: int) -> torch.Tensor:
        s = self.log_step.exp()
        if self.axis is None:
            return s.reshape((1,) * ndim)
        shape = [1] * ndim
        shape[self.axis] = -1
        return s.reshape(shape)

    def forward(self, x: torch.Tensor, mode: QuantMode, mask: torch.Tensor | None = None,
                measure: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(quantised x, estimated bits of x's symbols). In ``noise`` mode the bits are those of
        the relaxed symbols (what training differentiates); with ``measure``, :attr:`coded_bits`
        holds the estimate for the rounded ones (what rate control steers: noise inflates the first)."""
        xq, y = fake_quant(x, self.steps(x.dim()).to(x.dtype), self.bits, mode, mask)
        bits = geometric_bits(y.float(), self.log_a)
        if mode == "noise" and measure:
            with torch.no_grad():
                q = self.symbols(x) * (mask if mask is not None else 1.0)
                self.coded_bits = geometric_bits(q, self.log_a)
        else:
            self.coded_bits = bits.detach()
        return xq, bits

    @torch.no_grad()
    def scale_steps(self, octaves: float) -> None:
        """Steps x 2^octaves."""
        self.log_step.add_(octaves * math.log(2.0))

    @torch.no_grad()
    def shift_codes(self, n: int) -> None:
        """Steps snapped to the grid and moved ``n`` codes (what the coder writes for a shift of ``n``)."""
        k = np.clip(code_for_step(self.log_step.detach().exp().cpu().double().numpy()) + n, 0, K_MAX)
        self.log_step.copy_(torch.from_numpy(step_from_code(k)).to(self.log_step).log())

    @torch.no_grad()
    def symbols(self, x: torch.Tensor, steps: torch.Tensor | None = None) -> torch.Tensor:
        """Integer symbols (signed) of ``x`` with the learned steps, or with ``steps``."""
        return round_symbols(x, self.steps(x.dim()) if steps is None else steps, self.bits)


def round_symbols(x: torch.Tensor, steps: torch.Tensor, bits: int) -> torch.Tensor:
    """The coder's integer symbols of ``x`` at ``steps``: rounded, clipped to the signed alphabet."""
    lim = 1 << (bits - 1)
    return torch.round(x.float() / steps).clamp(-lim, lim - 1)


def geometric_bits_per_frame(y: torch.Tensor, log_a: torch.Tensor) -> torch.Tensor:
    """:func:`geometric_bits` of each frame (dimension 0) of ``y`` separately: (N,)."""
    a = log_a.exp()
    per = y[0].numel() if len(y) else 0
    return (per * -_log_p0(a) + a * y.abs().flatten(1).sum(1)) / LN2


def _ml_log_a(q: torch.Tensor) -> torch.Tensor:
    """log of the maximum-likelihood decay ``a`` of :func:`geometric_bits`'s law for symbols ``q``:
    ``E|q| = 2r / (1 - r^2)``, so ``r = (sqrt(1 + m^2) - 1) / m``."""
    m = max(float(q.abs().mean()) if q.numel() else 0.0, 1e-3)
    r = (math.sqrt(1.0 + m * m) - 1.0) / m
    return torch.tensor(math.log(-math.log(r)))


class EmbeddingQuantizer(GroupQuantizer):
    """The embeddings' steps (per channel of (T, C, h, w)) and the rate model of their coding with
    format 1.4's temporal prediction: inside a random-access chunk of ``chunk_frames`` frames, the
    first frame's symbols under the group's law and every later frame's *difference* from the previous
    frame under a second learned law (``log_a_delta``). Training draws frames one batch at a time, so
    the neighbours' values come from :attr:`memory`, the latest encoder output of every frame
    (detached, kept current as batches pass). The estimate is the chained rate; the gradient of a
    frame also carries the cost of the next frame's difference, i.e. it is the gradient of the whole
    clip's rate with the other frames held."""

    def __init__(self, x: torch.Tensor, bits: int, target_bits: float | None = None, chunk_frames: int = 1):
        super().__init__(x, bits, 1, target_bits)
        self.chunk_frames = max(1, int(chunk_frames))
        self.register_buffer("memory", x.detach().float().clone(), persistent=False)
        q = self.symbols(self.memory)
        later = self._later(torch.arange(len(q)))
        d = (q[1:] - q[:-1])[later[1:]]
        mean_abs = float(d.abs().mean()) if d.numel() else 1.0
        self.log_a_delta = nn.Parameter(torch.tensor(math.log(math.log1p(1.0 / max(mean_abs, 1e-2)))))

    @torch.no_grad()
    def fit_laws(self, x: torch.Tensor) -> None:
        """Refit both laws to the rounded symbols of the whole clip ``x`` by maximum likelihood.
        Training fits them to noise-relaxed symbols, which are broader than the rounded ones (the
        weights' laws get this from the straight-through phase; the embeddings are fixed before it),
        so the tables coded and the bits estimated are those of the symbols written."""
        q = self.symbols(x.float().to(self.log_step.device))
        head = ~self._later(torch.arange(len(q), device=q.device)) if self.predicts else \
            torch.ones(len(q), dtype=torch.bool, device=q.device)
        self.log_a.copy_(_ml_log_a(q[head]))
        if self.predicts:
            self.log_a_delta.copy_(_ml_log_a((q[1:] - q[:-1])[~head[1:]]))

    @property
    def predicts(self) -> bool:
        return self.chunk_frames > 1 and len(self.memory) > 1

    def _later(self, t: torch.Tensor) -> torch.Tensor:
        """Frames ``t`` that are not the first of their chunk (predicted from the previous frame)."""
        return (t % self.chunk_frames) != 0

    def forward(self, x: torch.Tensor, mode: QuantMode, frames: torch.Tensor | None = None,
                measure: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(quantised x, estimated bits of frames ``frames`` of the clip); without ``frames`` or
        prediction, :meth:`GroupQuantizer.forward`'s independent coding."""
        if frames is None or not self.predicts:
            return super().forward(x, mode, None, measure)
        steps = self.steps(x.dim()).to(x.dtype)
        xq, y = fake_quant(x, steps, self.bits, mode)
        y = y.float()
        t = frames.to(self.memory.device).long()
        n = len(self.memory)
        later = self._later(t)
        has_next = self._later(t + 1) & (t + 1 < n)  # the next frame is predicted from this one
        with torch.no_grad():
            prev = self.symbols(self.memory[(t - 1).clamp_min(0)])
            nxt = self.symbols(self.memory[(t + 1).clamp_max(n - 1)])
        own = torch.where(later, geometric_bits_per_frame(y - prev, self.log_a_delta),
                          geometric_bits_per_frame(y, self.log_a))
        nb = geometric_bits_per_frame(nxt - y, self.log_a_delta) * has_next
        bits = own.sum() + (nb.sum() - nb.sum().detach())  # value: this batch's bits; gradient: also the next's
        with torch.no_grad():
            self.memory[t] = x.detach().float()
            if mode == "noise" and measure:
                q = self.symbols(x)
                self.coded_bits = torch.where(later, geometric_bits_per_frame(q - prev, self.log_a_delta),
                                              geometric_bits_per_frame(q, self.log_a)).sum()
            else:
                self.coded_bits = own.sum().detach()
        return xq, bits


class WeightQuantizers(nn.Module):
    """One :class:`GroupQuantizer` per decoder parameter, in ``state_dict`` order (the stream's):
    per output channel for kernels, one step for a bias or other vector.

    The forward pass quantises the whole network as one flat vector (each value indexed to its
    step and its law), so a step costs a handful of kernels whatever the number of tensors (per
    tensor it took ~20 small kernels each): for GPUs, where the step is launch-bound. The vector
    follows each parameter's memory layout, so the quantised kernels keep it (channels-last ones
    stay channels-last instead of being converted by every convolution); on the 2-core CPU the
    difference is within the machine's noise. Quantisation costs a noise-phase step 1.14x a float
    step, a straight-through one 1.08x a float fine-tune step (357K decoder, CPU time)."""

    def __init__(self, decoder: nn.Module, bits: int, target_bits: float | None = None):
        super().__init__()
        self.bits = bits
        self.names = [n for n, _ in decoder.named_parameters()]
        if list(decoder.state_dict()) != self.names:
            raise ValueError("a coded decoder holds parameters only, in state_dict order")
        self.groups = nn.ModuleList(GroupQuantizer(p, bits, 0, target_bits) for _, p in decoder.named_parameters())
        self.shapes = [p.shape for _, p in decoder.named_parameters()]
        sizes = [p.numel() for _, p in decoder.named_parameters()]
        n_steps = [g.log_step.numel() for g in self.groups]
        # the flat network in runs: values per step (channel-major, as GroupQuantizer slices), per law
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
        steps = expand_segments(torch.cat([g.log_step for g in self.groups]).exp(), self.step_index, self.step_counts)
        a = torch.stack([g.log_a for g in self.groups]).exp()
        mask = self._flat_mask(masks, flat, orders)
        xq, y = fake_quant(flat, steps.to(flat.dtype), self.bits, mode, mask)
        head = (self.group_sizes * -_log_p0(a)).sum()  # every group's zero-symbol cost, per value
        bits = (head + (a * segment_sum(y.float().abs(), self.group_sizes)).sum()) / LN2
        if measure:
            if mode == "noise":
                with torch.no_grad():
                    q = round_symbols(flat, steps, self.bits)
                    q = q * mask if mask is not None else q
                    self.coded_bits = (head + (a * segment_sum(q.abs(), self.group_sizes)).sum()) / LN2
            else:
                self.coded_bits = bits.detach()
        parts = xq.split([s.numel() for s in self.shapes])
        return {n: t.view([s[d] for d in o]).permute(inverse_order(o))
                for n, s, o, t in zip(self.names, self.shapes, orders, parts)}, bits

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


class RDOQuantizers(nn.Module):
    """What a quantised training phase learns besides the network: the steps and rate models of
    every decoder tensor, of the embeddings and (SNeRV(T)) of the temporal embeddings. Built from
    the float model (its ranges give the first steps)."""

    def __init__(self, decoder: nn.Module, emb: torch.Tensor, temb: torch.Tensor | None, weight_bits: int,
                 emb_bits: int, weight_target: float | None = None, emb_target: float | None = None,
                 chunk_frames: int = 1):
        """``chunk_frames`` > 1: the embeddings' rate is that of format 1.4's prediction in chunks
        of that many frames (:class:`EmbeddingQuantizer`)."""
        super().__init__()
        self.weights = WeightQuantizers(decoder, weight_bits, weight_target)
        self.emb = EmbeddingQuantizer(emb, emb_bits, emb_target, chunk_frames)
        self.temb = EmbeddingQuantizer(temb, emb_bits, emb_target, chunk_frames) if temb is not None else None
