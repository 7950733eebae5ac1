"""The camera's motion as windows of a canvas (snervcodec/video/canvas.py)."""

import numpy as np
import pytest

from snervcodec.errors import ConfigError
from snervcodec.video.canvas import Canvas, _track, camera_offsets, explained, frame_shift, plan_canvas


def _scene(rng, h=160, w=320):
    """A textured picture: smooth noise, so that every shift is visible."""
    x = rng.random((h // 4, w // 4, 3))
    return np.clip(np.kron(x, np.ones((4, 4, 1))) * 255, 0, 255).astype(np.uint8)


def _pan(scene, n, h, w, dy, dx):
    return np.stack([scene[k * dy:k * dy + h, k * dx:k * dx + w] for k in range(n)])


def test_frame_shift_finds_the_camera_move(rng):
    scene = _scene(rng)
    a, b = scene[10:58, 20:84], scene[13:61, 15:79]  # the camera moved 3 down, 5 left
    dy, dx = frame_shift(a, b)
    assert round(dy) == 3 and round(dx) == -5


def test_frame_shift_of_a_cut_is_none(rng):
    a, b = _scene(rng)[:48, :64], _scene(rng)[:48, :64]
    assert frame_shift(a, b) is None
    assert frame_shift(a, a) == (0.0, 0.0)


def test_camera_offsets_of_a_pan(rng):
    frames = _pan(_scene(rng), 12, 48, 64, 1, 4)
    off = camera_offsets(frames)
    assert off.tolist() == [[k, 4 * k] for k in range(12)]


def test_large_frames_are_tracked_on_block_means(rng):
    """A frame larger than TRACK_SIDE is tracked at a third of its size here; the sub-pixel peak
    brings the offsets back to within a pixel of the truth."""
    scene = np.kron(_scene(rng, 320, 480), np.ones((2, 3, 1), np.uint8))  # 640x1440, smooth
    frames = _pan(scene, 8, 600, 1100, 3, 8)
    off = camera_offsets(frames)
    assert np.abs(off - np.array([[3 * k, 8 * k] for k in range(8)])).max() <= 1


def test_slow_motion_adds_up(rng):
    """A pixel every other frame: neighbouring frames differ by half a pixel's worth of blur, the
    reference frame keeps the count."""
    scene = _scene(rng)
    frames = np.stack([scene[0:48, (k // 2):(k // 2) + 64] for k in range(16)])
    off = camera_offsets(frames)
    assert off[-1].tolist() == [0, 7]
    assert np.all(np.diff(off[:, 1]) >= 0)


def test_plan_canvas(rng):
    scene = _scene(rng)
    pan = _pan(scene, 12, 48, 64, 1, 4)
    c = plan_canvas(pan)
    assert (c.height, c.width, c.frame) == (48 + 11, 64 + 44, (48, 64))
    assert c.area_ratio == pytest.approx(59 * 108 / (48 * 64))
    still = np.repeat(scene[None, :48, :64], 8, axis=0)
    assert plan_canvas(still) is None  # no motion: the frames themselves
    assert plan_canvas(pan, max_area=1.5) is None  # too large a canvas
    assert plan_canvas(pan, min_extent=50) is None  # too little travel


def test_explained_share_of_the_change(rng):
    """A pan over a still scene is all camera motion; where most of each frame changes on its own the
    camera explains too little, and the frames are drawn as they are."""
    pan = _pan(_scene(rng), 12, 48, 64, 1, 4)
    true = np.array([[k, 4 * k] for k in range(12)])
    assert explained(pan, *_track(pan)) > 0.99 and explained(pan, true, [0]) > 0.99
    busy = pan.copy()
    busy[:, :, :40] = rng.integers(0, 256, (12, 48, 40, 3), dtype=np.uint8)  # noise of its own every frame
    assert explained(busy, true, [0]) < 0.75
    assert plan_canvas(busy) is None
    still = np.repeat(pan[:1], 4, axis=0)
    assert explained(still, *_track(still)) == 0.0


def test_paint_places_each_frame_in_its_window(rng):
    frames = _pan(_scene(rng), 6, 24, 32, 2, 3)
    c = Canvas.of(np.array([[2 * k, 3 * k] for k in range(6)]), (24, 32))
    canv, known = c.paint(frames)
    assert canv.shape == (6, 24 + 10, 32 + 15, 3) and known.shape == (6, 34, 47)
    for k in range(6):
        assert np.array_equal(canv[k, 2 * k:2 * k + 24, 3 * k:3 * k + 32], frames[k])
        assert known[k].sum() == 24 * 32 and known[k, 2 * k, 3 * k] and not known[k, 0, 46]
    # outside its window a frame's canvas shows what the other frames saw there
    assert np.array_equal(canv[0, 10:34, 15:47], frames[5])


def test_canvas_checks_its_windows():
    with pytest.raises(ConfigError, match="outside"):
        Canvas(10, 10, (8, 8), np.array([[0, 0], [3, 0]]))
    c = Canvas.of(np.array([[0, 0], [1, 1]]), (8, 8))
    with pytest.raises(ConfigError, match="cannot hold"):
        c.paint(np.zeros((3, 8, 8, 3), np.uint8))
