"""The frame writer (issue 17): streaming, atomic files, devices and FIFOs written into, symlinks
followed, overwrite control, PNG numbering, checks before the first frame."""

import os
import threading
import warnings
from fractions import Fraction

import numpy as np
import pytest

from snervcodec.errors import ConfigError, VideoError
from snervcodec.video import FrameWriter, read_video, write_video
from snervcodec.video.io import VideoConversionWarning
from snervcodec.video.writer import OutputWarning


def _frames(rng, t=3, h=16, w=24):
    return rng.integers(0, 256, (t, h, w, 3), dtype=np.uint8)


def _read(path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", VideoConversionWarning)
        return read_video(path).frames


def test_batches_stream_into_one_file(tmp_path, rng):
    x = _frames(rng, t=7)
    with FrameWriter(tmp_path / "a.y4m", 25, (16, 24)) as w:
        for i in range(0, 7, 3):
            w.write(x[i:i + 3])
            assert not (tmp_path / "a.y4m").exists()  # atomic: the name appears with the last frame
    assert np.array_equal(_read(tmp_path / "a.y4m"), x)


def test_a_failure_mid_stream_leaves_nothing(tmp_path, rng):
    x = _frames(rng)
    (tmp_path / "a.mp4").write_bytes(b"old")
    with pytest.raises(RuntimeError):
        with FrameWriter(tmp_path / "a.mp4", 25, (16, 24), lossless=True) as w:
            w.write(x)
            raise RuntimeError("decoder died")
    assert (tmp_path / "a.mp4").read_bytes() == b"old" and sorted(os.listdir(tmp_path)) == ["a.mp4"]


def test_character_device_is_written_into_and_stays_a_device(rng):
    before = os.stat("/dev/null")
    write_video("/dev/null", _frames(rng), 25, overwrite=False)  # no extension: y4m; no -y needed
    after = os.stat("/dev/null")
    assert after.st_rdev == before.st_rdev and os.path.exists("/dev/null")
    import stat

    assert stat.S_ISCHR(after.st_mode)


def test_fifo_is_written_into(tmp_path, rng):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    got = []
    t = threading.Thread(target=lambda: got.append(open(fifo, "rb").read()))
    t.start()
    x = _frames(rng)
    write_video(fifo, x, 25)
    t.join(timeout=30)
    assert got and got[0].startswith(b"YUV4MPEG2") and stat_is_fifo(fifo)
    (tmp_path / "copy.y4m").write_bytes(got[0])
    assert np.array_equal(_read(tmp_path / "copy.y4m"), x)


def stat_is_fifo(p):
    import stat

    return stat.S_ISFIFO(os.stat(p).st_mode)


def test_symlink_is_followed_and_kept(tmp_path, rng):
    real = tmp_path / "real.y4m"
    real.write_bytes(b"old")
    link = tmp_path / "link.y4m"
    link.symlink_to(real)
    x = _frames(rng)
    write_video(link, x, 25)
    assert link.is_symlink() and np.array_equal(_read(real), x)


def test_existing_file_needs_overwrite(tmp_path, rng):
    p = tmp_path / "a.y4m"
    p.write_bytes(b"precious")
    with pytest.raises(ConfigError, match="already exists"):
        write_video(p, _frames(rng), 25, overwrite=False)
    assert p.read_bytes() == b"precious"
    write_video(p, _frames(rng), 25, overwrite=True)
    assert p.read_bytes() != b"precious"


@pytest.mark.parametrize("make, match", [
    (lambda d: d / "dir.y4m", "is a directory"),
    (lambda d: d / "file" / "x.y4m", "(?i)not a directory"),
    (lambda d: d / "x.avi", "unknown output type"),
])
def test_bad_outputs_are_refused_before_any_frame(tmp_path, make, match):
    (tmp_path / "dir.y4m").mkdir()
    (tmp_path / "file").write_text("a file")
    with pytest.raises(ConfigError, match=match):
        FrameWriter(make(tmp_path), 25, (16, 24))


def test_unwritable_folder_is_refused(tmp_path):
    if os.geteuid() == 0:  # root writes anywhere mode bits say no; sysfs refuses new files even to root
        folder = "/sys"
    else:
        folder = tmp_path / "ro"
        folder.mkdir()
        folder.chmod(0o500)
    with pytest.raises(ConfigError, match="cannot write in"):
        FrameWriter(f"{folder}/x.y4m", 25, (16, 24))


def test_odd_sizes_to_420_are_refused_at_once(tmp_path):
    with pytest.raises(VideoError, match="even sizes"):
        FrameWriter(tmp_path / "a.mp4", 25, (15, 24))
    with pytest.raises(VideoError, match="even sizes"):
        FrameWriter(tmp_path / "a.y4m", 25, (16, 23), y4m_format="yuv420p")
    FrameWriter(tmp_path / "a.mp4", 25, (15, 24), lossless=True)  # RGB: any size


def test_y4m_formats(tmp_path, rng):
    x = _frames(rng)
    write_video(tmp_path / "a.y4m", x, 25, y4m_format="yuv420p")
    assert (tmp_path / "a.y4m").read_bytes().split(b"\n", 1)[0].find(b"C420") > 0
    assert _read(tmp_path / "a.y4m").shape == x.shape
    with pytest.raises(ConfigError, match="y4m pixel format"):
        FrameWriter(tmp_path / "b.y4m", 25, (16, 24), y4m_format="rgb48")


def test_png_numbers_and_folder_checks(tmp_path, rng):
    x = _frames(rng, t=2)
    pat = str(tmp_path / "f" / "%05d.png")
    write_video(pat, x, 25, start_number=4)
    assert sorted(os.listdir(tmp_path / "f")) == ["00004.png", "00005.png"]
    with pytest.raises(ConfigError, match="already exists"):
        write_video(pat, x, 25, start_number=5, overwrite=False)
    with pytest.warns(OutputWarning, match="other frame"):
        write_video(pat, x, 25, start_number=1, overwrite=False)
    assert sorted(os.listdir(tmp_path / "f")) == ["00001.png", "00002.png", "00004.png", "00005.png"]
    with pytest.raises(ConfigError, match="numbered pattern"):
        write_video(tmp_path / "one.png", x, 25)


def test_stdout(capfdbinary, rng):
    x = _frames(rng)
    write_video("-", x, Fraction(25))
    out = capfdbinary.readouterr().out
    assert out.startswith(b"YUV4MPEG2") and len(out) > x.size
