"""Grid encodings, after HiNeRV (Kwan et al., NeurIPS 2023, Sec. 3): small learned feature grids
over (time, height, width), interpolated at a frame's time and added to an up-sampling block's
features, so the network need not draw from the embedding alone what changes over the clip.

Block ``i``'s grid is a parameter of shape ``(C, T, H, W)`` (channels first: its coded steps are
per grid channel, as a kernel's are per output channel). For frame ``k`` of ``n`` the grid is read
at ``tau = k / (n - 1)``, linearly between the time cells ``floor(tau (T - 1))`` and the next (the
first and last frame sit on the first and last cell), projected by a 1x1 convolution without bias
(``C`` -> the block's width) and resized bilinearly (half-pixel centres) to the block's output grid;
the result is added to the block's output. Together that is trilinear interpolation then a linear
map (both linear: projecting first is cheaper). Deviation from HiNeRV: one global grid per block
(HiNeRV's up-sampling grids are local, per patch, and it adds multi-resolution grids at the input).

Grids are decoder parameters like any other: pruned, quantised with learned steps, priced and coded
in ``DECG`` (or ``DECW``), so rate control sizes them with the rest of the decoder.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import width_schedule
from .config import ModelConfig

GRID_SHARE = 0.15  # default share of the decoder's parameters the grids hold (--grid-share)
FRAMES_PER_CELL = 4  # frames per time cell of a grid
GRID_CHANNELS = 4  # channels of a grid (fewer when the block is narrower)
MAX_GRID_T = 1024  # time cells of one grid (SPEC.md section 2)
GRID_INIT = 1e-2  # grids start uniform in +-GRID_INIT: the network starts close to SNeRV-B


def frame_times(idx: torch.Tensor, n_frames: int) -> torch.Tensor:
    """Normalised times ``k / (n - 1)`` (0 for a single frame) of frame indices ``idx``, float32.
    Training and decoding both call this, so a frame is read at the same time on both sides."""
    return idx.to(torch.float32) / float(max(n_frames - 1, 1))


class StageGrid(nn.Module):
    """One block's grid ``(C, T, H, W)`` and its 1x1 projection to the block's ``width``."""

    def __init__(self, shape: tuple[int, int, int, int], width: int):
        super().__init__()
        t, h, w, c = shape
        self.grid = nn.Parameter(torch.empty(c, t, h, w))
        nn.init.uniform_(self.grid, -GRID_INIT, GRID_INIT)
        self.proj = nn.Conv2d(c, width, 1, bias=False)

    def forward(self, t: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        """Features ``(N, width, *hw)`` at normalised times ``t`` (N,)."""
        g = self.grid
        n_t = g.shape[1]
        u = t.to(torch.float32).clamp(0.0, 1.0) * (n_t - 1)
        i0 = u.floor().long().clamp(max=n_t - 1)
        i1 = (i0 + 1).clamp(max=n_t - 1)
        a = (u - i0.to(u.dtype)).to(g.dtype).view(-1, 1, 1, 1)
        x = g[:, i0].transpose(0, 1) * (1 - a) + g[:, i1].transpose(0, 1) * a  # (N, C, H, W)
        x = self.proj(x)
        if tuple(x.shape[-2:]) != tuple(hw):
            x = F.interpolate(x, size=tuple(hw), mode="bilinear", align_corners=False)
        return x


class GridEncodings(nn.Module):
    """The grids of every block that has one (``cfg.grids``; blocks with all-zero shapes have none)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        widths = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
        self.blocks = [i for i, g in enumerate(cfg.grids) if g[0]]
        self.stages = nn.ModuleList(StageGrid(cfg.grids[i], widths[i]) for i in self.blocks)

    def add(self, i: int, x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """Block ``i``'s output ``x`` plus its grid's features (``x`` itself without a grid)."""
        if i not in self.blocks:
            return x
        return x + self.stages[self.blocks.index(i)](t, (x.shape[-2], x.shape[-1]))


def grid_shapes(cfg: ModelConfig, n_frames: int, budget: float) -> tuple[tuple[int, int, int, int], ...]:
    """(T, H, W, C) per block for a clip of ``n_frames`` and about ``budget`` grid parameters
    (projections included): ``T = ceil(n / FRAMES_PER_CELL)``, the budget shared equally by the
    blocks, each grid of the block's aspect and never finer than the block's own grid (what a
    coarse block cannot use passes to the finer ones); at least one cell per block."""
    widths = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
    n = len(cfg.strides)
    t = min(MAX_GRID_T, max(1, -(-n_frames // FRAMES_PER_CELL)))
    out, left = [], float(budget)
    for i in range(n):
        hs, ws = cfg.block_hw(i)
        c = min(GRID_CHANNELS, widths[i])
        cells = max(1, int((left / (n - i) - c * widths[i]) // (t * c)))
        h = max(1, min(hs, round(math.sqrt(cells * hs / ws))))
        w = max(1, min(ws, cells // h))
        h = max(1, min(hs, cells // w))
        out.append((t, h, w, c))
        left -= t * h * w * c + c * widths[i]
    return tuple(out)


def grid_params(cfg: ModelConfig) -> int:
    """Parameters of ``cfg``'s grids and their projections."""
    widths = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
    return sum(t * h * w * c + c * widths[i] for i, (t, h, w, c) in enumerate(cfg.grids))
