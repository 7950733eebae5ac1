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


# What holding a clip costs per pixel and frame, besides the network: the decoded RGB frames and a
# resized copy on the host, the padded targets (DATA_BYTES_PER_PIXEL) on the training device.
HOST_BYTES_PER_PIXEL = 6
CLIP_MEMORY_SHARE = 0.5  # of the smaller of host and device memory


def frames_that_fit(pixels: int, device: torch.device) -> int | None:
    """How many frames of ``pixels`` pixels one segment may hold so that the clip takes at most half
    of the host's and the training device's memory (None when unknown)."""
    host = device_memory(torch.device("cpu"))
    if host is None:
        return None
    per_frame_host = pixels * (HOST_BYTES_PER_PIXEL + (DATA_BYTES_PER_PIXEL if device.type == "cpu" else 0))
    n = int(CLIP_MEMORY_SHARE * host // per_frame_host)
    if device.type != "cpu":
        dev = device_memory(device)
        if dev is not None:
            n = min(n, int(CLIP_MEMORY_SHARE * dev // (pixels * DATA_BYTES_PER_PIXEL)))
    return max(n, 1)
