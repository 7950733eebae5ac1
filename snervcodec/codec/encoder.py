"""The encode entry point: everything checkable is checked first, then the video is encoded whole
(:mod:`.encode`'s stages) or in segments (:mod:`.segmented`: long videos, resumable, torchrun)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..bitstream.mapping import header_for
from ..bitstream.stream import parse_stream
from ..device import resolve_device
from ..errors import ConfigError
from ..fsutil import Target, output_target, same_file, write_bytes_atomic
from ..models import decoder_params
from ..training import Trainer
from ..training.memory import check_training_memory, frames_that_fit
from ..video import Video, load_video
from ..video.probe import probe
from .encode import measure, paper_pipeline, plan, within_time
from .rdo import rdo_pipeline
from .segmented import encode_segmented
from .types import CompressionConfig, EncodeResult


def _check_output(source, output, overwrite: bool) -> Target | None:
    """The output, checked before the video is read or anything trained (SPEC-free: a path, a
    device, a FIFO or ``-``)."""
    if output is None:
        return None
    if isinstance(source, (str, os.PathLike)) and os.fspath(output) != "-" and (
            same_file(source, output) or Path(source).resolve() == Path(output).resolve()):
        raise ConfigError("the output would overwrite the input")
    return output_target(output, overwrite, "a stream")


def encode(source, output: str | os.PathLike | None = None, *, bpp: float | None = None, model: str = "snerv-b",
           c1: int | None = None, n_rb: int | None = None, params: float | None = None,
           strides: tuple[int, ...] | None = None, t_scale: int | None = None, frames: str | None = None,
           size: str | None = None, crop: str | None = None, resize: str = "bicubic", fps: float | None = None,
           preset: str | None = "fast", epochs: int | None = None, device: str = "auto", precision: str = "auto",
           seed: int = 0, compression: CompressionConfig | None = None, progress: bool = True, on_eval=None,
           overwrite: bool = True, segment_frames: int | None = None, resume: bool = True, scene_cuts: bool = False,
           log=None,
           **train_overrides) -> EncodeResult:
    """Overfit a network to a video and write it as a ``.snv`` stream.

    Size the model with ``bpp`` (rate control: the file lands within 5% of the budget), or with
    ``c1`` / ``params``. Metrics in the result come from decoding the stream's own bytes. Everything
    checkable is checked before training: the output (``overwrite``: replace an existing file), the
    model against the format's limits, and the training memory against the device's.

    ``segment_frames``: split the video into segments of that many frames, each with its own network
    (read lazily, kept in ``OUT.parts/`` as they finish, shared among torchrun ranks; ``resume``
    reuses the finished segments of an interrupted run; ``scene_cuts``: segments also end at scene
    changes; :mod:`.segmented`). ``log`` receives a line per segment.
    """
    t0 = time.perf_counter()
    cc = (compression or CompressionConfig()).validate()
    target = _check_output(source, output, overwrite)
    if segment_frames is None and not scene_cuts and isinstance(source, (str, os.PathLike)):
        segment_frames = auto_segment_frames(source, frames, size, crop, device, log)
    if segment_frames is not None or scene_cuts:
        if isinstance(source, (np.ndarray, Video)):
            raise ConfigError("segments are read from a file: give a path (or encode the array whole)")
        return encode_segmented(source, output, target, segment_frames=segment_frames, resume=resume,
                                scene_cuts=scene_cuts, bpp=bpp,
                                model=model, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale,
                                frames=frames, size=size, crop=crop, resize=resize, fps=fps, preset=preset,
                                epochs=epochs, device=device, precision=precision, seed=seed, cc=cc,
                                progress=progress, on_eval=on_eval, train_overrides=train_overrides, log=log)
    video = load_video(source, frames=frames, size=size, crop=crop, resize=resize, fps=fps)
    p = plan(video, model, bpp=bpp, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale,
             preset=preset, epochs=epochs, precision=precision, seed=seed, cc=cc, train_overrides=train_overrides)
    p = within_time(p, p.tcfg.time_limit - (time.perf_counter() - t0))  # the limit counts from the start
    t, h, w, _ = video.frames.shape
    dev = resolve_device(device)
    check_training_memory(p.cfg, p.geo, t, p.tcfg, dev)
    trainer = Trainer(video.frames, p.cfg, p.geo, p.tcfg, device=dev,
                      ll_range_bits=cc.ll_range_bits if p.cfg.uses_dwt else None)
    header = header_for(p.cfg, p.geo, t, Fraction(video.meta.fps), video.meta.pix_fmt, cc.chunk_frames)
    out = (rdo_pipeline if cc.pipeline == "rdo" else paper_pipeline)(trainer, p, header, progress, on_eval)
    stream = out.stream
    psnr, msssim = measure(stream, video.frames, str(trainer.device))
    if target is not None:
        write_bytes_atomic(target, stream)
    pixels = h * w * t
    sections = {k: {"bytes": v, "bpp": 8 * v / pixels} for k, v in parse_stream(stream).sections.items()}
    cfg = p.cfg
    return EncodeResult(
        stream=stream, path=os.fspath(output) if output is not None else None, bytes=len(stream),
        bpp=8 * len(stream) / pixels, psnr=psnr, ms_ssim=msssim, float_psnr=out.float_psnr,
        seconds=time.perf_counter() - t0,
        model={"name": cfg.name, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
               "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": decoder_params(cfg),
               **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw]} if cfg.temporal else {}),
               "precision": trainer.precision, "epochs": p.tcfg.epochs, "finetune_epochs": out.finetune_epochs},
        compression={**asdict(cc), **out.knobs}, sections=sections, entropy=out.entropy,
        target_bpp=bpp, history=trainer.history,
    )


def auto_segment_frames(source, frames, size, crop, device: str, log=None) -> int | None:
    """The default segment length: the whole clip, measured best (docs/long-videos.md: at 0.1 bpp
    one 252-frame network beats two of 126 by 1.2 dB), unless holding it would take more than half of
    the memory; then the longest segment that fits. None: one segment."""
    found = probe(source, frames, size, crop)
    if found is None:
        return None
    n, pixels = found
    fit = frames_that_fit(pixels, resolve_device(device))
    if fit is None or n <= fit:
        return None
    if log is not None:
        log(f"{n} frames do not fit in memory at once: encoding segments of {fit} frames (--segment-frames sets it)")
    return fit


