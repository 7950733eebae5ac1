"""Overfit a network to one video (paper Sec. 3.5, 4.1): the trainer's state and its one loop.

Adam (0.9, 0.999), batch 1 with shuffled frames, gradient clipping at norm 1.0; the schedule and
what is trained come from a :class:`~.phases.Phase`. Every phase runs through :meth:`Trainer.step`.
The encoder is trained jointly; afterwards its outputs (the embeddings) are all that is kept of it.
"""

from __future__ import annotations

import math
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..compress.prune import PruneMask
from ..device import autocast, resolve_device, resolve_precision, to_channels_last
from ..errors import ConfigError
from ..metrics import ms_ssim_per_frame, psnr_per_frame
from ..models.config import ModelConfig
from ..models.geometry import Geometry, crop_frames
from ..models.registry import build_decoder, build_encoder
from ..models.synthesis import synthesize
from .config import TrainConfig
from .data import FrameSet
from .loss import snerv_loss
from .config import batch_lr_scale, resolve_batch_size
from .phases import Phase, fit_phase, lr_at, lr_factor

Fixed = tuple[torch.Tensor, "torch.Tensor | None"]  # fixed (embeddings, temporal embeddings) of a phase


def _progress_bar(total: float, desc: str, unit: str = "it"):
    from tqdm.auto import tqdm

    fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]" if unit == "s" else None
    return tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True, leave=False, bar_format=fmt)


def _adam(params: list[torch.Tensor], lr: float, betas, device: torch.device) -> torch.optim.Optimizer:
    """Adam; on CUDA the fused kernel (one launch for every tensor), elsewhere PyTorch's default."""
    if device.type == "cuda":
        return torch.optim.Adam(params, lr=lr, betas=betas, fused=True)
    return torch.optim.Adam(params, lr=lr, betas=betas)


class _Clock:
    """Training time of a phase (evaluations excluded) against its budget (0: no budget)."""

    def __init__(self, budget: float):
        self.budget, self.spent, self.t0, self.last = budget, 0.0, time.perf_counter(), 0.0

    @property
    def elapsed(self) -> float:
        return self.spent + time.perf_counter() - self.t0

    @property
    def fraction(self) -> float:
        return min(1.0, self.elapsed / self.budget) if self.budget else 0.0

    @property
    def done(self) -> bool:
        return bool(self.budget) and self.elapsed >= self.budget

    def tick(self) -> float:
        """Seconds since the last tick (for a progress bar counting seconds)."""
        now = min(self.elapsed, self.budget)
        d, self.last = now - self.last, now
        return d

    @contextmanager
    def paused(self):
        self.spent += time.perf_counter() - self.t0
        try:
            yield
        finally:
            self.t0 = time.perf_counter()


@dataclass
class FitResult:
    """A trained decoder and everything needed to synthesise the clip with it."""

    cfg: ModelConfig
    geometry: Geometry
    decoder: nn.Module
    embeddings: torch.Tensor  # (T, C, h, w) float32, on the CPU
    ll_range: torch.Tensor  # (T, 2) per-frame LL (min, max), float32 (SNeRV; (T, 0) for HNeRV)
    psnr: float  # mean per-frame RGB PSNR of the float output (clamped to [0, 1]), on the original size
    ms_ssim: float
    train_seconds: float
    history: list[dict] = field(default_factory=list)
    encoder: nn.Module | None = None
    precision: str = "fp32"
    temporal: torch.Tensor | None = None  # SNeRV(T): (T, 2*t_channels, th, tw) backward then forward


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
            raise ConfigError("train_frames must be a non-empty subset of the clip's frames")
        self.reference = None
        if reference is not None:
            if reference.shape != frames.shape:
                raise ConfigError("reference frames must have the shape of the training frames")
            self.reference = torch.from_numpy(np.ascontiguousarray(reference)).permute(0, 3, 1, 2).to(self.device)
        cl = tcfg.channels_last and self.device.type != "mps"
        self.channels_last = cl
        self.encoder = _prepare(build_encoder(cfg), self.device, cl)
        self.decoder = _prepare(build_decoder(cfg), self.device, cl)
        self.generator = torch.Generator().manual_seed(tcfg.seed)
        self.batch_size = resolve_batch_size(tcfg, self.device.type)
        self.lr_scale = batch_lr_scale(tcfg, self.batch_size)  # for every phase's lr
        self.history: list[dict] = []
        self.seconds = 0.0

    # --------------------------------------------------------------------------------------
    def _cl(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x is not None else x

    def _embed(self, b, idx: torch.Tensor, fixed: Fixed | None) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings of a batch: the encoder's output, or the phase's fixed (quantised) values."""
        if fixed is None:
            out = self.encoder(*(self._cl(x) for x in b.enc_inputs))
            return out if isinstance(out, tuple) else (out, None)
        emb, temb = fixed
        return self._cl(emb[idx]), self._cl(temb[idx]) if temb is not None else None

    def _forward(self, idx: torch.Tensor, fixed: Fixed | None = None, decoder: nn.Module | None = None):
        b = self.data.batch(idx)
        with autocast(self.device, self.precision):
            emb, temb = self._embed(b, idx, fixed)
            out = synthesize(decoder or self.decoder, self.cfg, emb, b.ll_min, b.ll_max, temb)
        return b, out

    def step(self, opt: torch.optim.Optimizer, params: list[torch.Tensor], idx: torch.Tensor,
             fixed: Fixed | None = None, mask: PruneMask | None = None) -> torch.Tensor:
        """One optimisation step of every phase: forward, loss, backward, (masked) clipped update.
        Returns the loss on the device (no host synchronisation)."""
        b, out = self._forward(idx, fixed)
        loss = snerv_loss(out, b, self.tcfg.loss_weights)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if mask is not None:
            mask.mask_gradients(self.decoder)
        if self.tcfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.tcfg.grad_clip)
        opt.step()
        if mask is not None:
            mask.apply(self.decoder)
        return loss.detach()

    def run(self, progress: bool = True, on_eval: Callable[[dict], None] | None = None,
            seconds: float | None = None) -> None:
        """The paper's overfitting phase (:func:`fit_phase`); ``seconds`` lays it out over time."""
        t = self.tcfg.time_limit if seconds is None else seconds
        self.run_phase(fit_phase(self.tcfg, self.lr_scale, t), progress=progress, on_eval=on_eval)

    def run_phase(self, phase: Phase, fixed: Fixed | None = None, mask: PruneMask | None = None,
                  progress: bool = False, on_eval: Callable[[dict], None] | None = None) -> None:
        """Train one phase: a fresh Adam over its trainable parts, its schedule, shuffled frames.

        ``fixed``: (embeddings, temporal embeddings) for phases that do not train the encoder;
        ``mask``: pruned weights stay exactly zero (their gradients are zeroed before clipping).
        A timed phase (``phase.seconds``) runs its schedule on the clock and stops on time. Nothing
        in the step loop waits for the device: losses add up on it and are read once per epoch."""
        if phase.epochs <= 0 and not phase.seconds:
            return
        if not phase.train_encoder and fixed is None:
            raise ConfigError(f"phase {phase.name} trains the decoder alone and needs fixed embeddings")
        fixed = self._to_device(fixed)
        params = (list(self.encoder.parameters()) if phase.train_encoder else []) + list(self.decoder.parameters())
        opt = _adam(params, phase.lr, self.tcfg.betas, self.device)
        n, bs = len(self.train_idx), self.batch_size
        steps = math.ceil(n / bs)
        timed = phase.seconds > 0
        total = phase.epochs * steps
        bar = _progress_bar(phase.seconds if timed else total, phase.name, "s" if timed else "it") \
            if progress else None
        self.encoder.train(phase.train_encoder)
        self.decoder.train()
        clock = _Clock(phase.seconds)
        it, epoch, next_eval = 0, 0, phase.seconds / 10
        try:
            while (timed or epoch < phase.epochs) and not clock.done:
                perm = self.train_idx[torch.randperm(n, generator=self.generator)].to(self.device)
                loss_sum = torch.zeros((), device=self.device)
                for s in range(steps):
                    f = lr_at(clock.fraction, phase.warmup) if timed else lr_factor(it, total, phase.warmup)
                    for g in opt.param_groups:
                        g["lr"] = phase.lr * f
                    loss_sum += self.step(opt, params, perm[s * bs:(s + 1) * bs], fixed, mask)
                    it += 1
                    if bar is not None:
                        bar.update(clock.tick() if timed else 1)
                    if clock.done:
                        break
                epoch += 1
                due = phase.eval_every and ((clock.elapsed >= next_eval or clock.done) if timed else
                                            (epoch % phase.eval_every == 0 or epoch == phase.epochs))
                if due:
                    next_eval += phase.seconds / 10
                    with clock.paused():
                        self._log_epoch(phase, epoch, float(loss_sum) / (s + 1), fixed, on_eval,
                                        self.seconds + clock.elapsed)
                if bar is not None:
                    last = self.history[-1]["psnr"] if self.history else float("nan")
                    bar.set_postfix(epoch=epoch if timed else f"{epoch}/{phase.epochs}",
                                    loss=f"{float(loss_sum) / (s + 1):.4f}", psnr=f"{last:.2f}")
        finally:
            self.seconds += clock.elapsed
            self.encoder.train()
            if bar is not None:
                bar.close()

    def _log_epoch(self, phase: Phase, epoch: int, loss: float, fixed: Fixed | None,
                   on_eval: Callable[[dict], None] | None, seconds: float) -> None:
        psnr = self.evaluate(with_msssim=False, frames=self.train_idx.tolist(), fixed=fixed)["psnr"]
        rec = {"epoch": epoch, "loss": loss, "psnr": psnr, "seconds": round(seconds, 3)}
        if phase.name != "fit":
            rec["phase"] = phase.name
        self.history.append(rec)
        if on_eval:
            on_eval(rec)

    def _to_device(self, fixed: Fixed | None) -> Fixed | None:
        if fixed is None:
            return None
        return fixed[0].to(self.device), fixed[1].to(self.device) if fixed[1] is not None else None

    # --------------------------------------------------------------------------------------
    @torch.no_grad()
    def encode_all(self, chunk: int = 8) -> tuple[torch.Tensor, torch.Tensor | None]:
        """Embeddings of every frame (and SNeRV(T)'s temporal embeddings), float32 on the CPU."""
        self.encoder.eval()
        outs, touts = [], []
        for i in range(0, self.data.n, chunk):
            idx = torch.arange(i, min(i + chunk, self.data.n), device=self.device)
            with autocast(self.device, self.precision):
                emb, temb = self._embed(self.data.batch(idx), idx, None)
            outs.append(emb.float())
            if temb is not None:
                touts.append(temb.float())
        self.encoder.train()
        temb = torch.cat(touts).contiguous().cpu() if touts else None
        return torch.cat(outs).contiguous().cpu(), temb

    def ll_range(self) -> torch.Tensor:
        """(T, 2) per-frame LL (min, max) the network normalises with; (T, 0) for HNeRV."""
        if not self.cfg.uses_dwt:
            return torch.zeros(self.data.n, 0)
        return torch.stack([self.data.ll_min, self.data.ll_max], dim=1).float().cpu()

    def _reference(self, idx: torch.Tensor, b) -> torch.Tensor:
        if self.reference is None:
            return crop_frames(b.frame, self.height, self.width)
        return self.reference[idx].float().mul_(1.0 / 255.0)

    @torch.no_grad()
    def evaluate(self, with_msssim: bool = True, chunk: int = 8, frames: Sequence[int] | None = None,
                 fixed: Fixed | None = None, decoder: nn.Module | None = None) -> dict:
        """PSNR (and MS-SSIM) of the float model on the original size, over ``frames`` (default: the
        whole clip), against the reference frames; with the encoder's embeddings or ``fixed`` ones,
        and this trainer's decoder or another."""
        dec = decoder or self.decoder
        was_training = self.encoder.training, dec.training
        self.encoder.eval()
        dec.eval()
        psnrs, msssims = [], []
        sel = torch.arange(self.data.n) if frames is None else torch.as_tensor(list(frames)).long()
        fixed = self._to_device(fixed)
        for i in range(0, len(sel), chunk):
            idx = sel[i:i + chunk].to(self.device)
            b, out = self._forward(idx, fixed, dec)
            rec = crop_frames(out.frame.clamp(0, 1), self.height, self.width)
            ref = self._reference(idx, b)
            psnrs.append(psnr_per_frame(rec, ref).cpu())
            if with_msssim:
                msssims.append(ms_ssim_per_frame(rec, ref)[0].cpu())
        self.encoder.train(was_training[0])
        dec.train(was_training[1])
        res = {"psnr": float(torch.cat(psnrs).mean())}
        if with_msssim:
            res["ms_ssim"] = float(torch.cat(msssims).mean())
        return res

    def result(self) -> FitResult:
        m = self.evaluate(with_msssim=True)
        dec = self.decoder.to(memory_format=torch.contiguous_format).float().cpu()
        emb, temb = self.encode_all()
        return FitResult(cfg=self.cfg, geometry=self.geo, decoder=dec, embeddings=emb, temporal=temb,
                         ll_range=self.ll_range(), psnr=m["psnr"], ms_ssim=m["ms_ssim"],
                         train_seconds=self.seconds, history=list(self.history), encoder=self.encoder,
                         precision=self.precision)
