"""The package source's digest: what results of our own encoder are keyed on (resumed segments,
cached benchmark points), so that a code change never reuses an older encoder's output. Standard
library only: the codec and the benchmarks both import it."""

from __future__ import annotations

import functools
import hashlib
from pathlib import Path


def source_digest(root: Path) -> str:
    """A digest of the ``.py`` files under ``root`` (relative paths and bytes, in sorted order)."""
    h = hashlib.sha256()
    for f in sorted(root.rglob("*.py")):
        h.update(f.relative_to(root).as_posix().encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def code_digest() -> str:
    """The digest of this package's source (the version number changes at releases only)."""
    return source_digest(Path(__file__).resolve().parent)
