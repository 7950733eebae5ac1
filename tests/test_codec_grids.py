"""snerv-g through the codec: format 1.5 streams (grid shapes in the header, grids coded with the
other decoder tensors), decoded to the encoder's own measure, and lying grid headers refused."""

import struct
from dataclasses import replace
from fractions import Fraction

import numpy as np
import pytest
import torch
from click.testing import CliRunner

from snervcodec.bitstream.container import write_container
from snervcodec.bitstream.header import StreamHeader
from snervcodec.bitstream.mapping import config_from_header, header_for, model_kind
from snervcodec.bitstream.stream import open_stream
from snervcodec.cli import cli
from snervcodec.codec import CompressionConfig, decode, encode, info, parse_stream
from snervcodec.codec.weights import decode_weights
from snervcodec.errors import FormatError
from snervcodec.metrics import psnr_per_frame
from snervcodec.models.choose import model_config
from snervcodec.video import read_video, write_video

from streamtools import fix_crcs


@pytest.fixture(scope="module")
def clip(carphone_path):
    return read_video(carphone_path, frames="0:6", size="16x32")


@pytest.fixture(scope="module")
def g_encoded(clip):
    return encode(clip, model="snerv-g", c1=8, n_rb=0, epochs=2, device="cpu", precision="fp32", progress=False,
                  compression=CompressionConfig(chunk_frames=4))


def _psnr(a, b):
    ta, tb = (torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255 for x in (a, b))
    return float(psnr_per_frame(ta, tb).mean())


def test_round_trip_gives_the_encoders_measure(g_encoded, clip):
    res = g_encoded
    assert res.stream[4:6] == bytes([1, 5]) and res.model["name"] == "snerv-g"
    d = info(res.stream)
    assert d["format_version"] == "1.5" and d["model_id"] == 5 and d["grids"] == res.model["grids"]
    out = decode(res.stream, device="cpu")
    assert _psnr(out.frames, clip.frames) == res.psnr
    assert np.array_equal(decode(res.stream, device="cpu", frames="3:5").frames, out.frames[3:5])


def test_grids_are_coded_with_the_decoder(g_encoded):
    ps = parse_stream(g_encoded.stream)
    grids = [n for n in ps.shapes if n.startswith("grids.")]
    assert len(grids) == 2 * len(ps.cfg.strides) and list(ps.shapes)[-len(grids):] == grids  # last, in order
    assert ps.shapes["grids.stages.0.grid"] == (ps.cfg.grids[0][3], *ps.cfg.grids[0][:3])
    state = decode_weights(ps.weights, ps.shapes)
    g = torch.cat([state[n].flatten() for n in grids if n.endswith(".grid")])
    assert g.abs().sum() > 0
    w = g_encoded.entropy["weights"]
    assert w["symbols"] == ps.n_params and w["coded_bits"] == pytest.approx(w["estimated_bits"], rel=0.05)


def test_paper_pipeline_writes_grids_too(clip):
    res = encode(clip, model="snerv-g", c1=8, n_rb=0, epochs=2, device="cpu", precision="fp32", progress=False,
                 compression=CompressionConfig(pipeline="paper"))
    assert res.stream[4:6] == bytes([1, 5]) and list(info(res.stream)["sections"]) == ["header", "DECW", "EMBD"]
    assert _psnr(decode(res.stream, device="cpu").frames, clip.frames) == res.psnr


def test_segments_share_the_grid_shapes(clip, tmp_path):
    """Segments of 2 + 2 + 1 frames: one architecture in the header, each segment's times its own."""
    src = tmp_path / "clip.y4m"
    write_video(src, clip.frames[:5], clip.meta.fps)
    res = encode(src, model="snerv-g", c1=8, n_rb=0, epochs=1, device="cpu", precision="fp32", progress=False,
                 segment_frames=2)
    assert res.stream[4:6] == bytes([1, 5]) and [s["frames"] for s in info(res.stream)["segments"]] == \
        [[0, 2], [2, 4], [4, 5]]
    ref = read_video(src).frames
    assert _psnr(decode(res.stream, device="cpu").frames, ref) == pytest.approx(res.psnr, abs=1e-4)


def test_header_round_trip():
    from snervcodec.bitstream.bytesio import Reader, Writer

    cfg, geo = model_config("snerv-g", 36, 44, c1=8, n_rb=1, n_frames=9)
    h = header_for(cfg, geo, 9, Fraction(25), "yuv420p", 4)
    assert h.minor_version == 5 and config_from_header(h) == cfg
    w = Writer()
    h.write(w)
    assert StreamHeader.read(Reader(w.getvalue(), "header"), 5) == h
    b, geo_b = model_config("snerv-b", 36, 44, c1=8, n_rb=1)
    assert header_for(b, geo_b, 9, Fraction(25), "", 4).minor_version == 0  # other models keep their minor


def _grid_offset(data: bytes) -> int:
    """Offset of block 0's grid shape (the last 7 x n_blocks bytes of the header body)."""
    return 12 + struct.unpack_from("<I", data, 8)[0] - 7 * parse_stream(data).header.n_blocks


@pytest.mark.parametrize("edit,match", [
    (lambda b, o: struct.pack_into("<H", b, o + 2, 4000), "finer than its block"),
    (lambda b, o: struct.pack_into("<B", b, o + 6, 65), "grid_c"),
    (lambda b, o: struct.pack_into("<H", b, o, 0), "zero size"),
    (lambda b, o: struct.pack_into("<HHHB", b, o + 28, 1024, 8, 16, 64), "grids of"),  # block 4: 8x16
    (lambda b, o: b.__setitem__(slice(o, o + 35), bytes(35)), "grid encodings do not match"),
    (lambda b, o: b.__setitem__(0 + 12, 1), "grid encodings do not match"),  # model id 1 with grids
])
def test_lying_grid_headers_are_refused_before_anything_is_built(g_encoded, monkeypatch, edit, match):
    import snervcodec.bitstream.stream as stream

    data = g_encoded.stream
    b = bytearray(data)
    edit(b, _grid_offset(data))
    monkeypatch.setattr(stream, "build_decoder", lambda cfg: pytest.fail("a network was built"))
    stream.decoder_shapes.cache_clear()
    with pytest.raises(FormatError, match=match):
        open_stream(fix_crcs(bytes(b)))
    with pytest.raises(FormatError, match=match):
        decode(fix_crcs(bytes(b)), device="cpu")


def test_writer_refuses_what_the_reader_refuses(g_encoded):
    h = parse_stream(g_encoded.stream).header
    assert write_container(h, [], model_kind)
    n = h.n_blocks
    for bad in ({"grids": ()}, {"grids": ((2, 1, 1, 1),) * (n - 1)}, {"grids": ((0, 0, 0, 0),) * n},
                {"grids": ((2, 1, 1, 0),) * n}, {"model_id": 1}):
        with pytest.raises(FormatError):
            write_container(replace(h, **bad), [], model_kind)


def test_cli_encodes_snerv_g(carphone_path, tmp_path):
    out = tmp_path / "g.snv"
    r = CliRunner().invoke(cli, ["encode", str(carphone_path), "-o", str(out), "--frames", "0:3", "--size", "16x32",
                                 "--model", "snerv-g", "--c1", "8", "--n-rb", "0", "--grid-share", "0.25",
                                 "--epochs", "1", "--device", "cpu", "-q"])
    assert r.exit_code == 0, r.output
    r = CliRunner().invoke(cli, ["info", str(out)])
    assert r.exit_code == 0 and "model snerv-g (id 5)" in r.output and "grids 1x" in r.output


def test_conformance_stream_is_format_1_5():
    """bitstream/conformance/rdo-snerv-g.snv (tests/test_conformance.py decodes it to its checksum)."""
    import json
    from pathlib import Path

    d = Path(__file__).resolve().parents[1] / "bitstream" / "conformance"
    m = json.loads((d / "manifest.json").read_text())["rdo-snerv-g"]
    assert m["md5_cpu_fp32"] == "c285a275ee00b8e6efe7b933fcaae49c"
    i = info(d / m["stream"])
    assert i["format_version"] == "1.5" and i["model"] == "snerv-g" and "DECG" in i["sections"]
