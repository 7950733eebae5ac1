"""Temporal extension of SNeRV, "Ours(T)" (paper Sec. 3.3; docs/paper/architecture.md "Temporal extension").

Each frame t also sees its neighbours t-1 and t+1 (mirrored at the clip ends). Besides the main
embedding of LL_t, two temporal embeddings are transmitted per frame: the backward one encodes the
temporal Haar low band of (LL_t, LL_t-1), the forward one that of (LL_t, LL_t+1) (spatio-temporal
low frequencies; motion is the temporal high band and is left to the decoder).

Decoder (c_i = widths of the five blocks)::

    emb --stem--> UB1 --> UB2 (transposed conv + residual conv pair)   = current branch
    temb_bwd, temb_fwd --temporal stem (shared): 1x1 conv + GELU, transposed conv to the UB2 grid--
    [bwd, cur, fwd] --TUB3--> [bwd, cur, fwd] --TUB4--> [bwd, cur, fwd] --TUB5 (merges)--> cur
    MFU on the current branch of TUB3, TUB4 and TUB5, then LL head, HFR and IDWT exactly as Ours(B).

A TUB up-samples each of its three branches with its own transposed conv (k = s = stride), stacks
them on a depth axis and applies Conv3d(c, 2c) -> LReLU -> Conv3d(2c, c) -> LReLU plus the input;
the last TUB's second Conv3d has no temporal padding (depth 3 -> 1) and its residual is the current
branch. The "2D" variant (snerv-t-2d) replaces each Conv3d by a Conv2d over the channel-stacked
branches (3c -> 6c -> 3c; last 3c -> 6c -> c), about half the multiply-accumulates.

Deviation, for arbitrary resolutions: the temporal embedding grid is ceil(UB2 grid / t_scale); the
temporal encoders pad their input (replicate) to a multiple of their stride product and the temporal
stem's output is cropped to the UB2 grid. At the paper's sizes nothing is padded or cropped, and
3x10x20 at 640x1280 (t_scale 4), which the reference 3D model cannot build, works like any other.
The MFU's transposed convs use the finer block's stride, which is 2 (as the reference fixes it) in
every published geometry.
"""

from __future__ import annotations

import math

import torch
import torch.nn as nn
import torch.nn.functional as F

from .blocks import ConvNeXtEncoder, FusionBlock, HFRBranch, tanh_unit, width_schedule
from ..errors import ConfigError
from .config import ModelConfig
from .snerv import encoder_for as _main_encoder


def _prime_factors(n: int) -> list[int]:
    out, p = [], 2
    while n > 1:
        while n % p == 0:
            out.append(p)
            n //= p
        p += 1
    return sorted(out, reverse=True)


def temporal_encoder_strides(cfg: ModelConfig) -> tuple[int, ...]:
    """Strides of a temporal encoder: those of UB3..UB5 (LL grid -> UB2 grid), then ``t_scale``
    in prime steps (2,2,2,2 for 3x20x40 at 640x1280, as the reference)."""
    return tuple(cfg.strides[2:]) + tuple(_prime_factors(cfg.t_scale))


class SNeRVTEncoder(nn.Module):
    """Main ConvNeXt encoder (as Ours(B)) plus the backward and forward temporal encoders
    (widths 64, ..., 64, t_channels). Trained jointly; only their outputs are transmitted."""

    def __init__(self, cfg: ModelConfig):
        super().__init__()
        self.main = _main_encoder(cfg)
        st = temporal_encoder_strides(cfg)
        dims = [cfg.enc_width] * (len(st) - 1) + [cfg.t_channels]
        self.bwd = ConvNeXtEncoder(3, st, dims)
        self.fwd = ConvNeXtEncoder(3, st, dims)
        self.div = math.prod(st)

    def _pad(self, x: torch.Tensor) -> torch.Tensor:
        ph, pw = (-x.shape[-2]) % self.div, (-x.shape[-1]) % self.div
        return F.pad(x, (0, pw, 0, ph), mode="replicate") if ph or pw else x

    def forward(self, ll: torch.Tensor, low_bwd: torch.Tensor, low_fwd: torch.Tensor
                ) -> tuple[torch.Tensor, torch.Tensor]:
        """Normalised LL_t and the two temporal low bands -> (embedding, [backward, forward])."""
        temb = torch.cat([self.bwd(self._pad(low_bwd)), self.fwd(self._pad(low_fwd))], dim=1)
        return self.main(ll), temb


class TransposedResBlock(nn.Module):
    """UB1 / UB2 of Ours(T): y = ConvTranspose(k = s = stride)(x);
    out = LReLU(conv3x3(2c -> c)(LReLU(conv3x3(c -> 2c)(y)))) + y."""

    def __init__(self, c_in: int, c_out: int, stride: int):
        super().__init__()
        self.up = nn.ConvTranspose2d(c_in, c_out, stride, stride=stride)
        self.body = nn.Sequential(
            nn.Conv2d(c_out, 2 * c_out, 3, padding=1), nn.LeakyReLU(0.1),
            nn.Conv2d(2 * c_out, c_out, 3, padding=1), nn.LeakyReLU(0.1),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.up(x)
        return self.body(y) + y


class TemporalStem(nn.Module):
    """Shared by both directions: 1x1 conv (t_channels -> c_UB2) + GELU, then a transposed conv
    (k = s = t_scale) up to the UB2 grid (cropped there when the grid was rounded up)."""

    def __init__(self, t_channels: int, c: int, t_scale: int):
        super().__init__()
        self.proj = nn.Conv2d(t_channels, c, 1)
        self.up = nn.ConvTranspose2d(c, c, t_scale, stride=t_scale)

    def forward(self, temb: torch.Tensor, hw: tuple[int, int]) -> torch.Tensor:
        return self.up(F.gelu(self.proj(temb)))[..., :hw[0], :hw[1]]


def temporal_conv(branches: list[torch.Tensor], conv: nn.Conv3d, pad_time: bool) -> list[torch.Tensor]:
    """``conv`` (a Conv3d with temporal kernel 3) over the time steps ``branches``, exactly, as one
    Conv2d on the channel-stacked temporal windows with the same weights, the time steps batched.

    Same parameters and result as ``conv(torch.stack(branches, 2))``; oneDNN's 2D path runs several
    times faster than its 3D one on CPUs (the 5x slower SNeRV(T) training it replaces was measured
    on an AVX2 CPU), and it keeps channels-last 4-D tensors throughout.
    """
    seq = list(branches)
    if pad_time:
        z = torch.zeros_like(seq[0])
        seq = [z, *seq, z]
    n_out = len(seq) - 2
    windows = torch.cat([torch.cat(seq[d:d + 3], dim=1) for d in range(n_out)], dim=0)  # (n_out*N, 3C, H, W)
    w = conv.weight  # (O, C, 3, kh, kw)
    w2 = w.permute(0, 2, 1, 3, 4).reshape(w.shape[0], 3 * w.shape[1], w.shape[3], w.shape[4])
    y = F.conv2d(windows, w2, conv.bias, padding=conv.padding[1:])
    return list(y.chunk(n_out, dim=0))


class TUB(nn.Module):
    """Temporally extended up-sampling block (Sec. 3.3). ``last`` merges the three time steps."""

    def __init__(self, c_in: int, c_out: int, stride: int, last: bool, mode: str):
        super().__init__()
        self.ups = nn.ModuleList(nn.ConvTranspose2d(c_in, c_out, stride, stride=stride) for _ in range(3))
        self.last, self.mode = last, mode
        if mode == "3d":
            self.conv1 = nn.Conv3d(c_out, 2 * c_out, 3, padding=1)
            self.conv2 = nn.Conv3d(2 * c_out, c_out, 3, padding=(0, 1, 1) if last else 1)
        else:
            self.conv1 = nn.Conv2d(3 * c_out, 6 * c_out, 3, padding=1)
            self.conv2 = nn.Conv2d(6 * c_out, c_out if last else 3 * c_out, 3, padding=1)

    def forward(self, branches: tuple[torch.Tensor, ...]) -> tuple[torch.Tensor, ...]:
        ys = [up(x) for up, x in zip(self.ups, branches)]
        if self.mode == "3d":  # Conv3d over the depth axis [bwd, cur, fwd], computed by temporal_conv
            h = [F.leaky_relu(t, 0.1) for t in temporal_conv(ys, self.conv1, True)]
            out = [F.leaky_relu(t, 0.1) for t in temporal_conv(h, self.conv2, not self.last)]
            if self.last:
                return (out[0] + ys[1],)
            return tuple(o + y for o, y in zip(out, ys))
        z = torch.cat(ys, dim=1)
        out = F.leaky_relu(self.conv2(F.leaky_relu(self.conv1(z), 0.1)), 0.1)
        if self.last:
            return (out + ys[1],)
        return tuple((out + z).chunk(3, dim=1))


class SNeRVTDecoder(nn.Module):
    """Ours(T): ``forward(emb, temb)`` -> (normalised LL, HF bands), as Ours(B)."""

    def __init__(self, cfg: ModelConfig, mode: str = "3d"):
        super().__init__()
        if len(cfg.strides) < 3 or not cfg.temporal:
            raise ConfigError("SNeRV(T) needs a temporal config with at least three blocks")
        self.cfg = cfg
        w = width_schedule(cfg.c1, len(cfg.strides), cfg.reduce, cfg.lower_width)
        self.stem = nn.Conv2d(cfg.emb_channels, cfg.c1, 1)
        n_t = 3  # the last three blocks are TUBs (they feed the MFU)
        c_in, ubs = cfg.c1, []
        for c_out, s in zip(w[:-n_t], cfg.strides[:-n_t]):
            ubs.append(TransposedResBlock(c_in, c_out, s))
            c_in = c_out
        self.ubs = nn.ModuleList(ubs)
        self.t_stem = TemporalStem(cfg.t_channels, c_in, cfg.t_scale)
        self.tubs = nn.ModuleList(
            TUB(ci, co, s, last=(i == n_t - 1), mode=mode)
            for i, (ci, co, s) in enumerate(zip([c_in] + w[-n_t:-1], w[-n_t:], cfg.strides[-n_t:]))
        )
        c3, c4, c5 = w[-3:]
        self.mfb1 = FusionBlock(c3, c4, cfg.strides[-2], cfg.n_rb)
        self.mfb2 = FusionBlock(c4, c5, cfg.strides[-1], cfg.n_rb)
        self.head = nn.Conv2d(c5, 3, 3, padding=1)
        self.hfr = nn.ModuleList(HFRBranch(c5) for _ in range(3))

    def forward(self, emb: torch.Tensor, temb: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.gelu(self.stem(emb))
        for ub in self.ubs:
            x = ub(x)
        hw = (x.shape[-2], x.shape[-1])
        bwd, fwd = temb.chunk(2, dim=1)
        branches: tuple[torch.Tensor, ...] = (self.t_stem(bwd, hw), x, self.t_stem(fwd, hw))
        feats = []
        for tub in self.tubs:
            branches = tub(branches)
            feats.append(branches[1] if len(branches) == 3 else branches[0])
        f = self.mfb2(self.mfb1(feats[0], feats[1]), feats[2])
        ll = tanh_unit(self.head(f))
        hf = torch.stack([branch(f) for branch in self.hfr], dim=1)
        return ll, hf


class SNeRVT2DDecoder(SNeRVTDecoder):
    """Ours(T)-2D: Conv2d over channel-stacked time steps in the TUBs (about half the MACs)."""

    def __init__(self, cfg: ModelConfig):
        super().__init__(cfg, mode="2d")
