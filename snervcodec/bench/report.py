"""Reports from a results file: BD-rate summary, a Markdown table, RD plots (PNG, matplotlib)."""

from __future__ import annotations

import warnings
from pathlib import Path

from .anchors import CODECS
from .bdrate import OverlapWarning, bd_psnr, bd_rate, overlap_fraction
from .curves import anchor_q, bracket


def _curve(points: list[dict], codec: str, profile: str | None = None) -> list[dict]:
    pts = [p for p in points if p["codec"] == codec and (profile is None or p["profile"] == profile)]
    return sorted(pts, key=lambda p: p["bpp"])


def _bd(anchor: list[dict], test: list[dict], metric: str, bracketed: bool = False) -> dict:
    """BD-rate / BD-quality of ``test`` against ``anchor`` on ``metric`` (pchip), with the quality
    overlap. ``bracketed`` (x264/x265 sweeps): BD-rate uses the anchor points that enclose the test
    curve's quality range, BD-quality those that enclose its rate range."""
    by_quality = _bracketed(anchor, test, metric) if bracketed else anchor
    by_rate = _bracketed(anchor, test, "bpp") if bracketed else anchor
    if min(len(by_quality), len(by_rate), len(test)) < 2:
        return {"bd_rate": None, "bd_quality": None, "overlap": None, "note": "fewer than two points"}
    rt, dt = [p["bpp"] for p in test], [p[metric] for p in test]
    out = {"overlap": overlap_fraction([p[metric] for p in by_quality], dt)}
    notes = []
    for name, fn, pts, what in (("bd_rate", bd_rate, by_quality, "quality"), ("bd_quality", bd_psnr, by_rate, "rate")):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                out[name] = fn([p["bpp"] for p in pts], [p[metric] for p in pts], rt, dt)
            except ValueError as e:
                out[name] = None
                notes.append(str(e))
        if any(issubclass(w.category, OverlapWarning) for w in caught):
            notes.append(f"{what} overlap below 75%")
    out["note"] = "; ".join(notes)
    return out


def _bracketed(anchor: list[dict], test: list[dict], metric: str) -> list[dict]:
    """The anchor points from the tightest CRF/QP interval enclosing the test curve's quality range:
    BD integrates over the overlap only, and points far outside it would only bend the interpolant."""
    anchor = [p for p in anchor if p[metric] is not None]
    got = [p[metric] for p in test if p[metric] is not None]
    if len(anchor) < 2 or not got:
        return anchor
    a, b = bracket({anchor_q(p): p[metric] for p in anchor}, min(got), max(got))
    return [p for p in anchor if a <= anchor_q(p) <= b]


def summarise(results: dict) -> dict:
    summary = {}
    for name, clip in results["clips"].items():
        pts = clip["points"]
        pipelines = list(dict.fromkeys(p["profile"] for p in pts if p["codec"] == "snerv-b"))
        rows = {}
        anchors = sorted({(p["codec"], p["profile"]) for p in pts if p["codec"] in CODECS})
        for pl in pipelines:  # one SNeRV-B curve per pipeline (bench --pipelines)
            prefix = f"{pl}: " if len(pipelines) > 1 else ""
            for codec, profile in anchors:
                a = _curve(pts, codec, profile)
                rows[f"{prefix}{codec}/{profile}"] = {m: _bd(a, _curve(pts, "snerv-b", pl), m, bracketed=True)
                                                      for m in ("rgb_psnr", "ms_ssim")}
        if "rdo" in pipelines and "paper" in pipelines:
            rows["rdo vs paper"] = {m: _bd(_curve(pts, "snerv-b", "paper"), _curve(pts, "snerv-b", "rdo"), m)
                                    for m in ("rgb_psnr", "ms_ssim")}
        snerv = _curve(pts, "snerv-b", pipelines[0]) if pipelines else []
        hnerv = _curve(pts, "hnerv")
        if hnerv:
            if len(hnerv) >= 2:  # a curve; a single point is the equal-size comparison below
                rows["hnerv"] = {m: _bd(hnerv, snerv, m) for m in ("rgb_psnr", "ms_ssim")}
            pairs = []
            for h in hnerv:
                same = [s for s in snerv if s.get("target_bpp") == h.get("target_bpp")]
                if same:
                    pairs.append({"target_bpp": h["target_bpp"], "snerv_bpp": same[0]["bpp"], "hnerv_bpp": h["bpp"],
                                  "snerv_psnr": same[0]["rgb_psnr"], "hnerv_psnr": h["rgb_psnr"],
                                  "delta_psnr": same[0]["rgb_psnr"] - h["rgb_psnr"]})
            rows["hnerv_equal_size"] = pairs
        summary[name] = rows
    return summary


def _notes(p: dict, m: dict) -> str:
    """The notes of a BD-rate pair (on PSNR, on MS-SSIM), as one table cell."""
    return "; ".join(f"{k}: {x}" for k, x in (("PSNR", p["note"]), ("MS-SSIM", m["note"])) if x)


def across_clips(summary: dict) -> dict:
    """Per anchor row: the median BD-rate (RGB PSNR) over the clips that have one, and the worst
    clip (the highest BD-rate, where SNeRV does worst) with its value."""
    import numpy as np

    rates: dict[str, dict[str, float]] = {}
    for clip, rows in summary.items():
        for anchor, r in rows.items():
            if anchor != "hnerv_equal_size" and r["rgb_psnr"]["bd_rate"] is not None:
                rates.setdefault(anchor, {})[clip] = r["rgb_psnr"]["bd_rate"]
    out = {}
    for anchor, per_clip in rates.items():
        worst = max(per_clip, key=per_clip.get)
        out[anchor] = {"clips": len(per_clip), "median": float(np.median(list(per_clip.values()))),
                       "worst_clip": worst, "worst": per_clip[worst]}
    return out


def _fmt(v, nd=2, pct=False):
    if v is None:
        return "n/a"
    return f"{v:+.{nd}f}%" if pct else f"{v:.{nd}f}"


def markdown(results: dict) -> str:
    prov = results["provenance"]
    lines = [f"# snervcodec benchmark ({prov['date']})", "",
             f"Machine: {prov['machine']['processor']}, {prov['machine']['cores']} cores, "
             f"CUDA: {prov['machine']['cuda'] or 'none'}. torch {prov['versions']['torch']}, "
             f"PyAV {prov['versions']['av']}, snervcodec {prov['versions']['snervcodec']}. "
             f"SNeRV epochs: {prov['settings']['epochs']}.", ""]
    for name, clip in results["clips"].items():
        spec = clip["spec"]
        prep = ", ".join(f"{k} {v}" for k, v in spec.items() if k in ("frames", "crop", "size") and v)
        lines += [f"## {name}: {clip['frames']} frames, {clip['size'][0]}x{clip['size'][1]}"
                  + (f" ({prep})" if prep else ""), "",
                  "| codec | profile | setting | bpp | RGB PSNR | YUV420 PSNR | MS-SSIM | encode s | decode fps |",
                  "|---|---|---|---|---|---|---|---|---|"]
        snerv = _curve(clip["points"], "snerv-b")
        used = {id(p) for c in {(p["codec"], p["profile"]) for p in clip["points"] if p["codec"] in CODECS}
                for p in _bracketed(_curve(clip["points"], *c), snerv, "rgb_psnr")} if snerv else set()
        for p in sorted(clip["points"], key=lambda p: (p["codec"], p["profile"], p["bpp"])):
            setting = p["setting"] + ("*" if id(p) in used else "")
            lines.append(f"| {p['codec']} | {p['profile']} | {setting} | {p['bpp']:.4f} | {p['rgb_psnr']:.2f} | "
                         f"{p['yuv420_psnr']:.2f} | {_fmt(p['ms_ssim'], 4)} | {p['encode_seconds']:.1f} | "
                         f"{p['decode_fps']:.1f} |")
        win = {p["ms_ssim_window"] for p in clip["points"]}
        if win != {11}:
            lines += ["", f"MS-SSIM window: {sorted(win)} (the default 11 needs a shorter side above 160 px)."]
        if used:
            lines += ["", "\\* the anchor points the BD-rate on RGB PSNR uses: the tightest CRF/QP interval "
                      "enclosing the PSNR range of the SNeRV points (the MS-SSIM BD-rate brackets the MS-SSIM "
                      "range, and BD-PSNR the rate range, the same way)."]
        checks = clip.get("ffmpeg_cli_check") or []
        if checks:
            lines += ["", f"Cross-check with the ffmpeg command line ({prov['versions'].get('ffmpeg_cli')}), same "
                      "yuv420p input and options, size difference against PyAV's bundled FFmpeg: "
                      + "; ".join(f"{c['codec']} {c['profile']} q={c['q']}: {100 * c['delta']:+.2f}%" for c in checks)
                      + "."]
        rows = results["summary"].get(name, {})
        lines += ["", "BD-rate of SNeRV-B against each anchor, per pipeline, and of the rdo pipeline against the "
                  "paper's (pchip; negative = the second needs fewer bits):", "",
                  "| anchor | BD-rate (RGB PSNR) | BD-PSNR | overlap | BD-rate (MS-SSIM) | overlap | note |",
                  "|---|---|---|---|---|---|---|"]
        for anchor, r in rows.items():
            if anchor == "hnerv_equal_size":
                continue
            p, m = r["rgb_psnr"], r["ms_ssim"]
            lines.append(f"| {anchor} | {_fmt(p['bd_rate'], 1, True)} | {_fmt(p['bd_quality'])} dB | "
                         f"{_fmt(p['overlap'] and 100 * p['overlap'], 0)}% | {_fmt(m['bd_rate'], 1, True)} | "
                         f"{_fmt(m['overlap'] and 100 * m['overlap'], 0)}% | {_notes(p, m)} |")
        for pair in rows.get("hnerv_equal_size", []):
            lines.append("")
            lines.append(f"SNeRV-B vs HNeRV at target {pair['target_bpp']} bpp: SNeRV {pair['snerv_psnr']:.2f} dB "
                         f"at {pair['snerv_bpp']:.4f} bpp, HNeRV {pair['hnerv_psnr']:.2f} dB at "
                         f"{pair['hnerv_bpp']:.4f} bpp ({pair['delta_psnr']:+.2f} dB).")
        lines.append("")
    if len(results["clips"]) > 2:
        lines += ["## Across clips", "", "BD-rate (RGB PSNR) of SNeRV-B against each anchor: the median over the "
                  "clips and the worst clip (negative = SNeRV needs fewer bits).", "",
                  "| anchor | clips | median BD-rate | worst clip | its BD-rate |", "|---|---|---|---|---|"]
        for anchor, r in across_clips(results["summary"]).items():
            lines.append(f"| {anchor} | {r['clips']} | {_fmt(r['median'], 1, True)} | {r['worst_clip']} | "
                         f"{_fmt(r['worst'], 1, True)} |")
        lines.append("")
    return "\n".join(lines) + "\n"


def plots(results: dict, out_dir: Path) -> list[Path]:
    """bpp-PSNR and bpp-MS-SSIM per clip, one curve per codec and profile."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    written = []
    for name, clip in results["clips"].items():
        fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
        curves = sorted({(p["codec"], p["profile"]) for p in clip["points"]})
        for codec, profile in curves:
            pts = _curve(clip["points"], codec, profile)
            label = codec if profile == "snervcodec" else f"{codec} ({profile})"
            style = "o-" if codec.startswith("snerv") else ("s--" if codec == "hnerv" else ".:")
            for ax, metric in zip(axes, ("rgb_psnr", "ms_ssim")):
                xs = [p["bpp"] for p in pts if p[metric] is not None]
                ys = [p[metric] for p in pts if p[metric] is not None]
                ax.plot(xs, ys, style, label=label)
        for ax, ylabel in zip(axes, ("RGB PSNR (dB)", "MS-SSIM")):
            ax.set_xscale("log")
            ax.set_xlabel("bits per pixel (real file size)")
            ax.set_ylabel(ylabel)
            ax.grid(True, which="both", alpha=0.3)
        axes[0].legend(fontsize=8)
        fig.suptitle(f"{name}: {clip['frames']} frames, {clip['size'][0]}x{clip['size'][1]}")
        fig.tight_layout()
        path = out_dir / f"rd-{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        written.append(path)
    return written


def write_reports(results: dict, out_dir: str | Path) -> list[Path]:
    from ..fsutil import write_bytes_atomic

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    md = out_dir / "report.md"
    write_bytes_atomic(md, markdown(results).encode())
    paths = [md]
    try:
        paths += plots(results, out_dir)
    except ImportError:
        warnings.warn("matplotlib is not installed: no RD plots (pip install -e '.[bench]')", stacklevel=2)
    return paths
