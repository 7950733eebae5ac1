"""x264 / x265 / AV1 anchors through PyAV's bundled FFmpeg (libx264, libx265, libsvtav1).

Two named profiles, recorded with every result:

- ``literature``: ``-preset medium``, a CRF sweep, default GOP: how NeRV-family papers run them.
  AV1: SVT-AV1's default preset 8, a CRF sweep, default GOP.
- ``strong``: ``-preset veryslow -tune psnr``, fixed-QP sweep, B-frames on, one GOP over the clip.
  AV1: preset 2, ``tune=1`` (PSNR), a CRF sweep (SVT-AV1's fixed QP needs ``aq-mode=0``, which
  switches its temporal dependency model, TPL, off), one GOP over the clip, scene detection off.

Input: the same RGB frames every codec sees, converted once to yuv420p by swscale. Size: the raw
Annex-B elementary stream (parameter sets included). x265's settings SEI is switched off
(``info=0``); x264 has no switch for its settings SEI (a user-data SEI of about 600 bytes), so we
measure it and exclude it from the size; both choices are recorded in the results. AV1: the
low-overhead OBU stream (sequence header included) without its temporal delimiters (2 bytes a
frame, carrying nothing; MP4 and Matroska drop them too); decoded by FFmpeg's AV1 decoder (dav1d).
"""

from __future__ import annotations

import io
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Literal

import numpy as np

Codec = Literal["x264", "x265", "av1"]
CODECS = ("x264", "x265", "av1")
Profile = Literal["literature", "strong"]

# Coarse sweeps (the whole useful range, 51 = the maximum); the runner refines them inside the quality
# range of the SNeRV points (runner.refinement) and reports the overlap.
CRF_SWEEP = (22, 26, 30, 34, 38, 42, 46, 51)
QP_SWEEP = (22, 26, 30, 34, 38, 42, 46, 51)
# SVT-AV1's CRF runs 1-63: 16 to 63 spans about 0.01-0.4 bpp at 144x176 to 192x384.
AV1_SWEEP = (16, 22, 28, 34, 40, 46, 52, 58, 63)

THREAD_TYPE = "AUTO"  # frame + slice flags: libx264 and the decoders pick frame threads, like the ffmpeg CLI

_LIB = {"x264": ("libx264", "h264"), "x265": ("libx265", "hevc"), "av1": ("libsvtav1", "obu")}


def default_sweep(codec: Codec, profile: Profile) -> tuple[int, ...]:
    """The coarse CRF/QP sweep of one anchor curve."""
    if codec == "av1":
        return AV1_SWEEP
    return CRF_SWEEP if profile == "literature" else QP_SWEEP


def rate_parameter(codec: Codec, profile: Profile) -> str:
    """``crf`` or ``qp``: what an anchor point's quality number is (AV1 uses CRF in both profiles)."""
    return "crf" if profile == "literature" or codec == "av1" else "qp"


@dataclass
class AnchorResult:
    codec: str
    profile: str
    quality: int  # CRF or QP
    options: dict
    bytes: int  # elementary stream, settings SEI / temporal delimiters excluded
    sei_bytes: int  # bytes excluded above: x264's settings SEI, AV1's temporal delimiters; 0 for x265
    frames: np.ndarray  # decoded RGB uint8 (T, H, W, 3)
    encode_seconds: float
    decode_seconds: float


def options_for(codec: Codec, profile: Profile, quality: int, n_frames: int) -> dict:
    if codec == "av1":  # SVT-AV1 4.x: preset 8 and tune 1 (PSNR) are its defaults
        if profile == "literature":
            return {"preset": "8", "crf": str(quality)}
        return {"preset": "2", "crf": str(quality), "g": str(n_frames),
                "svtav1-params": f"tune=1:keyint={n_frames}:scd=0"}
    if codec == "x264":
        if profile == "literature":
            return {"preset": "medium", "crf": str(quality)}
        return {"preset": "veryslow", "tune": "psnr", "qp": str(quality), "g": str(n_frames),
                "x264-params": f"keyint={n_frames}:min-keyint={n_frames}:scenecut=0:bframes=8"}
    params = "info=0:log-level=error"
    if profile == "literature":
        return {"preset": "medium", "crf": str(quality), "x265-params": params}
    return {"preset": "veryslow", "tune": "psnr", "x265-params":
            f"{params}:qp={quality}:keyint={n_frames}:min-keyint={n_frames}:scenecut=0:bframes=8"}


def _strip_x264_sei(data: bytes) -> tuple[int, int]:
    """(size without x264's settings SEI, size of that SEI). Walks Annex-B NAL units."""
    starts = []
    i = data.find(b"\x00\x00\x01")
    while i >= 0:
        starts.append(i + 3)
        i = data.find(b"\x00\x00\x01", i + 3)
    sei = 0
    for k, s in enumerate(starts):
        end = starts[k + 1] - 3 if k + 1 < len(starts) else len(data)
        nal = data[s:end]
        if nal and (nal[0] & 0x1F) == 6 and b"x264 - core" in nal:
            sei += len(nal) + 4  # with its start code (4-byte form in practice)
    return len(data) - sei, sei


def _strip_av1_temporal_delimiters(data: bytes) -> tuple[int, int]:
    """(size without temporal delimiter OBUs, their size). Walks a low-overhead OBU stream (every
    OBU carries its size field, as FFmpeg's ``obu`` muxer writes them)."""
    i, td = 0, 0
    while i < len(data):
        header = data[i]
        if not header & 0x02:
            raise ValueError("AV1 OBU without a size field")
        j, size, shift = i + 1 + ((header >> 2) & 1), 0, 0
        while True:  # leb128
            b = data[j]
            j += 1
            size |= (b & 0x7F) << shift
            shift += 7
            if not b & 0x80:
                break
        if (header >> 3) & 0xF == 2:  # OBU_TEMPORAL_DELIMITER
            td += j + size - i
        i = j + size
    return len(data) - td, td


def _elementary_size(codec: Codec, data: bytes) -> tuple[int, int]:
    """(measured size, bytes excluded from it) of an anchor's elementary stream."""
    if codec == "x264":
        return _strip_x264_sei(data)
    if codec == "av1":
        return _strip_av1_temporal_delimiters(data)
    return len(data), 0


# The libx265 in PyAV's wheels (av 17 and 18) corrupts the heap on frames smaller than its 64-pixel
# coding tree unit (reproduced here with 32x48 frames, ctu=16 or not); 64x64 and above are fine.
X265_MIN_SIDE = 64


def _yuv420p(frames: np.ndarray) -> list:
    """RGB frames -> yuv420p VideoFrames, converted once by swscale (the input every anchor sees)."""
    import av

    return [av.VideoFrame.from_ndarray(np.ascontiguousarray(f), format="rgb24").reformat(format="yuv420p")
            for f in frames]


def encode_anchor(frames: np.ndarray, fps: Fraction, codec: Codec, profile: Profile, quality: int) -> AnchorResult:
    """Encode with x264/x265/SVT-AV1 (elementary stream in memory) and decode back to RGB."""
    import av

    lib, fmt = _LIB[codec]
    t, h, w, _ = frames.shape
    if h % 2 or w % 2:
        raise ValueError("4:2:0 anchors need even frame sizes")
    if codec == "x265" and min(h, w) < X265_MIN_SIDE:
        raise ValueError(f"x265 anchors need frames of at least {X265_MIN_SIDE} px a side (the bundled libx265 "
                         f"crashes below that), got {h}x{w}")
    opts = options_for(codec, profile, quality, t)
    yuv = _yuv420p(frames)
    buf = io.BytesIO()
    t0 = time.perf_counter()
    c = av.open(buf, "w", format=fmt)
    s = c.add_stream(lib, rate=fps, options={k: v for k, v in opts.items() if k != "g"})
    s.width, s.height, s.pix_fmt = w, h, "yuv420p"
    if "g" in opts:
        s.codec_context.gop_size = int(opts["g"])
    # PyAV's default thread type is SLICE, which makes libx264 cut every frame into slices (10-20%
    # more bits at these sizes); the ffmpeg command line lets it use frame threads, as here.
    s.codec_context.thread_type = THREAD_TYPE
    for f in yuv:
        for p in s.encode(f):
            c.mux(p)
    for p in s.encode():
        c.mux(p)
    c.close()
    enc_s = time.perf_counter() - t0
    data = buf.getvalue()
    size, sei = _elementary_size(codec, data)
    dec, dec_s = decode_anchor(data, fmt)
    if len(dec) != t:
        raise RuntimeError(f"{codec} returned {len(dec)} frames for {t}")
    return AnchorResult(codec, profile, quality, {**opts, "thread_type": THREAD_TYPE}, size, sei, dec, enc_s, dec_s)


def decode_anchor(data: bytes, fmt: str) -> tuple[np.ndarray, float]:
    """Decode an elementary stream to RGB; also returns the warm decode time (second pass)."""
    import av

    def run() -> list[np.ndarray]:
        with av.open(io.BytesIO(data), format=fmt) as r:
            r.streams.video[0].thread_type = THREAD_TYPE  # frame threads, as the ffmpeg CLI decodes
            return [f.to_ndarray(format="rgb24") for f in r.decode(video=0)]

    out = run()
    t0 = time.perf_counter()
    run()
    return np.stack(out), time.perf_counter() - t0


def versions() -> dict:
    import av

    info = {"pyav": av.__version__, "ffmpeg_libs": {k: ".".join(map(str, v)) for k, v in av.library_versions.items()}}
    try:
        info["libx264"] = av.codec.Codec("libx264", "w").long_name
        info["libx265"] = av.codec.Codec("libx265", "w").long_name
        info["libsvtav1"] = av.codec.Codec("libsvtav1", "w").long_name
    except Exception:  # pragma: no cover
        pass
    return info


def ffmpeg_exe() -> str | None:
    """The ``ffmpeg`` command line for the cross-check: the one on PATH, else imageio-ffmpeg's static
    build when that package is installed (the ``dev``/``bench`` extras), else None."""
    import shutil

    exe = shutil.which("ffmpeg")
    if exe:
        return exe
    try:
        import imageio_ffmpeg

        return imageio_ffmpeg.get_ffmpeg_exe()
    except (ImportError, RuntimeError):
        return None


def ffmpeg_version(exe: str) -> str:
    import subprocess

    out = subprocess.run([exe, "-version"], capture_output=True, text=True, check=True).stdout
    return out.splitlines()[0] if out else "?"


def ffmpeg_cli_size(frames: np.ndarray, fps: Fraction, codec: Codec, profile: Profile, quality: int,
                    exe: str | None = None) -> int | None:
    """Cross-check with the ``ffmpeg`` command line: the elementary stream's size (measured like
    :func:`encode_anchor`'s) for the same yuv420p input and options; None without an ``ffmpeg``."""
    import subprocess
    import tempfile
    from pathlib import Path

    exe = exe or ffmpeg_exe()
    if exe is None:
        return None
    lib, fmt = _LIB[codec]
    t, h, w, _ = frames.shape
    opts = options_for(codec, profile, quality, t)
    with tempfile.TemporaryDirectory() as d:
        src, out = Path(d) / "in.yuv", Path(d) / f"out.{fmt}"
        with open(src, "wb") as f:
            for frame in _yuv420p(frames):  # the very planes encode_anchor feeds to the encoder
                f.write(frame.to_ndarray().tobytes())
        cmd = [exe, "-v", "error", "-y", "-f", "rawvideo", "-pix_fmt", "yuv420p", "-s", f"{w}x{h}",
               "-r", str(fps), "-i", str(src), "-c:v", lib]
        for k, v in opts.items():
            cmd += [f"-{k}", v]
        subprocess.run(cmd + ["-f", fmt, str(out)], check=True, capture_output=True)
        data = out.read_bytes()
    return _elementary_size(codec, data)[0]
