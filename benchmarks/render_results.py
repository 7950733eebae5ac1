"""Render ``docs/results.md`` (and its PNGs) from benchmark JSON kept in the repository.

Every figure on the page comes from the JSON (a copy of ``snerv bench``'s ``results.json``), so the
page can be regenerated and never drifts from the measurements:

    python benchmarks/render_results.py docs/results/bench.json \
        --crops results/bench/cache --readme README.md

- ``docs/results.md``: provenance, per clip the RD plots (``snervcodec.bench.report.plots``), our
  points, the BD-rates against each anchor (``report.summarise``: x264, x265 and, where the JSON has
  its points, AV1), a crop of one frame, the median and worst clip, and every point (``report.markdown``).
- ``--crops CACHE_DIR`` (``render_crops.py``): per clip, decodes one frame of the kept SNeRV-B
  stream nearest 0.1 bpp, encodes x264 (``literature``) at the CRF whose bpp is nearest, and writes
  ``crop-<clip>.png``; without it, existing crop PNGs are kept and linked.
- ``--dev docs/results/rd_levers.json``: a development-set section (``rd_levers.dev_md``: each lever
  across the ten clips, median and worst clip against x264 (and x265 strong where swept), and per clip the
  levers with whole curves);
  ``--dev`` again for another machine's study (docs/results/rd_levers_amx.json), a section of its own.
- ``--readme README.md``: replaces the text between ``<!-- results:headline:start -->`` and
  ``<!-- results:headline:end -->`` with a headline table and writes ``rd-headline.png``.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
from pathlib import Path

from snervcodec.bench.report import _curve, _fmt, markdown, plots, summarise

sys.path.insert(0, str(Path(__file__).resolve().parent))
from render_crops import crop_image  # noqa: E402

START, END = "<!-- results:headline:start -->", "<!-- results:headline:end -->"
ANCHORS = [(c, p) for c in ("x264", "x265", "av1") for p in ("literature", "strong")]  # tables show those present
METRICS = (("rgb_psnr", "RGB PSNR"), ("ms_ssim", "MS-SSIM"))
HEADLINE_BPP = 0.1


def load(paths: list[Path]) -> dict:
    """One results dict from one or more bench JSON files (clips merged; each file keeps its
    provenance and its summary, computed by ``report.summarise`` when the file has none)."""
    merged: dict = {"runs": [], "clips": {}, "summary": {}, "source": {}}
    for path in paths:
        res = json.loads(Path(path).read_text())
        summary = res.get("summary") or summarise(res)
        merged["runs"].append({"path": str(path), "provenance": res["provenance"]})
        for name, clip in res["clips"].items():
            merged["clips"][name] = clip
            merged["summary"][name] = summary.get(name, {})
            merged["source"][name] = len(merged["runs"]) - 1
    return merged


def pipelines(clip: dict) -> list[str]:
    """The SNeRV-B encode pipelines of a clip, in run order."""
    return list(dict.fromkeys(p["profile"] for p in clip["points"] if p["codec"] == "snerv-b"))


def row_key(clip: dict, pipeline: str, codec: str, profile: str) -> str:
    """The summary's row name for one pipeline against one anchor (``report.summarise``'s naming)."""
    return (f"{pipeline}: " if len(pipelines(clip)) > 1 else "") + f"{codec}/{profile}"


def headline_point(clip: dict, pipeline: str = "rdo", bpp: float = HEADLINE_BPP) -> dict | None:
    """The SNeRV-B point of ``pipeline`` (else the first pipeline) whose target is nearest ``bpp``."""
    pls = pipelines(clip)
    if not pls:
        return None
    pts = _curve(clip["points"], "snerv-b", pipeline if pipeline in pls else pls[0])
    return min(pts, key=lambda p: (abs((p.get("target_bpp") or p["bpp"]) - bpp), abs(p["bpp"] - bpp)))


def headline_anchors(results: dict) -> list[tuple[str, str]]:
    """The headline's anchor columns: x264's and x265's always (n/a where a clip lacks one), AV1's
    where some clip has its points."""
    have = {(p["codec"], p["profile"]) for clip in results["clips"].values() for p in clip["points"]}
    return [a for a in ANCHORS if a[0] != "av1" or a in have]


def bd_cell(r: dict | None, kind: str = "bd_rate") -> str:
    """A BD figure with its overlap, or n/a (with the summary's note, when there is one)."""
    if not r or r.get(kind) is None:
        return "n/a" + (f" ({r['note']})" if r and r.get("note") else "")
    v = _fmt(r[kind], 1, True) if kind == "bd_rate" else f"{r[kind]:+.2f} dB"
    return v + (f" ({100 * r['overlap']:.0f}%)" if r.get("overlap") is not None else "")


# --- results.md ---------------------------------------------------------------------------------

def provenance_md(results: dict, note: str | None) -> list[str]:
    lines = ["## Provenance", ""]
    for run in results["runs"]:
        prov = run["provenance"]
        m, v, s = prov["machine"], prov["versions"], prov["settings"]
        libs = v.get("ffmpeg_libs") or {}
        lines += [f"- JSON: `{run['path']}`",
                  f"- Command: `{prov.get('command') or '(not recorded)'}`",
                  f"- Date: {prov['date']}",
                  (f"- Machine: {m['processor']}, {m['cores']} cores, {m.get('torch_threads')} torch threads, "
                  f"CUDA: {m.get('cuda') or 'none'}; {m['platform']}"),
                  (f"- Versions: snervcodec {v['snervcodec']} (source digest {v.get('snervcodec_code', '?')}), "
                  f"torch {v['torch']}, PyAV {v['av']} ({v.get('pyav', '?')}), numpy {v['numpy']}, "
                  f"libavcodec {libs.get('libavcodec', '?')}, ffmpeg CLI: {v.get('ffmpeg_cli') or 'none'}"),
                  (f"- Settings: {s['epochs']} epochs per SNeRV point, SNeRV-B targets {s['snerv_bpp']} bpp "
                  f"(pipelines {', '.join(s.get('pipelines', ['rdo']))}), HNeRV targets {s['hnerv_bpp']} bpp, "
                  f"anchors {', '.join(s['anchors'])} ({', '.join(s['profiles'])}), refine {s['refine']}, "
                  f"seed {s['seed']}, device {s['device']}, precision {s['precision']}"),
                  f"- Timings (encode seconds, decode fps) were measured on this {m['cores']}-core CPU"
                  + (f" {note}" if note else "") + "; treat them as indicative.", ""]
    return lines


def our_points_md(clip: dict) -> list[str]:
    lines = ["| codec | pipeline | target bpp | real bpp | RGB PSNR (dB) | MS-SSIM | encode s | decode fps |",
             "|---|---|---|---|---|---|---|---|"]
    ours = [p for p in clip["points"] if p["codec"] in ("snerv-b", "hnerv")]
    for p in sorted(ours, key=lambda p: (p["codec"] != "snerv-b", p["codec"], p["profile"], p["target_bpp"])):
        lines.append(f"| {p['codec']} | {p['profile']} | {p['target_bpp']} | {p['bpp']:.4f} | {p['rgb_psnr']:.2f} | "
                     f"{_fmt(p['ms_ssim'], 4)} | {p['encode_seconds']:.0f} | {p['decode_fps']:.1f} |")
    return lines


def bd_md(clip: dict, rows: dict) -> list[str]:
    """BD-rates of each SNeRV-B pipeline against each anchor (columns), PSNR and MS-SSIM (rows)."""
    cols = [a for a in ANCHORS if any(row_key(clip, pl, *a) in rows for pl in pipelines(clip))]
    lines = ["| SNeRV-B pipeline | figure | " + " | ".join(f"{c} {p}" for c, p in cols) + " |",
             "|---|---|" + "---|" * len(cols)]
    for pl in pipelines(clip):
        for metric, label in METRICS:
            for kind, what in (("bd_rate", "BD-rate"), ("bd_quality", "BD-PSNR")):
                if kind == "bd_quality" and metric != "rgb_psnr":
                    continue
                cells = [bd_cell((rows.get(row_key(clip, pl, *a)) or {}).get(metric), kind) for a in cols]
                lines.append(f"| {pl} | {what} ({label}) | " + " | ".join(cells) + " |")
    lines += ["", ("BD-rate: pchip over the anchor points enclosing SNeRV's quality range (negative = SNeRV needs "
              "fewer bits); in brackets the quality overlap of the two curves (BD-PSNR: the rate overlap).")]
    vs = rows.get("rdo vs paper")
    if vs:
        lines += ["", "rdo pipeline against the paper pipeline: BD-rate "
                  + ", ".join(f"{bd_cell(vs[m])} on {label}" for m, label in METRICS)
                  + f"; BD-PSNR {bd_cell(vs['rgb_psnr'], 'bd_quality')}."]
    return lines


def comparisons(results: dict) -> list[tuple[str, str]]:
    """(label, summary row name without the pipeline prefix) of every comparison some clip has."""
    out = []
    for name, clip in results["clips"].items():
        for pl in pipelines(clip):
            for a in ANCHORS:
                if row_key(clip, pl, *a) in results["summary"][name]:
                    out.append((f"{pl} vs {a[0]} {a[1]}", f"{pl}:{a[0]}/{a[1]}"))
        if "rdo vs paper" in results["summary"][name]:
            out.append(("rdo vs paper", "rdo vs paper"))
    return list(dict.fromkeys(out))


def lookup(results: dict, name: str, ident: str) -> dict | None:
    clip, rows = results["clips"][name], results["summary"][name]
    if ident == "rdo vs paper":
        return rows.get(ident)
    pl, anchor = ident.split(":", 1)
    return rows.get(row_key(clip, pl, *anchor.split("/")))


def across_md(results: dict) -> list[str]:
    """Median and worst clip (the highest BD-rate, i.e. the worst for the test codec) per comparison."""
    lines = ["| comparison | metric | median BD-rate | worst clip |", "|---|---|---|---|"]
    for label, ident in comparisons(results):
        for metric, mlabel in METRICS:
            got = {n: r[metric]["bd_rate"] for n in results["clips"]
                   if (r := lookup(results, n, ident)) and r[metric]["bd_rate"] is not None}
            if not got:
                continue
            worst = max(got, key=got.get)
            lines.append(f"| {label} | {mlabel} | {_fmt(statistics.median(got.values()), 1, True)} | "
                         f"{worst} {_fmt(got[worst], 1, True)} |")
    n = len(results["clips"])
    if len(lines) == 2:
        return ["No BD-rate could be computed for any clip (see the notes per clip)."]
    tail = "; the median of two clips is their mean." if n == 2 else "."
    return lines + ["", f"Over {n} clip{'s' if n > 1 else ''}" + tail]


def results_md(results: dict, md_path: Path, fig_dir: Path, note: str | None, command: str,
               dev: list[dict] | None = None) -> str:
    rel = Path(os.path.relpath(fig_dir, md_path.parent)).as_posix()
    lines = ["# Benchmark results", "",
             (f"<!-- generated by benchmarks/render_results.py from {', '.join(r['path'] for r in results['runs'])}; "
             "do not edit by hand -->"), "",
             "Generated from the committed benchmark JSON by `benchmarks/render_results.py`; every figure below "
             "comes from that JSON (regenerate with `" + command + "`).", ""]
    lines += provenance_md(results, note)
    lines += ["## Across clips", ""] + across_md(results) + [""]
    for name, clip in results["clips"].items():
        spec = clip["spec"]
        prep = ", ".join(f"{k} {v}" for k, v in spec.items() if k in ("frames", "crop", "size") and v)
        lines += [f"## {name}: {clip['frames']} frames, {clip['size'][0]}x{clip['size'][1]}"
                  + (f" ({prep})" if prep else ""), "",
                  f"![{name}: RGB PSNR and MS-SSIM against bpp]({rel}/rd-{name}.png)", "",
                  "Our points (SNeRV-B per pipeline, HNeRV):", ""] + our_points_md(clip) + [""]
        lines += ["BD-rates of SNeRV-B against the anchors:", ""] + bd_md(clip, results["summary"][name]) + [""]
        crop = fig_dir / f"crop-{name}.png"
        if crop.exists():
            lines += [(f"Frame {clip['frames'] // 2} (the middle one), a detailed region shown 2x nearest-neighbour: "
                      f"source, SNeRV-B (rdo) nearest {HEADLINE_BPP} bpp, x264 (literature) at the CRF of nearest "
                      "rate. "
                      "Labels: the whole clip's bpp and PSNR from the JSON, and the PSNR measured on this frame."),
                      "", f"![{name}: source, SNeRV, x264 crops]({rel}/crop-{name}.png)", ""]
    if dev:
        from rd_levers import dev_md
        # one section per study: a row's key has no machine or code, so each machine's rows, and a later code's,
        # live in their own JSON (titled by `rd_levers.py report --title`)
        lines += [dev_md(d, heading="## Development set" + (f": {d['title']}" if d.get("title") else "" if i == 0
                                                            else f" on another machine: "
                                                            f"{d.get('machine', {}).get('cpu', '?')}"))
                  for i, d in enumerate(dev)]
    lines += ["## Every point", "",
              "The report `snerv bench` writes (`snervcodec.bench.report.markdown`), per run:", ""]
    for i, run in enumerate(results["runs"]):
        sub = {"provenance": run["provenance"], "summary": results["summary"],
               "clips": {n: c for n, c in results["clips"].items() if results["source"][n] == i}}
        body = markdown(sub).split("\n", 2)[2]  # without its title line
        lines += [body.replace("\n## ", "\n### ")]
    return "\n".join(lines).rstrip() + "\n"


# --- README headline ----------------------------------------------------------------------------

def headline_md(results: dict, readme: Path, md_path: Path, fig_dir: Path) -> str:
    """The README's headline: per clip the BD-rates (RGB PSNR) of the rdo pipeline against each
    anchor, PSNR near 0.1 bpp, rdo vs paper; and the headline plot."""
    def rel(p):
        return Path(os.path.relpath(p, readme.parent)).as_posix()

    epochs = {r["provenance"]["settings"]["epochs"] for r in results["runs"]}
    has_paper = any("rdo vs paper" in results["summary"][n] for n in results["clips"])
    anchors = headline_anchors(results)
    head = (["clip", "SNeRV-B near 0.1 bpp"] + [f"vs {c} {p}" for c, p in anchors]
            + (["rdo vs paper"] if has_paper else []))
    codecs = "/".join(dict.fromkeys(c for c, _ in anchors))
    lines = [(f"SNeRV-B ({'/'.join(map(str, sorted(epochs)))} epochs per point) against {codecs}: BD-rate on RGB "
             f"PSNR (negative = SNeRV needs fewer bits), from [docs/results.md]({rel(md_path)}) (generated "
             "from the committed bench JSON)."), "",
             "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for name, clip in results["clips"].items():
        rows, p = results["summary"][name], headline_point(clip)
        pl = p["profile"] if p else "rdo"
        cells = [f"{name} ({clip['frames']} fr., {clip['size'][0]}x{clip['size'][1]})",
                 f"{p['rgb_psnr']:.2f} dB at {p['bpp']:.4f} bpp ({pl})" if p else "n/a"]
        cells += [_fmt((rows.get(row_key(clip, pl, *a)) or {}).get("rgb_psnr", {}).get("bd_rate"), 1, True)
                  for a in anchors]
        if has_paper:
            cells.append(_fmt((rows.get("rdo vs paper") or {}).get("rgb_psnr", {}).get("bd_rate"), 1, True))
        lines.append("| " + " | ".join(cells) + " |")
    lines += ["", f"![RD curves per clip]({rel(fig_dir / 'rd-headline.png')})"]
    return "\n".join(lines)


def _tick(v: float, _pos) -> str:
    return f"{v:g}" if v > 0 and f"{v:.0e}"[0] in "1235" else ""


def headline_plot(results: dict, path: Path) -> Path:
    """One figure, one panel per clip: RGB PSNR against bpp for SNeRV-B (each pipeline), HNeRV and
    the anchors."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.ticker import FuncFormatter

    names = list(results["clips"])
    fig, axes = plt.subplots(1, len(names), figsize=(5.2 * len(names), 3.9), squeeze=False)
    for ax, name in zip(axes[0], names):
        pts = results["clips"][name]["points"]
        for codec, profile in sorted({(p["codec"], p["profile"]) for p in pts}):
            c = _curve(pts, codec, profile)
            style = "o-" if codec == "snerv-b" else ("s" if codec == "hnerv" else ".--")
            ax.plot([p["bpp"] for p in c], [p["rgb_psnr"] for p in c], style, ms=4, label=f"{codec} ({profile})")
        clip = results["clips"][name]
        ax.set(xscale="log", xlabel="bits per pixel", ylabel="RGB PSNR (dB)",
               title=f"{name}: {clip['frames']} frames, {clip['size'][0]}x{clip['size'][1]}")
        for which in ("major", "minor"):  # plain numbers, only at mantissas 1, 2, 3, 5 (no crowding)
            getattr(ax.xaxis, f"set_{which}_formatter")(FuncFormatter(_tick))
        ax.tick_params(axis="x", which="both", labelsize=7)
        ax.grid(True, which="both", alpha=0.3)
    axes[0][0].legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def update_readme(readme: Path, text: str) -> bool:
    """Replace the text between the headline markers; False (README untouched) without them."""
    src = readme.read_text()
    a, b = src.find(START), src.find(END)
    if a < 0 or b < a:
        return False
    readme.write_text(src[:a + len(START)] + "\n" + text + "\n" + src[b:])
    return True


# --- entry point --------------------------------------------------------------------------------

def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("json", nargs="*", type=Path, default=[Path("docs/results/bench.json")],
                    help="bench results JSON (default docs/results/bench.json); several: clips merged")
    ap.add_argument("--md", type=Path, default=Path("docs/results.md"), help="the page to write")
    ap.add_argument("--fig-dir", type=Path, default=None, help="PNG folder (default: beside the JSON)")
    ap.add_argument("--crops", type=Path, metavar="CACHE_DIR", help="the bench's cache folder: (re)make crop PNGs")
    ap.add_argument("--readme", type=Path, help="README whose headline section (between the markers) to replace")
    ap.add_argument("--dev", type=Path, action="append", default=[],
                    help="the development set's JSON (rd_levers.py report): its section; again for another "
                         "machine's study (each JSON is one machine's rows)")
    ap.add_argument("--note", help="appended to the timing sentence (e.g. 'shared with light test runs')")
    args = ap.parse_args(argv)
    fig_dir = args.fig_dir or args.json[0].parent
    fig_dir.mkdir(parents=True, exist_ok=True)
    results = load(args.json)
    plots(results, fig_dir)  # rd-<clip>.png, the bench report's own plots
    if args.crops:
        for name, clip in results["clips"].items():
            print(crop_image(name, clip, headline_point(clip), args.crops, fig_dir / f"crop-{name}.png"))
    command = "python benchmarks/render_results.py " + " ".join(
        [str(p) for p in args.json] + [a for d in args.dev for a in ("--dev", str(d))]
        + (["--note", repr(args.note)] if args.note else []))
    args.md.parent.mkdir(parents=True, exist_ok=True)
    dev = [json.loads(d.read_text()) for d in args.dev]
    args.md.write_text(results_md(results, args.md, fig_dir, args.note, command, dev))
    print(args.md)
    if args.readme:
        headline_plot(results, fig_dir / "rd-headline.png")
        if update_readme(args.readme, headline_md(results, args.readme, args.md, fig_dir)):
            print(f"{args.readme}: headline replaced")
        else:
            print(f"{args.readme}: no {START} / {END} markers; README left alone", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
