"""Container framing: magic, version, header, then CRC-checked sections (bitstream/SPEC.md).

    magic "\\x89SNV" | major u8 | minor u8 | flags u16 | header_len u32 | header | crc32 u32
    section*: tag[4] | length u32 | payload | crc32(tag | length | payload) u32
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

from ..errors import FormatError
from .bytesio import Reader, Writer
from .header import LAYER_MINOR, StreamHeader

MAGIC = b"\x89SNV"
# Format 1.6: axis-law weights (DECA) and context-coded embeddings (1.5: grid encodings, model id 5;
# 1.7: a canvas, section CNVS; 1.8: a canvas of warped views, section CNVW)
CONTEXT_MINOR = 6
FORMAT_VERSION = (1, LAYER_MINOR)  # the newest this code reads; a writer uses the lowest minor its stream needs
MAX_HEADER_LEN = 4096
# Framing around the header (magic, version, flags, length; CRC) and around each section (tag,
# length; CRC): rate control counts these instead of repeating the numbers.
HEADER_FRAMING_BYTES = 4 + 2 + 2 + 4 + 4
SECTION_FRAMING_BYTES = 4 + 4 + 4
CRITICAL_SECTIONS = (b"DECW", b"EMBD", b"TEMB", b"DECG", b"DECA", b"CNVS", b"CNVW")  # TEMB (1.1): SNeRV(T) only;
# DECG (1.2): step-coded weights; DECA (1.6): step-coded weights with axis laws; CNVS (1.7): a canvas;
# CNVW (1.8): a canvas of warped views
# SPEC.md 3: the weights (DECW, DECG or DECA), then EMBD, then TEMB, then CNVS or CNVW; optional sections anywhere
SECTION_RANK = {b"DECW": 0, b"DECG": 0, b"DECA": 0, b"EMBD": 1, b"TEMB": 2, b"CNVS": 3, b"CNVW": 3}
CANVAS_SECTIONS = {1: b"CNVS", 2: b"CNVW", 3: b"CNVW"}  # by the header's canvas field
WEIGHT_SECTIONS = (b"DECW", b"DECG", b"DECA")


@dataclass
class Container:
    version: tuple[int, int]
    header: StreamHeader
    sections: dict[bytes, bytes]
    section_sizes: dict[str, int]  # bytes on disk per part, framing included
    header_bytes: int


def write_container(header: StreamHeader, sections: list[tuple[bytes, bytes]], model_kind,
                    min_minor: int = 0) -> bytes:
    """Frame a header and sections. The header is range-checked exactly as a reader checks it
    (``model_kind`` as for :func:`read_container`), so no stream is written that could not be read.
    ``min_minor``: the minor version the sections need (the header may need a higher one)."""
    header.validate(*model_kind(header.model_id))
    minor = max(header.minor_version, min_minor)
    body = Writer()
    header.write(body, minor)
    hb = body.getvalue()
    w = Writer()
    w.raw(MAGIC)
    w.u8(FORMAT_VERSION[0])
    w.u8(minor)
    w.u16(0)
    w.u32(len(hb))
    w.raw(hb)
    w.u32(zlib.crc32(w.getvalue()))
    for tag, payload in sections:
        if len(tag) != 4:
            raise ValueError("section tags are 4 bytes")
        start = len(w.buf)
        w.raw(tag)
        w.u32(len(payload))
        w.raw(payload)
        w.u32(zlib.crc32(bytes(w.buf[start:])))
    return w.getvalue()


@dataclass
class Framing:
    """Magic, version and the checked header of a stream; its sections start at ``header_end``."""

    version: tuple[int, int]
    header: StreamHeader
    header_end: int


def read_framing(data: bytes, model_kind) -> Framing:
    """Check magic, version, flags, the header's checksum and its range and consistency rules.
    ``model_kind(model_id)`` answers ``(uses_dwt, temporal, grids)`` (or raises FormatError)."""
    r = Reader(data, "stream")
    if len(data) < 4 or r.raw(4) != MAGIC:
        raise FormatError("not a .snv stream (bad magic bytes)")
    major, minor = r.u8(), r.u8()
    if major > FORMAT_VERSION[0]:
        raise FormatError(f"stream format version {major}.{minor} is newer than this decoder's "
                          f"{FORMAT_VERSION[0]}.{FORMAT_VERSION[1]}: upgrade snervcodec")
    if major < 1:
        raise FormatError(f"unknown stream format version {major}.{minor}")
    flags = r.u16()
    if flags != 0:
        raise FormatError(f"header flags {flags:#x} are reserved and must be 0 in version 1")
    hlen = r.u32()
    if hlen > MAX_HEADER_LEN:
        raise FormatError(f"header length {hlen} exceeds {MAX_HEADER_LEN}")
    hstart = r.pos
    hr = Reader(r.raw(hlen), "header")
    crc = r.u32()
    if zlib.crc32(bytes(r.data[:hstart + hlen])) != crc:
        raise FormatError("header checksum mismatch (corrupted stream)")
    header = StreamHeader.read(hr, minor)
    if minor <= FORMAT_VERSION[1]:
        hr.expect_end()  # a newer minor may append header fields; known minors must have none left
    header.validate(*model_kind(header.model_id))
    return Framing((major, minor), header, r.pos)


def read_section(r: Reader) -> tuple[bytes, bytes]:
    """One framed section at ``r``'s position (tag, payload), its length and checksum verified."""
    start = r.pos
    tag = r.raw(4)
    length = r.u32()
    if length > r.remaining:
        raise FormatError(f"truncated stream: section {tag!r} declares {length} bytes, {r.remaining} left")
    payload = r.raw(length)
    crc = r.u32()
    if zlib.crc32(bytes(r.data[start:start + 8 + length])) != crc:
        raise FormatError(f"section {tag!r} checksum mismatch (corrupted stream)")
    return tag, payload


def is_segmented(data: bytes, framing: Framing) -> bool:
    """True when a 1.3 stream's first section is a segment index (SIDX)."""
    return framing.version[1] >= 3 and bytes(data[framing.header_end:framing.header_end + 4]) == b"SIDX"


def read_container(data: bytes, model_kind) -> Container:
    """Parse and check framing, header and checksums of a single-segment stream. ``model_kind(model_id)``
    answers ``(uses_dwt, temporal, grids)`` for a model id (or raises FormatError for an unknown id)."""
    fr = read_framing(data, model_kind)
    major, minor = fr.version
    header = fr.header
    r = Reader(data, "stream")
    r.pos = fr.header_end
    temporal = model_kind(header.model_id)[1]
    required = (b"EMBD", b"TEMB") if temporal else (b"EMBD",)
    required += (CANVAS_SECTIONS[header.canvas],) if header.canvas else ()
    known = required + (b"DECW",) + ((b"DECG",) if minor >= 2 else ()) + ((b"DECA",) if minor >= CONTEXT_MINOR else ())
    sizes = {"header": r.pos}
    sections: dict[bytes, bytes] = {}
    last_rank = -1
    while r.remaining:
        start = r.pos
        tag, payload = read_section(r)
        if tag in sections:
            raise FormatError(f"section {tag!r} appears twice")
        if tag in known:
            if SECTION_RANK[tag] == 0 and any(t in sections for t in WEIGHT_SECTIONS):
                raise FormatError("a stream holds exactly one of the sections DECW, DECG, DECA")
            if SECTION_RANK[tag] <= last_rank:
                raise FormatError(f"section {tag.decode()} out of order (SPEC.md 3: weights, EMBD, TEMB, CNVS or CNVW)")
            last_rank = SECTION_RANK[tag]
            sections[tag] = payload
            sizes[tag.decode()] = r.pos - start
        elif tag[:1].islower():
            sizes[tag.decode(errors="replace")] = r.pos - start  # optional section: skipped
        else:
            raise FormatError(f"unknown critical section {tag!r}")
    for tag in required:
        if tag not in sections:
            raise FormatError(f"truncated stream: section {tag.decode()} missing")
    if not any(t in sections for t in WEIGHT_SECTIONS):
        raise FormatError("truncated stream: section DECW missing")
    return Container((major, minor), header, sections, sizes, sizes["header"])
