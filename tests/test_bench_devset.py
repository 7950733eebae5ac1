"""The dev set (snerv bench --set dev): declared sizes, determinism, and the motion each clip claims."""

import numpy as np
import pytest

pytest.importorskip("skimage", reason="scikit-image (the bench/dev extra) ships the dev set's photographs")

from snervcodec.bench.devset import DEV_SET, RealClip, Synthetic, clip_spec, synthesize
from snervcodec.bench.report import across_clips
from snervcodec.video.io import SCENE_CUT, scene_change

SYNTH = {e.name: e for e in DEV_SET if isinstance(e, Synthetic)}
TINY = {"frames": 8, "size": (32, 48)}


def test_dev_set_is_large_diverse_and_cpu_sized():
    assert len(DEV_SET) >= 8 and len({e.name for e in DEV_SET}) == len(DEV_SET)
    for e in SYNTH.values():
        assert e.frames >= 60 and e.size[0] <= 192 and e.size[1] <= 384 and e.size[0] % 2 == e.size[1] % 2 == 0
    assert {"pan-slow", "pan-fast", "zoom", "rotate", "sprite", "scene-cut"} <= set(SYNTH)
    assert any(isinstance(e, RealClip) and e.file for e in DEV_SET)


def test_full_size_clips_stay_inside_their_photos():
    for e in SYNTH.values():  # raises if any frame samples outside its photograph
        f = synthesize(e, frames=e.frames, size=e.size)
        assert f.shape == (e.frames, *e.size, 3) and f.dtype == np.uint8


@pytest.mark.parametrize("name", sorted(SYNTH))
def test_tiny_variant_has_the_asked_shape_and_is_deterministic(name):
    a, b = synthesize(SYNTH[name], **TINY), synthesize(SYNTH[name], **TINY)
    assert a.shape == (8, 32, 48, 3) and np.array_equal(a, b)
    assert np.abs(np.diff(a.astype(int), axis=0)).mean() > 0.1  # something moves


def test_pan_frame_k_is_frame_0_shifted_by_k_times_speed():
    f = synthesize(SYNTH["pan-slow"], **TINY).astype(int)  # 0.5 px/frame to the right
    for k, shift in ((2, 1), (4, 2), (6, 3)):
        assert np.abs(f[k][:, :-shift] - f[0][:, shift:]).max() <= 1
    # half a pixel is not one
    assert np.abs(f[1][:, :-1] - f[0][:, 1:]).mean() > 3 * np.abs(f[2][:, :-1] - f[0][:, 1:]).mean()
    g = synthesize(SYNTH["pan-fast"], **TINY).astype(int)  # (1, 5) px/frame
    assert np.abs(g[2][:-2, :-10] - g[0][2:, 10:]).max() <= 1


@pytest.mark.parametrize("name", ["zoom", "rotate"])
def test_zoom_and_rotation_keep_the_centre(name):
    f = synthesize(SYNTH[name], frames=8, size=(33, 49)).astype(int)  # odd: a pixel at the centre
    assert np.abs(f[:, 16, 24] - f[0, 16, 24]).max() <= 1
    assert np.abs(f[-1] - f[0]).mean() > 2


def test_sprite_moves_over_a_static_background():
    f = synthesize(SYNTH["sprite"], **TINY).astype(int)
    changed = np.abs(f[1:] - f[:-1]).max(-1) > 0
    assert changed.any() and changed.mean() < 0.3  # only where the cut-out passes
    assert changed[:, :, 0].sum() == 0 or changed[:, :, -1].sum() == 0  # it enters from the left, stops short


def test_scene_cut_is_a_cut():
    f = synthesize(SYNTH["scene-cut"], **TINY)
    jumps = [scene_change(f[i], f[i + 1]) for i in range(len(f) - 1)]
    assert jumps[3] > SCENE_CUT and max(jumps[:3] + jumps[4:]) < SCENE_CUT


def test_clip_is_written_once_and_read_back_exactly(tmp_path):
    e = Synthetic("t", "tiny pan", SYNTH["pan-slow"].shots, frames=8, size=(32, 48))
    spec = clip_spec(e, tmp_path)
    v = spec.load()
    assert np.array_equal(v.frames, synthesize(e)) and spec.path.endswith(".y4m")
    mtime = (tmp_path / "devset").stat().st_mtime_ns, list((tmp_path / "devset").iterdir())
    assert clip_spec(e, tmp_path) == spec and list((tmp_path / "devset").iterdir()) == mtime[1]


def test_across_clips_median_and_worst():
    def row(v):
        return {"rgb_psnr": {"bd_rate": v}, "ms_ssim": {"bd_rate": None}}

    summary = {"a": {"x264/strong": row(-10.0)}, "b": {"x264/strong": row(30.0)}, "c": {"x264/strong": row(5.0)},
               "d": {"x264/strong": row(None), "hnerv_equal_size": []}}
    r = across_clips(summary)["x264/strong"]
    assert r == {"clips": 3, "median": 5.0, "worst_clip": "b", "worst": 30.0}


def test_bench_set_dev_runs_the_dev_set_and_refuses_clip_too(tmp_path, monkeypatch):
    from click.testing import CliRunner

    import snervcodec.bench.runner as bench_runner
    from snervcodec.bench import devset, report
    from snervcodec.cli import cli

    seen = {}
    monkeypatch.setattr(devset, "dev_set", lambda out: [bench_runner.ClipSpec("x", str(out))])
    monkeypatch.setattr(bench_runner, "run", lambda cfg, log=None: seen.setdefault("cfg", cfg) and [])
    monkeypatch.setattr(report, "write_reports", lambda results, out: [])
    res = CliRunner().invoke(cli, ["bench", "--set", "dev", "--out", str(tmp_path)])
    assert res.exit_code == 0, res.output
    assert [c.name for c in seen["cfg"].clips] == ["x"] and seen["cfg"].anchors == ["x264", "x265", "av1"]
    res = CliRunner().invoke(cli, ["bench", "--set", "dev", "--clip", "carphone", "--out", str(tmp_path)])
    assert res.exit_code != 0 and "use --set or --clip, not both" in res.output


def test_a_clip_at_another_size_keeps_its_content_and_motion(tmp_path):
    """NAME@HxW: the rules that follow the frame size (the embedding grid) measured at more than one."""
    from dataclasses import replace

    from snervcodec.bench.devset import dev_clip
    from snervcodec.errors import ConfigError

    assert dev_clip("pan-fast") is SYNTH["pan-fast"]
    e = dev_clip("pan-fast@ 96 x 128")
    assert e.name == "pan-fast@96x128" and e.size == (96, 128) and e.shots == SYNTH["pan-fast"].shots
    g = synthesize(replace(e, frames=8)).astype(int)  # the same (1, 5) px/frame at the new size
    assert g.shape == (8, 96, 128, 3) and np.abs(g[2][:-2, :-10] - g[0][2:, 10:]).max() <= 1
    spec = clip_spec(replace(e, frames=8), tmp_path)
    assert spec.name == "pan-fast@96x128" and spec.load().frames.shape == (8, 96, 128, 3)
    bikes = clip_spec(dev_clip("bikes@96x176"), tmp_path)  # a real clip: the same frames and crop, resized
    assert (bikes.name, bikes.size, bikes.frames, bikes.crop) == ("bikes@96x176", "96x176", "0:96", "272x480")
    for bad in ("nope@96x128", "nope", "zoom@97x128", "zoom@big"):
        with pytest.raises(ConfigError):
            dev_clip(bad)


def test_a_clip_larger_than_its_photo_allows_is_drawn_magnified_with_the_same_motion():
    """pan-fast at 192x384 would pan off its 427x640 photo at the declared scale: the photo is magnified
    just enough, the motion in output pixels a frame stays; at its own size nothing changes."""
    from snervcodec.bench.devset import _fit_scale, _photo, dev_clip

    e = dev_clip("pan-fast@192x384")
    shot, photo_hw = e.shots[0], _photo(e.shots[0].image).shape[:2]
    assert _fit_scale(shot, e.frames, SYNTH["pan-fast"].size, photo_hw) == shot.scale == 1.0
    assert 0.85 < _fit_scale(shot, e.frames, e.size, photo_hw) < 1.0
    g = synthesize(e).astype(int)  # raised "samples outside its photo" before
    assert g.shape == (64, 192, 384, 3)
    for k in (0, 31, 61):
        assert np.abs(g[k + 2][:-2, :-10] - g[k][2:, 10:]).max() <= 1


def test_builtin_clips_and_their_sizes(tmp_path):
    """bunny and carphone stay the runner's builtin clips (their cached x264 sweeps are keyed on the
    spec); at another size only the name and the size change."""
    from dataclasses import replace

    from snervcodec.bench.devset import dev_clip
    from snervcodec.bench.runner import builtin_clip

    for name in ("bunny", "carphone"):
        assert clip_spec(dev_clip(name), tmp_path) == builtin_clip(name)
    assert clip_spec(dev_clip("bunny@96x192"), tmp_path) == replace(builtin_clip("bunny"), name="bunny@96x192",
                                                                     size="96x192")
