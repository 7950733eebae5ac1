import pytest
import torch

from snervcodec.errors import BudgetError
from snervcodec.models import ModelConfig, build_decoder, build_encoder, choose_geometry, decoder_params
from snervcodec.models.blocks import width_schedule
from snervcodec.models.geometry import crop_frames, pad_frames, size_for_budget
from snervcodec.models.registry import MODELS, spec_by_id
from snervcodec.models.snerv import count_decoder_params
from snervcodec.models.synthesis import synthesize

# architecture.md: decoder params (stem + UBs + MFU + HFR, head excluded) at 640x1280, strides 5,4,2,2,2
TABLE = [(41, 2, 353.0), (57, 3, 745.1), (81, 4, 1567.3), (111, 6, 2991.9), (132, 8, 4554.4), (148, 10, 5929.2)]


@pytest.mark.parametrize("c1,n_rb,kparams", TABLE)
def test_parameter_table(c1, n_rb, kparams):
    cfg = ModelConfig("snerv-b", c1, n_rb, (5, 4, 2, 2, 2), (2, 4))
    assert round(decoder_params(cfg, include_head=False) / 1e3, 1) == kparams


@pytest.mark.parametrize("c1,mparams", [(95, 2.67), (120, 4.24), (150, 6.64)])
def test_uvg_presets(c1, mparams):
    cfg = ModelConfig("snerv-b", c1, 6, (5, 4, 3, 2, 2), (2, 4))
    assert round(decoder_params(cfg, include_head=False) / 1e6, 2) == mparams


def test_width_rule_uses_bankers_rounding():
    assert width_schedule(111, 5) == [92, 77, 64, 53, 44]
    assert width_schedule(10, 3) == [12, 12, 12]


def test_short_bunny_reference_size():
    cfg = ModelConfig("snerv-b", 64, 2, (3, 2, 2, 2, 2), (2, 4))
    assert abs(decoder_params(cfg, include_head=False) - 0.58e6) < 0.005e6


def test_meta_count_matches_real_module():
    cfg = ModelConfig("snerv-b", 20, 1, (3, 2, 2, 1, 1), (2, 3))
    assert decoder_params(cfg) == count_decoder_params(build_decoder(cfg), include_head=True)


def test_registry_ids_are_frozen():
    assert {name: spec.id for name, spec in MODELS.items()} == {"snerv-b": 1, "hnerv": 2, "snerv-t": 3, "snerv-t-2d": 4,
                                                              "snerv-g": 5}
    assert spec_by_id(1).name == "snerv-b"


@pytest.mark.parametrize("hw,strides", [((640, 1280), (5, 4, 2, 2, 2)), ((480, 960), (5, 3, 2, 2, 2)),
                                         ((960, 1920), (5, 4, 3, 2, 2)), ((192, 384), (3, 2, 2, 2, 2))])
def test_published_strides(hw, strides):
    geo = choose_geometry(*hw)
    assert geo.strides == strides and geo.emb_hw == (2, 4) and geo.pad_h == geo.pad_w == 0


def test_hnerv_strides_at_640x1280():
    assert choose_geometry(640, 1280, uses_dwt=False).strides == (5, 4, 4, 2, 2)


@pytest.mark.parametrize("hw", [(1, 1), (2, 2), (17, 33), (36, 44), (144, 176), (45, 200), (200, 45), (97, 61)])
@pytest.mark.parametrize("name", ["snerv-b", "hnerv"])
def test_any_resolution_shapes(hw, name):
    uses_dwt = name != "hnerv"
    geo = choose_geometry(*hw, uses_dwt=uses_dwt)
    ph, pw = geo.padded_hw
    assert ph >= hw[0] and pw >= hw[1]  # padding only, never cropping
    assert ph - hw[0] < max(hw[0], 2) + 2 * 5 ** 5 and pw - hw[1] < max(hw[1], 2) + 2 * 5 ** 5
    cfg = ModelConfig(name, 16, 1, geo.strides, geo.emb_hw)
    assert cfg.frame_hw == (ph, pw)
    enc, dec = build_encoder(cfg), build_decoder(cfg)
    x = torch.rand(2, 3, ph, pw)
    x = pad_frames(torch.rand(2, 3, *hw), geo)
    assert x.shape[-2:] == (ph, pw)
    enc_in = x[..., ::2, ::2] if uses_dwt else x
    emb = enc(enc_in)
    assert emb.shape == (2, 16, *geo.emb_hw)
    out = synthesize(dec, cfg, emb, torch.zeros(2), torch.full((2,), 2.0))
    assert out.frame.shape == (2, 3, ph, pw)
    assert crop_frames(out.frame, *hw).shape[-2:] == hw


def test_padding_replicates_edges():
    geo = choose_geometry(10, 14)
    x = torch.arange(10 * 14, dtype=torch.float32).view(1, 1, 10, 14)
    y = pad_frames(x, geo)
    assert torch.equal(y[..., :10, :14], x)
    assert torch.equal(y[..., 10:, :14], x[..., 9:10, :].expand(1, 1, y.shape[-2] - 10, 14))
    u8 = pad_frames(x.to(torch.uint8), geo)
    assert u8.dtype == torch.uint8


def test_size_for_budget_is_largest_fitting():
    geo = choose_geometry(192, 384)
    cfg = size_for_budget("snerv-b", geo, 300e3, None, decoder_params)
    assert decoder_params(cfg) <= 300e3 < decoder_params(cfg.with_(c1=cfg.c1 + 1))
    with pytest.raises(BudgetError):
        size_for_budget("snerv-b", geo, 100, None, decoder_params)
