import json
import re

import click
import pytest
from click.testing import CliRunner

from snervcodec.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


def _commands(group: click.Group, path=()):
    """(path, command) for the group and every command under it, subgroups included."""
    yield path, group
    for name, sub in sorted(group.commands.items()):
        if isinstance(sub, click.Group):
            yield from _commands(sub, (*path, name))
        else:
            yield (*path, name), sub


@pytest.mark.parametrize("path,command", list(_commands(cli)),
                         ids=lambda v: " ".join(v) if isinstance(v, tuple) else "")
def test_help_explains_every_option(runner, path, command):
    """Every option of every command has a help text of its own, and ``--help`` shows it."""
    res = runner.invoke(cli, [*path, "--help"])
    assert res.exit_code == 0, res.output
    shown = "".join(res.output.split())  # without whitespace: --help wraps lines, also at hyphens
    options = [p for p in command.params if isinstance(p, click.Option) and not p.hidden]
    assert path == () or options  # a command without options would make this test vacuous
    for opt in options:
        text = "".join((opt.help or "").split())
        assert text, f"{' '.join(path)} {opt.opts[0]}: no help text"
        assert text in shown, f"{' '.join(path)} {opt.opts[0]}: its help is not in --help"
        assert all(name in shown for name in opt.opts), opt.opts


def test_missing_input_is_one_clear_line(runner, tmp_path):
    res = runner.invoke(cli, ["fit", str(tmp_path / "nope.mp4"), "-q"])
    assert res.exit_code == 1
    assert res.output.strip().startswith("snerv: error:") and "no such file" in res.output
    assert "Traceback" not in res.output


def test_not_a_video(runner, tmp_path):
    p = tmp_path / "x.mp4"
    p.write_text("hello")
    res = runner.invoke(cli, ["fit", str(p), "-q"])
    assert res.exit_code == 1 and "not a readable video" in res.output


def test_bad_option_values(runner, carphone_path):
    res = runner.invoke(cli, ["fit", str(carphone_path), "--frames", "9:2", "-q"])
    assert res.exit_code == 1 and "empty frame range" in res.output
    res = runner.invoke(cli, ["fit", str(carphone_path), "--strides", "5,4", "-q"])
    assert res.exit_code == 1 and "strides" in res.output and len(res.output.strip().splitlines()) == 1


def test_fit_summary_json(runner, carphone_path):
    res = runner.invoke(cli, ["fit", str(carphone_path), "--frames", "0:2", "--size", "32x48", "--c1", "12",
                              "--n-rb", "1", "--epochs", "2", "--device", "cpu", "-q", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["frames"] == 2 and summary["c1"] == 12 and summary["psnr"] > 0


@pytest.mark.parametrize("cmd", [["encode"], ["decode"], ["info"]])
def test_codec_help(runner, cmd):
    res = runner.invoke(cli, [*cmd, "--help"])
    assert res.exit_code == 0 and "Usage" in res.output


def test_encode_decode_info_cli(runner, carphone_path, tmp_path):
    out = tmp_path / "c.snv"
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(out), "--frames", "0:2", "--size", "24x32",
                              "--c1", "8", "--n-rb", "0", "--epochs", "2", "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    assert "bpp" in res.output and "PSNR" in res.output and out.exists()
    res = runner.invoke(cli, ["info", str(out)])
    assert res.exit_code == 0 and "DECG" in res.output and re.search(r"snv 1\.[24] ", res.output)
    res = runner.invoke(cli, ["info", str(out), "--json"])
    assert json.loads(res.output)["frames"] == 2
    res = runner.invoke(cli, ["decode", str(out), "-o", str(tmp_path / "r.y4m"), "-q"])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "r.y4m").exists()


def test_decode_bad_stream_is_one_line(runner, tmp_path):
    bad = tmp_path / "bad.snv"
    bad.write_bytes(b"\x89SNV\x01\x00" + bytes(20))
    res = runner.invoke(cli, ["decode", str(bad), "-o", str(tmp_path / "x.mp4")])
    assert res.exit_code == 1 and res.output.startswith("snerv: error:") and len(res.output.strip().splitlines()) == 1
    assert not (tmp_path / "x.mp4").exists()
    res = runner.invoke(cli, ["info", str(tmp_path / "missing.snv")])
    assert res.exit_code == 1 and "no such file" in res.output


def test_temporal_model_from_the_cli(runner, carphone_path, tmp_path):
    out = tmp_path / "t.snv"
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(out), "--frames", "0:3", "--size", "32x48",
                              "--model", "snerv-t", "--t-scale", "4", "--c1", "8", "--n-rb", "0", "--epochs", "1",
                              "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["info", str(out)])
    assert res.exit_code == 0 and re.search(r"snv 1\.[24] ", res.output) and "TEMB" in res.output
    assert "t_scale 4" in res.output
    res = runner.invoke(cli, ["decode", str(out), "-o", str(tmp_path / "t.y4m"), "--frames", "1:2", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["fit", str(carphone_path), "--frames", "0:2", "--size", "32x48", "--t-scale", "2",
                              "--epochs", "1", "-q"])
    assert res.exit_code == 1 and "t_scale is for snerv-t" in res.output


def test_time_limit_option_parses_durations():
    from snervcodec.cli.types import DURATION

    assert DURATION.convert("10m", None, None) == 600 and DURATION.convert("1h30m", None, None) == 5400
    assert DURATION.convert("90s", None, None) == 90 and DURATION.convert("2.5", None, None) == 2.5
    for bad in ("", "abc", "0s", "10x"):
        with pytest.raises(click.BadParameter):
            DURATION.convert(bad, None, None)


# ------------------------------------------------------------------------------------------------
# Every failure a user can cause: one line, exit 1, nothing written, no training (issue 17)

TINY = ["--frames", "0:2", "--size", "24x32", "--c1", "8", "--n-rb", "0", "--epochs", "1", "--device", "cpu", "-q"]


@pytest.fixture
def no_training(monkeypatch):
    """Fail the test if a Trainer is built: the error was knowable before training."""
    from snervcodec.training import trainer

    def refuse(*a, **k):
        raise AssertionError("training started")

    monkeypatch.setattr(trainer.Trainer, "__init__", refuse)


def _one_line(res, code=1):
    lines = [ln for ln in res.output.splitlines() if ln.strip()]
    assert res.exit_code == code, res.output
    assert len(lines) == 1 and lines[0].startswith("snerv: error:") and "Traceback" not in res.output, res.output
    return lines[0]


@pytest.mark.parametrize("args, match", [
    (["--bpp", "0"], "bpp"),
    (["--batch-size", "0"], "batch-size"),
    (["--lr", "nan"], "finite"),
    (["--lr", "-1"], "finite"),
    (["--no-such-option"], "no-such-option"),
    (["--params", "1e12"], "at most"),
    (["--strides", "1,1"], "strides"),
])
def test_usage_errors_are_one_line_and_exit_1(runner, carphone_path, tmp_path, no_training, args, match):
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(tmp_path / "o.snv"), *TINY, *args])
    assert match in _one_line(res)
    assert not list(tmp_path.iterdir())


@pytest.mark.parametrize("args, match", [
    (["--c1", "4000"], "fit the stream format"),
    (["--strides", "1,1,1,1,1"], "fit the stream format"),
    (["--strides", "8,8,8,8,8"], "fit the stream format"),
])
def test_models_the_format_cannot_hold_are_refused_before_training(runner, carphone_path, tmp_path, no_training,
                                                                   args, match):
    cmd = ["encode", str(carphone_path), "-o", str(tmp_path / "o.snv"), "--frames", "0:2", "--size", "144x176", "-q",
           *args]
    assert match in _one_line(runner.invoke(cli, cmd))


def test_training_that_cannot_fit_in_memory_is_refused(runner, carphone_path, tmp_path, no_training, monkeypatch):
    from snervcodec.training import memory

    monkeypatch.setattr(memory, "device_memory", lambda dev: 1 << 10)  # a machine with 1 KiB
    line = _one_line(runner.invoke(cli, ["encode", str(carphone_path), "-o", str(tmp_path / "o.snv"), *TINY]))
    assert "GiB" in line and "has 0.0 GiB" in line


@pytest.mark.parametrize("kind", ["exists", "directory", "under-a-file", "unwritable", "frames-beyond"])
def test_bad_encode_outputs_are_refused_before_training(runner, carphone_path, tmp_path, no_training, kind):
    out = tmp_path / "o.snv"
    args = []
    if kind == "exists":
        out.write_bytes(b"precious")
    elif kind == "directory":
        out.mkdir()
    elif kind == "under-a-file":
        (tmp_path / "f").write_text("x")
        out = tmp_path / "f" / "o.snv"
    elif kind == "unwritable":
        import os

        if os.geteuid() == 0:
            out = "/sys/o.snv"  # sysfs refuses new files even to root
        else:
            (tmp_path / "ro").mkdir(mode=0o500)
            out = tmp_path / "ro" / "o.snv"
    else:
        args = ["--frames", "0:1000"]
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(out), *TINY, *args])
    line = _one_line(res)
    if kind == "exists":
        assert "-y" in line and out.read_bytes() == b"precious"
    if kind == "frames-beyond":
        assert "has 120 frames" in line and "asks for frames up to 999" in line


def test_overwrite_with_y_and_refusal_with_n(runner, carphone_path, tmp_path):
    out = tmp_path / "o.snv"
    out.write_bytes(b"old")
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(out), "-n", *TINY])
    assert res.exit_code == 1 and out.read_bytes() == b"old"
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(out), "-y", *TINY])
    assert res.exit_code == 0, res.output
    assert out.read_bytes()[:4] == b"\x89SNV"


@pytest.fixture(scope="module")
def tiny_snv(tmp_path_factory, carphone_path):
    """Six frames at an odd size, 23x32."""
    p = tmp_path_factory.mktemp("s") / "t.snv"
    res = CliRunner().invoke(cli, ["encode", str(carphone_path), "-o", str(p), "--frames", "0:6", "--size", "23x32",
                                   "--c1", "8", "--n-rb", "0", "--epochs", "1", "--device", "cpu", "-q"])
    assert res.exit_code == 0, res.output
    return p


@pytest.mark.parametrize("out, match", [("x.avi", "unknown output type"), ("x.mp4", "even sizes"),
                                        ("dir", "is a directory")])
def test_decode_outputs_are_checked_before_decoding(runner, tiny_snv, tmp_path, monkeypatch, out, match):
    import importlib

    dec_mod = importlib.import_module("snervcodec.codec.decode")

    def refuse(*a, **k):
        raise AssertionError("the network was built")

    monkeypatch.setattr(dec_mod, "build_network", refuse)
    (tmp_path / "dir").mkdir()
    assert match in _one_line(runner.invoke(cli, ["decode", str(tiny_snv), "-o", str(tmp_path / out)]))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dir"]


def test_png_output_uses_absolute_frame_numbers(runner, tiny_snv, tmp_path):
    res = runner.invoke(cli, ["decode", str(tiny_snv), "-o", str(tmp_path / "f" / "%05d.png"), "--frames", "3:5", "-q"])
    assert res.exit_code == 0, res.output
    assert sorted(p.name for p in (tmp_path / "f").iterdir()) == ["00004.png", "00005.png"]
    res = runner.invoke(cli, ["decode", str(tiny_snv), "-o", str(tmp_path / "f" / "%05d.png"), "--frames", "0:2",
                              "-q"])
    assert res.exit_code == 0 and "other frame" in res.output  # the earlier ones are named, not mixed in silently


def test_info_of_a_device_or_garbage_is_one_line(runner, tmp_path):
    assert "bad magic" in _one_line(runner.invoke(cli, ["info", "/dev/zero"]))
    assert "is a directory" in _one_line(runner.invoke(cli, ["info", str(tmp_path)]))


def test_full_disk_is_one_line_and_keeps_the_old_file(runner, tiny_snv, carphone_path, tmp_path, monkeypatch):
    import errno

    from snervcodec import fsutil

    # a device that is always full: written into directly, ENOSPC at once
    assert "No space left" in _one_line(runner.invoke(cli, ["decode", str(tiny_snv), "-o", "/dev/full", "-q"]))
    out = tmp_path / "o.snv"
    out.write_bytes(b"old")

    def full(fd):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(fsutil.os, "fsync", full)  # a disk that fills up as the stream is written
    line = _one_line(runner.invoke(cli, ["encode", str(carphone_path), "-o", str(out), "-y", *TINY]))
    assert "No space left" in line
    assert out.read_bytes() == b"old" and sorted(p.name for p in tmp_path.iterdir()) == ["o.snv"]


@pytest.mark.parametrize("signame, code", [("SIGTERM", 143), ("SIGHUP", 129)])
def test_sigterm_and_sighup_clean_up_like_ctrl_c(runner, tiny_snv, tmp_path, monkeypatch, signame, code):
    """A real signal mid-write (sent from inside the writer): exit 128+N, one line, no temporary file."""
    import os
    import signal

    from snervcodec.video.writer import FrameWriter

    real_write = FrameWriter.write
    before = signal.getsignal(getattr(signal, signame))

    def write_then_signal(self, frames):
        real_write(self, frames)
        os.kill(os.getpid(), getattr(signal, signame))

    monkeypatch.setattr(FrameWriter, "write", write_then_signal)
    out = tmp_path / "r.y4m"
    res = runner.invoke(cli, ["decode", str(tiny_snv), "-o", str(out), "-q"])
    assert res.exit_code == code and signame in res.output
    assert not list(tmp_path.iterdir())
    assert signal.getsignal(getattr(signal, signame)) == before  # the handler was put back


def test_encode_into_a_device(runner, carphone_path, tmp_path):
    """``-o DEVICE`` writes into the device (a null device made for the test), which stays one: no
    temporary file beside it, no rename over it."""
    import os
    import stat

    dev = tmp_path / "null"
    try:
        os.mknod(dev, stat.S_IFCHR | 0o666, os.makedev(1, 3))
        with open(dev, "wb") as f:
            f.write(b"probe")
    except PermissionError as e:  # not root, or a filesystem mounted nodev
        pytest.skip(f"cannot make a character device in {tmp_path}: {e}")
    res = runner.invoke(cli, ["encode", str(carphone_path), "-o", str(dev), *TINY])
    assert res.exit_code == 0, res.output
    assert stat.S_ISCHR(os.stat(dev).st_mode) and os.listdir(tmp_path) == ["null"]


def test_pipes_y4m_in_and_out(tiny_snv, tmp_path):
    """`snerv decode X -o -` writes y4m to stdout (the summary to stderr); `snerv encode -` reads it."""
    import subprocess
    import sys

    r = subprocess.run([sys.executable, "-m", "snervcodec", "decode", str(tiny_snv), "-o", "-", "-q",
                        "--y4m-format", "yuv444p"], capture_output=True, timeout=120)
    assert r.returncode == 0 and r.stdout.startswith(b"YUV4MPEG2") and b"frames" in r.stderr
    r2 = subprocess.run([sys.executable, "-m", "snervcodec", "encode", "-", "-o", str(tmp_path / "p.snv"), "--c1", "8",
                         "--n-rb", "0", "--epochs", "1", "--device", "cpu", "-q", "--json"],
                        input=r.stdout, capture_output=True, timeout=300)
    assert r2.returncode == 0, r2.stderr.decode()
    assert json.loads(r2.stdout)["bytes"] == (tmp_path / "p.snv").stat().st_size


def test_ctrl_c_while_the_command_line_loads_is_one_line():
    """KeyboardInterrupt during the imports (torch takes seconds): exit 130, one line, no traceback."""
    import subprocess
    import sys

    code = ("import builtins, sys\nreal = builtins.__import__\n"
            "def slow(name, *a, **k):\n"
            "    if name == 'cli' or name.endswith('.cli'):\n        raise KeyboardInterrupt\n"
            "    return real(name, *a, **k)\n"
            "builtins.__import__ = slow\nsys.argv = ['snerv', 'info', 'x.snv']\n"
            "from snervcodec.__main__ import main\nmain()")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 130 and r.stderr.strip() == "snerv: interrupted; no output was written", r.stderr


@pytest.mark.parametrize("value, expected", [(None, [0.1]), ("none", []), ("0.05,0.1", [0.05, 0.1])])
def test_bench_hnerv_points_can_be_left_out(runner, tmp_path, monkeypatch, value, expected):
    import snervcodec.bench.report as report
    import snervcodec.bench.runner as bench_runner

    seen = {}
    monkeypatch.setattr(bench_runner, "run", lambda cfg, log=None: seen.setdefault("cfg", cfg) and [])
    monkeypatch.setattr(report, "write_reports", lambda results, out: [])
    args = ["bench", "--clip", "carphone", "--out", str(tmp_path)] + (["--hnerv-bpp", value] if value else [])
    res = runner.invoke(cli, args)
    assert res.exit_code == 0, res.output
    assert seen["cfg"].hnerv_bpp == expected


def test_bench_without_its_extra_is_one_line_before_any_work(runner, tmp_path, monkeypatch):
    import sys

    import snervcodec.bench.runner as bench_runner

    monkeypatch.setitem(sys.modules, "scipy", None)  # as if the bench extra were not installed
    monkeypatch.setattr(bench_runner, "run", lambda cfg, log=None: pytest.fail("the benchmark ran"))
    res = runner.invoke(cli, ["bench", "--clip", "carphone", "--out", str(tmp_path)])
    assert res.exit_code == 1 and res.output.strip().splitlines() == [
        "snerv: error: snerv bench needs the bench extra (missing: scipy): pip install 'snervcodec[bench]'"]


def test_the_codec_needs_no_bench_extra():
    """scipy and matplotlib come with the bench extra only: the package, its API and its command line
    import without them."""
    import subprocess
    import sys

    code = ("import sys\n"
            "class Block:\n"
            "    def find_spec(self, name, path=None, target=None):\n"
            "        if name.split('.')[0] in ('scipy', 'matplotlib'):\n"
            "            raise ImportError(f'{name} blocked')\n"
            "sys.meta_path.insert(0, Block())\n"
            "import snervcodec.api, snervcodec.cli, snervcodec.codec, snervcodec.bench.runner\n"
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('scipy', 'matplotlib')))")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert r.returncode == 0 and r.stdout.strip() == "[]", r.stderr[-2000:]
