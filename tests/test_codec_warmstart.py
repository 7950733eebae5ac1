"""--warm-start (issue 30): segment k+1's network starts from segment k's float network; serial,
resumable, and the stream stays as it was (every segment decodes on its own)."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from snervcodec.codec import decode, encode, info
from snervcodec.errors import ConfigError
from snervcodec.training import Trainer
from snervcodec.video import read_video, write_video

TINY = dict(c1=8, n_rb=0, device="cpu", precision="fp32", progress=False)


@pytest.fixture(scope="module")
def twice(carphone_path, tmp_path_factory) -> Path:
    """Eight carphone frames at 32x48, then the same eight again: segment 1 is segment 0's content."""
    a = read_video(carphone_path, frames="0:8", size="32x48").frames
    path = tmp_path_factory.mktemp("warm") / "twice.y4m"
    write_video(path, np.concatenate([a, a]), 25)
    return path


def _fits(monkeypatch):
    """Spy on every fit phase: (decoder state at its start, at its end, its first evaluation's PSNR)."""
    seen, real = [], Trainer.run_phase

    def spy(self, phase, *args, **kw):
        if phase.name != "fit":
            return real(self, phase, *args, **kw)
        start, n = {k: v.clone() for k, v in self.decoder.state_dict().items()}, len(self.history)
        real(self, phase, *args, **kw)
        seen.append((start, {k: v.clone() for k, v in self.decoder.state_dict().items()}, self.history[n]["psnr"]))

    monkeypatch.setattr(Trainer, "run_phase", spy)
    return seen


def _encode(path, out, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the y4m is 12-bit 4:4:4, read as 8-bit RGB
        return encode(path, out, segment_frames=8, epochs=6, **TINY, **kw)


def _same(a: dict, b: dict) -> bool:
    return a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)


def test_a_warm_segment_starts_from_the_previous_float_network(twice, tmp_path, monkeypatch):
    seen = _fits(monkeypatch)
    lines = []
    warm = _encode(twice, tmp_path / "w.snv", warm_start=True, log=lines.append)
    (_, end0, _), (start1, _, first_warm) = seen
    assert _same(start1, end0)  # segment 1's fit began where segment 0's ended
    assert "warm-started from segment 0" in lines[1] and "warm-started" not in lines[0]
    assert [s["warm_started"] for s in warm.compression["segments"]] == [False, True]
    seen.clear()
    cold = _encode(twice, tmp_path / "c.snv")
    (_, end0, _), (start1, _, first_cold) = seen
    assert not _same(start1, end0) and not any(s["warm_started"] for s in cold.compression["segments"])
    assert first_warm > first_cold + 0.5, (first_warm, first_cold)  # after one epoch (+1.1 dB on 2 threads)
    # the stream is as before: two independently decodable segments
    assert [s["frames"] for s in info(tmp_path / "w.snv")["segments"]] == [[0, 8], [8, 16]]
    assert np.array_equal(decode(tmp_path / "w.snv", frames="8:16", device="cpu").frames,
                          decode(tmp_path / "w.snv", device="cpu").frames[8:])


def test_warm_start_is_in_the_fingerprint():
    from snervcodec.requests import EncodeRequest, OutputRequest, VideoRequest

    cold = EncodeRequest(VideoRequest.of("a.mp4"), output=OutputRequest("a.snv", segment_frames=8))
    warm = EncodeRequest(VideoRequest.of("a.mp4"), output=OutputRequest("a.snv", segment_frames=8, warm_start=True))
    assert cold.fingerprint("cpu") != warm.fingerprint("cpu")


class Interrupted(Exception):
    pass


def test_an_interrupted_warm_encode_resumes_to_the_same_bytes(carphone_path, tmp_path, monkeypatch):
    from snervcodec.codec import warmstart
    from snervcodec.codec.parts import PartStore

    opts = dict(frames="0:12", size="32x48", segment_frames=4, epochs=2, warm_start=True, **TINY)
    ref = encode(carphone_path, tmp_path / "ref.snv", **opts)
    out = tmp_path / "out.snv"
    save = PartStore.save

    def save_then_stop(self, part):
        save(self, part)
        raise Interrupted

    monkeypatch.setattr(PartStore, "save", save_then_stop)
    with pytest.raises(Interrupted):
        encode(carphone_path, out, **opts)
    monkeypatch.undo()
    store = PartStore(out)
    assert sorted(f.name for f in store.dir.iterdir()) == ["segment-00000.float", "segment-00000.part"]
    res = encode(carphone_path, out, **opts)
    assert res.resumed == [0] and out.read_bytes() == ref.stream and not store.dir.exists()
    # a part without its float network is encoded again (segment 1 needs it), to the same bytes
    monkeypatch.setattr(PartStore, "save", save_then_stop)
    with pytest.raises(Interrupted):
        encode(carphone_path, out, **opts)
    monkeypatch.undo()
    warmstart.net_path(store, 0).write_bytes(b"SNVWARM1damaged")
    lines = []
    res = encode(carphone_path, out, log=lines.append, **opts)
    assert res.resumed == [] and out.read_bytes() == ref.stream
    assert any("float network is not kept" in m for m in lines)
    # a cold run's parts are not a warm run's
    monkeypatch.setattr(PartStore, "save", save_then_stop)
    with pytest.raises(Interrupted):
        encode(carphone_path, out, **{**opts, "warm_start": False})
    monkeypatch.undo()
    with pytest.warns(UserWarning, match="other settings"):
        assert encode(carphone_path, out, **opts).resumed == []


def test_the_float_network_file_is_checked(tiny_clip):
    from snervcodec.codec.warmstart import StartNet, snapshot
    from snervcodec.models.choose import model_config

    cfg, geo = model_config("snerv-b", 48, 64, c1=8, n_rb=0)
    net = snapshot(Trainer(tiny_clip, cfg, geo, _tcfg(), device="cpu"))
    data = net.to_bytes("fp")
    back = StartNet.from_bytes(data, "fp")
    assert back is not None and back.digest == net.digest
    assert StartNet.from_bytes(data, "another part") is None
    assert StartNet.from_bytes(data[:-1] + bytes([data[-1] ^ 1]), "fp") is None
    assert StartNet.from_bytes(data[:40], "fp") is None


def _tcfg():
    from snervcodec.training import make_train_config

    return make_train_config(epochs=1, precision="fp32")


def test_a_network_of_another_shape_starts_fresh(tiny_clip):
    from snervcodec.codec.warmstart import WarmStart, snapshot
    from snervcodec.models.choose import model_config

    small, geo = model_config("snerv-b", 48, 64, c1=8, n_rb=0)
    large, _ = model_config("snerv-b", 48, 64, c1=12, n_rb=0)
    lines = []
    warm = WarmStart(lines.append, snapshot(Trainer(tiny_clip, small, geo, _tcfg(), device="cpu")), segment=1)
    tr = Trainer(tiny_clip, large, geo, _tcfg(), device="cpu")
    before = {k: v.clone() for k, v in tr.decoder.state_dict().items()}
    warm.begin(tr)
    assert _same(before, tr.decoder.state_dict()) and warm.started == []
    assert lines == ["segment 1: its network's shape differs from segment 0's, starting it fresh"]


def test_warm_start_is_refused_under_several_ranks(carphone_path, tmp_path, monkeypatch):
    from click.testing import CliRunner

    from snervcodec.cli import cli

    monkeypatch.setenv("WORLD_SIZE", "2")
    with pytest.raises(ConfigError, match="one after another"):
        encode(carphone_path, tmp_path / "o.snv", frames="0:8", size="32x48", segment_frames=4, warm_start=True,
               epochs=1, **TINY)
    assert not (tmp_path / "o.snv").exists()
    r = CliRunner().invoke(cli, ["encode", str(carphone_path), "-o", str(tmp_path / "o.snv"), "--frames", "0:8",
                                 "--segment-frames", "4", "--warm-start", "-q"])
    assert r.exit_code != 0 and "one after another" in r.output
    assert "--warm-start" in CliRunner().invoke(cli, ["encode", "--help"]).output
