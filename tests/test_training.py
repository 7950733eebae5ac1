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
from snervcodec.training.trainer import lr_factor
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
    assert res.ll_minmax.shape == (4, 2)
    assert 0 < res.ms_ssim <= 1 or math.isnan(res.ms_ssim)


def test_training_is_deterministic(tiny_clip):
    a = fit(tiny_clip, c1=12, n_rb=1, epochs=2, precision="fp32", device="cpu", progress=False)
    b = fit(tiny_clip, c1=12, n_rb=1, epochs=2, precision="fp32", device="cpu", progress=False)
    assert torch.equal(a.embeddings, b.embeddings)


def test_hnerv_baseline_trains(tiny_clip):
    res = fit(tiny_clip, model="hnerv", c1=24, n_rb=0, epochs=20, precision="fp32", device="cpu", progress=False)
    assert res.ll_minmax.shape == (4, 0) and res.psnr > 12
