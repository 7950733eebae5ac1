"""The training face of format 1.2's coder: the step grid, the differentiable quantiser and the
rate model (compress/grid.py, compress/qat.py), checked against the coding face."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from snervcodec.codec.gridcoding import code_weights_grid, decode_weights_grid, geometric_bits_np, laplace_table
from snervcodec.compress.grid import K_MAX, code_for_step, dequantize_grid, offset, step_from_code
from snervcodec.compress.qat import GroupQuantizer, WeightQuantizers, fake_quant, geometric_bits
from snervcodec.entropy import encode_symbols


def test_step_grid_is_exact_monotone_and_fine():
    k = np.arange(K_MAX + 1)
    s = step_from_code(k)
    assert s.dtype == np.float32 and np.all(np.diff(s.astype(np.float64)) > 0)
    assert np.all(np.frexp(s)[0] * 128 == np.round(np.frexp(s)[0] * 128))  # a 7-bit mantissa: exact in float32
    assert np.array_equal(code_for_step(s), k)  # every grid value maps to its own code
    steps = np.exp(np.random.default_rng(0).uniform(-20, 15, 5000))
    err = np.abs(np.log(step_from_code(code_for_step(steps)) / steps))
    assert err.max() <= 0.0079  # at most 0.8% away: half a grid interval
    with pytest.raises(ValueError):
        step_from_code(K_MAX + 1)


def test_grid_dequantisation_keeps_zero_exact():
    sym = np.array([[offset(8), offset(8) + 3], [offset(8) - 128, offset(8)]])
    w = dequantize_grid(sym, np.array([1000, 2000]), 8, 0)
    assert w[0, 0] == 0.0 and w[1, 1] == 0.0 and w[1, 0] == -128 * step_from_code(2000)
    assert w[0, 1] == np.float32(3) * step_from_code(1000)


@pytest.mark.parametrize("mode", ["noise", "ste"])
def test_fake_quant_gradients_reach_values_and_steps(mode):
    torch.manual_seed(0)
    x = torch.randn(4, 8, requires_grad=True)
    log_step = torch.full((4, 1), math.log(0.1), requires_grad=True)
    xq, y = fake_quant(x, log_step.exp(), 8, mode)
    (xq ** 2).sum().backward()
    assert x.grad is not None and x.grad.abs().sum() > 0 and log_step.grad.abs().sum() > 0
    if mode == "ste":
        assert torch.equal(y, torch.round(x / 0.1).clamp(-128, 127)) or torch.allclose(y, torch.round(x.detach() / log_step.exp().detach()))
    else:
        assert (y - x.detach() / 0.1).abs().max() <= 0.5 + 1e-5


def test_pruned_values_stay_exactly_zero_and_symbols_stay_in_the_alphabet():
    x = torch.randn(6, 5) * 100
    mask = (torch.rand(6, 5) > 0.3).float()
    for mode in ("noise", "ste"):
        xq, y = fake_quant(x, torch.tensor(0.01), 6, mode, mask)
        assert torch.all(xq[mask == 0] == 0) and y.min() >= -32 and y.max() <= 31


def test_geometric_bits_is_the_code_length_of_integer_symbols():
    """The rate trained on equals the range coder's output on synthetic symbols (within 1%)."""
    rng = np.random.default_rng(3)
    for a in (0.15, 0.6, 2.0):
        r = math.exp(-a)
        # two-sided geometric samples: sign * geometric magnitude, P(0) = (1-r)/(1+r)
        mag = rng.geometric(1 - r, 40000) - 1
        q = np.where(rng.random(40000) < 0.5, mag, -mag)
        q = np.where(rng.random(40000) < (1 - r) / (1 + r), 0, q).clip(-127, 127)
        est = float(geometric_bits(torch.from_numpy(q).float(), torch.tensor(math.log(a))))
        assert est == pytest.approx(geometric_bits_np(q, a), rel=1e-5)
        sym = q + offset(8)
        coded = 32 * len(encode_symbols(sym, laplace_table(sym, 8, a)))
        assert coded == pytest.approx(est, rel=0.02)


def test_rate_model_learns_the_symbols_law():
    """Minimising the estimated bits over the decay alone finds the law of the symbols."""
    q = torch.from_numpy(np.random.default_rng(1).laplace(0, 3.0, 20000).round())
    log_a = torch.tensor(0.0, requires_grad=True)
    opt = torch.optim.Adam([log_a], lr=0.05)
    for _ in range(300):
        opt.zero_grad()
        geometric_bits(q, log_a).backward()
        opt.step()
    mean_abs = float(q.abs().mean())
    r = math.exp(-float(log_a.detach().exp()))
    assert 2 * r / (1 - r * r) == pytest.approx(mean_abs, rel=0.05)  # E|q| of the fitted law


def _net():
    torch.manual_seed(0)
    return nn.Sequential(nn.Conv2d(3, 8, 3), nn.GELU(), nn.Conv2d(8, 4, 1))


def test_weight_quantizers_code_to_what_training_sees():
    net = _net()
    wq = WeightQuantizers(net, 8, target_bits=3.0)
    assert wq.names == list(net.state_dict())
    qparams, bits = wq(net, "ste")
    coded = code_weights_grid(net, wq)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    state = decode_weights_grid(coded.weights, shapes)
    for name in wq.names:  # the decoder sees the training's quantised weights (up to the 0.8% grid snap)
        assert torch.allclose(state[name], qparams[name].detach(), rtol=0.01, atol=1e-7)
        assert torch.equal(state[name], coded.state[name])
    assert coded.stats["coded_bits"] == pytest.approx(coded.stats["estimated_bits"], rel=0.1, abs=64)


def test_step_shift_moves_every_code_by_the_shift():
    net = _net()
    wq = WeightQuantizers(net, 8)
    from snervcodec.codec.gridcoding import step_codes

    before = [step_codes(g) for g in wq.groups]
    wq.shift_codes(5)
    after = [step_codes(g) for g in wq.groups]
    assert all(np.array_equal(b + 5, a) for b, a in zip(before, after))
    smaller = code_weights_grid(net, wq, shift=40).stats["coded_bits"]
    assert smaller < code_weights_grid(net, wq).stats["coded_bits"]


def test_initial_steps_cover_the_tensor_or_meet_the_target():
    x = torch.randn(16, 32)
    fine = GroupQuantizer(x, 8, 0)
    assert torch.allclose(fine.log_step.exp() * 127, x.abs().amax(1))  # the finest step that clips nothing
    coarse = GroupQuantizer(x, 8, 0, target_bits=2.0)
    assert torch.all(coarse.log_step > fine.log_step)
    q = coarse.symbols(x)
    assert q.abs().max() <= 128 and float((q == 0).float().mean()) > 0.2
