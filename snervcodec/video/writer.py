"""Writing frames as they are produced: mp4/mkv/mov (H.264), y4m (to a file, a pipe or stdout) and
PNG sequences. Memory stays at one batch of frames whatever the video's length; a regular file is
still written atomically (temporary file, renamed when the last frame is in), and everything that
can be checked is checked when the writer opens, before any frame is decoded.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import sys
import tempfile
import warnings
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, VideoError
from ..fsutil import atomic_path, output_target

WriterKind = Literal["mp4", "y4m", "png"]
Y4M_FORMATS = ("yuv444p12le", "yuv444p", "yuv420p")  # the first round-trips 8-bit RGB exactly
_PATTERN = re.compile(r"%0?(\d*)d")


class OutputWarning(UserWarning):
    """Something about the output the user should know (e.g. other frames in a PNG folder)."""


def is_pattern(path: str) -> bool:
    return _PATTERN.search(path) is not None


def writer_for(path: str, streaming: bool = False) -> WriterKind:
    """The writer an output's extension asks for; a pipe, device or stdout without a known
    extension gets y4m (``-o -``, ``-o /dev/null``)."""
    ext = Path(path).suffix.lower()
    if ext in (".mp4", ".mkv", ".mov"):
        return "mp4"
    if ext == ".y4m":
        return "y4m"
    if ext == ".png":
        return "png"
    if streaming or path == "-":
        return "y4m"
    raise ConfigError(f"{path}: unknown output type {ext or '(none)'}; "
                      "use .mp4, .mkv, .mov, .y4m or a %05d.png pattern")


class FrameWriter:
    """``with FrameWriter(path, fps, (H, W)) as w: w.write(batch)`` for (N, H, W, 3) uint8 batches.

    - ``.mp4``/``.mkv``/``.mov``: H.264 4:2:0 at ``crf`` (12: visually lossless; even sizes only,
      checked at once); ``lossless=True``: libx264rgb at QP 0 (bit-exact RGB).
    - ``.y4m`` (also for ``-``, FIFOs and devices): uncompressed, ``y4m_format`` 4:4:4 12-bit by
      default (every 8-bit RGB colour round-trips), or 8-bit 4:4:4 / 4:2:0 for other tools.
    - PNG pattern (``frames/%05d.png``): one lossless PNG per frame, numbered ``start_number + i``;
      all frames are renamed into place at the end. Existing names need ``overwrite``; other frames
      of the pattern already in the folder are reported with a warning.
    """

    def __init__(self, path: str | os.PathLike, fps: Fraction | float, size: tuple[int, int], *,
                 lossless: bool = False, crf: int = 12, y4m_format: str = "yuv444p12le", overwrite: bool = True,
                 start_number: int = 1, n_frames: int | None = None):
        self.path = os.fspath(path)
        self.fps = fps if isinstance(fps, Fraction) else Fraction(fps).limit_denominator(1 << 16)
        self.h, self.w = size
        if y4m_format not in Y4M_FORMATS:
            raise ConfigError(f"y4m pixel format {y4m_format!r}: use one of {', '.join(Y4M_FORMATS)}")
        pattern = is_pattern(self.path)
        self.target = None if pattern else output_target(self.path, overwrite)
        self.kind = writer_for(self.path, self.target is not None and self.target.streaming)
        if self.kind == "png" and self.target is not None and self.target.streaming:
            raise ConfigError(f"{self.path}: PNG frames go to files, not to a pipe or device")
        if self.kind == "mp4" and self.target is not None and self.target.streaming:
            raise ConfigError(f"{self.path}: mp4/mkv/mov need a seekable file; write y4m to a pipe or device")
        if self.kind == "mp4" and not lossless and (self.h % 2 or self.w % 2):
            raise VideoError(f"H.264 4:2:0 needs even sizes, got {self.h}x{self.w}: write .y4m or PNGs, or use "
                             "--lossless")
        if self.kind == "y4m" and y4m_format == "yuv420p" and (self.h % 2 or self.w % 2):
            raise VideoError(f"y4m 4:2:0 needs even sizes, got {self.h}x{self.w}: use --y4m-format yuv444p")
        self.lossless, self.crf, self.y4m_format = lossless, crf, y4m_format
        self.start_number, self.overwrite = start_number, overwrite
        self._count = 0
        if self.kind == "png":
            self._png_names = _png_names(self.path, start_number, n_frames, overwrite)

    # -- context -----------------------------------------------------------------------------
    def __enter__(self) -> "FrameWriter":
        """Open the output: a temporary file (renamed onto the target when all frames are in), the
        device or FIFO itself, stdout, or a temporary folder of PNGs. Everything opened here is
        closed, and every temporary removed, by :meth:`__exit__` on any error or interrupt."""
        self._stack = contextlib.ExitStack()
        try:
            if self.kind == "png":
                folder = Path(self._png_names.parent)
                folder.mkdir(parents=True, exist_ok=True)
                self._tmp_dir = Path(tempfile.mkdtemp(prefix=".snerv-png.", dir=folder))
                self._stack.callback(shutil.rmtree, self._tmp_dir, ignore_errors=True)
                self._tmp_names: list[tuple[Path, Path]] = []
                return self
            if self.target.kind == "file":
                sink = str(self._stack.enter_context(atomic_path(self.target.path)))
            elif self.target.kind == "special":
                sink = self._stack.enter_context(open(self.target.path, "wb"))
            else:
                sink = _stdout()
            self._open_container(sink)
            self._stack.callback(self._container.close)
        except BaseException:
            self._stack.__exit__(*sys.exc_info())
            raise
        return self

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is None:
            try:
                self._finish()
            except BaseException as e:
                if not self._stack.__exit__(type(e), e, e.__traceback__):
                    raise
                return False
        return bool(self._stack.__exit__(exc_type, exc, tb))

    def _finish(self) -> None:
        """All frames are in: flush the encoder, or move the PNGs into place (each rename atomic)."""
        if self.kind == "png":
            if self._count == 0:
                raise ValueError("no frames written")
            for tmp, name in self._tmp_names:
                os.replace(tmp, name)
            return
        for packet in self._stream.encode():
            self._container.mux(packet)

    # -- frames ------------------------------------------------------------------------------
    def write(self, frames: np.ndarray) -> None:
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (self.h, self.w, 3):
            raise ValueError(f"frames must be uint8 (N, {self.h}, {self.w}, 3), got {frames.dtype} {frames.shape}")
        import av

        for f in frames:
            if self.kind == "png":
                self._write_png(f)
            else:
                vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
                if self._pix_fmt != "rgb24":
                    vf = vf.reformat(format=self._pix_fmt)
                for packet in self._stream.encode(vf):
                    self._container.mux(packet)
            self._count += 1

    @property
    def frames_written(self) -> int:
        return self._count

    def _open_container(self, sink) -> None:
        import av

        if self.kind == "y4m":
            self._container = av.open(sink, "w", format="yuv4mpegpipe", options={"strict": "-1"})
            self._stream = self._container.add_stream("rawvideo", rate=self.fps)
            self._pix_fmt = self.y4m_format
        else:
            fmt = {".mkv": "matroska", ".mov": "mov"}.get(Path(self.path).suffix.lower(), "mp4")
            self._container = av.open(sink, "w", format=fmt)
            if self.lossless:
                self._stream = self._container.add_stream("libx264rgb", rate=self.fps,
                                                          options={"qp": "0", "preset": "medium"})
                self._pix_fmt = "rgb24"
            else:
                self._stream = self._container.add_stream("libx264", rate=self.fps,
                                                          options={"crf": str(self.crf), "preset": "medium"})
                self._pix_fmt = "yuv420p"
        self._stream.width, self._stream.height, self._stream.pix_fmt = self.w, self.h, self._pix_fmt

    def _write_png(self, f: np.ndarray) -> None:
        import av

        names = self._png_names
        if names.n_frames is not None and self._count >= names.n_frames:
            raise ValueError("more frames than announced")
        name = names.name(self._count)
        tmp = self._tmp_dir / f"{self._count:08d}.png"
        c = av.open(str(tmp), "w", format="image2")
        s = c.add_stream("png")
        s.width, s.height, s.pix_fmt = f.shape[1], f.shape[0], "rgb24"
        for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
            c.mux(p)
        for p in s.encode():
            c.mux(p)
        c.close()
        self._tmp_names.append((tmp, Path(name)))


def _stdout():
    return sys.stdout.buffer


class _PngNames:
    def __init__(self, pattern: str, start: int, n_frames: int | None):
        self.pattern, self.start, self.n_frames = pattern, start, n_frames
        self.single = not is_pattern(pattern)
        self.parent = Path(pattern).parent

    def name(self, i: int) -> str:
        if self.single:
            if i:
                raise ConfigError(f"{self.pattern}: several frames need a numbered pattern such as frames/%05d.png")
            return self.pattern
        return self.pattern % (self.start + i)


def _png_names(pattern: str, start: int, n_frames: int | None, overwrite: bool) -> _PngNames:
    """Check a PNG output before decoding: a pattern for several frames, its folder usable, the
    names it will write free (or ``overwrite``), and a warning for other frames of the pattern."""
    names = _PngNames(pattern, start, n_frames)
    if names.single and (n_frames or 0) > 1:
        raise ConfigError(f"{pattern}: several frames need a numbered pattern such as frames/%05d.png")
    if names.single:
        output_target(pattern, overwrite)
        return names
    if "%" in str(names.parent):
        raise ConfigError(f"{pattern}: the frame number belongs in the file name, not the folder")
    if names.parent.exists() and not names.parent.is_dir():
        raise ConfigError(f"{pattern}: {names.parent} is not a directory")
    output_target(str(names.parent / "probe.png"), True)  # the folder can be written
    if names.parent.is_dir() and n_frames is not None:
        mine = {Path(names.name(i)).name for i in range(n_frames)}
        rx = re.compile("^" + _PATTERN.sub(lambda m: r"\d+", re.escape(Path(pattern).name).replace(r"\%", "%")) + "$")
        present = {p.name for p in names.parent.iterdir() if rx.match(p.name)}
        clash = sorted(present & mine)
        if clash and not overwrite:
            raise ConfigError(f"{names.parent / clash[0]}: already exists (-y overwrites the frames)")
        others = present - mine
        if others:
            warnings.warn(f"{names.parent} already holds {len(others)} other frame(s) of {Path(pattern).name} "
                          f"(e.g. {sorted(others)[0]}); they are left as they are", OutputWarning, stacklevel=3)
    return names


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: Fraction | float = Fraction(25),
                lossless: bool = False, crf: int = 12, y4m_format: str = "yuv444p12le", overwrite: bool = True,
                start_number: int = 1) -> None:
    """Write all of ``frames`` (uint8 (T, H, W, 3)) at once; see :class:`FrameWriter`."""
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be non-empty uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    with FrameWriter(path, fps, frames.shape[1:3], lossless=lossless, crf=crf, y4m_format=y4m_format,
                     overwrite=overwrite, start_number=start_number, n_frames=len(frames)) as w:
        w.write(frames)
