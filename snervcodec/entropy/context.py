"""Context coding of embedding symbols (format 1.6, after NVRC's context models for latent grids,
Kwan et al., NeurIPS 2024, with integer tables): every symbol's law is that of its class, the class
of its channel plus the class of its context, and the context is read from what the decoder already
holds: a chunk's first frame is context 0; a later frame's symbol at a position takes context
``min(n - 1, 1 + bit_length(|p|))``, ``p`` the previous frame's signed symbol at that position.
A frame is coded class by class, so a chunk still decodes from its own words, vectorised."""

from __future__ import annotations

import numpy as np
from ..bitstream.axislaw import AxisLaw
from ..bitstream.payload import CodedEmbeddings
from ..compress.stepcodes import offset
from .axis import class_histograms, decode_classed, encode_classed, fit_classes, law_bits_np
from .coder import ChunkDecoder, ChunkEncoder
from .laws import model_bits

CONTEXTS = 6  # first frame; |p| = 0, 1, 2-3, 4-7, 8 or more


def contexts(prev, n: int):
    """Context of a later frame's symbols from the previous frame's signed symbols ``prev`` (numpy
    or torch, elementwise): ``min(n - 1, 1 + bit_length(|prev|))``."""
    mag = abs(prev)
    out = mag * 0 + 1
    for j in range(n - 2):
        out = out + (mag >= (1 << j))
    return out.clip(max=n - 1) if isinstance(out, np.ndarray) else out.clamp(max=n - 1)


def frame_classes(prev: np.ndarray | None, channel: np.ndarray, context: np.ndarray, positions: int) -> np.ndarray:
    """Classes of a frame's (C, positions) symbols: the channel's class plus its context's (a chunk's
    first frame, ``prev`` None: context 0)."""
    ctx = np.zeros((len(channel), positions), np.int64) if prev is None else \
        contexts(prev.reshape(len(channel), positions).astype(np.int64), len(context))
    return (channel.reshape(-1, 1) + context[ctx]).astype(np.int64)


def coded_residuals(sym: np.ndarray, bits: int, chunk_frames: int, delta: bool, channel: np.ndarray,
                    context: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(the symbols as coded: a chunk's later frames their difference from the previous frame when
    ``delta``; every symbol's class) of a clip's (T, C, positions) offset symbols."""
    off, mask = offset(bits), (1 << bits) - 1
    coded, classes = sym.astype(np.int64).copy(), np.empty(sym.shape, np.int64)
    for t in range(len(sym)):
        head = t % chunk_frames == 0
        classes[t] = frame_classes(None if head else sym[t - 1].astype(np.int64) - off, channel, context, sym.shape[2])
        if delta and not head:
            coded[t] = (sym[t].astype(np.int64) - sym[t - 1] + off) & mask
    return coded, classes


def fit_law(coded: np.ndarray, classes: np.ndarray, bits: int, n_classes: tuple[int, int]
            ) -> tuple[AxisLaw, np.ndarray]:
    """(the law, each class's float decay): every class's geometric law fitted to its coded symbols
    by maximum likelihood, so that its estimate is the coded rate."""
    hist, lo = class_histograms(coded, classes, n_classes[0] + n_classes[1] - 1)
    return fit_classes(hist, lo, bits, n_classes)


def code_chunks(coded: np.ndarray, classes: np.ndarray, law: AxisLaw, bits: int, chunk_frames: int,
                ll_sym: np.ndarray | None, ll_model) -> list[np.ndarray]:
    """Each chunk's words: per frame its LL range, then its coded symbols class by class."""
    chunks = []
    for start in range(0, len(coded), chunk_frames):
        enc = ChunkEncoder()
        for t in range(start, min(start + chunk_frames, len(coded))):
            if ll_sym is not None:
                enc.encode(ll_sym[t], ll_model)
            encode_classed(enc, coded[t], classes[t], law, bits)
        chunks.append(enc.words())
    return chunks


def estimate_bits(coded: np.ndarray, classes: np.ndarray, a: np.ndarray, bits: int) -> float:
    """The fitted laws' bits of the coded symbols (the estimate the coded words match)."""
    return law_bits_np(coded - offset(bits), a[classes])


def decode_chunk(dec: ChunkDecoder, e: CodedEmbeddings, n: int, per_frame: int, channels: int
                 ) -> tuple[list[np.ndarray], list[np.ndarray | None]]:
    """Embedding and LL-range symbols of the ``n`` frames of a context-coded chunk."""
    off, mask = 1 << (e.bits - 1), (1 << e.bits) - 1
    channel = e.channel_classes if e.channel_classes is not None else np.zeros(channels, np.int64)
    embs, lls = [], []
    for i in range(n):
        lls.append(dec.decode(2, e.ll_model) if e.ll_bits else None)
        prev = None if i == 0 else embs[-1].astype(np.int64) - off
        cls = frame_classes(prev, channel, e.context_classes, per_frame // channels)
        s = decode_classed(dec, cls, e.law, e.bits).ravel()
        embs.append((embs[-1] + s - off) & mask if e.delta and i > 0 else s)
    return embs, lls


def context_model_bits(sym: np.ndarray, e: CodedEmbeddings, chunk_frames: int) -> float:
    """Code length of a clip's decoded (T, C, n) symbols under a context-coded section's tables."""
    channel = e.channel_classes if e.channel_classes is not None else np.zeros(sym.shape[1], np.int64)
    coded, classes = coded_residuals(sym, e.bits, chunk_frames, e.delta, channel, e.context_classes)
    return sum(model_bits(coded[classes == m], e.law.model(int(m), e.bits)) for m in np.unique(classes))
