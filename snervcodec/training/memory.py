"""Will training fit? An estimate of an encode's memory from the architecture alone, checked before
any frame is padded or any weight allocated, so that an impossible size (``--strides 8,8,8,8,8``, a
huge ``--params``) is one line at once instead of an allocation failure or swap after minutes."""

from __future__ import annotations

import os

import torch

from ..errors import ConfigError
from ..models import ModelConfig, decoder_params
from ..models.footprint import activation_elements
from ..models.geometry import Geometry
from .config import TrainConfig, resolve_batch_size

# Per padded pixel and frame, the clip as FrameSet holds it: uint8 RGB, int16 LL and high bands, and
# the normalised LL (float32) -- about 12 bytes (HNeRV holds less; the estimate stays conservative).
DATA_BYTES_PER_PIXEL = 12
# Per activation element: float32 kept for the backward pass and its gradient, plus the encoder,
# whose activations are of the decoder's order (a factor, not a measurement of every model).
ACTIVATION_BYTES = 3 * 4
PARAM_BYTES = 4 * 4  # weight, gradient and Adam's two moments


def training_bytes(cfg: ModelConfig, geo: Geometry, n_frames: int, batch_size: int) -> int:
    """Estimated peak bytes of training ``cfg`` on ``n_frames`` frames, ``batch_size`` per step."""
    ph, pw = geo.padded_hw
    return (n_frames * ph * pw * DATA_BYTES_PER_PIXEL + batch_size * activation_elements(cfg) * ACTIVATION_BYTES
            + decoder_params(cfg) * PARAM_BYTES)


def device_memory(device: torch.device) -> int | None:
    """Total memory of ``device`` in bytes (None when unknown)."""
    try:
        if device.type == "cuda":
            return int(torch.cuda.get_device_properties(device).total_memory)
        if device.type == "cpu":
            return int(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (ValueError, OSError, RuntimeError, AttributeError):
        return None
    return None


def check_training_memory(cfg: ModelConfig, geo: Geometry, n_frames: int, tcfg: TrainConfig,
                          device: torch.device) -> int:
    """Raise ConfigError when the estimate exceeds the device's memory; return the estimate."""
    batch = resolve_batch_size(tcfg, device.type)
    need = training_bytes(cfg, geo, n_frames, batch)
    have = device_memory(device)
    if have is not None and need > have:
        raise ConfigError(f"training this model needs about {need / 2**30:.1f} GiB ({n_frames} frames of "
                          f"{geo.padded_hw[0]}x{geo.padded_hw[1]}, batch {batch}, {decoder_params(cfg):,} "
                          f"parameters); {device.type} has {have / 2**30:.1f} GiB: use fewer frames, a smaller "
                          "--size, a smaller model or batch")
    return need
