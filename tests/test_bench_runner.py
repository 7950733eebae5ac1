import json
from fractions import Fraction

import numpy as np
import pytest

from snervcodec.bench.anchors import encode_anchor, options_for
from snervcodec.bench.quality import evaluate, rgb_to_yuv420
from snervcodec.bench.report import markdown, write_reports
from snervcodec.bench.runner import BenchConfig, ClipSpec, run


@pytest.fixture(scope="module")
def small(carphone_path):
    from snervcodec.video import read_video

    return read_video(carphone_path, frames="0:4", size="64x96")


@pytest.mark.parametrize("codec", ["x264", "x265"])
@pytest.mark.parametrize("profile", ["literature", "strong"])
def test_anchor_encodes_and_decodes(small, codec, profile):
    r = encode_anchor(small.frames, Fraction(25), codec, profile, 30)
    assert r.frames.shape == small.frames.shape and r.bytes > 0
    if codec == "x264":
        assert r.sei_bytes > 100  # x264's settings SEI, excluded from the size
    else:
        assert r.sei_bytes == 0 and "info=0" in r.options["x265-params"]
    assert evaluate(r.frames, small.frames, r.bytes)["rgb_psnr"] > 20


def test_anchor_quality_is_monotone(small):
    lo = encode_anchor(small.frames, Fraction(25), "x264", "strong", 40)
    hi = encode_anchor(small.frames, Fraction(25), "x264", "strong", 24)
    assert hi.bytes > lo.bytes
    assert evaluate(hi.frames, small.frames)["rgb_psnr"] > evaluate(lo.frames, small.frames)["rgb_psnr"]


def test_x265_refuses_frames_below_its_ctu():
    with pytest.raises(ValueError, match="at least 64 px"):
        encode_anchor(np.zeros((2, 32, 48, 3), np.uint8), Fraction(25), "x265", "literature", 30)


def test_strong_profile_is_one_gop():
    opts = options_for("x265", "strong", 30, 132)
    assert "keyint=132" in opts["x265-params"] and opts["tune"] == "psnr" and opts["preset"] == "veryslow"


def test_metrics(small):
    same = evaluate(small.frames, small.frames, 100)
    assert same["rgb_psnr"] > 99 and same["ms_ssim"] == pytest.approx(1.0, abs=1e-5)
    assert same["bpp"] == pytest.approx(800 / (64 * 96 * 4))
    noisy = np.clip(small.frames.astype(int) + 3, 0, 255).astype(np.uint8)
    m = evaluate(noisy, small.frames)
    assert 30 < m["rgb_psnr"] < 40 and m["ms_ssim_window"] < 11
    y, u, v = rgb_to_yuv420(np.full((1, 3, 5, 3), 255, np.uint8))
    assert y.shape == (1, 3, 5) and u.shape == (1, 2, 3) and np.all(y == 235) and np.all(u == 128)


def test_runner_caches_and_reports(carphone_path, tmp_path):
    clip = ClipSpec("tiny", str(carphone_path), frames="0:3", size="32x48")
    cfg = BenchConfig(clips=[clip], snerv_bpp=[12.0, 20.0], hnerv_bpp=[20.0], anchors=["x264"],
                      profiles=["literature"], crf=[20, 30, 40], epochs=1, device="cpu", out=str(tmp_path))
    logs = []
    res = run(cfg, log=logs.append)
    assert not any("cached" in m for m in logs)
    pts = res["clips"]["tiny"]["points"]
    assert {p["codec"] for p in pts} == {"snerv-b", "hnerv", "x264"} and len(pts) == 6
    assert all(p["bpp"] > 0 and p["decode_fps"] > 0 for p in pts)
    assert "x264/literature" in res["summary"]["tiny"]
    logs.clear()
    again = run(cfg, log=logs.append)
    assert all("cached" in m for m in logs) and again["clips"]["tiny"]["points"] == pts
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["provenance"]["versions"]["torch"] and saved["provenance"]["settings"]["epochs"] == 1
    paths = write_reports(saved, tmp_path)
    assert (tmp_path / "report.md").exists() and (tmp_path / "rd-tiny.png").stat().st_size > 1000
    assert "BD-rate" in markdown(saved)
