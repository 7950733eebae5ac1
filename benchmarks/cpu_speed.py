"""CPU training speed at batch 1 (issue 15): frame-iterations per second of the short Bunny setting
(frames 0-31, centre-crop 640x1280, 192x384, SNeRV-B c1=64 N_RB=2, fp32), and the PSNR after a number of
epochs. Run it for two checkouts one after the other on one machine to compare them:

    python benchmarks/cpu_speed.py --epochs 100                        # this checkout
    PYTHONPATH=/tmp/base python benchmarks/cpu_speed.py --epochs 100   # another (e.g. a git worktree)
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, machine_info  # noqa: E402

import snervcodec  # noqa: E402
from snervcodec.models.choose import model_config  # noqa: E402
from snervcodec.training import Trainer, make_train_config  # noqa: E402
from snervcodec.video import read_video  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100, help="training epochs for the PSNR (0: speed only)")
    ap.add_argument("--speed-epochs", type=int, default=3, help="epochs timed for the speed (after one warm-up)")
    ap.add_argument("--precision", default="fp32")
    args = ap.parse_args()
    v = read_video(bunny_path(), frames="0:32", crop="640x1280", size="192x384")
    cfg, geo = model_config("snerv-b", 192, 384, c1=64, n_rb=2)
    torch.manual_seed(0)
    tc = make_train_config("fast", model="snerv-b", epochs=1 + args.speed_epochs, precision=args.precision, seed=0)
    tr = Trainer(v.frames, cfg, geo, tc, device="cpu")
    t0 = time.perf_counter()
    tr.run(progress=False)
    total = time.perf_counter() - t0
    # the first epoch warms up (allocator, oneDNN primitives); time the rest from the history if it has it
    steps = 32 * (1 + args.speed_epochs)
    out = {"snervcodec": snervcodec.__file__, "seconds_per_step": round(total / steps, 4),
           "frame_it_per_s": round(steps / total, 2), "threads": torch.get_num_threads(), "machine": machine_info()}
    if args.epochs:
        tc = make_train_config("fast", model="snerv-b", epochs=args.epochs, precision=args.precision, seed=0)
        tr = Trainer(v.frames, cfg, geo, tc, device="cpu")
        t0 = time.perf_counter()
        tr.run(progress=False)
        out["train_seconds"] = round(time.perf_counter() - t0, 1)
        out["psnr"] = round(tr.evaluate(with_msssim=False)["psnr"], 3)
        out["epochs"] = args.epochs
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
