"""The embeddings' entropy model (a group per clip: the LL embeddings, and SNeRV(T)'s temporal
ones). Training face: learned per-channel steps and two learned laws, the chunk head's and a
predicted frame's difference (format 1.4); coding face: the symbols and tables the EMBD / TEMB
sections carry (:mod:`.chunks` codes them in random-access chunks)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.payload import CodedEmbeddings
from ..compress.qat import QuantMode, fake_quant, relaxed
from ..compress.quant import LLRange, QTensor, dequantize
from ..compress.stepcodes import offset, step_from_code
from .chunks import QuantEmbeddings, code_embeddings
from .groups import GroupEntropyModel, quantize_group, step_codes
from .laws import geometric_bits, geometric_bits_per_frame, ml_log_a


class EmbeddingEntropyModel(GroupEntropyModel):
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
        heads, diffs = self._coded_parts(self.symbols(x.float().to(self.log_step.device)))
        self.log_a.copy_(ml_log_a(heads))
        if diffs is not None:
            self.log_a_delta.copy_(ml_log_a(diffs))

    @torch.no_grad()
    def clip_bits(self, x: torch.Tensor) -> float:
        """The bits :meth:`compress` would write for the clip's embeddings ``x`` (T, C, h, w): their rounded
        symbols under laws refit to them (as :meth:`fit_laws` refits them before coding), each chunk's
        later frames as their difference from the previous frame. What rate control steers by while the
        encoder trains. Within 0.1% of the coder's own estimate where it predicts (it snaps the steps to
        its grid); an upper bound where it codes every frame alone, which it keeps when smaller. The
        symbols only: not the LL ranges or the tables."""
        heads, diffs = self._coded_parts(self.symbols(x.float().to(self.log_step.device)))
        bits = geometric_bits(heads, ml_log_a(heads).to(heads.device))
        if diffs is not None:
            bits = bits + geometric_bits(diffs, ml_log_a(diffs).to(diffs.device))
        return float(bits)

    def _coded_parts(self, q: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor | None]:
        """(the symbols coded under the head law, the predicted frames' differences or None without
        prediction): format 1.4's coding of the clip's symbols ``q``, each part under a law of its own."""
        if not self.predicts:
            return q, None
        later = self._later(torch.arange(len(q), device=q.device))
        return q[~later], (q[1:] - q[:-1])[later[1:]]

    @property
    def predicts(self) -> bool:
        return self.chunk_frames > 1 and len(self.memory) > 1

    def _later(self, t: torch.Tensor) -> torch.Tensor:
        """Frames ``t`` that are not the first of their chunk (predicted from the previous frame)."""
        return (t % self.chunk_frames) != 0

    def forward(self, x: torch.Tensor, mode: QuantMode, frames: torch.Tensor | None = None,
                measure: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(quantised x, estimated bits of frames ``frames`` of the clip); without ``frames`` or
        prediction, :meth:`GroupEntropyModel.forward`'s independent coding."""
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
            if relaxed(mode) and measure:
                q = self.symbols(x)
                self.coded_bits = torch.where(later, geometric_bits_per_frame(q - prev, self.log_a_delta),
                                              geometric_bits_per_frame(q, self.log_a)).sum()
            else:
                self.coded_bits = own.sum().detach()
        return xq, bits

    # ---- the coding face ----------------------------------------------------------------
    def quantize(self, emb: torch.Tensor, ll_range: LLRange | None) -> QuantEmbeddings:
        """The clip's (T, C, h, w) embeddings at the learned steps snapped to step codes, with the
        learned laws the stream's tables come from."""
        k = step_codes(self)
        sym = quantize_group(emb.float().cpu(), self, k).transpose(1, 0, 2, 3).copy()  # (C, T, h, w)
        qt = QTensor(sym, step_from_code(k), np.full(len(k), offset(self.bits), np.int32), self.bits, True, sym.shape)
        values = dequantize(qt).transpose(0, 1).contiguous()
        a_delta = float(self.log_a_delta.detach().exp()) if self.predicts else 0.0
        return QuantEmbeddings(qt, values, ll_range, k, float(self.log_a.detach().exp()), a_delta)

    def compress(self, emb: torch.Tensor, ll_range: LLRange | None, chunk_frames: int
                 ) -> tuple[QuantEmbeddings, CodedEmbeddings, dict]:
        """Refit the laws to the rounded symbols, quantise and code the clip in chunks (with
        temporal prediction where it codes smaller): (values, coded section, rate figures)."""
        self.fit_laws(emb)
        qe = self.quantize(emb, ll_range)
        coded, stats = code_embeddings(qe, chunk_frames, allow_delta=True)
        return qe, coded, stats

