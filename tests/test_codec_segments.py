"""Long videos (issue 16): segmented encoding and decoding, resume after a kill, torchrun."""

import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from snervcodec.codec import decode, encode, info
from snervcodec.metrics import psnr_per_frame
from snervcodec.video import read_video

TINY = dict(size="32x48", c1=8, n_rb=0, epochs=2, device="cpu", precision="fp32", progress=False)


def _psnr(a, b):
    ta = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
    tb = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255
    return float(psnr_per_frame(ta, tb).mean())


@pytest.fixture(scope="module")
def segmented(carphone_path, tmp_path_factory):
    out = tmp_path_factory.mktemp("seg") / "s.snv"
    res = encode(carphone_path, out, frames="0:10", segment_frames=4, **TINY)
    return res, out


def test_segmented_round_trip(segmented, carphone_path):
    res, out = segmented
    assert res.segments == 3 and out.stat().st_size == res.bytes
    d = info(out)
    assert d["format_version"] in ("1.3", "1.4")  # 1.4 when a segment predicts its embeddings
    assert [s["frames"] for s in d["segments"]] == [[0, 4], [4, 8], [8, 10]]
    assert sum(v["bytes"] for v in d["sections"].values()) == res.bytes
    dec = decode(out, device="cpu")
    src = read_video(carphone_path, frames="0:10", size="32x48")
    assert dec.frames.shape == src.frames.shape and dec.fps == src.meta.fps
    assert _psnr(dec.frames, src.frames) == pytest.approx(res.psnr, abs=1e-3)  # frame-weighted mean of the segments
    assert not Path(f"{out}.parts").exists()  # finished: the parts are gone


def test_random_access_across_a_segment_boundary(segmented):
    _, out = segmented
    full = decode(out, device="cpu").frames
    for spec, sl in (("3:6", slice(3, 6)), ("4:5", slice(4, 5)), ("7:10", slice(7, 10))):
        assert np.array_equal(decode(out, frames=spec, device="cpu").frames, full[sl]), spec


def test_one_segment_is_an_ordinary_stream(carphone_path, tmp_path):
    a = encode(carphone_path, tmp_path / "a.snv", frames="0:4", **TINY)
    b = encode(carphone_path, tmp_path / "b.snv", frames="0:4", segment_frames=8, **TINY)
    assert a.stream == b.stream and b.segments == 1 and info(b.stream)["format_version"] in ("1.2", "1.4")


def test_bpp_budget_is_for_the_whole_file(carphone_path, tmp_path):
    res = encode(carphone_path, tmp_path / "r.snv", frames="0:12", segment_frames=4, bpp=4.0,
                 **{k: v for k, v in TINY.items() if k not in ("c1", "n_rb")})
    assert res.segments == 3 and abs(res.bpp / 4.0 - 1) <= 0.05, res.bpp


def _cmd(src, out, *extra):
    return [sys.executable, "-m", "snervcodec", "encode", str(src), "-o", str(out), "--frames", "0:12", "--size",
            "32x48", "--c1", "8", "--n-rb", "0", "--epochs", "30", "--device", "cpu", "--precision", "fp32", "-q",
            "--segment-frames", "4", *extra]


# Runs the command line with the part store's save patched to SIGKILL the process once the first
# part is on disk: an encode killed at a known point (after segment 0, before segment 1), every time.
KILLED_AFTER_FIRST_PART = """
import os, signal, sys
from snervcodec.codec.parts import PartStore
save = PartStore.save
def save_then_die(self, part):
    save(self, part)
    os.kill(os.getpid(), signal.SIGKILL)
PartStore.save = save_then_die
from snervcodec.cli import main
main(sys.argv[1:])
"""


def test_resume_after_kill_gives_the_same_bytes(carphone_path, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    ref = tmp_path / "ref.snv"
    subprocess.run(_cmd(carphone_path, ref), check=True, env=env, timeout=600, capture_output=True)
    out = tmp_path / "out.snv"
    parts = Path(f"{out}.parts")
    killed = subprocess.run([sys.executable, "-c", KILLED_AFTER_FIRST_PART, *_cmd(carphone_path, out)[3:]], env=env,
                            timeout=600, capture_output=True, text=True)
    assert killed.returncode == -signal.SIGKILL, killed.stderr[-3000:]
    assert sorted(f.name for f in parts.iterdir()) == ["segment-00000.part"] and not out.exists()
    r = subprocess.run(_cmd(carphone_path, out, "-y") + ["--json"], env=env, timeout=600, capture_output=True,
                       text=True)
    assert r.returncode == 0, r.stderr
    import json

    assert json.loads(r.stdout)["resumed"] == [0]  # no repeated work on the finished segment
    assert out.read_bytes() == ref.read_bytes() and not parts.exists()


def test_settings_changed_parts_are_not_reused(carphone_path, tmp_path):
    from snervcodec.codec.parts import Part, PartStore

    out = tmp_path / "o.snv"
    PartStore(out).save(Part(0, "not-this-encode", b"junk"))
    (PartStore(out).dir / "segment-00001.part").write_bytes(b"SNVPART1garbage")
    with pytest.warns(UserWarning, match="other settings|damaged"):
        res = encode(carphone_path, out, frames="0:8", segment_frames=4, **TINY)
    assert res.resumed == [] and res.segments == 2
    assert decode(out, device="cpu").n_frames == 8


def test_torchrun_two_ranks_give_the_serial_bytes(carphone_path, tmp_path):
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    serial = tmp_path / "serial.snv"
    subprocess.run(_cmd(carphone_path, serial, "--epochs", "2"), check=True, env=env, timeout=600,
                   capture_output=True)
    out = tmp_path / "dist.snv"
    # --standalone: torchrun's own rendezvous on a free port (no port shared with other runs)
    r = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc-per-node", "2",
                        "-m", "snervcodec", *_cmd(carphone_path, out, "--epochs", "2")[3:]],
                       env=env, timeout=600, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr[-3000:]
    assert out.read_bytes() == serial.read_bytes()


def test_scene_cuts_end_segments(carphone_path, bunny_path, tmp_path):
    from snervcodec.video import write_video
    from snervcodec.video.io import SCENE_CUT, iter_segments, scene_change

    a = read_video(carphone_path, frames="0:10", size="32x48").frames
    b = read_video(bunny_path, frames="0:9", size="32x48").frames
    clip = tmp_path / "two_shots.y4m"
    write_video(clip, np.concatenate([a, b]), 25)
    assert scene_change(a[-1], b[0]) > SCENE_CUT > max(scene_change(a[i], a[i + 1]) for i in range(9))
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert [len(v.frames) for v in iter_segments(clip, 100, scene_cut=SCENE_CUT)] == [10, 9]
        assert [len(v.frames) for v in iter_segments(clip, 7, scene_cut=SCENE_CUT)] == [7, 7, 5]  # >= 8 frames per cut
        res = encode(clip, tmp_path / "s.snv", scene_cuts=True, **TINY)
    assert [s["frames"] for s in info(tmp_path / "s.snv")["segments"]] == [[0, 10], [10, 19]] and res.segments == 2


def test_a_clip_too_large_for_memory_is_segmented_by_default(carphone_path, tmp_path, monkeypatch):
    from snervcodec.training import memory

    px = 32 * 48
    per_frame = px * (memory.HOST_BYTES_PER_PIXEL + memory.DATA_BYTES_PER_PIXEL)
    host = memory.device_memory(torch.device("cpu"))
    monkeypatch.setattr(memory, "CLIP_MEMORY_SHARE", (8.5 * per_frame) / host)  # room for 8 frames
    lines = []
    res = encode(carphone_path, tmp_path / "a.snv", frames="0:20", log=lines.append, **TINY)
    assert res.segments == 3 and "segments of 8 frames" in lines[0]
    assert [s["frames"] for s in info(tmp_path / "a.snv")["segments"]] == [[0, 8], [8, 16], [16, 20]]
    # with memory to spare, the same call is one ordinary stream
    monkeypatch.undo()
    assert encode(carphone_path, tmp_path / "b.snv", frames="0:20", **TINY).segments == 1


def test_time_limit_bounds_the_whole_encode_and_segments_share_it(carphone_path, tmp_path, monkeypatch):
    """--time-limit is the encode's wall clock: the training gets what is left after reading, less
    the tail's reserve, and each segment its frames' share of what remains. The segmented encoder's
    clock is one the test moves (reading a segment takes 0.125 s, a segment its whole share), so the
    sums are exact whatever the machine's speed."""
    import types

    import snervcodec.codec.segmented as seg
    from snervcodec.codec.plan import TAIL_SHARE, within_time

    now = [1000.0]
    monkeypatch.setattr(seg, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    given, real_reader, real_one = [], seg.iter_segments, seg._encode_one

    def spy(p, left, share=1.0):
        out = within_time(p, left, share)
        given.append((left, share, out.tcfg.time_limit))
        return out

    def reader(*args, **kw):
        for video in real_reader(*args, **kw):
            now[0] += 0.125
            yield video

    def encode_one(run, video, k, p, fp):
        part = real_one(run, video, k, p, fp)
        now[0] += p.tcfg.time_limit / (1 - TAIL_SHARE)  # its training limit, then the tail's reserve
        return part

    monkeypatch.setattr(seg, "within_time", spy)
    monkeypatch.setattr(seg, "iter_segments", reader)
    monkeypatch.setattr(seg, "_encode_one", encode_one)
    opts = {**TINY, "epochs": None, "time_limit": 3.0}
    res = encode(carphone_path, tmp_path / "t.snv", frames="0:8", segment_frames=4, **opts)
    assert res.segments == 2 and [s for _, s, _ in given] == [0.5, 1.0]  # 4 of 8 frames, then the rest
    (left0, _, t_first), (left1, _, t_second) = given
    assert left0 == pytest.approx(3.0 - 2 * 0.125)  # both segments read (one ahead) before training
    assert t_first == pytest.approx(0.5 * left0 * (1 - TAIL_SHARE))
    assert left1 == pytest.approx(left0 - t_first / (1 - TAIL_SHARE))
    assert t_second == pytest.approx(left1 * (1 - TAIL_SHARE))
    assert now[0] - 1000.0 == pytest.approx(3.0)  # one limit for the encode, not one per segment
    from snervcodec.codec.plan import EncodePlan
    from snervcodec.training import make_train_config

    no_limit = EncodePlan(None, None, make_train_config(epochs=1), None, None)
    assert within_time(no_limit, 5.0) is no_limit  # epochs, not time: the plan as it is


def test_parts_of_other_code_are_not_reused(tmp_path, monkeypatch):
    """A part is keyed on the package's source, not only its version number: after a code change a
    resumed encode encodes the segment again instead of mixing two encoders' segments."""
    from snervcodec.codec import parts

    settings, frames = {"bpp": 0.1, "seed": 0}, np.arange(2 * 4 * 4 * 3, dtype=np.uint8).reshape(2, 4, 4, 3)
    store = parts.PartStore(tmp_path / "o.snv")
    store.save(parts.Part(0, parts.fingerprint(settings, frames, 0), b"payload"))
    assert store.load(0, parts.fingerprint(settings, frames, 0)).payload == b"payload"  # the same code: reused
    monkeypatch.setattr(parts, "code_digest", lambda: "changed", raising=False)
    with pytest.warns(UserWarning, match="other settings"):
        assert store.load(0, parts.fingerprint(settings, frames, 0)) is None
