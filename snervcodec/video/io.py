"""Read anything PyAV opens (mp4, mkv, avi, mov, y4m, ...) and image sequences (``frames/%05d.png``)
into RGB uint8 frames (writing: :mod:`.writer`)."""

from __future__ import annotations

import math
import os
import re
import warnings
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Iterator, Literal

import numpy as np

from ..errors import ConfigError, VideoError

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
    first_frame: int = 0  # of the selection, for a segment of it


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


def parse_frame_range(spec) -> tuple[int, int | None]:
    """[start, end) of ``"START:END"`` (END exclusive, either side optional), ``"N"`` (the first N
    frames), ``range(START, END)``, ``slice(START, END)`` or a ``(START, END)`` pair (END may be None)."""
    if spec is None or spec == "":
        return 0, None
    if isinstance(spec, (range, slice)):
        if spec.step not in (None, 1):
            raise ConfigError(f"a frame range has step 1, got {spec!r}")
        start, end = spec.start or 0, spec.stop
    elif isinstance(spec, tuple) and len(spec) == 2:
        start, end = spec
    elif isinstance(spec, str):
        m = re.fullmatch(r"\s*(\d*)\s*:\s*(\d*)\s*", spec)
        if m:
            start = int(m.group(1)) if m.group(1) else 0
            end = int(m.group(2)) if m.group(2) else None
        elif re.fullmatch(r"\s*\d+\s*", spec):
            start, end = 0, int(spec)
        else:
            raise ConfigError(f"frame range must look like START:END, got {spec!r}")
    else:
        raise ConfigError(f"frame range must be START:END, a range or a slice, got {spec!r}")
    if not isinstance(start, int) or start < 0 or not (end is None or isinstance(end, int)):
        raise ConfigError(f"frame range must hold frame numbers from 0, got {spec!r}")
    if end is not None and end <= start:
        raise ConfigError(f"empty frame range {spec!r}")
    return start, end


def parse_size(spec) -> tuple[int, int] | None:
    """``"HxW"`` or an ``(H, W)`` pair -> (H, W)."""
    if spec is None or spec == "":
        return None
    if isinstance(spec, (tuple, list)) and len(spec) == 2 and all(isinstance(v, int) for v in spec):
        if min(spec) < 1:
            raise ConfigError(f"a size is two positive integers (H, W), got {tuple(spec)}")
        return int(spec[0]), int(spec[1])
    m = re.fullmatch(r"\s*(\d+)\s*[xX]\s*(\d+)\s*", spec) if isinstance(spec, str) else None
    if not m or int(m.group(1)) < 1 or int(m.group(2)) < 1:
        raise ConfigError(f"size must look like HxW (for example 192x384), got {spec!r}")
    return int(m.group(1)), int(m.group(2))


def _is_pattern(path: str) -> bool:
    return re.search(r"%0?\d*d", path) is not None


def read_video(path: str | os.PathLike, frames: str | None = None, size: str | tuple[int, int] | None = None,
               resize: ResizeMode = "bicubic", crop: str | tuple[int, int] | None = None,
               fps: float | Fraction | None = None) -> Video:
    """Decode ``path`` (``-``: y4m on stdin) to upright RGB uint8 frames.

    Args:
        frames: ``"START:END"`` selection (END exclusive); a range the clip does not hold is an error.
        size: resize every frame to ``HxW`` (after ``crop``).
        resize: ``bicubic`` (anti-aliased) or ``area``.
        crop: centre-crop to ``HxW`` before resizing (an explicit request; never done implicitly).
        fps: the frame rate to keep (default: the source's; image sequences have none: 25).

    Rotation metadata (a phone's display matrix) is applied, so the frames are what a player shows;
    a variable frame rate gets a warning (the stream stores one rate).
    """
    parts = list(iter_segments(path, None, frames=frames, size=size, resize=resize, crop=crop, fps=fps))
    return parts[0]


def iter_segments(path: str | os.PathLike, segment_frames: int | None, frames: str | None = None,
                  size: str | tuple[int, int] | None = None, resize: ResizeMode = "bicubic",
                  crop: str | tuple[int, int] | None = None, fps: float | Fraction | None = None,
                  scene_cut: float | None = None) -> Iterator[Video]:
    """Consecutive segments of ``segment_frames`` frames (the last may be shorter; ``None``: one
    segment, the whole selection), decoded lazily in one pass: memory holds one segment, whatever
    the video's length. Arguments as :func:`read_video`; each segment's ``meta.source`` is the path
    and its first frame is ``meta.first_frame`` of the selection. ``scene_cut``: also end a segment
    (of at least :data:`MIN_SCENE_FRAMES`) where the picture changes by more than this
    (:func:`scene_change`, 0..1)."""
    path = os.fspath(path)
    start, end = parse_frame_range(frames)
    size_hw, crop_hw = parse_size(size), parse_size(crop)
    if fps is not None and not (math.isfinite(float(fps)) and float(fps) > 0):
        raise ConfigError(f"fps must be a positive number, got {fps}")
    if segment_frames is not None and segment_frames < 1:
        raise ConfigError(f"segments need at least one frame, got {segment_frames}")
    pattern = _is_pattern(path)
    container, name = _open_source(path)
    with container:
        if not container.streams.video:
            raise VideoError(f"{name}: contains no video stream")
        stream = container.streams.video[0]
        stream.thread_type = "AUTO"
        rate = stream.average_rate or stream.guessed_rate or stream.base_rate or Fraction(25)
        pix_fmt = stream.codec_context.pix_fmt or "unknown"
        keep = Fraction(fps).limit_denominator(1 << 16) if fps is not None else Fraction(rate)
        pending: list[np.ndarray] = []
        pts: list[int] = []
        rotation = None
        done = 0  # frames already yielded
        seen = [0]  # frames decoded, the skipped ones included

        def flush() -> Video:
            nonlocal pending, done
            if done == 0 and fps is None and not pattern and _variable_rate(pts):
                _warn_vfr(name, rate)
            seg = _segment(pending, crop_hw, size_hw, resize,
                           VideoMeta(0, 0, 0, fps=keep, pix_fmt=pix_fmt, source=path, first_frame=done))
            done, pending = done + len(pending), []
            return seg

        for frame in _decoded(container, stream, name, start, end, seen):
            if rotation is None:
                rotation = _quarter_turns(frame, name)
                if pix_fmt not in _PLAIN_FORMATS:
                    warnings.warn(f"{name}: source pixel format {pix_fmt} converted to 8-bit RGB",
                                  VideoConversionWarning, stacklevel=2)
            a = frame.to_ndarray(format="rgb24")
            a = np.ascontiguousarray(np.rot90(a, rotation)) if rotation else a
            if scene_cut is not None and len(pending) >= MIN_SCENE_FRAMES and scene_change(pending[-1], a) > scene_cut:
                yield flush()
            pending.append(a)
            if frame.pts is not None and len(pts) < 1000:
                pts.append(int(frame.pts))
            if segment_frames is not None and len(pending) == segment_frames:
                yield flush()
    total = done + len(pending)
    if not total:
        what = "no frames" if start == 0 else f"no frames at or after frame {start} (it has {seen[0]})"
        raise VideoError(f"{name}: {what}")
    if end is not None and start + total < end:
        raise VideoError(f"{name}: has {start + total} frames; --frames {start}:{end} asks for frames up to {end - 1}")
    if pending:
        yield flush()


def _decoded(container, stream, name: str, start: int, end: int | None, seen: list[int]):
    """The decoded frames [start, end) of ``stream`` (``seen[0]`` counts every frame decoded). A
    decoding error after some selected frames ends the read with a warning; before any, it is an error."""
    import av

    frames = container.decode(stream)
    while end is None or seen[0] < end:
        try:
            frame = next(frames)
        except StopIteration:
            return
        except av.error.FFmpegError as e:
            if seen[0] <= start:
                raise VideoError(f"{name}: cannot decode ({_short(e)})") from None
            warnings.warn(f"{name}: decoding stopped after {seen[0]} frames ({_short(e)})", VideoConversionWarning,
                          stacklevel=3)
            return
        seen[0] += 1
        if seen[0] > start:
            yield frame


MIN_SCENE_FRAMES = 8  # a scene cut never makes a segment shorter than this
# Between consecutive frames of one shot, scene_change stays below 0.036 in Bunny and carphone (their
# largest); Bunny's last frame to carphone's first is 0.21. Half-way, on a log scale, with margin:
SCENE_CUT = 0.1


def scene_change(a: np.ndarray, b: np.ndarray) -> float:
    """How much the picture changes from frame ``a`` to ``b`` (uint8 RGB), 0..1: the mean absolute
    difference of their 8x-subsampled pixels. Motion within a shot stays low; a cut to another
    shot is high (docs/long-videos.md "Scene cuts")."""
    return float(np.abs(a[::8, ::8].astype(np.int16) - b[::8, ::8].astype(np.int16)).mean() / 255)


def _segment(frames: list[np.ndarray], crop_hw, size_hw, resize: ResizeMode, meta: VideoMeta) -> Video:
    """Decoded frames as a Video: centre-cropped, then resized, when asked."""
    arr = np.stack(frames)
    if crop_hw is not None:
        arr = center_crop(arr, crop_hw)
    if size_hw is not None and size_hw != arr.shape[1:3]:
        arr = resize_frames(arr, size_hw, resize)
    return Video(arr, meta)  # Video fills in the size and frame count


def _open_source(path: str):
    """(PyAV container, the name errors use) for a file, an image pattern or ``-`` (y4m on stdin)."""
    import av

    pattern, stdin = _is_pattern(path), path == "-"
    if not pattern and not stdin and not os.path.exists(path):
        raise VideoError(f"{path}: no such file")
    if not pattern and not stdin and os.path.isdir(path):
        raise VideoError(f"{path}: is a directory (for an image sequence give a pattern like {path}/%05d.png)")
    try:
        if stdin:
            import sys

            return av.open(sys.stdin.buffer, format="yuv4mpegpipe"), "stdin"
        return av.open(path, format="image2" if pattern else None), path
    except FileNotFoundError:
        raise VideoError(f"{path}: no such file or image sequence") from None
    except (av.error.FFmpegError, UnicodeDecodeError, OSError) as e:
        what = "y4m on stdin" if stdin else "a readable video"
        raise VideoError(f"{path}: not {what} ({_short(e)})") from None


def _warn_vfr(name: str, rate: Fraction) -> None:
    warnings.warn(f"{name}: variable frame rate; the stream keeps one rate, {float(rate):.3f} fps "
                  "(--fps sets another)", VideoConversionWarning, stacklevel=3)


def _quarter_turns(frame, name: str) -> int:
    """Counter-clockwise quarter turns that show ``frame`` upright (its display matrix; ffmpeg's
    autorotate). Rotations that are not quarter turns are refused rather than guessed."""
    deg = float(getattr(frame, "rotation", 0) or 0)
    k = round(deg / 90)
    if abs(deg - 90 * k) > 1e-3:
        raise VideoError(f"{name}: rotated by {deg:g} degrees in its metadata; only quarter turns are supported "
                         "(rotate it first, e.g. ffmpeg -vf rotate)")
    return k % 4


def _variable_rate(pts: list[int]) -> bool:
    """True when the presentation timestamps are not evenly spaced (beyond 1% of the median step)."""
    if len(pts) < 3:
        return False
    d = np.diff(np.sort(np.asarray(pts, dtype=np.int64)))
    med = float(np.median(d))
    return med > 0 and float(np.max(np.abs(d - med))) > 0.01 * med + 1


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


def load_video(source: "str | os.PathLike | np.ndarray | Video", frames: str | None = None, size: str | None = None,
               crop: str | None = None, resize: str = "bicubic", fps: float | None = None) -> Video:
    """A path (read with PyAV; ``-``: y4m on stdin), a ``Video``, or a (T, H, W, 3) uint8 array
    (25 fps unless ``fps``). ``frames``, ``crop``, ``size`` and ``resize`` apply to all three alike."""
    if isinstance(source, (Video, np.ndarray)):
        return _select(source, frames, size, crop, resize, fps)  # type: ignore[arg-type]
    return read_video(source, frames=frames, size=size, crop=crop, resize=resize, fps=fps)  # type: ignore[arg-type]


def _select(source: "np.ndarray | Video", frames: str | None, size, crop, resize: ResizeMode, fps) -> Video:
    """Frames already in memory as :func:`read_video` would give them from a file: the selection,
    then the centre crop, then the resize, checked with the same errors."""
    if fps is not None and not (math.isfinite(float(fps)) and float(fps) > 0):
        raise ConfigError(f"fps must be a positive number, got {fps}")
    if isinstance(source, Video):
        arr, meta = source.frames, source.meta
    else:
        arr, meta = source, VideoMeta(width=0, height=0, n_frames=0, fps=Fraction(25), source="<array>")
        Video(arr, meta)  # checks the array's shape and type
    if fps is not None:
        meta = replace(meta, fps=Fraction(fps).limit_denominator(1 << 16))
    if frames is None and size is None and crop is None:
        return source if isinstance(source, Video) and fps is None else Video(arr, meta)
    start, end = parse_frame_range(frames)
    size_hw = parse_size(size) if isinstance(size, str) or size is None else tuple(size)
    crop_hw = parse_size(crop) if isinstance(crop, str) or crop is None else tuple(crop)
    name, n = meta.source or "<array>", len(arr)
    if start >= n:
        raise VideoError(f"{name}: no frames at or after frame {start} (it has {n})")
    if end is not None and end > n:
        raise VideoError(f"{name}: has {n} frames; --frames {start}:{end} asks for frames up to {end - 1}")
    return _segment(list(arr[start:end]), crop_hw, size_hw, resize, meta)
