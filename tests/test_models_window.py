"""Drawing part of a canvas (models/window.py): a window of the output from the part of each layer it needs."""

import random

import numpy as np
import pytest
import torch

from snervcodec.models import build_decoder
from snervcodec.models.config import ModelConfig
from snervcodec.models.geometry import POS_ONE, WARP_ONE, WARP_POS, sample_views, warp_corners
from snervcodec.models.synthesis import synthesize
from snervcodec.models.window import (
    Region, chain_spans, conv_back, cut, frames_in, grid_window, offsets_window, shift_views, up_back, views_window,
)


def test_spans_of_one_layer():
    assert conv_back((5, 9), 2, 20) == (3, 11) and conv_back((1, 19), 2, 20) == (0, 20)
    assert up_back((5, 9), 2) == (2, 5) and up_back((4, 8), 4) == (1, 2)
    assert grid_window(Region(3, 4, 9, 10), 2) == Region(1, 2, 5, 5)
    # a chain of one 3x3 block of stride 2 over 10 cells: output pixels 8..11 need cells 3..6, widened by 1
    assert chain_spans((8, 12), (2,), (3,), 10) == {1: (8, 12), 0: (3, 7)}
    x = torch.arange(20.0).view(4, 5)
    part, at = cut(x, Region(0, 0, 4, 5), Region(1, 2, 3, 5))
    assert at == Region(1, 2, 3, 5) and part.tolist() == [[7, 8, 9], [12, 13, 14]]
    with pytest.raises(ValueError):
        cut(part, at, Region(0, 2, 3, 5))


CASES = [  # (model, strides, embedding cells, c1, residual blocks, kernels)
    ("snerv-b", (2, 2, 2, 1, 1), (5, 9), 16, 0, (1, 3, 5, 5, 5)),  # the rdo default's shape
    ("snerv-b", (5, 3, 1, 1, 1), (3, 8), 12, 0, (1, 3, 5, 5, 5)),
    ("snerv-b", (3, 2, 2, 2, 1), (2, 4), 12, 2, (1, 3, 3, 3, 3)),  # residual blocks in the fusions
    ("hnerv", (4, 2, 2, 2, 1), (2, 3), 12, 0, (1, 3, 5, 5, 5)),
]


@pytest.mark.parametrize("case", CASES, ids=[f"{c[0]}-{''.join(map(str, c[1]))}" for c in CASES])
def test_a_window_has_the_whole_grids_values(case):
    """Any window, at the edges or inside, gets the values the whole grid has there (to float rounding:
    the same sums, though a convolution of another size may round differently); SNeRV's is widened to
    whole LL pixels."""
    name, strides, emb_hw, c1, n_rb, kernels = case
    torch.manual_seed(0)
    cfg = ModelConfig(name, c1, n_rb, strides, emb_hw, kernels=kernels)
    net = build_decoder(cfg).eval()
    emb = torch.randn(2, 16, *emb_hw)
    lo, hi = torch.rand(2), torch.rand(2) + 1
    h, w = cfg.frame_hw
    rng = random.Random(0)
    with torch.no_grad():
        whole = synthesize(net, cfg, emb, lo, hi)
        windows = [Region(0, 0, h, w), Region(0, 0, 3, 5), Region(h - 4, w - 3, h, w), Region(1, 3, h - 2, w - 1)]
        for _ in range(8):
            top, left = rng.randrange(h - 1), rng.randrange(w - 1)
            windows.append(Region(top, left, rng.randrange(top + 1, h + 1), rng.randrange(left + 1, w + 1)))
        for win in windows:
            out = synthesize(net, cfg, emb, lo, hi, window=win)
            g = out.region or Region(0, 0, h, w)
            if cfg.uses_dwt:
                assert g == grid_window(win, 2).scaled(2)
                ll = whole.ll_norm[..., g.top // 2:g.bottom // 2, g.left // 2:g.right // 2]
                assert torch.allclose(out.ll_norm, ll, rtol=0, atol=1e-5)
            else:
                assert g == win
            assert torch.allclose(out.frame, whole.frame[..., g.top:g.bottom, g.left:g.right], rtol=0, atol=1e-5)


def test_the_window_reads_only_the_cells_it_needs():
    """Cells beyond the window's reach change nothing in it; the cells next to it do (the reach is not
    too short: the values above are not a coincidence of smooth weights)."""
    torch.manual_seed(1)
    cfg = ModelConfig("snerv-b", 12, 0, (2, 2, 2, 1, 1), (6, 10))
    net = build_decoder(cfg).eval()
    emb = torch.randn(1, 16, 6, 10)
    win = Region(32, 48, 64, 96)  # cells 2..3 by 3..5 of 16-pixel cells
    lo, hi = torch.zeros(1), torch.ones(1)
    with torch.no_grad():
        ref = synthesize(net, cfg, emb, lo, hi, window=win).frame
        far = emb.clone()
        far[..., :, 8:] += 5.0  # two cells beyond the window's right edge
        assert torch.equal(synthesize(net, cfg, far, lo, hi, window=win).frame, ref)
        near = emb.clone()
        near[..., :, 6] += 5.0  # the cell just right of it
        assert not torch.allclose(synthesize(net, cfg, near, lo, hi).frame[..., 32:64, 48:96], ref, atol=1e-3)


def test_a_model_that_draws_no_windows_is_cut_from_the_whole_grid():
    cfg = ModelConfig("snerv-t", 12, 0, (2, 2, 2, 1, 1), (2, 3), t_scale=2, t_channels=3)
    net = build_decoder(cfg).eval()
    emb, temb = torch.randn(1, 16, 2, 3), torch.randn(1, 6, *cfg.temb_hw)
    lo, hi = torch.zeros(1), torch.ones(1)
    with torch.no_grad():
        whole = synthesize(net, cfg, emb, lo, hi, temb)
        out = synthesize(net, cfg, emb, lo, hi, temb, window=Region(3, 5, 20, 30))
    assert out.region == Region(2, 4, 20, 30) and torch.equal(out.frame, whole.frame[..., 2:20, 4:30])
    assert torch.equal(out.hf, whole.hf[..., 1:10, 2:15])


def _warp(scale, degrees, ty, tx):
    a, b = scale * np.cos(np.radians(degrees)), scale * np.sin(np.radians(degrees))
    return [round(a * WARP_ONE), round(b * WARP_ONE), round(ty * WARP_POS), round(tx * WARP_POS)]


@pytest.mark.parametrize("views", [
    [_warp(1, 0, 20.0, 30.0), _warp(1, 0, 21.0, 34.0)],  # whole pixels: windows
    [_warp(1, 0, 20.3, 30.7), _warp(1.2, 0, 22.0, 31.25)],  # fractions, a zoom
    [_warp(1, 17, 25.0, 33.0), _warp(0.9, -40, 24.5, 35.5)],  # turns
    [_warp(1, 0, 8.5, 12.5) + _warp(1, 0, 9.0, 40.0) + [30, 60, 41, 80],  # an object layer, its box apart
     _warp(1, 0, 8.5, 12.5) + _warp(1, 0, 10.25, 44.5) + [30, 60, 41, 80]],
], ids=["windows", "fractions", "turns", "layer"])
def test_views_sampled_from_their_window_are_the_same_pixels(views):
    torch.manual_seed(2)
    v = torch.tensor(views, dtype=torch.int64)
    canvas = torch.rand(2, 3, 50, 90)
    win = views_window(v, 16, 24, (50, 90))
    assert 0 <= win.top < win.bottom <= 50 and 0 <= win.left < win.right <= 90
    rows, cols = warp_corners(v[:, :4].numpy(), 16, 24)
    assert win.top <= rows.min() // POS_ONE and rows.max() // POS_ONE + 1 < win.bottom or win.bottom == 50
    if v.shape[1] == 12:
        assert (win.top, win.left) <= (30, 60) and win.bottom >= 42 and win.right >= 81
    part = cut(canvas, Region(0, 0, 50, 90), win)[0]
    for grad in (False, True):  # a window, or a gather (the training path)
        x, p = canvas.clone().requires_grad_(grad), part.clone().requires_grad_(grad)
        assert torch.equal(sample_views(p, shift_views(v, win.top, win.left), 16, 24), sample_views(x, v, 16, 24))
    assert torch.equal(frames_in(part, win, 16, 24, views=v), sample_views(canvas, v, 16, 24))


def test_windows_of_a_pan_are_cut_from_their_window():
    offsets = torch.tensor([[3, 10], [5, 14]])
    canvas = torch.rand(2, 3, 40, 60)
    win = offsets_window(offsets, 16, 24)
    assert win == Region(3, 10, 21, 38)
    part = cut(canvas, Region(0, 0, 40, 60), win)[0]
    whole = frames_in(canvas, None, 16, 24, offsets=offsets)
    assert torch.equal(frames_in(part, win, 16, 24, offsets=offsets), whole)
    assert torch.equal(whole[1], canvas[1, :, 5:21, 14:38])
    with pytest.raises(ValueError):
        frames_in(part, win, 16, 24)  # no canvas: the frame's corner is at the grid's
