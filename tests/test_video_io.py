import warnings
from fractions import Fraction

import numpy as np
import pytest

from snervcodec.bench.anchors import X265_MIN_SIDE
from snervcodec.errors import ConfigError, VideoError
from snervcodec.video import parse_frame_range, parse_size, read_video, write_video
from snervcodec.video.io import VideoConversionWarning


def _frames(rng, t=3, h=36, w=44):
    return rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)


@pytest.mark.parametrize("name", ["clip.y4m", "seq/%05d.png", "clip_lossless.mp4"])
def test_lossless_round_trips_bit_exact(tmp_path, rng, name):
    x = _frames(rng)
    path = tmp_path / name
    write_video(path, x, Fraction(30000, 1001), lossless=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VideoConversionWarning)
        v = read_video(path)
    assert np.array_equal(v.frames, x)
    assert v.meta.n_frames == 3 and (v.meta.height, v.meta.width) == (36, 44)
    if not name.endswith(".png"):
        assert v.meta.fps == Fraction(30000, 1001)


def test_y4m_odd_size_bit_exact(tmp_path, rng):
    x = _frames(rng, t=2, h=17, w=31)
    write_video(tmp_path / "odd.y4m", x, 25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VideoConversionWarning)
        assert np.array_equal(read_video(tmp_path / "odd.y4m").frames, x)


def test_mp4_default_is_high_quality(tmp_path, carphone_path):
    v = read_video(carphone_path, frames="0:5")
    write_video(tmp_path / "c.mp4", v.frames, v.meta.fps)
    back = read_video(tmp_path / "c.mp4")
    mse = np.mean((back.frames.astype(float) - v.frames) ** 2)
    assert 10 * np.log10(255 ** 2 / mse) > 35  # 4:2:0 chroma subsampling itself caps this near 38 dB


def test_frame_selection_and_meta(carphone_path):
    v = read_video(carphone_path, frames="10:14")
    assert v.frames.shape == (4, 144, 176, 3)
    assert v.meta.fps == Fraction(30000, 1001) and v.meta.pix_fmt == "yuv420p"
    full = read_video(carphone_path, frames="10:11")
    assert np.array_equal(full.frames[0], v.frames[0])


def test_crop_and_resize(bunny_path):
    v = read_video(bunny_path, frames="0:2", crop="640x1280", size="192x384")
    assert v.frames.shape == (2, 192, 384, 3)
    a = read_video(bunny_path, frames="0:1", size="36x64", resize="area")
    assert a.frames.shape == (1, 36, 64, 3)


def test_one_frame_video(tmp_path, rng):
    x = _frames(rng, t=1)
    write_video(tmp_path / "one.mp4", x, 25, lossless=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VideoConversionWarning)
        assert read_video(tmp_path / "one.mp4").frames.shape == (1, 36, 44, 3)


def _write_with_pix_fmt(path, frames, pix_fmt, codec="libx264", options=None):
    import av

    c = av.open(str(path), "w")
    s = c.add_stream(codec, rate=25, options=options or {})
    s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], pix_fmt
    for f in frames:
        for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24").reformat(format=pix_fmt)):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


# libx265 (PyAV's wheels) corrupts the heap below X265_MIN_SIDE px a side (bench/anchors.py) and sometimes
# hands out its first packet with a garbage DTS, which the MP4 muxer rejects: HEVC sources are
# written 64x96 as a raw elementary stream (no timestamps to check); FFV1 covers 10-bit deterministically.
@pytest.mark.parametrize("pix_fmt,codec,name,hw", [
    ("gray", "ffv1", "v.mkv", (32, 48)), ("yuv420p10le", "ffv1", "v.mkv", (32, 48)),
    ("yuv420p10le", "libx265", "v.hevc", (X265_MIN_SIDE, 96)), ("yuv444p", "libx264", "v.mp4", (32, 48))])
def test_unusual_sources_convert_with_warning(tmp_path, rng, pix_fmt, codec, name, hw):
    x = _frames(rng, t=2, h=hw[0], w=hw[1])
    path = tmp_path / name
    _write_with_pix_fmt(path, x, pix_fmt, codec, {"x265-params": "log-level=error"} if codec == "libx265" else None)
    with pytest.warns(VideoConversionWarning, match="converted to 8-bit RGB"):
        v = read_video(path)
    assert v.frames.dtype == np.uint8 and v.frames.shape == (2, *hw, 3)
    if pix_fmt == "gray":
        assert np.array_equal(v.frames[..., 0], v.frames[..., 1])


def test_errors(tmp_path):
    with pytest.raises(VideoError, match="no such file"):
        read_video(tmp_path / "missing.mp4")
    junk = tmp_path / "junk.mp4"
    junk.write_bytes(b"this is not a video" * 10)
    with pytest.raises(VideoError, match="not a readable video"):
        read_video(junk)
    with pytest.raises(VideoError, match="directory"):
        read_video(tmp_path)


def test_no_video_stream(tmp_path):
    import av

    path = tmp_path / "audio.mkv"
    c = av.open(str(path), "w")
    s = c.add_stream("pcm_s16le", rate=8000)
    frame = av.AudioFrame.from_ndarray(np.zeros((1, 800), dtype=np.int16), format="s16", layout="mono")
    frame.sample_rate = 8000
    for p in s.encode(frame):
        c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    with pytest.raises(VideoError, match="no video stream"):
        read_video(path)


def test_zero_frames_selected(carphone_path):
    with pytest.raises(VideoError, match="no frames"):
        read_video(carphone_path, frames="500:510")


def test_parsers():
    assert parse_frame_range("3:9") == (3, 9) and parse_frame_range(":5") == (0, 5) and parse_frame_range("4") == (0, 4)
    assert parse_size("192x384") == (192, 384)
    for bad in ["a:b", "5:5", "9:3"]:
        with pytest.raises(ConfigError):
            parse_frame_range(bad)
    for bad in ["192", "0x5", "axb"]:
        with pytest.raises(ConfigError):
            parse_size(bad)


def test_atomic_write_keeps_existing_file(tmp_path, rng, monkeypatch):
    path = tmp_path / "out.y4m"
    path.write_bytes(b"precious")
    from snervcodec.video.writer import FrameWriter

    def boom(*a, **k):
        raise KeyboardInterrupt

    monkeypatch.setattr(FrameWriter, "write", boom)
    with pytest.raises(KeyboardInterrupt):
        write_video(path, _frames(rng), 25)
    assert path.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["out.y4m"]


# ------------------------------------------------------------------------------------------------
# Real-world inputs (issue 17)

def _rotated_clip(path, degrees, frames):
    import av

    c = av.open(str(path), "w")
    s = c.add_stream("libx264rgb", rate=25, options={"qp": "0"})
    s.width, s.height, s.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
    s.set_display_rotation(degrees)
    for f in frames:
        for p in s.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()


@pytest.mark.parametrize("degrees, turns", [(-90, -1), (90, 1), (180, 2), (0, 0)])
def test_rotation_metadata_is_applied(tmp_path, rng, degrees, turns):
    """A phone's display matrix (-90: shown turned a quarter clockwise) gives the frames a player shows."""
    x = _frames(rng, t=2, h=16, w=24)
    _rotated_clip(tmp_path / "r.mp4", degrees, x)
    v = read_video(tmp_path / "r.mp4")
    assert np.array_equal(v.frames, np.stack([np.rot90(f, turns) for f in x]))


def test_frames_beyond_the_clip_are_an_error(carphone_path):
    with pytest.raises(VideoError, match="asks for frames up to 999"):
        read_video(carphone_path, frames="0:1000")
    with pytest.raises(VideoError, match="no frames at or after frame 5000"):
        read_video(carphone_path, frames="5000:5001")


def test_variable_frame_rate_warns(tmp_path, rng):
    import av

    x = _frames(rng, t=6, h=16, w=24)
    c = av.open(str(tmp_path / "vfr.mkv"), "w")
    s = c.add_stream("libx264rgb", rate=25, options={"qp": "0"})
    s.width, s.height, s.pix_fmt = 24, 16, "rgb24"
    s.codec_context.time_base = Fraction(1, 1000)
    for f, t in zip(x, [0, 40, 80, 200, 240, 400]):
        vf = av.VideoFrame.from_ndarray(f, format="rgb24")
        vf.pts, vf.time_base = t, Fraction(1, 1000)
        for p in s.encode(vf):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    with pytest.warns(VideoConversionWarning, match="variable frame rate"):
        read_video(tmp_path / "vfr.mkv")
    with warnings.catch_warnings():
        warnings.simplefilter("error", VideoConversionWarning)
        v = read_video(tmp_path / "vfr.mkv", fps=12.5)  # a rate given: no guessing, no warning
    assert v.meta.fps == Fraction(25, 2)


def test_fps_for_image_sequences(tmp_path, rng):
    x = _frames(rng)
    write_video(tmp_path / "%03d.png", x, 25)
    assert read_video(tmp_path / "%03d.png").meta.fps == 25
    assert read_video(tmp_path / "%03d.png", fps=Fraction(30000, 1001)).meta.fps == Fraction(30000, 1001)
    with pytest.raises(ConfigError, match="fps"):
        read_video(tmp_path / "%03d.png", fps=0)


@pytest.mark.parametrize("kind", ["array", "Video"])
@pytest.mark.parametrize("args", [{"frames": "1:4"}, {"frames": "2"}, {"crop": "24x30"}, {"size": "18x22"},
                                  {"size": "18x22", "resize": "area"},
                                  {"frames": "3:", "crop": "30x40", "size": "15x20"}])
def test_load_video_applies_the_selection_to_arrays_and_videos(tmp_path, rng, kind, args):
    """An array or a Video gets the frames, crop and size a file with the same pixels gets."""
    from snervcodec.video import Video, VideoMeta, load_video

    x = _frames(rng, t=5)
    write_video(tmp_path / "x.y4m", x, 25)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VideoConversionWarning)
        want = load_video(tmp_path / "x.y4m", **args).frames
    src = x if kind == "array" else Video(x, VideoMeta(0, 0, 0, Fraction(30)))
    got = load_video(src, **args)
    assert got.frames.shape == want.shape and np.array_equal(got.frames, want)
    assert got.meta.n_frames == len(want) and (got.meta.height, got.meta.width) == want.shape[1:3]
    assert got.meta.fps == (25 if kind == "array" else 30)


@pytest.mark.parametrize("kind", ["array", "Video"])
def test_load_video_refuses_what_an_array_does_not_hold(rng, kind):
    from snervcodec.video import Video, VideoMeta, load_video

    x = _frames(rng, t=5)
    src = x if kind == "array" else Video(x, VideoMeta(0, 0, 0, Fraction(25)))
    with pytest.raises(VideoError, match="asks for frames up to 6"):
        load_video(src, frames="0:7")
    with pytest.raises(VideoError, match="no frames at or after frame 5"):
        load_video(src, frames="5:")
    with pytest.raises(ConfigError, match="cannot crop"):
        load_video(src, crop="40x40")
    with pytest.raises(ConfigError, match="size must look like"):
        load_video(src, size="big")
    with pytest.raises(ConfigError, match="resize mode"):
        load_video(src, size="10x10", resize="nearest")
    with pytest.raises(ConfigError, match="fps"):
        load_video(src, fps=-1)
