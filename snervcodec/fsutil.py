"""Outputs: checked before any work, written atomically.

A regular file is written to a temporary file beside it and renamed over it, so an existing output
is never half-overwritten and an interrupted write (error, Ctrl-C, SIGTERM) leaves nothing behind
but the untouched original. Character devices, FIFOs and stdout are written into as they are.
"""

from __future__ import annotations

import contextlib
import os
import stat
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO, Iterator

from .errors import ConfigError


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike, suffix: str | None = None) -> Iterator[Path]:
    """Yield a temporary path in ``target``'s directory; on success rename it onto ``target``."""
    target = Path(target)
    directory = target.parent if str(target.parent) else Path(".")
    directory.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.",
                               suffix=suffix if suffix is not None else target.suffix + ".tmp",
                               dir=directory)
    os.close(fd)
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.chmod(tmp_path, _mode_for(target))
        os.replace(tmp_path, target)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp_path.unlink()
        raise


def _mode_for(target: Path) -> int:
    """The existing file's permissions, or the usual ones for a new file (0666 less the umask)."""
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        umask = os.umask(0)
        os.umask(umask)
        return 0o666 & ~umask


def write_bytes_atomic(target: "str | os.PathLike | Target", data: bytes) -> None:
    """Write ``data`` to a path or a checked :class:`Target` (atomically for a regular file)."""
    t = target if isinstance(target, Target) else output_target(target)
    with open_output(t) as f:
        f.write(data)


def same_file(a: str | os.PathLike, b: str | os.PathLike) -> bool:
    """True when ``a`` and ``b`` name the same file (resolving links); False if either is missing."""
    try:
        return os.path.samefile(a, b)
    except OSError:
        return Path(a).resolve() == Path(b).resolve()


# ------------------------------------------------------------------------------------------------
# Output targets

@dataclass(frozen=True)
class Target:
    """Where an output goes. ``file``: a regular file (new or replaced atomically; a symlink is
    followed, so its target is replaced and the link kept); ``special``: a character device or a
    FIFO, written into as it is (``-o /dev/null`` stays a device); ``stdout``: ``-``."""

    path: str  # the path to write (a symlink resolved); "-" for stdout
    kind: str  # file | special | stdout

    @property
    def streaming(self) -> bool:
        return self.kind != "file"


def output_target(path: str | os.PathLike, overwrite: bool = True, what: str = "output") -> Target:
    """Check ``path`` as an output before any work is done (raise ConfigError with one line):
    not a directory, its folder exists or can be made and is writable, and an existing regular
    file only with ``overwrite``."""
    p = os.fspath(path)
    if p == "-":
        return Target("-", "stdout")
    real = os.path.realpath(p)  # follow symlinks: replace the link's target, not the link
    try:
        st = os.stat(real)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise ConfigError(f"{p}: cannot use as {what} ({e.strerror})") from None
    if st is not None:
        if stat.S_ISDIR(st.st_mode):
            raise ConfigError(f"{p}: is a directory (give a file name)")
        if stat.S_ISCHR(st.st_mode) or stat.S_ISFIFO(st.st_mode):
            if not os.access(real, os.W_OK):
                raise ConfigError(f"{p}: not writable")
            return Target(real, "special")
        if not stat.S_ISREG(st.st_mode):
            raise ConfigError(f"{p}: not a regular file, character device or FIFO")
        if not overwrite:
            raise ConfigError(f"{p}: already exists (-y overwrites it)")
    folder = Path(real).parent
    existing = folder
    while not existing.exists():  # the first folder that exists must allow making the rest
        existing = existing.parent
    if not existing.is_dir():
        raise ConfigError(f"{p}: {existing} is not a directory")
    try:  # a real probe: permissions, read-only mounts and root all answer truthfully
        fd, probe = tempfile.mkstemp(prefix=".snerv-probe.", dir=existing)
        os.close(fd)
        os.unlink(probe)
    except OSError as e:
        raise ConfigError(f"{p}: cannot write in {existing} ({e.strerror})") from None
    return Target(real, "file")


@contextlib.contextmanager
def open_output(target: Target) -> Iterator[BinaryIO]:
    """A binary file object for ``target``: stdout, the device or FIFO itself, or a temporary file
    renamed onto the target when the block ends without an error (atomic)."""
    if target.kind == "stdout":
        yield sys.stdout.buffer
        sys.stdout.buffer.flush()
        return
    if target.kind == "special":
        with open(target.path, "wb") as f:
            yield f
        return
    with atomic_path(target.path) as tmp:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
