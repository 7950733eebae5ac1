"""Decoded frames to the host (issue 15): the synthesised (N, 3, H, W) float frames become (N, H, W, 3)
uint8 arrays in the caller's buffer. Times today's way (rounded and transposed on the device, one
contiguous copy: ``codec.decode._HostFrames``) against the earlier one (rounded on the device, the
transposing copy on the host), alternating, on random frames; checks that the bytes are equal.

    python benchmarks/decode_output.py --size 960x1920 --frames 32 --device cpu
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info  # noqa: E402

from snervcodec.codec.decode import _HostFrames  # noqa: E402


def earlier(x: torch.Tensor) -> np.ndarray:
    return x.clamp(0, 1).mul(255).round().to(torch.uint8).permute(0, 2, 3, 1).cpu().numpy()


def today(x: torch.Tensor) -> np.ndarray:
    return _HostFrames(0, x).result()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", default="960x1920")
    ap.add_argument("--frames", type=int, default=32)
    ap.add_argument("--batch", type=int, default=4)
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--rounds", type=int, default=5)
    a = ap.parse_args()
    h, w = map(int, a.size.split("x"))
    dev = torch.device(a.device)
    x = (torch.rand(a.batch, 3, h, w, generator=torch.Generator().manual_seed(0)) * 1.2 - 0.1).to(dev)
    out = np.empty((a.frames, h, w, 3), np.uint8)
    assert np.array_equal(earlier(x), today(x))
    times: dict[str, list[float]] = {"earlier": [], "today": []}
    for _ in range(a.rounds):
        for name, fn in (("earlier", earlier), ("today", today)):
            t0 = time.perf_counter()
            for k in range(0, a.frames, a.batch):
                out[k:k + a.batch] = fn(x)
            times[name].append(time.perf_counter() - t0)
    med = {k: statistics.median(v) for k, v in times.items()}
    print(json.dumps({"size": a.size, "frames": a.frames, "device": a.device,
                      "seconds": {k: [round(t, 3) for t in v] for k, v in times.items()},
                      "median_s": {k: round(v, 3) for k, v in med.items()},
                      "speedup": round(med["earlier"] / med["today"], 2), "machine": machine_info()}))


if __name__ == "__main__":
    main()
