"""Training as data: a run is a list of phases, each with its own optimiser, schedule and trainable
parts, all driven by one loop (:meth:`Trainer.run_phase`). After Cool-chic's ``TrainerPhase``.

The paper's recipe (Sec. 3.5, 4.1) is one ``fit`` phase: Adam at lr 1e-3, linear warm-up from
0.1x over the first ``warmup`` fraction of iterations, then cosine to 0. The paper pipeline adds a
``fine-tune`` phase after pruning: the decoder alone, on the already-quantised embeddings, pruned
weights held at zero, cosine from its own lr. The rdo pipeline (the default) runs fit, qat-noise and
qat-ste (:func:`rdo_phases`), its fit and noise phases stopping half-way down their cosines
(:data:`RDO_LR_SCHEDULE`), its noise phase training on rounded values with the rate on noise (:data:`RDO_QAT_PROXY`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from ..errors import ConfigError
from .config import TrainConfig


@dataclass(frozen=True, kw_only=True)
class Phase:
    """One phase of a training run, by keyword: ``Phase(name="fit", epochs=20, lr=1e-3)``."""

    name: str
    epochs: int
    lr: float
    warmup: float = 0.0  # fraction of the phase's iterations warming up linearly from 0.1x lr; then the cosine
    train_encoder: bool = True  # False: the decoder alone, on fixed embeddings given to the phase
    eval_every: int = 0  # epochs between PSNR evaluations on the training frames (0: none)
    seconds: float = 0.0  # > 0: the phase lasts this long (``epochs`` is then a cap) and its schedule follows the clock
    quant: Literal["none", "noise", "ste", "mixed"] = "none"  # quantiser in the loop (compress.qat); "none": float
    mse_until: float = 0.0  # fraction of the phase's iterations (or clock) on MSE alone, then the run's tune
    train_steps: bool = True  # quantised phases: the steps learn (and rate control moves them); False: they
    # stay where the phase finds them (on the coder's grid), so that what it trains is what is coded
    span: tuple[float, float] = (0.0, 1.0)  # the stretch of one cosine (0: peak, 1: zero) the phase runs over
    # after its warm-up: (0, 1) is a cosine of its own; rdo's lr_schedule "one" gives each phase its share
    average: float = 0.0  # > 0: the phase ends on the mean of its weights over this last fraction of it
    carry_moments: bool = False  # Adam starts from the last phase's moments (of the parameters both train)

    def __post_init__(self):
        if self.epochs < 0 or not self.lr > 0 or not 0.0 <= self.warmup < 1.0 or self.eval_every < 0 \
                or not self.seconds >= 0 or self.quant not in ("none", "noise", "ste", "mixed") \
                or not 0.0 <= self.mse_until <= 1.0 or not 0.0 <= self.span[0] < self.span[1] <= 1.0 \
                or not 0.0 <= self.average < 1.0:
            raise ConfigError(f"invalid training phase {self}")


def fit_phase(tc: TrainConfig, lr_scale: float = 1.0, seconds: float = 0.0) -> Phase:
    """The paper's overfitting phase: encoder and decoder together, about ten evaluations."""
    return Phase(name="fit", epochs=tc.epochs, lr=tc.lr * lr_scale, warmup=tc.warmup,
                 eval_every=tc.eval_every or max(1, tc.epochs // 10), seconds=seconds, mse_until=tc.mse_start)


def finetune_phase(epochs: int, lr: float, seconds: float = 0.0) -> Phase:
    """The decoder alone on fixed (quantised) embeddings, cosine from ``lr`` to 0."""
    return Phase(name="fine-tune", epochs=epochs, lr=lr, train_encoder=False, seconds=seconds)


def rdo_phases(tc: TrainConfig, finetune_epochs: int, lr_scale: float = 1.0,
               seconds: float = 0.0) -> list[Phase]:
    """The rate-distortion-optimised recipe in the epochs (or seconds) the paper's pipeline spends on
    fit + fine-tune: a float fit; after pruning, encoder and decoder quantised (``tc.qat_proxy``) with the
    rate term; then the decoder alone on the coded embeddings with exact (straight-through) rounding
    at fixed steps (the coded ones: re-rounding a network trained to its rounding costs dB).
    Shares ``tc.phase_shares`` (default 50% / 35% / 15%); the fit at ``tc.lr`` (the rdo default is
    :data:`RDO_LR`), the quantised phases at ``tc.qat_lr`` of it; ``tc.lr_schedule`` sets each phase's
    stretch of the cosine; ``tc.fit_average`` ends the fit on the mean of its last weights;
    ``tc.qat_proxy`` is the second phase's quantiser (noise, or "mixed": rounded values, the rate on noise);
    ``tc.carry_moments`` starts the quantised phases' Adam from the previous phase's moments.
    docs/design-notes.md "Phase shares and the last phase", "Learning rate" and "Schedule: the fit
    stops half-way" have the measurements behind them."""
    total, shares = tc.epochs + finetune_epochs, tc.phase_shares
    fit = max(1, round(shares[0] * total)) if total else 0
    ste = max(1, round(shares[2] * total)) if total > 2 else 0
    fit = min(fit, max(1, total - ste))  # shares near the edges never overrun the run
    noise = max(0, total - fit - ste)
    sec = [seconds * f for f in shares]
    eval_every = tc.eval_every or max(1, total // 10)
    lr = tc.lr * lr_scale if lr_scale == 1.0 else min(tc.lr * lr_scale, RDO_MAX_BATCHED_LR)
    qlr = lr * tc.qat_lr
    spans = [(0.0, 1.0)] * 3
    if tc.lr_schedule == "one":  # one cosine over the run, cut where the phases meet
        cuts = [0.0, fit / total, (fit + noise) / total, 1.0] if not seconds and total else \
            [0.0, shares[0], shares[0] + shares[1], 1.0]
        spans = [(a, b) if b > a else (0.0, 1.0) for a, b in zip(cuts, cuts[1:])]
    elif tc.lr_schedule in ("open-fit", "open"):  # the fit stops half-way; with "open" the noise phase too
        spans[0] = (0.0, 0.5)
        if tc.lr_schedule == "open":
            spans[1] = (0.0, 0.5)
    return [Phase(name="fit", epochs=fit, lr=lr, warmup=tc.warmup, eval_every=eval_every, seconds=sec[0],
                  mse_until=tc.mse_start, span=spans[0], average=tc.fit_average),
            Phase(name="qat-noise", epochs=noise, lr=qlr, eval_every=eval_every, seconds=sec[1], quant=tc.qat_proxy,
                  span=spans[1], carry_moments=tc.carry_moments),
            Phase(name="qat-ste", epochs=ste, lr=qlr, train_encoder=False, eval_every=eval_every, seconds=sec[2],
                  quant="ste", train_steps=False, span=spans[2], carry_moments=tc.carry_moments)]


# The distortion the rdo pipeline trains on (training/loss.py) and the share of its fit phase that opens
# on MSE alone. On the dev set (8 clips x 0.05 / 0.1 / 0.2 bpp, 20 epochs), against the paper's loss
# alone: BD-PSNR median +0.89 dB (better on 6 of 8 clips, worst flat-drift -1.35 dB), BD-MS-SSIM median
# +0.007 (worst -0.018); the paper's L1 and SSIM terms held young networks at a flat image for up to 8
# epochs on motion (docs/design-notes.md "Distortion: --tune").
RDO_TUNE = "mixed"
RDO_MSE_START = 0.4
# The rdo fit's cosine stops half-way, at half its peak, instead of annealing to zero before pruning and
# rounding (lr_schedule "open-fit"); the quantised phases keep a cosine each. On the dev set (0.1 bpp, 20
# epochs) against a cosine per phase: +0.79 dB median, better on all 8 clips (the least: pan-fast +0.17),
# BD-rate over 0.05-0.2 bpp -27% median, -20% worst; one cosine over all three phases gained less (+0.26 dB
# median at 0.1 bpp); docs/design-notes.md "Schedule: the fit stops half-way". The noise phase's cosine
# stops half-way too ("open"), only the last phase annealing to zero: against "open-fit" (dev set, 20
# epochs, mixed quantisation, the same float fit) BD-rate -12.0% median over 0.05-0.2 bpp, 21 of 24 points
# higher; worst pan-fast (+16.9%: -0.11..+0.02 dB on a flat curve);
# docs/design-notes.md "The noise phase stops half-way too".
RDO_LR_SCHEDULE = "open"
# The rdo noise phase trains on its weights and embeddings rounded (straight-through) and prices the rate
# on noisy symbols ("mixed", after Minnen & Singh 2020), instead of adding noise to both: the network
# learns what will be coded from the first quantised step. On the dev set (20 epochs, against the noise
# proxy, the same float fit): better on all 8 clips at 0.1 bpp (median +0.19 dB, least +0.11), BD-rate
# over 0.05-0.2 bpp -8.4% median, -3.5% worst clip (21 of 24 points higher, the others within 0.03 dB);
# docs/design-notes.md "Quantised phases: what the noise phase trains on".
RDO_QAT_PROXY = "mixed"
# Peak learning rate of the rdo pipeline at batch 1: on carphone (120 frames, 10 and 20 epochs,
# 0.1 bpp) 4e-3 beat 1e-3 / 2e-3 by 0.4-2 dB and 8e-3 diverged; the paper pipeline keeps the paper's 1e-3.
RDO_LR = 4e-3
# ... measured stable up to 357K decoder parameters (Bunny 192x384, 0.1 bpp); a 740K decoder (0.2 bpp)
# diverged in its float fit, a 543K one reached 26.03 dB at 4e-3 against 29.23 at 2.5e-3 (0.2 bpp).
# Larger decoders get RDO_LR x (RDO_LR_PARAMS / params)^1.5 (740K: 1.6e-3, 543K: 2.5e-3),
# never less than the paper's 1e-3 (its recipe for every size, up to its 3M-parameter models).
RDO_LR_PARAMS = 400_000
PAPER_LR = 1e-3


def rdo_lr(decoder_params: int) -> float:
    """The rdo pipeline's peak learning rate at batch 1 for a decoder of this size."""
    return max(PAPER_LR, RDO_LR * min(1.0, (RDO_LR_PARAMS / max(decoder_params, 1)) ** 1.5))
# Above batch 1 (GPUs) no higher peak than the paper pipeline's measured-stable 1e-3 x sqrt(8) until a
# GPU study of the rdo pipeline says otherwise (batch 16 at 4e-3 collapsed in the paper pipeline).
RDO_MAX_BATCHED_LR = 1e-3 * 8 ** 0.5


def split_time(total: float, epochs: int, finetune_epochs: int) -> tuple[float, float]:
    """Seconds for the fit and the fine-tune out of a time limit, in the ratio of their epochs."""
    share = finetune_epochs / max(epochs + finetune_epochs, 1)
    return total * (1 - share), total * share


def _cosine(angle: float, span: tuple[float, float]) -> float:
    """The cosine from 1 down to 0 at ``angle`` (0..pi) of the phase, which runs over ``span`` of it
    (with the span (0, 1) the angle is taken as it is, to the bit)."""
    return 0.5 * (1.0 + math.cos(math.pi * span[0] + (span[1] - span[0]) * angle))


def lr_at(fraction: float, warmup: float, span: tuple[float, float] = (0.0, 1.0)) -> float:
    """Multiplier of a timed phase's learning rate at ``fraction`` (0..1) of its time."""
    if fraction < warmup:
        return 0.1 + 0.9 * fraction / warmup
    t = (fraction - warmup) / (1 - warmup)
    return _cosine(math.pi * min(t, 1.0), span)


def lr_factor(it: int, total: int, warmup: float, span: tuple[float, float] = (0.0, 1.0)) -> float:
    """Multiplier of a phase's learning rate at iteration ``it`` of ``total``."""
    n_warm = int(total * warmup)
    if it < n_warm:
        return 0.1 + 0.9 * it / max(n_warm, 1)
    if n_warm == 0:
        return _cosine(math.pi * it / max(total, 1), span)
    t = (it - n_warm) / max(total - n_warm, 1)
    return _cosine(math.pi * t, span)
