"""Decoder resource limits (issue 17): the five decompression bombs, built with our own writer, are
described by ``info`` at once and refused by ``decode`` at once, in little memory, with one line."""

import json
import subprocess
import sys
import tracemalloc
from pathlib import Path

import pytest
from bombs import BOMBS

from snervcodec.codec import decode, info, parse_stream
from snervcodec.codec.limits import DecodeLimits, declared_work
from snervcodec.errors import FormatError, LimitError

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def bombs():
    return {name: build() for name, build in BOMBS.items()}


def _peak_mib(fn) -> float:
    """Peak memory (MiB) Python and numpy allocate while ``fn`` runs: what a lying header could make
    the reader reserve, measured by allocation, not by the machine's speed."""
    tracemalloc.start()
    try:
        fn()
    finally:
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    return peak / 2**20


@pytest.fixture
def no_synthesis(monkeypatch):
    """Fails the test if a frame is synthesised (or, for a stream over the limits, a network built)."""
    import importlib

    dec = importlib.import_module("snervcodec.codec.decode")  # the module (the package exports its function)

    def forbidden(*a, **k):
        raise AssertionError("decoding work for a stream over the limits")

    monkeypatch.setattr(dec, "synthesize_frames", forbidden)
    return lambda: monkeypatch.setattr(dec, "build_network", forbidden)


@pytest.mark.parametrize("name", list(BOMBS))
def test_info_describes_every_bomb_at_once(bombs, name):
    info(bombs["huge-frame"])  # warm (imports)
    if name == "huge-tables":  # within the limits once its identical tables are shared: decoded, and
        def refused():  # its empty words refused
            with pytest.raises(FormatError, match="not those of its symbols"):
                info(bombs[name])

        assert _peak_mib(refused) < 64
        return
    out = {}
    assert _peak_mib(lambda: out.update(info(bombs[name]))) < 64
    d = out
    assert d["work"]["frames"] >= 1 and set(d["work"]) >= {"frame_pixels", "embedding_values", "table_entries"}
    assert d["warnings"] and d["rate"] == {} and d["weight_zero_fraction"] is None


@pytest.mark.parametrize("name", list(BOMBS))
def test_decode_refuses_every_bomb_at_once(bombs, name, tmp_path, no_synthesis):
    if name != "huge-tables":  # the one within the limits: its network is built, its words refused
        no_synthesis()
    err = []

    def refused():
        with pytest.raises((LimitError, FormatError)) as e:
            decode(bombs[name], tmp_path / "x.y4m", device="cpu")
        err.append(e.value)

    assert _peak_mib(refused) < 64
    assert "\n" not in str(err[0])
    assert not list(tmp_path.iterdir())  # nothing written, no temporary file left


def test_bombs_are_refused_in_little_memory(bombs, tmp_path):
    """Each decode in a fresh process: one line, exit 1, and a peak RSS well under 1 GB (torch
    itself takes about 250 MB)."""
    for name, data in bombs.items():
        p = tmp_path / f"{name}.snv"
        p.write_bytes(data)
        code = ("import resource, sys\nfrom snervcodec.cli import main\ntry:\n    main(sys.argv[1:])\n"
                "except SystemExit as e:\n    rc = e.code\n"
                "print('RSS', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, rc)")
        r = subprocess.run([sys.executable, "-c", code, "decode", str(p), "-o", str(tmp_path / "o.y4m"), "-q"],
                           capture_output=True, text=True, timeout=120)
        rss_kb, rc = (int(v) for v in r.stdout.split()[-2:])
        err = [ln for ln in r.stderr.splitlines() if ln.strip()]
        assert rc == 1 and len(err) == 1 and err[0].startswith("snerv: error:"), (name, r.stderr)
        assert rss_kb < 1 << 20, (name, rss_kb)


def test_every_conformance_stream_decodes_under_a_2gb_address_space(tmp_path):
    code = ("import resource, glob, json\nresource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))\n"
            "from snervcodec.codec import decode\n"
            f"out = {{p: decode(p, device='cpu').n_frames\n"
            f"       for p in sorted(glob.glob('{ROOT}/bitstream/conformance/*.snv'))}}\n"
            "print(json.dumps(out))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert len(out) >= 8 and all(n >= 1 for n in out.values())


def test_limits_refuse_and_options_admit(tiny_stream):
    ps = parse_stream(tiny_stream)
    work = declared_work(ps)
    px = work.frame_pixels
    with pytest.raises(LimitError, match="--max-pixels"):
        decode(tiny_stream, device="cpu", limits=DecodeLimits(max_pixels=px - 1))
    with pytest.raises(LimitError, match="--max-frames"):
        decode(tiny_stream, device="cpu", limits=DecodeLimits.from_options(max_frames=work.frames - 1))
    # a range within the limit decodes: the limits apply to what is decoded
    assert decode(tiny_stream, frames="0:1", device="cpu", limits=DecodeLimits(max_frames=1)).n_frames == 1
    with pytest.raises(LimitError, match="embedding values"):
        decode(tiny_stream, device="cpu", limits=DecodeLimits(max_embedding_values=work.embedding_values - 1))
    with pytest.raises(LimitError, match="probability tables"):
        decode(tiny_stream, device="cpu", limits=DecodeLimits(max_table_entries=work.table_entries - 1))
    assert decode(tiny_stream, device="cpu", limits=DecodeLimits.from_options(max_pixels=px)).n_frames == work.frames
    assert DecodeLimits.from_options(trust=True).max_frames == float("inf")
    lifted = DecodeLimits.from_options(max_frames=1 << 22)
    assert lifted.max_total_pixels >= lifted.max_frames * lifted.max_pixels


def test_info_warns_from_the_cli(bombs, tmp_path):
    from click.testing import CliRunner

    from snervcodec.cli import cli

    p = tmp_path / "b.snv"
    p.write_bytes(bombs["many-frames"])
    res = CliRunner().invoke(cli, ["info", str(p)])
    assert res.exit_code == 0 and "warning:" in res.output and "16,777,216 frames" in res.output
    res = CliRunner().invoke(cli, ["decode", str(p), "-o", str(tmp_path / "o.y4m"), "--max-frames", "100"])
    assert res.exit_code == 1 and "--max-frames" in res.output
