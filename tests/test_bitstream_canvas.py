"""Format 1.7: the canvas flag and section CNVS (bitstream/canvas.py, SPEC.md 4.5)."""

from pathlib import Path

import numpy as np
import pytest

from snervcodec.bitstream.canvas import read_offsets, write_offsets
from snervcodec.bitstream.container import read_container, write_container
from snervcodec.bitstream.mapping import model_kind
from snervcodec.codec import decode, parse_stream
from snervcodec.errors import FormatError

CANVAS = Path(__file__).resolve().parents[1] / "bitstream" / "conformance" / "rdo-canvas.snv"


def test_offsets_round_trip():
    off = np.array([[0, 0], [0, 3], [1, 6], [1, 2], [0, 700]])
    data = write_offsets(off)
    assert np.array_equal(read_offsets(data, 5, 1, 700), off)
    pan = np.array([[k // 2, 5 * k] for k in range(64)])
    assert len(write_offsets(pan)) == 2 * 64  # a pan: one byte an axis a frame


@pytest.mark.parametrize("payload, n, match", [
    (write_offsets(np.array([[0, 0], [0, 9]])), 2, "leaves the network's grid"),
    (write_offsets(np.array([[0, 0], [0, -1]])), 2, "leaves the network's grid"),
    (write_offsets(np.array([[0, 0], [1, 1]])) + b"\x00", 2, "trailing"),
    (write_offsets(np.array([[0, 0], [1, 1]]))[:-1], 2, "cannot place"),
    (b"\x00\x00\x00\x80", 2, "truncated"),
])
def test_offsets_are_checked(payload, n, match):
    with pytest.raises(FormatError, match=match):
        read_offsets(payload, n, 4, 8)


def _rebuild(data: bytes, sections, header=None) -> bytes:
    c = read_container(data, model_kind)
    return write_container(header or c.header, sections(c.sections), model_kind, c.version[1])


def test_the_canvas_stream():
    data = CANVAS.read_bytes()
    ps = parse_stream(data)
    h = ps.header
    assert ps.version == (1, 7) and h.canvas == 1
    assert ps.offsets.shape == (6, 2) and ps.offsets[-1].tolist() == [5, 15]
    assert decode(data).frames.shape == (6, 24, 40, 3)


def test_canvas_sections_are_checked(tiny_rdo_stream):
    from dataclasses import replace

    data = CANVAS.read_bytes()
    with pytest.raises(FormatError, match="CNVS missing"):
        parse_stream(_rebuild(data, lambda s: [(t, p) for t, p in s.items() if t != b"CNVS"]))
    with pytest.raises(FormatError, match="out of order"):
        parse_stream(_rebuild(data, lambda s: [(b"CNVS", s[b"CNVS"])] + [(t, p) for t, p in s.items()
                                                                          if t != b"CNVS"]))
    far = write_offsets(np.array([[0, 0]] * 5 + [[0, 21]]))  # pad_w is 20
    with pytest.raises(FormatError, match="leaves the network's grid"):
        parse_stream(_rebuild(data, lambda s: [(t, far if t == b"CNVS" else p) for t, p in s.items()]))
    # without the flag the canvas's padding is more than a cell: the header is refused as it is written
    c = read_container(data, model_kind)
    with pytest.raises(FormatError, match="padding larger than one embedding cell"):
        write_container(replace(c.header, canvas=0), list(c.sections.items()), model_kind, 7)
    # CNVS in a stream without a canvas is an unknown critical section
    plain = _rebuild(tiny_rdo_stream, lambda s: list(s.items()) + [(b"CNVS", write_offsets(np.zeros((3, 2))))])
    with pytest.raises(FormatError, match="unknown critical section"):
        parse_stream(plain)
