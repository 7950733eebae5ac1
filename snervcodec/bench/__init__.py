"""Benchmark suite: anchors (x264/x265 via PyAV), shared metrics, BD-rate, runner and reports."""

import importlib.util

from ..errors import ConfigError

EXTRA = ("scipy", "matplotlib")  # what the bench extra adds and the suite needs (BD-rate curves, RD plots)


def check_extra() -> None:
    """Refuse the benchmark at once (one line) when the bench extra is missing, not after its encodes."""
    missing = [m for m in EXTRA if _missing(m)]
    if missing:
        raise ConfigError(f"snerv bench needs the bench extra (missing: {', '.join(missing)}): "
                          "pip install 'snervcodec[bench]'")


def _missing(name: str) -> bool:
    try:
        return importlib.util.find_spec(name) is None
    except ValueError:  # in sys.modules as None: import blocked
        return True
