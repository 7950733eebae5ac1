"""Drawing part of a canvas: the rows and columns of every layer that a window of the output needs.

A canvas is larger than the frame (:mod:`~..video.canvas`), and a frame's view reads only part of it.
Every layer of SNeRV(B) and HNeRV is local: convolutions, pixel shuffles, transposed convolutions whose
kernel is their stride, the inverse DWT. So a window of the output depends only on a window of each
layer, and of the embedding, a little larger; each layer computed on its window alone holds the same
sums there (a convolution over another size may round them apart in the last bit), and the rest of the
canvas is never drawn. Measured in docs/design-notes.md "Drawing only what the views read".
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch

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
