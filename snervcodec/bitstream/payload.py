"""Section payloads: entropy-coded decoder weights (DECW) and per-frame embeddings (EMBD).

Every count that drives an allocation is checked against the bytes that remain before anything is
allocated (bitstream/SPEC.md, "Limits").
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..compress.stepcodes import K_MAX, offset, step_from_code
from ..entropy.coder import MAX_ALPHABET, SymbolModel
from ..errors import FormatError
from .axislaw import MAX_CLASSES, AxisLaw, read_axis_law, write_axis_law
from .bytesio import Reader, Writer
from .container import CONTEXT_MINOR

_KIND_IDS = {"constant": 0, "counts": 1, "laplace": 2}
_KIND_NAMES = {v: k for k, v in _KIND_IDS.items()}
MAX_CHUNK_SYMBOLS = 1 << 22
QUANT_PARAM_BYTES = 6  # per quantised channel (or tensor): f32 scale + u16 zero point
STEP_CODE_PARAM_BYTES = 2  # format 1.2: per channel (or tensor), a u16 step code
FLAG_PER_CHANNEL, FLAG_STEP_CODES, FLAG_DELTA = 1, 2, 4  # FLAG_DELTA (1.4): embeddings predicted frame to frame
FLAG_CONTEXT = 8  # 1.6: embeddings coded under an axis law (channel class + context class)
DELTA_MINOR = 4


# ------------------------------------------------------------------------------------------------
# Symbol models

def write_model(w: Writer, m: SymbolModel) -> None:
    w.u8(_KIND_IDS[m.kind])
    w.u16(m.lo)
    w.u16(m.hi)
    if m.kind == "counts":
        w.u8(m.table_bits)
        for v in m.table:
            w.varint(v)
    elif m.kind == "laplace":
        w.u16(m.centre)
        w.u16(m.decay)


def read_model(r: Reader, bits: int) -> SymbolModel:
    kind_id = r.u8()
    if kind_id not in _KIND_NAMES:
        raise FormatError(f"{r.what}: unknown entropy model {kind_id}")
    kind = _KIND_NAMES[kind_id]
    lo, hi = r.u16(), r.u16()
    if not lo <= hi < (1 << bits) or hi - lo + 1 > MAX_ALPHABET:
        raise FormatError(f"{r.what}: symbol range {lo}..{hi} invalid for {bits}-bit symbols")
    if kind == "constant":
        if lo != hi:
            raise FormatError(f"{r.what}: constant model with a range")
        return SymbolModel("constant", lo, hi)
    if kind == "counts":
        tb = r.u8()
        k = hi - lo + 1
        if not 8 <= tb <= 16 or k >= (1 << tb):
            raise FormatError(f"{r.what}: table precision {tb} invalid for {k} symbols")
        if k > r.remaining:
            raise FormatError(f"truncated {r.what}: frequency table of {k} entries")
        table = tuple(r.varint(1 << tb) for _ in range(k))
        if min(table) < 1 or sum(table) != (1 << tb):
            raise FormatError(f"{r.what}: frequency table does not sum to 2^{tb}")
        return SymbolModel("counts", lo, hi, table_bits=tb, table=table)
    centre, decay = r.u16(), r.u16()
    if not lo <= centre <= hi or not 1 <= decay <= 65535:
        raise FormatError(f"{r.what}: bad Laplace parameters")
    return SymbolModel("laplace", lo, hi, centre=centre, decay=decay)


def write_words(w: Writer, words: np.ndarray) -> None:
    w.u32(len(words))
    w.array(words, "u4")


def read_words(r: Reader) -> np.ndarray:
    n = r.u32()
    if n * 4 > r.remaining:
        raise FormatError(f"truncated {r.what}: {n} coded words declared, {r.remaining} bytes left")
    return r.array(n, "u4")


def _write_quant(w: Writer, bits: int, per_channel: bool, scale: np.ndarray, zero: np.ndarray,
                 step_codes: np.ndarray | None = None, delta: bool = False, context: bool = False) -> None:
    """1.0: f32 scale + u16 zero per channel; 1.2 (``step_codes``): a u16 step code per channel,
    the zero point implied by the signed alphabet; 1.4 (``delta``, embeddings only): flag bit 2;
    1.6 (``context``, embeddings only): flag bit 3."""
    w.u8(bits)
    w.u8((FLAG_PER_CHANNEL if per_channel else 0) | (FLAG_STEP_CODES if step_codes is not None else 0)
         | (FLAG_DELTA if delta else 0) | (FLAG_CONTEXT if context else 0))
    if step_codes is not None:
        w.array(np.asarray(step_codes), "u2")
        return
    w.array(scale, "f4")
    w.array(zero, "u2")


def read_tensor_count(r: Reader, shapes: list[tuple[int, ...]], tag: str) -> None:
    """A weight section's tensor count, which must be the architecture's."""
    n = r.u16()
    if n != len(shapes):
        raise FormatError(f"{tag} section holds {n} tensors, the architecture has {len(shapes)}")


def read_bits(r: Reader) -> int:
    """A quantiser's bit depth, 2..16."""
    bits = r.u8()
    if not 2 <= bits <= 16:
        raise FormatError(f"{r.what}: {bits}-bit quantisation is outside 2..16")
    return bits


def _read_quant(r: Reader, n_channels: int, stepcoded_stream: bool = False, minor: int = 0
                ) -> tuple[int, bool, np.ndarray, np.ndarray, np.ndarray | None, int]:
    """(bits, per-channel, scales, zero points, step codes or None, the flags). A stream with
    step-coded weights (DECG, format 1.2) uses the step-code grid for its embeddings too; others
    never. Delta (1.4) is allowed for embeddings of streams of minor >= 4, context (1.6) of minor >= 6
    with step codes."""
    bits = read_bits(r)
    flags = r.u8()
    allowed = FLAG_PER_CHANNEL | FLAG_STEP_CODES | (FLAG_DELTA if minor >= DELTA_MINOR else 0) \
        | (FLAG_CONTEXT if minor >= CONTEXT_MINOR and stepcoded_stream else 0)
    if flags & ~allowed:
        raise FormatError(f"{r.what}: reserved quantisation flags set")
    stepcoded = bool(flags & FLAG_STEP_CODES)
    if stepcoded != stepcoded_stream:
        where = "in a stream without" if stepcoded else "missing from a stream with"
        raise FormatError(f"{r.what}: step-code quantiser {where} step-coded weights (DECG)")
    per_channel = bool(flags & FLAG_PER_CHANNEL)
    n = n_channels if per_channel else 1
    if n * (STEP_CODE_PARAM_BYTES if stepcoded else QUANT_PARAM_BYTES) > r.remaining:
        raise FormatError(f"truncated {r.what}: quantisation parameters")
    if stepcoded:
        codes = r.array(n, "u2").astype(np.int64)
        if np.any(codes > K_MAX):
            raise FormatError(f"{r.what}: step code outside 0..{K_MAX}")
        return bits, per_channel, step_from_code(codes), np.full(n, offset(bits), np.int32), codes, flags
    scale = r.array(n, "f4")
    zero = r.array(n, "u2").astype(np.int32)
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise FormatError(f"{r.what}: quantisation scale must be finite and positive")
    if np.any(zero >= (1 << bits)):
        raise FormatError(f"{r.what}: zero point outside the {bits}-bit range")
    return bits, per_channel, scale.astype(np.float32), zero, None, flags


# ------------------------------------------------------------------------------------------------
# Decoder weights

@dataclass
class CodedTensor:
    bits: int
    per_channel: bool
    scale: np.ndarray  # float32
    zero: np.ndarray  # int32
    model: SymbolModel
    words: np.ndarray  # uint32


def write_weights(tensors: list[CodedTensor]) -> bytes:
    w = Writer()
    w.u16(len(tensors))
    for t in tensors:
        _write_quant(w, t.bits, t.per_channel, t.scale, t.zero)
        write_model(w, t.model)
        write_words(w, t.words)
    return w.getvalue()


def read_weights(payload: bytes, shapes: list[tuple[int, ...]]) -> list[CodedTensor]:
    r = Reader(payload, "DECW section")
    read_tensor_count(r, shapes, "DECW")
    out = []
    for shape in shapes:
        bits, pc, scale, zero, _, _ = _read_quant(r, shape[0] if len(shape) > 1 else 1)
        model = read_model(r, bits)
        out.append(CodedTensor(bits, pc, scale, zero, model, read_words(r)))
    r.expect_end()
    return out


# ------------------------------------------------------------------------------------------------
# Embeddings

@dataclass
class CodedEmbeddings:
    bits: int
    per_channel: bool
    scale: np.ndarray
    zero: np.ndarray
    model: SymbolModel | None  # None with context coding (1.6)
    ll_bits: int  # 0 when the model has no LL range (HNeRV)
    ll_lo: float
    ll_hi: float
    ll_model: SymbolModel | None
    chunks: list[np.ndarray]  # coded words of each chunk of frames
    step_codes: np.ndarray | None = None  # format 1.2: the step-code grid (scale, zero derived)
    delta_model: SymbolModel | None = None  # format 1.4: frames after a chunk's first code their
    # difference from the previous frame (mod 2^bits, offset 2^(bits-1)) under this model
    law: AxisLaw | None = None  # format 1.6: the symbols' law per channel class + context class
    # (``model`` and ``delta_model`` are then not in the stream)
    channel_classes: np.ndarray | None = None  # 1.6, law.rows > 1: each channel's class
    context_classes: np.ndarray | None = None  # 1.6: each context's (column's) class
    delta: bool = False  # 1.6: a chunk's later frames code differences (as 1.4) under the law

    def symbol_models(self) -> list[SymbolModel]:
        """Every table the section's chunks are coded with."""
        main = self.law.models(self.bits) if self.law is not None else [self.model, self.delta_model]
        return [m for m in (*main, self.ll_model) if m is not None]


def write_embeddings(e: CodedEmbeddings) -> bytes:
    w = Writer()
    context = e.law is not None
    _write_quant(w, e.bits, e.per_channel, e.scale, e.zero, e.step_codes,
                 e.delta if context else e.delta_model is not None, context)
    if context:
        write_axis_law(w, e.law)
        w.u8(len(e.context_classes))
        w.array(np.asarray(e.context_classes), "u1")
        if e.law.rows > 1:
            w.array(np.asarray(e.channel_classes), "u1")
    else:
        write_model(w, e.model)
        if e.delta_model is not None:
            write_model(w, e.delta_model)

    w.u8(e.ll_bits)
    if e.ll_bits:
        w.f32(e.ll_lo)
        w.f32(e.ll_hi)
        write_model(w, e.ll_model)
    for c in e.chunks:  # index: words per chunk
        w.varint(len(c))
    for c in e.chunks:
        w.array(c, "u4")
    return w.getvalue()


@dataclass
class EmbeddingIndex:
    """A parsed EMBD section: models, and where each chunk's words lie (nothing decoded yet)."""

    coded: CodedEmbeddings
    payload: bytes
    offsets: np.ndarray  # byte offset of each chunk in payload
    lengths: np.ndarray  # words per chunk

    def chunk_words(self, i: int) -> np.ndarray:
        start = int(self.offsets[i])
        return np.frombuffer(self.payload, dtype="<u4", count=int(self.lengths[i]), offset=start).astype(np.uint32)


def read_embeddings(payload: bytes, emb_channels: int, n_chunks: int, with_ll_range: bool,
                    tag: str = "EMBD", stepcoded: bool = False, minor: int = 0) -> EmbeddingIndex:
    """EMBD, or TEMB (format 1.1: SNeRV(T)'s temporal embeddings, the same layout without LL ranges)."""
    r = Reader(payload, f"{tag} section")
    bits, pc, scale, zero, codes, flags = _read_quant(r, emb_channels, stepcoded, minor)
    delta, law, classes, contexts = bool(flags & FLAG_DELTA), None, None, None
    if flags & FLAG_CONTEXT:
        law, contexts, classes = _read_context(r, emb_channels)
        model, delta_model = None, None
    else:
        model = read_model(r, bits)
        delta_model = read_model(r, bits) if delta else None
    ll_bits = r.u8()
    ll_lo = ll_hi = 0.0
    ll_model = None
    if with_ll_range != bool(ll_bits):
        raise FormatError(f"{tag} section: LL range presence does not match the model")
    if ll_bits:
        if not 2 <= ll_bits <= 16:
            raise FormatError(f"{tag} section: {ll_bits}-bit LL ranges outside 2..16")
        ll_lo, ll_hi = r.finite_f32("LL range low"), r.finite_f32("LL range high")
        if not ll_hi > ll_lo:
            raise FormatError(f"{tag} section: empty LL range")
        ll_model = read_model(r, ll_bits)
    if n_chunks > r.remaining:  # each index entry takes at least one byte
        raise FormatError(f"truncated {tag} section: index of {n_chunks} chunks, {r.remaining} bytes left")
    lengths = np.array([r.varint(1 << 30) for _ in range(n_chunks)], dtype=np.int64)
    total = int(lengths.sum()) * 4
    if total != r.remaining:
        raise FormatError(f"{tag} section: index promises {total} bytes of chunks, {r.remaining} present")
    offsets = r.pos + np.concatenate([[0], np.cumsum(lengths)[:-1] * 4]).astype(np.int64)
    coded = CodedEmbeddings(bits, pc, scale, zero, model, ll_bits, ll_lo, ll_hi, ll_model, [], codes, delta_model,
                            law, classes, contexts, delta and law is not None)
    return EmbeddingIndex(coded, bytes(payload), offsets, lengths)


def _read_context(r: Reader, channels: int) -> tuple[AxisLaw, np.ndarray, np.ndarray | None]:
    """1.6: the axis law, every context's class and (with more than one row class) every channel's."""
    law = read_axis_law(r)
    out = []
    for what, n, limit in (("context", r.u8(), law.cols), ("channel", channels if law.rows > 1 else 0, law.rows)):
        if what == "context" and not 1 <= n <= MAX_CLASSES:
            raise FormatError(f"{r.what}: {n} contexts (1..{MAX_CLASSES})")
        if n > r.remaining:
            raise FormatError(f"truncated {r.what}: {what} classes")
        classes = r.array(n, "u1").astype(np.int64)
        if classes.size and classes.max() >= limit:
            raise FormatError(f"{r.what}: {what} class {classes.max()} of {limit}")
        out.append(classes if n else None)
    return law, out[0], out[1]
