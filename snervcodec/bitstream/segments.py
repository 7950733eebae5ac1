"""Format 1.3's segmented stream: consecutive segments of a long video, each with its own decoder and
embeddings, in one file with an index (bitstream/SPEC.md, section 4.4).

    header (1.3; n_frames = all frames) | SIDX | SEGM | SEGM | ...

A segment's ``SEGM`` payload is exactly the framed sections (``DECW``/``DECG``/``DECA``, ``EMBD``,
``TEMB``, ``CNVS`` or ``CNVW``) a single-segment stream of its frames holds, so a segment decodes as that
stream: the header with its frame count, and its sections. A video of one segment is written as an
ordinary stream (1.0 to 1.2), which readers of those versions read.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from ..errors import FormatError
from .bytesio import Reader, Writer
from .container import HEADER_FRAMING_BYTES, MAGIC, SECTION_FRAMING_BYTES, read_framing, read_section, write_container
from .header import MAX_FRAMES, StreamHeader
from .mapping import model_kind

SEGMENTED_MINOR = 3
MAX_SEGMENTS = 1 << 20
INDEX_ENTRY_BYTES = 8  # per segment: u32 frames, u32 SEGM payload bytes
INDEX_FIXED_BYTES = SECTION_FRAMING_BYTES + 4  # the SIDX section's framing and its count


@dataclass(frozen=True)
class SegmentRef:
    """One segment: its frames in the video and where its sections lie."""

    index: int
    first_frame: int
    n_frames: int
    offset: int  # byte offset of its SEGM payload in the file
    length: int

    @property
    def end_frame(self) -> int:
        return self.first_frame + self.n_frames


def split_stream(single: bytes) -> tuple[StreamHeader, bytes, int]:
    """(header, framed sections, header minor) of a single-segment stream: what a segment keeps."""
    fr = read_framing(single, model_kind)
    return fr.header, single[fr.header_end:], fr.version[1]


def segment_payload_bytes(single_stream_bytes: int, header_framed_bytes: int) -> int:
    """Bytes a segment adds to a segmented file, from the size of its single-segment stream."""
    return single_stream_bytes - header_framed_bytes + SECTION_FRAMING_BYTES + INDEX_ENTRY_BYTES


def write_segmented(header: StreamHeader, segments: list[tuple[int, bytes]], min_minor: int = 0) -> bytes:
    """A 1.3 stream of ``segments`` ((frames, framed sections) each, in order); ``header`` describes
    the architecture every segment shares, with the video's total frame count."""
    if len(segments) < 2:
        raise ValueError("a segmented stream has at least two segments (one segment is an ordinary stream)")
    if sum(n for n, _ in segments) != header.n_frames:
        raise ValueError("segment frame counts do not add up to the header's")
    idx = Writer()
    idx.u32(len(segments))
    for n, payload in segments:
        idx.u32(n)
        idx.u32(len(payload))
    return write_container(header, [(b"SIDX", idx.getvalue())] + [(b"SEGM", p) for _, p in segments], model_kind,
                           max(SEGMENTED_MINOR, min_minor))


def read_index(data: bytes, header: StreamHeader, sections_start: int) -> list[SegmentRef]:
    """Check the ``SIDX`` section at ``sections_start`` against the header and against the ``SEGM``
    sections that follow (tags, lengths, order, checksums), before anything is decoded: a lying
    index is refused whole."""
    r = Reader(data, "stream")
    r.pos = sections_start
    tag, payload = read_section(r)
    if tag != b"SIDX":
        raise FormatError("a 1.3 segmented stream starts with its SIDX section")
    ir = Reader(payload, "SIDX section")
    n = ir.u32()
    if not 2 <= n <= MAX_SEGMENTS or n * INDEX_ENTRY_BYTES != ir.remaining:
        raise FormatError(f"SIDX section: {n} segments in {ir.remaining} bytes")
    refs, first = [], 0
    for k in range(n):
        frames, length = ir.u32(), ir.u32()
        if frames < 1 or first + frames > min(header.n_frames, MAX_FRAMES):
            raise FormatError(f"SIDX section: segment {k} of {frames} frames beyond the header's {header.n_frames}")
        start = r.pos
        tag, seg = read_section(r)
        if tag != b"SEGM" or len(seg) != length:
            raise FormatError(f"SIDX section: segment {k} promises a SEGM section of {length} bytes at offset "
                              f"{start}, the stream has {tag!r} of {len(seg)}")
        refs.append(SegmentRef(k, first, frames, start + 8, length))
        first += frames
    if first != header.n_frames:
        raise FormatError(f"SIDX section: segments hold {first} frames, the header {header.n_frames}")
    while r.remaining:  # only optional sections may follow
        tag, _ = read_section(r)
        if not tag[:1].islower():
            raise FormatError(f"section {tag!r} after the last segment")
    return refs


def segment_stream(data: bytes, header: StreamHeader, ref: SegmentRef, minor: int) -> bytes:
    """Segment ``ref`` as the single-segment stream it was cut from: the header with its frame
    count, then its sections (parsed and checked by the ordinary reader)."""
    seg_header = replace(header, n_frames=ref.n_frames)
    # as 1.2 (which reads every section kind up to 1.3), or as the stream's own minor from 1.4 on
    head = write_container(seg_header, [], model_kind, SEGMENTED_MINOR - 1 if minor <= SEGMENTED_MINOR else minor)
    return head + bytes(memoryview(data)[ref.offset:ref.offset + ref.length])


__all__ = ["HEADER_FRAMING_BYTES", "INDEX_ENTRY_BYTES", "INDEX_FIXED_BYTES", "MAGIC", "SEGMENTED_MINOR",
           "SegmentRef", "read_index", "segment_payload_bytes", "segment_stream", "split_stream",
           "write_segmented"]
