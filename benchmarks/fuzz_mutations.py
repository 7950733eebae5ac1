"""How many CRC-repaired random mutations of real streams still decode without an error (issue 17).

A mutation flips one random byte after the magic and recomputes every checksum: an adversary's
lying stream, not random corruption. Every outcome must be a decoded video or a FormatError (or a
refusal by the decoder's limits); the share that decodes "successfully" into garbage should be small.

    python benchmarks/fuzz_mutations.py --n 3000            # this checkout
    PYTHONPATH=/tmp/old python benchmarks/fuzz_mutations.py # another checkout, for before/after
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from streamtools import fix_crcs  # noqa: E402

import snervcodec  # noqa: E402
from snervcodec.codec import decode  # noqa: E402
from snervcodec.errors import SnervError  # noqa: E402

CONFORMANCE = Path(__file__).resolve().parents[1] / "bitstream" / "conformance"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--n", type=int, default=3000, help="mutations per stream")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--streams", default="snerv-b-qcif,rdo-snerv-b-odd,rdo-hnerv,snerv-t")
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    total = {"decoded": 0, "refused": 0, "other": 0}
    for name in args.streams.split(","):
        data = (CONFORMANCE / f"{name}.snv").read_bytes()
        out = {"decoded": 0, "refused": 0, "other": 0}
        t0 = time.perf_counter()
        for _ in range(args.n):
            b = bytearray(data)
            pos = int(rng.integers(4, len(b)))
            b[pos] ^= int(rng.integers(1, 256))
            try:
                decode(fix_crcs(bytes(b)), device="cpu")
                out["decoded"] += 1
            except SnervError:
                out["refused"] += 1
            except Exception:  # noqa: BLE001 - counted: any of these is a bug
                out["other"] += 1
        for k in total:
            total[k] += out[k]
        print(json.dumps({"stream": name, "bytes": len(data), **out,
                          "decoded_share": round(out["decoded"] / args.n, 4),
                          "seconds": round(time.perf_counter() - t0, 1)}), flush=True)
    n = sum(total.values())
    print(json.dumps({"stream": "all", "snervcodec": snervcodec.__file__, **total,
                      "decoded_share": round(total["decoded"] / n, 4)}))


if __name__ == "__main__":
    main()
