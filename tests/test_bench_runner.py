import json
from fractions import Fraction

import numpy as np
import pytest

from snervcodec.bench.anchors import encode_anchor, ffmpeg_cli_size, ffmpeg_exe, options_for
from snervcodec.bench.quality import evaluate, rgb_to_yuv420
from snervcodec.bench.report import markdown, write_reports
from snervcodec.bench import runner
from snervcodec.bench.provenance import code_digest, source_digest
from snervcodec.bench.curves import bracket, refinement
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


@pytest.mark.parametrize("codec", ["x264", "x265"])
@pytest.mark.parametrize("profile", ["literature", "strong"])
def test_ffmpeg_command_line_agrees(carphone_path, codec, profile):
    # 24 frames at 144x176: large enough that slice threading (PyAV's default) would cost x264 ~15%
    from snervcodec.video import read_video

    clip = read_video(carphone_path, frames="0:24")
    exe = ffmpeg_exe()
    assert exe, "no ffmpeg: install the dev extra (imageio-ffmpeg)"
    pyav = encode_anchor(clip.frames, clip.meta.fps, codec, profile, 38).bytes
    cli = ffmpeg_cli_size(clip.frames, clip.meta.fps, codec, profile, 38, exe)
    assert abs(cli / pyav - 1) < (1e-9 if codec == "x264" else 0.03)  # x264: same bytes; x265 builds differ a little


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
    (check,) = res["clips"]["tiny"]["ffmpeg_cli_check"]  # imageio-ffmpeg (dev extra) provides the CLI
    assert check["q"] == 30 and abs(check["delta"]) < 0.02
    logs.clear()
    again = run(cfg, log=logs.append)
    assert all("cached" in m for m in logs) and again["clips"]["tiny"]["points"] == pts
    saved = json.loads((tmp_path / "results.json").read_text())
    assert saved["provenance"]["versions"]["torch"] and saved["provenance"]["settings"]["epochs"] == 1
    assert saved["provenance"]["versions"]["snervcodec_code"] == code_digest()
    write_reports(saved, tmp_path)
    assert (tmp_path / "report.md").exists() and (tmp_path / "rd-tiny.png").stat().st_size > 1000
    assert "BD-rate" in markdown(saved)


SWEEP = {22: 38.0, 26: 36.0, 30: 34.0, 34: 32.0, 38: 30.0, 42: 28.0, 46: 26.0, 51: 23.0}


def test_bracket_encloses_the_quality_range():
    assert bracket(SWEEP, 27.0, 33.0) == (30, 46)
    assert bracket(SWEEP, 28.0, 34.0) == (30, 42)  # equal quality counts as enclosing
    assert bracket(SWEEP, 20.0, 40.0) == (22, 51)  # the sweep falls short: its ends stand in


def test_refinement_fills_the_bracket_evenly():
    new = refinement(SWEEP, 27.0, 33.0, 6)
    assert len(new) == 6 and all(30 < q < 46 and q not in SWEEP for q in new)
    assert new[0] == 31 and new[-1] == 45
    assert refinement(SWEEP, 27.0, 33.0, 0) == []
    assert refinement(SWEEP, 28.5, 29.5, 6) == [39, 40, 41]  # fewer free values than asked


def _fake(codec, q=None, psnr=None, bpp=None):
    psnr = psnr if psnr is not None else 50.0 - q / 2
    bpp = bpp if bpp is not None else 2.0 ** (-q / 6)
    return {"codec": codec, "profile": "snervcodec" if q is None else "literature", "q": q,
            "setting": f"crf={q}" if q is not None else "bpp", "target_bpp": bpp, "bpp": bpp, "rgb_psnr": psnr,
            "yuv420_psnr": psnr, "ms_ssim": 1 - 1 / psnr, "ms_ssim_window": 3, "encode_seconds": 0.0,
            "decode_fps": 1.0}


def test_runner_refines_anchors_inside_the_snerv_range(carphone_path, tmp_path, monkeypatch):
    from snervcodec.bench.anchors import default_sweep

    calls = []

    def anchor_point(video, codec, profile, q):
        calls.append(q)
        return _fake(codec, q)

    snerv = {0.02: 31.0, 0.04: 34.0}
    monkeypatch.setattr(runner, "_anchor_point", anchor_point)
    monkeypatch.setattr(runner, "_snerv_point", lambda clip, video, model, bpp, cfg, keep, pipeline:
                        {**_fake(model, psnr=snerv[bpp], bpp=bpp), "profile": pipeline})
    clip = ClipSpec("tiny", str(carphone_path), frames="0:2", size="16x16")
    cfg = BenchConfig(clips=[clip], snerv_bpp=[0.02, 0.04], hnerv_bpp=[], anchors=["x264"], profiles=["literature"],
                      cli_check=False, out=str(tmp_path))
    res = run(cfg, log=lambda m: None)
    # coarse sweep, then 6 values between q=30 (35 dB >= 34) and q=38 (31 dB <= 31)
    assert calls[:8] == list(default_sweep("x264", "literature")) and calls[8:] == [31, 32, 33, 35, 36, 37]
    md = markdown(res)
    # BD uses the tightest bracket of all points: q=32 (34 dB) to q=38 (31 dB)
    assert "crf=32*" in md and "crf=38*" in md and "crf=31*" not in md and "crf=42*" not in md
    row = res["summary"]["tiny"]["x264/literature"]["rgb_psnr"]
    assert row["overlap"] == pytest.approx(1.0) and row["bd_rate"] > 0  # SNeRV 2 dB below the anchor at 0.02 bpp
    assert row["bd_quality"] < 0  # from the points enclosing SNeRV's rates (q=26..34), not the quality bracket
    calls.clear()
    run(cfg, log=lambda m: None)
    assert calls == []  # everything cached


def test_runner_compares_pipelines(carphone_path, tmp_path, monkeypatch):
    """bench --pipelines rdo,paper: one SNeRV-B curve each, BD-rates per pipeline and rdo against paper."""
    quality = {"rdo": {0.02: 32.0, 0.04: 35.0, 0.08: 37.0}, "paper": {0.02: 31.0, 0.04: 33.5, 0.08: 35.5}}
    seen = []

    def snerv_point(clip, video, model, bpp, cfg, keep, pipeline):
        seen.append((model, pipeline))
        return {**_fake(model, psnr=quality[pipeline][bpp], bpp=bpp), "profile": pipeline}

    monkeypatch.setattr(runner, "_anchor_point", lambda video, codec, profile, q: _fake(codec, q))
    monkeypatch.setattr(runner, "_snerv_point", snerv_point)
    cfg = BenchConfig(clips=[ClipSpec("tiny", str(carphone_path), frames="0:2", size="16x16")],
                      snerv_bpp=[0.02, 0.04, 0.08], hnerv_bpp=[0.04], pipelines=["rdo", "paper"], anchors=["x264"],
                      profiles=["literature"], cli_check=False, refine=0, out=str(tmp_path))
    res = run(cfg, log=lambda m: None)
    assert seen.count(("snerv-b", "rdo")) == 3 and seen.count(("snerv-b", "paper")) == 3
    assert seen.count(("hnerv", "rdo")) == 1  # HNeRV runs with the first pipeline only
    rows = res["summary"]["tiny"]
    assert {"rdo: x264/literature", "paper: x264/literature", "rdo vs paper"} <= set(rows)
    assert rows["rdo vs paper"]["rgb_psnr"]["bd_rate"] < -10  # rdo is 1-1.5 dB better at every rate
    assert rows["rdo: x264/literature"]["rgb_psnr"]["bd_rate"] < rows["paper: x264/literature"]["rgb_psnr"]["bd_rate"]
    assert "rdo vs paper" in markdown(res)


def test_changed_code_encodes_again_and_anchors_stay_cached(carphone_path, tmp_path, monkeypatch):
    """Our own points are keyed on the package's source digest: a changed encoder never reuses the old
    encoder's points, while the anchors (not our code) stay cached."""
    clip = ClipSpec("tiny", str(carphone_path), frames="0:2", size="32x48")
    cfg = BenchConfig(clips=[clip], snerv_bpp=[20.0], hnerv_bpp=[], anchors=["x264"], profiles=["literature"],
                      crf=[30, 40], epochs=1, device="cpu", out=str(tmp_path))
    run(cfg, log=lambda m: None)
    monkeypatch.setattr(runner, "code_digest", lambda: "changed")
    logs = []
    run(cfg, log=logs.append)
    ours = [m for m in logs if "snerv-b" in m]
    assert ours and not any("cached" in m for m in ours)
    assert any("x264" in m and "cached" in m for m in logs)


def test_source_digest_follows_every_source_file(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    (tmp_path / "pkg" / "a.py").write_text("x = 1\n")
    (tmp_path / "pkg" / "sub" / "b.py").write_text("y = 2\n")
    (tmp_path / "pkg" / "notes.txt").write_text("not code")
    first = source_digest(tmp_path / "pkg")
    assert len(first) == 16 and source_digest(tmp_path / "pkg") == first
    (tmp_path / "pkg" / "notes.txt").write_text("changed, still not code")
    assert source_digest(tmp_path / "pkg") == first
    (tmp_path / "pkg" / "sub" / "b.py").write_text("y = 3\n")
    assert source_digest(tmp_path / "pkg") != first
    assert len(code_digest()) == 16


def _needs_svtav1():
    import av

    if "libsvtav1" not in av.codecs_available:
        pytest.skip("this PyAV build has no libsvtav1 encoder")


@pytest.mark.parametrize("profile", ["literature", "strong"])
def test_av1_anchor_encodes_decodes_and_rate_falls_with_crf(small, profile):
    _needs_svtav1()
    rates, psnrs = [], []
    for crf in (20, 40, 60):
        r = encode_anchor(small.frames, Fraction(25), "av1", profile, crf)
        assert r.frames.shape == small.frames.shape
        assert r.sei_bytes == 2 * len(small.frames)  # one temporal delimiter OBU a frame, excluded
        m = evaluate(r.frames, small.frames, r.bytes)
        rates.append(m["bpp"])
        psnrs.append(m["rgb_psnr"])
    assert rates[0] > rates[1] > rates[2] and psnrs[0] > psnrs[2] > 20
    assert r.options["crf"] == "60" and r.options["preset"] == ("8" if profile == "literature" else "2")


def test_av1_strong_is_one_gop_tuned_for_psnr():
    opts = options_for("av1", "strong", 30, 96)
    assert opts["g"] == "96" and "keyint=96" in opts["svtav1-params"] and "tune=1" in opts["svtav1-params"]
    assert "scd=0" in opts["svtav1-params"]
