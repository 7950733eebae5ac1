"""Overfitting a network to a video: configuration, targets, loss and the training loop."""

from .config import PRESETS, TrainConfig, make_train_config
from .trainer import FitResult, Trainer

__all__ = ["PRESETS", "FitResult", "TrainConfig", "Trainer", "make_train_config"]
