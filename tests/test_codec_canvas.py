"""Encoding with a canvas (``--canvas auto``): the camera's pan drawn once, frames as its windows."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from snervcodec.codec import CompressionConfig, decode, encode, info, parse_stream
from snervcodec.errors import ConfigError
from snervcodec.metrics import psnr_per_frame
from snervcodec.models.choose import model_config
from snervcodec.training import Trainer, make_train_config
from snervcodec.video import write_video
from snervcodec.video.canvas import plan_canvas

TINY = dict(c1=8, n_rb=0, epochs=2, device="cpu", precision="fp32", progress=False)


@pytest.fixture(scope="module")
def pan(carphone_path):
    """12 windows of 32x48 panning (1, 3) pixels a frame over one carphone frame."""
    from snervcodec.video import read_video

    scene = read_video(carphone_path, frames="0:1", size="72x88").frames[0]
    return np.stack([scene[k:k + 32, 3 * k:3 * k + 48] for k in range(12)])


@pytest.fixture(scope="module")
def encoded(request):
    """The rdo default's encode of a clip fixture, once a module."""
    cache = {}

    def get(clip):
        if clip not in cache:
            cache[clip] = encode(request.getfixturevalue(clip), **TINY)
        return cache[clip]
    return get


def _psnr(a, b):
    a, b = (torch.from_numpy(x).permute(0, 3, 1, 2).float() / 255 for x in (a, b))
    return float(psnr_per_frame(a, b).mean())


def test_a_pan_is_drawn_on_a_canvas(pan, encoded):
    res = encoded("pan")
    ps = parse_stream(res.stream)
    assert ps.version == (1, 7) and ps.header.canvas == 1
    assert (ps.header.height, ps.header.width) == (32, 48)
    assert ps.header.height + ps.header.pad_h >= 32 + 11 and ps.header.width + ps.header.pad_w >= 48 + 33
    assert ps.offsets.tolist() == [[k, 3 * k] for k in range(12)]
    dec = decode(res.stream)
    assert dec.frames.shape == pan.shape
    assert res.psnr == pytest.approx(_psnr(dec.frames, pan), abs=1e-3)  # measured on the decoded windows
    assert info(res.stream)["canvas"]["travel"] == [11, 33]
    part = decode(res.stream, frames="5:7").frames  # random access: the windows of frames 5 and 6
    assert np.array_equal(part, dec.frames[5:7])


def test_the_default_draws_a_pan_on_a_canvas_and_a_still_camera_not(pan, encoded):
    assert parse_stream(encoded("pan").stream).header.canvas == 1  # the rdo default: auto
    assert parse_stream(encode(pan, canvas="off", **TINY).stream).header.canvas == 0
    still = np.repeat(pan[:1], 6, axis=0)
    ps = parse_stream(encode(still, canvas="auto", **TINY).stream)
    assert ps.header.canvas == 0 and ps.version[1] < 7


def test_canvas_is_for_the_rdo_pipeline(pan):
    with pytest.raises(ConfigError, match="rdo pipeline"):
        encode(pan, canvas="auto", compression=CompressionConfig(pipeline="paper"), **TINY)
    with pytest.raises(ConfigError, match="canvas mode"):
        encode(pan, canvas="on", **TINY)


def test_segments_draw_their_frames(pan, tmp_path):
    src = tmp_path / "pan.y4m"
    write_video(src, pan, 25)
    lines = []
    res = encode(src, tmp_path / "s.snv", segment_frames=6, canvas="auto", log=lines.append, **TINY)
    assert any("--canvas" in line for line in lines)
    assert res.psnr > 0 and decode(tmp_path / "s.snv").frames.shape == pan.shape


def test_trainer_measures_the_windows(pan):
    """The loss sees each frame's window only, and evaluation compares the windows with the frames."""
    from snervcodec.models.geometry import crop_windows
    from snervcodec.models.synthesis import synthesize

    canvas = plan_canvas(pan)
    cfg, geo = model_config("snerv-b", canvas.height, canvas.width, c1=8, n_rb=0)
    tr = Trainer(pan, cfg, geo, make_train_config(None, epochs=1, precision="fp32"), device="cpu", canvas=canvas)
    assert tuple(tr.data.frames.shape[-2:]) == geo.padded_hw and tr.data.known is not None
    idx = torch.arange(12)
    b = tr.data.batch(idx)
    with torch.no_grad():
        out = synthesize(tr.decoder.eval(), cfg, tr.encoder.eval()(b.ll_norm), b.ll_min, b.ll_max).frame
    rec = crop_windows(out.clamp(0, 1), torch.from_numpy(canvas.offsets), 32, 48)
    ref = torch.from_numpy(pan).permute(0, 3, 1, 2).float() / 255
    assert tr.evaluate(with_msssim=False)["psnr"] == pytest.approx(float(psnr_per_frame(rec, ref).mean()), abs=1e-4)


def test_where_a_canvas_does_not_fit_the_frames_are_drawn(pan, monkeypatch):
    """A canvas too large for memory, or whose smallest network does not fit the rate, falls back to
    the frames (an encode that worked without a canvas still works)."""
    import snervcodec.codec.plan as plan_mod
    from snervcodec.errors import BudgetError

    monkeypatch.setattr(plan_mod, "frames_that_fit", lambda pixels, device: 6)  # 12 frames: too many
    assert parse_stream(encode(pan, canvas="auto", **TINY).stream).header.canvas == 0
    monkeypatch.undo()
    network = plan_mod._network

    def no_canvas_budget(req, h, w, t, canvas):
        if canvas is not None:
            raise BudgetError("too small")
        return network(req, h, w, t, canvas)

    monkeypatch.setattr(plan_mod, "_network", no_canvas_budget)
    assert parse_stream(encode(pan, canvas="auto", **TINY).stream).header.canvas == 0


@pytest.fixture(scope="module")
def turn(carphone_path):
    """12 views of 32x48 turning 3 degrees a frame about the centre of one carphone frame."""
    from motion import turning
    from snervcodec.video import read_video

    scene = read_video(carphone_path, frames="0:1", size="72x88").frames[0]
    return turning(scene.astype(np.float32), 12, 32, 48, degrees=3.0)


def test_a_turn_is_drawn_as_warped_views_of_a_canvas(turn, encoded):
    res = encoded("turn")  # the rdo default: canvas auto
    ps = parse_stream(res.stream)
    assert ps.version == (1, 8) and ps.header.canvas == 2 and ps.offsets is None
    assert (ps.header.height, ps.header.width) == (32, 48) and ps.warps.shape == (12, 4)
    dec = decode(res.stream)
    assert dec.frames.shape == turn.shape
    assert res.psnr == pytest.approx(_psnr(dec.frames, turn), abs=1e-3)  # measured on the decoded views
    assert info(res.stream)["canvas"]["turn_degrees"] == pytest.approx([0.0, 33.0], abs=0.3)
    assert np.array_equal(decode(res.stream, frames="5:7").frames, dec.frames[5:7])  # random access


def test_trainer_measures_and_trains_the_views(turn):
    """Evaluation samples each frame's view of the canvas; the loss's frame term compares that view
    with the frame itself (the low and high bands stay on the painted canvas, masked)."""
    from snervcodec.models.synthesis import synthesize
    from snervcodec.training.loss import fusion_loss, snerv_loss
    from snervcodec.models.geometry import sample_views

    canvas = plan_canvas(turn)
    assert canvas.warps is not None
    cfg, geo = model_config("snerv-b", canvas.height, canvas.width, c1=8, n_rb=0)
    tr = Trainer(turn, cfg, geo, make_train_config(None, epochs=1, precision="fp32"), device="cpu", canvas=canvas)
    idx = torch.arange(12)
    b = tr.data.batch(idx)
    assert b.target.shape == (12, 3, 32, 48) and torch.equal(b.warps, torch.from_numpy(canvas.warps))
    with torch.no_grad():
        out = synthesize(tr.decoder.eval(), cfg, tr.encoder.eval()(b.ll_norm), b.ll_min, b.ll_max)
    views = sample_views(out.frame, torch.from_numpy(canvas.warps), 32, 48)
    ref = torch.from_numpy(turn).permute(0, 3, 1, 2).float() / 255
    assert tr.evaluate(with_msssim=False)["psnr"] == pytest.approx(float(psnr_per_frame(views.clamp(0, 1), ref).mean()),
                                                                  abs=1e-4)
    # the sensitivity that trims an over-budget file is the views' MSE gradient too
    sens = tr.sensitivity(tr.decoder, frames=2)
    head = dict(tr.decoder.named_parameters())["head.weight"]
    grad = 0
    for i in (0, 11):
        b1 = tr.data.batch(torch.tensor([i]))
        o1 = synthesize(tr.decoder, cfg, tr.encoder(b1.ll_norm), b1.ll_min, b1.ll_max)
        view = sample_views(o1.frame, torch.from_numpy(canvas.warps[i:i + 1]), 32, 48)
        grad = grad + torch.autograd.grad(fusion_loss(view, ref[i:i + 1], None, "psnr"), head)[0].square()
    assert torch.allclose(sens["head.weight"], grad, rtol=1e-4, atol=1e-12)
    plain = replace(b, target=None, warps=None)
    assert float(snerv_loss(out, b) - snerv_loss(out, plain)) == pytest.approx(
        float(fusion_loss(views, ref) - fusion_loss(out.frame, b.frame, b.known)), abs=1e-5)


@pytest.mark.parametrize("clip", ["pan", "turn"])
def test_decoding_draws_only_what_the_views_read(clip, encoded, monkeypatch):
    """Each batch of frames is drawn from the part of the canvas its views read: the frames of drawing the
    whole canvas (a float sum may round apart: never by more than a level, here not at all)."""
    import importlib

    dec_mod = importlib.import_module("snervcodec.codec.decode")
    stream = encoded(clip).stream
    drawn = []
    window = dec_mod.synthesize

    def spy(*args):
        drawn.append(args[-1])
        return window(*args)

    monkeypatch.setattr(dec_mod, "synthesize", spy)
    part = decode(stream, batch_size=2).frames
    assert len(drawn) == 6 and all(w is not None for w in drawn)
    ps = parse_stream(stream)
    assert max((w.bottom - w.top) * (w.right - w.left) for w in drawn) < np.prod(ps.cfg.frame_hw)
    monkeypatch.setattr(dec_mod, "views_window", lambda *a: None)
    monkeypatch.setattr(dec_mod, "offsets_window", lambda *a: None)
    whole = decode(stream, batch_size=2).frames
    assert drawn[-1] is None
    assert np.abs(part.astype(int) - whole.astype(int)).max() <= 1 and np.mean(part != whole) < 1e-3


@pytest.mark.parametrize("clip, frame", [("pan", 9), ("pan", 11), ("turn", 1)])
def test_a_step_draws_only_what_its_loss_reads(clip, frame, request):
    """The part of the canvas a frame's loss reads (its view's taps, its known pixels): drawn alone, the loss
    and every gradient are the whole canvas's (to float rounding), for a fraction of the pixels. A step on a
    canvas of windows draws it; warped views and compiled steps draw the whole canvas."""
    from snervcodec.training.loss import snerv_loss

    frames = request.getfixturevalue(clip)
    canvas = plan_canvas(frames)
    cfg, geo = model_config("snerv-b", canvas.height, canvas.width, c1=8, n_rb=0)
    tr = Trainer(frames, cfg, geo, make_train_config(None, epochs=1, precision="fp32"), device="cpu", canvas=canvas)
    idx = torch.tensor([frame])
    win = tr.loss_window(idx)
    assert tr.step_window(idx) == (win if clip == "pan" else None)  # warped views train on the whole canvas
    hp, wp = geo.padded_hw
    assert win is not None and (win.bottom - win.top) * (win.right - win.left) < 0.8 * hp * wp
    params = list(tr.decoder.parameters()) + list(tr.encoder.parameters())
    results = []
    for w in (None, win):
        b, out, _, _ = tr._forward(idx, window=w)
        assert (out.region is None) == (w is None)
        loss = snerv_loss(out, b.cut(out.region), tr.tcfg.loss_weights, tr.tcfg.tune)
        results.append((loss, torch.autograd.grad(loss, params, allow_unused=True)))
    (whole, g_whole), (part, g_part) = results
    assert float(part) == pytest.approx(float(whole), rel=1e-5)
    for a, b in zip(g_whole, g_part):
        assert (a is None) == (b is None) and (a is None or torch.allclose(a, b, rtol=1e-3, atol=1e-6))
    tr.fns.mode = "default"  # a compiled step would compile again for every shape: it draws the whole canvas
    assert tr.step_window(idx) is None and tr.loss_window(idx) == win


def test_an_object_over_a_still_background_is_drawn_on_a_layer():
    from motion import crossing

    clip = crossing(np.random.default_rng(0), 16, 48, 80, velocity=(0.5, 3.5))
    res = encode(clip, **TINY)  # the rdo default: canvas auto
    ps = parse_stream(res.stream)
    assert ps.version == (1, 9) and ps.header.canvas == 3 and ps.offsets is None
    assert (ps.header.height, ps.header.width) == (48, 80) and ps.warps.shape == (16, 12)
    assert ps.warps[0, 8:].tolist() == [0, 80, 14, 98]  # the object's box beside the frame
    dec = decode(res.stream)
    assert dec.frames.shape == clip.shape
    assert res.psnr == pytest.approx(_psnr(dec.frames, clip), abs=1e-3)  # measured on the composited views
    obj = info(res.stream)["canvas"]["object"]
    assert obj["box"] == [14, 18] and obj["travel"] == pytest.approx([7.5, 52.5], abs=0.3)
    assert np.array_equal(decode(res.stream, frames="9:12").frames, dec.frames[9:12])  # random access
    assert parse_stream(encode(clip, canvas="off", **TINY).stream).header.canvas == 0


def test_info_reads_a_turn_past_half_a_turn_without_wrapping():
    from snervcodec.codec.info import _warp_ranges
    from snervcodec.models.geometry import WARP_ONE

    degrees = np.arange(170, 195, 5)
    turns = np.radians(degrees)
    warps = np.stack([np.rint(WARP_ONE * np.cos(turns)), np.rint(WARP_ONE * np.sin(turns)),
                      np.full(5, 640), np.full(5, 640)], axis=1).astype(np.int64)
    assert _warp_ranges(warps)["turn_degrees"] == pytest.approx([170.0, 190.0], abs=0.01)
