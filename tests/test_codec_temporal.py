"""SNeRV(T) in the codec: format 1.1 (temporal header fields, TEMB section), round trip, random
access, and bad streams."""

import struct
import zlib

import numpy as np
import pytest
import torch

from snervcodec.codec import CompressionConfig, decode, encode, info, parse_stream
from snervcodec.errors import FormatError
from snervcodec.metrics import psnr_per_frame

from streamtools import fix_crcs
from streamtools import sections as _sections


@pytest.fixture(scope="module")
def t_encoded(carphone_path):
    from snervcodec.video import read_video

    v = read_video(carphone_path, frames="0:6", size="48x64")
    res = encode(v, model="snerv-t", c1=12, n_rb=1, epochs=3, device="cpu", precision="fp32", progress=False,
                 compression=CompressionConfig(chunk_frames=4, pipeline="paper"))
    return v.frames, res


def test_round_trip_reports_what_the_bytes_decode_to(t_encoded):
    frames, res = t_encoded
    d = decode(res.stream, device="cpu")
    assert d.frames.shape == frames.shape
    ref = torch.from_numpy(frames).permute(0, 3, 1, 2).float() / 255
    rec = torch.from_numpy(d.frames).permute(0, 3, 1, 2).float() / 255
    assert float(psnr_per_frame(rec, ref).mean()) == pytest.approx(res.psnr, abs=1e-4)
    assert res.model["temporal_embeddings"][:2] == [2, 3]


def test_stream_is_format_1_1_with_a_temporal_section(t_encoded, tiny_stream):
    _, res = t_encoded
    assert res.stream[4:6] == bytes([1, 1])
    d = info(res.stream)
    assert d["format_version"] == "1.1" and d["model"] == "snerv-t" and d["model_id"] == 3
    assert list(d["sections"]) == ["header", "DECW", "EMBD", "TEMB"]
    assert d["temporal_embedding_bits"] == 6 and d["t_scale"] == 2
    assert sum(s["bytes"] for s in d["sections"].values()) == len(res.stream)
    assert tiny_stream[4:6] == bytes([1, 0])  # streams without temporal embeddings stay 1.0


def test_random_access_needs_only_the_frames_own_embeddings(t_encoded):
    _, res = t_encoded
    full = decode(res.stream, device="cpu").frames
    for spec, sl in [("3:4", slice(3, 4)), ("0:1", slice(0, 1)), ("5:6", slice(5, 6)), ("2:5", slice(2, 5))]:
        assert np.array_equal(decode(res.stream, frames=spec, device="cpu").frames, full[sl]), spec


def test_2d_variant_round_trip(carphone_path):
    from snervcodec.video import read_video

    v = read_video(carphone_path, frames="0:3", size="32x48")
    res = encode(v, model="snerv-t-2d", c1=8, n_rb=1, epochs=2, device="cpu", precision="fp32", progress=False)
    assert info(res.stream)["model_id"] == 4
    assert decode(res.stream, device="cpu").frames.shape == v.frames.shape


def _header_body_end(data: bytes) -> int:
    return 12 + struct.unpack_from("<I", data, 8)[0]


def test_temporal_fields_must_match_the_model(t_encoded, tiny_stream):
    _, res = t_encoded
    b = bytearray(res.stream)
    b[_header_body_end(res.stream) - 2] = 0  # t_scale = 0 in a snerv-t stream
    with pytest.raises(FormatError, match="temporal"):
        parse_stream(fix_crcs(bytes(b)))
    # a 1.0 stream that claims 1.1 lacks the temporal fields: the header is short
    b = bytearray(tiny_stream)
    b[5] = 1
    with pytest.raises(FormatError):
        parse_stream(fix_crcs(bytes(b)))


def test_missing_temporal_section_is_refused(t_encoded):
    _, res = t_encoded
    spans = _sections(res.stream)
    assert res.stream[spans[3][0]:spans[3][0] + 4] == b"TEMB"
    with pytest.raises(FormatError, match="TEMB missing"):
        parse_stream(res.stream[:spans[3][0]])


def test_newer_minor_with_appended_header_fields_still_decodes(t_encoded):
    """Forward compatibility (SPEC section 1): a newer minor than this reader's may append header
    fields (after 1.5's grid shapes, 7 bytes a block, all 0 here, and 1.7's canvas flag, 0)."""
    from snervcodec.bitstream.container import FORMAT_VERSION

    _, res = t_encoded
    data = res.stream
    end = _header_body_end(data)
    extra = bytes(7 * parse_stream(data).header.n_blocks) + b"\x00" + b"\x07\x07"
    b = bytearray(data[:end] + extra + data[end:])
    b[5] = FORMAT_VERSION[1] + 1
    struct.pack_into("<I", b, 8, struct.unpack_from("<I", data, 8)[0] + len(extra))
    hdr_end = end + len(extra)
    struct.pack_into("<I", b, hdr_end, zlib.crc32(bytes(b[:hdr_end])))
    b = bytes(b[:hdr_end + 4]) + data[end + 4:]
    assert np.array_equal(decode(b, device="cpu").frames, decode(data, device="cpu").frames)


def test_damaged_temporal_section_is_a_format_error(t_encoded, rng):
    _, res = t_encoded
    s, e = _sections(res.stream)[3]
    for cut in range(s, e, max(1, (e - s) // 40)):
        with pytest.raises(FormatError):
            decode(res.stream[:cut], device="cpu")
    for _ in range(60):  # flips with checksums repaired: a clean error or a decodable stream, never a crash
        b = bytearray(res.stream)
        pos = int(rng.integers(s + 8, e - 4))
        b[pos] ^= 1 << int(rng.integers(0, 8))
        try:
            out = decode(fix_crcs(bytes(b)), device="cpu")
        except FormatError:
            continue
        assert out.frames.shape[0] == 6
