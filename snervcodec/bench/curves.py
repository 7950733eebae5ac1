"""Anchor curves: which CRF/QP values of x264/x265 enclose a quality range, and which extra values
to run inside it (the BD integral is taken there)."""

from __future__ import annotations

import numpy as np


def anchor_q(point: dict) -> int:
    """The CRF/QP of an anchor point (older cached points only carry it in ``setting``)."""
    return int(point["q"]) if "q" in point else int(point["setting"].split("=", 1)[1])


def bracket(quality: dict[int, float], lo: float, hi: float) -> tuple[int, int]:
    """The tightest CRF/QP interval whose anchor qualities enclose [lo, hi].

    ``quality`` maps CRF/QP to quality (higher q, lower quality). The result runs from the largest
    q still at or above ``hi`` to the smallest q at or below ``lo``; where the sweep does not reach
    that far, the end of the sweep stands in (the overlap figure then shows the shortfall).
    """
    qs = sorted(quality)
    above = [q for q in qs if quality[q] >= hi]
    below = [q for q in qs if quality[q] <= lo]
    return (max(above) if above else qs[0]), (min(below) if below else qs[-1])


def refinement(quality: dict[int, float], lo: float, hi: float, n: int) -> list[int]:
    """Up to ``n`` CRF/QP values not yet run inside the bracket of [lo, hi], evenly spread.

    The coarse sweep covers every rate a user may ask for; these extra points put the anchor curve
    densely over the quality range of SNeRV's points, where the BD integral is taken, so the
    interpolation there rests on measured points and the overlap is high.
    """
    if n <= 0 or not quality:
        return []
    a, b = bracket(quality, lo, hi)
    free = [q for q in range(a + 1, b) if q not in quality]
    if len(free) <= n:
        return free
    return sorted({free[round(i)] for i in np.linspace(0, len(free) - 1, n)})
