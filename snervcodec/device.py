"""Device and precision selection. Every code path is device-agnostic: tensors go to
``resolve_device(...)``, never to a hard-coded device."""

from __future__ import annotations

import contextlib
from typing import Literal

import torch

from .errors import ConfigError

DeviceName = Literal["auto", "cpu", "cuda", "mps"]
Precision = Literal["auto", "fp32", "bf16"]


def resolve_device(name: str = "auto") -> torch.device:
    """``auto`` prefers CUDA, then MPS, then the CPU."""
    if name == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if getattr(torch.backends, "mps", None) is not None and torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise ConfigError("--device cuda asked for, but no CUDA device is available")
    if name == "mps" and not (getattr(torch.backends, "mps", None) and torch.backends.mps.is_available()):
        raise ConfigError("--device mps asked for, but MPS is not available")
    if name not in ("cpu", "cuda", "mps"):
        raise ConfigError(f"unknown device {name!r} (auto, cpu, cuda or mps)")
    return torch.device(name)


def cpu_has_fast_bf16() -> bool:
    """True when oneDNN has native bf16 kernels on this CPU (AVX512-BF16 or AMX)."""
    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except Exception:  # pragma: no cover - older builds
        return False


def resolve_precision(precision: str, device: torch.device) -> Literal["fp32", "bf16"]:
    """``auto`` -> bf16 autocast on CUDA and on CPUs with native bf16 units, fp32 elsewhere.

    Measured on the project's 2-core AMX CPU (benchmarks/throughput.py): bf16 + channels-last
    trains several times faster than fp32 at equal quality; see docs/design-notes.md "Precision".
    """
    if precision in ("fp32", "bf16"):
        return precision  # type: ignore[return-value]
    if precision != "auto":
        raise ConfigError(f"unknown precision {precision!r} (auto, fp32 or bf16)")
    if device.type == "cuda":
        return "bf16" if torch.cuda.is_bf16_supported() else "fp32"
    if device.type == "cpu":
        return "bf16" if cpu_has_fast_bf16() else "fp32"
    return "fp32"


def autocast(device: torch.device, precision: str):
    if precision == "bf16":
        return torch.autocast(device_type=device.type, dtype=torch.bfloat16)
    return contextlib.nullcontext()


def to_channels_last(module: torch.nn.Module) -> torch.nn.Module:
    """Channels-last weights for every 2D convolution (``channels_last_3d`` for the Conv3d of
    SNeRV(T)); ``Module.to(memory_format=...)`` would refuse the 5-D weights."""
    with torch.no_grad():
        for p in module.parameters():
            if p.dim() == 4:
                p.data = p.data.contiguous(memory_format=torch.channels_last)
            elif p.dim() == 5:
                p.data = p.data.contiguous(memory_format=torch.channels_last_3d)
    return module


def on_device(module: torch.nn.Module, device: torch.device, channels_last: bool) -> torch.nn.Module:
    """``module`` on ``device``, its convolution weights channels-last when asked."""
    module = module.to(device)
    return to_channels_last(module) if channels_last else module
