"""Long videos (issue 16): segment length against quality, and memory that does not grow with length.

    python benchmarks/long_video.py segments --epochs 20 --bpp 0.1 --out results/segments.json
    python benchmarks/long_video.py memory --out results/long_memory.json

``segments``: Bunny's 132 frames (centre-crop 640x1280, resized to 144x176) followed by carphone's
120 at 144x176, one 252-frame clip with a scene cut at frame 132. It is encoded at one bpp with
segments of 42, 84, 126 and 252 frames, and with 132 (the cut: segments 0-131 and 132-251);
PSNR and MS-SSIM are measured on the decoded file.

``memory``: peak RSS of decoding a 2,000-frame stream against a 200-frame one (to y4m), and of
encoding 1,000 frames in 100-frame segments against encoding 100 frames; each in a fresh process.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import bunny_path, carphone_path, save_rows  # noqa: E402

from snervcodec.video import read_video, write_video  # noqa: E402


def scene_cut_clip(path: Path) -> Path:
    if not path.exists():
        b = read_video(bunny_path(), crop="640x1280", size="144x176").frames
        c = read_video(carphone_path(), frames="0:120", size="144x176").frames
        write_video(path, np.concatenate([b, c]), 25)
    return path


def run_segments(args) -> list[dict]:
    from snervcodec.codec import decode, encode
    from snervcodec.metrics import ms_ssim_per_frame, psnr_per_frame

    import torch

    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    clip = scene_cut_clip(work / "bunny_carphone_252.y4m")
    ref = torch.from_numpy(read_video(clip).frames).permute(0, 3, 1, 2).float() / 255
    rows = []
    for seg in args.lengths:
        t0 = time.perf_counter()
        out = work / f"seg{seg}.snv"
        res = encode(clip, out, bpp=args.bpp, epochs=args.epochs, segment_frames=seg, device=args.device,
                     progress=False, overwrite=True, resume=False)
        dec = torch.from_numpy(decode(out, device=args.device).frames).permute(0, 3, 1, 2).float() / 255
        psnr = float(psnr_per_frame(dec, ref).mean())
        msssim = float(torch.cat([ms_ssim_per_frame(dec[i:i + 8], ref[i:i + 8])[0]
                                  for i in range(0, len(ref), 8)]).mean())
        row = {"segment_frames": seg, "segments": res.segments, "bytes": res.bytes, "bpp": round(res.bpp, 5),
               "psnr": round(psnr, 3), "ms_ssim": round(msssim, 5), "decoder_params": res.model["decoder_params"],
               "seconds": round(time.perf_counter() - t0, 1), "cut_at_scene_change": seg == 132}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def _peak_rss(cmd: list[str]) -> tuple[int, float]:
    code = ("import resource, sys, runpy\nsys.argv = ['snerv'] + sys.argv[1:]\n"
            "from snervcodec.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit as e:\n"
            "    assert not e.code, e.code\n"
            "print('PEAK_KB', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)")
    t0 = time.perf_counter()
    r = subprocess.run([sys.executable, "-c", code, *cmd], capture_output=True, text=True)
    if r.returncode:
        raise RuntimeError(r.stderr[-2000:])
    kb = int(r.stdout.split("PEAK_KB")[-1].split()[0])
    return kb, time.perf_counter() - t0


def run_memory(args) -> list[dict]:
    work = Path(tempfile.mkdtemp(prefix="snerv-long-"))
    small = read_video(carphone_path(), size="72x88").frames  # 120 frames, looped
    rows = []
    clips = {}
    for n in (200, 2000, 100, 1000):
        reps = -(-n // len(small))
        clips[n] = work / f"c{n}.y4m"
        write_video(clips[n], np.concatenate([small] * reps)[:n], 25)
    for n, seg in ((200, 200), (2000, 200)):
        out = work / f"d{n}.snv"
        _peak_rss(["encode", str(clips[n]), "-o", str(out), "--c1", "8", "--n-rb", "0", "--epochs", "1", "-q",
                   "--segment-frames", str(seg), "--device", "cpu"])
        kb, s = _peak_rss(["decode", str(out), "-o", str(work / f"d{n}.y4m"), "-q", "-y", "--device", "cpu"])
        rows.append({"what": "decode to y4m", "frames": n, "stream_bytes": out.stat().st_size, "peak_rss_mb":
                     round(kb / 1024, 1), "seconds": round(s, 1)})
        print(json.dumps(rows[-1]), flush=True)
    for n in (100, 1000):
        kb, s = _peak_rss(["encode", str(clips[n]), "-o", str(work / f"e{n}.snv"), "--c1", "8", "--n-rb", "0",
                           "--epochs", "1", "-q", "--segment-frames", "100", "--device", "cpu"])
        rows.append({"what": "encode in 100-frame segments", "frames": n, "peak_rss_mb": round(kb / 1024, 1),
                     "seconds": round(s, 1)})
        print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=["segments", "memory"])
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--bpp", type=float, default=0.1)
    ap.add_argument("--lengths", type=lambda s: [int(v) for v in s.split(",")], default=[42, 84, 126, 132, 252])
    ap.add_argument("--device", default="cpu")
    ap.add_argument("--work", default="results/long_video")
    ap.add_argument("--out")
    args = ap.parse_args()
    save_rows(args.out, run_segments(args) if args.what == "segments" else run_memory(args))


if __name__ == "__main__":
    main()
