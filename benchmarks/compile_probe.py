"""Does ``torch.compile`` pay for training and decoding here? (issue 15: fused kernels, CUDA graphs)

    python benchmarks/compile_probe.py --device cpu --out results/compile_probe_cpu.json
    python benchmarks/compile_probe.py --device cuda --size 640x1280 --c1 111 --n-rb 6 --precision bf16

The trainer's ``--compile`` (``TrainConfig.compile``): one trainer a ``--modes`` entry (``eager`` is
``off``), its float fit steps (or ``--phase noise``: the rdo noise phase's) timed in alternating
blocks in one process, after each mode's warm-up (its compile time is reported apart). Decoding times
the decoder's synthesis of every frame, eager against compiled. Bunny frames, centre-crop 640x1280
resized to ``--size``; SNeRV-B at ``--c1`` / ``--n-rb``; one JSON line a measurement. Only what is
compiled differs between modes: the data, the optimiser and the step are the trainer's own.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, phase_trainer, print_rows  # noqa: E402

from snervcodec.models.choose import model_config  # noqa: E402
from snervcodec.models.synthesis import synthesize  # noqa: E402
from snervcodec.training import Trainer, make_train_config  # noqa: E402
from snervcodec.video import read_video  # noqa: E402


def _sync(dev: torch.device) -> None:
    if dev.type == "cuda":
        torch.cuda.synchronize()


def time_steps(tr: Trainer, opt, params, n: int, quant: str | None) -> float:
    """Seconds per step over ``n`` steps (frames in order, batch 1)."""
    _sync(tr.device)
    t0 = time.perf_counter()
    for i in range(n):
        tr.step(opt, params, torch.tensor([i % tr.data.n], device=tr.device), quant=quant)
    _sync(tr.device)
    return (time.perf_counter() - t0) / n


def train_probe(frames, args, dev) -> list[dict]:
    h, w = frames.shape[1:3]
    rows, trainers = [], {}
    for mode in args.modes:
        tr, params, opt, quant = phase_trainer(frames, args.phase, dev, args.c1, args.n_rb, precision=args.precision,
                                               compile="off" if mode == "eager" else mode)
        t0 = time.perf_counter()
        time_steps(tr, opt, params, 3, quant)  # compile (or warm up)
        warm = time.perf_counter() - t0
        trainers[mode] = (tr, params, opt)
        rows.append({"what": "train_warmup", "mode": mode, "phase": args.phase, "seconds": round(warm, 1)})
    per = {m: [] for m in args.modes}
    for _ in range(args.rounds):  # alternating blocks: the machine's drift hits every mode alike
        for mode, (tr, params, opt) in trainers.items():
            per[mode].append(time_steps(tr, opt, params, args.steps, quant))
    base = statistics.median(per[args.modes[0]])
    for mode in args.modes:
        med = statistics.median(per[mode])
        rows.append({"what": "train_step", "mode": mode, "phase": args.phase, "size": f"{h}x{w}",
                     "precision": trainers[mode][0].precision,
                     "decoder_params": sum(p.numel() for p in trainers[mode][0].decoder.parameters()),
                     "ms_per_step": [round(1e3 * s, 1) for s in per[mode]], "median_ms": round(1e3 * med, 1),
                     "speedup_vs_" + args.modes[0]: round(base / med, 3)})
    return rows


@torch.no_grad()
def decode_probe(frames, args, dev) -> list[dict]:
    """Synthesis of every frame (batch 4) by a trained-shape decoder on encoder embeddings."""
    h, w = frames.shape[1:3]
    cfg, geo = model_config("snerv-b", h, w, c1=args.c1, n_rb=args.n_rb)
    tr = Trainer(frames, cfg, geo, make_train_config(epochs=1, precision=args.precision), device=dev)
    emb, _ = tr.encode_all()
    dec = tr.decoder.eval()
    lo, hi = (r.to(dev) for r in tr.ll_range().unbind(1)) if cfg.uses_dwt else (None, None)
    rows = []
    for mode in args.modes:
        d = dec if mode == "eager" else torch.compile(dec, **({} if mode == "default" else {"mode": mode}))

        def run(d=d) -> float:  # this mode's decoder (called within the iteration)
            _sync(dev)
            t0 = time.perf_counter()
            for i in range(0, len(emb), 4):
                sl = slice(i, i + 4)
                synthesize(d, cfg, emb[sl].to(dev), None if lo is None else lo[sl],
                           None if hi is None else hi[sl]).frame.cpu()
            _sync(dev)
            return time.perf_counter() - t0

        t0 = time.perf_counter()
        run()
        warm = time.perf_counter() - t0
        times = [run() for _ in range(args.rounds)]
        rows.append({"what": "decode", "mode": mode, "size": f"{h}x{w}", "frames": len(emb), "warmup_s": round(warm, 1),
                     "fps": round(len(emb) / statistics.median(times), 2)})
    return rows


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--size", default="192x384", help="frame size the Bunny crop is resized to")
    ap.add_argument("--frames", default="0:32")
    ap.add_argument("--c1", type=int, default=64)
    ap.add_argument("--n-rb", type=int, default=2)
    ap.add_argument("--precision", default="fp32", help="fp32, bf16 or auto")
    ap.add_argument("--modes", default="eager,default", help="eager, default, reduce-overhead, max-autotune, ...")
    ap.add_argument("--phase", choices=["fit", "noise"], default="fit",
                    help="fit: float steps; noise: the rdo noise phase's quantised steps (rate term included)")
    ap.add_argument("--steps", type=int, default=20, help="steps a timed block")
    ap.add_argument("--rounds", type=int, default=3, help="alternating blocks a mode")
    ap.add_argument("--no-decode", action="store_true")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    args.modes = args.modes.split(",")
    dev = torch.device(args.device)
    frames = read_video(bunny_path(), frames=args.frames, crop="640x1280", size=args.size).frames
    rows = train_probe(frames, args, dev) + ([] if args.no_decode else decode_probe(frames, args, dev))
    print_rows(args.out, rows)


if __name__ == "__main__":
    main()
