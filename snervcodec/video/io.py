"""Read anything PyAV opens (mp4, mkv, avi, mov, y4m, ...) and image sequences (``frames/%05d.png``)
into RGB uint8 frames; write mp4 (H.264), y4m and PNG sequences, chosen by the output's extension.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import warnings
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path
from typing import Literal

import numpy as np

from ..errors import ConfigError, VideoError
from ..fsutil import atomic_path

ResizeMode = Literal["bicubic", "area"]

# Source formats read without comment; anything else (grayscale, >8 bit, 4:2:2/4:4:4, alpha,
# palettes) is converted to 8-bit RGB with a one-line warning.
_PLAIN_FORMATS = {"yuv420p", "yuvj420p", "rgb24", "bgr24", "gbrp"}


class VideoConversionWarning(UserWarning):
    """The source was converted to 8-bit RGB (lossy for >8-bit or non-RGB sources)."""


@dataclass(frozen=True)
class VideoMeta:
    """What we know of a video besides its pixels."""

    width: int
    height: int
    n_frames: int
    fps: Fraction
    pix_fmt: str = "rgb24"
    source: str = ""


@dataclass
class Video:
    frames: np.ndarray  # (T, H, W, 3) uint8 RGB
    meta: VideoMeta

    def __post_init__(self):
        f = self.frames
        if f.dtype != np.uint8 or f.ndim != 4 or f.shape[-1] != 3:
            raise ValueError(f"frames must be uint8 (T, H, W, 3), got {f.dtype} {f.shape}")
        t, h, w, _ = f.shape
        self.meta = replace(self.meta, n_frames=t, height=h, width=w)


def parse_frame_range(spec: str | None) -> tuple[int, int | None]:
    """``"START:END"`` (END exclusive, either side optional) or ``"N"`` (the first N frames)."""
    if spec is None or spec == "":
        return 0, None
    m = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", spec)
    if m:
        start = int(m.group(1)) if m.group(1) else 0
        end = int(m.group(2)) if m.group(2) else None
    elif re.fullmatch(r"\s*\d+\s*", spec):
        start, end = 0, int(spec)
    else:
        raise ConfigError(f"frame range must look like START:END, got {spec!r}")
    if end is not None and end <= start:
        raise ConfigError(f"empty frame range {spec!r}")
    return start, end


def parse_size(spec: str | None) -> tuple[int, int] | None:
    """``"HxW"`` -> (H, W)."""
    if spec is None or spec == "":
        return None
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", spec)
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ConfigError(f"size must look like HxW (for example 192x384), got {spec!r}")
    return int(m.group(1)), int(m.group(2))


def _is_pattern(path: str) -> bool:
    return re.search(r"%0?\d*d", path) is not None


def read_video(path: str | os.PathLike, frames: str | None = None, size: str | tuple[int, int] | None = None,
               resize: ResizeMode = "bicubic", crop: str | tuple[int, int] | None = None) -> Video:
    """Decode ``path`` to RGB uint8 frames.

    Args:
        frames: ``"START:END"`` selection (END exclusive).
        size: resize every frame to ``HxW`` (after ``crop``).
        resize: ``bicubic`` (anti-aliased) or ``area``.
        crop: centre-crop to ``HxW`` before resizing (an explicit request; never done implicitly).
    """
    import av

    path = os.fspath(path)
    start, end = parse_frame_range(frames)
    size_hw = parse_size(size) if isinstance(size, str) or size is None else tuple(size)
    crop_hw = parse_size(crop) if isinstance(crop, str) or crop is None else tuple(crop)
    pattern = _is_pattern(path)
    if not pattern and not os.path.exists(path):
        raise VideoError(f"{path}: no such file")
    if not pattern and os.path.isdir(path):
        raise VideoError(f"{path}: is a directory (for an image sequence give a pattern like {path}/%05d.png)")
    try:
        container = av.open(path, format="image2" if pattern else None)
    except FileNotFoundError:
        raise VideoError(f"{path}: no such file or image sequence") from None
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as e:
        raise VideoError(f"{path}: not a readable video ({_short(e)})") from None
    with container:
        if not container.streams.video:
            raise VideoError(f"{path}: contains no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        fps = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        pix_fmt = stream.codec_context.pix_fmt or "unknown"
        out: list[np.ndarray] = []
        try:
            for i, frame in enumerate(container.decode(stream)):
                if i < start:
                    continue
                if end is not None and i >= end:
                    break
                out.append(frame.to_ndarray(format="rgb24"))
        except av.error.FFmpegError as e:
            if not out:
                raise VideoError(f"{path}: cannot decode ({_short(e)})") from None
            warnings.warn(f"{path}: decoding stopped after {start + len(out)} frames ({_short(e)})", VideoConversionWarning,
                          stacklevel=2)
    if not out:
        what = "no frames" if start == 0 else f"no frames at or after frame {start}"
        raise VideoError(f"{path}: {what}")
    if pix_fmt not in _PLAIN_FORMATS:
        warnings.warn(f"{path}: source pixel format {pix_fmt} converted to 8-bit RGB", VideoConversionWarning, stacklevel=2)
    arr = np.stack(out)
    if crop_hw is not None:
        arr = center_crop(arr, crop_hw)
    if size_hw is not None and size_hw != arr.shape[1:3]:
        arr = resize_frames(arr, size_hw, resize)
    meta = VideoMeta(width=arr.shape[2], height=arr.shape[1], n_frames=len(arr), fps=Fraction(fps),
                     pix_fmt=pix_fmt, source=path)
    return Video(arr, meta)


def _short(e: BaseException) -> str:
    return str(e).split(":")[0].strip() or type(e).__name__


def center_crop(frames: np.ndarray, hw: tuple[int, int]) -> np.ndarray:
    h, w = hw
    H, W = frames.shape[1:3]
    if h > H or w > W:
        raise ConfigError(f"cannot crop {H}x{W} frames to {h}x{w}")
    top, left = (H - h) // 2, (W - w) // 2
    return np.ascontiguousarray(frames[:, top:top + h, left:left + w])


def resize_frames(frames: np.ndarray, hw: tuple[int, int], mode: ResizeMode = "bicubic", chunk: int = 16) -> np.ndarray:
    """Resize uint8 frames with torch (anti-aliased bicubic, or area averaging)."""
    import torch
    import torch.nn.functional as F

    if mode not in ("bicubic", "area"):
        raise ConfigError(f"resize mode must be bicubic or area, got {mode!r}")
    out = np.empty((len(frames), hw[0], hw[1], 3), dtype=np.uint8)
    for i in range(0, len(frames), chunk):
        x = torch.from_numpy(frames[i:i + chunk]).permute(0, 3, 1, 2).float()
        if mode == "area":
            y = F.interpolate(x, size=hw, mode="area")
        else:
            y = F.interpolate(x, size=hw, mode="bicubic", align_corners=False, antialias=True)
        out[i:i + chunk] = y.round().clamp(0, 255).to(torch.uint8).permute(0, 2, 3, 1).numpy()
    return out


# ----------------------------------------------------------------------------------------------
# Writing

WriterKind = Literal["mp4", "y4m", "png"]


def writer_for(path: str) -> WriterKind:
    ext = Path(path).suffix.lower()
    if ext in (".mp4", ".mkv", ".mov"):
        return "mp4"
    if ext == ".y4m":
        return "y4m"
    if ext == ".png":
        return "png"
    raise ConfigError(f"{path}: unknown output type {ext or '(none)'}; use .mp4, .mkv, .mov, .y4m or a %05d.png pattern")


def write_video(path: str | os.PathLike, frames: np.ndarray, fps: Fraction | float = Fraction(25),
                lossless: bool = False, crf: int = 12, y4m_format: str = "yuv444p12le") -> None:
    """Write RGB uint8 frames; the extension picks the writer, and the write is atomic.

    - ``.mp4``/``.mkv``/``.mov``: H.264 yuv420p at ``crf`` (12: visually lossless); with
      ``lossless=True``, libx264rgb at QP 0 (bit-exact RGB).
    - ``.y4m``: uncompressed, 4:4:4 12-bit by default, which round-trips 8-bit RGB exactly (every one
      of the 2^24 colours); ``y4m_format="yuv420p"`` for tools that only read 8-bit 4:2:0.
    - ``.png`` with a ``%05d`` pattern: one lossless PNG per frame, numbered from 1.
    """
    path = os.fspath(path)
    if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[-1] != 3 or len(frames) == 0:
        raise ValueError(f"frames must be non-empty uint8 (T, H, W, 3), got {frames.dtype} {frames.shape}")
    kind = writer_for(path)
    fps = Fraction(fps).limit_denominator(1 << 16) if not isinstance(fps, Fraction) else fps
    if kind == "png":
        _write_png_sequence(path, frames)
        return
    container_format = {".mkv": "matroska", ".mov": "mov"}.get(Path(path).suffix.lower(), "mp4")
    with atomic_path(path) as tmp:
        _encode(str(tmp), frames, fps, kind, container_format, lossless, crf, y4m_format)


def _encode(path: str, frames: np.ndarray, fps: Fraction, kind: WriterKind, container_format: str, lossless: bool,
            crf: int, y4m_format: str) -> None:
    import av

    h, w = frames.shape[1:3]
    if kind == "y4m":
        container = av.open(path, "w", format="yuv4mpegpipe", options={"strict": "-1"})
        stream = container.add_stream("rawvideo", rate=fps)
        pix_fmt = y4m_format
    else:
        container = av.open(path, "w", format=container_format)
        if lossless:
            stream = container.add_stream("libx264rgb", rate=fps, options={"qp": "0", "preset": "medium"})
            pix_fmt = "rgb24"
        else:
            if h % 2 or w % 2:
                raise VideoError(f"H.264 4:2:0 needs even sizes, got {h}x{w}: write .y4m or PNGs, or use lossless mp4")
            stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "preset": "medium"})
            pix_fmt = "yuv420p"
    stream.width, stream.height, stream.pix_fmt = w, h, pix_fmt
    try:
        for f in frames:
            vf = av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")
            if pix_fmt != "rgb24":
                vf = vf.reformat(format=pix_fmt)
            for packet in stream.encode(vf):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()


def _write_png_sequence(pattern: str, frames: np.ndarray) -> None:
    import av

    if not _is_pattern(pattern):
        if len(frames) != 1:
            raise ConfigError(f"{pattern}: several frames need a numbered pattern such as frames/%05d.png")
        names = [pattern]
    else:
        names = [pattern % (i + 1) for i in range(len(frames))]
    out_dir = Path(names[0]).parent
    out_dir.mkdir(parents=True, exist_ok=True)
    tmp_dir = Path(tempfile.mkdtemp(prefix=".snerv-png.", dir=out_dir))
    try:
        tmp_names = []
        for i, f in enumerate(frames):
            tmp = tmp_dir / f"{i:08d}.png"
            c = av.open(str(tmp), "w", format="image2")
            s = c.add_stream("png")
            s.width, s.height, s.pix_fmt = f.shape[1], f.shape[0], "rgb24"
            for p in s.encode(av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24")):
                c.mux(p)
            for p in s.encode():
                c.mux(p)
            c.close()
            tmp_names.append(tmp)
        # All frames written: move them into place (each rename is atomic).
        for tmp, name in zip(tmp_names, names):
            os.replace(tmp, name)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)


def load_video(source: "str | os.PathLike | np.ndarray | Video", frames: str | None = None, size: str | None = None,
               crop: str | None = None, resize: str = "bicubic") -> Video:
    """A path (read with PyAV), a ``Video``, or a (T, H, W, 3) uint8 array (25 fps)."""
    if isinstance(source, Video):
        return source
    if isinstance(source, np.ndarray):
        return Video(source, VideoMeta(width=0, height=0, n_frames=0, fps=Fraction(25), source="<array>"))
    return read_video(source, frames=frames, size=size, crop=crop, resize=resize)  # type: ignore[arg-type]
