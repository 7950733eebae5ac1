"""Decoding: rebuild the network from the stream alone, synthesise frames, crop the padding
(paper Sec. 3.2: the decoder outputs the four Haar bands, the inverse DWT gives the frame)."""

from __future__ import annotations

import contextlib
import os
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.container import MAGIC
from ..bitstream.stream import ParsedStream, open_stream
from ..device import autocast, resolve_device, resolve_precision, to_channels_last
from ..errors import ConfigError, FormatError, SnervError
from ..fsutil import same_file
from ..models import build_decoder
from ..models.window import frames_in, offsets_window, views_window
from ..models.grids import frame_times
from ..models.synthesis import synthesize
from ..video import FrameWriter, parse_frame_range
from ..entropy.chunks import decode_embeddings, decode_temporal
from .limits import DecodeLimits, declared_work_of
from .limits import check as check_limits
from .results import DecodeResult
from .weights import decode_weights


MAX_STREAM_BYTES = 1 << 34  # 16 GiB: far beyond any real stream, so a FIFO or device cannot fill memory


def read_stream_bytes(source) -> bytes:
    """A stream's bytes from bytes, a file, a FIFO or a device. The magic is checked first, so
    ``snerv info /dev/zero`` is refused at once, and nothing endless is read."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    p = Path(source)
    if not p.exists():
        raise SnervError(f"{p}: no such file")
    if p.is_dir():
        raise SnervError(f"{p}: is a directory")
    try:
        with open(p, "rb") as f:
            head = f.read(len(MAGIC))
            if head != MAGIC:
                raise FormatError(f"{p}: not a .snv stream (bad magic bytes)")
            parts, n = [head], len(head)
            while True:  # in pieces: read(n) would reserve n bytes at once
                piece = f.read(1 << 20)
                if not piece:
                    break
                n += len(piece)
                if n > MAX_STREAM_BYTES:
                    raise FormatError(f"{p}: larger than {MAX_STREAM_BYTES} bytes, not a .snv stream")
                parts.append(piece)
    except OSError as e:
        raise SnervError(f"{p}: cannot read ({e.strerror})") from None
    return b"".join(parts)


def build_network(ps: ParsedStream, dev: torch.device) -> nn.Module:
    """The stream's decoder with its dequantised weights, ready for inference on ``dev``."""
    state = decode_weights(ps.weights, ps.shapes)
    with torch.device("meta"):
        decoder = build_decoder(ps.cfg)
    decoder.load_state_dict(state, assign=True)
    decoder = decoder.to(dev).eval()
    return to_channels_last(decoder) if dev.type != "mps" else decoder


def synthesize_frames(ps: ParsedStream, decoder: nn.Module, start: int, end: int, batch_size: int,
                      dev: torch.device, prec: str) -> Iterator[tuple[int, np.ndarray]]:
    """(first frame, (N, H, W, 3) uint8) batches of frames [start, end), in order.

    Batches are aligned to absolute frame indices (frames kB .. kB+B-1), so a frame is always
    synthesised in the same batch whatever range was asked for: random access is bit-exact with a
    full decode (convolution kernels may round differently for different batch compositions)."""
    h, cfg = ps.header, ps.cfg
    b = max(1, int(batch_size))
    a0, a1 = start // b * b, min(-(-end // b) * b, h.n_frames)
    memo_e: dict = {}
    memo_t: dict = {}
    cl = dev.type != "mps"
    pending = None  # the previous batch, on its way to the host while this one is computed
    for f0 in range(a0, a1, b):  # embeddings are decoded batch by batch: memory does not grow with the range
        f1 = min(f0 + b, a1)
        emb, ll_range = decode_embeddings(ps, f0, f1, memo_e)
        temb = decode_temporal(ps, f0, f1, memo_t)
        e = emb.to(dev)
        e = e.contiguous(memory_format=torch.channels_last) if cl else e
        lo = ll_range[:, 0].to(dev) if ll_range is not None else None
        hi = ll_range[:, 1].to(dev) if ll_range is not None else None
        te = None
        if temb is not None:
            te = temb.to(dev)
            te = te.contiguous(memory_format=torch.channels_last) if cl else te
        t = frame_times(torch.arange(f0, f1, device=dev), h.n_frames) if cfg.has_grids else None
        window = None  # a canvas: only the part this batch's frames read is drawn (SPEC.md 7)
        if ps.warps is not None:
            window = views_window(ps.warps[f0:f1], h.height, h.width, cfg.frame_hw)
        elif ps.offsets is not None:
            window = offsets_window(ps.offsets[f0:f1], h.height, h.width)
        with autocast(dev, prec):
            out = synthesize(decoder, cfg, e, lo, hi, te, t, window)
        k0, k1 = max(f0, start), min(f1, end)     # the requested part of this batch
        if k1 > k0:
            if pending is not None:
                yield pending.result()
            views = torch.from_numpy(ps.warps[k0:k1]) if ps.warps is not None else None  # SPEC.md 4.6
            offsets = torch.from_numpy(ps.offsets[k0:k1]) if ps.offsets is not None else None
            x = frames_in(out.frame[k0 - f0:k1 - f0], out.region, h.height, h.width, views, offsets)
            pending = _HostFrames(k0, x)
    if pending is not None:
        yield pending.result()


class _HostFrames:
    """One batch of frames on its way to the host as (N, H, W, 3) uint8.

    Rounded and transposed to H, W, C on the device, so the host gets one contiguous copy: copying
    N, C, H, W frames into the host's H, W, C layout took 0.54 s for 32 frames at 960x1920 on a 2-core
    CPU, longer than a GPU takes to synthesise them. On CUDA the copy goes to pinned memory without
    waiting, and :meth:`result` waits for it: the caller writes one batch while the GPU synthesises
    the next. Elementwise rounding gives the same values in either layout."""

    def __init__(self, k0: int, x: torch.Tensor):
        y = x.permute(0, 2, 3, 1).contiguous().clamp_(0, 1).mul_(255).round_().to(torch.uint8)
        self.k0, self.event = k0, None
        if y.device.type == "cuda":
            self.host = torch.empty(y.shape, dtype=torch.uint8, pin_memory=True)
            self.host.copy_(y, non_blocking=True)
            self.event = torch.cuda.Event()
            self.event.record()
        else:
            self.host = y.cpu()

    def result(self) -> tuple[int, np.ndarray]:
        if self.event is not None:
            self.event.synchronize()
        return self.k0, self.host.numpy()


@torch.no_grad()
def decode(source: str | os.PathLike | bytes, output: str | os.PathLike | None = None, *, frames: str | None = None,
           device: str = "auto", precision: str = "fp32", batch_size: int = 4, lossless: bool = False,
           progress: bool = False, limits: DecodeLimits | None = None, keep_frames: bool | None = None,
           overwrite: bool = True, y4m_format: str = "yuv444p12le", start_number: int | None = None) -> DecodeResult:
    """Rebuild the network from the stream alone, synthesise frames, crop the padding.

    ``frames="START:END"`` decodes only those frames (random access: each needs only its own chunk of
    embeddings). With ``output`` (a video file, a PNG pattern, a FIFO or device, or ``-`` for y4m on
    stdout) the frames are written as they are synthesised, so memory does not grow with the video;
    they are also returned when ``keep_frames`` (default: only without ``output``). Before anything
    heavy, the stream's declared work is checked against ``limits`` (:class:`DecodeLimits`) and the
    output is checked (``overwrite``: replace an existing file). PNG frames are numbered from
    ``start_number`` (default: the absolute frame number, 1-based: frame 0 is 00001).
    """
    t0 = time.perf_counter()
    data = read_stream_bytes(source)
    if output is not None and isinstance(source, (str, os.PathLike)) and same_file(source, output):
        raise ConfigError("the output would overwrite the input stream")
    index = open_stream(data)
    h = index.header
    start, end = parse_frame_range(frames)
    end = h.n_frames if end is None else end
    if start >= h.n_frames or end > h.n_frames:
        raise ConfigError(f"frames {start}:{end} outside the stream's 0:{h.n_frames}")
    segments = index.segments_for(start, end)
    check_limits(declared_work_of(index, segments, start, end), limits or DecodeLimits())
    keep = output is None if keep_frames is None else keep_frames
    writer = None
    if output is not None:
        writer = FrameWriter(output, h.fps, (h.height, h.width), lossless=lossless, overwrite=overwrite,
                             y4m_format=y4m_format, n_frames=end - start,
                             start_number=start + 1 if start_number is None else start_number)
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    out = np.empty((end - start, h.height, h.width, 3), dtype=np.uint8) if keep else None
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=end - start, unit="frame", desc="decode", leave=False)
    with writer if writer is not None else contextlib.nullcontext():
        for seg in segments:  # one network at a time: memory does not grow with the number of segments
            ps = index.parse(seg.index)
            decoder = build_network(ps, dev)
            s0, s1 = max(start, seg.first_frame) - seg.first_frame, min(end, seg.end_frame) - seg.first_frame
            for k0, x in synthesize_frames(ps, decoder, s0, s1, batch_size, dev, prec):
                k = seg.first_frame + k0 - start
                if out is not None:
                    out[k:k + len(x)] = x
                if writer is not None:
                    writer.write(x)
                if bar is not None:
                    bar.update(len(x))
            del decoder, ps
    if bar is not None:
        bar.close()
    return DecodeResult(out, h.fps, start, h, time.perf_counter() - t0, end - start)
