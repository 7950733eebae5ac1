"""Encode time of the rdo pipeline against the paper's at equal epochs, from step times (issue 14).

Whole encodes on a shared VM drift by up to 30% between runs, more than the difference measured. Here
every kind of step either pipeline takes is timed in one process, interleaved over ``--rounds``, and
the medians are weighted as an encode of ``--epochs`` weights them: paper, ``epochs`` fit steps and
the fine-tune's; rdo, its fit / noise / straight-through shares (``training.phases.rdo_phases``).

    python benchmarks/pipeline_steps.py --precision bf16                  # Bunny 0.1 bpp's decoders
    python benchmarks/pipeline_steps.py --paper 32,1 --rdo 51,2 --rdo 53,0

Bunny frames (centre-crop 640x1280, resized to ``--size``), SNeRV-B at each ``c1,n_rb``. The quantised
and fine-tune steps run as in the pipelines: after 10% pruning, the decoder-only ones on fixed
embeddings. Rows: per network and step kind, the times of each round and the median; then a ratio per
rdo network.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, print_rows  # noqa: E402

from snervcodec.codec.ratecontrol import RateController  # noqa: E402
from snervcodec.entropy.models import EntropyModels  # noqa: E402
from snervcodec.requests import CompressionConfig  # noqa: E402
from snervcodec.compress.prune import global_magnitude_mask  # noqa: E402
from snervcodec.models.choose import model_config  # noqa: E402
from snervcodec.training import Trainer, make_train_config  # noqa: E402
from snervcodec.training.phases import RDO_QAT_PROXY, Phase, rdo_phases  # noqa: E402
from snervcodec.video import read_video  # noqa: E402

KINDS = {"paper": ("fit", "fine-tune"), "rdo": ("fit", "qat-noise", "qat-ste")}


def stepper(frames, kind: str, c1: int, n_rb: int, precision: str):
    """``step(idx, measure)`` of one step kind on a fresh SNeRV-B trainer (CPU)."""
    cfg, geo = model_config("snerv-b", *frames.shape[1:3], c1=c1, n_rb=n_rb)
    tr = Trainer(frames, cfg, geo, make_train_config(epochs=1, precision=precision), device=torch.device("cpu"))
    fixed = mask = quant = None
    if kind != "fit":
        mask = global_magnitude_mask(tr.decoder, CompressionConfig().prune)
        mask.apply(tr.decoder)
    if kind in ("fine-tune", "qat-ste"):
        fixed = tr._to_device((tr.encode_all()[0].detach(), None))
    if kind.startswith("qat"):
        quant = "ste" if kind == "qat-ste" else RDO_QAT_PROXY  # the noise phase's quantiser, as encodes run it
        tr.attach(EntropyModels(tr.decoder, *tr.encode_all(), 8, 6, 2.5, 3.5))
        tr._rate = RateController(0.5)
    phase = Phase(name=kind, epochs=1, lr=1e-3, train_encoder=fixed is None, quant=quant or "none",
                  train_steps=kind != "qat-ste")
    params, opt = tr._optimiser(phase, mask)
    return lambda idx, measure: tr.step(opt, params, idx, fixed, mask, quant, measure)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", default="192x384")
    ap.add_argument("--frames", default="0:32")
    ap.add_argument("--precision", default="bf16")
    ap.add_argument("--paper", default="32,1", help="the paper pipeline's c1,n_rb (Bunny 0.1 bpp: 32,1)")
    ap.add_argument("--rdo", action="append", help="an rdo network's c1,n_rb (repeatable; default 51,2 and 53,0)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--steps", type=int, default=12, help="timed steps per kind and round (after 3 warm-up)")
    ap.add_argument("--out", default=None)
    a = ap.parse_args()
    frames = read_video(bunny_path(), frames=a.frames, crop="640x1280", size=a.size).frames
    nets = [("paper", a.paper)] + [("rdo", r) for r in (a.rdo or ["51,2", "53,0"])]
    steps = {(pipe, net, kind): stepper(frames, kind, *map(int, net.split(",")), a.precision)
             for pipe, net in nets for kind in KINDS[pipe]}
    times: dict[tuple, list[float]] = {k: [] for k in steps}
    n = len(frames)
    for rnd in range(a.rounds):
        for key, step in steps.items():
            for i in range(3):
                step(torch.tensor([i % n]), i == 2)
            t0 = time.perf_counter()
            for i in range(a.steps):
                step(torch.tensor([(5 * i + rnd) % n]), i == a.steps - 1)
            times[key].append(1000 * (time.perf_counter() - t0) / a.steps)
    med = {k: statistics.median(v) for k, v in times.items()}
    rows = [{"pipeline": p, "c1,n_rb": net, "step": kind, "ms_rounds": [round(x, 1) for x in times[(p, net, kind)]],
             "ms_median": round(med[(p, net, kind)], 1)} for p, net, kind in steps]
    ft = max(1, round(CompressionConfig().finetune * a.epochs))
    paper = a.epochs * med[("paper", a.paper, "fit")] + ft * med[("paper", a.paper, "fine-tune")]
    tc = make_train_config(epochs=a.epochs)
    shares = {ph.name: ph.epochs for ph in rdo_phases(tc, ft)}
    for pipe, net in nets[1:]:
        rdo = sum(e * med[(pipe, net, kind)] for kind, e in shares.items())
        rows.append({"rdo": net, "paper": a.paper, "epochs": {"paper": [a.epochs, ft], "rdo": shares},
                     "time_ratio": round(rdo / paper, 3)})
    print_rows(a.out, rows)


if __name__ == "__main__":
    main()
