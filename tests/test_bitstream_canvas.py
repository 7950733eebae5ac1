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


WARPED = CANVAS.with_name("rdo-canvas-warp.snv")


def test_warps_round_trip():
    from snervcodec.bitstream.canvas import read_warps, write_warps
    from snervcodec.video.warp import WARP_ONE, WARP_POS

    turn = np.array([[round(WARP_ONE * np.cos(np.radians(k))), round(WARP_ONE * np.sin(np.radians(k))),
                      40 * WARP_POS, 50 * WARP_POS] for k in range(64)])
    data = write_warps(turn)
    assert np.array_equal(read_warps(data, 64, (24, 40), (80, 100)), turn)
    assert len(data) <= 4 * 64 + 8  # a steady turn: about a byte a value a frame, the prediction takes out the rest


@pytest.mark.parametrize("warps, match", [
    ([[1 << 16, 0, 640, 1280], [1 << 16, 0, 640, 1300 * 64]], "leaves the format's range or the 30x40 canvas"),
    ([[1 << 16, 0, 640, 1280], [1 << 16, 0, 100, 1280]], "view leaves the 30x40 canvas"),  # above row 0
    ([[1 << 16, 0, 640, 1280], [0, 0, 640, 1280]], "scale and turn"),
    ([[1 << 16, 0, 640, 1280], [(1 << 20) + 1, 0, 640, 1280]], "leaves the format's range"),
    ([[1 << 16, 0, 640, 1280], [-(1 << 20) - 1, 0, 640, 1280]], "leaves the format's range"),
    ([[1 << 16, 0, 640, 1280], [0, (1 << 20) + 1, 640, 1280]], "leaves the format's range"),
    ([[1 << 16, 0, 29 * 64 - 223, 1280]], "view leaves the 30x40 canvas"),  # the last row 1/64 beyond
])
def test_warps_are_checked(warps, match):
    from snervcodec.bitstream.canvas import read_warps, write_warps

    with pytest.raises(FormatError, match=match):
        read_warps(write_warps(np.array(warps)), len(warps), (8, 16), (30, 40))


def test_warps_at_the_edges_of_the_range_are_read():
    from snervcodec.bitstream.canvas import read_warps, write_warps

    edge = np.array([[1 << 16, 0, 29 * 64 - 224, 39 * 64 - 480],  # the last row and column exactly
                     [0, 1 << 20, 640, 1280]])  # a turn at the largest scale: a 1x1 frame fits anywhere
    assert np.array_equal(read_warps(write_warps(edge[:1]), 1, (8, 16), (30, 40)), edge[:1])
    assert np.array_equal(read_warps(write_warps(edge[1:]), 1, (1, 1), (30, 40)), edge[1:])
    with pytest.raises(FormatError, match="at least 2x2"):
        read_warps(write_warps(np.array([[1 << 16, 0, 0, 96]])), 1, (1, 4), (1, 4))


def test_warp_payloads_are_checked():
    from snervcodec.bitstream.canvas import read_warps, write_warps

    good = write_warps(np.array([[1 << 16, 0, 640, 1280]] * 2))
    assert read_warps(good, 2, (8, 16), (30, 40)).shape == (2, 4)
    with pytest.raises(FormatError, match="trailing"):
        read_warps(good + b"\x00", 2, (8, 16), (30, 40))
    with pytest.raises(FormatError, match="cannot place"):
        read_warps(good[:6], 2, (8, 16), (30, 40))


def test_the_warped_canvas_stream():
    from dataclasses import replace

    data = WARPED.read_bytes()
    ps = parse_stream(data)
    assert ps.version == (1, 8) and ps.header.canvas == 2 and ps.offsets is None
    assert ps.warps.shape == (6, 4)
    turn = np.degrees(np.arctan2(ps.warps[:, 1], ps.warps[:, 0]))
    assert np.abs(turn - 5.0 * np.arange(6)).max() < 0.3  # the encoder found the camera's roll
    assert decode(data).frames.shape == (6, 24, 40, 3)
    with pytest.raises(FormatError, match="CNVW missing"):
        parse_stream(_rebuild(data, lambda s: [(t, p) for t, p in s.items() if t != b"CNVW"]))
    # warped views need format 1.8: a 1.7 header cannot say canvas 2
    c = read_container(data, model_kind)
    with pytest.raises(FormatError, match="needs 1.8"):
        read_container(_as_minor(data, 7), model_kind)
    # CNVW in a stream of windows is an unknown critical section, and windows' CNVS in a warped one
    windows = CANVAS.read_bytes()
    extra = _rebuild(windows, lambda s: list(s.items()) + [(b"CNVW", b"\x00" * 24)])
    with pytest.raises(FormatError, match="unknown critical section"):
        parse_stream(extra)
    with pytest.raises(FormatError, match="unknown critical section b'CNVS'"):
        parse_stream(_rebuild(data, lambda s: [(b"CNVS" if t == b"CNVW" else t, p) for t, p in s.items()]))
    # a canvas of one row cannot be sampled: the header is refused (SPEC.md 2)
    with pytest.raises(FormatError, match="at least 2x2"):
        h = c.header
        replace(h, model_id=2, height=1, pad_h=0, emb_h=1, emb_w=h.width + h.pad_w,  # HNeRV, strides 1: P = 1
                strides=(1,) * h.n_blocks).validate(False)


def _as_minor(data: bytes, minor: int) -> bytes:
    """``data`` with its version byte set to 1.``minor`` and the header's CRC mended."""
    import zlib

    body_end = 12 + int.from_bytes(data[8:12], "little")
    head = bytearray(data[:body_end])
    head[5] = minor
    return bytes(head) + zlib.crc32(bytes(head)).to_bytes(4, "little") + data[body_end + 4:]


def _layered(n=6, box=(0, 40, 10, 56)):
    """``n`` views of 24x40 frames, still, with a 10x16 object crossing 3 pixels a frame, its box at ``box``."""
    from snervcodec.video.warp import WARP_ONE, WARP_POS

    back = [WARP_ONE, 0, 23 * WARP_POS // 2, 39 * WARP_POS // 2]
    return np.array([[*back, WARP_ONE, 0, 40 * WARP_POS - 16 * k, 75 * WARP_POS - 192 * k, *box] for k in range(n)])


def test_layered_warps_round_trip():
    from snervcodec.bitstream.canvas import read_warps, write_warps

    views = _layered(64)
    data = write_warps(views)
    assert np.array_equal(read_warps(data, 64, (24, 40), (24, 56), layered=True), views)
    assert data[4] == 3  # a still camera, an object that only moves: flags 0b11
    assert len(data) <= 2 * 64 + 24  # the box, the flags and the first frame, then a byte a value a frame
    moving = views.copy()
    moving[:, 3] += 64 * np.arange(64) // 8  # the camera pans an eighth of a pixel a frame
    moving[:, 4] += np.arange(64) % 2  # the object's scale flickers
    data = write_warps(moving)
    assert data[4] == 0 and np.array_equal(read_warps(data, 64, (24, 40), (24, 56), layered=True), moving)
    with pytest.raises(FormatError, match="cannot place"):
        read_warps(data[:100], 64, (24, 40), (24, 56), layered=True)  # under 2 bytes a frame
    with pytest.raises(FormatError, match="truncated"):
        read_warps(data[:-1], 64, (24, 40), (24, 56), layered=True)
    with pytest.raises(FormatError, match="flags 4"):
        read_warps(data[:4] + bytes([4]) + data[5:], 64, (24, 40), (24, 56), layered=True)
    with pytest.raises(FormatError, match="CNVW"):
        read_warps(data, 64, (24, 40), (24, 56))  # read as four values a frame: the box's bytes are taken as a warp


@pytest.mark.parametrize("views, match", [
    (_layered(box=(0, 40, 1, 56)), "at least 2x2"),  # one row
    (_layered(box=(0, 40, 10, 57)), "not one of at least 2x2 on the 24x56"),  # past the last column
    (_layered(box=(20, 40, 25, 56)), "not one of at least 2x2 on the 24x56"),  # past the last row
    (_layered(2) * np.array([1, 1, 1, 1, 0, 0, 1, 1, 1, 1, 1, 1]), "object warp"),  # a = b = 0: no scale
    (_layered(2) + np.array([0] * 6 + [(1 << 24) + 1, 0] + [0] * 4), "leaves the format's range"),  # centre too far
    (_layered(2) + np.array([0, 0, 0, 0, (1 << 20), 0] + [0] * 6), "leaves the format's range"),  # a too large
])
def test_layered_warps_are_checked(views, match):
    from snervcodec.bitstream.canvas import read_warps, write_warps

    with pytest.raises(FormatError, match=match):
        read_warps(write_warps(views), len(views), (24, 40), (24, 56), layered=True)


def test_layered_warps_at_the_edges_of_the_range_are_read():
    from snervcodec.bitstream.canvas import read_warps, write_warps

    edge = _layered(2, box=(14, 40, 24, 56))  # the box in the canvas's last rows and columns
    edge[:, 4:8] = [-(1 << 20), 1 << 20, 1 << 24, -(1 << 24)]  # the largest object warp, its centre far off
    assert np.array_equal(read_warps(write_warps(edge), 2, (24, 40), (24, 56), layered=True), edge)


def test_the_layered_canvas_stream():
    from dataclasses import replace

    data = CANVAS.with_name("rdo-canvas-layer.snv").read_bytes()
    ps = parse_stream(data)
    assert ps.version == (1, 9) and ps.header.canvas == 3 and ps.warps.shape == (8, 12)
    assert ps.warps[0, 8:].tolist() == [0, 56, 12, 72]  # the 10x14 object and a ring: its box beside the 24x56 frame
    assert np.array_equal(np.diff(ps.warps[:, 6:8], axis=0), np.tile([-64, -320], (7, 1)))  # it moves (1, 5) a frame
    assert decode(data).frames.shape == (8, 24, 56, 3)
    with pytest.raises(FormatError, match="needs 1.9"):
        read_container(_as_minor(data, 8), model_kind)
    # read as a canvas of warped views without the layer (canvas 2), the payload is refused
    c = read_container(data, model_kind)
    with pytest.raises(FormatError, match="CNVW"):
        parse_stream(write_container(replace(c.header, canvas=2), list(c.sections.items()), model_kind, 9))
