"""The entropy models' two faces: step codes, the differentiable quantiser and the learned rate laws
(compress/stepcodes.py, compress/qat.py, compress/flat.py, entropy/), the training estimate
checked against the coding face."""

import math

import numpy as np
import pytest
import torch
import torch.nn as nn

from snervcodec.compress import flat
from snervcodec.compress.qat import fake_quant
from snervcodec.compress.stepcodes import K_MAX, code_for_step, dequantize_steps, offset, step_from_code
from snervcodec.device import to_channels_last
from snervcodec.entropy import encode_symbols
from snervcodec.entropy.embedding_model import EmbeddingEntropyModel
from snervcodec.entropy.groups import GroupEntropyModel
from snervcodec.entropy.laws import geometric_bits, geometric_bits_np, laplace_table
from snervcodec.entropy.weights import WeightEntropyModel, decompress_weights


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
    w = dequantize_steps(sym, np.array([1000, 2000]), 8, 0)
    assert w[0, 0] == 0.0 and w[1, 1] == 0.0 and w[1, 0] == -128 * step_from_code(2000)
    assert w[0, 1] == np.float32(3) * step_from_code(1000)


@pytest.mark.parametrize("mode", ["noise", "ste", "mixed"])
def test_fake_quant_gradients_reach_values_and_steps(mode):
    torch.manual_seed(0)
    x = torch.randn(4, 8, requires_grad=True)
    log_step = torch.full((4, 1), math.log(0.1), requires_grad=True)
    xq, y = fake_quant(x, log_step.exp(), 8, mode)
    ((xq ** 2).sum() + y.abs().sum()).backward()  # a distortion on the values, a rate on the symbols
    assert x.grad is not None and x.grad.abs().sum() > 0 and log_step.grad.abs().sum() > 0
    if mode == "ste":
        assert torch.equal(y, torch.round(x / 0.1).clamp(-128, 127)) or torch.allclose(
            y, torch.round(x.detach() / log_step.exp().detach()))
    else:
        assert (y - x.detach() / 0.1).abs().max() <= 0.5 + 1e-5
        assert not torch.equal(y, torch.round(y))
    if mode != "noise":  # the values the network sees are the coded ones
        assert torch.allclose(xq.detach(), torch.round(x.detach() / 0.1).clamp(-128, 127) * 0.1, atol=1e-6)


def test_mixed_quantisation_trains_on_the_rounding_and_prices_the_noise():
    """"mixed" (the rdo noise phase's ``qat_proxy``): the network gets the straight-through phase's
    rounded weights, the rate term the noise phase's relaxed symbols, and rate control the rounded
    symbols' estimate either way."""
    net = _net()
    wq = WeightEntropyModel(net, 8, target_bits=3.0)
    masks = {"0.weight": (torch.rand(8, 3, 3, 3) > 0.3).float()}
    torch.manual_seed(5)
    q_noise, b_noise = wq(net, "noise", masks)
    coded_noise = wq.coded_bits
    q_ste, b_ste = wq(net, "ste", masks)
    b_ste = b_ste.detach()
    torch.manual_seed(5)
    q_mixed, b_mixed = wq(net, "mixed", masks)
    for n in q_ste:
        assert torch.equal(q_mixed[n], q_ste[n]) and not torch.equal(q_mixed[n], q_noise[n])
    assert float(b_mixed) == pytest.approx(float(b_noise)) and float(b_mixed) != pytest.approx(float(b_ste))
    assert float(wq.coded_bits) == pytest.approx(float(b_ste)) == pytest.approx(float(coded_noise))


def test_pruned_values_stay_exactly_zero_and_symbols_stay_in_the_alphabet():
    x = torch.randn(6, 5) * 100
    mask = (torch.rand(6, 5) > 0.3).float()
    for mode in ("noise", "ste", "mixed"):
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
    wq = WeightEntropyModel(net, 8, target_bits=3.0)
    assert wq.names == list(net.state_dict())
    qparams, bits = wq(net, "ste")
    coded = wq.compress(net)
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    state = decompress_weights(coded.payload, shapes)
    for name in wq.names:  # the decoder sees the training's quantised weights (up to the 0.8% grid snap)
        assert torch.allclose(state[name], qparams[name].detach(), rtol=0.01, atol=1e-7)
        assert torch.equal(state[name], coded.state[name])
    assert coded.stats["coded_bits"] == pytest.approx(coded.stats["estimated_bits"], rel=0.1, abs=64)


@pytest.mark.parametrize("channels_last", [False, True])
def test_flat_network_quantiser_equals_one_group_at_a_time(channels_last):
    """The whole-network forward (one flat vector) gives each tensor's own quantiser's values, bits
    and gradients (through the bits and through the values), with prune masks, in both modes; the
    quantised kernels keep the parameters' layout (channels-last on the CPU trainer)."""
    net = _net()
    if channels_last:
        to_channels_last(net)
        assert not net[0].weight.is_contiguous()
    wq = WeightEntropyModel(net, 8, target_bits=3.0)
    with torch.no_grad():
        for g in wq.groups:
            g.log_step.add_(torch.rand_like(g.log_step) * 0.3)
    masks = {"0.weight": (torch.rand(8, 3, 3, 3) > 0.3).float()}
    params = dict(net.named_parameters())
    probe = {n: torch.randn(p.shape) for n, p in params.items()}  # a loss on the values, too
    qparams, bits = wq(net, "ste", masks)
    for n, p in params.items():
        assert qparams[n].stride() == p.stride()
    (bits + sum((qparams[n] * probe[n]).sum() for n in params)).backward()
    flat_grads = [p.grad.clone() for p in net.parameters()] + [g.log_step.grad.clone() for g in wq.groups] + \
        [g.log_a.grad.clone() for g in wq.groups]
    wq.zero_grad()
    net.zero_grad()
    total = value_loss = 0.0
    for name, g in zip(wq.names, wq.groups):
        xq, b = g(params[name], "ste", masks.get(name))
        assert torch.allclose(qparams[name], xq, atol=1e-7)
        total = total + b
        value_loss = value_loss + (xq * probe[name]).sum()
    assert float(bits.detach()) == pytest.approx(float(total.detach()), rel=1e-5)
    (total + value_loss).backward()
    ref = [p.grad for p in net.parameters()] + [g.log_step.grad for g in wq.groups] + [g.log_a.grad for g in wq.groups]
    for a, b in zip(flat_grads, ref):
        assert torch.allclose(a, b, rtol=1e-4, atol=1e-6)
    _, noisy = wq(net, "noise", masks, measure=True)  # coded_bits: the rounded symbols, not the noisy ones
    rounded = sum(float(geometric_bits(g.symbols(params[n]) * masks.get(n, 1.0), g.log_a.detach()))
                  for n, g in zip(wq.names, wq.groups))
    assert float(wq.coded_bits) == pytest.approx(rounded, rel=1e-5)
    assert float(noisy.detach()) != pytest.approx(rounded, rel=1e-3)


def test_step_shift_moves_every_code_by_the_shift():
    net = _net()
    wq = WeightEntropyModel(net, 8)
    from snervcodec.entropy.groups import step_codes

    before = [step_codes(g) for g in wq.groups]
    wq.shift_codes(5)
    after = [step_codes(g) for g in wq.groups]
    assert all(np.array_equal(b + 5, a) for b, a in zip(before, after))
    smaller = wq.compress(net, shift=40).stats["coded_bits"]
    assert smaller < wq.compress(net).stats["coded_bits"]


@pytest.mark.parametrize("model", ["laplace", "context"])
@pytest.mark.parametrize("shift", [-150, -40, 30])
def test_a_code_shift_moves_the_law_with_the_steps(shift, model):
    """After shift_codes (the landing before the last phase) training prices the weights as the coder
    does: the law follows the steps, as the coder rescales it for a shifted step. Without it, scene-cut
    landed 176 codes finer at 0.05 bpp and the last phase priced its weights at 1.9x what was coded."""
    from snervcodec.entropy.weights_axis import AxisWeightModel

    net = _net()
    wq = (WeightEntropyModel if model == "laplace" else AxisWeightModel)(net, 8, target_bits=3.0)
    before = wq.compress(net, shift)
    wq.shift_codes(shift)
    after = wq.compress(net)
    assert np.array_equal(after.payload.words, before.payload.words)
    assert after.stats["estimated_bits"] == pytest.approx(before.stats["estimated_bits"], rel=1e-6)
    if model == "context":  # (its coder refits a law per class: training's estimate is not its own)
        return
    _, trained = wq(net, "ste")
    symbols = after.stats["estimated_bits"] - after.stats["step_code_bits"]
    assert float(trained.detach()) == pytest.approx(symbols, rel=1e-4)


def test_snapped_steps_quantise_in_training_exactly_as_the_coder_does():
    """After shift_codes (the landing before the last phase) training quantises with the coder's grid steps
    exactly: exp(log(step)) misses them by an ulp for most codes, and a weight the last phase trained onto a
    rounding boundary rounded one way in training and the other in the file (a bias one step off cost the
    dev set's sprite 1.3 dB at 100 epochs); moving the steps again leaves the grid."""
    from snervcodec.entropy.groups import step_codes, steps_like

    net = _net()
    wq = WeightEntropyModel(net, 8, target_bits=3.0)
    wq.shift_codes(0)
    with torch.no_grad():  # every weight exactly on a rounding boundary of its grid step
        for name, p in net.named_parameters():
            g = wq.groups[wq.names.index(name)]
            steps = steps_like(p, g, step_codes(g)).float()
            p.copy_((torch.round(p / steps).clamp(-100, 100) + 0.5) * steps)
    assert any(not torch.equal(g.log_step.exp(), g.grid_step) for g in wq.groups)  # the ulp is there
    trained, _ = wq(net, "ste")
    coded = wq.compress(net).state
    assert all(torch.equal(trained[n].detach(), coded[n]) for n in coded)
    wq.scale_steps(0.1)
    assert all(g.grid_step.numel() == 0 for g in wq.groups)


def test_initial_steps_cover_the_tensor_or_meet_the_target():
    x = torch.randn(16, 32)
    fine = GroupEntropyModel(x, 8, 0)
    assert torch.allclose(fine.log_step.exp() * 127, x.abs().amax(1))  # the finest step that clips nothing
    coarse = GroupEntropyModel(x, 8, 0, target_bits=2.0)
    assert torch.all(coarse.log_step > fine.log_step)
    q = coarse.symbols(x)
    assert q.abs().max() <= 128 and float((q == 0).float().mean()) > 0.2


def _random_walk(t=64, c=16, h=4, w=8, seed=0):
    """Embeddings whose neighbouring frames are close, as an INR's are."""
    g = torch.Generator().manual_seed(seed)
    start = torch.randn(1, c, h, w, generator=g)
    steps = torch.distributions.Laplace(0.0, 0.05).sample((t - 1, c, h, w))
    return torch.cat([start, start + steps.cumsum(0)])


def _clip_rate(q: EmbeddingEntropyModel, x: torch.Tensor) -> torch.Tensor:
    """The whole clip's rate under 1.4's prediction, every frame differentiable (the reference)."""
    _, y = fake_quant(x, q.steps(x.dim()), q.bits, "ste")
    head = torch.arange(len(x)) % q.chunk_frames == 0
    d = torch.cat([y[:1], y[1:] - y[:-1]])
    return geometric_bits(y[head], q.log_a) + geometric_bits(d[~head], q.log_a_delta)


def test_predicted_embedding_rate_is_the_chained_rate_and_its_gradient():
    """A batch's frame is priced as a chunk head or as its difference from the previous frame, and its
    gradient is the whole clip's (its own difference and the next frame's)."""
    x = _random_walk(t=12, c=4, h=2, w=3)
    q = EmbeddingEntropyModel(x, 6, target_bits=2.0, chunk_frames=4)
    assert q.predicts and float(q.log_a_delta.detach()) > float(q.log_a.detach())  # differences are smaller than values
    full = x.clone().requires_grad_(True)
    ref = _clip_rate(q, full)
    ref.backward()
    total = 0.0
    for t in range(12):  # one frame at a time, as training draws them (neighbours from the memory)
        xt = x[t:t + 1].clone().requires_grad_(True)
        _, bits = q(xt, "ste", torch.tensor([t]))
        bits.backward()
        total += float(bits.detach())
        assert torch.allclose(xt.grad, full.grad[t:t + 1], atol=1e-6), t
    assert total == pytest.approx(float(ref.detach()), rel=1e-6)
    assert q.log_a_delta.grad is not None and q.log_a_delta.grad != 0


def test_predicted_embeddings_code_to_the_estimated_bits():
    """The stream's delta table is the learned law: the estimated bits are the coded bits (2%)."""
    from snervcodec.entropy.chunks import code_embeddings

    rng = np.random.default_rng(0)
    step = float(step_from_code(code_for_step(0.1)))  # a grid step, so the symbols are exactly these
    # frame-to-frame changes from the two-sided geometric law (a difference of two geometric variables)
    change = rng.geometric(0.6, (63, 16, 4, 8)) - rng.geometric(0.6, (63, 16, 4, 8))
    q = np.concatenate([rng.integers(-8, 8, (1, 16, 4, 8)), change]).cumsum(0).clip(-32, 31)
    x = torch.from_numpy(q * step).float()
    g = EmbeddingEntropyModel(x, 6, chunk_frames=8)
    with torch.no_grad():
        g.log_step.fill_(math.log(step))
    g.fit_laws(x)  # the laws of the rounded symbols, as the rdo coder refits them
    est = sum(float(g(x[t:t + 1], "ste", torch.tensor([t]))[1]) for t in range(len(x)))
    qe = g.quantize(x, None)
    _, stats = code_embeddings(qe, 8, allow_delta=True)
    assert stats["prediction"] == "previous frame (learned law)"
    assert stats["estimated_bits"] == pytest.approx(est, rel=1e-4)
    assert stats["coded_bits"] == pytest.approx(stats["estimated_bits"], rel=0.02)
    assert stats["coded_bits"] < 0.7 * stats["unpredicted_coded_bits"]


@pytest.mark.parametrize("model", ["laplace", "context"])
@pytest.mark.parametrize("clip", ["walk", "walk-alone", "independent", "channel-scales"])
def test_clip_bits_are_what_the_coder_writes(model, clip):
    """clip_bits (what rate control steers by while the encoder trains) prices the clip's rounded symbols
    as compress codes them, whatever laws training learned: laws refit to the symbols, prediction from the
    previous frame; the context model's smallest coding. Where the coder codes every frame alone (frames
    that do not predict each other), an upper bound."""
    from snervcodec.entropy.embedding_context import ContextEmbeddingModel

    torch.manual_seed(1)
    x = _random_walk() if clip != "independent" else torch.randn(64, 16, 4, 8) * 0.5
    if clip == "channel-scales":  # channels of very different spread: the context model's classes pay
        x = x * 2.0 ** torch.linspace(-4, 1, 16).view(1, -1, 1, 1)
    chunk = 1 if clip == "walk-alone" else 8
    g = (EmbeddingEntropyModel if model == "laplace" else ContextEmbeddingModel)(x, 6, 3.0, chunk)
    with torch.no_grad():
        g.log_a.fill_(-3.0)  # laws far from the symbols' (as a noisy phase leaves them)
        g.log_a_delta.fill_(-3.0)
    steered = g.clip_bits(x)
    assert float(g.log_a) == -3.0  # the learned laws stay
    if model == "context":
        assert steered <= EmbeddingEntropyModel.clip_bits(g, x)
    _, _, stats = g.compress(x, None, chunk)
    if clip == "independent":  # the coder codes every frame alone: the estimate is an upper bound
        assert stats.get("prediction", "none") == "none" and steered >= stats["estimated_bits"]
        return
    assert steered == pytest.approx(stats["estimated_bits"], rel=0.01)  # (the coder snaps the steps to its grid)
    assert stats["coded_bits"] == pytest.approx(steered, rel=0.03, abs=64)


def test_without_chunks_embeddings_are_priced_alone():
    x = _random_walk(t=6, c=2, h=2, w=2)
    q = EmbeddingEntropyModel(x, 6, chunk_frames=1)
    plain = GroupEntropyModel(x, 6, 1)
    assert not q.predicts
    assert float(q(x, "ste", torch.arange(6))[1]) == pytest.approx(float(plain(x, "ste")[1]))


def test_trimming_lands_a_budget_by_moving_the_cheapest_symbols():
    """The rdo coder's last landing (codec/ratecontrol.trim_to_budget) keeps the trained steps and moves
    the symbols nearest their rounding boundary one level toward zero, fewest first."""
    from snervcodec.codec.ratecontrol import trim_to_budget

    net = _net()
    wq = WeightEntropyModel(net, 8, target_bits=3.0)
    full = wq.compress(net)
    costs = wq.trim_costs(net)
    assert np.all(np.diff(costs) >= 0) and len(costs) > 100
    budget = 0.95 * 4 * len(full.payload.words)
    n, coded = trim_to_budget(net, wq, budget, lambda c: 4 * len(c.payload.words))
    assert 4 * len(coded.payload.words) <= budget and 0 < n < len(costs) // 2
    assert 4 * len(wq.compress(net, 0, float(costs[n - 2])).payload.words) > budget  # fewest
    moved = 0
    for name, before in full.state.items():
        after = coded.state[name]
        diff = after != before
        moved += int(diff.sum())
        assert torch.all(after[diff].abs() < before[diff].abs())  # toward zero
    assert moved == n


@pytest.mark.parametrize("entropy", ["laplace", "context"])
def test_trimming_by_sensitivity_spares_the_weights_the_clip_depends_on(entropy):
    """With each weight's sensitivity (Evaluation.sensitivity), the landing moves the symbols that cost
    the clip least: output channels and tensors the distortion depends on strongly keep their symbols,
    those it barely depends on give them up, where the steps alone would take from all of them."""
    from snervcodec.codec.ratecontrol import trim_to_budget
    from snervcodec.entropy.weights_axis import AxisWeightModel

    net = _net()
    wq = (AxisWeightModel if entropy == "context" else WeightEntropyModel)(net, 8, target_bits=3.0)
    full = wq.compress(net)
    budget = 0.95 * 4 * len(full.payload.words)
    size = lambda c: 4 * len(c.payload.words)  # noqa: E731

    def moved(coded, name, channels=slice(None)):
        return int((coded.state[name][channels] != full.state[name][channels]).sum())

    _, by_steps = trim_to_budget(net, wq, budget, size)
    assert moved(by_steps, "0.weight", slice(0, 4)) > 0 and moved(by_steps, "2.weight") > 0
    sens = {name: torch.ones_like(p) for name, p in net.named_parameters()}
    sens["0.weight"][:4] = 1e6  # the first kernel's first four output channels, and the last kernel
    sens["2.weight"][:] = 1e6
    n, by_sens = trim_to_budget(net, wq, budget, size, sens)
    assert size(by_sens) <= budget and n > 0
    assert moved(by_sens, "0.weight", slice(0, 4)) == 0 and moved(by_sens, "2.weight") == 0
    assert sum(moved(by_sens, name) for name in full.state) == n  # exactly the count reported
    # weights without any sensitivity still rank by their margins, as with the steps alone
    costs = wq.trim_costs(net, 0, {name: torch.zeros_like(p) for name, p in net.named_parameters()})
    assert np.allclose(costs * 1e30, wq.trim_costs(net), rtol=1e-9)
    with pytest.raises(ValueError, match="no sensitivity"):
        wq.trim_costs(net, 0, {"0.weight": sens["0.weight"]})


@pytest.mark.parametrize("segmented", [True, False])
def test_segment_sums_and_their_expansion(monkeypatch, segmented):
    """The flat network's per-step expansion and per-group sums (and their gradients), with the
    backends' segmented reduction and with the index_add fallback (other devices)."""
    if not segmented:
        monkeypatch.setattr(flat, "SEGMENTED_BACKENDS", ())
    lengths = torch.tensor([3, 1, 4, 2])
    index = torch.repeat_interleave(torch.arange(4), lengths)
    v = torch.randn(4, requires_grad=True)
    x = torch.randn(10, requires_grad=True)
    w = torch.randn(10)
    ((flat.expand_segments(v, index, lengths) * w).sum() + (flat.segment_sum(x, lengths) * v).sum()).backward()
    got = v.grad.clone(), x.grad.clone()
    v.grad = x.grad = None
    ((v[index] * w).sum() + (torch.zeros(4).index_add(0, index, x) * v).sum()).backward()
    assert torch.allclose(got[0], v.grad) and torch.allclose(got[1], x.grad)
