"""Training throughput and inference speed on the short Bunny reference setting, fp32 vs bf16.

    python benchmarks/throughput.py --out results/throughput.json [--device cpu] [--steps 64]
    python benchmarks/throughput.py --models snerv-b,snerv-t,snerv-t-2d,hnerv --precisions fp32 \
        --out results/throughput-models.json

With several models, each is sized to SNeRV(B) c1=64 N_RB=2's total (decoder + 32 frames of
embeddings), as in benchmarks/tasks.py.

Training: frame-iterations per second (batch 1, the paper's recipe, warm), for fp32 and bf16
autocast, each with and without channels-last. Inference: decoder frames per second (batch 4,
warm), same variants. Not a test: numbers depend on the machine, which the JSON describes.
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

from snervcodec.device import autocast, resolve_device  # noqa: E402
from snervcodec.bench.tasks import equal_size_configs  # noqa: E402
from snervcodec.models import choose_geometry  # noqa: E402
from snervcodec.models.synthesis import synthesize  # noqa: E402
from snervcodec.training import Trainer, make_train_config  # noqa: E402
from snervcodec.video import read_video  # noqa: E402


def _sync(dev):
    if dev.type == "cuda":
        torch.cuda.synchronize()


def train_rate(frames, cfg, geo, dev, precision, channels_last, steps):
    tc = make_train_config(epochs=1, model=cfg.name, precision=precision, channels_last=channels_last)
    tr = Trainer(frames, cfg, geo, tc, device=dev)
    # warm-up epoch then a timed run over `steps` frame-iterations (epochs of len(frames))
    tr.run(progress=False)
    epochs = max(1, steps // len(frames))
    tr.tcfg = make_train_config(epochs=epochs, model=cfg.name, precision=precision, channels_last=channels_last,
                                eval_every=10 ** 6)
    _sync(dev)
    t0 = time.perf_counter()
    tr.run(progress=False)
    _sync(dev)
    dt = time.perf_counter() - t0 - 0.0
    return epochs * len(frames) / dt, tr


@torch.no_grad()
def infer_rate(tr, dev, precision, channels_last, reps=3, batch=4):
    emb, temb = tr.encode_all()
    dec = tr.decoder.eval()
    lo, hi = tr.data.ll_min, tr.data.ll_max
    n = emb.shape[0]

    def once():
        for i in range(0, n, batch):
            e = emb[i:i + batch].to(dev)
            te = temb[i:i + batch].to(dev) if temb is not None else None
            if channels_last:
                e = e.contiguous(memory_format=torch.channels_last)
                te = te.contiguous(memory_format=torch.channels_last) if te is not None else None
            with autocast(dev, precision):
                synthesize(dec, tr.cfg, e, lo[i:i + batch], hi[i:i + batch], te).frame.clamp(0, 1)

    once()
    _sync(dev)
    t0 = time.perf_counter()
    for _ in range(reps):
        once()
    _sync(dev)
    return reps * n / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--device", default="auto")
    ap.add_argument("--steps", type=int, default=64, help="timed frame-iterations per variant")
    ap.add_argument("--models", default="snerv-b", help="comma-separated: snerv-b, snerv-t, snerv-t-2d, hnerv")
    ap.add_argument("--precisions", default="fp32,bf16")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)
    dev = resolve_device(args.device)
    v = read_video(bunny_path(), frames="0:32", crop="640x1280", size="192x384")
    cfgs = equal_size_configs(192, 384, 32, args.models.split(","))
    rows = []
    for name, cfg in cfgs.items():
        geo = choose_geometry(192, 384, uses_dwt=cfg.uses_dwt, strides=cfg.strides)
        for precision in args.precisions.split(","):
            for cl in (False, True):
                if dev.type == "mps" and cl:
                    continue
                tps, tr = train_rate(v.frames, cfg, geo, dev, precision, cl, args.steps)
                fps = infer_rate(tr, dev, precision, cl)
                rows.append({"model": name, "c1": cfg.c1, "precision": precision, "channels_last": cl,
                             "train_frame_iters_per_s": tps, "seconds_per_epoch_32_frames": 32 / tps,
                             "inference_fps": fps})
                print(json.dumps(rows[-1]), flush=True)
    out = {"setting": "bunny 0:32 192x384, equal size to snerv-b c1=64 n_rb=2 strides 3,2,2,2,2", "device": str(dev),
           "reference_code_seconds_per_epoch": 5.3, "rows": rows, "machine": machine_info()}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))


if __name__ == "__main__":
    main()
