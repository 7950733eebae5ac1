"""The paper's tasks (regression, interpolation, in-painting) at equal size, on a tiny clip."""

import json

import numpy as np
import pytest

from snervcodec.errors import ConfigError

from snervcodec.bench.tasks import (TaskConfig, equal_size_configs, inpaint_mask, markdown, per_frame_values, run,
                                    temporal_tag)
from snervcodec.models import decoder_params


def test_equal_size_configs_match_the_reference_total():
    cfgs = equal_size_configs(192, 384, 32, ["snerv-b", "snerv-t", "snerv-t-2d", "hnerv"])
    totals = {k: decoder_params(c) + 32 * per_frame_values(c) for k, c in cfgs.items()}
    ref = totals["snerv-b"]
    assert cfgs["snerv-b"].c1 == 64
    for name, t in totals.items():
        assert 0.9 * ref <= t <= ref, name  # the largest c1 that fits
    assert per_frame_values(cfgs["snerv-t"]) == 128 + 2 + 2 * 3 * 6 * 12


def test_inpaint_masks():
    fixed = inpaint_mask(3, 192, 384, "fixed")
    assert fixed.shape == (3, 192, 384) and np.array_equal(fixed[0], fixed[2])
    assert (~fixed[0]).sum() == 5 * 50 * 50  # five disjoint boxes
    assert not fixed[0, 96, 192] and fixed[0, 0, 0]
    rnd = inpaint_mask(2, 192, 384, "random", seed=3)
    assert np.array_equal(rnd, inpaint_mask(2, 192, 384, "random", seed=3))
    assert 0 < (~rnd[0]).sum() <= 10 * 50 * 50


def test_tiny_run_caches_and_reports(tiny_clip, tmp_path):
    tc = TaskConfig(models=["snerv-b", "snerv-t"], tasks=["interpolation", "inpaint-fixed"], epochs=1,
                    ref_c1=32, ref_n_rb=1, n_rb=1, precision="fp32", device="cpu", out=str(tmp_path))
    logs = []
    res = run(tiny_clip, tc, log=logs.append)
    assert len(res["rows"]) == 4
    interp = [r for r in res["rows"] if r["task"] == "interpolation"]
    assert all(r["train_frames"] == 2 and r["eval_frames"] == 2 for r in interp)
    assert all(np.isfinite(r["psnr"]) for r in res["rows"])
    again = run(tiny_clip, tc, log=logs.append)  # every pair comes from the cache
    assert sum("cached" in line for line in logs) == 4
    assert again["rows"] == json.loads(json.dumps(res["rows"]))
    md = markdown(res)
    assert "held-out frames (gap)" in md
    assert "| snerv-t (t_scale 2, t_channels 3) |" in md and "| snerv-b |" in md and "interpolation" in md
    with pytest.raises(ConfigError):
        from snervcodec.bench.tasks import run_task

        run_task(tiny_clip, equal_size_configs(48, 64, 4, ["snerv-b"], 12, 1, 1)["snerv-b"], "dance", tc)


def test_t_scale_override_keeps_the_total():
    """A finer temporal grid (t_scale 1) buys larger temporal embeddings with a smaller decoder."""
    base = equal_size_configs(192, 384, 32, ["snerv-b", "snerv-t"])
    fine = equal_size_configs(192, 384, 32, ["snerv-b", "snerv-t", "hnerv"], t_scale=1)
    assert fine["snerv-t"].t_scale == 1 and fine["snerv-t"].temb_hw == (12, 24)
    assert per_frame_values(fine["snerv-t"]) == 128 + 2 + 2 * 3 * 12 * 24
    assert fine["snerv-t"].c1 < base["snerv-t"].c1
    assert fine["snerv-b"] == base["snerv-b"] and fine["hnerv"].t_scale == 0  # only temporal models change
    ref = decoder_params(fine["snerv-b"]) + 32 * per_frame_values(fine["snerv-b"])
    total = decoder_params(fine["snerv-t"]) + 32 * per_frame_values(fine["snerv-t"])
    assert 0.9 * ref <= total <= ref


def test_t_channels_override_and_cache_tags():
    """More temporal channels (the paper's budget split: about a fifth of the total on temporal
    embeddings) also keep the total; each non-default temporal embedding gets its own cache tag."""
    base = equal_size_configs(192, 384, 32, ["snerv-b", "snerv-t"])
    wide = equal_size_configs(192, 384, 32, ["snerv-b", "snerv-t"], t_scale=1, t_channels=6)
    t = wide["snerv-t"]
    assert (t.t_scale, t.t_channels) == (1, 6) and per_frame_values(t) == 128 + 2 + 2 * 6 * 12 * 24
    ref = decoder_params(base["snerv-b"]) + 32 * per_frame_values(base["snerv-b"])
    total = decoder_params(t) + 32 * per_frame_values(t)
    assert 0.9 * ref <= total <= ref and t.c1 < base["snerv-t"].c1
    assert 0.15 < 32 * t.temb_numel / total < 0.25
    assert temporal_tag(base["snerv-t"]) == "" and temporal_tag(base["snerv-b"]) == ""
    assert temporal_tag(t) == "-ts1-tc6"
    assert temporal_tag(equal_size_configs(192, 384, 32, ["snerv-t"], t_channels=6)["snerv-t"]) == "-tc6"
