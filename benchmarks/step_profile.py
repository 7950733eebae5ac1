"""Where a training step's time goes (issue 15): torch.profiler over a few steps of the trainer's own
loop, the operators with the most device time (self time: CUDA kernels, or CPU operators; on CUDA also
the aten operators by the device time of what they launched), as JSON lines.

    python benchmarks/step_profile.py --device cuda --size 640x1280 --c1 111 --n-rb 6 --precision bf16
    python benchmarks/step_profile.py --device cpu --precision fp32           # the short Bunny setting

Bunny frames (centre-crop 640x1280, resized to ``--size``), SNeRV-B at ``--c1`` / ``--n-rb``, float fit
steps (or ``--phase noise``), after warm-up steps. Each row: operator, calls, self milliseconds a step,
share of the profiled device time; a last row gives the step's wall time.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, phase_trainer, print_rows  # noqa: E402

from snervcodec.video import read_video  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", default="192x384")
    ap.add_argument("--frames", default="0:32")
    ap.add_argument("--c1", type=int, default=64)
    ap.add_argument("--n-rb", type=int, default=2)
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--batch-size", type=int, default=1)
    ap.add_argument("--phase", choices=["fit", "noise"], default="fit")
    ap.add_argument("--steps", type=int, default=10, help="profiled steps (after as many warm-up steps)")
    ap.add_argument("--top", type=int, default=25)
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    dev = torch.device(a.device)
    frames = read_video(bunny_path(), frames=a.frames, crop="640x1280", size=a.size).frames
    tr, params, opt, quant = phase_trainer(frames, a.phase, dev, a.c1, a.n_rb, precision=a.precision,
                                           batch_size=a.batch_size)
    n, b = tr.data.n, a.batch_size

    def steps(k: int) -> float:
        sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
        sync()
        t0 = time.perf_counter()
        for i in range(k):
            idx = (torch.arange(b) + i * b) % n
            tr.step(opt, params, idx.to(dev), quant=quant)
        sync()
        return (time.perf_counter() - t0) / k

    steps(a.steps)  # warm-up (cuDNN / oneDNN primitives)
    plain = steps(a.steps)
    acts = [ProfilerActivity.CPU] + ([ProfilerActivity.CUDA] if dev.type == "cuda" else [])
    with profile(activities=acts) as prof:
        steps(a.steps)
    key = "self_device_time_total" if dev.type == "cuda" else "self_cpu_time_total"
    ev = [e for e in prof.key_averages() if getattr(e, key) > 0]
    total = sum(getattr(e, key) for e in ev)
    rows = [{"op": e.key, "calls_per_step": round(e.count / a.steps, 1),
             "ms_per_step": round(getattr(e, key) / 1e3 / a.steps, 3), "share": round(getattr(e, key) / total, 4)}
            for e in sorted(ev, key=lambda e: -getattr(e, key))[:a.top]]
    if dev.type == "cuda":  # kernels above; the operators that launched them, their device time inclusive
        ops = [e for e in prof.key_averages() if e.key.startswith("aten::") and e.device_time_total > 0]
        rows += [{"aten_op": e.key, "calls_per_step": round(e.count / a.steps, 1),
                  "device_ms_per_step_inclusive": round(e.device_time_total / 1e3 / a.steps, 3)}
                 for e in sorted(ops, key=lambda e: -e.device_time_total)[:a.top]]
    rows.append({"what": "step", "device": a.device, "size": a.size, "precision": tr.precision, "batch": b,
                 "phase": a.phase, "decoder_params": sum(p.numel() for p in tr.decoder.parameters()),
                 "ms_per_step_unprofiled": round(plain * 1e3, 2),
                 "profiled_ms_per_step": round(total / 1e3 / a.steps, 2), "time_key": key})
    print_rows(a.out, rows)


if __name__ == "__main__":
    main()
