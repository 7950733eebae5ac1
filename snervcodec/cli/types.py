"""The command line's value types (click parameter types): one bad value is one usage line, and
each type says in its name what it reads."""

from __future__ import annotations

import math
import re

import click


class Strides(click.ParamType):
    """Five up-sampling strides, ``5,4,2,2,2``."""

    name = "S,S,S,S,S"

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        try:
            parts = tuple(int(v) for v in value.replace(" ", "").split(","))
        except ValueError:
            self.fail("strides are five comma-separated integers, e.g. 5,4,2,2,2", param, ctx)
        if len(parts) != 5 or any(p < 1 or p > 8 for p in parts):
            self.fail("strides are five comma-separated integers in 1..8, e.g. 5,4,2,2,2", param, ctx)
        return parts


class Duration(click.ParamType):
    """``10m``, ``90s``, ``1h30m``, ``45`` (seconds) -> seconds."""

    name = "DURATION"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", value.strip().lower())
        if not value.strip() or m is None:
            self.fail("a duration such as 10m, 90s or 1h30m", param, ctx)
        h, mi, se = (float(g) if g else 0.0 for g in m.groups())
        seconds = 3600 * h + 60 * mi + se
        if not 0 < seconds <= 1e7:
            self.fail("must be positive (and under 115 days)", param, ctx)
        return seconds


class ParamCount(click.ParamType):
    """A parameter count: ``580000``, ``580k``, ``0.58M``, at most what the format holds."""

    name = "N"

    def convert(self, value, param, ctx):
        if isinstance(value, (int, float)):
            return float(value)
        v = value.strip().lower()
        mult = {"k": 1e3, "m": 1e6}.get(v[-1:], 1.0)
        try:
            n = float(v[:-1] if v[-1:] in "km" else v) * mult
        except ValueError:
            self.fail("a parameter count such as 580000, 580k or 0.58M", param, ctx)
        if not math.isfinite(n) or n <= 0:
            self.fail("must be a positive number", param, ctx)
        from ..bitstream.stream import MAX_DECODER_PARAMS

        if n > MAX_DECODER_PARAMS:
            self.fail(f"the format holds decoders of at most {MAX_DECODER_PARAMS:,} parameters", param, ctx)
        return n


class PositiveFloat(click.ParamType):
    """A finite number > 0 (``--lr nan`` and ``--lr inf`` are usage errors)."""

    name = "X"

    def convert(self, value, param, ctx):
        try:
            v = float(value)
        except ValueError:
            self.fail(f"{value!r} is not a number", param, ctx)
        if not math.isfinite(v) or v <= 0:
            self.fail(f"must be a finite number above 0, got {value}", param, ctx)
        return v


class FloatList(click.ParamType):
    """``0.05,0.1,0.2`` -> a list of numbers (``none``, when allowed, is the empty list)."""

    name = "B,B,..."

    def __init__(self, allow_none: bool = False):
        self.allow_none = allow_none

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        if self.allow_none and value == "none":
            return []
        try:
            return [float(v) for v in value.split(",")] if value else []
        except ValueError:
            self.fail("a comma-separated list of numbers, e.g. 0.05,0.1,0.2", param, ctx)


class WordList(click.ParamType):
    """``a,b`` -> a list of words, each one of ``choices`` when given."""

    name = "A,B,..."

    def __init__(self, choices: tuple[str, ...] | None = None):
        self.choices = choices

    def convert(self, value, param, ctx):
        if isinstance(value, list):
            return value
        words = [v.strip() for v in value.split(",") if v.strip()] if value else []
        bad = [w for w in words if self.choices is not None and w not in self.choices]
        if bad or (self.choices is not None and not words):
            self.fail(f"unknown value {bad[0] if bad else '(none)'!r} (one of {', '.join(self.choices)})", param, ctx)
        return words


STRIDES, DURATION, PARAM_COUNT, POSITIVE_FLOAT = Strides(), Duration(), ParamCount(), PositiveFloat()
