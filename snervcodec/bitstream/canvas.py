"""Sections CNVS (format 1.7) and CNVW (1.8): where each frame lies on the canvas the network draws
(bitstream/SPEC.md 4.5, 4.6; :mod:`~..video.canvas`, :mod:`~..video.warp`).

    CNVS, per frame, rows then columns: zigzag varint of its offset minus the previous frame's (frame 0: minus 0)
    CNVW, per frame, a, b, ty, tx: zigzag varint of each minus its prediction from the two frames before

A pan moves the window by a constant step, which costs one byte an axis a frame; a steady zoom or turn
changes a warp's values at a steady rate, which the prediction takes out.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..models.geometry import MAX_WARP, WARP_POS, warp_problem
from .bytesio import Reader, Writer


def _zigzag(v: int) -> int:
    return 2 * v if v >= 0 else -2 * v - 1


def _unzigzag(z: int) -> int:
    return z >> 1 if not z & 1 else -((z + 1) >> 1)


def write_offsets(offsets: np.ndarray) -> bytes:
    """CNVS payload of (T, 2) non-negative window offsets."""
    w = Writer()
    prev = (0, 0)
    for oy, ox in np.asarray(offsets, np.int64).tolist():
        w.varint(_zigzag(oy - prev[0]))
        w.varint(_zigzag(ox - prev[1]))
        prev = (oy, ox)
    return w.getvalue()


def read_offsets(payload: bytes, n_frames: int, max_row: int, max_col: int) -> np.ndarray:
    """(T, 2) offsets from a CNVS payload; each must leave its window inside the network's grid
    (row <= ``max_row``, column <= ``max_col``: the header's padding), and every byte is used."""
    if len(payload) < 2 * n_frames:
        raise FormatError(f"CNVS: {len(payload)} bytes cannot place {n_frames} frames")
    r = Reader(payload, "CNVS")
    out = np.empty((n_frames, 2), np.int64)
    oy = ox = 0
    for k in range(n_frames):
        oy += _unzigzag(r.varint())
        ox += _unzigzag(r.varint())
        if not (0 <= oy <= max_row and 0 <= ox <= max_col):
            raise FormatError(f"CNVS: frame {k}'s window at ({oy}, {ox}) leaves the network's grid "
                              f"(rows 0..{max_row}, columns 0..{max_col})")
        out[k] = oy, ox
    r.expect_end()
    return out


def _predicted(prev: list[tuple[int, ...]], k: int) -> tuple[int, ...]:
    """CNVW's prediction of frame ``k``'s warp: 0, then the last frame's, then a straight line through
    the last two (integers)."""
    if k == 0:
        return (0, 0, 0, 0)
    return prev[-1] if k == 1 else tuple(2 * u - v for u, v in zip(prev[-1], prev[-2]))


def write_warps(warps: np.ndarray) -> bytes:
    """CNVW payload of (T, 4) warps (a, b, ty, tx)."""
    w = Writer()
    done: list[tuple[int, ...]] = []
    for k, v in enumerate(np.asarray(warps, np.int64).tolist()):
        for value, guess in zip(v, _predicted(done, k)):
            w.varint(_zigzag(value - guess))
        done.append(tuple(v))
    return w.getvalue()


def read_warps(payload: bytes, n_frames: int, frame_hw: tuple[int, int], grid_hw: tuple[int, int]) -> np.ndarray:
    """(T, 4) warps from a CNVW payload: ``|a|, |b| <= MAX_WARP``, not both 0, and every frame's view
    inside the network's ``grid_hw`` (:func:`~..models.geometry.warp_problem`); every byte is used.
    Each value is bounded before it predicts the next (the centre, ``ty, tx``, lies on the grid too)."""
    if len(payload) < 4 * n_frames:
        raise FormatError(f"CNVW: {len(payload)} bytes cannot place {n_frames} frames")
    r = Reader(payload, "CNVW")
    centre = ((grid_hw[0] - 1) * WARP_POS, (grid_hw[1] - 1) * WARP_POS)
    out = np.empty((n_frames, 4), np.int64)
    last: list[tuple[int, ...]] = []  # the two frames before, for the prediction
    for k in range(n_frames):
        v = tuple(guess + _unzigzag(r.varint()) for guess in _predicted(last, k))
        if abs(v[0]) > MAX_WARP or abs(v[1]) > MAX_WARP or not all(0 <= x <= c for x, c in zip(v[2:], centre)):
            raise FormatError(f"CNVW: frame {k}'s warp {v} leaves the format's range or the "
                              f"{grid_hw[0]}x{grid_hw[1]} canvas")
        out[k] = v
        last = [*last[-1:], v]
    r.expect_end()
    problem = warp_problem(out, frame_hw, grid_hw)
    if problem:
        raise FormatError(f"CNVW: {problem}")
    return out
