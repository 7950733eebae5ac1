"""Long videos: consecutive segments, each with its own network and embeddings, in one stream
(format 1.3, bitstream/SPEC.md 4.4). The video is read a segment at a time, every finished segment
is kept at once (``OUT.snv.parts/``: an interrupted encode resumes), and under torchrun the ranks
share the segments (:mod:`..distributed`).

Every segment is encoded exactly as a short video of its own would be (the same pipeline, rate
control and measurement), with the architecture planned once from the first segment and seed
``seed + k``; its single-segment stream is what the segmented stream keeps (its header dropped).
With ``--warm-start`` (:mod:`.warmstart`) segment k+1's network starts from segment k's float
network: the segments run one after another, and each part's fingerprint names the network it
started from.
"""

from __future__ import annotations

import os
import time
from dataclasses import asdict, dataclass, replace
from fractions import Fraction

import numpy as np
import torch

from ..bitstream.container import SECTION_FRAMING_BYTES
from ..bitstream.mapping import header_for
from ..bitstream.segments import INDEX_ENTRY_BYTES, INDEX_FIXED_BYTES, SEGMENTED_MINOR, split_stream, write_segmented
from ..bitstream.stream import header_bytes, open_stream
from ..device import resolve_device
from ..distributed import World, barrier, finish, gather_blobs, world_from_env
from ..fsutil import Target, write_bytes_atomic
from ..models import model_summary
from ..requests import EncodeRequest, Feedback
from ..training.memory import check_training_memory
from ..video import Video
from ..video.io import SCENE_CUT, iter_segments
from ..video.probe import check_frame_range, probe
from .info import section_table
from .parts import Part, PartStore, fingerprint
from .plan import EncodePlan, plan, within_time
from .results import EncodeResult
from .runner import encode_clip
from .warmstart import WarmStart, load_net, save_net


def segment_target(bpp: float, pixels: int, first: bool, single_header: int, outer_header: int) -> float:
    """Bytes segment ``k``'s single-segment stream may take so that the whole file lands on
    ``bpp``: its share of the budget, plus its own header (dropped when it joins the stream), less
    its index entry and framing; the first segment also pays the stream's header and index."""
    t = bpp * pixels / 8 - SECTION_FRAMING_BYTES - INDEX_ENTRY_BYTES + single_header
    return t - (outer_header + INDEX_FIXED_BYTES) if first else t


@dataclass
class SegmentRun:
    """What every segment of one encode shares: the request, the plan made from the first
    segment, the device, whether the stream has several segments, and the time limit's deadline."""

    req: EncodeRequest
    p0: EncodePlan
    device: torch.device
    segmented: bool
    outer_header: int  # bytes of the segmented stream's own header
    feedback: Feedback
    deadline: float | None = None  # a --time-limit bounds the whole encode
    n_all: int | None = None  # frames the encode will read, when known (to share the time limit)
    warm: WarmStart | None = None  # --warm-start: the network the next segment starts from

    def fingerprint(self, settings: dict, video: Video, k: int) -> str:
        """Segment ``k``'s part fingerprint; with a warm start, also the network it starts from."""
        if self.warm is not None:
            settings = {**settings, "warm_from": self.warm.net.digest if self.warm.net is not None else None}
        return fingerprint(settings, video.frames, k)


def encode_segmented(req: EncodeRequest, target: Target | None, feedback: Feedback) -> EncodeResult:
    """Encode ``req``'s video a segment at a time (this rank's share under torchrun), keep or reuse
    each finished segment beside the output, and write the stream of all of them."""
    t0 = time.perf_counter()
    world = world_from_env(req.train.device)
    try:
        store = PartStore(req.output.path) if target is not None and target.kind == "file" else None
        if store is not None and not req.output.resume and world.leader:
            store.clear()
        barrier(world)
        check_frame_range(req.video.source, req.video.frames)  # a range beyond the clip: an error now
        reader = iter_segments(req.video.source, req.output.segment_frames, **req.video.reading(),
                               scene_cut=SCENE_CUT if req.output.scene_cuts else None)
        first = next(reader)
        ahead = next(reader, None)  # one segment ahead: is this a segmented stream at all?
        run = _start(req, first, ahead is not None, t0, feedback)
        settings = req.fingerprint(run.device.type)
        mine, resumed, n_total, k, video = [], [], 0, 0, first
        while video is not None:
            if world.owns(k):
                part, was_resumed = _segment(run, store, video, k, n_total, run.fingerprint(settings, video, k),
                                             world)
                resumed += [k] if was_resumed else []
                mine.append(part.to_bytes())
            n_total += len(video.frames)
            k += 1
            video, ahead = ahead, (next(reader, None) if ahead is not None else None)
        parts = sorted((Part.from_bytes(b) for b in gather_blobs(world, mine)), key=lambda p: p.segment)
        stream = _assemble(parts, n_total) if world.leader else None
        if stream is not None and target is not None:
            write_bytes_atomic(target, stream)
        barrier(world)  # the stream is written: every rank drops its parts (on its own disk, or a shared one)
        if store is not None:
            store.clear()
        h, w = first.frames.shape[1:3]
        return _result(stream, req if world.leader else None, parts, run, w * h * n_total, t0, resumed, world.rank)
    finally:
        finish(world)


def _start(req: EncodeRequest, first: Video, segmented: bool, t0: float, feedback: Feedback) -> SegmentRun:
    """The plan (from the first segment, sized for the nominal segment length when a scene cut may
    shorten it), the memory check, and the time limit's deadline."""
    nominal = req.output.segment_frames if req.output.scene_cuts and segmented else None
    if segmented and req.compression.pipeline == "rdo":  # (the paper pipeline refuses an explicit canvas)
        if req.model.canvas == "auto":
            feedback.say("--canvas: the segments share one architecture, so each draws its own frames (no canvas)")
        req = replace(req, model=replace(req.model, canvas="off"))
    p0 = plan(first, req, n_frames=nominal)
    dev = resolve_device(req.train.device)  # under torchrun, "cuda" is this rank's own GPU (world_from_env)
    check_training_memory(p0.cfg, p0.geo, len(first.frames), p0.tcfg, dev)
    meta = first.meta
    header0 = header_for(p0.cfg, p0.geo, len(first.frames), Fraction(meta.fps), meta.pix_fmt, p0.cc.frames_per_chunk)
    run = SegmentRun(req, p0, dev, segmented, header_bytes(header0, SEGMENTED_MINOR), feedback,
                     warm=WarmStart(feedback.say) if req.output.warm_start else None)
    if p0.tcfg.time_limit:
        run.deadline = t0 + p0.tcfg.time_limit
        run.n_all = _clip_length(req, first, segmented, feedback)
    return run


def _segment(run: SegmentRun, store: PartStore | None, video: Video, k: int, done: int, fp: str,
             world: World) -> tuple[Part, bool]:
    """Segment ``k`` (frames ``done``...): resumed from the store when an earlier run finished it
    with the same fingerprint, else encoded and stored. Returns (part, resumed)."""
    n_k, say = len(video.frames), run.feedback.say
    part = store.load(k, fp) if store is not None and run.req.output.resume else None
    if part is not None and run.warm is not None:  # the next segment starts from this one's float network
        net = load_net(store, k, fp)
        if net is None:
            say(f"segment {k}: its float network is not kept beside it, encoding it again (--warm-start)")
            part = None
        else:
            run.warm.net = net
    if part is not None:
        say(f"segment {k}: frames {done}-{done + n_k - 1} resumed from {store.path(k)}")
        return part, True
    part = _encode_one(run, video, k, _timed(run, done, n_k, world.size), fp)
    if store is not None:
        if run.warm is not None:
            save_net(store, k, fp, run.warm.net)
        store.save(part)
    warm = f", warm-started from segment {k - 1}" if part.stats["warm_started"] else ""
    say(f"segment {k}: frames {done}-{done + n_k - 1}, {len(part.payload)} bytes, "
        f"PSNR {part.stats['psnr_sum'] / n_k:.2f} dB{warm}")
    return part, False


def _clip_length(req: EncodeRequest, first: Video, segmented: bool, feedback: Feedback) -> int | None:
    """Frames the whole encode will read (for sharing a time limit), or None (said) when they cannot
    be known before reading (stdin, image patterns)."""
    if not segmented:
        return len(first.frames)
    v = req.video
    n = (probe(v.source, v.frames, v.size, v.crop) or (None, 0))[0]
    if n is None:
        feedback.say("the clip's length is unknown before it is read: --time-limit applies to each segment")
    return n


def _timed(run: SegmentRun, done: int, n_k: int, ranks: int) -> EncodePlan:
    """The plan of a segment of ``n_k`` frames under a ``--time-limit``: its frames' share of the time
    left before the deadline (of this rank's remaining frames, ``done`` frames in: ranks share the
    segments); the whole limit when the clip's length is unknown."""
    p0 = run.p0
    if run.deadline is None:
        return p0
    if run.n_all is None:
        return within_time(p0, p0.tcfg.time_limit)
    return within_time(p0, run.deadline - time.perf_counter(), n_k / max(n_k, (run.n_all - done) / ranks))


def _encode_one(run: SegmentRun, video: Video, k: int, p0: EncodePlan, fp: str) -> Part:
    """Segment ``k`` as a short video of its own: the planned architecture, seed + k, its budget."""
    n = len(video.frames)
    target = None
    if run.req.bpp is not None:
        pixels = n * video.frames.shape[1] * video.frames.shape[2]
        header = header_for(p0.cfg, p0.geo, n, Fraction(video.meta.fps), video.meta.pix_fmt, p0.cc.frames_per_chunk)
        target = (segment_target(run.req.bpp, pixels, k == 0, header_bytes(header), run.outer_header)
                  if run.segmented else run.req.bpp * pixels / 8)
    p = replace(p0, tcfg=replace(p0.tcfg, seed=p0.tcfg.seed + k), target_bytes=target)
    t0 = time.perf_counter()
    if run.warm is not None:
        run.warm.segment = k
    clip = encode_clip(video, p, run.device, run.feedback, run.warm)
    stats = {"frames": n, "psnr_sum": clip.psnr * n, "msssim_sum": clip.ms_ssim * n,
             "float_psnr_sum": clip.float_psnr * n, "seconds": time.perf_counter() - t0, "knobs": clip.knobs,
             "entropy": clip.entropy, "finetune_epochs": clip.finetune_epochs, "precision": clip.precision,
             "warm_started": run.warm is not None and k in run.warm.started}
    return Part(k, fp, clip.stream, _plain(stats))


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


def _result(stream, req: EncodeRequest | None, parts: list[Part], run: SegmentRun, pixels: int, t0: float,
            resumed: list[int], rank: int) -> EncodeResult:
    """The encode's result from its parts (``req`` None: a rank that did not write the stream)."""
    n = sum(p.stats["frames"] for p in parts) or 1
    size = len(stream) if stream is not None else 0
    p0, s0 = run.p0, (parts[0].stats if parts else {})
    path = req.output.path if req is not None else None
    return EncodeResult(
        stream=stream or b"", path=os.fspath(path) if path is not None else None, bytes=size,
        bpp=8 * size / pixels, psnr=sum(p.stats["psnr_sum"] for p in parts) / n,
        ms_ssim=sum(p.stats["msssim_sum"] for p in parts) / n,
        float_psnr=sum(p.stats["float_psnr_sum"] for p in parts) / n, seconds=time.perf_counter() - t0,
        model={**model_summary(p0.cfg), "precision": s0.get("precision"), "epochs": p0.tcfg.epochs,
               "finetune_epochs": s0.get("finetune_epochs")},
        compression={**asdict(p0.cc), "segments": [{"segment": p.segment, "frames": p.stats["frames"],
                                                    "bytes": len(p.payload), "psnr": p.stats["psnr_sum"] /
                                                    p.stats["frames"], "knobs": p.stats["knobs"],
                                                    "warm_started": p.stats.get("warm_started", False)}
                                                   for p in parts]},
        sections=section_table(open_stream(stream), pixels) if stream is not None else {},
        entropy={"segments": [p.stats["entropy"] for p in parts]}, target_bpp=run.req.bpp,
        segments=len(parts), resumed=resumed, rank=rank)
