"""The embeddings' context entropy model (format 1.6), after NVRC's context models for latents
(Kwan et al., NeurIPS 2024) with integer tables: the law's scale of a symbol is a learned scale of
its channel times a learned scale of its context (:mod:`.context`: the previous frame's magnitude at
the same position, or "first frame of a chunk"), on a grid of half octaves.

- Training: :meth:`ContextEmbeddingModel.forward` estimates each frame's bits under those laws, with
  format 1.4's prediction inside a chunk (the previous frames' symbols from :attr:`memory`).
- Coding: :meth:`ContextEmbeddingModel.compress` refits one law per class to the rounded symbols
  (so the estimate is the coded rate), codes the chunks class by class, and keeps the 1.4 coding
  instead when that is smaller.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.payload import STEP_CODE_PARAM_BYTES, CodedEmbeddings, write_embeddings
from ..compress.qat import QuantMode, fake_quant, relaxed
from ..compress.quant import LLRange
from .axis import OFFSET_LIMIT, integer_classes, law_bits, snap
from .chunks import QuantEmbeddings
from .coder import fit_model
from .context import CONTEXTS, code_chunks, coded_residuals, contexts, estimate_bits, fit_law
from .embedding_model import EmbeddingEntropyModel
from .laws import ml_log_a, model_bits


class ContextEmbeddingModel(EmbeddingEntropyModel):
    """:class:`~.embedding_model.EmbeddingEntropyModel` whose law is per channel x context."""

    def __init__(self, x: torch.Tensor, bits: int, target_bits: float | None = None, chunk_frames: int = 1):
        super().__init__(x, bits, target_bits, chunk_frames)
        q = self.symbols(self.memory)
        t = torch.arange(len(q))
        later = self._later_mask(t)
        res, ctx = self._residual(q, q[(t - 1).clamp_min(0)], later)
        yabs = res.abs().transpose(0, 1).reshape(q.shape[1], -1)  # (C, values)
        floor = float(yabs.mean()) * 1e-3 + 1e-12
        u = torch.log(yabs.mean(1) + floor) - torch.log(yabs.mean() + floor)
        y2 = res.abs() / self._rows(u.exp())
        v = torch.zeros(CONTEXTS)
        for b in range(CONTEXTS):
            if bool((ctx == b).any()):
                v[b] = torch.log(y2[ctx == b].mean() + floor) - torch.log(y2.mean() + floor)
        self.row_offsets = nn.Parameter(u.clamp(-OFFSET_LIMIT, OFFSET_LIMIT))
        self.col_offsets = nn.Parameter(v.clamp(-OFFSET_LIMIT, OFFSET_LIMIT))
        with torch.no_grad():
            self.log_a.copy_(ml_log_a(y2 / v.exp()[ctx]))

    def _rows(self, per_channel: torch.Tensor) -> torch.Tensor:
        return per_channel.reshape(1, -1, *(1,) * (self.memory.dim() - 2))

    def _later_mask(self, t: torch.Tensor) -> torch.Tensor:
        """Frames ``t`` coded from the previous frame (none without prediction)."""
        return self._later(t) if self.predicts else torch.zeros_like(t, dtype=torch.bool)

    def _residual(self, y: torch.Tensor, prev: torch.Tensor, later: torch.Tensor
                  ) -> tuple[torch.Tensor, torch.Tensor]:
        """(the symbols as coded, their contexts) of frames ``y`` whose previous frames are ``prev``."""
        m = later.reshape(-1, *(1,) * (y.dim() - 1))
        ctx = torch.where(m, contexts(prev, CONTEXTS), torch.zeros((), dtype=torch.long, device=y.device))
        return torch.where(m, y - prev, y), ctx.long()

    def _frame_bits(self, res: torch.Tensor, ctx: torch.Tensor, law_grad: bool = True) -> torch.Tensor:
        """Estimated bits of each frame: every symbol under its channel's and context's law (without
        ``law_grad``, the laws held: a gradient for the symbols only)."""
        log_a, rows, cols = self.log_a, self.row_offsets, self.col_offsets
        if not law_grad:
            log_a, rows, cols = log_a.detach(), rows.detach(), cols.detach()
        log_a = log_a - self._rows(snap(rows)) - snap(cols)[ctx]
        return law_bits(res, log_a).flatten(1).sum(1)

    def forward(self, x: torch.Tensor, mode: QuantMode, frames: torch.Tensor | None = None,
                measure: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(quantised x, estimated bits of frames ``frames`` of the clip; without ``frames``, each
        frame as a chunk's first). The gradient also carries the next frame's difference."""
        xq, y = fake_quant(x, self.steps(x.dim()).to(x.dtype), self.bits, mode)
        y, n = y.float(), len(self.memory)
        t = frames.to(self.memory.device).long() if frames is not None else None
        later = self._later_mask(t) if t is not None else torch.zeros(len(x), dtype=torch.bool, device=x.device)
        with torch.no_grad():
            prev = self.symbols(self.memory[(t - 1).clamp_min(0)]) if t is not None else torch.zeros_like(y)
        own = self._frame_bits(*self._residual(y, prev, later))
        bits = own.sum()
        if t is not None and self.predicts:
            has_next = self._later(t + 1) & (t + 1 < n)
            with torch.no_grad():
                nxt, now = self.symbols(self.memory[(t + 1).clamp_max(n - 1)]), self.symbols(x)
            nb = self._frame_bits(nxt - y, contexts(now, CONTEXTS).long(), law_grad=False) * has_next
            bits = bits + (nb.sum() - nb.sum().detach())  # value: this batch's bits; gradient: also the next's
        with torch.no_grad():
            if t is not None:
                self.memory[t] = x.detach().float()
            if relaxed(mode) and measure:
                self.coded_bits = self._frame_bits(*self._residual(self.symbols(x), prev, later)).sum()
            else:
                self.coded_bits = own.sum().detach()
        return xq, bits

    @torch.no_grad()
    def clip_bits(self, x: torch.Tensor) -> float:
        """The bits :meth:`compress` would write for the clip's embeddings ``x``: the smallest of its
        codings' estimates, the context laws refit per class (with and without channel classes) and
        format 1.4's (:meth:`EmbeddingEntropyModel.clip_bits`). The symbols only."""
        qe = self.quantize(x, None)
        best = super().clip_bits(x)
        for with_channels in (True, False):
            _, coded, classes, channel, context = self._classed(qe, self.chunk_frames, with_channels)
            _, a = fit_law(coded, classes, qe.qt.bits, (int(channel.max()) + 1, int(context.max()) + 1))
            best = min(best, estimate_bits(coded, classes, a, qe.qt.bits))
        return float(best)

    # ---- the coding face ----------------------------------------------------------------
    def compress(self, emb: torch.Tensor, ll_range: LLRange | None, chunk_frames: int
                 ) -> tuple[QuantEmbeddings, CodedEmbeddings, dict]:
        """Code the clip with context laws (with and without channel classes), and as format 1.4
        does; keep the smallest section: (values, coded section, rate figures)."""
        qe = self.quantize(emb, ll_range)
        trained = self._trained_estimate(qe, chunk_frames)
        candidates = [self._context_coded(qe, chunk_frames, with_channels) for with_channels in (True, False)]
        qe14, coded14, stats14 = super().compress(emb, ll_range, chunk_frames)
        sizes = [len(write_embeddings(c)) for c, _ in candidates] + [len(write_embeddings(coded14))]
        best = int(np.argmin(sizes))
        coded, stats = candidates[best] if best < 2 else (coded14, stats14)
        stats = stats | {"trained_estimate_bits": trained, "section_bytes": {
            "context": sizes[0], "context_no_channel_classes": sizes[1], "format_1_4": sizes[2]}}
        return qe14, coded, stats

    def _classed(self, qe: QuantEmbeddings, chunk_frames: int, with_channels: bool) -> tuple:
        """(the clip's (T, C, positions) symbols, the symbols as coded, their classes, the channel classes,
        the context classes): what the coder codes and what the estimate prices."""
        sym = qe.qt.symbols.transpose(1, 0, 2, 3)  # (T, C, h, w)
        sym = sym.reshape(len(sym), sym.shape[1], -1)
        channel = integer_classes(self.row_offsets)[0] if with_channels else np.zeros(sym.shape[1], np.int64)
        context = integer_classes(self.col_offsets)[0]
        coded, classes = coded_residuals(sym, qe.qt.bits, chunk_frames, self.predicts and chunk_frames > 1,
                                         channel, context)
        return sym, coded, classes, channel, context

    def _context_coded(self, qe: QuantEmbeddings, chunk_frames: int, with_channels: bool
                       ) -> tuple[CodedEmbeddings, dict]:
        sym, coded, classes, channel, context = self._classed(qe, chunk_frames, with_channels)
        delta = self.predicts and chunk_frames > 1
        law, a = fit_law(coded, classes, qe.qt.bits, (int(channel.max()) + 1, int(context.max()) + 1))
        ll = qe.ll_range
        ll_sym = ll.symbols if ll is not None else None
        ll_model = fit_model(ll_sym) if ll_sym is not None else None
        chunks = code_chunks(coded, classes, law, qe.qt.bits, chunk_frames, ll_sym, ll_model)
        ce = CodedEmbeddings(
            bits=qe.qt.bits, per_channel=qe.qt.per_channel, scale=qe.qt.scale, zero=qe.qt.zero,
            model=None, ll_bits=ll.bits if ll is not None else 0,
            ll_lo=float(ll.lo) if ll is not None else 0.0, ll_hi=float(ll.hi) if ll is not None else 0.0,
            ll_model=ll_model, chunks=chunks, step_codes=qe.step_codes, law=law,
            channel_classes=channel if law.rows > 1 else None, context_classes=context, delta=delta)
        ll_bits = model_bits(ll_sym, ll_model) if ll_sym is not None else 0.0
        side = 24 + 24 * sum(1 for d in law.decays if d) + 8 * (1 + len(context) + (law.rows > 1) * len(channel)) \
            + 8 * STEP_CODE_PARAM_BYTES * len(qe.step_codes) + (ll_model.side_bits() if ll_model else 0)
        stats = {"symbols": int(sym.size + (ll_sym.size if ll_sym is not None else 0)),
                 "coded_bits": int(32 * sum(len(c) for c in chunks)), "side_bits": int(side),
                 "estimated_bits": estimate_bits(coded, classes, a, qe.qt.bits) + ll_bits,
                 "prediction": "previous frame" if delta else "none",
                 "law": "context (channel x previous frame's magnitude)" + ("" if with_channels else
                                                                            ", no channel classes")}
        return ce, stats

    @torch.no_grad()
    def _trained_estimate(self, qe: QuantEmbeddings, chunk_frames: int) -> float:
        """Training's estimate (the learned laws, before the refit) of the rounded symbols."""
        q = torch.from_numpy(qe.qt.symbols.transpose(1, 0, 2, 3).astype(np.float32)) - (1 << (qe.qt.bits - 1))
        t = torch.arange(len(q))
        later = self._later_mask(t) if chunk_frames == self.chunk_frames else torch.zeros_like(t, dtype=torch.bool)
        res, ctx = self._residual(q, q[(t - 1).clamp_min(0)], later)
        return float(self._frame_bits(res.to(self.log_a.device), ctx.to(self.log_a.device)).sum())
