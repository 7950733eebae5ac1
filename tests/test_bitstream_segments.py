"""Format 1.3's segment index (issue 16): a lying or truncated index is refused whole, nothing decoded."""

import json
import struct
from pathlib import Path

import numpy as np
import pytest

from snervcodec.bitstream.segments import INDEX_ENTRY_BYTES
from snervcodec.bitstream.stream import open_stream
from snervcodec.codec import decode
from snervcodec.errors import FormatError
from streamtools import fix_crcs, sections

DIR = Path(__file__).resolve().parents[1] / "bitstream" / "conformance"
SEG = (DIR / "seg-snerv-b.snv").read_bytes()


def test_index_lists_the_segments():
    idx = open_stream(SEG)
    assert idx.segmented and idx.version == (1, 3)
    assert [(s.first_frame, s.n_frames) for s in idx.segments] == [(0, 3), (3, 3), (6, 1)]
    assert [s.index for s in idx.segments_for(2, 4)] == [0, 1]


def test_truncation_at_every_offset_is_refused():
    for n in range(0, len(SEG), 7):
        with pytest.raises(FormatError):
            decode(SEG[:n], device="cpu")


def test_every_index_mutation_is_refused():
    """Each byte of SIDX, changed with the checksums repaired: a count, a frame count or a length that
    disagrees with the header or with the SEGM sections that follow. Never decoded."""
    start, end = sections(SEG)[1]
    assert SEG[start:start + 4] == b"SIDX"
    rng = np.random.default_rng(3)
    for pos in range(start + 8, end - 4):
        for _ in range(3):
            b = bytearray(SEG)
            b[pos] ^= int(rng.integers(1, 256))
            with pytest.raises(FormatError):
                decode(fix_crcs(bytes(b)), device="cpu")


def test_index_that_lies_about_a_segment_is_refused():
    start, _ = sections(SEG)[1]
    b = bytearray(SEG)
    n0, l0 = struct.unpack_from("<II", b, start + 12)
    n1, l1 = struct.unpack_from("<II", b, start + 12 + INDEX_ENTRY_BYTES)
    struct.pack_into("<II", b, start + 12, n0 + 1, l0)  # frames moved between segments: sums still agree
    struct.pack_into("<II", b, start + 12 + INDEX_ENTRY_BYTES, n1 - 1, l1)
    with pytest.raises(FormatError):  # the segment's own sections hold 3 frames' chunks, not 4
        decode(fix_crcs(bytes(b)), device="cpu")


def test_an_older_reader_refuses_by_name():
    b = bytearray(SEG)
    b[5] = 2  # as a 1.2 reader sees it
    from snervcodec.bitstream.stream import parse_stream

    with pytest.raises(FormatError, match="SIDX"):
        parse_stream(fix_crcs(bytes(b)))


def test_manifest_has_the_segmented_case():
    m = json.loads((DIR / "manifest.json").read_text())["seg-snerv-b"]
    assert m["frames"] == 7 and open_stream(SEG).header.n_frames == 7
