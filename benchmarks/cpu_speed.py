"""CPU training speed at batch 1 (issue 15): frame-iterations per second of the short Bunny setting
(frames 0-31, centre-crop 640x1280, 192x384, SNeRV-B c1=64 N_RB=2, fp32), and the PSNR after a number of
epochs. Run it for two checkouts one after the other on one machine to compare them:

    python benchmarks/cpu_speed.py --epochs 100                        # this checkout
    PYTHONPATH=/tmp/base python benchmarks/cpu_speed.py --epochs 100   # another (e.g. a git worktree)
    python benchmarks/cpu_speed.py --steps                             # fit steps alone, no evaluations
    python benchmarks/cpu_speed.py --loss                              # the loss alone, fwd + bwd
    python benchmarks/cpu_speed.py --ssim-ab                           # closed-form SSIM gradient vs autograd
"""

from __future__ import annotations

import argparse
import json
import statistics
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


def loss_ms(rounds: int = 3, steps: int = 40) -> list[float]:
    """Milliseconds for the loss's three terms, forward and backward, at this setting's shapes (frame
    192x384, LL and HF bands 96x192; random values), ``rounds`` medians of ``steps``."""
    from snervcodec.training.loss import fusion_loss

    g = torch.Generator().manual_seed(0)
    shapes = [(1, 3, 192, 384), (1, 3, 96, 192), (1, 9, 96, 192)]
    xs = [torch.rand(s, generator=g).requires_grad_() for s in shapes]
    ys = [torch.rand(s, generator=g) for s in shapes]
    out = []
    for _ in range(rounds):
        times = []
        for _ in range(steps):
            t0 = time.perf_counter()
            sum(fusion_loss(x, y) for x, y in zip(xs, ys)).backward()
            times.append(time.perf_counter() - t0)
        out.append(round(1e3 * sorted(times)[steps // 2], 2))
    return out


def step_timer(frames, cfg, geo, precision: str = "fp32"):
    """A function timing one epoch of float fit steps (milliseconds a step), calling the trainer's step
    directly: no evaluation, no epoch bookkeeping. An older trainer without ``_optimiser`` gets the
    plain Adam its phases made."""
    from snervcodec.training.phases import Phase

    tr = Trainer(frames, cfg, geo, make_train_config(epochs=1, precision=precision, seed=0), device="cpu")
    if hasattr(tr, "_optimiser"):
        params, opt = tr._optimiser(Phase(name="fit", epochs=1, lr=1e-3), None)
    else:
        params = list(tr.encoder.parameters()) + list(tr.decoder.parameters())
        opt = torch.optim.Adam(params, lr=1e-3, betas=tr.tcfg.betas)
    order = torch.randperm(len(frames), generator=torch.Generator().manual_seed(0))

    def block() -> float:
        t0 = time.perf_counter()
        for i in order:
            tr.step(opt, params, i.view(1))
        return (time.perf_counter() - t0) / len(order) * 1e3

    block()  # warm-up (oneDNN primitives)
    return block


def ssim_ab(frames, cfg, geo, rounds: int = 6) -> dict:
    """Fit steps with the SSIM gradient in closed form against autograd's (the same formula, the path
    taken before), alternating one-epoch blocks in one process."""
    import snervcodec.training.loss as loss_mod

    closed = loss_mod.ssim

    def autograd_ssim(x, y, **kw):
        return closed(x, y.detach().requires_grad_(), **kw)

    block = step_timer(frames, cfg, geo)
    ms: dict[str, list[float]] = {"autograd": [], "closed": []}
    for _ in range(rounds):
        for name, fn in (("autograd", autograd_ssim), ("closed", closed)):
            loss_mod.ssim = fn
            ms[name].append(round(block(), 1))
    loss_mod.ssim = closed
    med = {k: statistics.median(v) for k, v in ms.items()}
    return {"step_ms": ms, "median_ms": med, "speedup": round(med["autograd"] / med["closed"], 3)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=100, help="training epochs for the PSNR (0: speed only)")
    ap.add_argument("--speed-epochs", type=int, default=3, help="epochs timed for the speed (after one warm-up)")
    ap.add_argument("--precision", default="fp32")
    ap.add_argument("--loss", action="store_true", help="only time the loss (forward and backward) and exit")
    ap.add_argument("--steps", action="store_true", help="only time fit steps (three one-epoch blocks) and exit")
    ap.add_argument("--ssim-ab", action="store_true", help="fit steps, SSIM gradient in closed form against "
                                                           "autograd's, alternating in one process, and exit")
    args = ap.parse_args()
    if args.loss:
        print(json.dumps({"snervcodec": snervcodec.__file__, "loss_ms": loss_ms(), "machine": machine_info()}))
        return
    v = read_video(bunny_path(), frames="0:32", crop="640x1280", size="192x384")
    cfg, geo = model_config("snerv-b", 192, 384, c1=64, n_rb=2)
    if args.steps:
        block = step_timer(v.frames, cfg, geo)
        print(json.dumps({"snervcodec": snervcodec.__file__, "step_ms": [round(block(), 1) for _ in range(3)],
                          "machine": machine_info()}))
        return
    if args.ssim_ab:
        print(json.dumps({"snervcodec": snervcodec.__file__, **ssim_ab(v.frames, cfg, geo), "machine": machine_info()}))
        return
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
