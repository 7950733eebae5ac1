"""A whole stream: the sections a model's stream holds, written in order, and parsed back with
every size checked before anything heavy is decoded (bitstream/SPEC.md, "Sections", "Limits")."""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
import torch

from ..errors import ConfigError, FormatError
from ..models import ModelConfig, build_decoder
from ..models.geometry import LAYERED, WARP, warp_problem
from .canvas import read_offsets, read_warps, write_offsets, write_warps
from .container import CONTEXT_MINOR, is_segmented, read_container, read_framing, write_container
from .header import StreamHeader
from .mapping import config_from_header, model_kind
from .payload import DELTA_MINOR, CodedEmbeddings, CodedTensor, EmbeddingIndex, read_embeddings, read_weights, \
    write_embeddings, write_weights
from .stepcoded import StepCodedWeights, read_stepcoded_weights, write_stepcoded_weights
from .segments import SegmentRef, read_index, segment_stream

STEP_CODES_MINOR = 2  # format 1.2: step-code quantisers; decoder weights in one word stream (section DECG)

# Format limits on what a header may make the decoder allocate (SPEC.md, "Limits").
MAX_DECODER_PARAMS = 1 << 25
MIN_PARAM_BITS = 1.0 / 256  # a real stream spends far more; a lying header claiming more is refused


def build_stream(header: StreamHeader, weights: list[CodedTensor] | StepCodedWeights, embeddings: CodedEmbeddings,
                 temporal: CodedEmbeddings | None = None, offsets: np.ndarray | None = None,
                 warps: np.ndarray | None = None) -> bytes:
    """DECW, EMBD, (SNeRV(T)) TEMB and (a canvas: window ``offsets``, (T, 2)) CNVS or (warped views:
    ``warps``, (T, 4), or (T, 12) with an object layer) CNVW, in the order SPEC.md fixes. Step-coded weights
    (the rate-distortion-optimised pipeline) make a 1.2 stream, whose embeddings use step codes too."""
    if (offsets is not None) != (header.canvas == 1) or (warps is not None) != (header.canvas >= 2) or \
            warps is not None and warps.shape[1] != (LAYERED if header.canvas == 3 else WARP):
        raise ValueError("a canvas stream, and only one, places its frames (CNVS: windows, CNVW: warps)")
    if offsets is not None and (len(offsets) != header.n_frames or offsets.min() < 0
                                or offsets[:, 0].max() > header.pad_h or offsets[:, 1].max() > header.pad_w):
        raise ValueError("CNVS: one window per frame, each inside the network's grid (SPEC.md 4.5)")
    if warps is not None and (len(warps) != header.n_frames or warp_problem(
            warps, (header.height, header.width), (header.height + header.pad_h, header.width + header.pad_w))):
        raise ValueError("CNVW: one warp per frame, each view inside the network's grid (SPEC.md 4.6, 4.7)")
    stepcoded = isinstance(weights, StepCodedWeights)
    if any((e.step_codes is not None) != stepcoded for e in (embeddings, temporal) if e is not None):
        raise ValueError("a stream's weights and embeddings use one quantiser family")
    sections = [(weights.tag, write_stepcoded_weights(weights)) if stepcoded else (b"DECW", write_weights(weights)),
                (b"EMBD", write_embeddings(embeddings))]
    if temporal is not None:
        sections.append((b"TEMB", write_embeddings(temporal)))
    if offsets is not None:
        sections.append((b"CNVS", write_offsets(offsets)))
    if warps is not None:
        sections.append((b"CNVW", write_warps(warps)))
    coded = [e for e in (embeddings, temporal) if e is not None]
    context = (stepcoded and weights.tag == b"DECA") or any(e.law is not None for e in coded)
    delta = any(e.delta_model is not None or (e.law is not None and e.delta) for e in coded)
    minor = CONTEXT_MINOR if context else DELTA_MINOR if delta else STEP_CODES_MINOR if stepcoded else 0
    return write_container(header, sections, model_kind, minor)


def check_encodable(header: StreamHeader, cfg: ModelConfig) -> None:
    """Raise ConfigError (before any training) when a stream of ``header`` and ``cfg`` could not be
    written: a header field or consistency rule of SPEC.md 2, or the decoder-size limit of SPEC.md 6."""
    try:
        header.validate(*model_kind(header.model_id))
    except FormatError as e:
        raise ConfigError(f"this model does not fit the stream format: {str(e).removeprefix('header: ')}") from None
    n = sum(math.prod(s) for s in decoder_shapes(cfg).values())
    if n > MAX_DECODER_PARAMS:
        raise ConfigError(f"a decoder of {n:,} parameters does not fit the stream format (at most "
                          f"{MAX_DECODER_PARAMS:,}): use a smaller --c1, --n-rb or --params")


def header_bytes(header: StreamHeader, min_minor: int = 0) -> int:
    """Bytes of the framed header alone (of format 1.``min_minor`` or the lowest its fields need)."""
    return len(write_container(header, [], model_kind, min_minor))


@dataclass
class ParsedStream:
    header: StreamHeader
    cfg: ModelConfig
    version: tuple[int, int]
    sections: dict[str, int]
    weights: list[CodedTensor] | StepCodedWeights
    shapes: dict[str, tuple[int, ...]]
    embeddings: EmbeddingIndex
    temporal: EmbeddingIndex | None = None  # TEMB section (SNeRV(T))
    offsets: np.ndarray | None = None  # CNVS section (1.7): (T, 2) each frame's window on the canvas
    warps: np.ndarray | None = None  # CNVW section (1.8): (T, 4) each frame's warp (video/warp.py); 1.9: (T, 12)

    @property
    def n_params(self) -> int:
        return sum(math.prod(s) for s in self.shapes.values())


@functools.lru_cache(maxsize=16)
def decoder_shapes(cfg: ModelConfig) -> dict[str, tuple[int, ...]]:
    """Tensor shapes of ``cfg``'s decoder in stream order, built on the meta device (no memory;
    cached: every segment of a stream shares its architecture). Do not modify the result."""
    with torch.device("meta"):
        try:
            dec = build_decoder(cfg)
        except (ValueError, RuntimeError, ConfigError) as e:
            raise FormatError(f"header describes an impossible network ({e})") from None
    return {k: tuple(v.shape) for k, v in dec.state_dict().items()}


def parse_stream(data: bytes) -> ParsedStream:
    """Check framing, header, checksums and every size field of a single-segment stream; decode
    nothing heavy (a segmented stream: :func:`open_stream`, then each segment)."""
    c = read_container(data, model_kind)
    try:
        cfg = config_from_header(c.header)
    except ConfigError as e:
        raise FormatError(f"header describes an impossible network ({e})") from None
    shapes = decoder_shapes(cfg)
    n_params = sum(math.prod(s) for s in shapes.values())
    if n_params > MAX_DECODER_PARAMS:
        raise FormatError(f"header describes a {n_params}-parameter decoder; the format allows {MAX_DECODER_PARAMS}")
    tag = next(t for t in (b"DECG", b"DECA", b"DECW") if t in c.sections)
    stepcoded = tag != b"DECW"
    if n_params * MIN_PARAM_BITS > 8 * len(c.sections[tag]):
        raise FormatError(f"{tag.decode()} section of {len(c.sections[tag])} bytes cannot hold {n_params} parameters")
    weights = read_stepcoded_weights(c.sections[tag], list(shapes.values()), tag) if stepcoded else \
        read_weights(c.sections[tag], list(shapes.values()))
    minor = c.version[1]
    emb = read_embeddings(c.sections[b"EMBD"], cfg.emb_channels, c.header.n_chunks, cfg.uses_dwt, "EMBD", stepcoded,
                          minor)
    temb = None
    if cfg.temporal:
        temb = read_embeddings(c.sections[b"TEMB"], 2 * cfg.t_channels, c.header.n_chunks, False, "TEMB", stepcoded,
                               minor)
    h = c.header
    offsets = read_offsets(c.sections[b"CNVS"], h.n_frames, h.pad_h, h.pad_w) if h.canvas == 1 else None
    warps = read_warps(c.sections[b"CNVW"], h.n_frames, (h.height, h.width), (h.height + h.pad_h, h.width + h.pad_w),
                       layered=h.canvas == 3) if h.canvas >= 2 else None
    return ParsedStream(h, cfg, c.version, c.section_sizes, weights, shapes, emb, temb, offsets, warps)


@dataclass
class StreamIndex:
    """A stream's header and its segments (one for an ordinary stream, format 1.3 may hold several),
    checked and indexed; nothing decoded. Each segment parses as a single-segment stream."""

    header: StreamHeader  # the video's: all frames
    version: tuple[int, int]
    segments: list[SegmentRef]
    data: bytes

    @property
    def segmented(self) -> bool:
        return len(self.segments) > 1

    def segment_bytes(self, k: int) -> bytes:
        if not self.segmented:
            return self.data
        return segment_stream(self.data, self.header, self.segments[k], self.version[1])

    def parse(self, k: int) -> ParsedStream:
        return parse_stream(self.segment_bytes(k))

    def segments_for(self, start: int, end: int) -> list[SegmentRef]:
        """The segments holding frames [start, end)."""
        return [s for s in self.segments if s.first_frame < end and s.end_frame > start]


def open_stream(data: bytes) -> StreamIndex:
    """Check framing, header and, for a segmented stream, the whole segment index (SPEC.md 4.4)."""
    fr = read_framing(data, model_kind)
    if is_segmented(data, fr):
        try:
            config_from_header(fr.header)
        except ConfigError as e:
            raise FormatError(f"header describes an impossible network ({e})") from None
        return StreamIndex(fr.header, fr.version, read_index(data, fr.header, fr.header_end), data)
    ref = SegmentRef(0, 0, fr.header.n_frames, fr.header_end, len(data) - fr.header_end)
    return StreamIndex(fr.header, fr.version, [ref], data)
