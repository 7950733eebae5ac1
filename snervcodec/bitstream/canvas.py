"""Section CNVS (format 1.7): where each frame's window lies on the canvas the network draws
(bitstream/SPEC.md 4.5; :mod:`~..video.canvas`).

    per frame, rows then columns: zigzag varint of its offset minus the previous frame's (frame 0: minus 0)

A pan moves the window by a constant step, which costs one byte an axis a frame.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
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
