"""Video input and output (PyAV): frames are RGB uint8 arrays of shape (T, H, W, 3)."""

from .io import Video, VideoMeta, load_video, parse_frame_range, parse_size, read_video, write_video

__all__ = ["Video", "VideoMeta", "load_video", "parse_frame_range", "parse_size", "read_video", "write_video"]
