"""Bjontegaard deltas (VCEG-M33; JVET practice for the interpolation).

BD-rate: average difference of log-rate between two RD curves over their overlapping quality
interval, as a percentage (negative = the test codec needs fewer bits). BD-PSNR: average quality
difference over the overlapping log-rate interval, in dB. Interpolation: ``pchip`` (piecewise cubic
Hermite, the default), ``cubic`` (one cubic polynomial through all points, the original VCEG-M33),
or ``akima``. Each interpolant is integrated exactly.
"""

from __future__ import annotations

import warnings
from typing import Literal, Sequence

import numpy as np

Method = Literal["pchip", "cubic", "akima"]
MIN_OVERLAP = 0.75


class OverlapWarning(UserWarning):
    """The two curves share less than 75% of their range: the figure says little."""


def _integral(x: np.ndarray, y: np.ndarray, lo: float, hi: float, method: Method) -> float:
    order = np.argsort(x)
    x, y = np.asarray(x, float)[order], np.asarray(y, float)[order]
    if len(np.unique(x)) != len(x):
        raise ValueError("RD points must have distinct values on the integration axis")
    if method == "cubic":
        poly = np.polyint(np.polyfit(x, y, 3))
        return float(np.polyval(poly, hi) - np.polyval(poly, lo))
    from scipy.interpolate import Akima1DInterpolator, PchipInterpolator

    if method == "pchip":
        f = PchipInterpolator(x, y)
    elif method == "akima":
        f = Akima1DInterpolator(x, y)
    else:
        raise ValueError(f"unknown interpolation {method!r} (pchip, cubic or akima)")
    return float(f.integrate(lo, hi))


def _check(rate: Sequence[float], dist: Sequence[float], name: str) -> tuple[np.ndarray, np.ndarray]:
    r, d = np.asarray(rate, float), np.asarray(dist, float)
    if r.shape != d.shape or r.ndim != 1:
        raise ValueError(f"{name}: rates and distortions must be 1-D of equal length")
    if len(r) < 4 and name:
        # VCEG-M33 and the JVET tools use four points; fewer make the cubic undetermined
        if len(r) < 2:
            raise ValueError(f"{name}: at least two RD points are needed")
    if np.any(r <= 0):
        raise ValueError(f"{name}: rates must be positive")
    return r, d


def _overlap(a: np.ndarray, b: np.ndarray) -> tuple[float, float, float]:
    lo, hi = max(a.min(), b.min()), min(a.max(), b.max())
    span = max(a.max(), b.max()) - min(a.min(), b.min())
    frac = (hi - lo) / span if span > 0 else 0.0
    return lo, hi, frac


def bd_rate(rate_anchor, dist_anchor, rate_test, dist_test, method: Method = "pchip",
            min_overlap: float = MIN_OVERLAP) -> float:
    """BD-rate of the test codec against the anchor, in percent."""
    ra, da = _check(rate_anchor, dist_anchor, "anchor")
    rt, dt = _check(rate_test, dist_test, "test")
    lo, hi, frac = _overlap(da, dt)
    if hi <= lo:
        raise ValueError("the curves do not overlap in quality")
    if frac < min_overlap:
        warnings.warn(f"RD curves overlap over {100 * frac:.0f}% of their quality range (< {100 * min_overlap:.0f}%)",
                      OverlapWarning, stacklevel=2)
    ia = _integral(da, np.log10(ra), lo, hi, method)
    it = _integral(dt, np.log10(rt), lo, hi, method)
    return float((10 ** ((it - ia) / (hi - lo)) - 1) * 100)


def bd_psnr(rate_anchor, dist_anchor, rate_test, dist_test, method: Method = "pchip",
            min_overlap: float = MIN_OVERLAP) -> float:
    """BD-PSNR (or BD-quality) of the test codec against the anchor, in the distortion's unit."""
    ra, da = _check(rate_anchor, dist_anchor, "anchor")
    rt, dt = _check(rate_test, dist_test, "test")
    la, lt = np.log10(ra), np.log10(rt)
    lo, hi, frac = _overlap(la, lt)
    if hi <= lo:
        raise ValueError("the curves do not overlap in rate")
    if frac < min_overlap:
        warnings.warn(f"RD curves overlap over {100 * frac:.0f}% of their rate range (< {100 * min_overlap:.0f}%)",
                      OverlapWarning, stacklevel=2)
    ia = _integral(la, da, lo, hi, method)
    it = _integral(lt, dt, lo, hi, method)
    return float((it - ia) / (hi - lo))


def overlap_fraction(dist_anchor, dist_test) -> float:
    """The share of the two curves' joint quality range that both cover: 1 where they span the same
    range, 0 where they do not meet (a curve wholly above the other's)."""
    return max(0.0, _overlap(np.asarray(dist_anchor, float), np.asarray(dist_test, float))[2])
