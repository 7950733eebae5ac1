"""The ``snerv`` command line: a thin layer over :mod:`snervcodec`'s functions (:mod:`.app`: the
group and its error handling; :mod:`.commands`: encode, decode, info, fit, bench; :mod:`.options`:
the option groups; :mod:`.types`: the value types)."""

from . import commands  # noqa: F401  (registers the commands)
from .app import cli, main

__all__ = ["cli", "main"]
