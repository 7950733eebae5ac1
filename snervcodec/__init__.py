"""snervcodec: a neural video codec built on SNeRV (Kim, Lee, Kang, ECCV 2024).

The API (``encode``, ``decode``, ``info``, ``fit``, ...) loads on first use, so that the command
line starts, answers ``--help`` and handles Ctrl-C before torch is imported.
"""

from .errors import BudgetError, ConfigError, FormatError, LimitError, SnervError, VideoError

__version__ = "0.1.0"

_API = ("CompressionConfig", "EncodeRequest", "decode", "encode", "fit", "info", "load_video", "model_config")
__all__ = ["BudgetError", "CompressionConfig", "ConfigError", "EncodeRequest", "FormatError", "LimitError",
           "SnervError", "VideoError", "__version__", "decode", "encode", "fit", "info", "load_video", "model_config"]


def __getattr__(name: str):
    if name in _API:
        from . import api

        return getattr(api, name)
    raise AttributeError(f"module 'snervcodec' has no attribute {name!r}")
