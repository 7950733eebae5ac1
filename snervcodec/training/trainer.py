"""Overfit a network to one video (paper Sec. 3.5, 4.1): the trainer's state and its one loop.

Adam (0.9, 0.999), batch 1 on a CPU (8 on CUDA) with shuffled frames, gradient clipping at norm 1.0; the schedule and
what is trained come from a :class:`~.phases.Phase`. Every phase runs through :meth:`Trainer.step`.
The encoder is trained jointly; afterwards its outputs (the embeddings) are all that is kept of it.
"""

from __future__ import annotations

import math
from typing import Callable, Sequence

import numpy as np
import torch
import torch.nn as nn

from ..compress.prune import PruneMask
from ..device import autocast, on_device, resolve_device, resolve_precision
from ..errors import ConfigError
from ..metrics import SSIM_WIN
from ..models.config import ModelConfig
from ..models.geometry import Geometry
from ..models.registry import build_decoder, build_encoder
from ..models.synthesis import synthesize
from ..models.window import Region
from ..video.canvas import Canvas
from .config import TrainConfig, batch_lr_scale, resolve_batch_size
from .data import Fixed, FrameSet, reference_frames
from .evaluation import Evaluation
from .loss import snerv_loss
from .phases import Phase, fit_phase, lr_at, lr_factor
from .runtime import Clock, StepFunctions, TailMean, WithParams, adam, progress_bar

RDO_PARAM_LR = 1.0  # steps and rate models learn at the network's learning rate (at 10x they undo rate control)
PROGRESS_FRAMES = 16  # frames a progress evaluation reads (evenly spaced): about 1/8 of a Bunny pass
STALL_RESTARTS = 1  # fresh initialisations a fit may take when its MSE opening ends stalled (Trainer.run_phase)
RATE_UPDATES = 4  # lam updates per epoch at fixed steps: once an epoch, a 3-epoch phase ends 2-4% over budget


class Trainer(Evaluation):
    """Holds the data, networks and optimiser of one fit; :meth:`run` trains, :meth:`evaluate` measures
    (:class:`~.evaluation.Evaluation`)."""

    def __init__(self, frames: np.ndarray, cfg: ModelConfig, geo: Geometry, tcfg: TrainConfig,
                 device: str | torch.device = "auto", pad_mode: str = "replicate", ll_range_bits: int | None = None,
                 train_frames: Sequence[int] | None = None, known: np.ndarray | None = None,
                 reference: np.ndarray | None = None, canvas: Canvas | None = None):
        """``train_frames``: train on these frames only (interpolation: the others are held out;
        SNeRV(T)'s neighbours still come from the whole clip). ``known`` (T, H, W) bool: pixels the
        loss may see (in-painting). ``reference``: frames :meth:`evaluate` compares against
        (default ``frames``; in-painting passes the unmasked originals). ``canvas``: the network
        draws this canvas (``geo`` is the canvas's), each frame's loss over its own window (or, for
        warped views, on its view sampled from the canvas), and is measured on the windows or views
        (:mod:`~..video.canvas`, :mod:`~..video.warp`)."""
        self.device = device if isinstance(device, torch.device) else resolve_device(device)
        self.precision = resolve_precision(tcfg.precision, self.device)
        self.cfg, self.geo, self.tcfg = cfg, geo, tcfg
        self.height, self.width = frames.shape[1:3]
        self.windows = None  # (T, 2) offsets of the frames on the canvas, or None
        self.warps = None  # (T, 4) warps of the frames' views of the canvas, (T, 12) with an object layer, or None
        if canvas is not None:
            if known is not None or reference is not None:
                raise ConfigError("a canvas is trained on its frames' windows or views (no in-painting mask or "
                                  "reference)")
            if canvas.warps is not None:
                self.warps = torch.from_numpy(canvas.views)
            else:
                self.windows = torch.from_numpy(canvas.offsets)
            reference, (frames, known) = frames, canvas.paint(frames)
        self.reference = reference_frames(reference, frames.shape if canvas is None else reference.shape, self.device)
        torch.manual_seed(tcfg.seed)
        self.data = FrameSet(frames, geo, self.device, uses_dwt=cfg.uses_dwt, pad_mode=pad_mode,
                             ll_range_bits=ll_range_bits, temporal=cfg.temporal, known=known,
                             views=None if self.warps is None else (self.reference, self.warps.numpy()))
        n = self.data.n
        self.train_idx = torch.arange(n) if train_frames is None else torch.as_tensor(list(train_frames)).long()
        if len(self.train_idx) == 0 or int(self.train_idx.min()) < 0 or int(self.train_idx.max()) >= n:
            raise ConfigError("train_frames must be a non-empty subset of the clip's frames")
        cl = tcfg.channels_last and self.device.type != "mps"
        self.channels_last = cl
        self.encoder = on_device(build_encoder(cfg), self.device, cl)
        self.decoder = on_device(build_decoder(cfg), self.device, cl)
        self.fns = StepFunctions(self.encoder, self.decoder, snerv_loss, tcfg.compile)  # what a step calls
        self.generator = torch.Generator().manual_seed(tcfg.seed)
        self.batch_size = resolve_batch_size(tcfg, self.device.type)
        self.lr_scale = batch_lr_scale(tcfg, self.batch_size)  # for every phase's lr
        self.history: list[dict] = []
        self.seconds = 0.0
        self.models: nn.Module | None = None  # the entropy models quantised phases train (entropy.EntropyModels)
        self._rate = None  # the running quantised phase's rate controller (codec.ratecontrol.RateController)
        self._qmasks: dict[str, torch.Tensor] | None = None
        self._wbits = None  # the last measured step's estimate of the weights' bits
        self._steps_taken, self._emb_bits_at = 0, (-1, 0.0)  # the embeddings' estimate, by the step it was made at
        self.psnr_now: float | None = None  # the phase's last evaluation (every frame), until a step follows
        self.restarts = 0  # fresh initialisations after a stalled MSE opening (STALL_RESTARTS at most)
        self.warm = False  # True: started from given weights (--warm-start), which a stall check keeps
        self._moments: dict = {}  # with tcfg.carry_moments: the last phase's Adam state by network parameter

    def attach(self, models: nn.Module) -> nn.Module:
        """Start quantisation-aware training with these entropy models (weights ``.weights``,
        embeddings ``.emb`` and ``.temb``: :class:`~..entropy.models.EntropyModels`), on the device."""
        self.models = models.to(self.device)
        return self.models

    # --------------------------------------------------------------------------------------
    def _cl(self, x: torch.Tensor | None) -> torch.Tensor | None:
        return x.contiguous(memory_format=torch.channels_last) if self.channels_last and x is not None else x

    def _embed(self, b, idx: torch.Tensor, fixed: Fixed | None, encoder: nn.Module | None = None):
        """Embeddings of a batch: the encoder's output, or the phase's fixed (quantised) values."""
        if fixed is None:
            out = (self.encoder if encoder is None else encoder)(*(self._cl(x) for x in b.enc_inputs))
            return out if isinstance(out, tuple) else (out, None)
        emb, temb = fixed
        return self._cl(emb[idx]), self._cl(temb[idx]) if temb is not None else None

    def _forward(self, idx: torch.Tensor, fixed: Fixed | None = None, decoder: nn.Module | None = None,
                 quant: str | None = None, measure: bool = True, step: bool = False, window: Region | None = None):
        """(batch, synthesis, estimated weight bits, estimated embedding bits of the batch); the bits
        are 0 unless ``quant`` runs the network with quantised weights (and embeddings, when they
        come from the encoder). ``step``: through the step's (possibly compiled) functions. ``window``:
        the part of the network's grid to draw (:func:`~..models.synthesis.synthesize`)."""
        b = self.data.batch(idx)
        wbits = ebits = 0.0
        with autocast(self.device, self.precision):
            emb, temb = self._embed(b, idx, fixed, self.fns.encoder if step else None)
            dec = decoder or self.decoder
            if quant is not None:
                if fixed is None:
                    emb, ebits = self.models.emb(emb, quant, idx)
                    if temb is not None:
                        temb, tbits = self.models.temb(temb, quant, idx)
                        ebits = ebits + tbits
                qparams, wbits = self.models.weights(dec, quant, self._qmasks, measure)
                dec = self.fns.with_params(dec, qparams) if step else WithParams(dec, qparams)
            elif step:
                dec = self.fns.decoder
            out = synthesize(dec, self.cfg, emb, b.ll_min, b.ll_max, temb, b.times, window)
        return b, out, wbits, ebits

    def step(self, opt: torch.optim.Optimizer, params: list[torch.Tensor], idx: torch.Tensor,
             fixed: Fixed | None = None, mask: PruneMask | None = None, quant: str | None = None,
             measure: bool = True, tune: str | None = None, window: Region | None = None) -> torch.Tensor:
        """One optimisation step of every phase: forward, loss (+ lam x estimated bpp when
        quantised), backward, (masked) clipped update. Returns the distortion term on the device (no
        host synchronisation). ``measure``: also estimate the rounded weights' bits (the noise and
        mixed quantisers train on noisy symbols' bits; rate control reads the last step's rounded ones).
        ``tune``: the distortion (default the run's). ``window``: the part of the grid to draw
        (:meth:`step_window`; None: all of it)."""
        self.fns.begin_step()
        self._steps_taken += 1
        b, out, wbits, ebits = self._forward(idx, fixed, quant=quant, measure=measure, step=True, window=window)
        loss = self.fns.loss(out, b.cut(out.region), self.tcfg.loss_weights, tune or self.tcfg.tune)
        total = loss
        if quant is not None:
            pixels = self.height * self.width
            total = loss + self._rate.lam * (wbits / (self.data.n * pixels) + ebits / (len(idx) * pixels))
            if measure:
                self._wbits = self.models.weights.coded_bits
        opt.zero_grad(set_to_none=True)
        total.backward()
        if mask is not None:
            mask.mask_gradients(self.decoder)
        if self.tcfg.grad_clip > 0:
            torch.nn.utils.clip_grad_norm_(params, self.tcfg.grad_clip)
        opt.step()
        if mask is not None:
            mask.apply(self.decoder)
        return loss.detach()

    def step_window(self, idx: torch.Tensor) -> Region | None:
        """What a training step on frames ``idx`` (on the CPU) draws: :meth:`loss_window` on a canvas of
        windows (a pan: the window keeps its shape), all of the grid for warped views (a turn's window saves
        too little: its encodes took 1.2-1.5x as long with windows; docs/design-notes.md
        "Drawing only what the views read") or where steps are compiled (a new shape compiles again)."""
        return self.loss_window(idx) if self.fns.mode == "off" and self.warps is None else None

    def loss_window(self, idx: torch.Tensor) -> Region | None:
        """The part of the canvas the loss of frames ``idx`` (on the CPU) reads: every tap of their views and
        every known pixel, so the loss and its gradient are the whole canvas's for a share of the work
        (:mod:`~..models.window`). None (all of it) without a canvas or where SSIM's window would not fit
        (at least 11 pixels of the LL grid a side)."""
        w = self.window(idx)
        if w is None:
            return None
        k = self.data.known_boxes[idx]
        r = Region(min(w.top, int(k[:, 0].min())), min(w.left, int(k[:, 1].min())),
                   max(w.bottom, int(k[:, 2].max())), max(w.right, int(k[:, 3].max())))
        return r if min(r.bottom - r.top, r.right - r.left) >= 2 * SSIM_WIN else None

    def run(self, progress: bool = True, on_eval: Callable[[dict], None] | None = None,
            seconds: float | None = None) -> None:
        """The paper's overfitting phase (:func:`fit_phase`); ``seconds`` lays it out over time."""
        t = self.tcfg.time_limit if seconds is None else seconds
        self.run_phase(fit_phase(self.tcfg, self.lr_scale, t), progress=progress, on_eval=on_eval)

    def run_phase(self, phase: Phase, fixed: Fixed | None = None, mask: PruneMask | None = None,
                  progress: bool = False, on_eval: Callable[[dict], None] | None = None,
                  rate=None) -> None:
        """Train one phase: an Adam over its trainable parts (fresh, or from the last phase's moments:
        :meth:`_optimiser`), its schedule, shuffled frames.

        ``fixed``: (embeddings, temporal embeddings) for phases that do not train the encoder;
        ``mask``: pruned weights stay exactly zero (their gradients are zeroed before clipping).
        A timed phase (``phase.seconds``) runs its schedule on the clock and stops on time. Nothing
        in the step loop waits for the device: losses add up on it and are read once per epoch.

        Quantised phases (``phase.quant``) need :meth:`attach` first, train the entropy models too,
        and take their rate weight from ``rate`` (a :class:`~..codec.ratecontrol.RateController`),
        which the loop calls after each epoch (every 1/RATE_UPDATES at fixed steps) to steer the
        estimated rate onto its target, when it has one.

        A phase that opens on MSE (``phase.mse_until``, by epochs) checks the network when the opening
        ends: below the PSNR of the clip's mean frame it has not begun to tell frames apart (a stall
        that depends on the initialisation: pan-fast at 0.2 bpp, seed 0 stalls at 21 dB, seed 1 reaches
        28), so it starts again from a fresh initialisation, at most :data:`STALL_RESTARTS` times."""
        while self._run_phase(phase, fixed, mask, progress, on_eval, rate):
            self.restarts += 1
            self._initialise(self.tcfg.seed + self.restarts)

    def _run_phase(self, phase: Phase, fixed: Fixed | None, mask: PruneMask | None, progress: bool,
                   on_eval: Callable[[dict], None] | None, rate) -> bool:
        """One attempt at :meth:`run_phase`; True when it stopped stalled at the end of its MSE opening."""
        self.psnr_now = None
        if phase.epochs <= 0 and not phase.seconds:
            return False
        fixed, params, opt = self._start_phase(phase, fixed, mask, rate)
        quant = None if phase.quant == "none" else phase.quant
        n, bs, timed = len(self.train_idx), self.batch_size, phase.seconds > 0
        steps = math.ceil(n / bs)
        total = phase.epochs * steps
        bar = progress_bar(phase.seconds if timed else total, phase.name, "s" if timed else "it") \
            if progress else None
        self.decoder.train()
        clock = Clock(phase.seconds)
        it, epoch, next_eval = 0, 0, phase.seconds / 10
        steering = quant is not None and rate.steers
        every = steps if phase.train_steps or not steering else max(1, steps // RATE_UPDATES)
        guard = phase.mse_until > 0 and not timed and not self.warm and self.restarts < STALL_RESTARTS
        stalled, mean = False, TailMean(params, phase.average)
        try:
            while (timed or epoch < phase.epochs) and not clock.done:
                order = self.train_idx[torch.randperm(n, generator=self.generator)]  # on the CPU: windows
                perm = order.to(self.device)
                loss_sum, self.psnr_now = torch.zeros((), device=self.device), None
                for s in range(steps):
                    done, f = _schedule(phase, clock, it, total, timed)
                    tune = "psnr" if done < phase.mse_until else None
                    if guard and tune is None:
                        guard = False
                        stalled = self._stalled(phase, epoch, on_eval)
                        if stalled:
                            break
                    for g in opt.param_groups:
                        g["lr"] = g["base_lr"] * f
                    follow = quant is not None and (s + 1) % every == 0 and s < steps - 1  # mid-epoch
                    loss_sum += self.step(opt, params, perm[s * bs:(s + 1) * bs], fixed, mask, quant,
                                          s == steps - 1 or timed or follow, tune,
                                          self.step_window(order[s * bs:(s + 1) * bs]))
                    it += 1
                    mean.add(done)
                    if bar is not None:
                        bar.update(clock.tick() if timed else 1)
                    if clock.done:
                        break
                    if follow:
                        self._follow_rate(fixed is None, phase.train_steps)
                if stalled:
                    break
                epoch += 1
                if steering and not (clock.done if timed else epoch >= phase.epochs):
                    self._follow_rate(fixed is None, phase.train_steps)  # not after the last
                due = phase.eval_every and ((clock.elapsed >= next_eval or clock.done) if timed else
                                            (epoch % phase.eval_every == 0 or epoch == phase.epochs))
                if due:
                    next_eval += phase.seconds / 10
                    self._log_epoch(phase, epoch, float(loss_sum) / (s + 1), fixed, on_eval,
                                    self.seconds + clock.elapsed, clock.done if timed else epoch >= phase.epochs, mean)
                if bar is not None:
                    shown = self.history[-1]["psnr"] if self.history else float("nan")
                    bar.set_postfix(epoch=epoch if timed else f"{epoch}/{phase.epochs}",
                                    loss=f"{float(loss_sum) / (s + 1):.4f}", psnr=f"{shown:.2f}")
            mean.load()  # (once: a last evaluation has loaded it; after a stall the next start overwrites it)
            self._keep_moments(opt, params, stalled)
        finally:
            self.seconds += clock.elapsed
            self.encoder.train()
            if bar is not None:
                bar.close()
        return stalled

    def _keep_moments(self, opt: torch.optim.Optimizer, params: list[torch.Tensor], stalled: bool) -> None:
        """With ``tcfg.carry_moments``, the network's Adam moments for the next phase that runs (none from
        a stalled attempt, whose weights a fresh initialisation replaces)."""
        if self.tcfg.carry_moments and not stalled:
            self._moments = {p: opt.state[p] for p in params if p in opt.state}

    def _stalled(self, phase: Phase, epoch: int, on_eval: Callable[[dict], None] | None) -> bool:
        """Whether the network, at the end of the phase's MSE opening, is below the PSNR of the clip's
        mean frame (over the progress frames); recorded in the history when it is."""
        idx = self.train_idx[::-(-len(self.train_idx) // PROGRESS_FRAMES)]
        psnr = self.evaluate(with_msssim=False, frames=idx.tolist())["psnr"]
        floor = self.mean_frame_psnr(idx)
        if psnr >= floor:
            return False
        rec = {"epoch": epoch, "psnr": psnr, "seconds": round(self.seconds, 3), "frames": len(idx),
               "restart": f"stalled below the mean frame's {floor:.2f} dB: a fresh initialisation"}
        self.history.append(rec | ({} if phase.name == "fit" else {"phase": phase.name}))
        if on_eval:
            on_eval(self.history[-1])
        return True

    def _initialise(self, seed: int) -> None:
        """Fresh weights for the encoder and decoder from ``seed``, in place (the step functions keep
        their modules)."""
        torch.manual_seed(seed)
        self.encoder.load_state_dict(build_encoder(self.cfg).state_dict())
        self.decoder.load_state_dict(build_decoder(self.cfg).state_dict())

    def _start_phase(self, phase: Phase, fixed: Fixed | None, mask: PruneMask | None, rate):
        """Check what the phase needs; (its fixed embeddings on the device, its parameters, its optimiser)."""
        if not phase.train_encoder and fixed is None:
            raise ConfigError(f"phase {phase.name} trains the decoder alone and needs fixed embeddings")
        if phase.quant != "none" and rate is None:
            raise ConfigError(f"phase {phase.name} quantises and needs a rate controller")
        self._rate = rate
        params, opt = self._optimiser(phase, mask)
        self.encoder.train(phase.train_encoder)
        return self._to_device(fixed), params, opt

    def estimated_bits(self, fixed_bits: float | None = None) -> float:
        """The estimated bits of the rounded symbols: the decoder weights' (last measured step) plus
        ``fixed_bits`` for fixed embeddings, or what the coder would write for the embeddings of the
        encoder as it stands (:meth:`~..entropy.models.EntropyModels.clip_bits`, one pass a step;
        docs/design-notes.md "Rate control steers by the rate the coder writes")."""
        w = float(self._wbits) if self._wbits is not None else 0.0
        if fixed_bits is not None:
            return w + fixed_bits
        if self._emb_bits_at[0] != self._steps_taken:  # (rate control and the epoch's evaluation share one pass)
            self._emb_bits_at = (self._steps_taken, self.models.clip_bits(*self.encode_all()))
        return w + self._emb_bits_at[1]

    def _follow_rate(self, embeddings: bool, move_steps: bool) -> None:
        """Hand the rate controller the estimate and the groups it may move (the embeddings' only
        while the encoder trains; no steps at all in a phase at fixed steps)."""
        m = self.models
        groups = [m.weights] + ([g for g in (m.emb, m.temb) if g is not None] if embeddings else [])
        self._rate.follow(self.estimated_bits(None if embeddings else self._rate.fixed_bits), groups, move_steps)

    def _optimiser(self, phase: Phase, mask: PruneMask | None) -> tuple[list[torch.Tensor], torch.optim.Optimizer]:
        """(the network parameters the phase clips, an Adam over them and, in quantised phases, over
        the steps and rate models at RDO_PARAM_LR x the phase's lr). Fresh, or with ``phase.carry_moments``
        from the last phase's moments of the network (:meth:`_keep_moments`; the steps and rate models
        start fresh): a fresh Adam's first step moves every weight by about the learning rate."""
        params = (list(self.encoder.parameters()) if phase.train_encoder else []) + list(self.decoder.parameters())
        groups = [{"params": params, "base_lr": phase.lr}]
        if phase.quant != "none":
            if self.models is None:
                raise ConfigError(f"phase {phase.name} quantises and needs attach() first")
            rdo = [p for n, p in self.models.named_parameters() if phase.train_steps or not n.endswith("log_step")]
            groups.append({"params": rdo, "base_lr": phase.lr * RDO_PARAM_LR})
            self._qmasks = ({n: m.to(self.device, torch.float32) for n, m in mask.masks.items()}
                            if mask is not None else None)
        opt = adam(groups, self.tcfg.betas, self.device)
        if phase.carry_moments:
            for p in params:
                if p in self._moments:
                    opt.state[p] = {k: v.clone() for k, v in self._moments[p].items()}
        return params, opt

    def _log_epoch(self, phase: Phase, epoch: int, loss: float, fixed: Fixed | None,
                   on_eval: Callable[[dict], None] | None, seconds: float, last: bool = True,
                   mean: TailMean | None = None) -> None:
        """Evaluate and record: a phase's last evaluation over every training frame (:attr:`psnr_now`),
        of the weights it ends on (``mean`` loaded), the progress ones before it over an even subsample of
        :data:`PROGRESS_FRAMES` (``frames``)."""
        if last and mean is not None:
            mean.load()
        quant = "ste" if phase.quant != "none" else None
        idx = self.train_idx if last else self.train_idx[::-(-len(self.train_idx) // PROGRESS_FRAMES)]
        psnr = self.evaluate(with_msssim=False, frames=idx.tolist(), fixed=fixed, quant=quant)["psnr"]
        rec = {"epoch": epoch, "loss": loss, "psnr": psnr, "seconds": round(seconds, 3)} | \
            ({} if phase.name == "fit" else {"phase": phase.name}) | ({} if last else {"frames": len(idx)})
        self.psnr_now = psnr if last else None
        if quant is not None:
            rec["lambda"] = self._rate.lam
            rec["estimated_bits"] = round(self.estimated_bits(self._rate.fixed_bits if fixed is not None else None), 1)
        self.history.append(rec)
        if on_eval:
            on_eval(rec)

    def _to_device(self, fixed: Fixed | None) -> Fixed | None:
        return None if fixed is None else (fixed[0].to(self.device), fixed[1].to(self.device)
                                           if fixed[1] is not None else None)


def _schedule(phase: Phase, clock: Clock, it: int, total: int, timed: bool) -> tuple[float, float]:
    """How far a phase has come (a fraction of its clock or of its steps) and its learning-rate factor there."""
    if timed:
        done = clock.fraction
        return done, lr_at(done, phase.warmup, phase.span)
    return it / max(total, 1), lr_factor(it, total, phase.warmup, phase.span)
