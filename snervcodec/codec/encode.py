"""The encode entry point: the request is built once, everything checkable is checked first (the
output, the model against the format, the training memory), then the video is encoded whole
(:func:`~.runner.encode_clip`) or in segments (:mod:`.segmented`: long videos, resumable, torchrun)."""

from __future__ import annotations

import os
import time
from dataclasses import asdict
from pathlib import Path


from ..bitstream.stream import open_stream
from ..device import resolve_device
from ..distributed import env_world_size
from ..errors import ConfigError
from ..fsutil import Target, output_target, same_file, write_bytes_atomic
from ..models import model_summary
from ..requests import (CompressionConfig, EncodeRequest, Feedback, ModelRequest, OutputRequest, TrainRequest,
                        VideoRequest)
from ..training.memory import check_training_memory, frames_that_fit
from ..video.probe import probe
from .info import section_table
from .plan import plan, within_time
from .results import EncodeResult
from .runner import encode_clip
from .segmented import encode_segmented


def encode(source, output: str | os.PathLike | None = None, *, bpp: float | None = None, model: str = "snerv-b",
           c1: int | None = None, n_rb: int | None = None, params: float | None = None,
           strides: tuple[int, ...] | None = None, t_scale: int | None = None, emb_cells: int | None = None,
           grid_share: float | None = None, emb_channels: int | None = None, canvas: str | None = None, frames=None,
           size=None, crop=None, resize: str = "bicubic", fps: float | None = None, preset: str | None = "fast",
           epochs: int | None = None,
           device: str = "auto", precision: str = "auto", seed: int = 0, compression: CompressionConfig | None = None,
           overwrite: bool = True, segment_frames: int | None = None, resume: bool = True, scene_cuts: bool = False,
           warm_start: bool = False, progress: bool = True, on_eval=None, log=None, **train_options) -> EncodeResult:
    """Overfit a network to a video and write it as a ``.snv`` stream.

    ``source``: a path, ``-`` (y4m on stdin), a (T, H, W, 3) uint8 array or a
    :class:`~..video.Video` (or a whole :class:`~..requests.EncodeRequest`, the other keywords
    then unused). Size the model with ``bpp`` (rate control: the file lands within 5% of the budget)
    or with ``c1`` / ``params``; read ``frames`` (``"0:32"``, ``range(0, 32)``) at ``size``
    (``"192x384"``, ``(192, 384)``); train for a ``preset`` or ``epochs``, with any training option
    (``lr``, ``batch_size``, ``time_limit``, ``compile``); ``segment_frames`` splits a long video
    (docs/long-videos.md) and ``warm_start`` starts each segment from the previous one's network;
    ``canvas``: ``"auto"`` (the rdo pipeline's default) draws a canvas that holds a panning, zooming or
    turning camera's view where the camera's motion explains the frames, or an object crossing a still
    background once beside the frame, ``"off"`` the frames themselves (:mod:`~..video.canvas`,
    :mod:`~..video.warp`, :mod:`~..video.layer`).
    Metrics in the result come from decoding the stream's own bytes. ``progress`` shows a bar,
    ``on_eval`` receives each evaluation, ``log`` a line per segment."""
    req = source if isinstance(source, EncodeRequest) else EncodeRequest(
        VideoRequest.of(source, frames, crop, size, resize, fps),
        ModelRequest(model, c1, n_rb, params, None if strides is None else tuple(strides), t_scale, emb_cells,
                     grid_share, emb_channels, canvas),
        TrainRequest(preset, epochs, device, precision, seed, dict(train_options)),
        compression or CompressionConfig(),
        OutputRequest(output, overwrite, segment_frames, resume, scene_cuts, warm_start), bpp)
    return encode_request(req, Feedback(progress, on_eval, log))


def encode_request(req: EncodeRequest, feedback: Feedback | None = None) -> EncodeResult:
    """Encode as requested (the CLI and :func:`encode` build the request)."""
    feedback = feedback or Feedback()
    t0 = time.perf_counter()
    out = req.output
    if out.warm_start and env_world_size() > 1:
        raise ConfigError("--warm-start runs the segments one after another: run it as one process, not under "
                          "torchrun with several")
    target = _check_output(req)
    if out.segment_frames is None and not out.scene_cuts and req.video.is_path:
        req = req.with_segments(auto_segment_frames(req, feedback))
    if req.output.segment_frames is not None or out.scene_cuts:
        if not req.video.is_path:
            raise ConfigError("segments are read from a file: give a path (or encode the array whole)")
        return encode_segmented(req, target, feedback)
    if out.warm_start:
        feedback.say("--warm-start: one segment, nothing to start it from")
    video = req.video.load()
    p = plan(video, req)
    p = within_time(p, p.tcfg.time_limit - (time.perf_counter() - t0))  # the limit counts from the start
    t, h, w, _ = video.frames.shape
    dev = resolve_device(req.train.device)
    check_training_memory(p.cfg, p.geo, t, p.tcfg, dev)
    clip = encode_clip(video, p, dev, feedback)
    if target is not None:
        write_bytes_atomic(target, clip.stream)
    pixels = h * w * t
    return EncodeResult(
        stream=clip.stream, path=os.fspath(out.path) if out.path is not None else None, bytes=len(clip.stream),
        bpp=8 * len(clip.stream) / pixels, psnr=clip.psnr, ms_ssim=clip.ms_ssim, float_psnr=clip.float_psnr,
        seconds=time.perf_counter() - t0,
        model={**model_summary(p.cfg), "precision": clip.precision, "epochs": p.tcfg.epochs,
               "finetune_epochs": clip.finetune_epochs},
        compression={**asdict(p.cc), **clip.knobs}, sections=section_table(open_stream(clip.stream), pixels),
        entropy=clip.entropy, target_bpp=req.bpp, history=clip.history)


def _check_output(req: EncodeRequest) -> Target | None:
    """The output, checked before the video is read or anything trained: a path, a device, a FIFO
    or ``-``; never the input itself."""
    path, source = req.output.path, req.video.source
    if path is None:
        return None
    if req.video.is_path and os.fspath(path) != "-" and (
            same_file(source, path) or Path(source).resolve() == Path(path).resolve()):
        raise ConfigError("the output would overwrite the input")
    return output_target(path, req.output.overwrite, "a stream")


def auto_segment_frames(req: EncodeRequest, feedback: Feedback) -> int | None:
    """The default segment length: the whole clip, measured best (docs/long-videos.md: at 0.1 bpp
    one 252-frame network beats two of 126 by 1.2 dB), unless holding it would take more than half of
    the memory; then the longest segment that fits. None: one segment."""
    v = req.video
    found = probe(v.source, v.frames, v.size, v.crop)
    if found is None:
        return None
    n, pixels = found
    fit = frames_that_fit(pixels, resolve_device(req.train.device))
    if fit is None or n <= fit:
        return None
    feedback.say(f"{n} frames do not fit in memory at once: encoding segments of {fit} frames "
                 "(--segment-frames sets it)")
    return fit

