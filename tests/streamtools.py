"""Helpers for tests that take streams apart (a lying or damaged stream, section spans)."""

import struct
import zlib


def sections(data: bytes):
    """(start, end) of the header block and of each section's frame."""
    hlen = struct.unpack_from("<I", data, 8)[0]
    spans = [(0, 12 + hlen + 4)]
    pos = spans[0][1]
    while pos < len(data):
        length = struct.unpack_from("<I", data, pos + 4)[0]
        spans.append((pos, pos + 8 + length + 4))
        pos += 8 + length + 4
    return spans


def fix_crcs(data: bytes) -> bytes:
    """Recompute every checksum (an adversary's lying stream, not random corruption)."""
    b = bytearray(data)
    try:
        spans = sections(bytes(b))
    except struct.error:
        return bytes(b)
    s, e = spans[0]
    if e <= len(b):
        struct.pack_into("<I", b, e - 4, zlib.crc32(bytes(b[:e - 4])))
    for s, e in spans[1:]:
        if e <= len(b):
            struct.pack_into("<I", b, e - 4, zlib.crc32(bytes(b[s:e - 4])))
    return bytes(b)
