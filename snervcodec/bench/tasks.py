"""The paper's tasks (Sec. 4.2, Tables 1-3): video regression, frame interpolation and in-painting,
for SNeRV(B), SNeRV(T), SNeRV(T)-2D and the HNeRV baseline at equal total size.

- regression: train on every frame, evaluate every frame.
- interpolation: train on the odd frames (1st, 3rd, ...: indices 0, 2, ...), evaluate the even
  ones (indices 1, 3, ...), whose embeddings the trained encoder computes from the frames
  themselves (HNeRV's protocol; SNeRV(T)'s neighbours are the clip's frames t-1 and t+1).
- inpaint-fixed / inpaint-random: 50x50 boxes at five fixed points (the centre and the four
  quadrant centres) or at ten random points (seeded, the same on every frame); the network sees the
  masked frames, the loss ignores masked pixels, evaluation is on whole frames against the originals.

Equal size: decoder parameters (LL head included) plus every frame's transmitted embedding values
(main, LL min/max pair, temporal) equal those of the reference SNeRV(B) (c1=64, N_RB=2 at 192x384).
Metrics are those of the float model (the paper's tasks are not about compression).
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..fsutil import write_bytes_atomic
from ..errors import ConfigError
from ..models import MODELS as MODELS_REGISTRY
from ..models import ModelConfig, arch_defaults, choose_geometry, decoder_params, size_for_budget

TASKS = ("regression", "interpolation", "inpaint-fixed", "inpaint-random")
MODELS = ("snerv-b", "snerv-t", "snerv-t-2d", "hnerv")
BOX = 50


@dataclass
class TaskConfig:
    models: list[str] = field(default_factory=lambda: list(MODELS))
    tasks: list[str] = field(default_factory=lambda: list(TASKS))
    epochs: int = 100
    ref_c1: int = 64  # the reference SNeRV(B) that sets the common size
    ref_n_rb: int = 2
    n_rb: int = 2
    t_scale: int | None = None  # SNeRV(T) temporal embedding grid = UB2 grid / t_scale (None: the model default, 2)
    t_channels: int | None = None  # SNeRV(T) temporal embedding channels (None: the model default, 3)
    precision: str = "auto"
    device: str = "auto"
    seed: int = 0
    out: str = "results/tasks"


def per_frame_values(cfg: ModelConfig) -> int:
    """Values transmitted per frame: embedding, LL (min, max) pair (SNeRV), temporal embeddings."""
    return cfg.emb_numel + (2 if cfg.uses_dwt else 0) + cfg.temb_numel


def equal_size_configs(h: int, w: int, n_frames: int, models: list[str], ref_c1: int = 64, ref_n_rb: int = 2,
                       n_rb: int = 2, t_scale: int | None = None, t_channels: int | None = None
                       ) -> dict[str, ModelConfig]:
    """Each model sized so that decoder + ``n_frames`` embeddings match the reference SNeRV(B).
    ``t_scale`` / ``t_channels`` override the temporal models' embedding grid and channels (larger
    temporal embeddings, smaller decoder)."""
    geo_b = choose_geometry(h, w)
    ref = ModelConfig("snerv-b", ref_c1, ref_n_rb, geo_b.strides, geo_b.emb_hw)
    total = decoder_params(ref) + n_frames * per_frame_values(ref)
    out = {}
    for name in models:
        if name == "snerv-b" and n_rb == ref_n_rb:
            out[name] = ref
            continue
        arch = arch_defaults(name)
        for key, value in (("t_scale", t_scale), ("t_channels", t_channels)):
            if value is not None and key in arch:
                arch[key] = value
        geo = choose_geometry(h, w, uses_dwt=MODELS_REGISTRY[name].uses_dwt)
        smallest = ModelConfig(name=name, c1=8, n_rb=n_rb, strides=geo.strides, emb_hw=geo.emb_hw, **arch)  # type: ignore[arg-type]
        out[name] = size_for_budget(name, geo, total - n_frames * per_frame_values(smallest), n_rb,  # type: ignore[arg-type]
                                    decoder_params, **arch)
    return out


def temporal_tag(cfg: ModelConfig) -> str:
    """``-ts1``, ``-tc6``, ``-ts1-tc6``: how ``cfg``'s temporal embeddings differ from its model's default."""
    if not cfg.temporal:
        return ""
    d = arch_defaults(cfg.name)
    return (f"-ts{cfg.t_scale}" if cfg.t_scale != d["t_scale"] else "") + (
        f"-tc{cfg.t_channels}" if cfg.t_channels != d["t_channels"] else "")


def inpaint_mask(n: int, h: int, w: int, kind: str, seed: int = 0, box: int = BOX) -> np.ndarray:
    """(n, h, w) bool, True = known pixel."""
    if kind == "fixed":
        centres = [(h // 2, w // 2), (h // 4, w // 4), (h // 4, 3 * w // 4), (3 * h // 4, w // 4),
                   (3 * h // 4, 3 * w // 4)]
    else:
        rng = np.random.default_rng(seed)
        centres = [(int(rng.integers(0, h)), int(rng.integers(0, w))) for _ in range(10)]
    known = np.ones((h, w), dtype=bool)
    for cy, cx in centres:
        y0, x0 = max(cy - box // 2, 0), max(cx - box // 2, 0)
        known[y0:y0 + box, x0:x0 + box] = False
    return np.broadcast_to(known, (n, h, w)).copy()


def run_task(frames: np.ndarray, cfg: ModelConfig, task: str, tc: TaskConfig, progress: bool = False) -> dict:
    """Train ``cfg`` for one task and measure it (float model)."""
    from ..training import Trainer, make_train_config

    n, h, w, _ = frames.shape
    geo = choose_geometry(h, w, uses_dwt=cfg.uses_dwt, strides=cfg.strides)
    tcfg = make_train_config(None, model=cfg.name, epochs=tc.epochs, precision=tc.precision, seed=tc.seed)
    kw: dict = {}
    eval_frames = None
    if task == "interpolation":
        kw["train_frames"] = list(range(0, n, 2))
        eval_frames = list(range(1, n, 2))
    elif task.startswith("inpaint"):
        known = inpaint_mask(n, h, w, task.split("-")[1], tc.seed)
        kw.update(known=known, reference=frames)
        frames = frames * known[..., None]
    elif task != "regression":
        raise ConfigError(f"unknown task {task!r}")
    tr = Trainer(frames, cfg, geo, tcfg, device=tc.device, **kw)
    t0 = time.perf_counter()
    tr.run(progress=progress)
    wall = time.perf_counter() - t0
    m = tr.evaluate(with_msssim=True, frames=eval_frames)
    steps = tc.epochs * len(tr.train_idx)
    return {
        "model": cfg.name, "task": task, "psnr": m["psnr"], "ms_ssim": m["ms_ssim"],
        "train_psnr": tr.history[-1]["psnr"] if tr.history else math.nan,
        "decoder_params": decoder_params(cfg), "per_frame_values": per_frame_values(cfg),
        "total_values": decoder_params(cfg) + n * per_frame_values(cfg),
        "config": asdict(cfg), "epochs": tc.epochs, "train_frames": len(tr.train_idx),
        "eval_frames": len(eval_frames) if eval_frames else n,
        "train_seconds": tr.seconds, "wall_seconds": wall, "seconds_per_step": tr.seconds / max(steps, 1),
        "precision": tr.precision, "device": str(tr.device),
    }


def run(frames: np.ndarray, tc: TaskConfig, log: Callable[[str], None] = print, progress: bool = False) -> dict:
    """Every (model, task) pair, cached per pair under ``tc.out`` so an interrupted run resumes."""
    out = Path(tc.out)
    (out / "cache").mkdir(parents=True, exist_ok=True)
    n, h, w, _ = frames.shape
    cfgs = equal_size_configs(h, w, n, tc.models, tc.ref_c1, tc.ref_n_rb, tc.n_rb, tc.t_scale, tc.t_channels)
    clip_id = hashlib.sha256(np.ascontiguousarray(frames).tobytes()).hexdigest()[:12]
    rows = []
    for task in tc.tasks:
        for name in tc.models:
            cfg = cfgs[name]  # a non-default temporal embedding gets its own key; the default keeps the plain one
            key = f"{name}{temporal_tag(cfg)}-{task}-e{tc.epochs}-s{tc.seed}-{tc.precision}-{clip_id}"
            path = out / "cache" / f"{key}.json"
            if path.exists():
                row = json.loads(path.read_text())
                log(f"{task:<15} {name:<11} cached: {row['psnr']:.2f} dB")
            else:
                row = run_task(frames, cfg, task, tc, progress=progress)
                write_bytes_atomic(path, json.dumps(row, indent=2).encode())
                log(f"{task:<15} {name:<11} {row['psnr']:.2f} dB, MS-SSIM {row['ms_ssim']:.4f}, "
                    f"{row['train_seconds']:.0f} s")
            rows.append(row)
    return {"settings": asdict(tc), "frames": n, "size": [h, w], "rows": rows}


def markdown(results: dict) -> str:
    rows = results["rows"]
    models = list(dict.fromkeys(r["model"] for r in rows))
    tasks = list(dict.fromkeys(r["task"] for r in rows))
    get = {(r["model"], r["task"]): r for r in rows}
    n, (h, w) = results["frames"], results["size"]
    lines = [f"### Tasks: {n} frames at {h}x{w}, {results['settings']['epochs']} epochs, equal total size",
             "", "PSNR (dB) / MS-SSIM of the float model; interpolation on the held-out frames, in-painting on "
             "whole frames against the originals.", "",
             "| model | decoder params | values/frame | " + " | ".join(tasks) + " | s/step (regression) |",
             "|---|---|---|" + "---|" * len(tasks) + "---|"]
    for m in models:
        first = next(r for r in rows if r["model"] == m)
        cells = []
        for t in tasks:
            r = get.get((m, t))
            cells.append(f"{r['psnr']:.2f} / {r['ms_ssim']:.4f}" if r else "-")
        reg = get.get((m, "regression"))
        sps = f"{reg['seconds_per_step']:.3f}" if reg else "-"
        ts, tch = first["config"].get("t_scale", 0), first["config"].get("t_channels", 0)
        label = f"{m} (t_scale {ts}, t_channels {tch})" if ts else m
        lines.append(f"| {label} | {first['decoder_params']:,} | {first['per_frame_values']} | " + " | ".join(cells)
                     + f" | {sps} |")
    b = get.get(("snerv-b", "regression"))
    if b:
        lines += ["", "Training time per step relative to snerv-b (regression): " + ", ".join(
            f"{m} {get[(m, 'regression')]['seconds_per_step'] / b['seconds_per_step']:.2f}x"
            for m in models if (m, "regression") in get)]
    interp = [(m, get[(m, "interpolation")]) for m in models if (m, "interpolation") in get]
    if interp:  # fit (training frames) vs generalisation (held-out frames): what interpolation measures
        lines += ["", "Interpolation, PSNR on the training frames -> held-out frames (gap): " + ", ".join(
            f"{m} {r['train_psnr']:.2f} -> {r['psnr']:.2f} ({r['train_psnr'] - r['psnr']:.2f} dB)" for m, r in interp)]
    return "\n".join(lines) + "\n"
