"""SNeRV(T) and SNeRV(T)-2D (paper Sec. 3.3): architecture sizes, shapes, temporal inputs."""

import math

import numpy as np
import pytest
import torch

from snervcodec.errors import ConfigError
from snervcodec.models import ModelConfig, build_decoder, build_encoder, choose_geometry, decoder_params
from snervcodec.models.snerv import count_decoder_params
from snervcodec.models.snerv_t import temporal_encoder_strides
from snervcodec.models.synthesis import synthesize
from snervcodec.training.data import FrameSet, neighbours


def t_cfg(name="snerv-t", c1=103, n_rb=6, strides=(5, 4, 2, 2, 2), emb_hw=(2, 4), t_scale=2):
    return ModelConfig(name=name, c1=c1, n_rb=n_rb, strides=strides, emb_hw=emb_hw, t_scale=t_scale, t_channels=3)


def test_parameter_count_matches_the_paper():
    cfg = t_cfg()
    assert cfg.temb_hw == (20, 40)
    with torch.device("meta"):
        dec = build_decoder(cfg)
    n = count_decoder_params(dec)  # stem, UBs, temporal stem, TUBs, MFU, HFR (head excluded, as for Ours(B))
    per_frame = cfg.emb_numel + 2 + cfg.temb_numel  # 128 + (min, max) + 2 x 3x20x40
    assert per_frame == 4930
    assert n == 2_339_468 and round(n / 1e6, 2) == 2.34  # architecture.md: decoder 2.340 M
    total = n + 132 * per_frame
    assert total == 2_990_228 and round(total / 1e6, 2) == 2.99  # with 132 frames of embeddings: 2.990 M


@pytest.mark.parametrize("name", ["snerv-t", "snerv-t-2d"])
@pytest.mark.parametrize("hw,strides", [((640, 1280), (5, 4, 2, 2, 2)), ((480, 960), (5, 3, 2, 2, 2)),
                                         ((960, 1920), (5, 4, 3, 2, 2)), ((192, 384), (3, 2, 2, 2, 2))])
@pytest.mark.parametrize("t_scale", [2, 4, 8])
def test_every_preset_size_builds(name, hw, strides, t_scale):
    """Including 3x10x20 at 640x1280 (t_scale 4), which the reference 3D model cannot build, and
    grids that t_scale does not divide (192x384: UB2 grid 12x24, t_scale 8)."""
    geo = choose_geometry(*hw, strides=strides)
    cfg = t_cfg(name, c1=96, strides=strides, emb_hw=geo.emb_hw, t_scale=t_scale)
    with torch.device("meta"):
        enc, dec = build_encoder(cfg), build_decoder(cfg)
        ll = torch.empty(1, 3, hw[0] // 2, hw[1] // 2)
        emb, temb = enc(ll, ll, ll)
        assert emb.shape == (1, 16, *geo.emb_hw)
        assert temb.shape == (1, 6, *cfg.temb_hw)
        out_ll, hf = dec(emb, temb)
    assert out_ll.shape == (1, 3, hw[0] // 2, hw[1] // 2)
    assert hf.shape == (1, 3, 3, hw[0] // 2, hw[1] // 2)
    if hw == (640, 1280):
        assert cfg.temb_hw == {2: (20, 40), 4: (10, 20), 8: (5, 10)}[t_scale]


def test_temporal_encoder_strides_as_reference():
    assert temporal_encoder_strides(t_cfg()) == (2, 2, 2, 2)  # 3x20x40 from the 320x640 LL grid
    assert math.prod(temporal_encoder_strides(t_cfg(t_scale=8))) == 64


def test_2d_variant_stacks_time_on_channels():
    """The 2D variant's TUB convolutions are Conv2d (3c -> 6c -> 3c, last 3c -> 6c -> c)."""
    cfg = t_cfg("snerv-t-2d", c1=48, n_rb=1)
    with torch.device("meta"):
        dec = build_decoder(cfg)
    c3 = dec.tubs[0].ups[0].out_channels
    assert isinstance(dec.tubs[0].conv1, torch.nn.Conv2d)
    assert (dec.tubs[0].conv1.in_channels, dec.tubs[0].conv1.out_channels) == (3 * c3, 6 * c3)
    assert dec.tubs[0].conv2.out_channels == 3 * c3
    c5 = dec.tubs[2].ups[0].out_channels
    assert dec.tubs[2].conv2.out_channels == c5
    assert isinstance(build_decoder(t_cfg(c1=16, n_rb=1)).tubs[0].conv1, torch.nn.Conv3d)


def test_temporal_config_rules():
    with pytest.raises(ConfigError):
        ModelConfig(name="snerv-t", c1=8, n_rb=1, strides=(1,) * 5, emb_hw=(1, 1))  # no t_scale
    with pytest.raises(ConfigError):
        ModelConfig(name="snerv-b", c1=8, n_rb=1, strides=(1,) * 5, emb_hw=(1, 1), t_scale=2, t_channels=3)
    assert ModelConfig(name="snerv-b", c1=8, n_rb=1, strides=(1,) * 5, emb_hw=(1, 1)).temb_numel == 0


def test_neighbours_are_mirrored_at_the_ends():
    prev, nxt = neighbours(torch.arange(4), 4)
    assert prev.tolist() == [1, 0, 1, 2] and nxt.tolist() == [1, 2, 3, 2]
    prev, nxt = neighbours(torch.arange(1), 1)
    assert prev.tolist() == [0] and nxt.tolist() == [0]


def test_temporal_inputs_are_jointly_normalised_low_bands():
    rng = np.random.default_rng(0)
    frames = (rng.random((4, 16, 24, 3)) * 255).astype(np.uint8)
    frames[1] //= 2  # a darker neighbour: the joint range differs from the per-frame one
    geo = choose_geometry(16, 24, strides=(1, 1, 1, 2, 2))
    fs = FrameSet(frames, geo, torch.device("cpu"), temporal=True)
    b = fs.batch(torch.tensor([0, 2]))
    bwd, fwd = b.temporal
    x = torch.from_numpy(frames).permute(0, 3, 1, 2).double() / 255
    ll = (x[..., 0::2, 0::2] + x[..., 0::2, 1::2] + x[..., 1::2, 0::2] + x[..., 1::2, 1::2]) / 2
    for row, (t, p, n) in enumerate([(0, 1, 1), (2, 1, 3)]):
        trio = ll[[p, t, n]]
        lo, hi = trio.min(), trio.max()
        norm = (trio - lo) / (hi - lo)
        assert torch.allclose(bwd[row].double(), (norm[1] + norm[0]) / (2 * math.sqrt(2)), atol=1e-5)
        assert torch.allclose(fwd[row].double(), (norm[1] + norm[2]) / (2 * math.sqrt(2)), atol=1e-5)
    # the decoder's target keeps frame t's own normalisation
    assert float(b.ll_norm[0].min()) == pytest.approx(0.0, abs=1e-6)
    assert float(b.ll_norm[0].max()) == pytest.approx(1.0, abs=1e-6)


@pytest.mark.parametrize("name", ["snerv-t", "snerv-t-2d"])
def test_gradients_reach_both_temporal_embeddings(name):
    cfg = t_cfg(name, c1=16, n_rb=1, strides=(1, 1, 2, 2, 2), emb_hw=(3, 4))
    dec = build_decoder(cfg)
    emb = torch.randn(2, 16, 3, 4)
    temb = torch.randn(2, 6, *cfg.temb_hw, requires_grad=True)
    out = synthesize(dec, cfg, emb, torch.zeros(2), torch.full((2,), 2.0), temb)
    assert out.frame.shape == (2, 3, 48, 64)
    out.frame.sum().backward()
    g = temb.grad.abs().flatten(2).sum(-1)  # (N, 6): backward channels 0-2, forward 3-5
    assert torch.all(g > 0)
    with pytest.raises(ConfigError, match="temporal embeddings"):
        synthesize(dec, cfg, emb, torch.zeros(2), torch.ones(2))


def test_same_size_2d_variant_needs_fewer_macs():
    """At equal decoder size the 2D variant runs fewer multiply-accumulates (paper: about half)."""
    from snervcodec.models.geometry import size_for_budget

    geo = choose_geometry(192, 384)
    arch = {"t_scale": 2, "t_channels": 3}
    sizes = {}
    for name in ("snerv-t", "snerv-t-2d"):
        cfg = size_for_budget(name, geo, 600e3, 2, decoder_params, **arch)
        sizes[name] = (cfg, decoder_params(cfg))
    macs = {name: _macs(cfg) for name, (cfg, _) in sizes.items()}
    assert abs(sizes["snerv-t"][1] - sizes["snerv-t-2d"][1]) / 600e3 < 0.05
    assert macs["snerv-t-2d"] < 0.8 * macs["snerv-t"], macs


def _macs(cfg) -> int:
    from snervcodec.models.snerv_t import TUB

    dec = build_decoder(cfg)
    total = 0

    def hook(m, inp, out):
        nonlocal total
        if isinstance(m, torch.nn.Conv2d):
            total += out.numel() * m.in_channels // m.groups * math.prod(m.kernel_size)
        elif isinstance(m, torch.nn.ConvTranspose2d):
            total += inp[0].numel() * m.out_channels * math.prod(m.kernel_size)
        elif isinstance(m, TUB) and m.mode == "3d":  # its Conv3d weights run through temporal_conv
            hw = out[0].shape[0] * out[0].shape[-2] * out[0].shape[-1]
            for conv, depth in ((m.conv1, 3), (m.conv2, 1 if m.last else 3)):
                total += depth * hw * conv.out_channels * conv.in_channels * math.prod(conv.kernel_size)

    hs = [m.register_forward_hook(hook) for m in dec.modules()]
    with torch.no_grad():
        dec(torch.zeros(1, 16, *cfg.emb_hw), torch.zeros(1, 6, *cfg.temb_hw))
    for h in hs:
        h.remove()
    return total


@pytest.mark.parametrize("pad", [True, False])
def test_temporal_conv_equals_conv3d(pad):
    from snervcodec.models.snerv_t import temporal_conv

    torch.manual_seed(0)
    conv = torch.nn.Conv3d(5, 7, 3, padding=(1 if pad else 0, 1, 1))
    branches = [torch.randn(2, 5, 6, 9) for _ in range(3)]
    ref = conv(torch.stack(branches, dim=2))
    got = torch.stack(temporal_conv(branches, conv, pad), dim=2)
    assert got.shape == ref.shape == (2, 7, 3 if pad else 1, 6, 9)
    assert torch.allclose(got, ref, atol=1e-5)
