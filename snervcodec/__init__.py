"""snervcodec: a neural video codec built on SNeRV (Kim, Lee, Kang, ECCV 2024)."""

from .api import fit, model_config
from .codec import CompressionConfig, decode, encode, info
from .errors import BudgetError, ConfigError, FormatError, SnervError, VideoError

__version__ = "0.1.0"

__all__ = [
    "CompressionConfig",
    "decode",
    "encode",
    "info",
    "fit",
    "model_config","BudgetError", "ConfigError", "FormatError", "SnervError", "VideoError", "__version__"]
