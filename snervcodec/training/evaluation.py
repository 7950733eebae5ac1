"""The measuring face of a :class:`~.trainer.Trainer`: PSNR and MS-SSIM of the model as it is,
each weight's sensitivity, the embeddings of every frame, and the fit's :class:`~.result.FitResult`.
Measuring trains nothing (gradients only where the sensitivity needs them, never kept; the modules'
train/eval modes are restored); the training loop is in ``trainer.py``.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Sequence

import torch
import torch.nn as nn

from ..device import autocast
from ..metrics import ms_ssim_per_frame, psnr_per_frame
from ..models.window import Region, frames_in, offsets_window, views_window
from .data import Fixed
from .loss import fusion_loss
from .result import FitResult


SENSITIVITY_FRAMES = 64  # frames Evaluation.sensitivity reads at most: a 64-frame dev clip whole, one pass


@contextmanager
def _eval_mode(*modules: nn.Module):
    """The modules in eval mode, each put back in its own mode after."""
    modes = [m.training for m in modules]
    for m in modules:
        m.eval()
    try:
        yield
    finally:
        for m, mode in zip(modules, modes):
            m.train(mode)


class Evaluation:
    """Mixed into :class:`~.trainer.Trainer`, whose data, networks and forward pass it reads."""

    @torch.no_grad()
    def evaluate(self, with_msssim: bool = True, chunk: int = 8, frames: Sequence[int] | None = None,
                 fixed: Fixed | None = None, decoder: nn.Module | None = None, quant: str | None = None) -> dict:
        """PSNR (and MS-SSIM) of the float model on the original size, over ``frames`` (default: the
        whole clip), against the reference frames; with the encoder's embeddings or ``fixed`` ones,
        and this trainer's decoder or another."""
        dec = decoder or self.decoder
        psnrs, msssims = [], []
        sel = torch.arange(self.data.n) if frames is None else torch.as_tensor(list(frames)).long()
        fixed = self._to_device(fixed)
        with _eval_mode(self.encoder, dec):
            for i in range(0, len(sel), chunk):
                idx = sel[i:i + chunk].to(self.device)
                b, out, _, _ = self._forward(idx, fixed, dec, quant, window=self.window(idx))
                rec = self.crop(out.frame, idx, out.region).clamp(0, 1)  # as the decoder: sampled, then clamped
                ref = self._reference(idx, b)
                psnrs.append(psnr_per_frame(rec, ref).cpu())
                if with_msssim:
                    msssims.append(ms_ssim_per_frame(rec, ref)[0].cpu())
        res = {"psnr": float(torch.cat(psnrs).mean())}
        if with_msssim:
            res["ms_ssim"] = float(torch.cat(msssims).mean())
        return res

    @torch.enable_grad()
    def sensitivity(self, decoder: nn.Module, fixed: Fixed | None = None,
                    frames: int = SENSITIVITY_FRAMES) -> dict[str, torch.Tensor]:
        """How much the clip's distortion moves with each weight of ``decoder`` (the network as coded:
        its weights are the coded values): every frame's MSE gradient squared, summed over the frames
        (the diagonal of the empirical Fisher, a stand-in for the curvature; at most ``frames`` evenly
        spaced ones), with ``fixed`` embeddings (default the encoder's). It prices a change of each weight
        where the learned steps alone price them all alike: landing a file 1% over budget with it cost
        0.07 dB where the steps alone cost 0.97
        (docs/design-notes.md "Landing the rate: trimming by sensitivity").
        Float32 on the CPU, by parameter name; nothing is trained or accumulated."""
        params = dict(decoder.named_parameters())
        total = {n: torch.zeros(p.shape, dtype=torch.float32, device=p.device) for n, p in params.items()}
        fixed = self._to_device(fixed)
        with _eval_mode(self.encoder, decoder):
            for i in torch.linspace(0, self.data.n - 1, min(self.data.n, frames)).round().long().unique():
                i = i.view(1)
                b, out, _, _ = self._forward(i.to(self.device), fixed, decoder, window=self.step_window(i))
                b = b.cut(out.region)
                if b.warps is None:  # the frame's MSE: what PSNR measures
                    loss = fusion_loss(out.frame, b.frame, b.known, "psnr")
                else:  # warped views: the MSE of the view, sampled from the canvas, against the frame
                    loss = fusion_loss(self.crop(out.frame, i, out.region), b.target, None, "psnr")
                grads = torch.autograd.grad(loss, list(params.values()), allow_unused=True)
                for name, g in zip(params, grads):
                    if g is not None:
                        total[name] += g.float().square()
        return {name: t.cpu() for name, t in total.items()}

    def clip_psnr(self) -> float:
        """The model's PSNR over the clip as it is now: the last phase's own last evaluation when it
        measured every frame (the same measurement, not repeated), else measured now."""
        if self.psnr_now is not None and len(self.train_idx) == self.data.n:
            return self.psnr_now
        return self.evaluate(with_msssim=False)["psnr"]


    @torch.no_grad()
    def mean_frame_psnr(self, frames: torch.Tensor) -> float:
        """Mean PSNR of ``frames`` against the training frames' mean: what a network that draws one
        image for the whole clip reaches."""
        mean = None
        for i in range(0, len(self.train_idx), 8):
            idx = self.train_idx[i:i + 8].to(self.device)
            part = self._reference(idx, self.data.batch(idx)).sum(0, dtype=torch.float32)
            mean = part if mean is None else mean + part
        mean /= len(self.train_idx)
        idx = frames.to(self.device)
        ref = self._reference(idx, self.data.batch(idx))
        return float(psnr_per_frame(mean.expand_as(ref), ref).mean())


    def crop(self, x: torch.Tensor, idx: torch.Tensor, region: Region | None = None) -> torch.Tensor:
        """Frames ``idx`` at their original size out of the network's (padded) grid, or out of ``region``
        of it: their windows of a canvas, their warped views of it (sampled: clamp after), or the top-left
        corner."""
        views = None if self.warps is None else self.warps[idx.cpu()]
        offsets = None if self.windows is None else self.windows[idx.cpu()]
        return frames_in(x, region, self.height, self.width, views, offsets)

    def window(self, idx: torch.Tensor) -> Region | None:
        """The part of the canvas frames ``idx`` read, which is all an evaluation draws, as the decoder
        (:mod:`~..models.window`); None without a canvas."""
        if self.warps is None and self.windows is None:
            return None
        i = idx.cpu()
        if self.warps is not None:
            return views_window(self.warps[i].numpy(), self.height, self.width, self.cfg.frame_hw)
        return offsets_window(self.windows[i].numpy(), self.height, self.width)

    def _reference(self, idx: torch.Tensor, b) -> torch.Tensor:
        if self.reference is None:
            return self.crop(b.frame, idx)
        return self.reference[idx].float().mul_(1.0 / 255.0)


    @torch.no_grad()
    def encode_all(self, chunk: int = 8) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings of every frame (and SNeRV(T)'s temporal embeddings), float32 on the CPU."""
        outs, touts = [], []
        with _eval_mode(self.encoder):
            for i in range(0, self.data.n, chunk):
                idx = torch.arange(i, min(i + chunk, self.data.n), device=self.device)
                with autocast(self.device, self.precision):
                    emb, temb = self._embed(self.data.batch(idx), idx, None)
                outs.append(emb.float())
                if temb is not None:
                    touts.append(temb.float())
        temb = torch.cat(touts).contiguous().cpu() if touts else None
        return torch.cat(outs).contiguous().cpu(), temb


    def ll_range(self) -> torch.Tensor:
        """(T, 2) per-frame LL (min, max) the network normalises with; (T, 0) for HNeRV."""
        if not self.cfg.uses_dwt:
            return torch.zeros(self.data.n, 0)
        return torch.stack([self.data.ll_min, self.data.ll_max], dim=1).float().cpu()


    def result(self) -> FitResult:
        m = self.evaluate(with_msssim=True)
        dec = self.decoder.to(memory_format=torch.contiguous_format).float().cpu()
        emb, temb = self.encode_all()
        return FitResult(cfg=self.cfg, geometry=self.geo, decoder=dec, embeddings=emb, temporal=temb,
                         ll_range=self.ll_range(), psnr=m["psnr"], ms_ssim=m["ms_ssim"],
                         train_seconds=self.seconds, history=list(self.history), encoder=self.encoder,
                         precision=self.precision)
