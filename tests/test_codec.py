import numpy as np
import pytest
import torch

import snervcodec
from snervcodec.codec import CompressionConfig, decode, encode, info
from snervcodec.errors import BudgetError, ConfigError
from snervcodec.metrics import psnr_per_frame
from snervcodec.video import read_video


def _psnr(a: np.ndarray, b: np.ndarray) -> float:
    ta = torch.from_numpy(a).permute(0, 3, 1, 2).float() / 255
    tb = torch.from_numpy(b).permute(0, 3, 1, 2).float() / 255
    return float(psnr_per_frame(ta, tb).mean())


@pytest.fixture(scope="module")
def clip(carphone_path):
    return read_video(carphone_path, frames="0:6", size="36x44")


@pytest.fixture(scope="module")
def encoded(clip, tmp_path_factory):
    out = tmp_path_factory.mktemp("enc") / "clip.snv"
    res = encode(clip, out, c1=16, n_rb=1, epochs=30, device="cpu", precision="fp32", progress=False,
                 compression=CompressionConfig(chunk_frames=4, pipeline="paper"))
    return res, out


def test_round_trip_matches_encoder_report(clip, encoded):
    res, out = encoded
    assert out.stat().st_size == res.bytes
    assert res.bpp == pytest.approx(8 * res.bytes / (36 * 44 * 6))
    dec = decode(out, device="cpu")
    assert dec.frames.shape == clip.frames.shape and dec.fps == clip.meta.fps
    assert _psnr(dec.frames, clip.frames) == pytest.approx(res.psnr, abs=1e-4)
    assert res.psnr > 18 and abs(res.psnr - res.float_psnr) < 1.5


def test_decoding_is_deterministic(encoded):
    _, out = encoded
    assert np.array_equal(decode(out, device="cpu").frames, decode(out, device="cpu").frames)


def test_random_access(encoded):
    _, out = encoded
    full = decode(out, device="cpu").frames
    for spec, sl in [("2:5", slice(2, 5)), ("5:6", slice(5, 6)), ("0:1", slice(0, 1)), ("4", slice(0, 4))]:
        part = decode(out, frames=spec, device="cpu")
        assert np.array_equal(part.frames, full[sl])
    with pytest.raises(ConfigError):
        decode(out, frames="3:9")


def test_pruned_weights_decode_as_exact_zero(encoded):
    res, out = encoded
    from snervcodec.codec import parse_stream
    from snervcodec.codec.weights import decode_weights

    ps = parse_stream(out.read_bytes())
    state = decode_weights(ps.weights, ps.shapes)
    w = torch.cat([v.flatten() for k, v in state.items() if v.dim() > 1])
    assert (w == 0).float().mean() >= 0.099  # 10% pruned, stored as exact zeros


def test_info_reports_sections(encoded):
    res, out = encoded
    d = info(out)
    assert d["frames"] == 6 and (d["height"], d["width"]) == (36, 44) and d["model"] == "snerv-b"
    assert d["bytes"] == res.bytes
    assert sum(s["bytes"] for s in d["sections"].values()) == res.bytes
    assert d["weight_zero_fraction"] >= 0.099


def test_entropy_report(encoded):
    res, _ = encoded
    for part in ("weights", "embeddings"):
        e = res.entropy[part]
        assert e["coded_bits"] >= e["entropy_bits"] * 0.99 and e["side_bits"] > 0


@pytest.mark.parametrize("hw", [(23, 37), (1, 5)])
def test_odd_sizes_round_trip(carphone_path, hw, tmp_path):
    v = read_video(carphone_path, frames="0:2", size=f"{hw[0]}x{hw[1]}")
    res = encode(v, tmp_path / "odd.snv", c1=8, n_rb=0, epochs=2, device="cpu", progress=False)
    dec = decode(tmp_path / "odd.snv", tmp_path / "odd.y4m", device="cpu", keep_frames=True)
    assert dec.frames.shape == (2, *hw, 3)
    back = read_video(tmp_path / "odd.y4m")
    assert np.array_equal(back.frames, dec.frames)
    assert res.bytes == (tmp_path / "odd.snv").stat().st_size


def test_hnerv_round_trip(clip, tmp_path):
    res = encode(clip, tmp_path / "h.snv", model="hnerv", c1=16, n_rb=0, epochs=3, device="cpu", progress=False)
    d = decode(tmp_path / "h.snv", device="cpu")
    assert _psnr(d.frames, clip.frames) == pytest.approx(res.psnr, abs=1e-4)
    assert info(tmp_path / "h.snv")["ll_range_bits"] == 0


def test_output_equal_to_input_is_refused(carphone_path, tmp_path):
    src = tmp_path / "in.mp4"
    src.write_bytes(carphone_path.read_bytes())
    with pytest.raises(ConfigError, match="overwrite the input"):
        encode(src, src, c1=8, epochs=1, progress=False)
    assert src.read_bytes() == carphone_path.read_bytes()


def test_interrupted_encode_leaves_existing_output(clip, tmp_path, monkeypatch):
    out = tmp_path / "keep.snv"
    out.write_bytes(b"old")
    from snervcodec.training import trainer as tr

    def interrupted(self, *a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(tr.Trainer, "run_phase", interrupted)
    with pytest.raises(KeyboardInterrupt):
        encode(clip, out, c1=8, epochs=1, progress=False)
    assert out.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["keep.snv"]


def test_budget_too_small_names_smallest_bpp(clip):
    with pytest.raises(BudgetError, match=r"smallest achievable for this video is about [0-9.]+ bpp"):
        encode(clip, bpp=0.001, epochs=1, progress=False)


def test_rate_control_lands_within_5_percent(carphone_path):
    v = read_video(carphone_path, frames="0:8", size="72x88")
    target = 2.0
    res = encode(v, bpp=target, epochs=2, device="cpu", progress=False)
    assert abs(res.bpp / target - 1) <= 0.05, (res.bpp, res.compression)


def test_public_api():
    assert callable(snervcodec.encode) and callable(snervcodec.decode) and callable(snervcodec.info)


def test_encoding_twice_gives_identical_streams(carphone_path):
    v = read_video(carphone_path, frames="0:2", size="24x32")
    a = encode(v, c1=8, n_rb=0, epochs=2, device="cpu", precision="fp32", progress=False, seed=3)
    b = encode(v, c1=8, n_rb=0, epochs=2, device="cpu", precision="fp32", progress=False, seed=3)
    assert a.stream == b.stream
    assert np.array_equal(decode(a.stream).frames, decode(b.stream).frames)


def test_host_frames_round_like_the_planar_layout():
    """Frames leave the device rounded and transposed there: same bytes as rounding the N, C, H, W
    frames and transposing on the host, padding cropped, values outside [0, 1] and halves included."""
    from snervcodec.codec.decode import _HostFrames

    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 10, 14, generator=g) * 1.4 - 0.2
    x[0, 0, 0, :4] = torch.tensor([0.5, 1.5, 2.5, 254.5]) / 255  # exact halves, round to even
    crop = x[1:, :, :9, :13]
    k0, got = _HostFrames(7, crop).result()
    want = crop.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy()
    assert k0 == 7 and got.shape == (2, 9, 13, 3) and got.flags["C_CONTIGUOUS"]
    np.testing.assert_array_equal(got, want)
    k0, got = _HostFrames(0, x).result()
    np.testing.assert_array_equal(got, x.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).numpy())


@pytest.mark.parametrize("batch", [1, 3])
def test_batches_arrive_in_order_whole(encoded, batch):
    """Each batch is handed on while the next is synthesised: all frames, in order, once."""
    _, out = encoded
    full = decode(out, device="cpu", batch_size=batch).frames
    assert full.shape[0] == 6
    for k in range(6):  # frame k is frame k: one-frame decodes are in the same batches
        np.testing.assert_array_equal(decode(out, device="cpu", batch_size=batch, frames=f"{k}:{k + 1}").frames[0],
                                      full[k])
