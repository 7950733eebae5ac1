"""The crops of ``docs/results.md`` (``render_results.py --crops CACHE_DIR``): per clip, one frame of
the kept SNeRV-B stream beside the source and x264 (``literature``) at the CRF of nearest rate."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from snervcodec.bench.curves import anchor_q
from snervcodec.bench.report import _curve

CROP_HW = (96, 128)  # source pixels, shown 2x nearest-neighbour


def cached_stream(cache: Path, point: dict) -> Path:
    """The kept ``.snv`` beside the cached result equal to ``point`` (the runner keeps each SNeRV
    point's stream as ``<key>.snv`` next to ``<key>.json``)."""
    fields = ("codec", "profile", "target_bpp", "bytes", "rgb_psnr", "frames", "height", "width")
    for f in sorted(cache.glob("*.json")):
        hit = json.loads(f.read_text())
        if all(hit.get(k) == point.get(k) for k in fields) and f.with_suffix(".snv").exists():
            return f.with_suffix(".snv")
    raise FileNotFoundError(f"no kept stream in {cache} for {point['codec']} {point['setting']}")


def detail_window(frame: np.ndarray, hw: tuple[int, int]) -> tuple[int, int, int, int]:
    """(y, x, h, w) of the window of size ``hw`` (clipped to the frame) with the most gradient energy."""
    g = frame.astype(np.float64).mean(-1)
    e = np.zeros_like(g)
    e[:, 1:] += np.abs(np.diff(g, axis=1))
    e[1:, :] += np.abs(np.diff(g, axis=0))
    h, w = min(hw[0], g.shape[0]), min(hw[1], g.shape[1])
    s = np.pad(e.cumsum(0).cumsum(1), ((1, 0), (1, 0)))
    tot = s[h:, w:] - s[:-h, w:] - s[h:, :-w] + s[:-h, :-w]
    y, x = np.unravel_index(np.argmax(tot), tot.shape)
    return int(y), int(x), h, w


def frame_psnr(a: np.ndarray, b: np.ndarray) -> float:
    from snervcodec.bench.quality import evaluate

    return evaluate(a[None], b[None])["rgb_psnr"]


def crop_image(name: str, clip: dict, ours: dict | None, cache: Path, out: Path) -> str:
    """Write ``out`` (source / SNeRV point ``ours`` / x264 crops of the middle frame); returns a one-line log."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    import snervcodec
    from snervcodec.bench.anchors import encode_anchor
    from snervcodec.bench.runner import ClipSpec

    if ours is None:
        return f"{name}: no SNeRV-B point, no crop"
    lit = _curve(clip["points"], "x264", "literature")
    anchor = min(lit, key=lambda p: abs(p["bpp"] - ours["bpp"]))
    video = ClipSpec(**clip["spec"]).load()
    k = clip["frames"] // 2
    src = video.frames[k]
    snv = snervcodec.decode(cached_stream(cache, ours), frames=f"{k}:{k + 1}", device="cpu").frames[0]
    enc = encode_anchor(video.frames, video.meta.fps, "x264", "literature", anchor_q(anchor))
    x264 = enc.frames[k]
    y, x, h, w = detail_window(src, CROP_HW)
    panels = [("source", src, None),
              (f"SNeRV-B ({ours['profile']}) {ours['bpp']:.3f} bpp {ours['rgb_psnr']:.1f} dB", snv, ours),
              (f"x264 CRF {anchor_q(anchor)} {anchor['bpp']:.3f} bpp {anchor['rgb_psnr']:.1f} dB", x264, anchor)]
    gap, top, bottom = 8, 34, 16  # pixels; each panel is drawn 1:1 (2x nearest-neighbour)
    fw, fh = 3 * 2 * w + 4 * gap, 2 * h + top + bottom
    fig = plt.figure(figsize=(fw / 100, fh / 100), dpi=100)
    for i, (label, img, p) in enumerate(panels):
        ax = fig.add_axes(((gap + i * (2 * w + gap)) / fw, bottom / fh, 2 * w / fw, 2 * h / fh))
        ax.imshow(np.repeat(np.repeat(img[y:y + h, x:x + w], 2, 0), 2, 1), interpolation="nearest")
        sub = f"this frame {frame_psnr(img, src):.1f} dB" if p else f"frame {k}, region y{y} x{x} {h}x{w}"
        ax.set_title(f"{label}\n{sub}", fontsize=7, pad=2)
        ax.axis("off")
    fig.text(0.5, 2 / fh, f"{name}: clip bpp and PSNR from the bench JSON; 'this frame': measured on the frame shown",
             ha="center", va="bottom", fontsize=6.5)
    fig.savefig(out, dpi=100)
    plt.close(fig)
    same = "same" if enc.bytes == anchor["bytes"] else f"{enc.bytes} vs {anchor['bytes']} in the JSON"
    return f"{name}: {out} (frame {k}; x264 CRF {anchor_q(anchor)} re-encoded: {same} bytes)"
