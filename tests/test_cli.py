import json

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
    assert res.exit_code == 2 and "strides" in res.output


def test_fit_summary_json(runner, carphone_path):
    res = runner.invoke(cli, ["fit", str(carphone_path), "--frames", "0:2", "--size", "32x48", "--c1", "12",
                              "--n-rb", "1", "--epochs", "2", "--device", "cpu", "-q", "--json"])
    assert res.exit_code == 0, res.output
    summary = json.loads(res.output.strip().splitlines()[-1])
    assert summary["frames"] == 2 and summary["c1"] == 12 and summary["psnr"] > 0
