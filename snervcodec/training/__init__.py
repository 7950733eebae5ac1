"""Overfitting a network to a video: configuration, targets, loss and the training loop."""

from .config import PRESETS, TrainConfig, make_train_config
from .phases import Phase, finetune_phase, fit_phase
from .result import FitResult
from .trainer import Trainer

__all__ = ["PRESETS", "FitResult", "Phase", "TrainConfig", "Trainer", "finetune_phase", "fit_phase",
           "make_train_config"]
