"""Any resolution: pick strides for a frame size, pad to the grid they allow, size c1 from a budget.

The published design uses strides whose product divides the LL grid exactly and a 16x2x4 embedding
(640x1280 -> 5,4,2,2,2; 480x960 -> 5,3,2,2,2; 960x1920 -> 5,4,3,2,2; 192x384 -> 3,2,2,2,2). For any
other size we search all non-increasing 5-tuples of strides in 1..5 and pick the one with the least
padding, trading a little padding for an embedding close to ``emb_cells`` cells: the paper's 8 by
default; in the rdo pipeline cells of about 16x16 pixels, 64 to 256 of them (:func:`rdo_emb_cells`: a
finer grid carries motion and detail, measured on the dev set, docs/design-notes.md "Embedding grid";
the embedding is paid for every frame, and rate control gives it fewer channels when it would take
most of the budget). Frames are padded at the bottom
and right edges only and cropped back after decoding: the user's content is never cropped.
"""

from __future__ import annotations

import itertools
import math
from dataclasses import dataclass
from typing import Callable, Literal

import numpy as np
import torch
import torch.nn.functional as F

from ..errors import BudgetError, ConfigError
from .config import ModelConfig, ModelName

PadMode = Literal["replicate", "reflect"]

PAPER_EMB_CELLS = 8  # the paper's 2x4 embedding grid
RDO_CELL_PX = 16  # the rdo pipeline's embedding cell, in pixels a side
RDO_EMB_CELLS = (64, 256)  # the rdo pipeline's fewest and most cells
_EMB_WEIGHT = 0.05  # cost of doubling the embedding cells, in units of padded-area fraction
_STRIDE1_WEIGHT = 0.01  # mild preference for blocks that actually up-sample


@dataclass(frozen=True)
class Geometry:
    """How a video of ``height x width`` maps onto a network grid."""

    height: int
    width: int
    strides: tuple[int, ...]
    emb_hw: tuple[int, int]
    pad_h: int  # rows added at the bottom
    pad_w: int  # columns added at the right

    @property
    def padded_hw(self) -> tuple[int, int]:
        return self.height + self.pad_h, self.width + self.pad_w


def _grid_divisor(uses_dwt: bool) -> int:
    return 2 if uses_dwt else 1


def rdo_emb_cells(height: int, width: int) -> int:
    """The rdo pipeline's embedding grid target for a ``height x width`` frame: cells of about 16x16
    pixels (144x176: 9x11, 144x256: 9x16, 192x384: 12x24), at least 64 and at most 256 (360x640 to
    1080p: 10x18, beyond the sizes measured)."""
    return min(RDO_EMB_CELLS[1], max(RDO_EMB_CELLS[0], round(height * width / RDO_CELL_PX ** 2)))


def choose_geometry(height: int, width: int, uses_dwt: bool = True, strides: tuple[int, ...] | None = None,
                    n_blocks: int = 5, emb_cells: int = PAPER_EMB_CELLS) -> Geometry:
    """Strides and padding for a ``height x width`` frame, the embedding near ``emb_cells`` cells
    (deterministic)."""
    if height < 1 or width < 1:
        raise ConfigError(f"invalid frame size {height}x{width}")
    if not 1 <= emb_cells <= 4096:
        raise ConfigError(f"embedding cells must be in 1..4096, got {emb_cells}")
    d = _grid_divisor(uses_dwt)
    gh, gw = math.ceil(height / d), math.ceil(width / d)  # grid the strides act on

    def layout(st: tuple[int, ...]) -> tuple[int, int, int, int]:
        p = math.prod(st)
        eh, ew = math.ceil(gh / p), math.ceil(gw / p)
        return eh, ew, eh * p * d, ew * p * d

    if strides is not None:
        if len(strides) != n_blocks or any(s < 1 or s > 8 for s in strides):
            raise ConfigError(f"strides must be {n_blocks} integers in 1..8, got {strides}")
        eh, ew, ph, pw = layout(tuple(strides))
        return Geometry(height, width, tuple(strides), (eh, ew), ph - height, pw - width)

    best, best_cost = None, math.inf
    for st in itertools.combinations_with_replacement(range(5, 0, -1), n_blocks):
        eh, ew, ph, pw = layout(st)
        cost = (
            ph * pw / (height * width) - 1.0
            + _EMB_WEIGHT * abs(math.log2(eh * ew / emb_cells))
            + _STRIDE1_WEIGHT * st.count(1)
        )
        if cost < best_cost - 1e-12:
            best, best_cost = (st, eh, ew, ph, pw), cost
    st, eh, ew, ph, pw = best
    return Geometry(height, width, st, (eh, ew), ph - height, pw - width)


def pad_frames(x: torch.Tensor, geo: Geometry, mode: PadMode = "replicate") -> torch.Tensor:
    """Pad (N, C, H, W) frames at the bottom/right to ``geo.padded_hw``."""
    if geo.pad_h == 0 and geo.pad_w == 0:
        return x
    if mode == "reflect" and (geo.pad_h >= x.shape[-2] or geo.pad_w >= x.shape[-1]):
        mode = "replicate"  # reflect cannot pad by more than the size itself
    dt = x.dtype
    y = x if dt.is_floating_point else x.float()
    y = F.pad(y, (0, geo.pad_w, 0, geo.pad_h), mode=mode)
    return y if dt.is_floating_point else y.to(dt)


def crop_frames(x: torch.Tensor, height: int, width: int) -> torch.Tensor:
    return x[..., :height, :width]


def crop_windows(x: torch.Tensor, offsets: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Frame i of (N, C, Hc, Wc) canvases: the ``height x width`` window at ``offsets[i]`` (row,
    column), for canvases that hold a camera's motion (:mod:`~..video.canvas`)."""
    return torch.stack([x[i, :, int(oy):int(oy) + height, int(ox):int(ox) + width]
                        for i, (oy, ox) in enumerate(offsets.tolist())])


# A frame's warp on a canvas (format 1.8, bitstream/SPEC.md 4.6; estimated by video/warp.py): four integers
# (a, b, ty, tx), a and b in units of 1/WARP_ONE (scale x cos and scale x sin of the turn), ty and tx (the canvas
# position of the frame's centre) in 1/WARP_POS pixel. Positions are exact integers in 1/POS_ONE pixel.
WARP_ONE, WARP_POS, POS_ONE = 1 << 16, 64, 1 << 17
MAX_WARP = 1 << 20  # |a|, |b| at most 16 (a frame drawn at 16x its size)
# A view with an object layer (format 1.9, SPEC.md 4.7; video/layer.py) is a row of 12: the frame's warp, its
# object's warp, and the object's box on the canvas (top, left, bottom, right; whole pixels, bottom and right
# excluded). The object's centre may lie off the canvas, at most MAX_CENTRE / WARP_POS pixels from it.
WARP, LAYERED = 4, 12
MAX_CENTRE = 1 << 24


def warp_positions(warps, ys2, xs2):
    """(rows, cols) on the canvas, in 1/POS_ONE pixel, of the frame pixels whose doubled centred
    coordinates are ``ys2 = 2y - (H - 1)`` (broadcast along rows) and ``xs2 = 2x - (W - 1)`` (along
    columns): ``row = a ys2 - b xs2 + 2048 ty``. Integer arithmetic on numpy or torch int64 arrays
    (``warps`` (N, 4); ``ys2`` (H, 1), ``xs2`` (1, W)): exact on any device, (N, H, W) each."""
    a, b, ty, tx = (warps[:, i, None, None] for i in range(4))
    scale = POS_ONE // WARP_POS
    return a * ys2 - b * xs2 + scale * ty, b * ys2 + a * xs2 + scale * tx


def warp_corners(warps, height: int, width: int):
    """:func:`warp_positions` of a ``height x width`` frame's four corner pixels, (N, 2, 2) each."""
    return warp_positions(warps, np.array([[1 - height], [height - 1]]), np.array([[1 - width, width - 1]]))


def warp_problem(warps, frame_hw: tuple[int, int], grid_hw: tuple[int, int]) -> str | None:
    """What is wrong with (N, 4) int64 ``warps`` of ``frame_hw`` frames on a ``grid_hw`` canvas (SPEC.md
    4.6: ``|a|, |b| <= MAX_WARP``, not both 0, every corner pixel on the canvas, a canvas of at least
    2 x 2), or None; rows of 12 (SPEC.md 4.7) also carry an object's warp (``|a|, |b|`` as the frame's,
    its centre within ``MAX_CENTRE``) and its box (at least 2 x 2, on the canvas, the same in every row).
    Numpy, exact."""
    w = np.asarray(warps, np.int64)
    (h, wd), (gh, gw) = frame_hw, grid_hw
    if w.ndim != 2 or w.shape[1] not in (WARP, LAYERED):
        return f"warps of shape {w.shape}: (frames, {WARP}) or (frames, {LAYERED}) expected"
    if gh < 2 or gw < 2:
        return f"a canvas of {gh}x{gw} cannot be sampled (at least 2x2)"
    if w.shape[1] == LAYERED:
        obj, box = w[:, 4:8], w[:, 8:]
        bad = (np.abs(obj[:, :2]).max(axis=1) > MAX_WARP) | ~obj[:, :2].any(axis=1) | \
            (np.abs(obj[:, 2:]).max(axis=1) > MAX_CENTRE)
        for k in np.flatnonzero(bad)[:1]:
            return f"frame {k}'s object warp {tuple(obj[k])} outside the format's range"
        top, left, bottom, right = box.T
        for k in np.flatnonzero((top < 0) | (left < 0) | (bottom > gh) | (right > gw) | (bottom - top < 2)
                                | (right - left < 2))[:1]:
            return f"frame {k}'s object box {tuple(box[k])} is not a box of at least 2x2 on the {gh}x{gw} canvas"
        for k in np.flatnonzero((box != box[:1]).any(axis=1))[:1]:
            return f"frame {k}'s object box {tuple(box[k])} is not frame 0's {tuple(box[0])} (one box a stream)"
        w = w[:, :4]
    big = np.abs(w[:, :2]).max(axis=1) > MAX_WARP if len(w) else np.zeros(0, bool)
    flat = ~w[:, :2].any(axis=1)
    rows, cols = warp_corners(np.where((big | flat)[:, None], 0, w), h, wd)
    out = (rows.min(axis=(1, 2)) < 0) | (rows.max(axis=(1, 2)) > (gh - 1) * POS_ONE) | \
        (cols.min(axis=(1, 2)) < 0) | (cols.max(axis=(1, 2)) > (gw - 1) * POS_ONE)
    for k in np.flatnonzero(big | flat | out)[:1]:
        if big[k] or flat[k]:
            return f"frame {k}'s scale and turn ({w[k, 0]}, {w[k, 1]}) outside the format's range"
        return f"frame {k}'s view leaves the {gh}x{gw} canvas"
    return None


def sample_views(x: torch.Tensor, warps: torch.Tensor, height: int, width: int) -> torch.Tensor:
    """Frame i of (N, C, Hc, Wc) canvases, ``height x width``, sampled bilinearly at ``warps[i]``
    (SPEC.md 4.6: positions exact in integers, every one on the canvas; float32 weights, blended along
    columns then rows), float32. Rows of 12 (SPEC.md 4.7): a pixel whose position at the object's warp
    lies in the object's box (bottom and right rows of positions excluded past the box's last pixel)
    is sampled there, any other at the frame's warp. Differentiable in ``x``. Without a gradient to
    keep (decoding, evaluation) the same pixels come cheaper: a view at whole pixels is a window, and
    the object is sampled only over the rectangle where it shows."""
    w = warps.to(x.device, torch.int64)
    ys2, xs2 = centred_coordinates(height, width, x.device)
    fast = not (torch.is_grad_enabled() and x.requires_grad)
    offsets = _whole_pixels(w[:, :4], height, width) if fast else None
    view = _bilinear(x, *warp_positions(w[:, :4], ys2, xs2)) if offsets is None else \
        crop_windows(x, offsets, height, width).float()  # (weights of 0: the very same values)
    if w.shape[1] == WARP:
        return view
    rows, cols, inside = object_positions(w, ys2, xs2)
    hc, wc = x.shape[-2:]
    if not fast:
        obj = _bilinear(x, rows.clamp(0, (hc - 1) * POS_ONE), cols.clamp(0, (wc - 1) * POS_ONE))
        return torch.where(inside[:, None], obj, view)
    ys, xs = torch.nonzero(inside.any(dim=(0, 2)))[:, 0], torch.nonzero(inside.any(dim=(0, 1)))[:, 0]
    if len(ys) == 0:
        return view
    y0, y1, x0, x1 = int(ys[0]), int(ys[-1]) + 1, int(xs[0]), int(xs[-1]) + 1
    rows, cols = rows[:, y0:y1, x0:x1].clamp(0, (hc - 1) * POS_ONE), cols[:, y0:y1, x0:x1].clamp(0, (wc - 1) * POS_ONE)
    part = view[:, :, y0:y1, x0:x1]
    part.copy_(torch.where(inside[:, None, y0:y1, x0:x1], _bilinear(x, rows, cols), part))
    return view


def centred_coordinates(height: int, width: int, device: torch.device | str = "cpu") -> tuple[torch.Tensor, ...]:
    """The doubled centred coordinates :func:`warp_positions` takes: ``2y - (H - 1)`` as a column (H, 1) and
    ``2x - (W - 1)`` as a row (1, W), int64 on ``device``."""
    return ((2 * torch.arange(height, device=device) - (height - 1))[:, None],
            (2 * torch.arange(width, device=device) - (width - 1))[None, :])


def _whole_pixels(warps: torch.Tensor, height: int, width: int) -> torch.Tensor | None:
    """(N, 2) window offsets where every one of ``warps`` is unscaled, unturned and at whole pixels (its
    positions are the window's pixels), else None."""
    if not ((warps[:, 0] == WARP_ONE) & (warps[:, 1] == 0)).all():
        return None
    scale = POS_ONE // WARP_POS  # the top-left pixel's position, as warp_positions gives it
    top = scale * warps[:, 2] - WARP_ONE * (height - 1)
    left = scale * warps[:, 3] - WARP_ONE * (width - 1)
    if (top % POS_ONE).any() or (left % POS_ONE).any():
        return None
    return torch.stack((top // POS_ONE, left // POS_ONE), dim=1).cpu()


def object_positions(views, ys2, xs2):
    """(rows, cols, inside) of the frame pixels at ``ys2``, ``xs2`` (as :func:`warp_positions`) at the
    object's warp of (N, 12) ``views``, and whether each lies in the object's box (SPEC.md 4.7: from the
    box's top-left pixel to its bottom-right one, inclusive). Exact integers, numpy or torch."""
    rows, cols = warp_positions(views[:, 4:8], ys2, xs2)
    top, left, bottom, right = (views[:, 8 + i, None, None] * POS_ONE for i in range(4))
    return rows, cols, (rows >= top) & (rows <= bottom - POS_ONE) & (cols >= left) & (cols <= right - POS_ONE)


def _bilinear(x: torch.Tensor, rows: torch.Tensor, cols: torch.Tensor) -> torch.Tensor:
    """(N, C, H, W) float32 samples of (N, C, Hc, Wc) ``x`` at (N, H, W) positions in 1/POS_ONE pixel, each
    on the canvas (SPEC.md 4.6); the gather reads one (N, H W) index a corner."""
    n, c, hc, wc = x.shape
    height, width = rows.shape[-2:]
    r0 = torch.div(rows, POS_ONE, rounding_mode="floor").clamp(0, hc - 2)
    c0 = torch.div(cols, POS_ONE, rounding_mode="floor").clamp(0, wc - 2)
    wr = ((rows - r0 * POS_ONE).to(torch.float32) / POS_ONE)[:, None]  # exact: a multiple of 2^-17 in [0, 1]
    wc_ = ((cols - c0 * POS_ONE).to(torch.float32) / POS_ONE)[:, None]
    flat = x.float().permute(0, 2, 3, 1).reshape(n, hc * wc, c)
    i00 = (r0 * wc + c0).reshape(n, -1)
    batch = torch.arange(n, device=x.device)[:, None]

    def at(shift: int) -> torch.Tensor:
        return flat[batch, i00 + shift].reshape(n, height, width, c).permute(0, 3, 1, 2)

    top = (1 - wc_) * at(0) + wc_ * at(1)
    bottom = (1 - wc_) * at(wc) + wc_ * at(wc + 1)
    return (1 - wr) * top + wr * bottom


def default_n_rb(params: float) -> int:
    """N_RB for a decoder of about ``params`` parameters, following the paper's size table
    (0.35M -> 2, 0.75M -> 3, 1.57M -> 4, 3M -> 6, 4.55M -> 8, 5.9M -> 10)."""
    table = [(0.12e6, 1), (0.353e6, 2), (0.745e6, 3), (1.567e6, 4), (2.992e6, 6), (4.554e6, 8), (5.929e6, 10)]
    return min(table, key=lambda row: abs(math.log(params / row[0])))[1]


def size_for_budget(name: ModelName, geo: Geometry, params: float, n_rb: int | None,
                    count: Callable[[ModelConfig], int], finish: Callable[[ModelConfig], ModelConfig] | None = None,
                    **arch) -> ModelConfig:
    """Largest ``c1`` whose decoder (head included, it is transmitted) fits in ``params``.

    ``arch`` passes further architecture fields (``lower_width``, ``emb_channels``); ``finish``
    completes each candidate (grid models: sizes their grids, which count in the budget).
    """
    if params <= 0:
        raise BudgetError(f"no parameters left for a {name} decoder (budget {params:.0f})")
    nrb = n_rb if n_rb is not None else default_n_rb(params)

    def cfg(c1: int) -> ModelConfig:
        c = ModelConfig(name=name, c1=c1, n_rb=nrb, strides=geo.strides, emb_hw=geo.emb_hw, **arch)
        return finish(c) if finish is not None else c

    lo, hi = 4, 1024
    if count(cfg(lo)) > params:
        raise BudgetError(
            f"a budget of {params:.0f} decoder parameters is below the smallest {name} model "
            f"({count(cfg(lo))} parameters at this resolution)"
        )
    while lo < hi:  # parameter count is monotone in c1
        mid = (lo + hi + 1) // 2
        if count(cfg(mid)) <= params:
            lo = mid
        else:
            hi = mid - 1
    return cfg(lo)
