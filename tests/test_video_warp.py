"""A zoom or a turn as warped views of a canvas (snervcodec/video/warp.py)."""

import math

import numpy as np
import pytest
import torch

from motion import scene as _scene
from motion import turning
from snervcodec.errors import ConfigError
from snervcodec.models.geometry import WARP_ONE, WARP_POS, crop_windows, sample_views, warp_positions
from snervcodec.video.canvas import Canvas, plan_canvas
from snervcodec.video.warp import corner_positions, explained_warped, layout, paint_view, track_similarity


def test_track_similarity_finds_a_turn_and_a_zoom(rng):
    frames = turning(_scene(rng), 10, 48, 64, degrees=2.0, zoom=1.02)
    maps, starts = track_similarity(frames)
    assert starts == [0]
    angle = np.degrees(np.arctan2(maps[:, 1, 0], maps[:, 0, 0]))
    scale = np.sqrt(np.linalg.det(maps[:, :2, :2]))
    assert np.abs(angle - 2.0 * np.arange(10)).max() < 0.1  # frame k's pixels lie turned k x 2 degrees in frame 0
    assert np.abs(scale / 1.02 ** -np.arange(10) - 1).max() < 0.003
    assert np.abs(maps[:, :2, 2]).max() < 0.2  # about the centre


def test_a_cut_starts_a_new_shot(rng):
    a, b = turning(_scene(rng), 4, 40, 56, degrees=3.0), turning(_scene(rng), 4, 40, 56, degrees=3.0)
    maps, starts = track_similarity(np.concatenate([a, b]))
    assert starts == [0, 4]
    assert np.allclose(maps[4], maps[3])  # the new shot starts where the old one was


def test_tracking_gives_up_where_the_camera_does_not_explain_the_change(rng):
    """Frames that change on their own: the similarities remove little of the change, so tracking
    stops after a couple of frames instead of fitting every one (no warped canvas would be made)."""
    noise = rng.integers(0, 256, (12, 40, 56, 3), dtype=np.uint8)
    assert track_similarity(noise, give_up=0.5) is None
    turn = turning(_scene(rng), 6, 40, 56, degrees=3.0)
    assert track_similarity(turn, give_up=0.5) is not None
    maps, starts = track_similarity(np.repeat(turn[:1], 4, axis=0), give_up=0.5)  # nothing to explain
    assert np.allclose(maps, np.eye(3), atol=1e-6) and starts == [0]
    # a camera that holds still (sensor noise only) before it turns is still tracked to the end
    turn = turning(_scene(rng), 12, 40, 56, degrees=3.0)
    still = np.repeat(turn[:1], 3, axis=0).astype(np.int16) + rng.integers(-1, 2, (3, 40, 56, 3))
    late = np.concatenate([np.clip(still, 0, 255).astype(np.uint8), turn[1:]])
    assert track_similarity(late, give_up=0.5) is not None
    assert plan_canvas(late).warps is not None


def test_layout_draws_the_finest_frame_one_to_one(rng):
    frames = turning(_scene(rng), 8, 40, 56, degrees=1.0, zoom=1.03)
    maps, _ = track_similarity(frames)
    warps, hc, wc = layout(maps, (40, 56), max_area=4.0)
    scale = np.hypot(warps[:, 0], warps[:, 1]) / WARP_ONE
    assert scale.min() == pytest.approx(1.0, abs=2e-3) and scale.max() == pytest.approx(1.03 ** 7, abs=3e-3)
    pos = corner_positions(warps, 40, 56).reshape(-1, 2)
    assert pos.min() >= 0 and pos.min(axis=0).max() < 1  # the canvas starts at the views' top-left
    assert pos[:, 0].max() <= hc - 1 and pos[:, 1].max() <= wc - 1
    small = layout(maps, (40, 56), max_area=1.3)  # too large at 1:1: drawn coarser, within the area
    assert small is not None and small[1] * small[2] <= 1.3 * 40 * 56 * 1.05
    assert np.hypot(small[0][:, 0], small[0][:, 1]).min() < 0.99 * WARP_ONE
    assert layout(maps, (40, 56), max_area=0.5) is None  # even the coarsest frame's scale is too large


def test_positions_and_corners():
    turn = np.array([[0, WARP_ONE, 10 * WARP_POS, 20 * WARP_POS]])  # a quarter turn about (10, 20)
    rows, cols = warp_positions(turn, np.array([[-2], [0], [2]]), np.array([[-4, -2, 0, 2, 4]]))  # 3 x 5
    assert (rows[0, 0, 0], cols[0, 0, 0]) == ((10 + 2) << 17, (20 - 1) << 17)  # row = -dx + 10, col = dy + 20
    assert np.array_equal(corner_positions(turn, 3, 5)[0],
                          np.stack((rows[0], cols[0]), -1)[[0, 0, -1, -1], [0, -1, 0, -1]] / (1 << 17))


def _spec_sample(canvas: np.ndarray, warp, height: int, width: int) -> np.ndarray:
    """bitstream/SPEC.md 4.6 written out in numpy, pixel by pixel, float32 (C, Hc, Wc) -> (C, H, W)."""
    a, b, ty, tx = (int(v) for v in warp)
    hc, wc = canvas.shape[1:]
    out = np.empty((canvas.shape[0], height, width), np.float32)
    one = np.float32(1)
    for y in range(height):
        for x in range(width):
            dy, dx = y - (height - 1) / 2, x - (width - 1) / 2
            row, col = (a * dy - b * dx) / 65536 + ty / 64, (b * dy + a * dx) / 65536 + tx / 64
            r0, c0 = min(math.floor(row), hc - 2), min(math.floor(col), wc - 2)
            wr, wc_ = np.float32(row - r0), np.float32(col - c0)
            top = (one - wc_) * canvas[:, r0, c0] + wc_ * canvas[:, r0, c0 + 1]
            bottom = (one - wc_) * canvas[:, r0 + 1, c0] + wc_ * canvas[:, r0 + 1, c0 + 1]
            out[:, y, x] = (one - wr) * top + wr * bottom
    return out


@pytest.mark.parametrize("warp", [
    (WARP_ONE, 0, 320, 448),  # whole pixels
    (0, WARP_ONE, 320, 448),  # a quarter turn
    (-WARP_ONE, 0, 320, 448),  # half a turn
    (58000, 23000, 333, 451),  # a turn and a zoom, fractional
    (WARP_ONE, 0, 480, 672),  # the view's last row and column on the canvas's: the weights reach 1
])
def test_sample_views_is_the_spec_to_the_bit(rng, warp):
    canvas = rng.random((3, 10, 14)).astype(np.float32)
    got = sample_views(torch.from_numpy(canvas)[None], torch.tensor([warp]), 4, 6)[0].numpy()
    assert np.array_equal(got, _spec_sample(canvas, warp, 4, 6))


def test_sample_views_on_whole_pixels_are_windows(rng):
    x = torch.from_numpy(rng.random((2, 3, 20, 30))).float().requires_grad_(True)
    off = torch.tensor([[2, 5], [7, 0]])
    warps = torch.tensor([[WARP_ONE, 0, int((2 + 4.5) * WARP_POS), int((5 + 7) * WARP_POS)],
                          [WARP_ONE, 0, int((7 + 4.5) * WARP_POS), int((0 + 7) * WARP_POS)]])
    v = sample_views(x, warps, 10, 15)
    assert torch.equal(v, crop_windows(x, off, 10, 15))
    v.sum().backward()  # the frame term of the loss trains the canvas through the views, and only there
    inside = torch.zeros_like(x)
    for i, (oy, ox) in enumerate(off.tolist()):
        inside[i, :, oy:oy + 10, ox:ox + 15] = 1
    assert torch.equal(x.grad, inside)
    half = torch.tensor([[WARP_ONE, 0, int(5 * WARP_POS), int(7.5 * WARP_POS)]])  # half a pixel down and right
    v = sample_views(x[:1].detach(), half, 10, 15)
    assert torch.allclose(v, 0.25 * (x[:1, :, :10, :15] + x[:1, :, 1:11, :15] + x[:1, :, :10, 1:16]
                                     + x[:1, :, 1:11, 1:16]).detach(), atol=1e-6)


def test_paint_then_sample_gives_the_frame_back(rng):
    frame = turning(_scene(rng), 1, 40, 56)[0]
    th = math.radians(30)
    warp = np.array([round(math.cos(th) * WARP_ONE), round(math.sin(th) * WARP_ONE), 40 * WARP_POS, 40 * WARP_POS])
    painted, known = paint_view(frame, warp, 80, 80)
    assert painted.shape == (80, 80, 3) and known[40, 40] and not known[0, 0]
    back = sample_views(torch.from_numpy(painted).permute(2, 0, 1)[None], torch.from_numpy(warp[None]), 40, 56)
    err = (back[0].permute(1, 2, 0).numpy() - frame)[2:-2, 2:-2]  # the edges were sampled from outside
    assert 10 * math.log10(255 ** 2 / np.mean(err ** 2)) > 35


def test_plan_canvas_turns_a_zoom_or_turn_into_warped_views(rng):
    scene = _scene(rng)
    turn = turning(scene, 12, 40, 56, degrees=3.0)
    c = plan_canvas(turn)
    assert c is not None and c.warps is not None and c.offsets is None and c.frame == (40, 56)
    maps, starts = track_similarity(turn)
    assert explained_warped(turn, c.warps, starts, c.height, c.width) > 0.85  # bilinear resampling loses a little
    assert plan_canvas(turning(scene, 12, 40, 56, zoom=1.04)).warps is not None
    pan = np.stack([scene[k:k + 40, 3 * k:3 * k + 56].round().astype(np.uint8) for k in range(12)])
    assert plan_canvas(pan).offsets is not None  # a pan keeps its windows
    assert plan_canvas(np.repeat(turn[:1], 6, axis=0)) is None  # a still camera: the frames themselves
    assert plan_canvas(turn, min_extent=100) is None
    busy = turn.copy()
    busy[:, :, :30] = rng.integers(0, 256, (12, 40, 30, 3), dtype=np.uint8)  # noise of its own every frame
    assert plan_canvas(busy) is None


def test_a_canvas_of_warped_views_checks_them(rng):
    w = np.array([[WARP_ONE, 0, 288, 288]] * 2)  # centred at (4.5, 4.5): rows and columns 1..8
    with pytest.raises(ConfigError, match="one of the two"):
        Canvas(20, 20, (8, 8), np.zeros((2, 2), np.int64), w)
    with pytest.raises(ConfigError, match="one of the two"):
        Canvas(20, 20, (8, 8))
    with pytest.raises(ConfigError, match="leaves the 8x8 canvas"):
        Canvas(8, 8, (8, 8), warps=w)  # the view reaches row 8
    c = Canvas(20, 20, (8, 8), warps=w)
    frames = turning(_scene(rng), 2, 8, 8)
    canv, known = c.paint(frames)
    assert canv.shape == (2, 20, 20, 3) and known[0].sum() == 64 and known[0, 5, 5] and not known[0, 15, 15]
    assert np.array_equal(canv[0, 1:9, 1:9], frames[0])  # whole-pixel views land on the pixels
    with pytest.raises(ConfigError, match="cannot hold"):
        c.paint(frames[:1])
