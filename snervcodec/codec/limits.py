"""Decoder resource limits: the work a stream declares, checked before anything is allocated.

The format's own limits (SPEC.md 6) keep a lying header from driving an allocation the stream's bytes
cannot back. Within them a small, valid stream can still declare enormous work: a 16384x16384
frame, 2^24 frames, 4 G embedding values held by a constant model. The decoder therefore compares
what a stream declares with limits that suit real video (8K frames, hours of video) and refuses
more with one line that names the option raising the limit. ``info`` reports the same figures and
warns instead of refusing.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

from ..bitstream.header import MAX_EMB_NUMEL
from ..bitstream.stepcoded import StepCodedWeights
from ..bitstream.segments import SegmentRef
from ..bitstream.stream import ParsedStream, StreamIndex
from ..errors import LimitError


@dataclass(frozen=True)
class DecodeLimits:
    """What a decode may cost. The defaults admit real video: 8K UHD frames (33 Mpx) with any
    padding the format allows up to 64 Mpx, over four hours at 60 fps, up to 4 T pixels."""

    max_pixels: int = 1 << 26  # padded pixels per frame: what one synthesised frame allocates
    max_frames: int = 1 << 20  # frames decoded
    max_total_pixels: int = 1 << 42  # padded pixels over all decoded frames: the synthesis work
    max_embedding_values: int = 1 << 30  # embedding values range-decoded (EMBD and TEMB)
    max_table_entries: int = 1 << 22  # entries of all probability tables built (time to build them)

    @classmethod
    def none(cls) -> "DecodeLimits":
        """No limits beyond the format's (``--no-limits``: a stream you trust)."""
        return cls(**{f.name: math.inf for f in fields(cls)})

    @classmethod
    def from_options(cls, max_pixels: int | None = None, max_frames: int | None = None,
                     trust: bool = False) -> "DecodeLimits":
        """The command line's limits: raising the frame size or count raises the work limits that
        follow from them (pixels in all; embedding values, at the format's 2 x 2^16 per frame)."""
        if trust:
            return cls.none()
        d = cls()
        px = d.max_pixels if max_pixels is None else max_pixels
        n = d.max_frames if max_frames is None else max_frames
        if max_pixels is None and max_frames is None:
            return d
        return cls(max_pixels=px, max_frames=n, max_total_pixels=max(d.max_total_pixels, px * n),
                   max_embedding_values=max(d.max_embedding_values, n * 2 * MAX_EMB_NUMEL) if max_frames else
                   d.max_embedding_values, max_table_entries=d.max_table_entries)


# the option that raises each limit (in the refusal's message)
_OPTION = {"max_pixels": "--max-pixels", "max_frames": "--max-frames"}


@dataclass(frozen=True)
class DeclaredWork:
    """What decoding ``frames`` frames of a stream costs, from its header and models alone."""

    frame_pixels: int  # padded
    frames: int
    total_pixels: int
    embedding_values: int
    table_entries: int

    def as_dict(self) -> dict:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def declared_work(ps: ParsedStream, frames: int | None = None) -> DeclaredWork:
    """The work of decoding ``frames`` frames (default: all) of a parsed stream."""
    h, cfg = ps.header, ps.cfg
    n = h.n_frames if frames is None else frames
    px = (h.height + h.pad_h) * (h.width + h.pad_w)
    per_frame = cfg.emb_channels * cfg.emb_hw[0] * cfg.emb_hw[1]
    if ps.temporal is not None:
        per_frame += 2 * cfg.t_channels * cfg.temb_hw[0] * cfg.temb_hw[1]
    models = []
    if isinstance(ps.weights, StepCodedWeights):
        models += [m for t in ps.weights.tensors for m in t.symbol_models()]
    else:
        models += [t.model for t in ps.weights]
    for idx in (ps.embeddings, ps.temporal):
        if idx is not None:
            models += idx.coded.symbol_models()
    tables = sum(m.alphabet for m in set(models) if m.kind != "constant")  # identical models share a table
    return DeclaredWork(px, n, px * n, per_frame * n, tables)


def declared_work_of(index: StreamIndex, segments: list[SegmentRef], start: int, end: int) -> DeclaredWork:
    """The work of decoding frames [start, end) held by ``segments`` of a (possibly segmented)
    stream: every segment's own tables count (each builds its own)."""
    works = [declared_work(index.parse(s.index), min(end, s.end_frame) - max(start, s.first_frame)) for s in segments]
    w0 = works[0]
    return DeclaredWork(w0.frame_pixels, sum(w.frames for w in works), sum(w.total_pixels for w in works),
                        sum(w.embedding_values for w in works), sum(w.table_entries for w in works))


def exceeded(work: DeclaredWork, limits: DecodeLimits) -> list[str]:
    """One message per limit ``work`` exceeds (empty: within limits)."""
    checks = (("max_pixels", work.frame_pixels, f"frames of {work.frame_pixels:,} pixels (padded)"),
              ("max_frames", work.frames, f"{work.frames:,} frames"),
              ("max_total_pixels", work.total_pixels, f"{work.total_pixels:,} pixels in all"),
              ("max_embedding_values", work.embedding_values, f"{work.embedding_values:,} embedding values"),
              ("max_table_entries", work.table_entries, f"probability tables of {work.table_entries:,} entries"))
    out = []
    for name, value, what in checks:
        limit = getattr(limits, name)
        if value > limit:
            how = f"{_OPTION[name]} raises it, " if name in _OPTION else ""
            out.append(f"the stream declares {what}, over the decoder's limit of {limit:,} "
                       f"({how}--no-limits trusts the stream)")
    return out


def check(work: DeclaredWork, limits: DecodeLimits) -> None:
    """Raise :class:`LimitError` (one line) when ``work`` exceeds ``limits``."""
    msgs = exceeded(work, limits)
    if msgs:
        raise LimitError(msgs[0])
