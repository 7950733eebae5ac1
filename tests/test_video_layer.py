"""An object over a still background as a layer of the canvas (video/layer.py, SPEC.md 4.7)."""

import numpy as np
import pytest
import torch

from motion import crossing
from snervcodec.errors import ConfigError
from snervcodec.models.geometry import POS_ONE, WARP_ONE, WARP_POS, sample_views, warp_problem
from snervcodec.video.canvas import Canvas, plan_canvas
from snervcodec.video.layer import Layer, explained_layer, object_mask, plan_layer
from test_video_warp import _spec_sample

START, STEP = (4.0, 3.0), (0.5, 3.5)


@pytest.fixture(scope="module")
def clip():
    """16 frames of 48x80: a 12x16 object crossing a still background at (0.5, 3.5) pixels a frame."""
    return crossing(np.random.default_rng(0), 16, 48, 80, velocity=STEP)


def test_plan_canvas_puts_a_moving_object_on_a_layer(clip):
    c = plan_canvas(clip)
    assert c is not None and c.layer is not None and c.offsets is None and c.frame == (48, 80)
    top, left, bottom, right = c.layer.box
    assert (bottom - top, right - left) == (14, 18) and (c.height, c.width) == (48, 98)  # beside the frame, a ring
    assert (left, top) == (80, 0)
    # the background is the frame itself: the identity warp
    assert (c.warps == [WARP_ONE, 0, 47 * WARP_POS // 2, 79 * WARP_POS // 2]).all()
    # the object's warp is a translation that takes its top-left pixel to the box's, within a tenth of a pixel
    a, b, ty, tx = c.layer.warps.T
    assert (a == WARP_ONE).all() and (b == 0).all()
    k = np.arange(16)  # where the object's top-left corner lands: the same place in every frame, inside the ring
    row = (START[0] + STEP[0] * k - 23.5) + ty / WARP_POS
    col = (START[1] + STEP[1] * k - 39.5) + tx / WARP_POS
    assert np.ptp(row) < 0.15 and np.ptp(col) < 0.15
    assert abs(row.mean() - top - 1) < 1 and abs(col.mean() - left - 1) < 1
    # (the ring around so small an object shows the background moving: 0.98 of the change explained without it)
    assert c.views.shape == (16, 12) and explained_layer(clip, c.views, c.height, c.width) > 0.8


def _true_object(n, h, w, size, start, step):
    """(T, H, W) bool: the pixels :func:`motion.crossing` draws its object on."""
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = []
    for k in range(n):
        ly, lx = yy - (start[0] + step[0] * k), xx - (start[1] + step[1] * k)
        out.append((ly >= 0) & (ly <= size[0] - 1) & (lx >= 0) & (lx <= size[1] - 1))
    return np.stack(out)


@pytest.mark.parametrize("h, w, size, start, step, detail", [
    (48, 96, (16, 24), (1.0, 3.0), (0.0, 4.5), 2),  # one pixel from the top edge: the reference crop moves inside
    (40, 96, (16, 24), (24.0, 3.0), (0.0, 4.5), 2),  # on the bottom edge
    (64, 520, (24, 40), (20.0, 10.0), (0.3, 11.0), 1),  # found in blocks of 3 pixels, then to the pixel
])
def test_the_layer_shows_the_object_where_it_is(rng, h, w, size, start, step, detail):
    """Every pixel of the object shows the object layer, and only those and a ring of a pixel around them
    (its edge rows and columns come and go as it moves by fractions of a pixel)."""
    clip = crossing(rng, 16, h, w, size=size, start=start, velocity=step, detail=detail)
    c = plan_canvas(clip)
    assert c is not None and c.layer is not None
    shows, truth = object_mask(c.views, h, w), _true_object(16, h, w, size, start, step)
    ring = torch.nn.functional.max_pool2d(torch.from_numpy(truth).float()[:, None], 3, 1, 1)[:, 0].numpy() > 0
    assert (shows | ~truth).all() and (ring | ~shows).all()


def test_plan_layer_refuses_what_is_not_one_object_over_a_still_background(clip, rng):
    assert plan_canvas(np.repeat(clip[:1], 8, axis=0)) is None  # nothing moves
    assert plan_layer(clip, 100, 4.0, 0.75) is None  # the object travels under min_extent
    assert plan_layer(clip, 8, 1.1, 0.75) is None  # the canvas would pass max_area
    assert plan_layer(clip, 8, 4.0, 0.999) is None  # nor does it explain all of the change
    busy = clip.copy()
    busy[:, :, :40] = rng.integers(0, 256, (16, 48, 40, 3), dtype=np.uint8)  # half the frame is noise
    assert plan_layer(busy, 8, 4.0, 0.75) is None
    gone = clip.copy()
    gone[5] = np.median(clip, axis=0).astype(np.uint8)  # a frame without the object
    assert plan_layer(gone, 8, 4.0, 0.75) is None


def _views(obj_warp, box=(0, 10, 4, 16), warp=(WARP_ONE, 0, 96, 160)):
    return np.array([[*warp, *obj_warp, *box]], np.int64)


def _spec_layered(canvas, view, height, width):
    """SPEC.md 4.7 written out in numpy, pixel by pixel: the object's sample where its position lies in the
    box, the frame's elsewhere."""
    a, b, ty, tx = (int(v) for v in view[4:8])
    top, left, bottom, right = (int(v) for v in view[8:])
    back, obj = _spec_sample(canvas, view[:4], height, width), _spec_sample(canvas, view[4:8], height, width)
    out = back.copy()
    for y in range(height):
        for x in range(width):
            row = (a * (2 * y - height + 1) - b * (2 * x - width + 1)) + 2048 * ty  # in 1/2^17 pixel
            col = (b * (2 * y - height + 1) + a * (2 * x - width + 1)) + 2048 * tx
            if top * POS_ONE <= row <= (bottom - 1) * POS_ONE and left * POS_ONE <= col <= (right - 1) * POS_ONE:
                out[:, y, x] = obj[:, y, x]
    return out


@pytest.mark.parametrize("obj_warp", [
    (WARP_ONE, 0, 96 + 64, 160 + 64 * 11),  # whole pixels: the frame's (y, x) at (y + 1, x + 11), past the box's edge
    (WARP_ONE, 0, 100, 800),  # fractional: the last row lands 1/16 pixel past the box's
    (60000, 9000, 110, 820),  # turned and scaled
])
def test_layered_sampling_is_the_spec_to_the_bit(rng, obj_warp):
    canvas = rng.random((3, 8, 18)).astype(np.float32)
    view = _views(obj_warp)
    got = sample_views(torch.from_numpy(canvas)[None], torch.from_numpy(view), 4, 6)[0].numpy()
    want = _spec_layered(canvas, view[0], 4, 6)
    assert np.array_equal(got, want)
    shown = object_mask(view, 4, 6)[0]
    assert shown.any() and not shown.all()  # both layers show
    back = _spec_sample(canvas, view[0, :4], 4, 6)
    assert np.array_equal(got[:, ~shown], back[:, ~shown])


def test_object_mask_is_what_sampling_shows(rng):
    view = _views((WARP_ONE, 0, 100, 800))
    marker = torch.zeros(1, 1, 8, 18)
    marker[..., 0:4, 10:16] = 1.0  # the box
    shows = sample_views(marker, torch.from_numpy(view), 4, 6)[0, 0].numpy() > 0
    assert np.array_equal(shows, object_mask(view, 4, 6)[0])


def test_paint_then_sample_gives_the_frames_back(rng):
    whole = crossing(rng, 16, 48, 80, velocity=(1.0, 4.0))  # whole pixels: sampling reads pixels as they are
    c = plan_canvas(whole)
    assert c.layer is not None and (c.layer.warps[:, 2:] % (WARP_POS // 2) == 0).all()  # an even frame's centre: halves
    painted, known = c.paint(whole)
    assert painted.shape == (16, 48, 98, 3) and known.shape == (16, 48, 98)
    top, left, bottom, right = c.layer.box
    assert known[:, top:bottom, left:right].all()  # every frame shows the whole object
    back = sample_views(torch.from_numpy(painted).permute(0, 3, 1, 2).float(), torch.from_numpy(c.views), 48, 80)
    assert torch.equal(back.round().byte().permute(0, 2, 3, 1), torch.from_numpy(whole))
    # where the object hides the background, the background is the other frames'; the loss does not see it
    assert not known[0, 4:16, 3:19].any() and known[15, 4:16, 3:19].all()


def test_the_gradient_of_a_view_lands_where_it_was_sampled(rng):
    x = torch.from_numpy(rng.random((1, 3, 8, 18))).float().requires_grad_(True)
    view = _views((WARP_ONE, 0, 96 + 64, 160 + 64 * 11))  # the frame's (y, x) at (y + 1, x + 11)
    sample_views(x, torch.from_numpy(view), 4, 6).sum().backward()
    shown = object_mask(view, 4, 6)[0]
    assert shown.any() and not shown.all()
    expect = torch.zeros(8, 18)
    for y, x_ in np.ndindex(4, 6):
        expect[(y + 1, x_ + 11) if shown[y, x_] else (y, x_)] += 1
    assert torch.equal(x.grad[0, 0], expect)


def test_a_layer_is_checked():
    w = np.array([[WARP_ONE, 0, 288, 288]] * 2)
    layer = Layer(np.array([[WARP_ONE, 0, 288, 288 + 64 * 10]] * 2), (0, 10, 8, 18))
    c = Canvas(20, 20, (8, 8), warps=w, layer=layer)
    assert c.views.shape == (2, 12) and c.views[1, 8:].tolist() == [0, 10, 8, 18]
    with pytest.raises(ConfigError, match="lies over warped views"):
        Canvas(20, 20, (8, 8), offsets=np.zeros((2, 2), np.int64), layer=layer)
    with pytest.raises(ConfigError, match="object box"):
        Canvas(20, 17, (8, 8), warps=w, layer=layer)  # the box reaches column 18
    with pytest.raises(ConfigError, match="object warp"):
        Canvas(20, 20, (8, 8), warps=w, layer=Layer(np.array([[0, 0, 0, 0]] * 2), (0, 10, 8, 18)))
    thin = np.array([[*w[0], *layer.warps[0], 0, 10, 1, 18]])
    assert "at least 2x2" in warp_problem(thin, (8, 8), (20, 20))
    far = np.array([[*w[0], WARP_ONE, 0, (1 << 24) + 1, 0, 0, 10, 8, 18]])
    assert "object warp" in warp_problem(far, (8, 8), (20, 20))


def test_an_object_off_the_canvas_shows_nothing(rng):
    """An object's positions may leave the canvas (its centre within MAX_CENTRE): the gather reads clamped
    positions and none is shown."""
    canvas = torch.from_numpy(rng.random((1, 3, 8, 18))).float()
    view = _views((WARP_ONE, 0, 96, 160 + 64 * 20))  # columns x + 20: past the canvas's 18
    assert warp_problem(view, (4, 6), (8, 18)) is None and not object_mask(view, 4, 6).any()
    assert torch.equal(sample_views(canvas, torch.from_numpy(view), 4, 6),
                       sample_views(canvas, torch.from_numpy(view[:, :4]), 4, 6))


def test_one_box_a_stream():
    w = [WARP_ONE, 0, 288, 288]
    rows = np.array([[*w, WARP_ONE, 0, 288, 288 + 640, 0, 10, 8, 18], [*w, WARP_ONE, 0, 288, 288 + 640, 0, 10, 8, 19]])
    assert "one box a stream" in warp_problem(rows, (8, 8), (20, 20))


def test_a_flat_object_is_refused_not_misplaced(rng):
    """A flat object's inside matches anywhere: no layer (it would be placed a pixel off, and jitter)."""
    clip = crossing(rng, 16, 48, 80, velocity=(0.3, 2.7))
    clip[_true_object(16, 48, 80, (12, 16), START, (0.3, 2.7))] = (200, 30, 30)
    assert plan_canvas(clip) is None


def test_an_object_too_large_for_its_crop_is_refused(rng):
    """A thin strip of frames: the object's crop with its margins would pass the frame (it crashed the fit)."""
    strip = crossing(rng, 8, 36, 2000, size=(30, 60), start=(2.7, 1.0), velocity=(0.0, 150.0), detail=1)
    assert plan_layer(strip, 8, 4.0, 0.75) is None


@pytest.mark.parametrize("rows", [
    [[WARP_ONE, 0, 96, 160]] * 2,  # whole pixels: a window
    [[WARP_ONE, 0, 96 + 4 * 64, 160 + 12 * 64], [WARP_ONE, 0, 96, 160]],  # the canvas's last row and column
    [[WARP_ONE, 0, 100, 170], [WARP_ONE, 0, 96, 160]],  # one fractional: every frame sampled
    [[WARP_ONE, 0, 96, 160, WARP_ONE, 0, 96 + 64, 160 + 64 * 11, 0, 10, 4, 16]] * 2,  # an object, in part
    [[WARP_ONE, 0, 96, 160, 60000, 9000, 110, 820, 0, 10, 4, 16],
     [58000, 23000, 200, 300, WARP_ONE, 0, 100, 800, 0, 10, 4, 16]],  # turned, scaled, fractional
    [[WARP_ONE, 0, 96, 160, WARP_ONE, 0, 96, 160 + 64 * 20, 0, 10, 4, 16]] * 2,  # the object nowhere shown
])
def test_sampling_without_a_gradient_gives_the_same_pixels(rng, rows):
    """Decoding and evaluation take a cheaper path (windows, the object's rectangle): the same values, bit
    for bit, as the sampling that training differentiates."""
    x = torch.from_numpy(rng.random((2, 3, 8, 18))).float()
    views = torch.tensor(rows)
    with torch.no_grad():
        fast = sample_views(x, views, 4, 6)
    slow = sample_views(x.clone().requires_grad_(True), views, 4, 6)
    assert torch.equal(fast, slow.detach()) and fast.dtype == torch.float32
