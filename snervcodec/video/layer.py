"""A moving object over a still background: a second layer of the canvas, with a warp of its own.

Where the camera holds still, the canvas of :mod:`.canvas` has nothing to hold, yet an object that
crosses the frame costs a NeRV decoder as much as a pan: it must draw the object anew at every position,
frame by frame, while x264 moves it for almost nothing. Here the encoder finds the object (the pixels
that differ from the clip's median frame), matches it in every frame against one reference frame (a
shift, to a fraction of a pixel, fitted as :mod:`.warp` fits a camera's similarity), and lays the
canvas out as the frame plus a box beside or below it that holds the reference frame's object. The
network draws both; each frame is the background at its warp, with the pixels whose object position
falls in the box sampled from the box instead (format 1.9, bitstream/SPEC.md 4.7;
:func:`~..models.geometry.sample_views`). Measured in docs/design-notes.md "Object layer".
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F

from ..models.geometry import WARP_ONE, WARP_POS, centred_coordinates, object_positions, sample_views
from .warp import _CUT, _MIN_OVERLAP, FIT_SIDE, _fit, _lumas, _matrix, luma, paint_view

MAX_OBJECT = 0.25  # the object's box, in frames' areas: past it the object is the scene (no layer)
_MOVING = 24.0  # a pixel whose luma is this many levels from the median frame's belongs to a moving object
_RING = 1  # pixels of box around the reference frame's object
_MIN_SIDE = 8  # the least object (less its margins and edge) tracked: smaller ones, and flat ones, are refused
_UNIQUE = 0.02  # a whole-pixel match must beat shifts 2 pixels off by this share of the object's variance, a pixel
_MARGIN = 2  # pixels (blocks, on frames tracked in blocks) of slack around the object in the reference crop


@dataclass(frozen=True, eq=False)
class Layer:
    """An object drawn in ``box`` (top, left, bottom, right) of the canvas; ``warps[k]`` maps frame k's
    pixels onto the canvas as a frame's warp does (:mod:`.warp`): where it lands in the box, the frame
    shows the object."""

    warps: np.ndarray  # (T, 4) int64
    box: tuple[int, int, int, int]

    def views(self, warps: np.ndarray) -> np.ndarray:
        """(T, 12) view rows (SPEC.md 4.7) of frames at ``warps`` with this layer over them."""
        t = len(warps)
        return np.concatenate([warps, self.warps, np.tile(np.asarray(self.box, np.int64), (t, 1))], axis=1)


def object_mask(views: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, H, W) bool: the frames' pixels that show the object, as :func:`~..models.geometry.sample_views`
    chooses them."""
    rows = torch.from_numpy(np.asarray(views, np.int64))
    return object_positions(rows, *centred_coordinates(height, width))[2].numpy()


def plan_layer(frames: np.ndarray, min_extent: int, max_area: float,
               min_explained: float) -> tuple[np.ndarray, Layer, int, int] | None:
    """(background warps (T, 4), the :class:`Layer`, canvas height, width) for a still camera over which
    one object moves, or None: where some frame shows no object, the object's box would pass
    :data:`MAX_OBJECT` of the frame or the canvas ``max_area`` frames, the object's centre travels less
    than ``min_extent`` pixels, a match fails, or the layer explains less than ``min_explained`` of the
    frames' change about their mean (:func:`explained_layer`)."""
    t, h, w, _ = frames.shape
    if t < 2:
        return None
    block = max(1, -(-max(h, w) // FIT_SIDE))
    lum = _lumas(frames, block)[:, 0].numpy() * 255  # (T, h', w'), the pixels' block means
    median = np.median(lum, axis=0)
    boxes = []
    for k in range(t):
        box = _moving_box(lum, median, k)
        if box is None:
            return None
        boxes.append(box)
    boxes = np.array(boxes) * block  # in the frame's pixels
    margin = _MARGIN * block  # (the boxes are whole blocks: the object may lie up to a block inside)
    size = (boxes[:, 2:] - boxes[:, :2]).max(axis=0) + 2 * margin
    if size[0] * size[1] > MAX_OBJECT * h * w:
        return None
    centres = (boxes[:, :2] + boxes[:, 2:]) / 2
    if np.abs(centres - centres[:1]).max() < min_extent:
        return None
    ref = int(np.argmax((boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])))
    if block > 1:  # the reference frame's object to the pixel: its box is the layer's
        boxes[ref] = _refined(frames, boxes[ref], ref, block)
    maps = _track_object(frames, boxes, size, margin, ref)
    if maps is None:
        return None
    # the box: the reference frame's object and a pixel around it (as the object moves by fractions of a pixel,
    # its edge rows and columns come and go: without the ring the background would have to draw them)
    bh, bw = (int(v) + 2 * _RING for v in boxes[ref, 2:] - boxes[ref, :2])
    right = max(h, bh) * (w + bw) <= (h + bh) * max(w, bw)  # the box beside the frame, or below: the smaller canvas
    hc, wc = (max(h, bh), w + bw) if right else (h + bh, max(w, bw))
    if hc * wc > max_area * h * w:
        return None
    top, left = (0, w) if right else (h, 0)
    layer = Layer(_object_warps(maps, np.array([top, left]) + _RING - boxes[ref, :2]), (top, left, top + bh, left + bw))
    still = np.repeat(np.array([[WARP_ONE, 0, (h - 1) * WARP_POS // 2, (w - 1) * WARP_POS // 2]], np.int64), t, 0)
    if explained_layer(frames, layer.views(still), hc, wc) < min_explained:
        return None
    return still, layer, hc, wc


def _moving_box(lum: np.ndarray, median: np.ndarray, k: int) -> np.ndarray | None:
    """(top, left, bottom, right) of the rows and columns where frame ``k`` of ``lum`` (T, h, w) has at
    least two pixels :data:`_MOVING` levels from ``median``, or None where none has."""
    moving = np.abs(lum[k] - median) > _MOVING
    rows, cols = np.flatnonzero(moving.sum(axis=1) >= 2), np.flatnonzero(moving.sum(axis=0) >= 2)
    if len(rows) == 0 or len(cols) == 0:
        return None
    return np.array([rows[0], cols[0], rows[-1] + 1, cols[-1] + 1])


def _refined(frames: np.ndarray, box: np.ndarray, k: int, block: int) -> np.ndarray:
    """Frame ``k``'s object ``box``, found in whole blocks, found again to the pixel (over the box and a
    block around it, every frame at full resolution); the box itself where nothing moves there."""
    h, w = frames.shape[1:3]
    y0, x0 = np.maximum(box[:2] - block, 0)
    y1, x1 = np.minimum(box[2:] + block, [h, w])
    lum = _lumas(frames[:, y0:y1, x0:x1], 1)[:, 0].numpy() * 255
    found = _moving_box(lum, np.median(lum, axis=0), k)
    return box if found is None else found + np.array([y0, x0, y0, x0])


def _crop(frame: np.ndarray, box: np.ndarray, size: np.ndarray) -> tuple[torch.Tensor, np.ndarray]:
    """The luma ((1, 1, h, w) float32 in [0, 1], as :mod:`.warp` fits it) of the ``size`` crop of
    ``frame`` centred on ``box`` (moved inside the frame), and the crop's top-left corner."""
    h, w = frame.shape[:2]
    centre = (box[:2] + box[2:]) / 2
    corner = np.clip(np.rint(centre - size / 2), 0, np.array([h, w]) - size).astype(int)
    return _lumas(frame[None, corner[0]:corner[0] + size[0], corner[1]:corner[1] + size[1]], 1), corner


def _track_object(frames: np.ndarray, boxes: np.ndarray, size: np.ndarray, margin: int,
                  ref: int) -> np.ndarray | None:
    """(T, 3, 3) maps of each frame's centred pixel coordinates into the reference frame's pixels: each
    frame's object (a crop of the largest extent, ``size`` less the ``margin`` and one pixel a side,
    around it) matched, at full resolution, inside the reference frame's crop of ``size`` (so that it
    may move by the margin); None where the crop passes the frame, the object less its margins and edge
    is under :data:`_MIN_SIDE` pixels a side, its best whole-pixel match is not clearly better than its
    neighbours (a flat object: :func:`_whole_shift`), or a match leaves more than :data:`~.warp._CUT` of
    the object's variance or half of it off the reference crop."""
    t, h, w, _ = frames.shape
    ref_hw = np.asarray(size, int)
    inner_hw = ref_hw - 2 * margin - 2  # without its edge, which a sub-pixel move blends with the background
    if (ref_hw > np.array([h, w])).any() or inner_hw.min() < _MIN_SIDE:
        return None
    ref_crop, ref_corner = _crop(frames[ref], boxes[ref], ref_hw)
    to_ref = np.eye(3)  # reference crop centred -> reference frame's pixels
    to_ref[:2, 2] = ref_corner + (ref_hw - 1) / 2
    maps = np.empty((t, 3, 3))
    for k in range(t):
        crop, corner = _crop(frames[k], boxes[k], inner_hw)
        start = _whole_shift(ref_crop, crop)
        if start is None:
            return None
        p, err, overlap = _fit(ref_crop, crop, start, shift_only=True)
        if err > _CUT * float(crop.var()) or overlap < _MIN_OVERLAP:
            return None
        shift = np.eye(3)  # frame centred -> crop centred
        shift[:2, 2] = (np.array([h, w]) - 1) / 2 - (corner + (inner_hw - 1) / 2)
        maps[k] = to_ref @ _matrix(p) @ shift
    return maps


def _whole_shift(ref: torch.Tensor, crop: torch.Tensor) -> np.ndarray | None:
    """The fit's start: the whole-pixel shift of ``crop`` inside ``ref`` (both (1, 1, h, w)) with the least
    squared difference, as a similarity (0, 0, ty, tx) between their centred coordinates (a texture finer
    than the boxes' blocks leaves the fit from 0 in a local minimum); None where a shift two or more
    pixels away matches within :data:`_UNIQUE` of the crop's variance a pixel (a flat object, which only
    its edge could place). The squared differences by correlation, float64."""
    r, c = ref.double(), crop.double()
    h, w = c.shape[-2:]
    ssd = (F.conv2d(r * r, torch.ones_like(c)) - 2 * F.conv2d(r, c) + (c * c).sum())[0, 0]
    dy, dx = divmod(int(ssd.argmin()), ssd.shape[1])
    ys, xs = torch.meshgrid(torch.arange(ssd.shape[0]), torch.arange(ssd.shape[1]), indexing="ij")
    far = ssd[torch.maximum((ys - dy).abs(), (xs - dx).abs()) >= 2]  # (a pixel away ties on half-pixel moves)
    if len(far) and float(far.min() - ssd[dy, dx]) <= _UNIQUE * h * w * float(c.var()):
        return None
    rh, rw = ref.shape[-2:]
    return np.array([0.0, 0.0, dy - (rh - h) / 2, dx - (rw - w) / 2])


def _object_warps(maps: np.ndarray, offset: np.ndarray) -> np.ndarray:
    """(T, 4) warps of ``maps`` (into the reference frame's pixels) moved by ``offset`` onto the canvas."""
    out = np.empty((len(maps), 4), np.int64)
    out[:, 0] = np.rint(maps[:, 0, 0] * WARP_ONE)
    out[:, 1] = np.rint(maps[:, 1, 0] * WARP_ONE)
    out[:, 2:] = np.rint((maps[:, :2, 2] + offset) * WARP_POS)
    return out


def _painted(frame: np.ndarray, view: np.ndarray, in_box: np.ndarray, height: int,
             width: int) -> tuple[np.ndarray, np.ndarray]:
    """One frame on the layered canvas: its background (without the pixels that show the object) at its
    warp, its object at the object's warp inside the box; (Hc, Wc, C) float32 and where it is known."""
    shows = object_mask(view[None], *frame.shape[:2])[0]
    back = np.where(shows[..., None], np.nan, frame.astype(np.float32))
    bv, bk = paint_view(back, view[:4], height, width)
    bk &= ~np.isnan(bv).any(axis=-1) & ~in_box  # (a sample that touches an object pixel is not background)
    top, left, bottom, right = (int(v) for v in view[8:])  # the object, painted in its box alone
    local = view[4:8] - np.array([0, 0, top * WARP_POS, left * WARP_POS])
    ov, ok = paint_view(frame, local, bottom - top, right - left)
    out = np.nan_to_num(bv)
    out[top:bottom, left:right] = ov
    bk[top:bottom, left:right] = ok
    return out, bk


def _mosaic(frames: np.ndarray, views: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of every frame on the layered canvas (the clip's mean colour where none is known), and
    the box's mask; a frame at a time."""
    top, left, bottom, right = (int(v) for v in views[0, 8:])
    in_box = np.zeros((height, width), bool)
    in_box[top:bottom, left:right] = True
    total, count = np.zeros((height, width, 3)), np.zeros((height, width, 1))
    for k in range(len(frames)):
        v, known = _painted(frames[k], views[k], in_box, height, width)
        total += v * known[..., None]
        count += known[..., None]
    mean = frames.reshape(-1, 3).mean(axis=0)
    return np.where(count > 0, total / np.maximum(count, 1), mean), in_box


def paint_layered(frames: np.ndarray, views: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """:meth:`~.canvas.Canvas.paint` for a canvas with an object layer: each frame's background (the frame
    at its warp, without the object's pixels) and object (at the object's warp, in the box) over the
    mean of what every frame shows there. (T, Hc, Wc, 3) uint8 and (T, Hc, Wc) bool."""
    seen, in_box = _mosaic(frames, views, height, width)
    t = len(frames)
    out = np.empty((t, height, width, 3), np.uint8)
    known_all = np.zeros((t, height, width), bool)
    for k in range(t):
        v, known = _painted(frames[k], views[k], in_box, height, width)
        out[k] = np.clip(np.rint(np.where(known[..., None], v, seen)), 0, 255)
        known_all[k] = known
    return out, known_all


def explained_layer(frames: np.ndarray, views: np.ndarray, height: int, width: int) -> float:
    """:func:`~.canvas.explained` for a layered canvas: the share of the luma's change about the clip's
    mean frame that the mosaic of background and object, sampled at each frame's view, removes."""
    t, h, w, _ = frames.shape
    seen = _mosaic(frames, views, height, width)[0]
    x = torch.from_numpy(luma(seen))[None, None]
    mean = sum(luma(f) for f in frames) / t
    still = moved = 0.0
    for k in range(t):
        lum = luma(frames[k])
        v = sample_views(x, torch.from_numpy(views[k:k + 1]), h, w)[0, 0].double().numpy()
        still += float(((lum - mean) ** 2).sum())
        moved += float(((lum - v) ** 2).sum())
    return 1.0 - moved / still if still > 0 else 0.0
