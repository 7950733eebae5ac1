"""Batch size on the CPU (issue 15): PSNR of the float fit at equal wall time and at equal epochs for
batch 1/2/4/8/16 (learning rate x sqrt(batch), the default rule), on the short Bunny setting
(frames 0-31, centre-crop 640x1280, 192x384, SNeRV-B c1=64 N_RB=2, fp32).

    python benchmarks/cpu_batch.py --seconds 120 --epochs 30 --out results/cpu_batch.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, save_rows  # noqa: E402

from snervcodec.api import fit  # noqa: E402
from snervcodec.video import read_video  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seconds", type=float, default=120)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batches", type=lambda s: [int(v) for v in s.split(",")], default=[1, 2, 4, 8, 16])
    ap.add_argument("--out")
    args = ap.parse_args()
    clip = read_video(bunny_path(), frames="0:32", crop="640x1280", size="192x384")
    rows = []
    for b in args.batches:
        for mode in ("time", "epochs"):
            t0 = time.perf_counter()
            kw = {"time_limit": args.seconds} if mode == "time" else {"epochs": args.epochs}
            res = fit(clip, c1=64, n_rb=2, device="cpu", precision="fp32", progress=False, batch_size=b, **kw)
            row = {"batch": b, "budget": f"{args.seconds:g} s" if mode == "time" else f"{args.epochs} epochs",
                   "psnr": round(res.psnr, 3), "train_seconds": round(res.train_seconds, 1),
                   "wall_seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    save_rows(args.out, rows)


if __name__ == "__main__":
    main()
