"""Drawing part of a canvas: the rows and columns of every layer that a window of the output needs.

A canvas is larger than the frame (:mod:`~..video.canvas`), and a frame's view reads only part of it.
Every layer of SNeRV(B) and HNeRV is local: convolutions, pixel shuffles, transposed convolutions whose
kernel is their stride, the inverse DWT. So a window of the output depends only on a window of each
layer, and of the embedding, a little larger; each layer computed on its window alone holds the same
sums there (a convolution over another size may round them apart in the last bit), and the rest of the
canvas is never drawn. The part of a canvas a batch's views read is :func:`views_window` (windows of a
pan: :func:`offsets_window`); :func:`frames_in` cuts or samples their frames from it. Measured in
docs/design-notes.md "Drawing only what the views read".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import torch

from .geometry import LAYERED, POS_ONE, WARP_POS, crop_frames, crop_windows, sample_views, warp_corners

Span = tuple[int, int]  # [start, end) along one axis, in one layer's pixels


def conv_back(span: Span, radius: int, size: int) -> Span:
    """The input span a convolution of ``radius`` (its kernel's half width) needs for ``span`` of its output."""
    return max(span[0] - radius, 0), min(span[1] + radius, size)


def up_back(span: Span, stride: int) -> Span:
    """The input span an up-sampling by ``stride`` (a pixel shuffle, a transposed convolution of kernel
    ``stride``) needs for ``span`` of its output."""
    return span[0] // stride, -(-span[1] // stride)


def hull(a: Span | None, b: Span) -> Span:
    return b if a is None else (min(a[0], b[0]), max(a[1], b[1]))


@dataclass(frozen=True)
class Region:
    """A rectangle of one layer: rows [top, bottom), columns [left, right)."""

    top: int
    left: int
    bottom: int
    right: int

    @staticmethod
    def of(rows: Span, cols: Span) -> "Region":
        return Region(rows[0], cols[0], rows[1], cols[1])

    @property
    def rows(self) -> Span:
        return self.top, self.bottom

    @property
    def cols(self) -> Span:
        return self.left, self.right

    def scaled(self, s: int) -> "Region":
        """The region an up-sampling by ``s`` makes of this one."""
        return Region(self.top * s, self.left * s, self.bottom * s, self.right * s)


def cut(x: torch.Tensor, at: Region, to: Region) -> tuple[torch.Tensor, Region]:
    """``x``, which holds region ``at`` of its layer, cut to region ``to`` (inside ``at``): a contiguous
    copy in ``x``'s memory format (a strided slice made every later convolution and its gradient slower,
    for the same values: a zoom's training step took 0.52 s instead of 0.37, bit for bit the same)."""
    if not (at.top <= to.top <= to.bottom <= at.bottom and at.left <= to.left <= to.right <= at.right):
        raise ValueError(f"{to} is not inside {at}")
    y = x[..., to.top - at.top:to.bottom - at.top, to.left - at.left:to.right - at.left]
    last = x.dim() == 4 and not x.is_contiguous() and x.is_contiguous(memory_format=torch.channels_last)
    return y.contiguous(memory_format=torch.channels_last if last else torch.contiguous_format), to


def chain_spans(need_out: Span, strides: tuple[int, ...], kernels: tuple[int, ...], cells: int,
                needs: dict[int, Span] | None = None) -> dict[int, Span]:
    """Along one axis, the span of each level of a chain of up-sampling blocks (level 0: the embedding's
    cells; level k: block k's output, ``cells x strides[0] x ... x strides[k-1]`` pixels) that gives
    ``need_out`` of the last level; ``needs``: spans of levels that other layers read too."""
    n = len(strides)
    size = [cells * math.prod(strides[:k]) for k in range(n + 1)]
    out = dict(needs or {})
    out[n] = hull(out.get(n), need_out)
    for k in range(n, 0, -1):  # block k: a convolution at level k - 1, then a pixel shuffle by strides[k - 1]
        back = conv_back(up_back(out[k], strides[k - 1]), kernels[k - 1] // 2, size[k - 1])
        out[k - 1] = hull(out.get(k - 1), back)
    return out


def grid_window(window: Region, grid: int) -> Region:
    """A window of the frame in the pixels of a ``grid`` times coarser layer (SNeRV's LL grid: 2)."""
    return Region.of(up_back(window.rows, grid), up_back(window.cols, grid))


def views_window(views, height: int, width: int, grid_hw: tuple[int, int]) -> Region:
    """The part of a ``grid_hw`` canvas that ``height x width`` frames at (N, 4 or 12) ``views`` read
    (:func:`sample_views`): every tap, and the one beyond it where the canvas has it (so that positions
    are split between taps as on the whole canvas); with an object layer, its box too. Exact integers
    (``views`` numpy or on the CPU)."""
    w = np.asarray(views, np.int64)
    gh, gw = grid_hw
    rows, cols = warp_corners(w[:, :4], height, width)
    top, left = int(rows.min()) // POS_ONE, int(cols.min()) // POS_ONE
    bottom, right = min(int(rows.max()) // POS_ONE + 2, gh), min(int(cols.max()) // POS_ONE + 2, gw)
    if w.shape[1] == LAYERED:
        bt, bl, bb, br = (int(v) for v in w[0, 8:])
        top, left = min(top, bt), min(left, bl)
        bottom, right = max(bottom, min(bb + 1, gh)), max(right, min(br + 1, gw))
    return Region(top, left, bottom, right)


def offsets_window(offsets, height: int, width: int) -> Region:
    """The part of a canvas that ``height x width`` windows at (N, 2) ``offsets`` (row, column; numpy or on
    the CPU) cover."""
    o = np.asarray(offsets, np.int64)
    return Region(int(o[:, 0].min()), int(o[:, 1].min()), int(o[:, 0].max()) + height, int(o[:, 1].max()) + width)


def shift_views(views: torch.Tensor, top: int, left: int) -> torch.Tensor:
    """(N, 4 or 12) ``views`` on the part of their canvas from row ``top`` and column ``left`` on: the
    same pixels at the same fractions (positions move by whole pixels)."""
    v = views.clone()
    v[:, 2] -= top * WARP_POS
    v[:, 3] -= left * WARP_POS
    if v.shape[1] == LAYERED:
        v[:, 6] -= top * WARP_POS
        v[:, 7] -= left * WARP_POS
        v[:, 8::2] -= top
        v[:, 9::2] -= left
    return v


def frames_in(x: torch.Tensor, region: Region | None, height: int, width: int, views: torch.Tensor | None = None,
              offsets: torch.Tensor | None = None) -> torch.Tensor:
    """``height x width`` frames out of (N, C, h, w) ``x``, which holds ``region`` of the network's grid
    (None: all of it): their warped views of a canvas (``views``: :func:`sample_views`), their windows
    of it (``offsets``), or the top-left corner."""
    top, left = (region.top, region.left) if region is not None else (0, 0)
    if views is not None:
        return sample_views(x, shift_views(views, top, left) if top or left else views, height, width)
    if offsets is not None:
        return crop_windows(x, offsets - torch.tensor([top, left], device=offsets.device), height, width)
    if top or left:
        raise ValueError("the frames' top-left corner is not in this part of the grid")
    return crop_frames(x, height, width)
