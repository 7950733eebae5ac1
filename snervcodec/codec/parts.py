"""Finished segments of an encode, kept next to the output (``OUT.snv.parts/``) so an interrupted
encode resumes where it stopped, and sent between torchrun ranks in the same form.

A part is ``"SNVPART1" | u32 n | n bytes of JSON (segment, fingerprint, payload checksum, statistics)
| payload``: no pickle, checked on load, written atomically. The fingerprint hashes the encode
settings, the segment's frames and the code (its version and its source's digest), so a part is
reused only by the same command on the same input, which then writes the same bytes as an
uninterrupted run.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import struct
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..fsutil import write_bytes_atomic
from ..provenance import code_digest

PART_MAGIC = b"SNVPART1"
MAX_META = 1 << 20


def frame_blob(magic: bytes, meta: dict, payload: bytes) -> bytes:
    """``magic | u32 n | n bytes of JSON (meta and the payload's sha256) | payload``."""
    text = json.dumps({**meta, "sha256": hashlib.sha256(payload).hexdigest()}, sort_keys=True).encode()
    return magic + struct.pack("<I", len(text)) + text + payload


def unframe_blob(magic: bytes, data: bytes) -> tuple[dict, bytes] | None:
    """(meta, payload) of a :func:`frame_blob`, or None unless ``data`` is an intact one."""
    if len(data) < 12 or data[:8] != magic:
        return None
    n = struct.unpack_from("<I", data, 8)[0]
    if n > MAX_META or 12 + n > len(data):
        return None
    try:
        meta = json.loads(data[12:12 + n].decode())
    except ValueError:
        return None
    payload = data[12 + n:]
    if not isinstance(meta, dict) or hashlib.sha256(payload).hexdigest() != meta.get("sha256"):
        return None
    return meta, payload


@dataclass
class Part:
    segment: int
    fingerprint: str
    payload: bytes  # the segment's single-segment stream
    stats: dict = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return frame_blob(PART_MAGIC, {"segment": self.segment, "fingerprint": self.fingerprint, "stats": self.stats},
                          self.payload)

    @classmethod
    def from_bytes(cls, data: bytes) -> "Part | None":
        """The part, or None when ``data`` is not an intact part."""
        blob = unframe_blob(PART_MAGIC, data)
        if blob is None:
            return None
        meta, payload = blob
        try:
            return cls(int(meta["segment"]), str(meta["fingerprint"]), payload, dict(meta["stats"]))
        except (ValueError, KeyError, TypeError):
            return None


def fingerprint(settings: dict, frames: np.ndarray, segment: int) -> str:
    """What a part must match to be reused: settings, segment number, its frames' bytes, and the code
    (its version and its source's digest: a resumed encode never mixes two encoders' segments)."""
    from .. import __version__

    h = hashlib.sha256(json.dumps({**settings, "segment": segment, "version": __version__, "code": code_digest()},
                                  sort_keys=True, default=str).encode())
    h.update(str(frames.shape).encode())
    h.update(np.ascontiguousarray(frames).data)
    return h.hexdigest()


class PartStore:
    """``OUT.snv.parts/segment-00000.part`` ... next to the output."""

    def __init__(self, output: str | os.PathLike):
        self.dir = Path(f"{os.fspath(output)}.parts")

    def path(self, segment: int) -> Path:
        return self.dir / f"segment-{segment:05d}.part"

    def load(self, segment: int, fp: str) -> Part | None:
        p = self.path(segment)
        try:
            part = Part.from_bytes(p.read_bytes())
        except OSError:
            return None
        if part is None or part.segment != segment:
            warnings.warn(f"{p}: damaged, encoding the segment again", UserWarning, stacklevel=2)
            return None
        if part.fingerprint != fp:
            warnings.warn(f"{p}: from other settings or input, encoding the segment again", UserWarning, stacklevel=2)
            return None
        return part

    def save(self, part: Part) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        write_bytes_atomic(self.path(part.segment), part.to_bytes())

    def clear(self) -> None:
        shutil.rmtree(self.dir, ignore_errors=True)
