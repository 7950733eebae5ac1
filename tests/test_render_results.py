"""benchmarks/render_results.py on a small made-up results JSON (TEST DATA, not measurements): the page,
its plots and the README headline are written, and every number in their tables comes from the JSON
(or from ``report.summarise`` on it). No ffmpeg, no trained model: crops are off."""

from __future__ import annotations

import importlib.util
import json
import re
import statistics
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from snervcodec.bench.report import summarise

ROOT = Path(__file__).resolve().parent.parent


def _renderer():
    spec = importlib.util.spec_from_file_location("render_results", ROOT / "benchmarks" / "render_results.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _point(codec, profile, bpp, psnr, ms, **kw):
    return {"codec": codec, "profile": profile, "bpp": bpp, "rgb_psnr": psnr, "yuv420_psnr": psnr + 1.5,
            "y_psnr": psnr + 1.1, "ms_ssim": ms, "ms_ssim_window": 7, "bytes": int(bpp * 64 * 96 * 16 / 8),
            "frames": 16, "height": 64, "width": 96, "encode_seconds": 12.34 + bpp, "decode_fps": 321.9 - psnr, **kw}


def _clip(name: str, shift: float, av1: bool = False) -> dict:
    """Made-up RD points (test data): SNeRV-B rdo and paper, HNeRV, and four anchor curves (six
    with ``av1``)."""
    pts = []
    for pl, gain in (("rdo", 0.0), ("paper", -1.37)):
        for t, q in ((0.05, 24.11), (0.1, 26.23), (0.2, 28.47)):
            pts.append(_point("snerv-b", pl, t * 0.97, q + gain + shift, 0.8813 + t / 3 + gain / 50,
                              target_bpp=t, setting=f"bpp={t}"))
    pts.append(_point("hnerv", "rdo", 0.0993, 25.57 + shift, 0.9031, target_bpp=0.1, setting="bpp=0.1"))
    for codec, base in (("x264", 22.9), ("x265", 23.6)):
        for profile, extra in (("literature", 0.0), ("strong", 0.41)):
            for i, q in enumerate((46, 42, 38, 34, 30)):
                bpp = 0.03 * 1.6 ** i
                pts.append(_point(codec, profile, bpp, base + extra + 1.3 * shift + 2.3 * i, 0.86 + 0.025 * i,
                                  q=q, setting=("crf" if profile == "literature" else "qp") + f"={q}"))
    for profile, extra in ((("literature", 0.0), ("strong", 0.29)) if av1 else ()):
        for i, q in enumerate((55, 47, 39, 31, 23)):
            pts.append(_point("av1", profile, 0.027 * 1.6 ** i, 24.05 + extra + 1.3 * shift + 2.3 * i,
                              0.87 + 0.025 * i, q=q, setting=f"crf={q}"))
    return {"spec": {"name": name, "path": f"/nowhere/{name}.mp4", "frames": "0:16", "crop": None, "size": "64x96",
                     "resize": "bicubic"}, "frames": 16, "size": [64, 96], "points": pts, "ffmpeg_cli_check": []}


def _results(av1: bool = False) -> dict:
    prov = {"date": "2000-01-02T03:04:05+00:00", "command": "snerv bench --made-up-test-data",
            "settings": {"epochs": 7, "snerv_bpp": [0.05, 0.1, 0.2], "hnerv_bpp": [0.1], "pipelines": ["rdo", "paper"],
                         "anchors": ["x264", "x265"] + (["av1"] if av1 else []),
                         "profiles": ["literature", "strong"], "refine": 6, "seed": 0,
                         "device": "cpu", "precision": "fp32"},
            "versions": {"snervcodec": "0.0-test", "snervcodec_code": "feedc0de", "torch": "t", "av": "a",
                         "numpy": "n", "pyav": "p", "ffmpeg_libs": {"libavcodec": "1.2.3"}, "ffmpeg_cli": None},
            "machine": {"platform": "test-platform", "processor": "Test CPU", "cores": 3, "torch_threads": 3,
                        "cuda": None}}
    return {"provenance": prov, "clips": {"alpha": _clip("alpha", 0.0, av1), "beta": _clip("beta", 0.83, av1)}}


def _numbers(obj) -> list[float]:
    if isinstance(obj, dict):
        return [x for v in obj.values() for x in _numbers(v)]
    if isinstance(obj, list):
        return [x for v in obj for x in _numbers(v)]
    return [float(obj)] if isinstance(obj, (int, float)) and not isinstance(obj, bool) else []


def _allowed(results: dict, summary: dict) -> set[str]:
    """Every way the page may print a number of the JSON (or of the summary computed from it)."""
    vals = _numbers(results) + _numbers(summary)
    vals += [100 * v for v in _numbers(summary)]  # overlaps as percentages
    # medians over the clips, per summary row and metric
    rows = {(k, m) for s in summary.values() for k, r in s.items() if k != "hnerv_equal_size" for m in r}
    for k, m in rows:
        got = [s[k][m]["bd_rate"] for s in summary.values() if k in s and s[k][m]["bd_rate"] is not None]
        if got:
            vals.append(statistics.median(got))
    out = set()
    for v in vals:
        for d in range(5):
            out |= {f"{v:.{d}f}", f"{v:+.{d}f}"}
    return out


NUMBER = re.compile(r"(?<![\w.])[+-]?\d+(?:\.\d+)?(?![\w.])")


def _table_numbers(text: str) -> list[str]:
    return [n for line in text.splitlines() if line.startswith("|") for n in NUMBER.findall(line)]


def _render(tmp_path: Path, results: dict):
    docs = tmp_path / "docs"
    (docs / "results").mkdir(parents=True)
    src = docs / "results" / "bench.json"
    src.write_text(json.dumps(results))
    readme = tmp_path / "README.md"
    readme.write_text("# x\n\nbefore\n<!-- results:headline:start -->\nold text\n"
                      "<!-- results:headline:end -->\nafter\n")
    assert _renderer().main([str(src), "--md", str(docs / "results.md"), "--readme", str(readme),
                             "--note", "(test note)"]) == 0
    return results, summarise(results), docs, readme


@pytest.fixture
def rendered(tmp_path):
    return _render(tmp_path, _results())


@pytest.fixture
def rendered_av1(tmp_path, monkeypatch):
    """The page from JSON with AV1 points too; ``labels``: every curve the plots drew."""
    import matplotlib.axes

    labels, plot = [], matplotlib.axes.Axes.plot

    def spy(self, *args, **kw):
        labels.append(kw.get("label"))
        return plot(self, *args, **kw)

    monkeypatch.setattr(matplotlib.axes.Axes, "plot", spy)
    return (*_render(tmp_path, _results(av1=True)), labels)


def test_page_tables_links_and_figures(rendered):
    results, summary, docs, _ = rendered
    md = (docs / "results.md").read_text()
    for name, clip in results["clips"].items():
        assert f"](results/rd-{name}.png)" in md and (docs / "results" / f"rd-{name}.png").stat().st_size > 0
        assert f"crop-{name}.png" not in md  # no crop made, none linked
        for p in clip["points"]:
            if p["codec"] in ("snerv-b", "hnerv"):
                assert (f"| {p['codec']} | {p['profile']} | {p['target_bpp']} | {p['bpp']:.4f} | {p['rgb_psnr']:.2f} | "
                        f"{p['ms_ssim']:.4f} | {p['encode_seconds']:.0f} | {p['decode_fps']:.1f} |") in md
        section = md.split(f"## {name}:")[1].split("\n## ")[0]
        for key in ("rdo: x264/literature", "paper: x265/strong", "rdo vs paper"):
            for metric in ("rgb_psnr", "ms_ssim"):
                assert f"{summary[name][key][metric]['bd_rate']:+.1f}%" in section
    assert "snerv bench --made-up-test-data" in md and "Test CPU, 3 cores" in md and "(test note)" in md
    assert "## Every point" in md and "| x265 | strong | qp=30" in md  # the bench's own report, all points
    assert "worst clip" in md


def test_every_table_number_comes_from_the_json(rendered):
    results, summary, docs, readme = rendered
    allowed = _allowed(results, summary)
    md = (docs / "results.md").read_text().split("## Every point")[0]
    head = readme.read_text()
    shown = _table_numbers(md) + _table_numbers(head)
    assert len(shown) > 100
    assert [n for n in shown if n not in allowed] == []


def test_readme_headline(rendered, tmp_path):
    results, summary, docs, readme = rendered
    text = readme.read_text()
    assert text.startswith("# x\n\nbefore\n<!-- results:headline:start -->\n") and text.endswith(
        "<!-- results:headline:end -->\nafter\n")
    assert "old text" not in text and "](docs/results/rd-headline.png)" in text and "](docs/results.md)" in text
    assert (docs / "results" / "rd-headline.png").stat().st_size > 0
    for name in results["clips"]:
        assert f"{summary[name]['rdo: x265/strong']['rgb_psnr']['bd_rate']:+.1f}%" in text
        assert f"{summary[name]['rdo vs paper']['rgb_psnr']['bd_rate']:+.1f}%" in text
    plain = tmp_path / "PLAIN.md"
    plain.write_text("no markers here\n")
    src = docs / "results" / "bench.json"
    assert _renderer().main([str(src), "--md", str(docs / "results.md"), "--readme", str(plain)]) == 0
    assert plain.read_text() == "no markers here\n"


def test_without_av1_points_no_av1_appears(rendered):
    _, _, docs, readme = rendered
    for text in ((docs / "results.md").read_text(), readme.read_text()):
        assert "av1" not in text.replace(str(docs.parent), "").lower()  # the test's folder is named after it
    assert "against x264/x265:" in readme.read_text()


def test_av1_is_tabulated_beside_x264_and_x265(rendered_av1):
    results, summary, docs, readme, labels = rendered_av1
    md, head = (docs / "results.md").read_text(), readme.read_text()
    for name in results["clips"]:
        section = md.split(f"## {name}:")[1].split("\n## ")[0]
        assert ("| SNeRV-B pipeline | figure | x264 literature | x264 strong | x265 literature | x265 strong | "
                "av1 literature | av1 strong |") in section
        for pl in ("rdo", "paper"):
            for metric in ("rgb_psnr", "ms_ssim"):
                for profile in ("literature", "strong"):
                    assert f"{summary[name][f'{pl}: av1/{profile}'][metric]['bd_rate']:+.1f}%" in section
        for profile in ("literature", "strong"):
            assert f"{summary[name][f'rdo: av1/{profile}']['rgb_psnr']['bd_rate']:+.1f}%" in head
    across = md.split("## Across clips")[1].split("\n## ")[0]
    assert "| rdo vs av1 literature | RGB PSNR |" in across and "| paper vs av1 strong | MS-SSIM |" in across
    assert "against x264/x265/av1:" in head and "| vs av1 literature | vs av1 strong |" in head
    # every plot (per clip, both metrics; the headline) draws both AV1 curves
    assert labels.count("av1 (literature)") == labels.count("av1 (strong)") == 3 * len(results["clips"])


def test_av1_table_numbers_come_from_the_json(rendered_av1):
    results, summary, docs, readme, _ = rendered_av1
    allowed = _allowed(results, summary)
    shown = _table_numbers((docs / "results.md").read_text().split("## Every point")[0])
    shown += _table_numbers(readme.read_text())
    assert [n for n in shown if n not in allowed] == []
