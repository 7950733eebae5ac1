"""The rate-distortion levers measured on the development set (issue 30): lever x clip x rate x epochs.

    python benchmarks/rd_levers.py run --levers baseline,tune-psnr --clips dev --bpp 0.05,0.1,0.2 --epochs 20
    python benchmarks/rd_levers.py report --json docs/results/rd_levers.json   # tables from every row so far
    python benchmarks/rd_levers.py restore --json docs/results/rd_levers.json  # a fresh checkout goes on
    python benchmarks/rd_levers.py run --levers L --clips pan-fast@192x384,carphone@144x256  # other sizes
    python benchmarks/rd_levers.py anchors --anchors x265 --clips dev  # x265 strong's sweeps, beside x264's

Each encode is one row (RGB PSNR and MS-SSIM of the decoded stream against the decoded input, the
real file's bpp, encode and decode seconds, the float model's PSNR and the learning curve), stored
as ``<out>/rows/<key>.json`` as soon as it finishes, so a stopped run resumes where it stopped. The
key is the lever's settings, the clip, the rate, the epochs and the seed; the row records the source
digest it ran with. x264 (medium, the bench's "literature" profile) is swept once per clip, for the
BD-rate of every lever with three rates and for "the bits x264 needs for our 0.1 bpp quality"; x265 (the
bench's "strong" profile: veryslow, tune psnr, one key frame, a QP sweep) gives BD-rates beside them where
``anchors`` swept it. ``report`` writes ``<out>/rd_levers.json`` (every row and the per-lever summaries) and prints the
tables: per clip, then the median and the worst clip of every lever; ``render_results.py --dev`` puts
the same tables into docs/results.md (:func:`dev_md`).

A lever is a named set of encode keywords (:data:`LEVERS`) over the recipe of 2026-12 (paper loss,
8 embedding cells, a cosine per training phase, the noise phase on noise; :func:`_encode_row`), so that
a row keeps its meaning when a default changes; :data:`DEFAULT_LEVER` spells out today's default.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import statistics
import sys
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info  # noqa: E402

from snervcodec.bench.devset import DEV_SET, base_name, clip_spec, dev_clip  # noqa: E402
from snervcodec.fsutil import write_bytes_atomic  # noqa: E402

# Each lever: the pipeline and the training options it sets, in full (the recipe of 2026-12 as
# "baseline"). Keys are snervcodec.encode's keywords; "pipeline", "entropy" and "bits_per_param" go to
# CompressionConfig.
_MIXED = {"pipeline": "rdo", "tune": "mixed", "mse_start": 0.4, "emb_cells": 32}
LEVERS: dict[str, dict] = {
    "baseline": {"pipeline": "rdo"},
    "paper": {"pipeline": "paper"},
    "tune-psnr": {"pipeline": "rdo", "tune": "psnr"},
    "tune-ssim": {"pipeline": "rdo", "tune": "ssim"},
    # the embedding grid: the geometry rule aims at this many cells instead of the paper's 8 (2x4)
    "psnr-emb16": {"pipeline": "rdo", "tune": "psnr", "emb_cells": 16},
    "psnr-emb32": {"pipeline": "rdo", "tune": "psnr", "emb_cells": 32},
    "psnr-emb128": {"pipeline": "rdo", "tune": "psnr", "emb_cells": 128},
    "paper-emb32": {"pipeline": "rdo", "tune": "paper", "emb_cells": 32},
    "psnr-emb32-lr2e-3": {"pipeline": "rdo", "tune": "psnr", "emb_cells": 32, "lr": 2e-3},
    "psnr-emb32-warm30": {"pipeline": "rdo", "tune": "psnr", "emb_cells": 32, "warmup": 0.3},
    "paper-emb32-lr2e-3": {"pipeline": "rdo", "tune": "paper", "emb_cells": 32, "lr": 2e-3},
    "paper-emb32-warm30": {"pipeline": "rdo", "tune": "paper", "emb_cells": 32, "warmup": 0.3},
    "lr-2e-3": {"pipeline": "rdo", "lr": 2e-3},  # peak learning rate for every decoder size
    "psnr-lr-2e-3": {"pipeline": "rdo", "tune": "psnr", "lr": 2e-3},
    "psnr-cuts": {"pipeline": "rdo", "tune": "psnr", "scene_cuts": True},  # a network per scene
    "paper-emb32-grids": {"pipeline": "rdo", "tune": "paper", "emb_cells": 32, "model": "snerv-g"},
    "paper-emb32-cuts": {"pipeline": "rdo", "tune": "paper", "emb_cells": 32, "scene_cuts": True},
    # MSE + the paper's loss, the first 40% of the fit phase on MSE alone (breaks out of the mean frame)
    "mixed-mse40": _MIXED,
    "mixed-mse40-cuts": {**_MIXED, "scene_cuts": True},
    # NVRC-style entropy models (per output x input channel weight laws, context-coded embeddings)
    "mixed-mse40-context": {**_MIXED, "entropy": "context"},
    # HiNeRV-style feature grids (SNeRV-G: 15% of the decoder in grids)
    "mixed-mse40-grids": {**_MIXED, "model": "snerv-g"},
    # the recipe's peak learning rate (4e-3 at these decoder sizes), half and one and a half of it
    "mixed-mse40-lr2e-3": {**_MIXED, "lr": 2e-3},
    "mixed-mse40-lr6e-3": {**_MIXED, "lr": 6e-3},
    # the rate-sizing rule: a smaller decoder coded finer (the rule then gave 2.5 bits up to 0.1 bpp at any length)
    "mixed-mse40-bits3.5": {**_MIXED, "bits_per_param": 3.5},
    # the quantised phases fine-tune at a quarter of the fit's peak learning rate instead of re-training at it
    "mixed-mse40-qlr25": {**_MIXED, "qat_lr": 0.25},
    # the learning-rate schedule: one cosine over fit, noise and straight-through phases instead of a
    # restart per phase; or the fit's cosine stopped at half its peak, so it does not anneal before rounding
    "mixed-mse40-one": {**_MIXED, "lr_schedule": "one"},
    "mixed-mse40-openfit": {**_MIXED, "lr_schedule": "open-fit"},  # the default before mixed quantisation
    # the phase shares: more of the epochs in the float fit, fewer in the noise phase (50/35/15 by default)
    "openfit-fit65": {**_MIXED, "lr_schedule": "open-fit", "phase_shares": (0.65, 0.2, 0.15)},
    "openfit-fit75": {**_MIXED, "lr_schedule": "open-fit", "phase_shares": (0.75, 0.1, 0.15)},
    # the fit ends on the mean of its weights over its last 20% (stochastic weight averaging's idea)
    "openfit-avg20": {**_MIXED, "lr_schedule": "open-fit", "fit_average": 0.2},
    # Adam's second moment over ~100 steps instead of ~1,000: a 20-epoch fit of a 64-frame clip is 640 steps
    "openfit-b2-99": {**_MIXED, "lr_schedule": "open-fit", "betas": (0.9, 0.99)},
    # the noise phase's values rounded straight-through (the rate still on noise), so the network trains on
    # what is coded from the start of the quantised phases (Minnen & Singh 2020's "mixed" quantisation)
    "openfit-mixed": {**_MIXED, "lr_schedule": "open-fit", "qat_proxy": "mixed"},  # the default before "open"
    # the quantised phases' Adam starts from the previous phase's moments: a fresh one's first steps move every
    # weight by about the learning rate (a rounded pan-slow network fell from 24.4 to 15.5 dB in one step)
    "openfit-carry": {**_MIXED, "lr_schedule": "open-fit", "carry_moments": True},
    "openfit-carry-mixed": {**_MIXED, "lr_schedule": "open-fit", "carry_moments": True, "qat_proxy": "mixed"},
    # the noise phase's cosine stopped half-way too (lr_schedule "open"): only the last phase anneals
    "open-mixed": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed"},  # the default before 64 cells
    # a finer embedding grid for the default (144x256: 9x16 cells instead of 6x11; rate control gives the
    # embeddings 8 channels where 16 would take half the budget)
    "openfit-mixed-emb128": {**_MIXED, "lr_schedule": "open-fit", "qat_proxy": "mixed", "emb_cells": 128},
    # the default's embedding grid aimed at 64 / 128 cells: Bunny (192x384) 6x12 / 8x16 instead of 4x8, carphone
    # (144x176) 9x11 instead of 4x5; the 144x256 clips keep 6x11 at 64 (the same encode as the default). At 0.1
    # bpp the default's embeddings take 11% of Bunny's budget and 21% of carphone's, 47% of a 144x256 clip's.
    "open-mixed-emb64": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": 64},  # default till 12-05
    "open-mixed-emb128": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": 128},
    # 16-pixel cells at 192x384 (12x24; 128 cells give Bunny 8x16 cells of 24 pixels); 144x256 keeps 9x16 as at
    # 128, 144x176 gets 18x22 (8-pixel cells)
    "open-mixed-emb256": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": 256},
    # the default: cells of about 16x16 pixels, 64 to 256 of them (emb_cells None: the rdo pipeline's rule of
    # 2026-12-05, models/geometry.py rdo_emb_cells; a later rule takes a lever of its own). 144x176: 9x11 as at
    # 64 cells, 144x256: 9x16 as at 128, 192x384: 12x24 as at 256; those rows are its own
    "open-mixed-px16": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None},
    # the embeddings' channels at the default's 16-pixel cells (rate control's ladder gives 144x256 and 192x384 4
    # channels at 0.05 and 0.1 bpp, 8 at 0.2; the embeddings then take about half the budget at 0.05, a quarter
    # above): 2 channels (half the embedding values), 8 (twice)
    "px16-ch2": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None, "emb_channels": 2},
    "px16-ch8": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None, "emb_channels": 8},
    # 576 cells with 1 channel: as many embedding values as the default's 4 channels, finer placed (144x256: 18x32,
    # 8-pixel cells; 144x176: 18x22; 192x384: 16x32, 12-pixel cells); with 2 channels, twice the values
    "px8-ch1": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": 576, "emb_channels": 1},
    "px8-ch2": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": 576, "emb_channels": 2},
    # the network draws a canvas holding the camera's motion, each frame a window of it (video/canvas.py)
    "px16-canvas": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None, "canvas": "auto"},
    # an over-budget file trims the symbols that cost least by each weight's sensitivity (codec/rdo.py)
    "canvas-sens": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None, "canvas": "auto",
                    "trim": "sensitivity"},
    # the decoder sized for other bits a parameter than the rule's of 2026-12-05 (2.5 up to 0.1 bpp, 3.5 from 0.2): a
    # smaller decoder coded finer, or a larger one coded coarser (codec/ratecontrol.py RDO_BITS_PER_PARAM)
    "canvas-bpp1.8": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None, "canvas": "auto",
                      "bits_per_param": 1.8},
    "canvas-bpp3.5": {**_MIXED, "lr_schedule": "open", "qat_proxy": "mixed", "emb_cells": None, "canvas": "auto",
                      "bits_per_param": 3.5},
    # with mixed quantisation: a longer noise phase (40/45/15), a longer straight-through one (50/25/25)
    "openfit-mixed-fit40": {**_MIXED, "lr_schedule": "open-fit", "qat_proxy": "mixed",
                            "phase_shares": (0.4, 0.45, 0.15)},
    "openfit-mixed-ste25": {**_MIXED, "lr_schedule": "open-fit", "qat_proxy": "mixed",
                            "phase_shares": (0.5, 0.25, 0.25)},
}
# the default with a longer straight-through phase (50/25/25): at 100 epochs and 0.1 bpp the noise phase ends 2-5 dB
# below the float fit and the last phase wins 1-3 dB of it back; measured at 20 epochs, 0.1 bpp (design notes,
# "Phase shares")
LEVERS["canvas-ste25"] = {**LEVERS["canvas-sens"], "phase_shares": (0.5, 0.25, 0.25)}
# the default of 2885d66 with its decoder sized for 3.5 bits a parameter at every rate (its rule gave 2.5 up to 0.1
# bpp): a smaller decoder coded finer. At 100 epochs it won on the set, and the rule gave it to fits of 100 epochs
# from 2026-12-06, to every fit since session 42 (design notes, "3.5 bits at every length"); 4.5 bits: smaller still
LEVERS["canvas-sens-bpp3.5"] = {**LEVERS["canvas-sens"], "bits_per_param": 3.5}
LEVERS["canvas-sens-bpp4.5"] = {**LEVERS["canvas-sens"], "bits_per_param": 4.5}
# the default with embeddings in chunks of 64 frames instead of 8 (requests.py CHUNK_FRAMES: a chunk's first frame is
# coded without prediction; design notes, "Embedding prediction")
LEVERS["canvas-c64"] = {**LEVERS["canvas-sens"], "chunk_frames": None}
# The lever that spells out today's rdo default (tests/test_rd_levers.py holds it to the encoder's plan). Its rows
# stand for the code they ran: results/rd_amx_aim's at 100 epochs are 2885d66's (2.5 bits up to 0.1 bpp), which
# is why each state of the default keeps a study of its own (results/rd_amx_long: the rule by the fit's length; since
# session 42 every fit is sized for 3.5 bits a parameter, so its 20-epoch rows below 0.2 bpp are the old rule's).
DEFAULT_LEVER = "canvas-c64"
# from CRF 6: the preset's points reach 42-47 dB where the camera pans (canvas) and CRF 18 stops at 33-40
X264_CRF = (6, 10, 14, 18, 21, 24, 27, 30, 33, 36, 39, 42, 45, 48, 51)
# x265 strong's QPs here: the bench's coarse sweep (22-51, refined there around its points) from 18; finer steps
# gain little RGB PSNR in 4:2:0 (x264 on pan-fast: 38.25 dB at CRF 18, 39.36 at CRF 6)
X265_QP = (18, 22, 26, 30, 34, 38, 42, 46, 51)
# each anchor: the bench's profile, the name of its quality number and the sweep
ANCHORS = {"x264": ("literature", "crf", X264_CRF), "x265": ("strong", "qp", X265_QP)}


def _key(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True).encode()).hexdigest()[:16]


def _clips(names: str, out: Path) -> list:
    """The dev set (``dev``) or the named clips; ``NAME@HxW`` is a clip at another frame size."""
    from snervcodec.errors import ConfigError

    wanted = [e.name for e in DEV_SET] if names == "dev" else names.split(",")
    try:
        entries = [dev_clip(n) for n in wanted]
    except ConfigError as e:
        raise SystemExit(str(e)) from None
    return [clip_spec(e, out) for e in entries]


def _encode_options(lever: str) -> tuple:
    """The lever's CompressionConfig and snervcodec.encode keywords, over the recipe of 2026-12 the early
    levers were measured against (a lever names what it changes)."""
    from snervcodec import CompressionConfig

    opts = dict(LEVERS[lever])
    compression = CompressionConfig(pipeline=opts.pop("pipeline", "rdo"), entropy=opts.pop("entropy", "laplace"),
                                    bits_per_param=opts.pop("bits_per_param", 0.0), trim=opts.pop("trim", "margin"),
                                    chunk_frames=opts.pop("chunk_frames", 8))
    opts.setdefault("emb_cells", 8)
    opts.setdefault("tune", "paper")
    opts.setdefault("mse_start", 0.0)
    opts.setdefault("lr_schedule", "phases")
    opts.setdefault("qat_proxy", "noise")
    opts.setdefault("canvas", "off")
    return compression, opts


def _planned(video, lever: str, bpp: float, epochs: int, seed: int) -> tuple:
    """What an encode of ``lever`` would run: its compression settings and the plan's network, geometry and
    training configuration (two levers that differ only in a target the geometry rounds away plan alike)."""
    from snervcodec.codec.plan import plan
    from snervcodec.requests import EncodeRequest, ModelRequest, TrainRequest, VideoRequest

    compression, opts = _encode_options(lever)
    model = {"emb_cells": opts.pop("emb_cells"), "name": opts.pop("model", "snerv-b"),
             "emb_channels": opts.pop("emb_channels", None), "canvas": opts.pop("canvas")}
    req = EncodeRequest(VideoRequest.of(video.frames), ModelRequest(**model),
                        TrainRequest(None, epochs, "cpu", "auto", seed, opts), compression, bpp=bpp)
    p = plan(video, req)
    return compression, p.cfg, p.geo, p.tcfg


def _same_encode_row(rows_dir: Path, video, clip_name: str, lever: str, bpp: float, epochs: int,
                     seed: int) -> dict | None:
    """Another lever's row for this clip, rate, epochs and seed whose encode is this lever's own (the same
    plan, the same compression): it stands for this lever too instead of being encoded again, marked
    ``same_encode_as``. Splitting levers read the file and are never shared."""
    if LEVERS[lever].get("scene_cuts"):
        return None
    mine = None
    for other, settings in LEVERS.items():
        path = _row_path(rows_dir, {"lever": other, "settings": settings, "clip": clip_name, "target_bpp": bpp,
                                    "epochs": epochs, "seed": seed})
        if other == lever or settings.get("scene_cuts") or not path.exists():
            continue
        row = json.loads(path.read_text())
        if row.get("same_encode_as"):
            continue
        mine = mine or _planned(video, lever, bpp, epochs, seed)
        if _planned(video, other, bpp, epochs, seed) == mine:
            return {**row, "lever": lever, "settings": LEVERS[lever], "same_encode_as": other}
    return None


def _encode_row(clip, video, lever: str, bpp: float, epochs: int, seed: int) -> dict:
    from snervcodec import decode, encode
    from snervcodec.bench.quality import evaluate
    from snervcodec.provenance import code_digest

    compression, opts = _encode_options(lever)
    t0 = time.perf_counter()
    # segments are read from the file: a lever that splits reads the clip as the bench does
    source = dict(source=clip.path, frames=clip.frames, crop=clip.crop, size=clip.size) \
        if opts.get("scene_cuts") else dict(source=video)
    res = encode(**source, bpp=bpp, epochs=epochs, seed=seed, device="cpu", progress=False,
                 compression=compression, **opts)
    enc_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    dec = decode(res.stream, device="cpu")
    dec_s = time.perf_counter() - t0
    m = evaluate(dec.frames, video.frames, res.bytes)
    return {"lever": lever, "settings": LEVERS[lever], "clip": clip.name, "target_bpp": bpp, "epochs": epochs,
            "seed": seed, "bpp": m["bpp"], "psnr": m["rgb_psnr"], "ms_ssim": m["ms_ssim"],
            "float_psnr": res.float_psnr, "encode_seconds": round(enc_s, 1), "decode_seconds": round(dec_s, 2),
            "decoder_params": res.model.get("decoder_params"), "segments": res.segments, "history": res.history,
            "trimmed_symbols": res.compression.get("trimmed_symbols"), "step_shift": res.compression.get("step_shift"),
            "final_shift": res.compression.get("final_shift"),
            "code": code_digest(), "machine": machine_info()}


def _anchor_curve(clip, video, rows_dir: Path, codec: str = "x264") -> list[dict]:
    """The clip's sweep of one anchor (:data:`ANCHORS`), encoded once and kept beside the rows."""
    from snervcodec.bench.anchors import encode_anchor
    from snervcodec.bench.quality import evaluate

    path = _anchor_path(rows_dir, clip.name, clip, codec)
    if path.exists():
        return json.loads(path.read_text())
    profile, knob, sweep = ANCHORS[codec]
    curve = []
    for q in sweep:
        r = encode_anchor(video.frames, video.meta.fps, codec, profile, q)
        m = evaluate(r.frames, video.frames, r.bytes)
        curve.append({knob: q, "bpp": m["bpp"], "psnr": m["rgb_psnr"], "ms_ssim": m["ms_ssim"]})
    write_bytes_atomic(path, json.dumps(curve, indent=1).encode())
    return curve


def anchors(args) -> None:
    """Sweep the anchors of ``--anchors`` on the clips (no encode of ours): x265 for the BD-rates beside x264's."""
    unknown = [c for c in args.anchors if c not in ANCHORS]
    if unknown:
        raise SystemExit(f"unknown anchor(s) {', '.join(unknown)} (known: {', '.join(ANCHORS)})")
    rows_dir = args.out / "rows"
    rows_dir.mkdir(parents=True, exist_ok=True)
    for clip in _clips(args.clips, args.out):
        video = clip.load()
        for codec in args.anchors:
            t0 = time.perf_counter()
            curve = _anchor_curve(clip, video, rows_dir, codec)
            print(f"{clip.name} {codec}: {len(curve)} points, {min(p['bpp'] for p in curve):.4f}-"
                  f"{max(p['bpp'] for p in curve):.4f} bpp, "
                  f"{min(p['psnr'] for p in curve):.2f}-{max(p['psnr'] for p in curve):.2f} dB "
                  f"({time.perf_counter() - t0:.0f} s)", flush=True)


def run(args) -> None:
    rows_dir = args.out / "rows"
    rows_dir.mkdir(parents=True, exist_ok=True)
    levers = args.levers.split(",")
    unknown = [lv for lv in levers if lv not in LEVERS]
    if unknown:
        raise SystemExit(f"unknown lever(s) {', '.join(unknown)} (known: {', '.join(LEVERS)})")
    for clip in _clips(args.clips, args.out):
        video = clip.load()
        _anchor_curve(clip, video, rows_dir)
        for epochs in args.epochs:
            for bpp in args.bpp:
                for lever in levers:
                    path = _row_path(rows_dir, {"lever": lever, "settings": LEVERS[lever], "clip": clip.name,
                                                "target_bpp": bpp, "epochs": epochs, "seed": args.seed})
                    if path.exists():
                        continue
                    row = (_same_encode_row(rows_dir, video, clip.name, lever, bpp, epochs, args.seed)
                           or _encode_row(clip, video, lever, bpp, epochs, args.seed))
                    write_bytes_atomic(path, json.dumps(row, indent=1).encode())
                    same = f" (the encode of {row['same_encode_as']})" if row.get("same_encode_as") else ""
                    print(f"{clip.name} {lever} {bpp} bpp {epochs} ep: {row['bpp']:.4f} bpp {row['psnr']:.2f} dB "
                          f"(float {row['float_psnr']:.2f}) {row['encode_seconds']:.0f} s{same}", flush=True)


def _x264_bits_for(curve: list[dict], psnr: float) -> tuple[float, str]:
    """x264's bpp at ``psnr`` (log-linear between its two bracketing points) and how exact it is: "";
    below its lowest quality, its lowest rate and "<" (an upper bound: x264 needs less); above its
    highest, its highest rate and ">" (a lower bound: x264 needs more)."""
    import math

    pts = sorted((p["psnr"], p["bpp"]) for p in curve)
    if psnr <= pts[0][0]:
        return pts[0][1], "<"
    for (q0, r0), (q1, r1) in zip(pts, pts[1:]):
        if q0 <= psnr <= q1 and q1 > q0:
            f = (psnr - q0) / (q1 - q0)
            return math.exp(math.log(r0) + f * (math.log(r1) - math.log(r0))), ""
    return pts[-1][1], ">"


def summarise(rows: list[dict], curves: dict[str, list[dict]], x265: dict[str, list[dict]] | None = None) -> dict:
    """Per (lever, epochs, seed): per clip the points, the x264 ratio at 0.1 bpp, the BD-rates against
    x264 (PSNR and MS-SSIM, where three rates exist; against x265 too where ``x265`` has the clip's
    sweep), whether PSNR rises with the rate; then the
    median and worst clip, and the PSNR at 0.1 bpp against the default's (seed 0, same epochs) on the
    clips both have: a lever measured at one rate, or another seed of the default (the noise). A clip at
    another size (``NAME@HxW``) has its own row but stays out of the set's median and worst."""
    import warnings

    from snervcodec.bench.bdrate import bd_rate, overlap_fraction

    out: dict = {}
    groups: dict = {}
    for r in rows:
        groups.setdefault((r["lever"], r["epochs"], r.get("seed", 0)), {}).setdefault(r["clip"], []).append(r)
    for (lever, epochs, seed), by_clip in sorted(groups.items()):
        clips = {}
        for clip, pts in sorted(by_clip.items()):
            pts = sorted(pts, key=lambda p: p["target_bpp"])
            c = {"points": [{k: p[k] for k in ("target_bpp", "bpp", "psnr", "ms_ssim", "float_psnr",
                                                "encode_seconds", "decode_seconds")} for p in pts]}
            curve = curves.get(clip)
            at01 = [p for p in pts if p["target_bpp"] == 0.1]
            if curve and at01:
                need, bound = _x264_bits_for(curve, at01[0]["psnr"])
                c["x264_ratio_at_0.1"] = round(need / at01[0]["bpp"], 3)
                c["x264_ratio_exact"] = not bound  # False: outside x264's sweep, the ratio is a bound
                if bound:  # "<": below the sweep (an upper bound); ">": above it (a lower bound)
                    c["x264_ratio_bound"] = bound
            if len(pts) >= 3:
                c["rises"] = all(b["psnr"] > a["psnr"] for a, b in zip(pts, pts[1:]))
                warnings.simplefilter("ignore")  # the overlap is reported beside the figure
                for codec, anchor in (("x264", curve), ("x265", (x265 or {}).get(clip))):
                    if anchor:  # (x264's key stays "overlap", as in the reports before x265)
                        c["overlap" if codec == "x264" else f"overlap_{codec}"] = round(overlap_fraction(
                            [p["psnr"] for p in anchor], [p["psnr"] for p in pts]), 2)
                    for metric in ("psnr", "ms_ssim") if anchor else ():
                        try:
                            c[f"bd_rate_{codec}_{metric}"] = round(bd_rate(  # percent
                                [p["bpp"] for p in anchor], [p[metric] for p in anchor],
                                [p["bpp"] for p in pts], [p[metric] for p in pts]), 1)
                        except Exception as e:  # outside the anchor's sweep: say so, never a number
                            c[f"bd_rate_{codec}_{metric}"] = f"n/a ({type(e).__name__})"
            clips[clip] = c
        agg = {}
        for name, worst in (("bd_rate_x264_psnr", max), ("bd_rate_x264_ms_ssim", max), ("x264_ratio_at_0.1", min),
                            ("bd_rate_x265_psnr", max), ("bd_rate_x265_ms_ssim", max)):
            vals = [c[name] for c in _in_set(clips).values() if isinstance(c.get(name), (int, float))]
            if vals:
                agg[name] = {"median": round(statistics.median(vals), 3), "worst": worst(vals), "clips": len(vals)}
        settings = next(iter(by_clip.values()))[0]["settings"]
        name = f"{lever}@{epochs}" + (f" seed {seed}" if seed else "")
        out[name] = {"lever": lever, "epochs": epochs, "seed": seed, "settings": settings, "clips": clips,
                     "across": agg}
    for s in out.values():
        base = out.get(f"{DEFAULT_LEVER}@{s['epochs']}")
        if base is None or base is s:
            continue
        pairs = [(_psnr_at(c, 0.1), _psnr_at(base["clips"][clip], 0.1)) for clip, c in _in_set(s["clips"]).items()
                 if clip in base["clips"]]
        deltas = [q - q0 for q, q0 in pairs if q is not None and q0 is not None]
        if deltas:
            s["across"]["psnr_at_0.1_vs_default"] = {"median": round(statistics.median(deltas), 2),
                                                     "worst": round(min(deltas), 2), "clips": len(deltas)}
    return out


def _in_set(clips: dict) -> dict:
    """The dev set's own clips: a clip at another size (``NAME@HxW``) is a row of its own, outside the
    set's counts, median and worst."""
    return {name: c for name, c in clips.items() if base_name(name) == name}


def _psnr_at(clip: dict, bpp: float) -> float | None:
    return next((p["psnr"] for p in clip["points"] if p["target_bpp"] == bpp), None)


def _anchor_path(rows_dir: Path, name: str, spec, codec: str = "x264") -> Path:
    """Where a clip's sweep of an anchor is kept (keyed on its name, its spec and the sweep; the spec
    names its file without the folder, so ``--out results/x`` and its absolute spelling find the same
    sweep)."""
    if getattr(spec, "path", None):
        spec = replace(spec, path=Path(spec.path).name)
    profile, knob, sweep = ANCHORS[codec]
    key = {"clip": name, knob: sweep, "spec": str(spec)} | ({"profile": profile} if codec != "x264" else {})
    return rows_dir / f"{codec}-{_key(key)}.json"


def _row_path(rows_dir: Path, row: dict) -> Path:
    key = _key({"lever": row["settings"], "clip": row["clip"], "bpp": row["target_bpp"], "epochs": row["epochs"],
                "seed": row["seed"]})
    return rows_dir / f"{row['lever']}-{row['clip']}-{row['target_bpp']}-{row['epochs']}-{key}.json"


def restore(args) -> None:
    """Rows and anchor curves back from a report's JSON (the repository keeps docs/results/rd_levers.json;
    OUT is not kept): a fresh checkout goes on with the study instead of re-encoding it."""
    rows_dir = args.out / "rows"
    rows_dir.mkdir(parents=True, exist_ok=True)
    data = json.loads(args.json.read_text())
    specs = {name: clip_spec(dev_clip(name), args.out) for codec in ANCHORS for name in data.get(codec, {})}
    for codec in ANCHORS:
        for name, curve in data.get(codec, {}).items():
            write_bytes_atomic(_anchor_path(rows_dir, name, specs[name], codec), json.dumps(curve, indent=1).encode())
    for row in data["rows"]:
        write_bytes_atomic(_row_path(rows_dir, row), json.dumps(row, indent=1).encode())
    counts = ", ".join(f"{len(data.get(codec, {}))} {codec}" for codec in ANCHORS)
    print(f"restored {len(data['rows'])} rows and the anchor curves ({counts}) into {rows_dir}")


def report(args) -> None:
    rows_dir = args.out / "rows"
    rows = [json.loads(p.read_text()) for p in sorted(rows_dir.glob("*.json"))
            if not p.name.startswith(tuple(f"{codec}-" for codec in ANCHORS))]
    curves = _curves_by_clip(rows_dir, {r["clip"] for r in rows}, args.out)
    summary = summarise(rows, curves["x264"], curves["x265"])
    kept = {codec: c for codec, c in curves.items() if c or codec == "x264"}  # (no empty "x265" in older studies)
    write_bytes_atomic(args.json or args.out / "rd_levers.json", json.dumps(
        {"machine": machine_info(), **({"title": args.title} if args.title else {}), **kept, "summary": summary,
         "rows": [{k: v for k, v in r.items() if k != "machine"} for r in rows]}, indent=1).encode())
    print(render(summary))
    print(learning_curves(rows))


def _curves_by_clip(rows_dir: Path, names: set[str], out: Path) -> dict[str, dict[str, list[dict]]]:
    """Per anchor, the swept clips' curves among ``names``."""
    curves: dict = {codec: {} for codec in ANCHORS}
    for n in sorted(names):
        clip = clip_spec(dev_clip(n), out)
        for codec in ANCHORS:
            p = _anchor_path(rows_dir, n, clip, codec)
            if p.exists():
                curves[codec][n] = json.loads(p.read_text())
    return curves


def render(summary: dict, heading: str = "### ") -> str:
    """Per (lever, epochs): a table of the clips, then the median and worst clip."""
    lines = []
    for name, s in summary.items():
        x265 = any("overlap_x265" in c for c in s["clips"].values())  # a column where x265 was swept
        lines += [f"{heading}{name}", "", "| clip | PSNR dB at 0.05 / 0.1 / 0.2 (real bpp) | float PSNR "
                  "| x264 ratio at 0.1 | BD-rate vs x264 (PSNR / MS-SSIM) | "
                  + ("BD-rate vs x265 strong (PSNR / MS-SSIM) | " if x265 else "") + "encode s |",
                  "|---|---|---|---|---|" + ("---|" if x265 else "") + "---|"]
        for clip, c in s["clips"].items():
            pts = " / ".join(f"{p['psnr']:.2f} ({p['bpp']:.3f})" for p in c["points"])
            fl = " / ".join(f"{p['float_psnr']:.2f}" for p in c["points"])
            bd = f"{c.get('bd_rate_x264_psnr', '')} / {c.get('bd_rate_x264_ms_ssim', '')}"
            bd += f" (overlap {c['overlap']:.0%})" if "overlap" in c else ""
            secs = " / ".join(f"{p['encode_seconds']:.0f}" for p in c["points"])
            ratio = c.get("x264_ratio_at_0.1", "")
            if ratio != "" and not c.get("x264_ratio_exact", True):  # older reports: only bounds from below
                ratio = f"{c.get('x264_ratio_bound', '<')} {ratio}"
            bd265 = f"{c.get('bd_rate_x265_psnr', '')} / {c.get('bd_rate_x265_ms_ssim', '')}" + (
                f" (overlap {c['overlap_x265']:.0%})" if "overlap_x265" in c else "") + " | " if x265 else ""
            lines.append(f"| {clip} | {pts} | {fl} | {ratio} | {bd} | {bd265}{secs} |")
        for metric, a in s["across"].items():
            lines.append(f"\n{metric}: median {a['median']}, worst {a['worst']} over {a['clips']} clips")
        lines.append("")
    return "\n".join(lines)


def _curves(s: dict) -> int:
    """How many of the set's clips in a (lever, epochs) group have the three rates (a whole RD curve)."""
    return sum(len(c["points"]) >= 3 for c in _in_set(s["clips"]).values())


def _has_x265(summary: dict) -> bool:
    """Whether any group has a BD-rate against x265 across the set (a clip's sweep and three rates)."""
    return any(k.startswith("bd_rate_x265_") for s in summary.values() for k in s["across"])


def across_md(summary: dict) -> list[str]:
    """One line per lever and epoch budget: how many clips, on how many PSNR rises with the rate, and
    the median and worst clip against x264 (BD-rate in PSNR and MS-SSIM, the x264 ratio at 0.1 bpp) and,
    where swept, against x265 strong (BD-rate in PSNR and MS-SSIM)."""
    def mw(s, name, fmt, unit=""):
        a = s["across"].get(name)
        return f"{a['median']:{fmt}}{unit} / {a['worst']:{fmt}}{unit} ({a['clips']})" if a else ""

    x265 = _has_x265(summary)  # columns where x265 was swept
    lines = ["| lever | epochs | settings | whole curves | PSNR rises | BD-rate vs x264, PSNR: median / worst "
             "(clips) | MS-SSIM: median / worst | x264 ratio at 0.1: median / worst | "
             + ("BD-rate vs x265 strong, PSNR: median / worst | MS-SSIM: median / worst | " if x265 else "")
             + "PSNR at 0.1 vs the default, dB: median / worst |",
             "|---|---|---|---|---|---|---|---|" + ("---|---|" if x265 else "") + "---|"]
    for s in summary.values():
        settings = ", ".join(f"{k}={v}" for k, v in s.get("settings", {}).items())
        rises = sum(bool(c.get("rises")) for c in _in_set(s["clips"]).values())
        seed = s.get("seed", 0)
        name = f"**{s['lever']}** (the rdo default)" if s["lever"] == DEFAULT_LEVER and not seed else s["lever"]
        name += f", seed {seed}" if seed else ""
        lines.append(f"| {name} | {s['epochs']} | {settings} | {_curves(s)} of {len(_in_set(s['clips']))} | "
                     f"{rises if _curves(s) else ''} | {mw(s, 'bd_rate_x264_psnr', '+.0f', '%')} | "
                     f"{mw(s, 'bd_rate_x264_ms_ssim', '+.0f', '%')} | {mw(s, 'x264_ratio_at_0.1', '.2f')} | "
                     + (f"{mw(s, 'bd_rate_x265_psnr', '+.0f', '%')} | {mw(s, 'bd_rate_x265_ms_ssim', '+.0f', '%')} | "
                        if x265 else "") + f"{mw(s, 'psnr_at_0.1_vs_default', '+.2f')} |")
    return lines


X265_NOTE = (", and x265 strong beside it (veryslow, tune psnr, one key frame, a QP sweep: `rd_levers.py "
             "anchors --anchors x265`)")


def dev_md(dev: dict, min_curves: int = 4, heading: str = "## Development set") -> str:
    """The development set's section of docs/results.md, from ``report``'s JSON: the lever table
    across the set, then per clip every group with whole curves on at least ``min_curves`` clips."""
    m = dev.get("machine", {})
    machine = (f"{m.get('cpu', '?')} ({m.get('cores', '?')} cores), torch {m.get('torch', '?')}, training in "
               f"{'bf16' if m.get('cpu_bf16') else 'fp32'}")
    lines = [heading, "",
             "`python benchmarks/rd_levers.py run --levers L --clips dev --bpp 0.05,0.1,0.2 --epochs E`, one encode "
             "a row, then `report`; RGB PSNR and MS-SSIM of the decoded file, bpp of the real file; x264 medium "
             f"(CRF sweep) as the anchor{X265_NOTE if _has_x265(dev['summary']) else ''}; BD-rates pchip over the "
             f"quality both cover; measured on {machine}. "
             "x264 ratio: the bits x264 needs for our quality at 0.1 bpp, over ours (`<`: below x264's sweep, "
             "an upper bound; `>`: above it, a lower bound). A lever's settings change the recipe it was first "
             "measured against (paper loss, 8 embedding cells, no MSE opening).", "",
             "### Across the set", ""] + across_md(dev["summary"]) + [""]
    full = {k: s for k, s in dev["summary"].items() if _curves(s) >= min_curves}
    return "\n".join(lines) + "\n" + render(full, heading="### Per clip: ")


def learning_curves(rows: list[dict]) -> str:
    """The diagnosis table: per encode, the fit phase's learning curve (PSNR at each evaluation), how
    much its last tenth still gained, its largest drop between evaluations (instability), then the
    float model's PSNR against the coded stream's (what quantisation and the rate phases cost)."""
    lines = ["| lever | clip | bpp | epochs | fit curve (dB) | last gain | worst drop | float | coded |",
             "|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(rows, key=lambda r: (r["lever"], r["clip"], r["epochs"], r["target_bpp"])):
        fit = [h["psnr"] for h in r["history"] if "phase" not in h]
        if len(fit) < 2:
            continue
        drop = max(0.0, max(a - b for a, b in zip(fit, fit[1:])))
        lines.append(f"| {r['lever']} | {r['clip']} | {r['target_bpp']} | {r['epochs']} | "
                     f"{' '.join(f'{x:.1f}' for x in fit)} | {fit[-1] - fit[-2]:+.2f} | {drop:.2f} | "
                     f"{r['float_psnr']:.2f} | {r['psnr']:.2f} |")
    return "\n".join(lines)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("action", choices=["run", "report", "restore", "anchors"])
    ap.add_argument("--levers", default="baseline")
    ap.add_argument("--clips", default="dev", help="'dev' (all) or names, comma-separated; NAME@HxW: that clip "
                    "at another frame size (kept out of the set's median)")
    ap.add_argument("--bpp", type=lambda s: [float(x) for x in s.split(",")], default=[0.05, 0.1, 0.2])
    ap.add_argument("--epochs", type=lambda s: [int(x) for x in s.split(",")], default=[20])
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--anchors", type=lambda s: s.split(","), default=["x265"],
                    help="the anchors action's codecs to sweep, comma-separated (x264, x265; default x265)")
    ap.add_argument("--out", type=Path, default=Path("results/rd_levers"))
    ap.add_argument("--json", type=Path, help="report: where the JSON goes (default: OUT/rd_levers.json); "
                                              "restore: the report to restore OUT from")
    ap.add_argument("--title", help="report: what the study is, for its section of docs/results.md")
    args = ap.parse_args(argv)
    if args.action == "restore" and args.json is None:
        ap.error("restore needs --json (e.g. docs/results/rd_levers.json)")
    {"run": run, "report": report, "restore": restore, "anchors": anchors}[args.action](args)


if __name__ == "__main__":
    main()
