"""Training targets, computed once.

Frames stay in memory as uint8; the Haar coefficients are kept as exact integers
(``2*255*LL = a+b+c+d`` and likewise for the HF bands, all in int16), so the wavelet targets cost
no arithmetic per step and no float memory. Everything lives on the training device.

For SNeRV(T) a batch also carries the temporal encoders' inputs (Sec. 3.3): the LL bands of
frames t-1, t, t+1 (mirrored at the clip ends) normalised jointly with the min and max of the
three, and the temporal Haar low band of each pair divided by 2, (LL_t + LL_t+-1) / (2*sqrt2).
The decoder's target stays LL_t normalised with frame t's own (transmitted) min and max.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import torch

from ..errors import ConfigError
from ..models.geometry import Geometry, pad_frames
from ..models.grids import frame_times
from ..models.window import Region, cut, grid_window, shift_views
from ..wavelet import temporal_haar

_SCALE = 1.0 / 510.0  # Haar of x/255 with the orthonormal 1/2 factor
Fixed = tuple[torch.Tensor, "torch.Tensor | None"]  # a phase's fixed (embeddings, temporal embeddings)


@dataclass
class Batch:
    frame: torch.Tensor  # (N, 3, H, W) in [0, 1]
    ll_norm: torch.Tensor  # (N, 3, H/2, W/2) in [0, 1]
    hf: torch.Tensor  # (N, 3, 3, H/2, W/2) raw Haar units
    ll_min: torch.Tensor  # (N,)
    ll_max: torch.Tensor  # (N,)
    temporal: tuple[torch.Tensor, torch.Tensor] | None = None  # SNeRV(T): backward, forward low bands
    known: torch.Tensor | None = None  # (N, 1, H, W) 1 = pixel seen in training (in-painting), else None
    times: torch.Tensor | None = None  # (N,) normalised frame times (models.grids.frame_times): grid models read them
    # a canvas of warped views (video/warp.py): the frames themselves, (N, 3, h, w) in [0, 1], and their warps (N, 4)
    target: torch.Tensor | None = None
    warps: torch.Tensor | None = None

    def cut(self, region: Region | None) -> "Batch":
        """The batch over ``region`` of its (canvas-sized) targets, as a window the network drew
        (:func:`~..models.synthesis.synthesize`), for the loss: the targets and the known pixels cut to
        it, the views moved onto it (the encoder's temporal inputs are not cut). The loss is the same
        where ``region`` holds every known pixel and every tap and SSIM's window fits in its LL grid
        (:meth:`~.trainer.Trainer.loss_window`)."""
        if region is None:
            return self
        full = Region(0, 0, *self.frame.shape[-2:])
        frame = cut(self.frame, full, region)[0]
        known = None if self.known is None else cut(self.known, full, region)[0]
        ll_norm, hf = frame, self.hf
        if self.hf.numel():  # the Haar bands, on the LL grid
            ll, lr = Region(0, 0, *self.ll_norm.shape[-2:]), grid_window(region, 2)
            ll_norm, hf = cut(self.ll_norm, ll, lr)[0], cut(self.hf, ll, lr)[0]
        warps = None if self.warps is None else shift_views(self.warps, region.top, region.left)
        return replace(self, frame=frame, ll_norm=ll_norm, hf=hf, known=known, warps=warps)

    @property
    def enc_inputs(self) -> tuple[torch.Tensor, ...]:
        """What the encoder sees: the normalised LL band (SNeRV; plus the two temporal low bands
        for SNeRV(T)) or the frame (HNeRV)."""
        return (self.ll_norm,) if self.temporal is None else (self.ll_norm, *self.temporal)


def neighbours(idx: torch.Tensor, n: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of frames t-1 and t+1, mirrored at the ends (frame 0's previous is frame 1)."""
    if n == 1:
        return idx, idx
    prev = torch.where(idx == 0, idx + 1, idx - 1)
    nxt = torch.where(idx == n - 1, idx - 1, idx + 1)
    return prev, nxt


class FrameSet:
    """The padded clip and its precomputed wavelet targets."""

    def __init__(self, frames: np.ndarray, geo: Geometry, device: torch.device, uses_dwt: bool = True,
                 pad_mode: str = "replicate", ll_range_bits: int | None = None, temporal: bool = False,
                 known: np.ndarray | None = None, views: tuple[torch.Tensor, np.ndarray] | None = None):
        """``views``: the frames (T, 3, h, w) uint8, on ``device``, and their warps (T, 4) (or (T, 12) view
        rows with an object layer, :func:`~..models.geometry.sample_views`) where ``frames`` are their
        canvases (:mod:`~..video.warp`): batches then carry both, for the loss's frame term."""
        self.views = None if views is None else (views[0], torch.from_numpy(np.asarray(views[1], np.int64)).to(device))
        x = torch.from_numpy(np.ascontiguousarray(frames)).permute(0, 3, 1, 2)  # (T, 3, H, W) uint8
        x = pad_frames(x, geo, pad_mode)
        self.n = x.shape[0]
        self.frames = x.to(device)
        self.uses_dwt = uses_dwt
        self.temporal = temporal and uses_dwt
        self.known = self.known_boxes = None
        if known is not None:  # (T, H, W) bool; the padding counts as known (it is ours)
            k = pad_frames(torch.from_numpy(np.ascontiguousarray(known, dtype=np.uint8)).unsqueeze(1), geo, "replicate")
            self.known = k.to(device)
            self.known_boxes = _boxes(k[:, 0].bool())  # (T, 4): where a frame's loss reads (a canvas step's window)
        self.ll_range = None  # LLRange: the transmitted per-frame LL ranges (None: exact, untransmitted)
        if uses_dwt:
            v = x.to(torch.int16)
            a, b = v[..., 0::2, 0::2], v[..., 0::2, 1::2]
            c, d = v[..., 1::2, 0::2], v[..., 1::2, 1::2]
            s_ll = a + b + c + d
            self.coef_ll = s_ll.to(device)
            self.coef_hf = torch.stack([a + b - c - d, a - b + c - d, a - b - c + d], dim=1).to(device)
            lo = s_ll.flatten(1).amin(1).float() * _SCALE
            hi = s_ll.flatten(1).amax(1).float() * _SCALE
            hi = torch.where(hi > lo, hi, lo + 1e-3)  # flat frames: avoid a zero range
            self.raw_min, self.raw_max = lo.to(device), hi.to(device)  # exact, for the joint normalisation
            if ll_range_bits:
                # The per-frame (min, max) pairs are transmitted with ``ll_range_bits`` bits: train with
                # the transmitted values from the start so that decoding normalises exactly as training did.
                from ..compress.quant import quantize_ll_range

                self.ll_range = quantize_ll_range(lo.numpy(), hi.numpy(), ll_range_bits)
                lo, hi = torch.from_numpy(self.ll_range.min_values), torch.from_numpy(self.ll_range.max_values)
            self.ll_min, self.ll_max = lo.to(device), hi.to(device)

    def batch(self, idx: torch.Tensor) -> Batch:
        frame = self.frames[idx].float().mul_(1.0 / 255.0)
        known = self.known[idx].float() if self.known is not None else None
        times = frame_times(idx, self.n)
        target, warps = (None, None) if self.views is None else \
            (self.views[0][idx].float().mul_(1.0 / 255.0), self.views[1][idx])
        if not self.uses_dwt:
            return Batch(frame, frame, frame.new_zeros(0), frame.new_zeros(0), frame.new_zeros(0), known=known,
                         times=times, target=target, warps=warps)
        lo, hi = self.ll_min[idx], self.ll_max[idx]
        ll = self.coef_ll[idx].float().mul_(_SCALE)
        ll_norm = (ll - lo.view(-1, 1, 1, 1)) / (hi - lo).view(-1, 1, 1, 1)
        hf = self.coef_hf[idx].float().mul_(_SCALE)
        return Batch(frame, ll_norm, hf, lo, hi, self._temporal(idx, ll) if self.temporal else None, known, times,
                     target, warps)

    def _temporal(self, idx: torch.Tensor, ll_t: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        prev, nxt = neighbours(idx, self.n)
        lo = torch.minimum(torch.minimum(self.raw_min[prev], self.raw_min[idx]), self.raw_min[nxt]).view(-1, 1, 1, 1)
        hi = torch.maximum(torch.maximum(self.raw_max[prev], self.raw_max[idx]), self.raw_max[nxt]).view(-1, 1, 1, 1)
        scale = 1.0 / (hi - lo)

        def norm(x):
            return (x - lo) * scale

        t = norm(ll_t)
        bwd = temporal_haar(t, norm(self.coef_ll[prev].float().mul_(_SCALE)))[0] * 0.5
        fwd = temporal_haar(t, norm(self.coef_ll[nxt].float().mul_(_SCALE)))[0] * 0.5
        return bwd, fwd


def _boxes(known: torch.Tensor) -> torch.Tensor:
    """(T, 4) top, left, bottom, right of each frame's pixels in (T, H, W) bool ``known`` (the whole
    frame where there is none)."""
    rows, cols = known.any(2), known.any(1)
    h, w = known.shape[1:]
    top, left = rows.int().argmax(1), cols.int().argmax(1)
    bottom, right = h - rows.flip(1).int().argmax(1), w - cols.flip(1).int().argmax(1)
    none = ~rows.any(1)
    return torch.stack([top.masked_fill(none, 0), left.masked_fill(none, 0), bottom.masked_fill(none, h),
                        right.masked_fill(none, w)], dim=1)


def reference_frames(reference: np.ndarray | None, shape: tuple, device: torch.device) -> torch.Tensor | None:
    """(T, 3, H, W) uint8 frames an evaluation compares against, when they differ from the training
    frames (in-painting: the unmasked originals); checked against the training frames' ``shape``."""
    if reference is None:
        return None
    if reference.shape != shape:
        raise ConfigError("reference frames must have the shape of the training frames")
    return torch.from_numpy(np.ascontiguousarray(reference)).permute(0, 3, 1, 2).to(device)
