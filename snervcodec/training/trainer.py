"""Overfit a network to one video (paper Sec. 3.5, 4.1).

Adam (0.9, 0.999), lr 1e-3, batch 1 with shuffled frames, gradient clipping at norm 1.0, and a
per-iteration schedule: linear warm-up from 0.1x to 1x over the first ``warmup`` fraction of
iterations, then cosine to 0. The encoder is trained jointly; afterwards its outputs (the
embeddings) are all that is kept of it.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..device import autocast, resolve_device, resolve_precision, to_channels_last
from ..metrics import ms_ssim_per_frame, psnr_per_frame
from ..models.config import ModelConfig
from ..models.geometry import Geometry, crop_frames
from ..models.registry import build_decoder, build_encoder
from ..models.synthesis import synthesize
from .config import TrainConfig
from .data import FrameSet
from .loss import snerv_loss


@dataclass
class FitResult:
    """A trained decoder and everything needed to synthesise the clip with it."""

    cfg: ModelConfig
    geometry: Geometry
    decoder: nn.Module
    embeddings: torch.Tensor  # (T, C, h, w) float32, on the CPU
    ll_minmax: torch.Tensor  # (T, 2) float32 (SNeRV; empty for HNeRV)
    psnr: float  # mean per-frame RGB PSNR of the float output (clamped to [0, 1]), on the original size
    ms_ssim: float
    train_seconds: float
    history: list[dict] = field(default_factory=list)
    encoder: nn.Module | None = None
    precision: str = "fp32"
    temporal: torch.Tensor | None = None  # SNeRV(T): (T, 2*t_channels, th, tw) backward then forward


def lr_factor(it: int, total: int, warmup: float) -> float:
    """Multiplier of the base learning rate at iteration ``it`` of ``total``."""
    n_warm = int(total * warmup)
    if it < n_warm:
        return 0.1 + 0.9 * it / max(n_warm, 1)
    t = (it - n_warm) / max(total - n_warm, 1)
    return 0.5 * (1.0 + math.cos(math.pi * t))


def _prepare(module: nn.Module, device: torch.device, channels_last: bool) -> nn.Module:
    module = module.to(device)
    return to_channels_last(module) if channels_last else module


class Trainer:
    """Holds the data, networks and optimiser of one fit; :meth:`run` trains, :meth:`evaluate` measures."""

    def __init__(self, frames: np.ndarray, cfg: ModelConfig, geo: Geometry, tcfg: TrainConfig,
                 device: str | torch.device = "auto", pad_mode: str = "replicate", ll_range_bits: int | None = None,
                 train_frames: Sequence[int] | None = None, known: np.ndarray | None = None,
                 reference: np.ndarray | None = None):
        """``train_frames``: train on these frames only (interpolation: the others are held out;
        SNeRV(T)'s neighbours still come from the whole clip). ``known`` (T, H, W) bool: pixels the
        loss may see (in-painting). ``reference``: frames :meth:`evaluate` compares against
        (default ``frames``; in-painting passes the unmasked originals)."""
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.precision = resolve_precision(tcfg.precision, self.device)
        self.cfg, self.geo, self.tcfg = cfg, geo, tcfg
        self.height, self.width = frames.shape[1:3]
        torch.manual_seed(tcfg.seed)
        self.data = FrameSet(frames, geo, self.device, uses_dwt=cfg.uses_dwt, pad_mode=pad_mode,
                             ll_range_bits=ll_range_bits, temporal=cfg.temporal, known=known)
        n = self.data.n
        self.train_idx = torch.arange(n) if train_frames is None else torch.as_tensor(list(train_frames)).long()
        if len(self.train_idx) == 0 or int(self.train_idx.min()) < 0 or int(self.train_idx.max()) >= n:
            raise ValueError("train_frames must be a non-empty subset of the clip's frames")
        self.reference = None
        if reference is not None:
            if reference.shape != frames.shape:
                raise ValueError("reference frames must have the shape of the training frames")
            self.reference = torch.from_numpy(np.ascontiguousarray(reference)).permute(0, 3, 1, 2).to(self.device)
        cl = tcfg.channels_last and self.device.type != "mps"
        self.channels_last = cl
        self.encoder = _prepare(build_encoder(cfg), self.device, cl)
        self.decoder = _prepare(build_decoder(cfg), self.device, cl)
        params = list(self.encoder.parameters()) + list(self.decoder.parameters())
        self.params = params
        self.opt = torch.optim.Adam(params, lr=tcfg.lr, betas=tcfg.betas)
        self.generator = torch.Generator().manual_seed(tcfg.seed)
        self.history: list[dict] = []
        self.seconds = 0.0

    # --------------------------------------------------------------------------------------
    def _cl(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x is not None else x

    def _encode(self, b) -> tuple[torch.Tensor, torch.Tensor | None]:
        out = self.encoder(*(self._cl(x) for x in b.enc_inputs))
        return out if isinstance(out, tuple) else (out, None)

    def _forward(self, idx: torch.Tensor):
        b = self.data.batch(idx)
        with autocast(self.device, self.precision):
            emb, temb = self._encode(b)
            out = synthesize(self.decoder, self.cfg, emb, b.ll_min, b.ll_max, temb)
        return b, emb, out

    def run(self, progress: bool = True, on_eval: Callable[[dict], None] | None = None) -> None:
        tc = self.tcfg
        n = len(self.train_idx)
        steps_per_epoch = math.ceil(n / tc.batch_size)
        total = tc.epochs * steps_per_epoch
        eval_every = tc.eval_every or max(1, tc.epochs // 10)
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, unit="it", desc="encode", dynamic_ncols=True, leave=False)
        self.encoder.train()
        self.decoder.train()
        it = 0
        t0 = time.perf_counter()
        last_psnr = float("nan")
        try:
            for epoch in range(tc.epochs):
                perm = self.train_idx[torch.randperm(n, generator=self.generator)]
                loss_sum = 0.0
                for s in range(steps_per_epoch):
                    idx = perm[s * tc.batch_size:(s + 1) * tc.batch_size].to(self.device)
                    for g in self.opt.param_groups:
                        g["lr"] = tc.lr * lr_factor(it, total, tc.warmup)
                    b, _, out = self._forward(idx)
                    loss = snerv_loss(out, b, tc.loss_weights)
                    self.opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if tc.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(self.params, tc.grad_clip)
                    self.opt.step()
                    loss_sum += float(loss.detach())
                    it += 1
                    if bar is not None:
                        bar.update(1)
                if (epoch + 1) % eval_every == 0 or epoch + 1 == tc.epochs:
                    self.seconds += time.perf_counter() - t0
                    m = self.evaluate(with_msssim=False, frames=self.train_idx.tolist())
                    t0 = time.perf_counter()
                    last_psnr = m["psnr"]
                    rec = {"epoch": epoch + 1, "loss": loss_sum / steps_per_epoch, "psnr": last_psnr,
                           "seconds": round(self.seconds, 3)}
                    self.history.append(rec)
                    if on_eval:
                        on_eval(rec)
                if bar is not None:
                    bar.set_postfix(epoch=f"{epoch + 1}/{tc.epochs}", loss=f"{loss_sum / steps_per_epoch:.4f}",
                                    psnr=f"{last_psnr:.2f}")
        finally:
            self.seconds += time.perf_counter() - t0
            if bar is not None:
                bar.close()

    # --------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_all(self, chunk: int = 8) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings of every frame (and SNeRV(T)'s temporal embeddings), float32 on the CPU."""
        self.encoder.eval()
        outs, touts = [], []
        for i in range(0, self.data.n, chunk):
            idx = torch.arange(i, min(i + chunk, self.data.n), device=self.device)
            with autocast(self.device, self.precision):
                emb, temb = self._encode(self.data.batch(idx))
            outs.append(emb.float())
            if temb is not None:
                touts.append(temb.float())
        self.encoder.train()
        temb = torch.cat(touts).contiguous().cpu() if touts else None
        return torch.cat(outs).contiguous().cpu(), temb

    def embeddings(self, chunk: int = 8) -> torch.Tensor:
        return self.encode_all(chunk)[0]

    def ll_minmax(self) -> torch.Tensor:
        if not self.cfg.uses_dwt:
            return torch.zeros(self.data.n, 0)
        return torch.stack([self.data.ll_min, self.data.ll_max], dim=1).float().cpu()

    def _reference(self, idx: torch.Tensor, b) -> torch.Tensor:
        if self.reference is None:
            return crop_frames(b.frame, self.height, self.width)
        return self.reference[idx].float().mul_(1.0 / 255.0)

    @torch.no_grad()
    def evaluate(self, with_msssim: bool = True, chunk: int = 8, frames: Sequence[int] | None = None) -> dict:
        """PSNR (and MS-SSIM) of the current float model, on the original size, over ``frames``
        (default: the whole clip), against the reference frames."""
        self.encoder.eval()
        self.decoder.eval()
        psnrs, msssims = [], []
        sel = torch.arange(self.data.n) if frames is None else torch.as_tensor(list(frames)).long()
        for i in range(0, len(sel), chunk):
            idx = sel[i:i + chunk].to(self.device)
            b, _, out = self._forward(idx)
            rec = crop_frames(out.frame.clamp(0, 1), self.height, self.width)
            ref = self._reference(idx, b)
            psnrs.append(psnr_per_frame(rec, ref).cpu())
            if with_msssim:
                msssims.append(ms_ssim_per_frame(rec, ref)[0].cpu())
        self.encoder.train()
        self.decoder.train()
        res = {"psnr": float(torch.cat(psnrs).mean())}
        if with_msssim:
            res["ms_ssim"] = float(torch.cat(msssims).mean())
        return res

    def finetune_decoder(self, embeddings: torch.Tensor, epochs: int, lr: float, mask=None, progress: bool = False,
                         desc: str = "fine-tune", temporal: torch.Tensor | None = None) -> None:
        """Train the decoder alone on fixed (quantised) embeddings, keeping pruned weights at zero.

        Cosine schedule from ``lr`` to 0, a fresh Adam (so pruned weights, whose gradients are
        masked, never move), and the same loss as training.
        """
        if epochs <= 0:
            return
        tc = self.tcfg
        emb_all = embeddings.to(self.device)
        temb_all = temporal.to(self.device) if temporal is not None else None
        opt = torch.optim.Adam(self.decoder.parameters(), lr=lr, betas=tc.betas)
        hooks = mask.hook_gradients(self.decoder) if mask is not None else []
        n = len(self.train_idx)
        steps = math.ceil(n / tc.batch_size)
        total, it = epochs * steps, 0
        bar = None
        if progress:
            from tqdm.auto import tqdm

            bar = tqdm(total=total, unit="it", desc=desc, dynamic_ncols=True, leave=False)
        t0 = time.perf_counter()
        self.decoder.train()
        try:
            for _ in range(epochs):
                perm = self.train_idx[torch.randperm(n, generator=self.generator)]
                for s in range(steps):
                    idx = perm[s * tc.batch_size:(s + 1) * tc.batch_size].to(self.device)
                    for g in opt.param_groups:
                        g["lr"] = lr * 0.5 * (1.0 + math.cos(math.pi * it / total))
                    b = self.data.batch(idx)
                    emb = self._cl(emb_all[idx])
                    temb = self._cl(temb_all[idx]) if temb_all is not None else None
                    with autocast(self.device, self.precision):
                        out = synthesize(self.decoder, self.cfg, emb, b.ll_min, b.ll_max, temb)
                    loss = snerv_loss(out, b, tc.loss_weights)
                    opt.zero_grad(set_to_none=True)
                    loss.backward()
                    if tc.grad_clip > 0:
                        torch.nn.utils.clip_grad_norm_(self.decoder.parameters(), tc.grad_clip)
                    opt.step()
                    if mask is not None:
                        mask.apply(self.decoder)
                    it += 1
                    if bar is not None:
                        bar.update(1)
                        bar.set_postfix(loss=f"{float(loss.detach()):.4f}")
        finally:
            for h in hooks:
                h.remove()
            if bar is not None:
                bar.close()
            self.seconds += time.perf_counter() - t0

    @torch.no_grad()
    def evaluate_with(self, decoder: nn.Module, embeddings: torch.Tensor, chunk: int = 8,
                      temporal: torch.Tensor | None = None) -> dict:
        """PSNR / MS-SSIM of ``decoder`` on given embeddings (float output clamped, original size)."""
        decoder.eval()
        psnrs, msssims = [], []
        for i in range(0, self.data.n, chunk):
            idx = torch.arange(i, min(i + chunk, self.data.n), device=self.device)
            b = self.data.batch(idx)
            emb = self._cl(embeddings[i:i + chunk].to(self.device))
            temb = self._cl(temporal[i:i + chunk].to(self.device)) if temporal is not None else None
            with autocast(self.device, self.precision):
                out = synthesize(decoder, self.cfg, emb, b.ll_min, b.ll_max, temb)
            rec = crop_frames(out.frame.clamp(0, 1), self.height, self.width)
            ref = self._reference(idx, b)
            psnrs.append(psnr_per_frame(rec, ref).cpu())
            msssims.append(ms_ssim_per_frame(rec, ref)[0].cpu())
        decoder.train()
        return {"psnr": float(torch.cat(psnrs).mean()), "ms_ssim": float(torch.cat(msssims).mean())}

    def result(self) -> FitResult:
        m = self.evaluate(with_msssim=True)
        dec = self.decoder.to(memory_format=torch.contiguous_format).float().cpu()
        emb, temb = self.encode_all()
        return FitResult(cfg=self.cfg, geometry=self.geo, decoder=dec, embeddings=emb, temporal=temb,
                         ll_minmax=self.ll_minmax(), psnr=m["psnr"], ms_ssim=m["ms_ssim"],
                         train_seconds=self.seconds, history=list(self.history), encoder=self.encoder,
                         precision=self.precision)
