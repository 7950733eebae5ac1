"""Decoding: rebuild the network from the stream alone, synthesise frames, crop the padding
(paper Sec. 3.2: the decoder outputs the four Haar bands, the inverse DWT gives the frame)."""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Iterator

import numpy as np
import torch
import torch.nn as nn

from ..bitstream.stream import ParsedStream, parse_stream
from ..device import autocast, resolve_device, resolve_precision, to_channels_last
from ..errors import ConfigError, SnervError
from ..fsutil import same_file
from ..models import build_decoder
from ..models.synthesis import synthesize
from ..video import parse_frame_range, write_video
from .embeddings import decode_embeddings, decode_temporal
from .types import DecodeResult
from .weights import decode_weights


def read_stream_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    p = Path(source)
    if not p.exists():
        raise SnervError(f"{p}: no such file")
    if p.is_dir():
        raise SnervError(f"{p}: is a directory")
    return p.read_bytes()


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
    emb, ll_range = decode_embeddings(ps, a0, a1)
    temb = decode_temporal(ps, a0, a1)
    cl = dev.type != "mps"
    for i in range(0, a1 - a0, b):
        e = emb[i:i + b].to(dev)
        e = e.contiguous(memory_format=torch.channels_last) if cl else e
        lo = ll_range[i:i + b, 0].to(dev) if ll_range is not None else None
        hi = ll_range[i:i + b, 1].to(dev) if ll_range is not None else None
        te = None
        if temb is not None:
            te = temb[i:i + b].to(dev)
            te = te.contiguous(memory_format=torch.channels_last) if cl else te
        with autocast(dev, prec):
            x = synthesize(decoder, cfg, e, lo, hi, te).frame
        x = x[..., :h.height, :h.width].clamp(0, 1).mul(255).round().to(torch.uint8)
        f0, f1 = a0 + i, a0 + i + len(x)          # absolute frames in this batch
        k0, k1 = max(f0, start), min(f1, end)     # the requested part of it
        if k1 > k0:
            yield k0, x[k0 - f0:k1 - f0].permute(0, 2, 3, 1).cpu().numpy()


@torch.no_grad()
def decode(source: str | os.PathLike | bytes, output: str | os.PathLike | None = None, *, frames: str | None = None,
           device: str = "auto", precision: str = "fp32", batch_size: int = 4, lossless: bool = False,
           progress: bool = False) -> DecodeResult:
    """Rebuild the network from the stream alone, synthesise frames, crop the padding.

    ``frames="START:END"`` decodes only those frames (random access: each needs only its own chunk of
    embeddings). With ``output``, the frames are also written (mp4 / y4m / PNGs, atomically).
    """
    t0 = time.perf_counter()
    ps = parse_stream(read_stream_bytes(source))
    h = ps.header
    start, end = parse_frame_range(frames)
    end = h.n_frames if end is None else end
    if start >= h.n_frames or end > h.n_frames:
        raise ConfigError(f"frames {start}:{end} outside the stream's 0:{h.n_frames}")
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    decoder = build_network(ps, dev)
    out = np.empty((end - start, h.height, h.width, 3), dtype=np.uint8)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=end - start, unit="frame", desc="decode", leave=False)
    for k0, x in synthesize_frames(ps, decoder, start, end, batch_size, dev, prec):
        out[k0 - start:k0 - start + len(x)] = x
        if bar is not None:
            bar.update(len(x))
    if bar is not None:
        bar.close()
    if output is not None:
        if isinstance(source, (str, os.PathLike)) and same_file(source, output):
            raise ConfigError("the output would overwrite the input stream")
        write_video(output, out, h.fps, lossless=lossless)
    return DecodeResult(out, h.fps, start, h, time.perf_counter() - t0)
