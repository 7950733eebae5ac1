"""Global camera motion beyond translation: a zoom or a rotation, as a similarity per frame.

Windows of a canvas (:mod:`.canvas`) hold a pan, not a zoom or a roll: there every pixel moves
differently. A similarity (scale, rotation, translation) a frame does: the encoder estimates it
against a reference frame (least squares on luma over a pyramid), lays the frames out on a canvas at
the finest frame's scale, and the network draws the canvas; each frame is then sampled from it at its
warp, bilinearly (format 1.8, bitstream/SPEC.md 4.6 ``CNVW``; the warp and the sampling:
:func:`~..models.geometry.sample_views`). Measured in docs/design-notes.md "Warped canvas". The
encoder trains on the warps it writes, so training and decoding sample alike.
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..models.geometry import POS_ONE, WARP_ONE, WARP_POS, sample_views, warp_corners

FIT_SIDE = 256  # similarities are fitted on luma of at most this many pixels a side (block means)
_LEVELS = (4, 2, 1)  # the pyramid, coarsest first (block sizes)
_CUT = 0.5  # a warp that leaves more than this share of the frames' variance unexplained: a scene cut
_MAX_STEP = 0.5  # nor is a zoom of more than e^0.5 (1.65x) from the reference frame a match
_MIN_OVERLAP = 0.5  # nor a warp that leaves less than half of the frame on its reference
_AREA_SLACK = 1.05  # the laid-out canvas may pass max_area by this factor (whole pixels around the views)
# tracking stops once two frames that moved (by more than _STILL, a mean square of 1.5 levels) are matched and the
# matches remove less than GIVE_UP of their difference from the reference, or once most matches fail: a still
# camera, content that moves on its own, cut after cut (no warped canvas would be made)
GIVE_UP, _GIVE_UP_AFTER, _STILL = 0.5, 2, (1.5 / 255) ** 2
# the reference frame moves on once the frame has turned or zoomed this much, or moved this share of its side
_REANCHOR_SCALE, _REANCHOR_ANGLE, _REANCHOR_SHIFT = 0.125, 0.125, 0.125


def frame_corners(height: int, width: int) -> np.ndarray:
    """(4, 3) homogeneous centred coordinates of a frame's corner pixels (rows, columns, 1)."""
    hy, hx = (height - 1) / 2, (width - 1) / 2
    return np.array([[-hy, -hx, 1], [-hy, hx, 1], [hy, -hx, 1], [hy, hx, 1]], np.float64)


def corner_positions(warps: np.ndarray, height: int, width: int) -> np.ndarray:
    """(N, 4, 2) canvas positions (rows, columns) of the frames' corner pixels: the view's extremes
    (it is a parallelogram), so every pixel lies on the canvas when these do."""
    rows, cols = warp_corners(np.asarray(warps, np.int64), height, width)
    return np.stack((rows, cols), axis=-1).reshape(-1, 4, 2) / POS_ONE


def paint_view(frame: np.ndarray, warp: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """``frame`` (H, W, C) drawn onto the ``height x width`` canvas at its warp (the inverse map,
    bilinear) and where it lands: (Hc, Wc, C) float32, (Hc, Wc) bool. What training's encoder and low
    and high bands see (the frame term of the loss is taken on the sampled views: training/loss.py)."""
    h, w = frame.shape[:2]
    a, b, ty, tx = (float(v) for v in np.asarray(warp, np.int64))
    a, b, ty, tx = a / WARP_ONE, b / WARP_ONE, ty / WARP_POS, tx / WARP_POS
    ry = torch.arange(height, dtype=torch.float64)[:, None] - ty
    rx = torch.arange(width, dtype=torch.float64)[None, :] - tx
    det = a * a + b * b
    fy = (a * ry + b * rx) / det + (h - 1) / 2  # the inverse of [[a, -b], [b, a]]
    fx = (-b * ry + a * rx) / det + (w - 1) / 2
    known = (fy >= 0) & (fy <= h - 1) & (fx >= 0) & (fx <= w - 1)
    grid = torch.stack((2 * fx / max(w - 1, 1) - 1, 2 * fy / max(h - 1, 1) - 1), dim=-1)[None].float()
    src = torch.from_numpy(np.ascontiguousarray(frame)).permute(2, 0, 1)[None].float()
    out = F.grid_sample(src, grid, mode="bilinear", padding_mode="border", align_corners=True)
    return out[0].permute(1, 2, 0).numpy(), known.numpy()


# ---- estimation --------------------------------------------------------------------------------

def luma(frame: np.ndarray, block: int = 1) -> np.ndarray:
    """A frame's luma (float64, 0..255), averaged over ``block x block`` pixels (the edges that do not
    fill a block dropped)."""
    f = frame.astype(np.float64)
    y = 0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2]
    if block == 1:
        return y
    h, w = y.shape[0] // block * block, y.shape[1] // block * block
    return y[:h, :w].reshape(h // block, block, w // block, block).mean(axis=(1, 3))


def _lumas(frames: np.ndarray, block: int) -> torch.Tensor:
    """(T, 1, h, w) float32 luma in [0, 1] of every frame, block means (a frame at a time). The fits run
    on it: float32 from the pixels on, as measured (:func:`luma`'s float64 would move the fitted warps
    by a unit or two of their last digit)."""
    out = []
    for frame in frames:
        f = torch.from_numpy(frame).float().div_(255)
        y = (0.299 * f[..., 0] + 0.587 * f[..., 1] + 0.114 * f[..., 2])[None, None]
        out.append(F.avg_pool2d(y, block) if block > 1 else y)
    return torch.cat(out)


def _warp_luma(ref: torch.Tensor, p: torch.Tensor, hw: tuple[int, int]) -> tuple[torch.Tensor, torch.Tensor]:
    """``ref`` (1, 1, h, w) sampled at the similarity ``p`` = (log scale, angle, ty, tx) of a frame of
    ``hw`` (centred pixel coordinates into ``ref``'s), and where the samples fall inside ``ref``."""
    h, w = hw
    hr, wr = ref.shape[-2:]
    dy = torch.arange(h, dtype=p.dtype)[:, None] - (h - 1) / 2
    dx = torch.arange(w, dtype=p.dtype)[None, :] - (w - 1) / 2
    s = torch.exp(p[0])
    c, sn = s * torch.cos(p[1]), s * torch.sin(p[1])
    py = c * dy - sn * dx + p[2] + (hr - 1) / 2
    px = sn * dy + c * dx + p[3] + (wr - 1) / 2
    inside = ((py >= 0) & (py <= hr - 1) & (px >= 0) & (px <= wr - 1)).to(ref.dtype)  # (h, w)
    grid = torch.stack((2 * px / (wr - 1) - 1, 2 * py / (hr - 1) - 1), dim=-1)[None].to(ref.dtype)
    return F.grid_sample(ref, grid, mode="bilinear", padding_mode="border", align_corners=True)[0, 0], inside


def _warp_error(ref: torch.Tensor, mov: torch.Tensor, p: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Mean squared difference of ``mov`` against ``ref`` sampled at the similarity ``p``, over the
    overlap, and the share of ``mov`` the overlap covers."""
    v, inside = _warp_luma(ref, p, mov.shape)
    return ((v - mov) ** 2 * inside).sum() / inside.sum().clamp(min=1.0), inside.mean()


def _fit_level(ref: torch.Tensor, mov: torch.Tensor, p: torch.Tensor, free: torch.Tensor | None) -> torch.Tensor:
    """``p`` refined by L-BFGS on one level of the pyramid (only where ``free`` is 1, if given)."""
    q = p.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([q], lr=1.0, max_iter=40, line_search_fn="strong_wolfe")

    def closure():
        opt.zero_grad()
        e = _warp_error(ref, mov, q)[0]
        e.backward()
        if free is not None:
            q.grad.mul_(free)
        return e

    opt.step(closure)
    return q.detach()


def _fit(ref: torch.Tensor, mov: torch.Tensor, init: np.ndarray,
         shift_only: bool = False) -> tuple[np.ndarray, float, float]:
    """The similarity (log scale, angle, ty, tx; translation in pixels) that maps ``mov``'s pixels onto
    ``ref`` (both (1, 1, H, W) luma), refined from ``init`` over a pyramid (``shift_only``: the
    translation alone), its mean squared error over the overlap and the share of ``mov`` the overlap
    covers."""
    free = torch.tensor([0.0, 0.0, 1.0, 1.0], dtype=torch.float64) if shift_only else None
    p = torch.tensor(init, dtype=torch.float64)
    for b in _LEVELS:
        if min(ref.shape[-2:]) // b < 8:
            continue
        unit = torch.tensor([1.0, 1.0, b, b], dtype=torch.float64)
        r = (F.avg_pool2d(ref, b) if b > 1 else ref).double()
        m = (F.avg_pool2d(mov, b) if b > 1 else mov)[0, 0].double()
        p = _fit_level(r, m, p / unit, free) * unit
    with torch.no_grad():
        err, overlap = _warp_error(ref.double(), mov[0, 0].double(), p)
    return p.numpy(), float(err), float(overlap)


def _matrix(p: np.ndarray) -> np.ndarray:
    """The 3x3 homogeneous map of the similarity ``p`` (centred coordinates, rows then columns)."""
    s = math.exp(p[0])
    c, sn = s * math.cos(p[1]), s * math.sin(p[1])
    return np.array([[c, -sn, p[2]], [sn, c, p[3]], [0.0, 0.0, 1.0]])


def track_similarity(frames: np.ndarray, give_up: float | None = None) -> tuple[np.ndarray, list[int]] | None:
    """((T, 3, 3) maps of each frame's centred pixel coordinates into frame 0's, the frames that start a
    new shot). Each frame is matched against a reference frame, starting from the last frame's match,
    so that slow motion adds up and errors do not; the reference moves on after
    :data:`_REANCHOR_SCALE` of zoom, :data:`_REANCHOR_ANGLE` radians of turn or a :data:`_REANCHOR_SHIFT`
    of the frame's side, or where the match fails (a cut: the new shot starts where the old one was).
    With ``give_up``, None once :data:`_GIVE_UP_AFTER` frames that moved are matched and the matches
    remove less than ``give_up`` of their difference from the reference, or once more matches have
    failed than held (at least that many): a still camera, content that moves on its own, or cut after
    cut is not tracked to the end."""
    t, h, w, _ = frames.shape
    block = max(1, -(-max(h, w) // FIT_SIDE))
    lumas = _lumas(frames, block)  # fitted on block means; translations in full-resolution pixels below
    maps = np.repeat(np.eye(3)[None], t, axis=0)
    ref, starts, rel = 0, [0], np.zeros(4)
    left, before, judged, failed = 0.0, 0.0, 0, 0  # over the frames that moved: error, difference, count
    for k in range(1, t):
        p, err, overlap = _fit(lumas[ref:ref + 1], lumas[k:k + 1], rel / np.array([1, 1, block, block]))
        p = p * np.array([1, 1, block, block])
        spread = 0.5 * float(lumas[ref].var() + lumas[k].var())
        cut = err > _CUT * spread or abs(p[0]) > _MAX_STEP or overlap < _MIN_OVERLAP
        diff = float(((lumas[k] - lumas[ref]) ** 2).mean())
        failed += cut
        if not cut and diff > _STILL:
            left, before, judged = left + err, before + diff, judged + 1
        if give_up is not None and (judged >= _GIVE_UP_AFTER and left > (1 - give_up) * before
                                    or failed >= _GIVE_UP_AFTER and failed > judged):
            return None
        if cut:
            maps[k], ref, rel = maps[k - 1], k, np.zeros(4)
            starts.append(k)
            continue
        maps[k] = maps[ref] @ _matrix(p)
        if abs(p[0]) > _REANCHOR_SCALE or abs(p[1]) > _REANCHOR_ANGLE or \
                abs(p[2]) > _REANCHOR_SHIFT * h or abs(p[3]) > _REANCHOR_SHIFT * w:
            ref, rel = k, np.zeros(4)
        else:
            rel = p
    return maps, starts


def layout(maps: np.ndarray, frame_hw: tuple[int, int], max_area: float) -> tuple[np.ndarray, int, int] | None:
    """(warps (T, 4) int64, canvas height, canvas width) for frames of ``frame_hw`` at ``maps``
    (:func:`track_similarity`), on a canvas at the finest frame's scale (no frame is drawn coarser than
    it is), coarser where that canvas would exceed ``max_area`` frames; None where even the coarsest
    frame's scale would."""
    h, w = frame_hw
    scales = np.sqrt(np.abs(np.linalg.det(maps[:, :2, :2])))
    pts = np.einsum("kij,cj->kci", maps, frame_corners(h, w))[..., :2].reshape(-1, 2)
    extent = pts.max(axis=0) - pts.min(axis=0)  # in frame 0's pixels
    finest = 1.0 / scales.min()
    fit = math.sqrt(max_area * h * w / float(np.prod(extent + 1)))
    f = min(finest, fit)
    if f * scales.max() < 1.0 - 1e-9 and f < finest:  # even the coarsest frame would be drawn smaller
        return None
    lin = maps[:, :2, :2] * f
    warps = np.empty((len(maps), 4), np.int64)
    warps[:, 0] = np.rint(lin[:, 0, 0] * WARP_ONE)
    warps[:, 1] = np.rint(lin[:, 1, 0] * WARP_ONE)
    warps[:, 2] = np.rint(maps[:, 0, 2] * f * WARP_POS)
    warps[:, 3] = np.rint(maps[:, 1, 2] * f * WARP_POS)
    pos = corner_positions(warps, h, w).reshape(-1, 2)
    warps[:, 2:] -= (np.floor(pos.min(axis=0)) * WARP_POS).astype(np.int64)  # whole pixels: positions stay exact
    pos = corner_positions(warps, h, w).reshape(-1, 2)
    hc, wc = (int(math.ceil(v)) + 1 for v in pos.max(axis=0))
    if hc * wc > max_area * h * w * _AREA_SLACK:
        return None
    return warps, max(hc, h), max(wc, w)


def mosaic(frames, warps: np.ndarray, height: int, width: int) -> tuple[np.ndarray, np.ndarray]:
    """The mean of ``frames`` (an iterable of (H, W, C) arrays) drawn onto the ``height x width``
    canvas at their ``warps`` (float64 (Hc, Wc, C), 0 where none lands) and where any lands (bool
    (Hc, Wc)); a frame at a time."""
    total = count = None
    for frame, warp in zip(frames, warps):
        v, known = paint_view(frame, warp, height, width)
        if total is None:
            total, count = np.zeros(v.shape, np.float64), np.zeros((height, width, 1), np.float64)
        total += v * known[..., None]
        count += known[..., None]
    return total / np.maximum(count, 1), count[..., 0] > 0


def explained_warped(frames: np.ndarray, warps: np.ndarray, starts: list[int], height: int, width: int) -> float:
    """:func:`~.canvas.explained` for warped views: the share of the luma's change about each shot's
    mean frame that the shot's mosaic on the canvas, sampled at each frame's warp, removes. A frame at
    a time: memory of one canvas and one frame's positions."""
    t = len(frames)
    still = moved = 0.0
    for a, b in zip(starts, [*starts[1:], t]):
        mean = sum(luma(f) for f in frames[a:b]) / (b - a)
        canvas, _ = mosaic((luma(f)[..., None] for f in frames[a:b]), warps[a:b], height, width)
        canvas = torch.from_numpy(canvas).permute(2, 0, 1)[None]
        for k in range(a, b):
            lum = luma(frames[k])
            view = sample_views(canvas, torch.from_numpy(warps[k:k + 1]), *lum.shape)[0, 0].double()
            still += float(((lum - mean) ** 2).sum())
            moved += float(((torch.from_numpy(lum) - view) ** 2).sum())
    return 1.0 - moved / still if still > 0 else 0.0
