"""Our BD-rate / BD-PSNR against the independent `bjontegaard` package, to 1e-6."""

import warnings

import numpy as np
import pytest

bjontegaard = pytest.importorskip("bjontegaard")

from snervcodec.bench.bdrate import OverlapWarning, bd_psnr, bd_rate, overlap_fraction  # noqa: E402

CURVES = [
    # (rate_anchor, psnr_anchor, rate_test, psnr_test): JVET-style 4-point curves and others
    ([9487.76, 4593.60, 2486.44, 1358.24], [40.28, 37.18, 34.24, 31.42],
     [9787.80, 4469.00, 2451.68, 1356.24], [40.39, 37.21, 34.17, 31.24]),
    ([0.02, 0.05, 0.1, 0.2], [28.1, 30.5, 32.4, 34.6], [0.025, 0.05, 0.09, 0.21], [28.9, 31.0, 32.6, 35.2]),
    ([100, 200, 400, 800, 1600], [30, 32.5, 35, 37.2, 39], [120, 260, 500, 900, 1500], [30.5, 33, 35.6, 37.5, 38.9]),
    ([1.0, 2.0, 4.0, 8.0], [0.90, 0.94, 0.965, 0.98], [1.1, 1.9, 3.6, 8.4], [0.905, 0.938, 0.968, 0.982]),
]


@pytest.mark.parametrize("curve", CURVES)
@pytest.mark.parametrize("method", ["pchip", "cubic", "akima"])
def test_matches_bjontegaard_package(curve, method):
    ra, da, rt, dt = curve
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref_rate = bjontegaard.bd_rate(ra, da, rt, dt, method=method, require_matching_points=False)
        ref_psnr = bjontegaard.bd_psnr(ra, da, rt, dt, method=method, require_matching_points=False)
        ours_rate = bd_rate(ra, da, rt, dt, method=method)
        ours_psnr = bd_psnr(ra, da, rt, dt, method=method)
    assert ours_rate == pytest.approx(ref_rate, abs=1e-6)
    assert ours_psnr == pytest.approx(ref_psnr, abs=1e-6)


def test_identical_curves_give_zero():
    r, d = [1, 2, 4, 8], [30, 33, 36, 38]
    assert bd_rate(r, d, r, d) == pytest.approx(0, abs=1e-12)
    assert bd_psnr(r, d, r, d) == pytest.approx(0, abs=1e-12)


def test_half_the_rate_is_minus_50_percent():
    r, d = np.array([1, 2, 4, 8.0]), [30, 33, 36, 38]
    assert bd_rate(r, d, r / 2, d) == pytest.approx(-50.0)


def test_small_overlap_warns():
    with pytest.warns(OverlapWarning):
        bd_rate([1, 2, 4, 8], [30, 32, 34, 36], [1, 2, 4, 8], [35, 37, 39, 41])
    with pytest.raises(ValueError):
        bd_rate([1, 2, 4, 8], [30, 31, 32, 33], [1, 2, 4, 8], [40, 41, 42, 43])


def test_overlap_fraction_is_the_shared_share_and_never_negative():
    assert overlap_fraction([30, 32, 34, 36], [30, 32, 34, 36]) == pytest.approx(1.0)
    assert overlap_fraction([30, 32, 34, 36], [34, 36, 38, 40]) == pytest.approx(0.2)  # 34-36 of 30-40
    assert overlap_fraction([30, 31, 32, 33], [40, 41, 42, 43]) == 0.0  # one curve wholly above: no share
