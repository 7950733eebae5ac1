"""Building blocks shared by the SNeRV and HNeRV networks (paper Sec. 3.2; docs/paper/architecture.md).

Pure ``nn.Module`` code: nothing here knows about files, bytes or training.
"""

from __future__ import annotations

from typing import Sequence

import torch
import torch.nn as nn
import torch.nn.functional as F


def width_schedule(c1: int, n_blocks: int, reduce: float = 1.2, lower_width: int = 12) -> list[int]:
    """Output widths of the up-sampling blocks: ``c_out = max(round(c_in / reduce), lower_width)``.

    Python's ``round`` (banker's rounding) is part of the published design: c1=111 gives
    92, 77, 64, 53, 44.
    """
    widths, c = [], c1
    for _ in range(n_blocks):
        c = max(round(c / reduce), lower_width)
        widths.append(c)
    return widths


class LayerNorm2d(nn.Module):
    """Channels-first LayerNorm (normalises over C at every pixel), as in ConvNeXt.

    Implemented through ``F.layer_norm`` on a channels-last view, which is a free permute when the
    tensor is already in ``torch.channels_last`` memory format.
    """

    def __init__(self, channels: int, eps: float = 1e-6):
        super().__init__()
        self.weight = nn.Parameter(torch.ones(channels))
        self.bias = nn.Parameter(torch.zeros(channels))
        self.eps = eps

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = F.layer_norm(x.permute(0, 2, 3, 1), self.weight.shape, self.weight, self.bias, self.eps)
        return y.permute(0, 3, 1, 2)


class ConvNeXtBlock(nn.Module):
    """dwconv 7x7 -> LayerNorm -> Linear(d, 4d) -> GELU -> Linear(4d, d) -> layer scale -> residual."""

    def __init__(self, dim: int, layer_scale: float = 1e-6):
        super().__init__()
        self.dwconv = nn.Conv2d(dim, dim, 7, padding=3, groups=dim)
        self.norm = nn.LayerNorm(dim, eps=1e-6)
        self.pwconv1 = nn.Linear(dim, 4 * dim)
        self.pwconv2 = nn.Linear(4 * dim, dim)
        self.gamma = nn.Parameter(torch.full((dim,), layer_scale))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.dwconv(x).permute(0, 2, 3, 1)
        y = self.pwconv2(F.gelu(self.pwconv1(self.norm(y))))
        return x + (self.gamma * y).permute(0, 3, 1, 2)


class ConvNeXtEncoder(nn.Module):
    """HNeRV's ConvNeXt encoder: one down-sampling conv (k = s = stride) and one ConvNeXt block per
    stage. Stage 0: conv then LayerNorm; later stages: LayerNorm then conv. The last stage's output
    is the embedding, with no activation. Trained jointly; never transmitted (only its outputs are).
    """

    def __init__(self, in_channels: int, strides: Sequence[int], dims: Sequence[int]):
        super().__init__()
        if len(strides) != len(dims):
            raise ValueError("one width per stride")
        layers: list[nn.Module] = []
        c_prev = in_channels
        for i, (s, d) in enumerate(zip(strides, dims)):
            if i == 0:
                layers += [nn.Conv2d(c_prev, d, s, stride=s), LayerNorm2d(d)]
            else:
                layers += [LayerNorm2d(c_prev), nn.Conv2d(c_prev, d, s, stride=s)]
            layers.append(ConvNeXtBlock(d))
            c_prev = d
        self.layers = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layers(x)


class NeRVBlock(nn.Module):
    """Up-sampling block (UB): conv(c_in, c_out*s^2, k) -> PixelShuffle(s) -> GELU (NeRV, HNeRV)."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int):
        super().__init__()
        self.conv = nn.Conv2d(c_in, c_out * stride * stride, kernel, padding=(kernel - 1) // 2)
        self.shuffle = nn.PixelShuffle(stride)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.gelu(self.shuffle(self.conv(x)))


def nerv_blocks(c1: int, widths: Sequence[int], kernels: Sequence[int], strides: Sequence[int]) -> list[NeRVBlock]:
    """The chain of UBs after the stem (width ``c1``): block i maps widths[i-1] -> widths[i]."""
    c_in = [c1, *widths[:-1]]
    return [NeRVBlock(ci, co, k, s) for ci, co, k, s in zip(c_in, widths, kernels, strides)]


class ResidualStack(nn.Module):
    """RB of the MFU: conv3x3(c_in, c_out), then ``n`` blocks ``x + conv3x3(LReLU0.1(conv3x3(x)))``."""

    def __init__(self, c_in: int, c_out: int, n: int):
        super().__init__()
        self.proj = nn.Conv2d(c_in, c_out, 3, padding=1)
        self.blocks = nn.ModuleList(
            nn.Sequential(
                nn.Conv2d(c_out, c_out, 3, padding=1),
                nn.LeakyReLU(0.1),
                nn.Conv2d(c_out, c_out, 3, padding=1),
            )
            for _ in range(n)
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = self.proj(x)
        for blk in self.blocks:
            x = x + blk(x)
        return x


class FusionBlock(nn.Module):
    """MFB (Sec. 3.2, multi-resolution fusion): up-sample the coarser feature with a transposed conv
    (k = stride = the finer UB's stride), concatenate with the finer feature, fuse with an RB."""

    def __init__(self, c_coarse: int, c_fine: int, stride: int, n_rb: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_coarse, c_coarse, stride, stride=stride)
        self.fuse = ResidualStack(c_coarse + c_fine, c_fine, n_rb)

    def forward(self, coarse: torch.Tensor, fine: torch.Tensor) -> torch.Tensor:
        return self.fuse(torch.cat([self.up(coarse), fine], dim=1))


class HFRBranch(nn.Module):
    """One of the three high-frequency restorer branches (Sec. 3.2): conv1x1 -> LReLU0.1 -> conv3x3
    to the three colour channels of one Haar band, in raw Haar units (no output activation)."""

    def __init__(self, c: int):
        super().__init__()
        self.body = nn.Sequential(nn.Conv2d(c, c, 1), nn.LeakyReLU(0.1), nn.Conv2d(c, 3, 3, padding=1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.body(x)


def tanh_unit(x: torch.Tensor) -> torch.Tensor:
    """Output activation mapping to [0, 1]: tanh(x) * 0.5 + 0.5."""
    return torch.tanh(x) * 0.5 + 0.5
