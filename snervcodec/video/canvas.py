"""Global camera motion: each frame as a window of a larger canvas that the network draws once.

A NeRV decoder has no motion compensation: on a pan it must draw every position the content passes
through, frame by frame, while x264 moves the previous frame for almost nothing. Where the camera
moves, the encoder estimates its translation (phase correlation between neighbouring frames, whole
pixels), lays the frames out on a canvas that holds everything the camera saw, and trains the
network to draw the canvas, each frame's loss over its own window (in-painting: the rest is masked).
A static scene then becomes one picture: every frame's embedding is alike and every step trains all
of it. The decoder draws the canvas and crops each frame's window at its transmitted offset
(format 1.7, bitstream/SPEC.md "CNVS"). Measured in docs/design-notes.md "Canvas". Where the camera
zooms or turns instead, each frame is a warped view of the canvas (:mod:`.warp`, format 1.8); where it
holds still while an object crosses the frame, the object is a layer of the canvas (:mod:`.layer`, 1.9).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..errors import ConfigError
from ..models.geometry import warp_problem
from .layer import Layer, paint_layered, plan_layer
from .warp import GIVE_UP, explained_warped, frame_corners, layout, luma, mosaic, paint_view, track_similarity

MIN_EXTENT = 8  # pixels the camera must travel (on either axis) before a canvas is worth its cost
MAX_AREA = 4.0  # the largest canvas, in frames' areas: past it the network would draw too much
# The least share of the frames' change the camera's motion must explain: the synthetic pans of the dev
# set have 0.985-1.0 and gain 2.5-7.6 dB at 0.1 bpp; bikes (a fast tilt over moving riders) 0.32, and
# lost 0.84 dB (docs/design-notes.md "Canvas").
MIN_EXPLAINED = 0.75
_ACCEPT = 0.7  # a shift is taken when it leaves at most this share of the unshifted error


@dataclass(frozen=True, eq=False)
class Canvas:
    """Frames of ``frame`` (H, W) as windows of a ``height x width`` canvas: ``offsets[k]`` = (row,
    column) of frame k's top-left corner; or, with ``warps`` instead, as views of it at a similarity
    each (:mod:`.warp`: ``warps[k]`` = (a, b, ty, tx)), with an object ``layer`` over them or not
    (:mod:`.layer`)."""

    height: int
    width: int
    frame: tuple[int, int]
    offsets: np.ndarray | None = None  # (T, 2) int64
    warps: np.ndarray | None = None  # (T, 4) int64
    layer: Layer | None = None

    def __post_init__(self):
        h, w = self.frame
        if (self.offsets is None) == (self.warps is None):
            raise ConfigError("a canvas places its frames by window offsets or by warps, one of the two")
        if self.layer is not None and (self.warps is None or len(self.layer.warps) != len(self.warps)):
            raise ConfigError("an object layer lies over warped views, one object warp a frame")
        if self.warps is not None:
            problem = warp_problem(self.views, self.frame, (self.height, self.width))
            if problem:
                raise ConfigError(f"canvas views of {h}x{w}: {problem}")
            return
        o = self.offsets
        if o.ndim != 2 or o.shape[1] != 2 or (len(o) and (o.min() < 0 or (o[:, 0] + h).max() > self.height
                                                            or (o[:, 1] + w).max() > self.width)):
            raise ConfigError(f"canvas windows of {h}x{w} outside the {self.height}x{self.width} canvas")

    @property
    def n_frames(self) -> int:
        return len(self.offsets if self.warps is None else self.warps)

    @property
    def views(self) -> np.ndarray | None:
        """What places each frame on the canvas, as the decoder samples it: (T, 4) warps, or (T, 12) with
        an object layer (:func:`~..models.geometry.sample_views`); None for windows."""
        if self.warps is None or self.layer is None:
            return self.warps
        return self.layer.views(self.warps)

    @classmethod
    def of(cls, offsets: np.ndarray, frame_hw: tuple[int, int]) -> "Canvas":
        """The smallest canvas holding every window (offsets moved so the smallest is 0)."""
        off = np.asarray(offsets, np.int64)
        off = off - off.min(axis=0)
        h, w = frame_hw
        return cls(int(off[:, 0].max()) + h, int(off[:, 1].max()) + w, (h, w), off)

    @property
    def area_ratio(self) -> float:
        """The canvas's area in frames' areas."""
        return self.height * self.width / (self.frame[0] * self.frame[1])

    def paint(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """What training sees: (T, Hc, Wc, 3) uint8 canvases, each the mean of every frame over the
        canvas (the rest the clip's mean colour) with frame k on top, and (T, Hc, Wc) bool masks of
        frame k's window (or warped view, painted: :mod:`.warp`), the pixels its loss may see."""
        t, h, w, _ = frames.shape
        if (h, w) != self.frame or t != self.n_frames:
            raise ConfigError(f"a canvas of {self.n_frames} {self.frame[0]}x{self.frame[1]} views cannot "
                              f"hold {t} frames of {h}x{w}")
        if self.layer is not None:
            return paint_layered(frames, self.views, self.height, self.width)
        if self.warps is not None:
            return self._paint_warped(frames)
        total = np.zeros((self.height, self.width, 3), np.float64)
        count = np.zeros((self.height, self.width, 1), np.float64)
        for k, (y, x) in enumerate(self.offsets):
            total[y:y + h, x:x + w] += frames[k]
            count[y:y + h, x:x + w] += 1
        mean = frames.reshape(-1, 3).mean(axis=0)
        seen = np.where(count > 0, total / np.maximum(count, 1), mean)
        seen = np.clip(np.rint(seen), 0, 255).astype(np.uint8)
        out = np.repeat(seen[None], t, axis=0)
        known = np.zeros((t, self.height, self.width), bool)
        for k, (y, x) in enumerate(self.offsets):
            out[k, y:y + h, x:x + w] = frames[k]
            known[k, y:y + h, x:x + w] = True
        return out, known

    def _paint_warped(self, frames: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """:meth:`paint` for warped views: each frame drawn onto the canvas at its warp."""
        t = len(frames)
        mean = frames.reshape(-1, 3).mean(axis=0)
        seen, landed = mosaic(frames, self.warps, self.height, self.width)  # two passes, a frame at a time
        background = np.where(landed[..., None], seen, mean)
        out = np.empty((t, self.height, self.width, 3), np.uint8)
        known_all = np.zeros((t, self.height, self.width), bool)
        for k in range(t):
            v, known = paint_view(frames[k], self.warps[k], self.height, self.width)
            out[k] = np.clip(np.rint(np.where(known[..., None], v, background)), 0, 255)
            known_all[k] = known
        return out, known_all


TRACK_SIDE = 512  # frames are tracked at most this many pixels a side (block means), for speed and memory


def _overlap_error(a: np.ndarray, b: np.ndarray, dy: int, dx: int) -> float:
    """Mean squared difference of ``b`` against ``a`` moved by (dy, dx): b[y, x] ~ a[y + dy, x + dx]."""
    h, w = a.shape
    ya, yb = max(dy, 0), max(-dy, 0)
    xa, xb = max(dx, 0), max(-dx, 0)
    hh, ww = h - abs(dy), w - abs(dx)
    return float(np.mean((a[ya:ya + hh, xa:xa + ww] - b[yb:yb + hh, xb:xb + ww]) ** 2))


def _peak(corr: np.ndarray, i: int, n: int) -> float:
    """Sub-pixel offset of a correlation peak along one axis (a parabola through three points)."""
    lo, mid, hi = corr[(i - 1) % n], corr[i], corr[(i + 1) % n]
    den = lo - 2 * mid + hi
    return 0.0 if den >= 0 else float(np.clip(0.5 * (lo - hi) / den, -0.5, 0.5))


def frame_shift(a: np.ndarray, b: np.ndarray) -> tuple[float, float] | None:
    """How far the camera moved from frame ``a`` to frame ``b`` (rows, columns; b[y, x] ~ a[y + dy,
    x + dx]), by phase correlation of their luma; None where the best shift does not explain the
    change (a scene cut; a moving object on a still background gives (0, 0)). Shifts of more than a
    quarter frame are not searched."""
    return _shift(luma(a), luma(b))


def _shift(la: np.ndarray, lb: np.ndarray) -> tuple[float, float] | None:
    """:func:`frame_shift` of two luma planes."""
    h, w = la.shape
    win = np.outer(np.hanning(h), np.hanning(w)) if h > 2 and w > 2 else 1.0
    fa, fb = np.fft.rfft2((la - la.mean()) * win), np.fft.rfft2((lb - lb.mean()) * win)
    cross = fa * np.conj(fb)
    corr = np.fft.irfft2(cross / np.maximum(np.abs(cross), 1e-9), s=(h, w))
    dys = np.r_[0:h // 4 + 1, h - h // 4:h] if h >= 8 else np.array([0])
    dxs = np.r_[0:w // 4 + 1, w - w // 4:w] if w >= 8 else np.array([0])
    sub = corr[np.ix_(dys, dxs)]
    iy, ix = np.unravel_index(int(np.argmax(sub)), sub.shape)
    py, px = int(dys[iy]), int(dxs[ix])
    dy, dx = (py - h if py > h // 2 else py), (px - w if px > w // 2 else px)
    if (dy, dx) == (0, 0):
        return 0.0, 0.0
    if _overlap_error(la, lb, dy, dx) > _ACCEPT * _overlap_error(la, lb, 0, 0):
        return None
    return dy + _peak(corr[:, px], py, h), dx + _peak(corr[py, :], px, w)


REANCHOR = 1 / 8  # a new reference frame once the camera is this share of the frame away from it


def _track(frames: np.ndarray) -> tuple[np.ndarray, list[int]]:
    """(camera_offsets, the frames where a match failed: each starts a new shot). Frames larger than
    :data:`TRACK_SIDE` are tracked on block means (the sub-pixel peak keeps the precision)."""
    t, h, w, _ = frames.shape
    scale = max(1, -(-max(h, w) // TRACK_SIDE))
    pos = np.zeros((t, 2))
    ref, starts = 0, [0]
    lref = luma(frames[0], scale)
    for k in range(1, t):
        lk = luma(frames[k], scale)
        s = _shift(lref, lk)
        if s is None:
            pos[k], ref, lref = pos[k - 1], k, lk
            starts.append(k)
            continue
        pos[k] = pos[ref] + np.multiply(s, scale)
        if abs(s[0]) > REANCHOR * lk.shape[0] or abs(s[1]) > REANCHOR * lk.shape[1]:
            ref, lref = k, lk
    return np.rint(pos).astype(np.int64), starts


def camera_offsets(frames: np.ndarray) -> np.ndarray:
    """(T, 2) whole-pixel offsets of each frame on a common canvas. Each frame is matched against a
    reference frame, not its neighbour, so that slow motion adds up (a quarter pixel a frame is a
    pixel four frames on) and errors do not; the reference moves on once the camera is an eighth of
    the frame away from it, or the match fails (a cut: the new scene starts where the old one was)."""
    return _track(frames)[0]


def explained(frames: np.ndarray, offsets: np.ndarray, starts: list[int]) -> float:
    """The share of what changes within each shot (the luma's squared difference from the shot's
    mean frame) that the camera's motion explains (the difference from the shot's mosaic on the
    canvas at the frame's window instead): 1 for a pan over a still scene, 0 for a still camera."""
    t, h, w, _ = frames.shape
    off = offsets - offsets.min(axis=0)
    hc, wc = int(off[:, 0].max()) + h, int(off[:, 1].max()) + w
    still = moved = 0.0
    for a, b in zip(starts, [*starts[1:], t]):  # two passes a shot, a frame at a time: memory of one canvas
        total, count, mean = np.zeros((hc, wc)), np.zeros((hc, wc)), np.zeros((h, w))
        for k in range(a, b):
            y, x = off[k]
            lum = luma(frames[k])
            total[y:y + h, x:x + w] += lum
            count[y:y + h, x:x + w] += 1
            mean += lum / (b - a)
        seen = total / np.maximum(count, 1)
        for k in range(a, b):
            y, x = off[k]
            lum = luma(frames[k])
            still += float(np.sum((lum - mean) ** 2))
            moved += float(np.sum((lum - seen[y:y + h, x:x + w]) ** 2))
    return 1.0 - moved / still if still > 0 else 0.0


def plan_canvas(frames: np.ndarray, min_extent: int = MIN_EXTENT, max_area: float = MAX_AREA,
                min_explained: float = MIN_EXPLAINED) -> Canvas | None:
    """The clip's canvas of windows, or None where the camera travels less than ``min_extent`` pixels
    on both axes, the canvas would exceed ``max_area`` frames (the network would draw too much per
    frame), or the camera's motion explains less than ``min_explained`` of what changes
    (:func:`explained`: the rest moves on its own, and a canvas then costs more than it saves). Where
    windows are refused, a canvas of warped views under the same rules (a zoom or a turn; :mod:`.warp`),
    and where those are, a still background with one moving object as a layer (:mod:`.layer`)."""
    t, h, w, _ = frames.shape
    offsets, starts = _track(frames)
    canvas = Canvas.of(offsets, (h, w))
    if canvas.height - h < min_extent and canvas.width - w < min_extent or canvas.area_ratio > max_area \
            or explained(frames, canvas.offsets, starts) < min_explained:
        warped = _warped_canvas(frames, min_extent, max_area, min_explained)
        if warped is not None:
            return warped
        layered = plan_layer(frames, min_extent, max_area, min_explained)
        return None if layered is None else Canvas(layered[2], layered[3], (h, w), warps=layered[0], layer=layered[1])
    return canvas


def _warped_canvas(frames: np.ndarray, min_extent: int, max_area: float, min_explained: float) -> Canvas | None:
    """Where windows do not hold the camera's motion: a canvas of warped views (:mod:`.warp`) under the
    same rules (the frames' corners travel ``min_extent`` pixels, at most ``max_area`` frames, the
    motion explains ``min_explained`` of the change)."""
    t, h, w, _ = frames.shape
    if t < 2:
        return None
    tracked = track_similarity(frames, give_up=GIVE_UP)  # (gives up early where no canvas would be made)
    if tracked is None:
        return None
    maps, starts = tracked
    pts = np.einsum("kij,cj->kci", maps, frame_corners(h, w))[..., :2]
    if np.abs(pts - pts[:1]).max() < min_extent:
        return None
    laid = layout(maps, (h, w), max_area)
    if laid is None:
        return None
    warps, hc, wc = laid
    if explained_warped(frames, warps, starts, hc, wc) < min_explained:
        return None
    return Canvas(hc, wc, (h, w), warps=warps)
