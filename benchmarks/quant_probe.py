"""What rounding costs where the quantised phases begin (issue 30's diagnosis of long encodes).

One dev-set clip, encoded as ``rd_levers.py`` encodes a lever (the default unless ``--lever``), with
two measurements added after pruning and the entropy models' start (the rdo pipeline's steps run
unchanged between them): the float network's PSNR after pruning, and the same network rounded at the
steps the rate controller starts from (the start of the noise phase). The difference is what the
quantised phases have to win back; ``--log-rate`` also prints every move of the rate controller, and
``--first-steps`` the rounded network's PSNR (over the 16 progress frames) after the noise phase's
first 1, 2, 4, ... 256 steps (its evaluations write the current embeddings into the rate model's
memory of neighbouring frames; nothing else of the training changes).

    python benchmarks/quant_probe.py bikes --bpp 0.1 --epochs 100
    python benchmarks/quant_probe.py pan-fast --bpp 0.1 --epochs 20 --log-rate
    python benchmarks/quant_probe.py pan-slow --first-steps --lever openfit-carry

Prints one JSON line: the coded PSNR, the float one after the fit, after pruning, rounded at the
start, and the quantised phases' learning curve.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import rd_levers  # noqa: E402

from snervcodec.codec import ratecontrol, rdo  # noqa: E402
from snervcodec.codec.pipelines import PIPELINES  # noqa: E402
from snervcodec.training import Trainer  # noqa: E402
from snervcodec.training.trainer import PROGRESS_FRAMES  # noqa: E402

FIRST_STEPS = (1, 2, 4, 8, 16, 32, 64, 128, 256)


def _probed(build, found: dict):
    """The rdo pipeline's steps with the two measurements after its entropy models are attached."""

    def probe(s) -> None:
        found["pruned_float"] = s.trainer.evaluate(with_msssim=False)["psnr"]
        found["rounded_start"] = s.trainer.evaluate(with_msssim=False, quant="ste")["psnr"]

    def steps(p, lr_scale):
        out = []
        for step in build(p, lr_scale):
            out.append(step)
            if step is rdo.attach_entropy_models:
                out.append(probe)
        return out

    return steps


def _stepped(step, found: dict):
    """Trainer.step, and after the noise phase's steps FIRST_STEPS the rounded network's PSNR."""
    count = [0]

    def wrapped(self, opt, params, idx, fixed=None, mask=None, quant=None, measure=True, tune=None):
        out = step(self, opt, params, idx, fixed, mask, quant, measure, tune)
        if quant is not None and fixed is None:  # the noise phase (the last one trains on fixed embeddings)
            count[0] += 1
            if count[0] in FIRST_STEPS:
                frames = self.train_idx[::-(-len(self.train_idx) // PROGRESS_FRAMES)].tolist()
                psnr = self.evaluate(with_msssim=False, frames=frames, quant="ste")["psnr"]
                found.setdefault("noise_steps", []).append((count[0], round(psnr, 2)))
        return out

    return wrapped


def _logged(follow):
    def wrapped(self, estimate, groups, move_steps=True):
        print(f"rate: estimate {estimate:.0f} target {self.target:.0f} ({estimate / self.target:.3f}) "
              f"lam {self.lam:.3f} steps {'move' if move_steps else 'fixed'}", flush=True)
        return follow(self, estimate, groups, move_steps)

    return wrapped


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("clip", help="a dev-set clip (snervcodec.bench.devset)")
    ap.add_argument("--lever", default=rd_levers.DEFAULT_LEVER, choices=list(rd_levers.LEVERS))
    ap.add_argument("--bpp", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", type=Path, default=Path("results/rd_levers"), help="where dev-set clips are made")
    ap.add_argument("--log-rate", action="store_true", help="print every move of the rate controller")
    ap.add_argument("--first-steps", action="store_true",
                    help="the rounded network's PSNR after the noise phase's first 1, 2, 4, ... 256 steps")
    args = ap.parse_args(argv)
    found: dict = {}
    PIPELINES["rdo"] = _probed(PIPELINES["rdo"], found)
    if args.log_rate:
        ratecontrol.RateController.follow = _logged(ratecontrol.RateController.follow)
    if args.first_steps:
        Trainer.step = _stepped(Trainer.step, found)
    clip = rd_levers._clips(args.clip, args.out)[0]
    row = rd_levers._encode_row(clip, clip.load(), args.lever, args.bpp, args.epochs, args.seed)
    print(json.dumps({"clip": args.clip, "lever": args.lever, "bpp": row["bpp"], "epochs": args.epochs,
                      "psnr": round(row["psnr"], 2), "float": round(row["float_psnr"], 2),
                      **{k: round(v, 2) if isinstance(v, float) else v for k, v in found.items()},
                      "quantised_phases": [(h["phase"], h["epoch"], round(h["psnr"], 2))
                                           for h in row["history"] if "phase" in h]}))


if __name__ == "__main__":
    main()
