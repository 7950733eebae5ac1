"""Format 1.4's temporal prediction of embeddings, A/B in one run: the rdo pipeline with and without
it, on carphone (120 frames, 144x176) at a few rates.

    python benchmarks/embedding_prediction.py --epochs 20 --bpp 0.05,0.1 --out results/embedding_prediction.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from unittest import mock

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import carphone_path, save_rows  # noqa: E402

import snervcodec.codec.embeddings as emb  # noqa: E402
from snervcodec.codec import encode  # noqa: E402
from snervcodec.video import read_video  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--bpp", type=lambda s: [float(v) for v in s.split(",")], default=[0.05, 0.1])
    ap.add_argument("--out")
    args = ap.parse_args()
    clip = read_video(carphone_path(), frames="0:120")
    rows = []
    real = emb.code_embeddings
    for bpp in args.bpp:
        for predict in (False, True):
            t0 = time.perf_counter()
            def coded(qe, cf, allow_delta=False, predict=predict):  # this iteration's choice
                return real(qe, cf, allow_delta and predict)

            with mock.patch.object(emb, "code_embeddings", coded), \
                    mock.patch("snervcodec.codec.rdo.code_embeddings", coded):
                res = encode(clip, bpp=bpp, epochs=args.epochs, device="cpu", progress=False)
            e = res.entropy["embeddings"]
            row = {"bpp_target": bpp, "prediction": predict, "bpp": round(res.bpp, 5), "psnr": round(res.psnr, 3),
                   "ms_ssim": round(res.ms_ssim, 5), "embedding_bytes": e["coded_bits"] // 8,
                   "weight_bytes": res.entropy["weights"]["coded_bits"] // 8,
                   "embedding_share": round(e["coded_bits"] / (8 * res.bytes), 4), "chosen": e["prediction"],
                   "seconds": round(time.perf_counter() - t0, 1)}
            rows.append(row)
            print(json.dumps(row), flush=True)
    save_rows(args.out, rows)


if __name__ == "__main__":
    main()
