import math

import numpy as np
import pytest
import torch
from pytorch_msssim import ssim as ref_ssim

from snervcodec import fit
from snervcodec.metrics import ssim
from snervcodec.models import choose_geometry
from snervcodec.training.config import make_train_config
from snervcodec.training.data import FrameSet
from snervcodec.training.phases import lr_factor
from snervcodec.wavelet import dwt2
from snervcodec.errors import ConfigError


def test_fused_ssim_matches_pytorch_msssim():
    g = torch.Generator().manual_seed(0)
    a = torch.rand(2, 3, 40, 50, generator=g)
    b = (a + 0.1 * torch.randn(2, 3, 40, 50, generator=g)).clamp(0, 1)
    assert abs(float(ssim(a, b)) - float(ref_ssim(a, b, data_range=1.0))) < 1e-5


def test_schedule_warmup_then_cosine():
    total = 1000
    assert lr_factor(0, total, 0.1) == pytest.approx(0.1)
    assert lr_factor(50, total, 0.1) == pytest.approx(0.55)
    assert lr_factor(100, total, 0.1) == pytest.approx(1.0)
    assert lr_factor(550, total, 0.1) == pytest.approx(0.5)
    assert lr_factor(999, total, 0.1) < 1e-4


def test_presets_and_precedence():
    assert make_train_config("fast").epochs == 100
    assert make_train_config("slow", epochs=7).epochs == 7
    assert make_train_config(None).epochs == 300  # the paper's default
    with pytest.raises(ConfigError):
        make_train_config("warp")


def test_precomputed_targets_equal_float_dwt(tiny_clip):
    geo = choose_geometry(*tiny_clip.shape[1:3])
    data = FrameSet(tiny_clip, geo, torch.device("cpu"))
    b = data.batch(torch.arange(4))
    ll, hf = dwt2(b.frame)
    assert torch.allclose(b.hf, hf, atol=1e-6)
    lo, hi = ll.flatten(1).min(1).values, ll.flatten(1).max(1).values
    assert torch.allclose(b.ll_min, lo, atol=1e-6) and torch.allclose(b.ll_max, hi, atol=1e-6)
    assert torch.allclose(b.ll_norm, (ll - lo.view(-1, 1, 1, 1)) / (hi - lo).view(-1, 1, 1, 1), atol=1e-5)


@pytest.mark.parametrize("precision", ["fp32", "bf16"])
def test_tiny_real_clip_overfits(tiny_clip, precision):
    history = []
    res = fit(tiny_clip, c1=24, n_rb=1, epochs=40, precision=precision, device="cpu", progress=False,
              eval_every=10, on_eval=history.append)
    psnrs = [h["psnr"] for h in history]
    assert len(psnrs) == 4
    assert psnrs[-1] > psnrs[0] + 3.0, psnrs  # clearly rising
    assert res.psnr > 20.0
    assert res.embeddings.shape == (4, 16, *res.cfg.emb_hw)
    assert res.ll_range.shape == (4, 2)
    assert 0 < res.ms_ssim <= 1 or math.isnan(res.ms_ssim)


def test_training_is_deterministic(tiny_clip):
    a = fit(tiny_clip, c1=12, n_rb=1, epochs=2, precision="fp32", device="cpu", progress=False)
    b = fit(tiny_clip, c1=12, n_rb=1, epochs=2, precision="fp32", device="cpu", progress=False)
    assert torch.equal(a.embeddings, b.embeddings)


def test_hnerv_baseline_trains(tiny_clip):
    res = fit(tiny_clip, model="hnerv", c1=24, n_rb=0, epochs=20, precision="fp32", device="cpu", progress=False)
    assert res.ll_range.shape == (4, 0) and res.psnr > 12


def test_temporal_models_warm_up_longer():
    assert make_train_config("fast", model="snerv-t").warmup == 0.2
    assert make_train_config("fast", model="snerv-b").warmup == 0.1
    assert make_train_config("fast", model="snerv-t", warmup=0.05).warmup == 0.05


@pytest.mark.parametrize("shape, masked", [((2, 3, 24, 30), False), ((2, 3, 24, 30), True), ((1, 9, 8, 13), False)])
def test_ssim_gradient_in_closed_form_is_autograds(shape, masked):
    """The loss's SSIM differentiates in closed form; autograd through the same formula (taken when
    the target needs a gradient too) and finite differences agree, masked or not, small windows too."""
    g = torch.Generator().manual_seed(1)
    x = torch.rand(shape, dtype=torch.float64, generator=g, requires_grad=True)
    y = torch.rand(shape, dtype=torch.float64, generator=g)
    mask = None
    if masked:
        mask = torch.ones(shape[0], 1, *shape[2:], dtype=torch.float64)
        mask[..., :3, :4] = 0
    closed = ssim(x, y, mask=mask)
    assert closed.grad_fn.name() == "_SSIMBackward"
    auto = ssim(x, y.clone().requires_grad_(), mask=mask)
    assert float(closed) == pytest.approx(float(auto), abs=1e-15) and float(closed) != 0
    (gc,), (ga,) = torch.autograd.grad(closed, x), torch.autograd.grad(auto, x)
    assert torch.allclose(gc, ga, rtol=1e-9, atol=1e-15) and gc.abs().max() > 0
    small = x.detach()[:1, :2, :12, :13].clone().requires_grad_()  # finite differences: one per value
    assert torch.autograd.gradcheck(lambda t: ssim(t, y[:1, :2, :12, :13], mask=None if mask is None else
                                                   mask[:1, :, :12, :13]), (small,))


def test_ssim_moment_gradients_where_the_numerators_vanish():
    """The closed form divides only by B1, B2 (>= C1, C2): finite and equal to autograd's where A1 or
    A2 is exactly zero (it happens on the signed HF bands; dividing by them gave NaN in a real encode)."""
    from snervcodec.metrics import _mean, _moment_grads

    c1, c2 = 0.5, 0.25
    m = torch.rand(1, 5, 4, 4, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    m[0, 0, 0, :2], m[0, 1, 0, :2] = 0.5, -0.5               # A1 = 2 mu_x mu_y + C1 = 0
    m[0, 4, 1, 0], m[0, 0, 1, 0], m[0, 1, 1, 0] = -0.125, 0.5, 0.5  # A2 = 2 (E[xy] - mu_x mu_y) + C2 = 0
    m[0, 2:4, :2] += 1.0  # variances positive where the means were set
    m.requires_grad_()
    (auto,) = torch.autograd.grad(_mean(m, 1, c1, c2, 0.1), m)
    closed = _moment_grads(m.detach(), 1, c1, c2, 0.1)
    for got, ch in zip(closed, (0, 2, 4)):
        assert torch.isfinite(got).all()
        assert torch.allclose(got, auto[:, ch:ch + 1], rtol=1e-12, atol=1e-14)


def test_masked_ssim_with_everything_known_is_plain_ssim(rng):
    a, b = (torch.from_numpy(rng.random((2, 3, 32, 32))).float() for _ in range(2))
    assert float(ssim(a, b, mask=torch.ones(2, 1, 32, 32))) == pytest.approx(float(ssim(a, b)), abs=1e-6)


@pytest.mark.parametrize("model", ["snerv-b", "hnerv"])
def test_inpainting_loss_ignores_masked_pixels(tiny_clip, model):
    """No gradient flows from masked pixels: changing them leaves the loss unchanged."""
    from snervcodec.models.synthesis import Synthesis
    from snervcodec.training.loss import snerv_loss

    geo = choose_geometry(48, 64, uses_dwt=model != "hnerv")
    known = np.ones((4, 48, 64), dtype=bool)
    known[:, 8:28, 16:40] = False
    fs = FrameSet(tiny_clip, geo, torch.device("cpu"), uses_dwt=model != "hnerv", known=known)
    b = fs.batch(torch.tensor([0, 1]))
    frame = b.frame.clone().requires_grad_(True)
    if model == "hnerv":
        out = Synthesis(frame * 0.9)
    else:
        ll = b.ll_norm.clone().requires_grad_(True)
        hf = b.hf.clone().requires_grad_(True)
        out = Synthesis(frame * 0.9, ll * 0.9, hf * 0.9)
    snerv_loss(out, b).backward()
    assert float(frame.grad[..., 8:28, 16:40].abs().max()) == 0.0
    assert float(frame.grad.abs().sum()) > 0
    if model != "hnerv":
        assert float(ll.grad[..., 4:14, 8:20].abs().max()) == 0.0
        assert float(hf.grad[..., 4:14, 8:20].abs().max()) == 0.0


@pytest.mark.parametrize("model", ["snerv-t", "snerv-b"])
def test_training_on_a_subset_and_evaluating_held_out_frames(tiny_clip, model):
    """Interpolation: train on frames 0 and 2, evaluate frames 1 and 3 through the encoder."""
    from snervcodec.api import model_config
    from snervcodec.training.trainer import Trainer

    cfg, geo = model_config(model, 48, 64, c1=12, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=2, precision="fp32"), device="cpu",
                 train_frames=[0, 2])
    tr.run(progress=False)
    assert len(tr.history) == 2 and tr.history[-1]["epoch"] == 2
    held = tr.evaluate(with_msssim=False, frames=[1, 3])["psnr"]
    seen = tr.evaluate(with_msssim=False, frames=[0, 2])["psnr"]
    assert math.isfinite(held) and math.isfinite(seen)
    with pytest.raises(ConfigError):
        Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1), device="cpu", train_frames=[7])


def test_sensitivity_sums_every_frames_squared_gradient_and_trains_nothing(tiny_clip):
    """Evaluation.sensitivity: per decoder weight, the squared gradient of each frame's MSE summed over
    the frames; the network, its gradients and its modes are left as they were."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.loss import fusion_loss

    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1, precision="fp32"), device="cpu")
    tr.run(progress=False)
    emb, _ = tr.encode_all()
    dec = tr.decoder
    before = {n: p.detach().clone() for n, p in dec.named_parameters()}
    grads = {n: None if p.grad is None else p.grad.clone() for n, p in dec.named_parameters()}
    modes = tr.encoder.training, dec.training
    with torch.no_grad():  # measuring needs its gradients wherever it is called from
        one = tr.sensitivity(dec, (emb, None), frames=1)
    every = tr.sensitivity(dec, (emb, None))
    b, out, _, _ = tr._forward(torch.tensor([0]), tr._to_device((emb, None)), dec)
    g0 = torch.autograd.grad(fusion_loss(out.frame, b.frame, None, "psnr"), list(dec.parameters()))
    for (name, _), g in zip(dec.named_parameters(), g0):  # frame 0 alone: its gradient squared
        assert torch.allclose(one[name], g.square(), rtol=1e-4, atol=1e-12)
    assert all(torch.all(every[n] >= one[n]) for n in before) and any(torch.any(every[n] > one[n]) for n in before)
    for n, p in dec.named_parameters():  # neither the weights nor their gradients move
        assert torch.equal(before[n], p) and (p.grad is None if grads[n] is None else torch.equal(grads[n], p.grad))
    assert (tr.encoder.training, dec.training) == modes


def test_every_phase_goes_through_one_step(tiny_clip, monkeypatch):
    """fit and fine-tune share Trainer.step; the fine-tune moves only the decoder, on the fixed
    embeddings, and keeps pruned weights exactly zero."""
    from snervcodec.compress.prune import global_magnitude_mask
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer, finetune_phase

    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=2, precision="fp32"), device="cpu")
    calls = []
    real_step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self, *a, **k: calls.append(1) or real_step(self, *a, **k))
    tr.run(progress=False)
    assert len(calls) == 2 * len(tiny_clip)
    emb, _ = tr.encode_all()
    enc_before = [p.detach().clone() for p in tr.encoder.parameters()]
    mask = global_magnitude_mask(tr.decoder, 0.3)
    mask.apply(tr.decoder)
    tr.run_phase(finetune_phase(3, 1e-3), fixed=(emb, None), mask=mask)
    assert len(calls) == 5 * len(tiny_clip)
    assert all(torch.equal(a, b) for a, b in zip(enc_before, tr.encoder.parameters()))
    params = dict(tr.decoder.named_parameters())
    assert all(torch.all(params[n][~m] == 0) for n, m in mask.masks.items())
    fixed_psnr = tr.evaluate(with_msssim=False, fixed=(emb, None))["psnr"]
    assert math.isfinite(fixed_psnr)
    with pytest.raises(ConfigError):
        tr.run_phase(finetune_phase(1, 1e-3))  # a decoder-only phase needs fixed embeddings


def test_time_limited_training_ends_on_schedule(tiny_clip, monkeypatch):
    """--time-limit: the schedule follows the clock and training stops on time, evaluations included.
    The phase's clock is one the test moves (every reading of it: 1/32 s later), so what is checked is
    the schedule, not the machine's speed."""
    import types

    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training import runtime
    from snervcodec.training.phases import lr_at

    assert lr_at(0.0, 0.1) == pytest.approx(0.1) and lr_at(0.1, 0.1) == pytest.approx(1.0)
    assert lr_at(0.55, 0.1) == pytest.approx(0.5) and lr_at(1.0, 0.1) == pytest.approx(0.0, abs=1e-12)
    now, lrs = [0.0], []

    def reading():
        now[0] += 1 / 32  # exact in binary: readings land on the limit itself
        return now[0]

    monkeypatch.setattr(runtime, "time", types.SimpleNamespace(perf_counter=reading))
    real_step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self, opt, *a, **k: lrs.append(opt.param_groups[0]["lr"])
                        or real_step(self, opt, *a, **k))
    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1, precision="fp32", time_limit=1.5), device="cpu")
    tr.run(progress=False)
    assert 1.5 <= tr.seconds < 1.5 + 0.1  # stops within a few readings past the limit
    assert len(tr.history) >= 2 and tr.history[-1]["seconds"] >= 1.5 - 0.1  # along the way and at the end,
    assert "frames" not in tr.history[-1] and tr.psnr_now is not None  # where the last one reads every frame
    assert tr.history[-1]["epoch"] > 1  # the epoch count is not a cap in a timed phase
    peak = max(lrs)
    assert lrs.index(peak) < len(lrs) // 4 and lrs[-1] < 0.1 * peak  # warm-up, then cosine toward 0 on the clock


def test_batch_default_and_lr_rule():
    from snervcodec.training.config import DEFAULT_BATCH, batch_lr_scale, resolve_batch_size

    tc = make_train_config()
    assert resolve_batch_size(tc, "cpu") == 1 and resolve_batch_size(tc, "cuda") == DEFAULT_BATCH["cuda"]
    assert resolve_batch_size(make_train_config(batch_size=3), "cuda") == 3
    assert batch_lr_scale(tc, 1) == 1.0 and batch_lr_scale(tc, 4) == 2.0
    assert batch_lr_scale(make_train_config(lr_batch_rule="linear"), 4) == 4.0
    with pytest.raises(ConfigError):
        make_train_config(time_limit=-1)
    with pytest.raises(ConfigError):
        make_train_config(lr=float("nan"))


def test_rate_control_at_fixed_steps_moves_lambda_within_the_epoch(tiny_clip):
    """A phase at fixed steps can only steer the rate through lam, so it does so every 1/RATE_UPDATES
    epoch (a 3-epoch last phase otherwise ends over budget); the steps stay where they were, and a
    phase whose steps learn is steered once an epoch (none after its last)."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.phases import Phase
    from snervcodec.codec.ratecontrol import RateController
    from snervcodec.entropy.models import EntropyModels
    from snervcodec.training.trainer import RATE_UPDATES

    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=0)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1, precision="fp32"), device="cpu")
    emb, _ = tr.encode_all()
    models = tr.attach(EntropyModels(tr.decoder, emb, None, 8, 6, 3.0, 3.0))
    steps_before = [g.log_step.detach().clone() for g in models.weights.groups]
    rate = RateController(0.5, 1.0)  # far below the rate: every update doubles lam
    tr.run_phase(Phase(name="qat-ste", epochs=1, lr=1e-4, quant="ste", train_encoder=False, train_steps=False),
                 fixed=(emb, None), rate=rate)
    n = len(tiny_clip)
    updates = len(range(max(1, n // RATE_UPDATES) - 1, n - 1, max(1, n // RATE_UPDATES)))
    assert updates >= 2 and rate.lam == pytest.approx(0.5 * 2 ** updates)
    assert all(torch.equal(a, g.log_step) for a, g in zip(steps_before, models.weights.groups))
    rate = RateController(0.5, 1.0)
    tr.run_phase(Phase(name="qat-noise", epochs=1, lr=1e-4, quant="noise"), rate=rate)
    assert rate.lam == 0.5  # one epoch, steered after none
    with pytest.raises(ConfigError, match="rate controller"):
        tr.run_phase(Phase(name="qat-noise", epochs=1, lr=1e-4, quant="noise"))


@pytest.mark.parametrize("model", ["snerv-b", "snerv-t"])
def test_rate_control_reads_the_embeddings_the_coder_would_write(tiny_clip, model):
    """While the encoder trains, rate control steers by the bits the coder would write for the encoder as
    it stands (one pass over the clip, the laws refit as the coder refits them), not by the batches'
    estimates summed over the epoch (each frame then predicted from a neighbour the encoder gave many
    steps earlier: 2-3x the coded bits on the dev set's scene-cut)."""
    import copy

    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.phases import Phase
    from snervcodec.codec.ratecontrol import RateController
    from snervcodec.entropy.models import EntropyModels

    cfg, geo = model_config(model, *tiny_clip.shape[1:3], c1=8, n_rb=0)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1, precision="fp32"), device="cpu")
    emb, temb = tr.encode_all()
    assert (temb is not None) == (model == "snerv-t")
    models = tr.attach(EntropyModels(tr.decoder, emb, temb, 8, 6, 3.0, 3.0, chunk_frames=4))
    rate, seen, passes = RateController(0.5, 1e6), [], []
    real_follow, real_encode = rate.follow, tr.encode_all
    tr.encode_all = lambda: passes.append(1) or real_encode()

    def follow(estimate, groups, move_steps=True):
        emb, temb = real_encode()
        coded = sum(copy.deepcopy(m).compress(e, None, 4)[2]["estimated_bits"]  # (compress refits its laws)
                    for m, e in ((models.emb, emb), (models.temb, temb)) if m is not None)
        seen.append((estimate, float(tr._wbits) + coded))
        real_follow(estimate, groups, move_steps)

    rate.follow = follow
    tr.run_phase(Phase(name="qat-noise", epochs=3, lr=1e-3, quant="noise", eval_every=1), rate=rate)
    assert len(seen) == 2  # after every epoch but the last
    assert len(passes) == 3  # one pass an epoch: the update and the epoch's evaluation share it
    assert all("estimated_bits" in h for h in tr.history[-3:])
    for estimate, expected in seen:
        assert estimate == pytest.approx(expected, rel=1e-3)  # (the coder snaps the steps to its grid)


def test_the_fits_last_evaluation_is_the_float_psnr(tiny_clip, monkeypatch):
    """The pipelines reuse the fit's last evaluation as the float PSNR instead of measuring the same
    model again; once a step follows, or when only some frames trained, they measure."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer, finetune_phase

    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=2, precision="fp32"), device="cpu")
    tr.run(progress=False)
    assert tr.psnr_now == tr.history[-1]["psnr"] == tr.evaluate(with_msssim=False)["psnr"]
    evals = []
    real = Trainer.evaluate
    monkeypatch.setattr(Trainer, "evaluate", lambda self, *a, **k: evals.append(1) or real(self, *a, **k))
    assert tr.clip_psnr() == tr.psnr_now and not evals
    emb, _ = tr.encode_all()
    tr.run_phase(finetune_phase(1, 1e-3), fixed=(emb, None))  # trains, evaluates nothing
    assert tr.psnr_now is None
    assert tr.clip_psnr() == real(tr, with_msssim=False)["psnr"] and len(evals) == 1
    part = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1, precision="fp32"), device="cpu",
                   train_frames=[0, 1])
    part.run(progress=False)
    assert part.psnr_now is not None and part.clip_psnr() == real(part, with_msssim=False)["psnr"]



def test_progress_evaluations_read_a_subsample_and_the_last_reads_every_frame(tiny_clip, monkeypatch):
    """The bar's PSNR comes from evenly spaced frames (PROGRESS_FRAMES), recorded with their count;
    a phase's last evaluation reads every training frame and is the one kept as psnr_now."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training import trainer as trainer_mod

    monkeypatch.setattr(trainer_mod, "PROGRESS_FRAMES", 2)
    read = []
    real = Trainer.evaluate
    monkeypatch.setattr(Trainer, "evaluate",
                        lambda self, *a, **k: read.append(list(k["frames"])) or real(self, *a, **k))
    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=3, eval_every=1, precision="fp32"), device="cpu")
    tr.run(progress=False)
    assert read == [[0, 2], [0, 2], [0, 1, 2, 3]]
    assert [h.get("frames") for h in tr.history] == [2, 2, None]
    assert tr.psnr_now == tr.history[-1]["psnr"] == real(tr, with_msssim=False)["psnr"]


def test_compiled_step_trains_like_the_eager_one(tiny_clip, monkeypatch):
    """--compile: the float fit's and both quantised phases' steps call torch.compile'd encoder,
    decoder, loss and parameter substitution, without graph breaks, and encode what eager steps do.
    (With the noise proxy: the quantiser itself is not compiled, and with rounding in the noise phase
    ("mixed", the rdo default) a last-bit difference flips symbols, which this 4-epoch encode's last
    phase amplifies to 2 dB: eager 14.14 dB, compiled 12.07.)"""
    from collections import Counter

    from torch._dynamo.utils import counters

    from snervcodec import encode
    from snervcodec.training.runtime import StepFunctions

    kw = dict(c1=8, n_rb=1, epochs=4, device="cpu", precision="fp32", progress=False, qat_proxy="noise")
    eager = encode(tiny_clip, None, **kw)
    calls, modes, real = Counter(), [], torch.compile

    def spy(fn, **options):
        modes.append(options.get("mode", "default"))
        compiled = real(fn, backend="aot_eager")  # inductor's code generation is torch's to test, and slow
        name = getattr(fn, "__name__", type(fn).__name__)

        def run(*a, **k):
            calls[name] += 1
            return compiled(*a, **k)
        return run

    monkeypatch.setattr(torch, "compile", spy)
    counters.clear()
    done = encode(tiny_clip, None, compile="default", **kw)
    assert {"ConvNeXtEncoder", "SNeRVDecoder", "snerv_loss", "_functional_call"} <= {n for n, c in calls.items() if c}
    assert calls["_functional_call"] >= 2 * len(tiny_clip)  # noise and straight-through steps
    assert sum(counters["graph_break"].values()) == 0 and counters["stats"]["unique_graphs"] >= 4
    assert done.psnr == pytest.approx(eager.psnr, abs=0.05)
    assert done.bytes == pytest.approx(eager.bytes, rel=0.01)
    assert set(modes) == {"default"}
    StepFunctions(torch.nn.Identity(), torch.nn.Identity(), lambda x: x, "reduce-overhead").begin_step()
    assert modes[-4:] == ["reduce-overhead"] * 4
    with pytest.raises(ConfigError):
        make_train_config(compile="fastest")


@pytest.mark.parametrize("tune", ["paper", "psnr", "ssim", "mixed"])
def test_each_tune_trains_on_its_own_distortion(tiny_clip, tune):
    """--tune picks the per-term distortion; paper stays the paper's 0.7 L1 + 0.3 (1 - SSIM), mixed
    is MSE plus the paper's."""
    from snervcodec.metrics import ssim
    from snervcodec.models.synthesis import Synthesis
    from snervcodec.training.loss import MSE_SCALE, snerv_loss

    geo = choose_geometry(48, 64)
    b = FrameSet(tiny_clip, geo, torch.device("cpu"), uses_dwt=True).batch(torch.tensor([0, 1]))
    out = Synthesis(b.frame * 0.9, b.ll_norm * 0.8, b.hf * 0.7)
    pairs = [(out.frame, b.frame), (out.ll_norm, b.ll_norm), (out.hf.flatten(1, 2), b.hf.flatten(1, 2))]
    expect = {"paper": lambda a, r: 0.7 * (a - r).abs().mean() + 0.3 * (1 - ssim(a, r)),
              "psnr": lambda a, r: MSE_SCALE * (a - r).square().mean(),
              "ssim": lambda a, r: 0.2 * (a - r).abs().mean() + 0.8 * (1 - ssim(a, r)),
              "mixed": lambda a, r: MSE_SCALE * (a - r).square().mean() + 0.7 * (a - r).abs().mean()
              + 0.3 * (1 - ssim(a, r))}[tune]
    assert float(snerv_loss(out, b, tune=tune)) == pytest.approx(float(sum(expect(a, r) for a, r in pairs)), rel=1e-6)


def test_tune_is_checked_and_kept_off_the_paper_pipeline(tiny_clip):
    from snervcodec import CompressionConfig, encode

    with pytest.raises(ConfigError, match="tune"):
        make_train_config(tune="mse")
    with pytest.raises(ConfigError, match="paper's loss"):
        encode(tiny_clip, epochs=1, tune="psnr", progress=False, compression=CompressionConfig(pipeline="paper"))
    with pytest.raises(ConfigError, match="mse_start"):
        make_train_config(mse_start=1.5)
    with pytest.raises(ConfigError, match="paper's loss"):
        encode(tiny_clip, epochs=1, mse_start=0.4, progress=False, compression=CompressionConfig(pipeline="paper"))


@pytest.mark.parametrize("timed", [False, True])
def test_the_fit_phase_opens_on_mse_for_its_mse_start(tiny_clip, monkeypatch, timed):
    """--mse-start F: the first F of the fit phase's steps (or of its clock) train on MSE, the rest on
    --tune's distortion; the quantised phases never start on MSE."""
    import types

    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer, runtime
    from snervcodec.training.phases import rdo_phases

    now = [0.0]  # the phase's clock moves a quarter second a step, whatever the machine
    monkeypatch.setattr(runtime, "time", types.SimpleNamespace(perf_counter=lambda: now[0]))
    monkeypatch.setattr(Trainer, "mean_frame_psnr", lambda self, frames: float("-inf"))  # no restart
    tc = make_train_config(epochs=4, precision="fp32", tune="mixed", mse_start=0.5)
    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=0)
    tr = Trainer(tiny_clip, cfg, geo, tc, device="cpu")
    tunes = []
    real = tr.fns.loss

    def spy(out, b, weights, tune):
        now[0] += 0.25
        tunes.append(tune)
        return real(out, b, weights, tune)
    tr.fns.loss = spy
    tr.run(progress=False, seconds=4 * len(tiny_clip) * 0.25 if timed else None)
    n = 4 * len(tiny_clip)
    assert len(tunes) >= n - 1 and tunes[:n // 2 - 1] == ["psnr"] * (n // 2 - 1)
    assert set(tunes[n // 2 + 1:]) == {"mixed"}
    fit, noise, ste = rdo_phases(tc, 1)
    assert fit.mse_until == 0.5 and noise.mse_until == ste.mse_until == 0.0


@pytest.mark.parametrize("frames,batch,steps,epochs", [(64, 1, 1280, 20), (128, 1, 1280, 10), (100, 8, 150, 12),
                                                       (5, 1, 1, 1)])
def test_steps_become_epochs_of_the_clip(frames, batch, steps, epochs):
    """A step budget gives a short clip as many updates as a long one (ceil: never fewer steps)."""
    from snervcodec.training.config import resolve_epochs

    tc = resolve_epochs(make_train_config(steps=steps, batch_size=batch, epochs=3), frames, "cpu")
    assert tc.epochs == epochs
    assert resolve_epochs(make_train_config(epochs=3), frames, "cpu").epochs == 3


def test_an_encode_by_steps_trains_that_many_epochs(tiny_clip):
    from snervcodec import encode

    res = encode(tiny_clip, c1=4, steps=8, progress=False)  # 4 frames, 4 steps an epoch at batch 1: 2 epochs
    assert res.model["epochs"] == 2


def test_a_stalled_mse_opening_starts_again_from_a_fresh_initialisation(tiny_clip, monkeypatch):
    """At the end of the fit's MSE opening a network below the clip's mean frame starts again from a
    fresh initialisation (seed + 1), once; one above it trains on."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.trainer import STALL_RESTARTS

    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=0)
    tc = make_train_config(epochs=2, precision="fp32", mse_start=0.5)
    tr = Trainer(tiny_clip, cfg, geo, tc, device="cpu")
    x = torch.as_tensor(tiny_clip).float().div(255).permute(0, 3, 1, 2)
    mse = (x - x.mean(0, keepdim=True)).square().flatten(1).mean(1)
    assert tr.mean_frame_psnr(torch.arange(len(x))) == pytest.approx(float((-10 * mse.log10()).mean()), abs=1e-3)

    steps, seeds = [], []
    real_step, real_init = Trainer.step, Trainer._initialise
    monkeypatch.setattr(Trainer, "step", lambda self, *a, **k: steps.append(1) or real_step(self, *a, **k))
    monkeypatch.setattr(Trainer, "_initialise", lambda self, seed: seeds.append(seed) or real_init(self, seed))
    monkeypatch.setattr(Trainer, "mean_frame_psnr", lambda self, frames: float("inf"))  # every network "stalls"
    tr.run(progress=False)
    n = len(tiny_clip)
    assert STALL_RESTARTS == 1 and tr.restarts == 1 and seeds == [tc.seed + 1]
    assert len(steps) == n + 2 * n  # the stalled half of the fit, then the whole fit again
    assert [("restart" in h) for h in tr.history] == [False, True, False, False]  # epoch 1, the stall, a new fit

    steps.clear()
    warm = Trainer(tiny_clip, cfg, geo, tc, device="cpu")
    warm.warm = True  # a --warm-start segment keeps the start it was given
    warm.run(progress=False)
    assert warm.restarts == 0 and len(steps) == 2 * n

    steps.clear()
    monkeypatch.setattr(Trainer, "mean_frame_psnr", lambda self, frames: float("-inf"))
    calm = Trainer(tiny_clip, cfg, geo, tc, device="cpu")
    calm.run(progress=False)
    assert calm.restarts == 0 and len(steps) == 2 * n and not any("restart" in h for h in calm.history)


def test_qat_lr_sets_the_quantised_phases_peak_learning_rate():
    """qat_lr F: the noise and straight-through phases start at F x the fit's peak learning rate (the
    default, 1, keeps them at the fit's); out of (0, 1] is refused."""
    from snervcodec.errors import ConfigError
    from snervcodec.training.phases import rdo_phases

    fit, noise, ste = rdo_phases(make_train_config(epochs=10, lr=4e-3, qat_lr=0.25), 0)
    assert fit.lr == 4e-3 and noise.lr == ste.lr == pytest.approx(1e-3)
    assert {ph.lr for ph in rdo_phases(make_train_config(epochs=10, lr=4e-3), 0)} == {4e-3}
    for bad in (0.0, -0.5, 1.5, float("nan")):
        with pytest.raises(ConfigError, match="qat_lr"):
            make_train_config(epochs=10, qat_lr=bad)


def test_one_cosine_over_the_rdo_phases():
    """lr_schedule "one": the fit, noise and straight-through phases run over their shares of one
    cosine (the fit ends at half its peak, the next phase starts where it ended); "open-fit" stops the
    fit's half-way and leaves the quantised phases their own ("open": the noise phase's too); "phases"
    (the default) is a cosine each, the same to the bit as before spans existed."""
    import math

    from snervcodec.training.phases import Phase, lr_at, rdo_phases

    def old(it, total, warmup):  # the schedule before spans, kept here to hold the default to the bit
        n_warm = int(total * warmup)
        if it < n_warm:
            return 0.1 + 0.9 * it / max(n_warm, 1)
        if n_warm == 0:
            return 0.5 * (1.0 + math.cos(math.pi * it / max(total, 1)))
        t = (it - n_warm) / max(total - n_warm, 1)
        return 0.5 * (1.0 + math.cos(math.pi * t))

    assert all(lr_factor(i, n, w) == old(i, n, w) for n in (1, 7, 640) for w in (0.0, 0.1, 0.2) for i in range(n + 1))
    assert all(lr_at(f / 997, w) == 0.5 * (1.0 + math.cos(math.pi * min((f / 997 - w) / (1 - w), 1.0)))
               for w in (0.0, 0.1) for f in range(int(w * 997) + 1, 998))
    assert {ph.span for ph in rdo_phases(make_train_config(epochs=100, lr=4e-3), 0)} == {(0.0, 1.0)}

    fit, noise, ste = rdo_phases(make_train_config(epochs=100, lr=4e-3, lr_schedule="one"), 0)
    assert (fit.span, noise.span, ste.span) == ((0.0, 0.5), (0.5, 0.85), (0.85, 1.0))
    n = 64 * 100
    ends = [lr_factor(ph.epochs * 64, ph.epochs * 64, ph.warmup, ph.span) for ph in (fit, noise, ste)]
    starts = [lr_factor(0, ph.epochs * 64, 0.0, ph.span) for ph in (noise, ste)]
    assert ends[0] == pytest.approx(0.5) and starts == pytest.approx(ends[:2])
    assert ends[2] == pytest.approx(0, abs=1e-12)
    assert lr_factor(int(0.1 * n / 2), n // 2, fit.warmup, fit.span) == pytest.approx(1.0)  # warm-up, then the cosine

    fit, noise, ste = rdo_phases(make_train_config(epochs=100, lr=4e-3, lr_schedule="open-fit"), 0)
    assert (fit.span, noise.span, ste.span) == ((0.0, 0.5), (0.0, 1.0), (0.0, 1.0))
    fit, noise, ste = rdo_phases(make_train_config(epochs=100, lr=4e-3, lr_schedule="open"), 0)
    assert (fit.span, noise.span, ste.span) == ((0.0, 0.5), (0.0, 0.5), (0.0, 1.0))
    assert lr_factor(noise.epochs * 64, noise.epochs * 64, 0.0, noise.span) == pytest.approx(0.5)
    timed = rdo_phases(make_train_config(epochs=100, lr=4e-3, lr_schedule="one"), 0, seconds=60.0)
    assert [ph.span for ph in timed] == [(0.0, 0.5), (0.5, 0.85), (0.85, 1.0)]

    with pytest.raises(ConfigError, match="lr_schedule"):
        make_train_config(epochs=10, lr_schedule="restart")
    for bad in ((0.5, 0.5), (-0.1, 0.5), (0.2, 1.5)):
        with pytest.raises(ConfigError):
            Phase(name="fit", epochs=1, lr=1e-3, span=bad)


def test_a_phase_runs_over_its_span_of_the_cosine(tiny_clip, monkeypatch):
    """The trainer follows a phase's span: (0.5, 1) starts at half the peak and ends near zero."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.phases import Phase

    lrs = []
    real_step = Trainer.step
    monkeypatch.setattr(Trainer, "step", lambda self, opt, *a, **k: lrs.append(opt.param_groups[0]["lr"])
                        or real_step(self, opt, *a, **k))
    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=2, precision="fp32"), device="cpu")
    tr.run_phase(Phase(name="fit", epochs=2, lr=1e-3, span=(0.5, 1.0)))
    assert lrs[0] == pytest.approx(0.5e-3) and lrs == sorted(lrs, reverse=True) and lrs[-1] < 0.05e-3


def test_the_rdo_fit_stops_half_way_and_the_paper_pipeline_keeps_its_schedule(tiny_clip):
    """The rdo plan's schedule is RDO_LR_SCHEDULE (the fit and noise phases stop at half their peak); a
    user's lr_schedule wins over it; --pipeline paper keeps the paper's cosine and refuses any other."""
    from snervcodec import CompressionConfig, encode
    from snervcodec.codec.plan import plan
    from snervcodec.requests import EncodeRequest, ModelRequest, TrainRequest, VideoRequest
    from snervcodec.training.phases import RDO_LR_SCHEDULE

    video = VideoRequest.of(tiny_clip).load()

    def planned(pipeline, **opts):
        req = EncodeRequest(VideoRequest.of(tiny_clip), ModelRequest(), TrainRequest(None, 2, "cpu", "fp32", 0, opts),
                            CompressionConfig(pipeline=pipeline))
        return plan(video, req).tcfg.lr_schedule

    assert RDO_LR_SCHEDULE == "open" and planned("rdo") == "open"
    assert planned("rdo", lr_schedule="phases") == "phases" and planned("paper") == "phases"
    with pytest.raises(ConfigError, match="lr_schedule: for the rdo pipeline"):
        encode(tiny_clip, epochs=1, lr_schedule="one", progress=False, compression=CompressionConfig(pipeline="paper"))


def test_phase_shares_split_the_rdo_epochs_and_seconds(tiny_clip):
    """phase_shares (fit, noise, straight-through) split an rdo run's epochs and a time limit's seconds;
    the default is RDO_SHARES; shares that are not three fractions adding up to 1 are refused, and so is
    any other split for --pipeline paper (it trains a fit and a fine-tune)."""
    from snervcodec import CompressionConfig, encode
    from snervcodec.training.config import RDO_SHARES
    from snervcodec.training.phases import rdo_phases

    assert RDO_SHARES == (0.5, 0.35, 0.15)
    assert [ph.epochs for ph in rdo_phases(make_train_config(epochs=100), 0)] == [50, 35, 15]
    tc = make_train_config(epochs=100, phase_shares=(0.65, 0.2, 0.15))
    assert [ph.epochs for ph in rdo_phases(tc, 0)] == [65, 20, 15]
    assert [ph.seconds for ph in rdo_phases(tc, 0, seconds=100.0)] == pytest.approx([65.0, 20.0, 15.0])
    fit, noise, ste = rdo_phases(make_train_config(epochs=100, phase_shares=(0.65, 0.2, 0.15), lr_schedule="one"), 0)
    assert (fit.span, noise.span, ste.span) == ((0.0, 0.65), (0.65, 0.85), (0.85, 1.0))
    for bad in ((0.5, 0.5), (0.5, 0.4, 0.2), (0.0, 0.85, 0.15), (1.2, -0.35, 0.15)):
        with pytest.raises(ConfigError, match="phase_shares"):
            make_train_config(epochs=10, phase_shares=bad)
    with pytest.raises(ConfigError, match="phase_shares: for the rdo pipeline"):
        encode(tiny_clip, epochs=1, phase_shares=(0.65, 0.2, 0.15), progress=False,
               compression=CompressionConfig(pipeline="paper"))


def test_a_phase_ends_on_the_mean_of_its_last_weights(tiny_clip, monkeypatch):
    """Phase.average F: the phase ends on the mean of the weights after each of its steps that start at
    or past 1 - F of the way (the last evaluation already sees it); F = 0 ends on the last step's.
    The rdo fit takes F from fit_average (default 0); out of [0, 1) is refused."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.phases import Phase, rdo_phases

    snaps = []
    real_step = Trainer.step

    def step(self, *a, **k):
        out = real_step(self, *a, **k)
        snaps.append([p.detach().clone() for p in [*self.encoder.parameters(), *self.decoder.parameters()]])
        return out

    monkeypatch.setattr(Trainer, "step", step)
    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    for share in (0.0, 0.5):
        snaps.clear()
        tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=3, precision="fp32"), device="cpu")
        tr.run_phase(Phase(name="fit", epochs=3, lr=1e-3, eval_every=3, average=share))
        total = len(snaps)
        kept = [s for k, s in enumerate(snaps) if k / total >= 1 - share] if share else snaps[-1:]
        assert total == 12 and len(kept) == (6 if share else 1)
        final = [p.detach() for p in [*tr.encoder.parameters(), *tr.decoder.parameters()]]
        for j, p in enumerate(final):
            assert torch.allclose(p, torch.stack([s[j] for s in kept]).mean(0), atol=1e-6)
        assert share == 0 or not torch.equal(final[-1], snaps[-1][-1])  # the mean, not the last step's
        assert tr.history[-1]["psnr"] == pytest.approx(tr.evaluate(with_msssim=False)["psnr"], abs=1e-4)

    assert rdo_phases(make_train_config(epochs=10), 0)[0].average == 0.0
    assert [ph.average for ph in rdo_phases(make_train_config(epochs=10, fit_average=0.2), 0)] == [0.2, 0.0, 0.0]
    for bad in (-0.1, 1.0, float("nan")):
        with pytest.raises(ConfigError, match="fit_average"):
            make_train_config(epochs=10, fit_average=bad)


def test_a_phase_can_start_from_the_last_phases_adam_moments(tiny_clip):
    """A fresh Adam's first step moves every weight with a gradient by the learning rate (m / sqrt(v) is
    the gradient's sign); with carry_moments the phase goes on from the last phase's moments, and its
    first step moves each weight by its own amount. carry_moments reaches the rdo quantised phases; a
    trainer without it keeps no moments."""
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training.phases import Phase, rdo_phases

    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    moves = {}
    for carry in (False, True):
        tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=3, precision="fp32", carry_moments=carry),
                     device="cpu", train_frames=[0])  # one step an epoch
        tr.run_phase(Phase(name="fit", epochs=12, lr=1e-3))
        before = [p.detach().clone() for p in tr.decoder.parameters()]
        tr.run_phase(Phase(name="next", epochs=1, lr=1e-3, carry_moments=carry))
        moves[carry] = torch.cat([(p.detach() - b).abs().flatten() for p, b in zip(tr.decoder.parameters(), before)])
        assert bool(tr._moments) == carry
    fresh, carried = (moves[c][moves[c] > 0] / 1e-3 for c in (False, True))
    near_lr = [float(((m - 1).abs() < 0.01).float().mean()) for m in (fresh, carried)]
    assert fresh.numel() > 100 and near_lr[0] > 0.9 and near_lr[1] < 0.2, near_lr

    assert [ph.carry_moments for ph in rdo_phases(make_train_config(epochs=10), 0)] == [False] * 3
    assert [ph.carry_moments for ph in rdo_phases(make_train_config(epochs=10, carry_moments=True), 0)] == \
        [False, True, True]


def test_the_noise_phase_takes_its_quantiser_from_qat_proxy(tiny_clip):
    """qat_proxy picks the rdo noise phase's quantiser (TrainConfig's noise, or mixed); the other phases
    keep theirs; an unknown one is refused. The rdo plan's is RDO_QAT_PROXY (mixed), and a user's wins."""
    from snervcodec import CompressionConfig
    from snervcodec.codec.plan import plan
    from snervcodec.requests import EncodeRequest, ModelRequest, TrainRequest, VideoRequest
    from snervcodec.training.phases import RDO_QAT_PROXY, rdo_phases

    def planned(**opts):
        req = EncodeRequest(VideoRequest.of(tiny_clip), ModelRequest(), TrainRequest(None, 2, "cpu", "fp32", 0, opts),
                            CompressionConfig())
        return plan(VideoRequest.of(tiny_clip).load(), req).tcfg.qat_proxy

    assert RDO_QAT_PROXY == "mixed" and planned() == "mixed" and planned(qat_proxy="noise") == "noise"

    assert [ph.quant for ph in rdo_phases(make_train_config(epochs=10), 0)] == ["none", "noise", "ste"]
    assert [ph.quant for ph in rdo_phases(make_train_config(epochs=10, qat_proxy="mixed"), 0)] == \
        ["none", "mixed", "ste"]
    with pytest.raises(ConfigError, match="qat_proxy"):
        make_train_config(epochs=10, qat_proxy="ste")


def test_a_timed_phase_ends_on_the_mean_too(tiny_clip, monkeypatch):
    """On the clock: the steps from 1 - F of the budget are averaged, and the mean is loaded before the
    phase's last evaluation (one reading of the clock decides that the phase is over)."""
    import types

    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer
    from snervcodec.training import runtime
    from snervcodec.training.phases import Phase

    from snervcodec.training import runtime as trainer_module

    now, snaps = [0.0], []

    def reading():
        now[0] += 1 / 32
        return now[0]

    monkeypatch.setattr(runtime, "time", types.SimpleNamespace(perf_counter=reading))
    real_add = trainer_module.TailMean.add

    def add(self, done):  # the weights after each step, and where on the clock the step started
        snaps.append(([p.detach().clone() for p in self.params[-len(list(tr.decoder.parameters())):]], done))
        return real_add(self, done)

    monkeypatch.setattr(trainer_module.TailMean, "add", add)
    cfg, geo = model_config("snerv-b", *tiny_clip.shape[1:3], c1=8, n_rb=1)
    tr = Trainer(tiny_clip, cfg, geo, make_train_config(epochs=1, precision="fp32"), device="cpu")
    tr.run_phase(Phase(name="fit", epochs=1, lr=1e-3, eval_every=1, seconds=2.0, average=0.5))
    assert all(a[1] <= b[1] for a, b in zip(snaps, snaps[1:]))
    kept = [w for w, f in snaps if f >= 0.5]
    assert 2 <= len(kept) < len(snaps)
    for j, p in enumerate(tr.decoder.parameters()):
        assert torch.allclose(p.detach(), torch.stack([w[j] for w in kept]).mean(0), atol=1e-6)
    assert "frames" not in tr.history[-1]  # the last evaluation, over every frame, of the mean
    assert tr.history[-1]["psnr"] == pytest.approx(tr.evaluate(with_msssim=False)["psnr"], abs=1e-4)


def test_the_paper_pipeline_and_fit_refuse_the_rdo_phases_options(tiny_clip):
    """lr_schedule, qat_lr, phase_shares, fit_average, qat_proxy and carry_moments shape the rdo pipeline's
    phases: --pipeline paper and fit (a float fit alone) refuse them, each named, rather than ignore them;
    their defaults pass."""
    from snervcodec import CompressionConfig, encode
    from snervcodec.training.config import RDO_PHASE_OPTIONS

    assert make_train_config(epochs=1).rdo_options_set() == []
    paper = CompressionConfig(pipeline="paper")
    with pytest.raises(ConfigError, match="^qat_lr, phase_shares, fit_average: for the rdo pipeline"):
        encode(tiny_clip, epochs=1, fit_average=0.2, qat_lr=0.5, phase_shares=(0.6, 0.25, 0.15), progress=False,
               compression=paper)
    odd = {"lr_schedule": "one", "qat_lr": 0.5, "phase_shares": (0.6, 0.25, 0.15), "fit_average": 0.2,
           "qat_proxy": "mixed", "carry_moments": True}
    assert set(odd) == set(RDO_PHASE_OPTIONS)
    for name, value in odd.items():
        with pytest.raises(ConfigError, match=f"^{name}: for the rdo pipeline's phases; fit trains"):
            fit(tiny_clip, epochs=1, device="cpu", progress=False, **{name: value})
