"""What a fit hands back (``snerv fit``, the Python API's :func:`~snervcodec.api.fit`)."""

from __future__ import annotations

from dataclasses import dataclass, field

import torch
import torch.nn as nn

from ..models.config import ModelConfig
from ..models.geometry import Geometry


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
