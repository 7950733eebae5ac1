"""Per-frame embeddings <-> coded chunks (the EMBD / TEMB sections' symbols): one integer entropy
model for the clip (fitted, the paper pipeline's 6-bit affine quantisation, Sec. 4.2; or the learned
law of :class:`~.embedding_model.EmbeddingEntropyModel`), and chunks of ``chunk_frames`` frames that
decode independently (random access). SNeRV's per-frame LL ranges travel in the same chunks, ahead
of their frame's embedding; format 1.4 codes a chunk's later frames as differences."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from ..bitstream.header import StreamHeader
from ..bitstream.payload import STEP_CODE_PARAM_BYTES, QUANT_PARAM_BYTES, CodedEmbeddings, EmbeddingIndex
from ..bitstream.stream import ParsedStream
from ..compress.quant import LLRange, QTensor, dequantize, empirical_bits, ll_range_grid, quantize_best
from ..compress.stepcodes import offset
from ..errors import FormatError
from .coder import ChunkDecoder, ChunkEncoder, SymbolModel, fit_model
from .context import context_model_bits, decode_chunk
from .laws import geometric_bits_np, laplace_table, model_bits


@dataclass
class QuantEmbeddings:
    qt: QTensor  # symbols (C, T, h, w): per-channel quantisation runs along the embedding channels
    values: torch.Tensor  # dequantised (T, C, h, w)
    ll_range: LLRange | None  # SNeRV's transmitted per-frame LL ranges (None: HNeRV, temporal embeddings)
    step_codes: np.ndarray | None = None  # format 1.2: per-channel step codes (the grid quantiser)
    rate_a: float = 0.0  # format 1.2: the learned geometric decay -ln r of the symbols
    rate_a_delta: float = 0.0  # format 1.4: the learned decay of a predicted frame's differences (0: none)


def quantize_embeddings(emb: torch.Tensor, bits: int, ll_range: LLRange | None) -> QuantEmbeddings:
    qt = quantize_best(emb.transpose(0, 1).contiguous(), bits)
    values = dequantize(qt).transpose(0, 1).contiguous()
    return QuantEmbeddings(qt, values, ll_range)


def delta_symbols(sym: np.ndarray, bits: int, chunk_frames: int) -> np.ndarray:
    """Format 1.4's temporal prediction: every frame but a chunk's first becomes its difference from
    the previous frame, ``(q_t - q_{t-1} + 2^(bits-1)) mod 2^bits`` (the alphabet stays ``bits``-bit,
    zero change is the middle symbol); ``sym`` is (T, ...) frame-major."""
    off, mask = 1 << (bits - 1), (1 << bits) - 1
    out = sym.astype(np.int64, copy=True)
    for start in range(0, len(sym), chunk_frames):
        end = min(start + chunk_frames, len(sym))
        out[start + 1:end] = (sym[start + 1:end].astype(np.int64) - sym[start:end - 1] + off) & mask
    return out.astype(np.int32)


def _code_chunks(sym: np.ndarray, model: SymbolModel, chunk_frames: int, ll_sym, ll_model,
                 delta_model: SymbolModel | None = None) -> list[np.ndarray]:
    """Each chunk's words: per frame its LL range, then its symbols (a chunk's later frames under
    ``delta_model`` when given: ``sym`` then holds their differences)."""
    chunks = []
    for start in range(0, sym.shape[0], chunk_frames):
        enc = ChunkEncoder()
        for i in range(start, min(start + chunk_frames, sym.shape[0])):
            if ll_sym is not None:
                enc.encode(ll_sym[i], ll_model)
            enc.encode(sym[i], delta_model if delta_model is not None and i > start else model)
        chunks.append(enc.words())
    return chunks


def code_embeddings(qe: QuantEmbeddings, chunk_frames: int, allow_delta: bool = False) -> tuple[CodedEmbeddings, dict]:
    """Code the embeddings in chunks. ``allow_delta`` (the rdo pipeline, format 1.4): also try
    predicting each frame from the previous one inside its chunk (an INR's embeddings of
    neighbouring frames are close) and keep whichever codes smaller, side information included."""
    sym = qe.qt.symbols.transpose(1, 0, 2, 3)  # (T, C, h, w)
    if qe.step_codes is not None:  # 1.2: the table comes from the learned rate model
        model = laplace_table(sym, qe.qt.bits, qe.rate_a)
    else:
        model = fit_model(sym)
    ll = qe.ll_range
    ll_sym = ll.symbols if ll is not None else None
    ll_model = fit_model(ll_sym) if ll_sym is not None else None
    chunks = _code_chunks(sym, model, chunk_frames, ll_sym, ll_model)
    delta_model = None
    plain_bits = int(32 * sum(len(c) for c in chunks))
    best = plain_bits
    if allow_delta and sym.shape[0] > 1 and chunk_frames > 1:
        d = delta_symbols(sym, qe.qt.bits, chunk_frames)
        later = np.concatenate([d[s + 1:s + chunk_frames] for s in range(0, len(d), chunk_frames)])
        # the law training learned (its estimate is then the coded rate), or one fitted to the differences
        candidates = [] if not later.size else [fit_model(later)] if qe.rate_a_delta <= 0 else \
            [laplace_table(later, qe.qt.bits, qe.rate_a_delta), fit_model(later)]
        for dm in candidates:
            d_chunks = _code_chunks(d, model, chunk_frames, ll_sym, ll_model, dm)
            size = 32 * sum(len(c) for c in d_chunks) + dm.side_bits()
            if size < best:
                chunks, delta_model, best = d_chunks, dm, size
    coded = CodedEmbeddings(bits=qe.qt.bits, per_channel=qe.qt.per_channel, scale=qe.qt.scale, zero=qe.qt.zero,
                            model=model, ll_bits=ll.bits if ll is not None else 0,
                            ll_lo=float(ll.lo) if ll is not None else 0.0,
                            ll_hi=float(ll.hi) if ll is not None else 0.0,
                            ll_model=ll_model, chunks=chunks, step_codes=qe.step_codes, delta_model=delta_model)
    emp = empirical_bits(sym) + (empirical_bits(ll_sym) if ll_sym is not None else 0.0)
    stats = {"symbols": int(sym.size + (ll_sym.size if ll_sym is not None else 0)),
             "coded_bits": int(32 * sum(len(c) for c in chunks)), "entropy_bits": emp,
             "side_bits": int(model.side_bits() + (ll_model.side_bits() if ll_model else 0)
                              + (delta_model.side_bits() if delta_model is not None else 0)
                              + 8 * (QUANT_PARAM_BYTES if qe.step_codes is None else STEP_CODE_PARAM_BYTES)
                              * len(qe.qt.scale)),
             "prediction": "none" if delta_model is None else
             "previous frame (learned law)" if delta_model.kind == "laplace" else "previous frame (fitted law)"}
    if delta_model is not None:
        stats["unpredicted_coded_bits"] = plain_bits  # what coding without prediction took
    if qe.step_codes is not None:  # the learned laws' bits (training's estimate) of the symbols as coded
        signed = sym.astype(np.int64) - offset(qe.qt.bits)
        if delta_model is not None and qe.rate_a_delta > 0:
            head = np.arange(len(sym)) % chunk_frames == 0
            d = delta_symbols(sym, qe.qt.bits, chunk_frames).astype(np.int64) - offset(qe.qt.bits)
            est = geometric_bits_np(signed[head], qe.rate_a) + geometric_bits_np(d[~head], qe.rate_a_delta)
        else:
            est = geometric_bits_np(signed, qe.rate_a)
        stats["estimated_bits"] = est + (
            ll_model.ideal_bits(np.bincount((ll_sym - ll_model.lo).ravel(), minlength=ll_model.alphabet))
            if ll_sym is not None and ll_model.kind != "constant" else 0.0)
    return coded, stats


def _chunk_symbols(h: StreamHeader, idx: EmbeddingIndex, chunks: range, per_frame: int, tag: str,
                   memo: dict | None = None, channels: int = 1) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Embedding symbols and LL-range symbols of every frame of ``chunks``, in order (``per_frame``
    symbols over ``channels`` channels). ``memo`` keeps the last two decoded chunks, so batches that
    straddle a chunk decode it once."""
    embs, lls = [], []
    cache: dict = {}
    for ci in chunks:
        if memo is not None and ci in memo:
            ce, cl = memo[ci]
        else:
            ce, cl = _one_chunk(h, idx, ci, per_frame, tag, cache, channels)
            if memo is not None:
                memo[ci] = (ce, cl)
                while len(memo) > 2:
                    del memo[next(iter(memo))]
        embs += ce
        lls += cl
    return embs, lls


def _one_chunk(h: StreamHeader, idx: EmbeddingIndex, ci: int, per_frame: int, tag: str, cache: dict,
               channels: int = 1):
    e, cf = idx.coded, h.chunk_frames
    n_in = min(cf, h.n_frames - ci * cf)
    embs, lls = [], []
    off, mask = 1 << (e.bits - 1), (1 << e.bits) - 1
    try:
        dec = ChunkDecoder(idx.chunk_words(ci), cache)
        if e.law is not None:  # 1.6: context-coded
            embs, lls = decode_chunk(dec, e, n_in, per_frame, channels)
        else:
            for i in range(n_in):
                lls.append(dec.decode(2, e.ll_model) if e.ll_bits else None)
                if e.delta_model is not None and i > 0:  # 1.4: the difference from the previous frame
                    embs.append((embs[-1] + dec.decode(per_frame, e.delta_model) - off) & mask)
                else:
                    embs.append(dec.decode(per_frame, e.model))
    except Exception as ex:  # constriction raises on words that cannot be a valid stream
        raise FormatError(f"{tag} section: chunk {ci} does not decode ({ex})") from None
    if not dec.consumed_exactly():
        raise FormatError(f"{tag} section: chunk {ci}: the coded words are not those of its symbols")
    return embs, lls


def embedding_rate(h: StreamHeader, idx: EmbeddingIndex, channels: int, hw: tuple[int, int]) -> dict:
    """Bits the section's own models predict for its symbols against the bits written."""
    embs, lls = _chunk_symbols(h, idx, range(h.n_chunks), channels * hw[0] * hw[1], "embedding", None, channels)
    e = idx.coded
    sym = np.stack(embs)
    if e.law is not None:
        predicted = context_model_bits(sym.reshape(len(sym), channels, -1), e, h.chunk_frames)
    elif e.delta_model is not None:  # the symbols as coded: chunk heads plain, the rest differences
        d = delta_symbols(sym, e.bits, h.chunk_frames)
        head = np.zeros(len(sym), dtype=bool)
        head[::h.chunk_frames] = True
        predicted = model_bits(d[head], e.model) + model_bits(d[~head], e.delta_model)
    else:
        predicted = model_bits(sym, e.model)
    if e.ll_bits:
        predicted += model_bits(np.concatenate(lls), e.ll_model)
    return {"model_bits": round(predicted, 1), "coded_bits": int(32 * idx.lengths.sum())}


def _decode_chunked(h: StreamHeader, idx: EmbeddingIndex, start: int, end: int, channels: int,
                    hw: tuple[int, int], tag: str, memo: dict | None = None
                    ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Values (T, channels, *hw) and LL ranges of frames [start, end) of an EMBD / TEMB section,
    decoding only the chunks that hold them."""
    e = idx.coded
    cf = h.chunk_frames
    embs, lls = _chunk_symbols(h, idx, range(start // cf, (end - 1) // cf + 1), channels * hw[0] * hw[1], tag, memo,
                               channels)
    first = start - (start // cf) * cf
    sym = np.stack(embs[first:first + end - start]).reshape(end - start, channels, *hw)
    qt = QTensor(sym.transpose(1, 0, 2, 3).copy(), e.scale, e.zero, e.bits, e.per_channel,
                 (channels, end - start, *hw))
    emb = dequantize(qt).transpose(0, 1).contiguous()
    ll_range = None
    if e.ll_bits:
        q = np.stack(lls[first:first + end - start])  # (N, 2)
        ll_range = torch.from_numpy(ll_range_grid(e.ll_lo, e.ll_hi, q, e.ll_bits))
        if torch.any(ll_range[:, 1] <= ll_range[:, 0]):
            raise FormatError(f"{tag} section: empty LL range for a frame")
    return emb, ll_range


def decode_embeddings(ps: ParsedStream, start: int, end: int, memo: dict | None = None
                      ) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Embeddings and (N, 2) LL ranges of frames [start, end), decoding only the chunks that hold them
    (``memo``: a dict kept across calls, so consecutive ranges decode each chunk once)."""
    return _decode_chunked(ps.header, ps.embeddings, start, end, ps.cfg.emb_channels, ps.cfg.emb_hw, "EMBD", memo)


def decode_temporal(ps: ParsedStream, start: int, end: int, memo: dict | None = None) -> torch.Tensor | None:
    """SNeRV(T)'s temporal embeddings (backward, forward) of frames [start, end); None for other models."""
    if ps.temporal is None:
        return None
    return _decode_chunked(ps.header, ps.temporal, start, end, 2 * ps.cfg.t_channels, ps.cfg.temb_hw, "TEMB",
                           memo)[0]
