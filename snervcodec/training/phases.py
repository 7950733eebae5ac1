"""Training as data: a run is a list of phases, each with its own optimiser, schedule and trainable
parts, all driven by one loop (:meth:`Trainer.run_phase`). After Cool-chic's ``TrainerPhase``.

The paper's recipe (Sec. 3.5, 4.1) is one ``fit`` phase: Adam at lr 1e-3, linear warm-up from
0.1x over the first ``warmup`` fraction of iterations, then cosine to 0. The encode pipeline adds a
``fine-tune`` phase after pruning: the decoder alone, on the already-quantised embeddings, pruned
weights held at zero, cosine from its own lr.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..errors import ConfigError
from .config import TrainConfig


@dataclass(frozen=True)
class Phase:
    name: str
    epochs: int
    lr: float
    warmup: float = 0.0  # fraction of the phase's iterations warming up linearly from 0.1x lr; then cosine to 0
    train_encoder: bool = True  # False: the decoder alone, on fixed embeddings given to the phase
    eval_every: int = 0  # epochs between PSNR evaluations on the training frames (0: none)
    seconds: float = 0.0  # > 0: the phase lasts this long (``epochs`` is then a cap) and its schedule follows the clock

    def __post_init__(self):
        if self.epochs < 0 or not self.lr > 0 or not 0.0 <= self.warmup < 1.0 or self.eval_every < 0 \
                or not self.seconds >= 0:
            raise ConfigError(f"invalid training phase {self}")


def fit_phase(tc: TrainConfig, lr_scale: float = 1.0, seconds: float = 0.0) -> Phase:
    """The paper's overfitting phase: encoder and decoder together, about ten evaluations."""
    return Phase("fit", tc.epochs, tc.lr * lr_scale, tc.warmup, True, tc.eval_every or max(1, tc.epochs // 10),
                 seconds)


def finetune_phase(epochs: int, lr: float, seconds: float = 0.0) -> Phase:
    """The decoder alone on fixed (quantised) embeddings, cosine from ``lr`` to 0."""
    return Phase("fine-tune", epochs, lr, 0.0, False, 0, seconds)


def split_time(total: float, epochs: int, finetune_epochs: int) -> tuple[float, float]:
    """Seconds for the fit and the fine-tune out of a time limit, in the ratio of their epochs."""
    share = finetune_epochs / max(epochs + finetune_epochs, 1)
    return total * (1 - share), total * share


def lr_at(fraction: float, warmup: float) -> float:
    """Multiplier of a timed phase's learning rate at ``fraction`` (0..1) of its time."""
    if fraction < warmup:
        return 0.1 + 0.9 * fraction / warmup
    t = (fraction - warmup) / (1 - warmup)
    return 0.5 * (1.0 + math.cos(math.pi * min(t, 1.0)))


def lr_factor(it: int, total: int, warmup: float) -> float:
    """Multiplier of a phase's learning rate at iteration ``it`` of ``total``."""
    n_warm = int(total * warmup)
    if it < n_warm:
        return 0.1 + 0.9 * it / max(n_warm, 1)
    if n_warm == 0:
        return 0.5 * (1.0 + math.cos(math.pi * it / max(total, 1)))
    t = (it - n_warm) / max(total - n_warm, 1)
    return 0.5 * (1.0 + math.cos(math.pi * t))
