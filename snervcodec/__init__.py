"""snervcodec: a neural video codec built on SNeRV (Kim, Lee, Kang, ECCV 2024)."""

from .api import CompressionConfig, decode, encode, fit, info, load_video, model_config
from .errors import BudgetError, ConfigError, FormatError, SnervError, VideoError

__version__ = "0.1.0"

__all__ = ["BudgetError", "CompressionConfig", "ConfigError", "FormatError", "SnervError", "VideoError",
           "__version__", "decode", "encode", "fit", "info", "load_video", "model_config"]
