"""Parsers of the command line's option values (strides, parameter counts, durations): one bad
value is one click usage line."""

from __future__ import annotations

import math

import click


def _strides(ctx, param, value):
    if value is None:
        return None
    try:
        parts = tuple(int(v) for v in value.replace(" ", "").split(","))
    except ValueError:
        raise click.BadParameter("strides are five comma-separated integers, e.g. 5,4,2,2,2") from None
    if len(parts) != 5 or any(p < 1 or p > 8 for p in parts):
        raise click.BadParameter("strides are five comma-separated integers in 1..8, e.g. 5,4,2,2,2")
    return parts


def _duration(ctx, param, value):
    """``10m``, ``90s``, ``1h30m``, ``45`` (seconds) -> seconds."""
    import re

    if value is None:
        return None
    m = re.fullmatch(r"(?:(\d+(?:\.\d+)?)h)?(?:(\d+(?:\.\d+)?)m)?(?:(\d+(?:\.\d+)?)s?)?", value.strip().lower())
    if not value.strip() or m is None:
        raise click.BadParameter("a duration such as 10m, 90s or 1h30m")
    h, mi, se = (float(g) if g else 0.0 for g in m.groups())
    seconds = 3600 * h + 60 * mi + se
    if not 0 < seconds <= 1e7:
        raise click.BadParameter("must be positive (and under 115 days)")
    return seconds


def _params(ctx, param, value):
    if value is None:
        return None
    v = value.strip().lower()
    mult = {"k": 1e3, "m": 1e6}.get(v[-1:], 1.0)
    try:
        n = float(v[:-1] if v[-1:] in "km" else v) * mult
    except ValueError:
        raise click.BadParameter("a parameter count such as 580000, 580k or 0.58M") from None
    if not math.isfinite(n) or n <= 0:
        raise click.BadParameter("must be a positive number")
    from .bitstream.stream import MAX_DECODER_PARAMS

    if n > MAX_DECODER_PARAMS:
        raise click.BadParameter(f"the format holds decoders of at most {MAX_DECODER_PARAMS:,} parameters")
    return n


def _positive_float(ctx, param, value):
    """A finite number > 0 (``--lr nan`` and ``--lr inf`` are usage errors)."""
    if value is None:
        return None
    try:
        v = float(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a number") from None
    if not math.isfinite(v) or v <= 0:
        raise click.BadParameter(f"must be a finite number above 0, got {value}")
    return v


def _floats(ctx, param, value):
    if value is None or value == "":
        return []
    try:
        return [float(v) for v in value.split(",")]
    except ValueError:
        raise click.BadParameter("a comma-separated list of numbers, e.g. 0.05,0.1,0.2") from None


def _words(ctx, param, value):
    return [v.strip() for v in value.split(",") if v.strip()] if value else []
