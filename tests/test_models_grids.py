"""Grid encodings (models/grids.py, snerv-g; HiNeRV): the grids' forward, gradients, sizing and traits."""

import pytest
import torch

from snervcodec.codec.ratecontrol import plan_model
from snervcodec.errors import ConfigError
from snervcodec.models import ModelConfig, build_decoder, choose_geometry, decoder_params
from snervcodec.models.choose import model_config, with_grids
from snervcodec.models.footprint import activation_elements
from snervcodec.models.grids import StageGrid, frame_times, grid_params
from snervcodec.models.registry import spec_by_name
from snervcodec.models.snerv import count_decoder_params
from snervcodec.models.synthesis import synthesize
from snervcodec.requests import CompressionConfig


@pytest.fixture(scope="module")
def cfg():
    return model_config("snerv-g", 16, 32, c1=8, n_rb=1, n_frames=8)[0]


def test_traits_and_default(cfg):
    assert spec_by_name("snerv-g").grids and spec_by_name("snerv-g").id == 5
    assert not spec_by_name("snerv-b").grids and cfg.has_grids and cfg.uses_dwt and not cfg.temporal
    b, _ = model_config("snerv-b", 16, 32, c1=8, n_rb=1, n_frames=8)
    assert b.grids == () and not b.has_grids
    with pytest.raises(ConfigError, match="no grid encodings"):
        ModelConfig("snerv-b", 8, 1, (2, 2, 1, 1, 1), (2, 4), grids=((1, 1, 1, 1),) * 5)
    with pytest.raises(ConfigError, match="grid_share is for snerv-g"):
        model_config("snerv-b", 16, 32, c1=8, grid_share=0.2)


def test_forward_depends_on_the_frame_time(cfg):
    torch.manual_seed(0)
    dec = build_decoder(cfg)
    with torch.no_grad():
        for g in dec.grids.stages:
            g.grid.normal_()  # grids that matter
    emb = torch.randn(1, 16, *cfg.emb_hw).expand(3, -1, -1, -1)
    out = synthesize(dec, cfg, emb, torch.zeros(3), torch.ones(3), t=frame_times(torch.tensor([0, 3, 7]), 8))
    assert out.frame.shape == (3, 3, 16, 32) and torch.isfinite(out.frame).all()
    assert not torch.allclose(out.frame[0], out.frame[1]) and not torch.allclose(out.frame[1], out.frame[2])
    with pytest.raises(ConfigError, match="times"):
        synthesize(dec, cfg, emb, torch.zeros(3), torch.ones(3))


def test_grads_reach_every_grid(cfg):
    dec = build_decoder(cfg)
    emb = torch.randn(2, 16, *cfg.emb_hw)
    ll, hf = dec(emb, torch.tensor([0.0, 0.6]))
    (ll.square().mean() + hf.square().mean()).backward()
    assert len(dec.grids.stages) == len(cfg.strides)
    for g in dec.grids.stages:
        assert g.grid.grad is not None and g.grid.grad.abs().sum() > 0
        assert g.proj.weight.grad.abs().sum() > 0


def test_time_interpolation_is_linear_between_cells():
    g = StageGrid((3, 2, 2, 1), 1)
    with torch.no_grad():
        g.grid.copy_(torch.tensor([0.0, 1.0, 4.0]).view(1, 3, 1, 1).expand(1, 3, 2, 2))
        g.proj.weight.fill_(1.0)
    t = torch.tensor([0.0, 0.25, 0.5, 0.75, 1.0])  # cells at 0, 0.5, 1
    y = g(t, (2, 2))
    assert torch.allclose(y[:, 0, 0, 0], torch.tensor([0.0, 0.5, 1.0, 2.5, 4.0]))
    assert g(t, (4, 6)).shape == (5, 1, 4, 6)  # resized to the block's grid


def test_frame_times():
    assert frame_times(torch.arange(5), 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert frame_times(torch.tensor([0]), 1).tolist() == [0.0]


def test_sizes_and_counts(cfg):
    for i, (t, h, w, c) in enumerate(cfg.grids):
        bh, bw = cfg.block_hw(i)
        assert t == 2 and 1 <= h <= bh and 1 <= w <= bw and 1 <= c <= 4
    dec = build_decoder(cfg)
    assert decoder_params(cfg) == count_decoder_params(dec, include_head=True)
    backbone = cfg.with_(grids=())
    assert decoder_params(backbone) == decoder_params(cfg.with_(name="snerv-b", grids=()))
    assert decoder_params(cfg) - decoder_params(backbone) == grid_params(cfg)
    assert activation_elements(cfg) > activation_elements(backbone.with_(name="snerv-b"))


@pytest.mark.parametrize("bpp", [0.05, 0.1, 0.2])
def test_rate_control_sizes_the_grids_with_the_decoder(bpp):
    """144x256, 64 frames: the grids hold about GRID_SHARE of the decoder, which fits the rate."""
    geo = choose_geometry(144, 256)
    g = plan_model("snerv-g", geo, 64, bpp, 0, CompressionConfig(), True)
    b = plan_model("snerv-b", geo, 64, bpp, 0, CompressionConfig(), True)
    share = grid_params(g) / decoder_params(g)
    assert 0.10 <= share <= 0.20 and all(t == 16 for t, *_ in g.grids)
    assert abs(decoder_params(g) - decoder_params(b)) < 0.1 * decoder_params(b)  # same budget, other split
    more = plan_model("snerv-g", geo, 64, bpp, 0, CompressionConfig(), True, grid_share=0.3)
    assert grid_params(more) / decoder_params(more) > share + 0.05


def test_grid_share_is_checked():
    cfg = ModelConfig("snerv-g", 8, 0, (2, 2, 1, 1, 1), (2, 4))
    with pytest.raises(ConfigError, match="grid share"):
        with_grids(cfg, 8, 0.95)
    assert with_grids(cfg, 1).grids[0][0] == 1  # one frame: one time cell
