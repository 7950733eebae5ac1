"""Long videos: consecutive segments, each with its own network and embeddings, in one stream
(format 1.3, bitstream/SPEC.md 4.4). The video is read a segment at a time, every finished segment
is kept at once (``OUT.snv.parts/``: an interrupted encode resumes), and under torchrun the ranks
share the segments (:mod:`..distributed`).

Every segment is encoded exactly as a short video of its own would be (the same pipeline, rate
control and measurement), with the architecture planned once from the first segment and seed
``seed + k``; its single-segment stream is what the segmented stream keeps (its header dropped).
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, replace
from fractions import Fraction

import numpy as np

from ..bitstream.container import SECTION_FRAMING_BYTES
from ..bitstream.mapping import header_for
from ..bitstream.segments import INDEX_ENTRY_BYTES, INDEX_FIXED_BYTES, SEGMENTED_MINOR, split_stream, write_segmented
from ..bitstream.stream import header_bytes, open_stream
from ..device import resolve_device
from ..distributed import barrier, finish, gather_blobs, world_from_env
from ..fsutil import Target, write_bytes_atomic
from ..models import decoder_params
from ..training import Trainer
from ..training.memory import check_training_memory
from ..video.io import SCENE_CUT, iter_segments
from ..video.probe import check_frame_range, probe
from .encode import EncodePlan, measure, paper_pipeline, plan, within_time
from .info import section_sizes
from .parts import Part, PartStore, fingerprint
from .rdo import rdo_pipeline
from .types import CompressionConfig, EncodeResult


def segment_target(bpp: float, pixels: int, first: bool, single_header: int, outer_header: int) -> float:
    """Bytes segment ``k``'s single-segment stream may take so that the whole file lands on
    ``bpp``: its share of the budget, plus its own header (dropped when it joins the stream), less
    its index entry and framing; the first segment also pays the stream's header and index."""
    t = bpp * pixels / 8 - SECTION_FRAMING_BYTES - INDEX_ENTRY_BYTES + single_header
    return t - (outer_header + INDEX_FIXED_BYTES) if first else t


def encode_segmented(source, output, target: Target | None, *, segment_frames: int, resume: bool, scene_cuts: bool,
                     bpp, model, c1,
                     n_rb, params, strides, t_scale, frames, size, crop, resize, fps, preset, epochs, device,
                     precision, seed, cc: CompressionConfig, progress, on_eval, train_overrides: dict,
                     log=None) -> EncodeResult:
    t0 = time.perf_counter()
    world = world_from_env(device)
    say = log if log is not None else (lambda m: None)
    try:
        store = PartStore(output) if target is not None and target.kind == "file" else None
        if store is not None and not resume and world.leader:
            store.clear()
        barrier(world)
        settings = {"bpp": bpp, "model": model, "c1": c1, "n_rb": n_rb, "params": params, "strides": strides,
                    "t_scale": t_scale, "frames": frames, "size": size, "crop": crop, "resize": resize, "fps": fps,
                    "preset": preset, "epochs": epochs, "precision": precision, "seed": seed,
                    "compression": asdict(cc), "segment_frames": segment_frames, "scene_cuts": scene_cuts,
                    "train": train_overrides, "device": resolve_device(device).type}
        check_frame_range(source, frames)  # a range beyond the clip: an error now, not after training
        reader = iter_segments(source, segment_frames, frames=frames, size=size, crop=crop, resize=resize, fps=fps,
                               scene_cut=SCENE_CUT if scene_cuts else None)
        first = next(reader)
        ahead = next(reader, None)  # one segment ahead: is this a segmented stream at all?
        nominal = segment_frames if scene_cuts and ahead is not None else None  # a cut may shorten the first
        p0 = plan(first, model, bpp=bpp, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale,
                  preset=preset, epochs=epochs, precision=precision, seed=seed, cc=cc, train_overrides=train_overrides,
                  n_frames=nominal)
        dev = resolve_device(device)  # under torchrun, "cuda" is this rank's own GPU (world_from_env)
        check_training_memory(p0.cfg, p0.geo, len(first.frames), p0.tcfg, dev)
        h, w = first.frames.shape[1:3]
        segmented = ahead is not None
        meta = first.meta
        header0 = header_for(p0.cfg, p0.geo, len(first.frames), Fraction(meta.fps), meta.pix_fmt, cc.chunk_frames)
        outer = header_bytes(header0, SEGMENTED_MINOR)
        deadline = t0 + p0.tcfg.time_limit if p0.tcfg.time_limit else None  # bounds the whole encode
        n_all = _clip_length(source, frames, size, crop, first, segmented, say) if deadline else None
        mine: list[bytes] = []
        resumed, n_total, k = [], 0, 0
        video = first
        while video is not None:
            n_k = len(video.frames)
            if world.owns(k):
                fp = fingerprint(settings, video.frames, k)
                part = store.load(k, fp) if store is not None and resume else None
                if part is not None:
                    resumed.append(k)
                    say(f"segment {k}: frames {n_total}-{n_total + n_k - 1} resumed from {store.path(k)}")
                else:
                    pk = _timed(p0, deadline, n_all, n_total, n_k, world.size)
                    part = _encode_one(video, k, pk, cc, bpp, h * w * n_k, segmented, outer, dev, fp, progress,
                                       on_eval)
                    if store is not None:
                        store.save(part)
                    say(f"segment {k}: frames {n_total}-{n_total + n_k - 1}, {len(part.payload)} bytes, "
                        f"PSNR {part.stats['psnr_sum'] / n_k:.2f} dB")
                mine.append(part.to_bytes())
            n_total += n_k
            k += 1
            video, ahead = ahead, (next(reader, None) if ahead is not None else None)
        parts = sorted((Part.from_bytes(b) for b in gather_blobs(world, mine)), key=lambda p: p.segment)
        stream = _assemble(parts, n_total) if world.leader else None
        if stream is not None and target is not None:
            write_bytes_atomic(target, stream)
        barrier(world)  # the stream is written: every rank drops its parts (on its own disk, or a shared one)
        if store is not None:
            store.clear()
        return _result(stream, output if world.leader else None, parts, p0, cc, bpp, w * h * n_total, t0, resumed,
                       world.rank)
    finally:
        finish(world)


def _clip_length(source, frames, size, crop, first, segmented: bool, say) -> int | None:
    """Frames the whole encode will read (for sharing a time limit), or None (said) when they cannot
    be known before reading (stdin, image patterns)."""
    if not segmented:
        return len(first.frames)
    n = (probe(source, frames, size, crop) or (None, 0))[0]
    if n is None:
        say("the clip's length is unknown before it is read: --time-limit applies to each segment")
    return n


def _timed(p0: EncodePlan, deadline: float | None, n_all: int | None, done: int, n_k: int, ranks: int) -> EncodePlan:
    """The plan of a segment of ``n_k`` frames under a ``--time-limit``: its frames' share of the time
    left before ``deadline`` (of this rank's remaining frames, ``done`` frames in: ranks share the
    segments); the whole limit when the clip's length ``n_all`` is unknown."""
    if deadline is None:
        return p0
    if n_all is None:
        return within_time(p0, p0.tcfg.time_limit)
    return within_time(p0, deadline - time.perf_counter(), n_k / max(n_k, (n_all - done) / ranks))


def _encode_one(video, k: int, p0: EncodePlan, cc: CompressionConfig, bpp, pixels: int, segmented: bool,
                outer_header: int, dev, fp: str, progress: bool, on_eval) -> Part:
    """Segment ``k`` as a short video of its own: the planned architecture, seed + k, its budget."""
    n = len(video.frames)
    header = header_for(p0.cfg, p0.geo, n, Fraction(video.meta.fps), video.meta.pix_fmt, cc.chunk_frames)
    target = None
    if bpp is not None:
        target = (segment_target(bpp, pixels, k == 0, header_bytes(header), outer_header) if segmented
                  else bpp * pixels / 8)
    p = replace(p0, tcfg=replace(p0.tcfg, seed=p0.tcfg.seed + k), target_bytes=target)
    t0 = time.perf_counter()
    trainer = Trainer(video.frames, p.cfg, p.geo, p.tcfg, device=dev,
                      ll_range_bits=cc.ll_range_bits if p.cfg.uses_dwt else None)
    out = (rdo_pipeline if cc.pipeline == "rdo" else paper_pipeline)(trainer, p, header, progress, on_eval)
    psnr, msssim = measure(out.stream, video.frames, str(trainer.device))
    stats = {"frames": n, "psnr_sum": psnr * n, "msssim_sum": msssim * n, "float_psnr_sum": out.float_psnr * n,
             "seconds": time.perf_counter() - t0, "knobs": out.knobs, "entropy": out.entropy,
             "finetune_epochs": out.finetune_epochs, "precision": trainer.precision}
    return Part(k, fp, out.stream, _plain(stats))


def _plain(x):
    """JSON-safe copy (numpy scalars to Python numbers)."""
    if isinstance(x, dict):
        return {str(k): _plain(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [_plain(v) for v in x]
    if isinstance(x, np.generic):
        return x.item()
    return x


def _assemble(parts: list[Part], n_total: int) -> bytes:
    """One part: its single-segment stream as it is. Several: the 1.3 stream of their sections."""
    if len(parts) == 1:
        return parts[0].payload
    header, _, _ = split_stream(parts[0].payload)
    minor = 0
    segs = []
    for p in parts:
        h, sections, m = split_stream(p.payload)
        if replace(h, n_frames=header.n_frames) != header:
            raise ValueError("segments of one stream share their architecture")
        segs.append((h.n_frames, sections))
        minor = max(minor, m)
    return write_segmented(replace(header, n_frames=n_total), segs, minor)


def _result(stream, output, parts: list[Part], p0: EncodePlan, cc, bpp, pixels: int, t0: float, resumed: list[int],
            rank: int) -> EncodeResult:
    n = sum(p.stats["frames"] for p in parts) or 1
    size = len(stream) if stream is not None else 0
    sections = {}
    if stream is not None:
        sections = {k: {"bytes": v, "bpp": 8 * v / pixels} for k, v in section_sizes(open_stream(stream)).items()}
    cfg = p0.cfg
    s0 = parts[0].stats if parts else {}
    return EncodeResult(
        stream=stream or b"", path=os.fspath(output) if output is not None else None, bytes=size,
        bpp=8 * size / pixels, psnr=sum(p.stats["psnr_sum"] for p in parts) / n,
        ms_ssim=sum(p.stats["msssim_sum"] for p in parts) / n,
        float_psnr=sum(p.stats["float_psnr_sum"] for p in parts) / n, seconds=time.perf_counter() - t0,
        model={"name": cfg.name, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
               "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": decoder_params(cfg),
               **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw]} if cfg.temporal else {}),
               "precision": s0.get("precision"), "epochs": p0.tcfg.epochs,
               "finetune_epochs": s0.get("finetune_epochs")},
        compression={**asdict(cc), "segments": [{"segment": p.segment, "frames": p.stats["frames"],
                                                 "bytes": len(p.payload), "psnr": p.stats["psnr_sum"] /
                                                 p.stats["frames"], "knobs": p.stats["knobs"]} for p in parts]},
        sections=sections, entropy={"segments": [p.stats["entropy"] for p in parts]}, target_bpp=bpp,
        segments=len(parts), resumed=resumed, rank=rank)
