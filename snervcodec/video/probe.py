"""What a video file holds, from its container alone (packets counted, nothing decoded): enough to
refuse a frame range beyond the clip and to size segments before any frame is decoded."""

from __future__ import annotations

import os

from ..errors import VideoError
from .io import _is_pattern, parse_frame_range, parse_size


def probe(path, frames: str | None = None, size=None, crop=None) -> tuple[int, int] | None:
    """(frames, pixels per frame) a read of ``path`` would give, from the container alone (packets
    counted, nothing decoded); None for image patterns, stdin, or what PyAV cannot open."""
    import av

    path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if path is None or path == "-" or _is_pattern(path) or not os.path.isfile(path):
        return None
    start, end = parse_frame_range(frames)
    try:
        with av.open(path) as c:
            if not c.streams.video:
                return None
            st = c.streams.video[0]
            w, h = st.codec_context.width, st.codec_context.height
            n = sum(1 for pkt in c.demux(st) if pkt.size)
    except av.error.FFmpegError:
        return None
    hw = parse_size(size) or parse_size(crop) or (h, w)
    n = max(0, (n if end is None else min(n, end)) - start)
    return n, hw[0] * hw[1]


def check_frame_range(path, frames: str | None) -> None:
    """Refuse a ``--frames`` range that ends beyond a video file, by counting its packets (fast: no
    decoding); image patterns and stdin are checked as they are read."""
    import av

    start, end = parse_frame_range(frames)
    path = os.fspath(path) if isinstance(path, (str, os.PathLike)) else None
    if end is None or path is None or path == "-" or _is_pattern(path) or not os.path.isfile(path):
        return
    try:
        with av.open(path) as c:
            if not c.streams.video:
                return
            n = sum(1 for pkt in c.demux(c.streams.video[0]) if pkt.size)
    except av.error.FFmpegError:
        return  # the reader will say what is wrong
    if n < end:
        raise VideoError(f"{path}: has {n} frames; --frames {start}:{end} asks for frames up to {end - 1}")
