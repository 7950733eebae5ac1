"""Video input and output (PyAV): frames are RGB uint8 arrays of shape (T, H, W, 3)."""

from .io import Video, VideoMeta, load_video, parse_frame_range, parse_size, read_video
from .writer import Y4M_FORMATS, FrameWriter, write_video, writer_for

__all__ = ["FrameWriter", "Video", "VideoMeta", "Y4M_FORMATS", "load_video", "parse_frame_range", "parse_size",
           "read_video", "write_video", "writer_for"]
