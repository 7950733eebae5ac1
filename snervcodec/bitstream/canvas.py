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
from ..video.warp import MAX_WARP, corner_positions
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


def _predicted(prev: list[np.ndarray], k: int) -> np.ndarray:
    """CNVW's prediction of frame ``k``'s warp: 0, then the last frame's, then a straight line through
    the last two."""
    if k == 0:
        return np.zeros(4, np.int64)
    return prev[-1] if k == 1 else 2 * prev[-1] - prev[-2]


def write_warps(warps: np.ndarray) -> bytes:
    """CNVW payload of (T, 4) warps (a, b, ty, tx)."""
    w = Writer()
    done: list[np.ndarray] = []
    for k, v in enumerate(np.asarray(warps, np.int64)):
        for d in (v - _predicted(done, k)).tolist():
            w.varint(_zigzag(d))
        done.append(v)
    return w.getvalue()


def read_warps(payload: bytes, n_frames: int, frame_hw: tuple[int, int], grid_hw: tuple[int, int]) -> np.ndarray:
    """(T, 4) warps from a CNVW payload: ``|a|, |b| <= MAX_WARP``, not both 0, and every frame's view
    inside the network's ``grid_hw`` (its corner pixels at rows 0..H-1, columns 0..W-1); every byte is used."""
    if len(payload) < 4 * n_frames:
        raise FormatError(f"CNVW: {len(payload)} bytes cannot place {n_frames} frames")
    r = Reader(payload, "CNVW")
    out = np.empty((n_frames, 4), np.int64)
    done: list[np.ndarray] = []
    for k in range(n_frames):
        v = _predicted(done, k) + np.array([_unzigzag(r.varint()) for _ in range(4)], np.int64)
        if np.abs(v[:2]).max() > MAX_WARP or not v[:2].any():
            raise FormatError(f"CNVW: frame {k}'s scale and turn ({v[0]}, {v[1]}) outside the format's range")
        pos = corner_positions(v[None], *frame_hw)[0]
        if pos.min() < 0 or pos[:, 0].max() > grid_hw[0] - 1 or pos[:, 1].max() > grid_hw[1] - 1:
            raise FormatError(f"CNVW: frame {k}'s view leaves the network's {grid_hw[0]}x{grid_hw[1]} grid")
        out[k] = v
        done.append(v)
    r.expect_end()
    return out
