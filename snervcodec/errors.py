"""Exceptions raised by snervcodec.

Every failure a user can cause (bad video, bad stream, impossible budget) raises a subclass of
:class:`SnervError`, so the CLI can print one clear line and exit non-zero without a traceback.
"""


class SnervError(Exception):
    """Base class of every error snervcodec raises on purpose."""


class VideoError(SnervError):
    """The input video cannot be read, or the output video cannot be written."""


class FormatError(SnervError):
    """A ``.snv`` stream is truncated, corrupted, of a newer major version, or lies in its header."""


class BudgetError(SnervError):
    """A bit or parameter budget is too small for any model."""


class ConfigError(SnervError):
    """An option value is out of range or inconsistent with the others."""


class LimitError(SnervError):
    """A valid stream declares more work (pixels, frames, embedding values, table entries) than the
    decoder's limits allow; the message names the option that raises the limit."""
