"""Pruning and quantisation (snervcodec.compress): pure tensor arithmetic."""

import numpy as np
import pytest
import torch
import torch.nn as nn

from snervcodec.compress.prune import global_magnitude_mask, prunable
from snervcodec.compress.quant import (dequantize, empirical_bits, ll_range_grid, quantize, quantize_best,
                                       quantize_ll_range)
from snervcodec.errors import ConfigError


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.ReLU(), nn.Conv2d(8, 4, 1), nn.Linear(4, 2))


@pytest.mark.parametrize("fraction", [0.0, 0.1, 0.37, 0.9])
def test_global_mask_removes_exactly_the_smallest(fraction):
    net = _net()
    weights = prunable(net)
    assert set(weights) == {"0.weight", "2.weight", "3.weight"}  # biases are never pruned
    mask = global_magnitude_mask(net, fraction)
    n = sum(p.numel() for p in weights.values())
    assert mask.fraction == pytest.approx(round(fraction * n) / n)
    kept = torch.cat([p.detach().abs().flatten()[m.flatten()] for p, m in zip(weights.values(), mask.masks.values())])
    dropped = torch.cat([p.detach().abs().flatten()[~m.flatten()] for p, m in zip(weights.values(),
                                                                                 mask.masks.values())])
    if len(dropped):
        assert dropped.max() <= kept.min()  # one threshold across all layers


def test_mask_apply_and_gradients_keep_pruned_weights_at_zero():
    net = _net()
    mask = global_magnitude_mask(net, 0.5)
    mask.apply(net)
    opt = torch.optim.Adam(net.parameters(), lr=0.1)
    for _ in range(3):
        loss = net[3](net[2](net[0](torch.randn(2, 3, 6, 6))).mean((2, 3))).pow(2).sum()
        opt.zero_grad()
        loss.backward()
        mask.mask_gradients(net)
        for name, m in mask.masks.items():
            assert torch.all(dict(net.named_parameters())[name].grad[~m] == 0)
        opt.step()
    for name, m in mask.masks.items():
        assert torch.all(dict(net.named_parameters())[name][~m] == 0)


def test_mask_refuses_bad_fraction():
    with pytest.raises(ConfigError):
        global_magnitude_mask(_net(), 1.0)


@pytest.mark.parametrize("per_channel", [False, True])
@pytest.mark.parametrize("bits", [2, 6, 8, 12])
def test_quantize_error_bound_and_exact_zero(bits, per_channel):
    w = torch.randn(8, 5, 3, 3) * torch.linspace(0.1, 2, 8).view(-1, 1, 1, 1)
    w[0, 0, 0, 0] = 0.0
    qt = quantize(w, bits, per_channel)
    assert qt.symbols.min() >= 0 and qt.symbols.max() < (1 << bits) and qt.symbols.dtype == np.int32
    assert len(qt.scale) == (8 if per_channel else 1)
    back = dequantize(qt)
    assert back.shape == w.shape and back[0, 0, 0, 0] == 0.0  # zero is exactly representable
    step = torch.from_numpy(qt.scale).view(-1, 1, 1, 1) if per_channel else float(qt.scale[0])
    assert torch.all((back - w).abs() <= 0.5 * step + 1e-6)


def test_quantize_constant_and_one_sided_tensors():
    for w in (torch.zeros(4, 3), torch.full((4, 3), 0.7), -torch.rand(5)):
        qt = quantize(w, 8, per_channel=True)
        assert torch.allclose(dequantize(qt), w, atol=float(qt.scale.max()) / 2 + 1e-7)


def _equal_error_bits(qt, w):
    err = float(((dequantize(qt) - w) ** 2).mean())
    return empirical_bits(qt.symbols) + 48 * len(qt.scale) + 0.5 * w.numel() * np.log2(max(err, 1e-20))


@pytest.mark.parametrize("seed", range(4))
def test_quantize_best_keeps_the_mode_with_fewer_equal_error_bits(seed):
    g = torch.Generator().manual_seed(seed)
    w = torch.randn(16, 64, generator=g) * torch.logspace(-3, 0, 16).view(-1, 1) + torch.randn(16, 1, generator=g)
    best = quantize_best(w, 8)
    other = quantize(w, 8, per_channel=not best.per_channel)
    assert _equal_error_bits(best, w) <= _equal_error_bits(other, w)


def test_empirical_bits():
    assert empirical_bits(np.zeros(100, np.int32)) == 0
    assert empirical_bits(np.array([0, 1] * 50)) == pytest.approx(100.0)


def test_ll_range_contains_every_frame_and_uses_its_grid():
    rng = np.random.default_rng(0)
    lo = rng.uniform(0, 0.5, 40).astype(np.float32)
    hi = (lo + rng.uniform(1e-4, 1.0, 40)).astype(np.float32)
    r = quantize_ll_range(lo, hi, 6)
    assert np.all(r.min_values <= lo) and np.all(r.max_values >= hi) and np.all(r.max_values > r.min_values)
    assert r.symbols.shape == (40, 2) and r.symbols.max() < 64
    assert np.array_equal(ll_range_grid(r.lo, r.hi, r.q_min, 6), r.min_values)
    flat = quantize_ll_range(np.full(3, 0.2, np.float32), np.full(3, 0.2, np.float32), 6)
    assert np.all(flat.max_values > flat.min_values)
