"""Conformance: the streams in bitstream/conformance/ decode to their recorded results."""

import hashlib
import json
import warnings
from fractions import Fraction
from pathlib import Path

import numpy as np
import pytest
import torch

from snervcodec.codec import decode, info
from snervcodec.metrics import psnr_per_frame
from snervcodec.video import read_video

DIR = Path(__file__).resolve().parents[1] / "bitstream" / "conformance"
MANIFEST = json.loads((DIR / "manifest.json").read_text())


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_conformance_stream(name):
    m = MANIFEST[name]
    res = decode(DIR / m["stream"], device="cpu", precision="fp32")
    assert res.frames.shape == (m["frames"], m["height"], m["width"], 3)
    assert res.fps == Fraction(m["fps"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = read_video(DIR / m["reference"]).frames
    a = torch.from_numpy(res.frames).permute(0, 3, 1, 2).float() / 255
    b = torch.from_numpy(ref).permute(0, 3, 1, 2).float() / 255
    psnr = float(psnr_per_frame(a, b).min())
    assert psnr >= m["min_psnr_other_devices"]
    md5 = hashlib.md5(np.ascontiguousarray(res.frames).tobytes()).hexdigest()
    assert md5 == m["md5_cpu_fp32"], \
        f"{name}: decoded frames differ from the recorded checksum (min PSNR {psnr:.2f} dB)"
    assert info(DIR / m["stream"])["bytes"] == m["bytes"]


@pytest.mark.parametrize("name", sorted(MANIFEST))
def test_conformance_random_access(name):
    m = MANIFEST[name]
    full = decode(DIR / m["stream"], device="cpu").frames
    last = decode(DIR / m["stream"], frames=f"{m['frames'] - 1}:{m['frames']}", device="cpu").frames
    assert np.array_equal(last, full[-1:])
