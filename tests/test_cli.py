import json

import click
import pytest
from click.testing import CliRunner

from snervcodec.cli import cli


@pytest.fixture
def runner():
    return CliRunner()


@pytest.mark.parametrize("cmd", [[], ["fit"]])
def test_help_explains_every_option(runner, cmd):
    res = runner.invoke(cli, [*cmd, "--help"])
    assert res.exit_code == 0
    if cmd:
        for line in res.output.splitlines():
            if line.strip().startswith("--"):
                # every option line carries a description, not just a flag name
                assert len(line.split(None, 1)) == 2 or "  " in line.strip(), line


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
    assert res.exit_code == 0 and "DECG" in res.output and "snv 1.2" in res.output
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
    assert res.exit_code == 0 and "snv 1.2" in res.output and "TEMB" in res.output and "t_scale 4" in res.output
    res = runner.invoke(cli, ["decode", str(out), "-o", str(tmp_path / "t.y4m"), "--frames", "1:2", "-q"])
    assert res.exit_code == 0, res.output
    res = runner.invoke(cli, ["fit", str(carphone_path), "--frames", "0:2", "--size", "32x48", "--t-scale", "2",
                              "--epochs", "1", "-q"])
    assert res.exit_code == 1 and "t_scale is for snerv-t" in res.output


def test_time_limit_option_parses_durations():
    from snervcodec.cli_values import _duration

    assert _duration(None, None, "10m") == 600 and _duration(None, None, "1h30m") == 5400
    assert _duration(None, None, "90s") == 90 and _duration(None, None, "2.5") == 2.5
    for bad in ("", "abc", "0s", "10x"):
        with pytest.raises(click.BadParameter):
            _duration(None, None, bad)
