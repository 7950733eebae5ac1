"""Sections CNVS (format 1.7) and CNVW (1.8, 1.9): where each frame lies on the canvas the network draws
(bitstream/SPEC.md 4.5-4.7; :mod:`~..video.canvas`, :mod:`~..video.warp`, :mod:`~..video.layer`).

    CNVS, per frame, rows then columns: zigzag varint of its offset minus the previous frame's (frame 0: minus 0)
    CNVW, per frame, a, b, ty, tx: zigzag varint of each minus its prediction from the two frames before
    CNVW with an object layer (header canvas 3, 1.9): the object's box (top, left, height, width: varints),
         a flags byte (bit 0: the frame's warp, bit 1: the object's a, b, the same in every frame), then
         per frame the frame's a, b, ty, tx and the object's, each predicted as above, those the flags
         hold written with frame 0 alone

A pan moves the window by a constant step, which costs one byte an axis a frame; a steady zoom or turn
(or an object's steady crossing) changes a warp's values at a steady rate, which the prediction takes out.
"""

from __future__ import annotations

import numpy as np

from ..errors import FormatError
from ..models.geometry import LAYERED, MAX_CENTRE, MAX_WARP, WARP_POS, warp_problem
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


def _predicted(prev: list[tuple[int, ...]], k: int, n: int) -> tuple[int, ...]:
    """CNVW's prediction of frame ``k``'s ``n`` values: 0, then the last frame's, then a straight line
    through the last two (integers)."""
    if k == 0:
        return (0,) * n
    return prev[-1] if k == 1 else tuple(2 * u - v for u, v in zip(prev[-1], prev[-2]))


# CNVW with an object layer (1.9): a flags byte after the box; each set bit holds values the same in every
# frame, written with frame 0 only: a still (or steady) background's warp, an object that only moves
HOLD_FRAME, HOLD_OBJECT_SCALE = 1, 2
_HELD = {HOLD_FRAME: (0, 1, 2, 3), HOLD_OBJECT_SCALE: (4, 5)}


def _held(flags: int) -> set[int]:
    return {i for bit, idx in _HELD.items() if flags & bit for i in idx}


def write_warps(views: np.ndarray) -> bytes:
    """CNVW payload of (T, 4) warps (a, b, ty, tx), or of (T, 12) views with an object layer (the frame's
    warp, the object's, and the object's box, the same in every row): the box, the flags of what every
    frame shares (written with frame 0 alone), then each frame's values."""
    w = Writer()
    v = np.asarray(views, np.int64)
    held: set[int] = set()
    if v.shape[1] == LAYERED:
        top, left, bottom, right = (int(x) for x in v[0, 8:])
        for x in (top, left, bottom - top, right - left):
            w.varint(x)
        flags = sum(bit for bit, idx in _HELD.items() if (v[:, idx] == v[:1, idx]).all())
        w.u8(flags)
        held = _held(flags)
        v = v[:, :8]
    done: list[tuple[int, ...]] = []
    for k, row in enumerate(v.tolist()):
        for i, (value, guess) in enumerate(zip(row, _predicted(done, k, len(row)))):
            if k == 0 or i not in held:
                w.varint(_zigzag(value - guess))
        done.append(tuple(row))
    return w.getvalue()


def read_warps(payload: bytes, n_frames: int, frame_hw: tuple[int, int], grid_hw: tuple[int, int],
               layered: bool = False) -> np.ndarray:
    """(T, 4) warps from a CNVW payload, or (T, 12) views with ``layered`` (header canvas 3): ``|a|, |b| <=
    MAX_WARP``, not both 0, every frame's view inside the network's ``grid_hw``, an object's centre
    within ``MAX_CENTRE`` and its box on the grid (:func:`~..models.geometry.warp_problem`); every byte is
    used. Each value is bounded before it predicts the next (the frame's centre lies on the grid too)."""
    n = 8 if layered else 4
    if len(payload) < (2 if layered else 4) * n_frames:
        raise FormatError(f"CNVW: {len(payload)} bytes cannot place {n_frames} frames")
    r = Reader(payload, "CNVW")
    box, held = (), set()
    if layered:
        top, left, bh, bw = (r.varint() for _ in range(4))
        if not (2 <= bh and 2 <= bw and top + bh <= grid_hw[0] and left + bw <= grid_hw[1]):
            raise FormatError(f"CNVW: an object box of {bh}x{bw} at ({top}, {left}) is not one of at least 2x2 "
                              f"on the {grid_hw[0]}x{grid_hw[1]} canvas")
        box = (top, left, top + bh, left + bw)
        flags = r.u8()
        if flags > HOLD_FRAME | HOLD_OBJECT_SCALE:
            raise FormatError(f"CNVW: flags {flags} (bits 0 and 1 only)")
        held = _held(flags)
    centre = ((grid_hw[0] - 1) * WARP_POS, (grid_hw[1] - 1) * WARP_POS)
    out = np.empty((n_frames, n + len(box)), np.int64)
    last: list[tuple[int, ...]] = []  # the two frames before, for the prediction
    for k in range(n_frames):
        v = tuple(last[-1][i] if k and i in held else guess + _unzigzag(r.varint())
                  for i, guess in enumerate(_predicted(last, k, n)))
        if abs(v[0]) > MAX_WARP or abs(v[1]) > MAX_WARP or not all(0 <= x <= c for x, c in zip(v[2:4], centre)) \
                or layered and (max(abs(v[4]), abs(v[5])) > MAX_WARP or max(abs(v[6]), abs(v[7])) > MAX_CENTRE):
            raise FormatError(f"CNVW: frame {k}'s warp {v} leaves the format's range or the "
                              f"{grid_hw[0]}x{grid_hw[1]} canvas")
        out[k] = v + box
        last = [*last[-1:], v]
    r.expect_end()
    problem = warp_problem(out, frame_hw, grid_hw)
    if problem:
        raise FormatError(f"CNVW: {problem}")
    return out
