"""benchmarks/rd_levers.py: the lever named as the default is the encoder's default, and the summary
and the development-set section of docs/results.md come from the rows (made-up TEST DATA, not
measurements). No encode runs here."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import numpy as np
import pytest

from snervcodec import CompressionConfig

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def levers():
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        spec = importlib.util.spec_from_file_location("rd_levers", ROOT / "benchmarks" / "rd_levers.py")
        mod = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(mod)
        yield mod
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))


@pytest.mark.parametrize("bpp,hw,pan", [(0.05, (144, 256), 0), (0.2, (144, 256), 0), (0.1, (144, 176), 0),
                                        (0.1, (144, 256), 4)])
def test_the_default_lever_plans_what_a_plain_encode_plans(levers, bpp, hw, pan):
    """DEFAULT_LEVER spells out the rdo defaults: an encode with its options and one with none get the
    same network, geometry, training configuration and canvas (at 144x176 too, where the embedding
    grid's target changes the grid; on a pan of ``pan`` pixels a frame, which the default draws on a canvas)."""
    from snervcodec.codec.plan import plan
    from snervcodec.requests import EncodeRequest, ModelRequest, TrainRequest, VideoRequest

    scene = np.random.default_rng(0).integers(0, 256, (hw[0] // 8, (hw[1] + 64 * pan) // 8 + 1, 3), np.uint8)
    scene = np.kron(scene, np.ones((8, 8, 1), np.uint8))
    frames = np.stack([scene[:, k * pan:k * pan + hw[1]] for k in range(64)])  # planned only, never trained
    video = VideoRequest.of(frames).load()

    def planned(opts: dict, pipeline: str = "rdo"):
        opts = dict(opts)
        model = {k: opts.pop(k) for k in ("emb_cells", "model", "canvas", "emb_channels") if k in opts}
        req = EncodeRequest(VideoRequest.of(frames), ModelRequest(**model),
                            TrainRequest(None, 20, "cpu", "fp32", 0, opts), CompressionConfig(pipeline=pipeline),
                            bpp=bpp)
        p = plan(video, req)
        return p.cfg, p.geo, p.tcfg, None if p.canvas is None else (p.canvas.height, p.canvas.width)

    def lever(name: str):
        """What rd_levers runs for ``name`` (it fills in the early recipe a lever does not name)."""
        compression, opts = levers._encode_options(name)
        return planned(opts, compression.pipeline)

    assert lever(levers.DEFAULT_LEVER) == planned({})
    assert levers._encode_options(levers.DEFAULT_LEVER)[0] == CompressionConfig()  # the coder's defaults too
    assert levers._encode_options("px16-canvas")[0] != CompressionConfig()  # the trim before the sensitivity's
    assert lever("paper-emb32") != planned({})  # the comparison can fail
    if pan:
        assert planned({})[3] == (hw[0], hw[1] + 63 * pan)
        assert lever("open-mixed-px16")[3] is None  # the default before the canvas


def _rows(lever: str, clip: str, psnrs: list[float], epochs: int = 20, seed: int = 0) -> list[dict]:
    return [{"lever": lever, "settings": {"pipeline": "rdo", "tune": lever}, "clip": clip, "target_bpp": t,
             "epochs": epochs, "seed": seed, "bpp": t * 0.97, "psnr": q, "ms_ssim": 0.8 + q / 100,
             "float_psnr": q - 0.3, "encode_seconds": 100.0 + q, "decode_seconds": 1.0, "history": []}
            for t, q in zip((0.05, 0.1, 0.2), psnrs)]


X264 = [{"crf": c, "bpp": 0.02 * 1.5 ** i, "psnr": 24.0 + 2.0 * i, "ms_ssim": 0.84 + 0.02 * i}
        for i, c in enumerate((45, 39, 33, 27, 21))]


def test_summary_per_clip_and_across(levers):
    from snervcodec.bench.bdrate import bd_rate

    rows = (_rows("good", "a", [26.0, 29.0, 31.0]) + _rows("good", "b", [25.0, 27.5, 30.5])
            + _rows("flat", "a", [25.0, 24.0, 26.0]) + _rows("flat", "b", [20.0, 21.0, 22.0])[1:2])
    s = levers.summarise(rows, {"a": X264, "b": X264})
    a = s["good@20"]["clips"]["a"]
    assert a["rises"] is True and s["flat@20"]["clips"]["a"]["rises"] is False
    want = bd_rate([p["bpp"] for p in X264], [p["psnr"] for p in X264],
                   [0.0485, 0.097, 0.194], [26.0, 29.0, 31.0])
    assert a["bd_rate_x264_psnr"] == pytest.approx(round(want, 1))
    # 29 dB is half way between x264's third and fourth points: their geometric mean rate
    need = np.exp(np.log(0.045) + 0.5 * (np.log(0.0675) - np.log(0.045)))
    assert a["x264_ratio_at_0.1"] == pytest.approx(need / 0.097, abs=1e-3) and a["x264_ratio_exact"]
    # 21 dB is below x264's sweep: its lowest rate is an upper bound, flagged as such
    b = s["flat@20"]["clips"]["b"]
    assert b["x264_ratio_at_0.1"] == pytest.approx(0.02 / 0.097, abs=1e-3) and not b["x264_ratio_exact"]
    assert b["x264_ratio_bound"] == "<" and "x264_ratio_bound" not in a
    # 35 dB is above it: its highest rate is a lower bound (x264 needs more)
    c = levers.summarise(_rows("sharp", "a", [33.0, 35.0, 37.0]), {"a": X264})["sharp@20"]["clips"]["a"]
    assert c["x264_ratio_at_0.1"] == pytest.approx(X264[-1]["bpp"] / 0.097, abs=1e-3) and c["x264_ratio_bound"] == ">"
    assert s["good@20"]["across"]["bd_rate_x264_psnr"]["clips"] == 2
    assert s["good@20"]["settings"] == {"pipeline": "rdo", "tune": "good"}


def test_seeds_are_groups_of_their_own_and_levers_are_paired_with_the_default(levers, monkeypatch):
    """A second seed of the default is its own group (never two points at one rate), and every group is
    compared with the default at 0.1 bpp on the clips both have: the noise, and a one-rate lever."""
    monkeypatch.setattr(levers, "DEFAULT_LEVER", "good")
    rows = (_rows("good", "a", [26.0, 29.0, 31.0]) + _rows("good", "b", [25.0, 27.5, 30.5])
            + _rows("good", "a", [26.5, 29.4, 31.2], seed=1)
            + _rows("fast", "a", [0, 28.0, 0])[1:2] + _rows("fast", "b", [0, 28.5, 0])[1:2]
            + _rows("fast", "c", [0, 20.0, 0])[1:2])  # c: no default to compare with
    s = levers.summarise(rows, {"a": X264, "b": X264})
    assert set(s) == {"good@20", "good@20 seed 1", "fast@20"}
    assert len(s["good@20"]["clips"]["a"]["points"]) == 3 and s["good@20 seed 1"]["seed"] == 1
    assert s["good@20 seed 1"]["across"]["psnr_at_0.1_vs_default"] == {"median": 0.4, "worst": 0.4, "clips": 1}
    assert s["fast@20"]["across"]["psnr_at_0.1_vs_default"] == {"median": 0.0, "worst": -1.0, "clips": 2}
    assert "psnr_at_0.1_vs_default" not in s["good@20"]["across"]
    lines = levers.across_md(s)
    assert any(ln.startswith("| good, seed 1 | 20 |") and ln.endswith("| +0.40 / +0.40 (1) |") for ln in lines)
    assert any(ln.startswith("| **good** (the rdo default) | 20 |") for ln in lines)


def test_dev_section_lists_each_lever_and_details_whole_curves(levers, monkeypatch):
    monkeypatch.setattr(levers, "DEFAULT_LEVER", "good")
    rows = (_rows("good", "a", [26.0, 29.0, 31.0]) + _rows("good", "b", [25.0, 27.5, 30.5])
            + _rows("good", "a", [28.0, 31.0, 33.0], epochs=60) + _rows("flat", "a", [25.0, 24.0, 26.0])[1:2])
    dev = {"machine": {"cpu": "Test CPU", "cores": 3, "torch": "t"},
           "summary": levers.summarise(rows, {"a": X264, "b": X264})}
    md = levers.dev_md(dev, min_curves=2)
    across = md[md.index("### Across the set"):md.index("### Per clip")]
    lines = [ln for ln in across.splitlines() if ln.startswith("| ")][1:]
    assert [ln.split(" | ")[0:2] for ln in lines] == [["| flat", "20"], ["| **good** (the rdo default)", "20"],
                                                       ["| **good** (the rdo default)", "60"]]
    g = dev["summary"]["good@20"]["across"]
    assert f"{g['bd_rate_x264_psnr']['median']:+.0f}% / {g['bd_rate_x264_psnr']['worst']:+.0f}% (2)" in lines[1]
    assert "0 of 1" in lines[0] and "2 of 2" in lines[1] and "Test CPU (3 cores)" in md
    # per clip: only the group with whole curves on two clips
    assert "### Per clip: good@20" in md and "Per clip: good@60" not in md and "Per clip: flat@20" not in md


def test_the_results_page_carries_the_dev_section(levers, tmp_path):
    """render_results.py --dev adds the section and names the file in its regenerate command."""
    import json

    sys.path.insert(0, str(ROOT / "tests"))
    try:
        from test_render_results import _renderer, _results
    finally:
        sys.path.remove(str(ROOT / "tests"))
    pytest.importorskip("matplotlib")
    bench, dev = tmp_path / "bench.json", tmp_path / "dev.json"
    bench.write_text(json.dumps(_results()))
    rows = _rows("good", "a", [26.0, 29.0, 31.0])
    dev.write_text(json.dumps({"machine": {}, "summary": levers.summarise(rows, {"a": X264})}))
    md = tmp_path / "results.md"
    assert _renderer().main([str(bench), "--md", str(md), "--dev", str(dev)]) == 0
    text = md.read_text()
    assert text.index("## Development set") < text.index("## Every point") and f"--dev {dev}" in text
    assert "### Per clip: good@20" not in text  # one clip: below the default four whole curves
    # a second machine's study: a section of its own, named by its CPU and precision
    amx = tmp_path / "amx.json"
    amx.write_text(json.dumps({"machine": {"cpu": "Xeon with AMX", "cpu_bf16": True},
                               "summary": levers.summarise(_rows("good", "a", [27.0, 30.0, 32.0]), {"a": X264})}))
    assert _renderer().main([str(bench), "--md", str(md), "--dev", str(dev), "--dev", str(amx)]) == 0
    text = md.read_text()
    assert text.count("## Development set") == 2 and "## Development set on another machine: Xeon with AMX" in text
    assert "training in bf16" in text and "training in fp32" in text and f"--dev {dev} --dev {amx}" in text
    assert text.index("## Development set on another") < text.index("## Every point")
    # a later code's study on the same machine: titled by `report --title`
    later = tmp_path / "later.json"
    later.write_text(json.dumps({**json.loads(amx.read_text()), "title": "rate control fixed"}))
    assert _renderer().main([str(bench), "--md", str(md), "--dev", str(amx), "--dev", str(later)]) == 0
    text = md.read_text()
    assert "## Development set: rate control fixed" in text and text.count("## Development set") == 2


@pytest.mark.parametrize("with_x265", [True, False])
def test_restore_puts_back_what_report_and_run_read(levers, tmp_path, monkeypatch, with_x265):
    """A report's JSON restores the rows and anchor curves: the report made from them is the same, and
    `run` finds a restored row where it would write it (so it does not encode it again); a study without
    x265 (every one before it) restores and reports as before, with no x265 in its JSON."""
    monkeypatch.setattr(levers, "clip_spec", lambda entry, out: f"{entry.name} under {out}")  # no clip is made
    rows = _rows("mixed-mse40", "bikes", [27.0, 30.0, 33.0]) + _rows("mixed-mse40", "zoom", [25.0, 28.0, 31.0])
    for r in rows:
        r["settings"] = levers.LEVERS["mixed-mse40"]
    src = tmp_path / "report.json"
    src.write_text(json.dumps({"machine": {}, "x264": {"bikes": X264, "zoom": X264}, "summary": {}, "rows": rows}
                              | ({"x265": {"zoom": X265}} if with_x265 else {})))
    out = tmp_path / "out"
    levers.main(["restore", "--json", str(src), "--out", str(out)])
    levers.main(["report", "--out", str(out), "--json", str(tmp_path / "again.json"), "--title", "a study"])
    again = json.loads((tmp_path / "again.json").read_text())
    assert again["rows"] == rows and again["x264"] == {"bikes": X264, "zoom": X264} and again["title"] == "a study"
    assert again.get("x265") == ({"zoom": X265} if with_x265 else None)
    assert again["summary"] == json.loads(json.dumps(levers.summarise(rows, again["x264"], again.get("x265"))))
    assert ("bd_rate_x265_psnr" in again["summary"]["mixed-mse40@20"]["clips"]["zoom"]) == with_x265
    assert again["summary"]["mixed-mse40@20"]["clips"]["zoom"]["bd_rate_x264_psnr"] is not None
    wanted = {"lever": "mixed-mse40", "settings": levers.LEVERS["mixed-mse40"], "clip": "zoom", "target_bpp": 0.1,
              "epochs": 20, "seed": 0}
    assert levers._row_path(out / "rows", wanted).exists()
    assert not levers._row_path(out / "rows", wanted | {"seed": 1}).exists()


def test_a_lever_that_plans_another_levers_encode_shares_its_row(levers, tmp_path):
    """open-mixed-emb64 aims at 64 embedding cells; at 144x256 the geometry rounds 32 and 64 to the same
    6x11 grid, so its row there is open-mixed's (marked), while at 144x176 (4x5 against 9x11) it must
    encode. A lever that differs in training (open-fit) never shares."""
    from snervcodec.requests import VideoRequest

    rows_dir = tmp_path / "rows"
    rows_dir.mkdir()
    for lever, psnr in (("open-mixed", 28.5), ("openfit-mixed", 28.0)):
        row = _rows(lever, "zoom", [26.0, psnr, 30.0])[1] | {"settings": levers.LEVERS[lever]}
        levers._row_path(rows_dir, row).write_text(json.dumps(row))

    def shared(hw, lever="open-mixed-emb64"):
        video = VideoRequest.of(np.zeros((64, *hw, 3), np.uint8)).load()
        return levers._same_encode_row(rows_dir, video, "zoom", lever, 0.1, 20, 0)

    row = shared((144, 256))
    assert (row["lever"], row["same_encode_as"], row["psnr"]) == ("open-mixed-emb64", "open-mixed", 28.5)
    assert row["settings"] == levers.LEVERS["open-mixed-emb64"]
    assert shared((144, 176)) is None
    assert shared((144, 256), "openfit-mixed-emb128") is None  # 9x16 cells: its own encode


def test_quant_probe_measures_right_after_the_entropy_models_attach(levers):
    """benchmarks/quant_probe.py: its two measurements (the pruned float network, the same network
    rounded at the starting steps) run after attach_entropy_models and before the noise phase."""
    import types

    from snervcodec.codec import rdo

    spec = importlib.util.spec_from_file_location("quant_probe", ROOT / "benchmarks" / "quant_probe.py")
    probe_mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(probe_mod)
    found: dict = {}
    steps = probe_mod._probed(lambda p, s: ["fit", rdo.attach_entropy_models, "noise"], found)(None, 1.0)
    assert steps[:2] == ["fit", rdo.attach_entropy_models] and steps[3] == "noise" and len(steps) == 4
    trainer = types.SimpleNamespace(evaluate=lambda with_msssim, quant=None: {"psnr": 20.0 if quant else 30.0})
    steps[2](types.SimpleNamespace(trainer=trainer))
    assert found == {"pruned_float": 30.0, "rounded_start": 20.0}


def test_a_clip_at_another_size_has_its_row_but_stays_out_of_the_sets_median(levers, monkeypatch):
    monkeypatch.setattr(levers, "DEFAULT_LEVER", "good")
    rows = (_rows("good", "a", [26.0, 29.0, 31.0]) + _rows("good", "b", [25.0, 27.5, 30.5])
            + _rows("good", "a@96x128", [36.0, 39.0, 41.0]) + _rows("fast", "a", [0, 28.0, 0])[1:2]
            + _rows("fast", "a@96x128", [0, 30.0, 0])[1:2])
    curves = {"a": X264, "b": X264, "a@96x128": X264}
    s = levers.summarise(rows, curves)
    assert set(s["good@20"]["clips"]) == {"a", "b", "a@96x128"}
    without = levers.summarise([r for r in rows if r["clip"] != "a@96x128"], curves)
    assert s["good@20"]["across"] == without["good@20"]["across"]
    assert s["fast@20"]["across"]["psnr_at_0.1_vs_default"] == {"median": -1.0, "worst": -1.0, "clips": 1}
    good = next(ln for ln in levers.across_md(s) if ln.startswith("| **good**"))
    assert "| 2 of 2 | 2 |" in good  # whole curves and rising ones: the set's clips only
    with pytest.raises(SystemExit, match="unknown dev-set clip 'nope'"):
        levers._clips("zoom,nope@96x128", Path("unused"))


def test_a_clips_x264_sweep_is_found_however_the_output_folder_is_spelled(levers, tmp_path, monkeypatch):
    """The sweep is keyed on the clip's file name, not on the folder a run was given (relative or absolute);
    x264's key is the one its sweeps were kept under before x265 joined it, and x265's is another."""
    from snervcodec.bench.runner import ClipSpec

    monkeypatch.chdir(tmp_path)
    here = ClipSpec("zoom", "out/devset/zoom-abc.y4m")
    there = ClipSpec("zoom", str(tmp_path / "out/devset/zoom-abc.y4m"))
    assert levers._anchor_path(tmp_path, "zoom", here) == levers._anchor_path(tmp_path, "zoom", there)
    other = ClipSpec("zoom", "out/devset/zoom-def.y4m")  # other frames, another digest: another sweep
    assert levers._anchor_path(tmp_path, "zoom", other) != levers._anchor_path(tmp_path, "zoom", here)
    assert levers._anchor_path(tmp_path, "zoom", ClipSpec("zoom", "a/zoom-abc.y4m", size="96x128")) != \
        levers._anchor_path(tmp_path, "zoom", here)
    old = levers._key({"clip": "zoom", "crf": levers.X264_CRF, "spec": str(ClipSpec("zoom", "zoom-abc.y4m"))})
    assert levers._anchor_path(tmp_path, "zoom", here) == tmp_path / f"x264-{old}.json"
    x265 = levers._anchor_path(tmp_path, "zoom", here, "x265")
    assert x265.name.startswith("x265-") and x265.stem[5:] != old


X265 = [{"qp": q, "bpp": 0.01 * 1.5 ** i, "psnr": 24.0 + 2.0 * i, "ms_ssim": 0.84 + 0.02 * i}
        for i, q in enumerate((46, 42, 38, 34, 30, 26))]


def test_x265_stands_beside_x264_where_its_sweep_exists(levers):
    """A clip with an x265 sweep gets BD-rates against it (PSNR and MS-SSIM) and its overlap, the group
    their median and worst, and the tables a column under each header; without any, the tables are as
    before."""
    from snervcodec.bench.bdrate import bd_rate

    rows = _rows("good", "a", [26.0, 29.0, 31.0]) + _rows("good", "b", [25.0, 27.5, 30.5]) \
        + _rows("good", "c", [25.0, 27.0, 29.0])
    for r in rows:
        r["ms_ssim"] = 0.8 + (r["psnr"] - 20.0) / 100  # inside the sweeps' MS-SSIM, so both BD-rates are numbers
    cheaper = [p | {"bpp": p["bpp"] * 0.7} for p in X265]  # x265 on clip b needs less: a worse clip for us
    s = levers.summarise(rows, {"a": X264, "b": X264, "c": X264}, {"a": X265, "b": cheaper})
    clips = s["good@20"]["clips"]
    a, b = clips["a"], clips["b"]
    for clip, sweep in ((a, X265), (b, cheaper)):
        for metric in ("psnr", "ms_ssim"):
            want = bd_rate([p["bpp"] for p in sweep], [p[metric] for p in sweep],
                           [p["bpp"] for p in clip["points"]], [p[metric] for p in clip["points"]])
            assert clip[f"bd_rate_x265_{metric}"] == pytest.approx(round(want, 1)), metric
        assert 0 < clip["overlap_x265"] <= 1
    assert b["bd_rate_x265_psnr"] > a["bd_rate_x265_psnr"] > a["bd_rate_x264_psnr"]
    assert not any(k.endswith("x265") or "x265_" in k for k in clips["c"])  # c: no sweep, no figure
    across = s["good@20"]["across"]
    for metric in ("psnr", "ms_ssim"):
        vals = [a[f"bd_rate_x265_{metric}"], b[f"bd_rate_x265_{metric}"]]
        assert across[f"bd_rate_x265_{metric}"] == {"median": round(sum(vals) / 2, 3), "worst": max(vals), "clips": 2}

    def cells(line: str) -> list[str]:
        return [c.strip() for c in line.strip().strip("|").split("|")]

    table = [ln for ln in levers.render(s).splitlines() if ln.startswith("|")]
    head = cells(table[0])
    assert len(cells(table[1])) == len(head) and all(len(cells(ln)) == len(head) for ln in table[2:])
    col = head.index("BD-rate vs x265 strong (PSNR / MS-SSIM)")
    row_b = next(cells(ln) for ln in table if ln.startswith("| b |"))
    assert row_b[col].startswith(f"{b['bd_rate_x265_psnr']} / {b['bd_rate_x265_ms_ssim']} (overlap ")
    assert next(cells(ln) for ln in table if ln.startswith("| c |"))[col] == "/"  # c: an empty cell
    md = levers.across_md(s)
    head = cells(md[0])
    assert len(cells(md[1])) == len(head) == len(cells(md[2]))
    line = cells(md[2])
    assert line[head.index("BD-rate vs x265 strong, PSNR: median / worst")] == \
        f"{across['bd_rate_x265_psnr']['median']:+.0f}% / {across['bd_rate_x265_psnr']['worst']:+.0f}% (2)"
    assert line[head.index("BD-rate vs x265 strong, PSNR: median / worst") + 1] == \
        f"{across['bd_rate_x265_ms_ssim']['median']:+.0f}% / {across['bd_rate_x265_ms_ssim']['worst']:+.0f}% (2)"
    plain = levers.summarise(rows, {"a": X264, "b": X264, "c": X264})
    assert "x265" not in levers.render(plain) and "x265" not in levers.across_md(plain)[0]
    assert "x265 strong beside it" in levers.dev_md({"machine": {}, "summary": s})
    assert "x265" not in levers.dev_md({"machine": {}, "summary": plain})


def test_anchors_sweeps_each_clip_once_with_the_benchs_profile(levers, tmp_path, monkeypatch):
    """`anchors --anchors x265` encodes the strong profile's QP sweep once per clip and keeps it where the
    report reads it; a second run encodes nothing; an unknown codec is refused."""
    from snervcodec.bench import anchors as bench_anchors
    from snervcodec.bench.runner import ClipSpec

    frames = np.zeros((2, 8, 8, 3), np.uint8)

    class Clip(ClipSpec):
        def load(self):
            return type("V", (), {"frames": frames, "meta": type("M", (), {"fps": 25})()})()

    monkeypatch.setattr(levers, "_clips", lambda names, out: [Clip("zoom", "zoom-abc.y4m")])
    calls = []

    def fake(frames_, fps, codec, profile, q):
        calls.append((codec, profile, q))
        return type("R", (), {"frames": frames_, "bytes": 100 + q})()

    monkeypatch.setattr(bench_anchors, "encode_anchor", fake)
    monkeypatch.setattr("snervcodec.bench.quality.evaluate",
                        lambda dec, ref, n: {"bpp": n / 1000, "rgb_psnr": 30.0, "ms_ssim": 0.9})
    levers.main(["anchors", "--anchors", "x265", "--clips", "zoom", "--out", str(tmp_path)])
    assert calls == [("x265", "strong", q) for q in levers.X265_QP]
    curve = json.loads(levers._anchor_path(tmp_path / "rows", "zoom", Clip("zoom", "zoom-abc.y4m"), "x265").read_text())
    assert [p["qp"] for p in curve] == list(levers.X265_QP) and curve[0]["bpp"] == (100 + levers.X265_QP[0]) / 1000
    levers.main(["anchors", "--anchors", "x265", "--clips", "zoom", "--out", str(tmp_path)])
    assert len(calls) == len(levers.X265_QP)
    with pytest.raises(SystemExit, match="unknown anchor"):
        levers.main(["anchors", "--anchors", "x266", "--clips", "zoom", "--out", str(tmp_path)])
