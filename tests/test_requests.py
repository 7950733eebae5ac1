"""Typed requests (requests.py): built once at the edge, checked there, passed down whole."""

from dataclasses import replace

import numpy as np
import pytest

from snervcodec.errors import ConfigError
from snervcodec.requests import (CompressionConfig, EncodeRequest, ModelRequest, OutputRequest, TrainRequest,
                                 VideoRequest)


def test_typed_values_and_the_command_lines_strings_are_the_same_request():
    as_strings = VideoRequest.of("clip.mp4", frames="2:34", size="192x384", crop="640x1280")
    typed = VideoRequest.of("clip.mp4", frames=range(2, 34), size=(192, 384), crop=(640, 1280))
    assert as_strings == typed == VideoRequest.of("clip.mp4", frames=slice(2, 34), size=[192, 384],
                                                  crop=(640, 1280))
    assert typed.frames == (2, 34) and typed.size == (192, 384)
    assert VideoRequest.of("c.mp4", frames="16").frames == (0, 16) and VideoRequest.of("c.mp4").frames == (0, None)


@pytest.mark.parametrize("kw", [{"frames": range(0, 10, 2)}, {"frames": "5:3"}, {"frames": (-1, 4)},
                                {"size": (0, 48)}, {"size": "48by64"}, {"crop": (32,)}, {"fps": 0},
                                {"resize": "lanczos"}])
def test_bad_video_requests_are_one_clear_error(kw):
    with pytest.raises(ConfigError):
        VideoRequest.of("clip.mp4", **kw)


def test_an_encode_request_is_checked_when_built():
    video = VideoRequest.of("clip.mp4")
    with pytest.raises(ConfigError, match="not both"):
        EncodeRequest(video, ModelRequest(c1=16), bpp=0.1)
    with pytest.raises(ConfigError, match="bpp"):
        EncodeRequest(video, bpp=0.0)
    with pytest.raises(ConfigError, match="pipeline"):
        EncodeRequest(video, compression=CompressionConfig(pipeline="fast"))
    with pytest.raises(ConfigError, match="segments"):
        OutputRequest("out.snv", segment_frames=0)


def test_the_resume_fingerprint_is_the_request_less_where_it_goes():
    """Two runs of one command resume each other's segments wherever they write; any setting that
    changes the bytes (here the seed, a training option or the device type) changes the fingerprint."""
    def req(path="a.snv", source="in/clip.mp4", seed=0, **options):
        return EncodeRequest(VideoRequest.of(source, frames="0:64"), train=TrainRequest(seed=seed, options=options),
                             output=OutputRequest(path, segment_frames=16), bpp=0.05)

    base = req().fingerprint("cpu")
    assert base == req(path="elsewhere/b.snv", source="moved/clip.mp4").fingerprint("cpu")
    assert base != req(seed=1).fingerprint("cpu") != req(lr=2e-3).fingerprint("cpu")
    assert base != req().fingerprint("cuda")
    assert "path" not in base["output"] and base["output"]["segment_frames"] == 16
    asked = EncodeRequest(VideoRequest.of("in/clip.mp4", frames="0:64"), compression=CompressionConfig(chunk_frames=64),
                          output=OutputRequest("a.snv", segment_frames=16), bpp=0.05)
    assert asked.fingerprint("cpu") == base  # the default chunk length, asked for: the same stream
    assert replace(asked, compression=CompressionConfig(chunk_frames=8)).fingerprint("cpu") != base


def test_encode_takes_a_whole_request(tiny_clip):
    """``snervcodec.encode(request)``: the same stream as the keywords that build it."""
    import snervcodec

    kw = {"c1": 8, "n_rb": 0, "epochs": 1, "device": "cpu", "precision": "fp32", "progress": False}
    by_keywords = snervcodec.encode(tiny_clip, frames=range(0, 3), size=(32, 48), **kw)
    req = EncodeRequest(VideoRequest.of(tiny_clip, frames="0:3", size="32x48"), ModelRequest(c1=8, n_rb=0),
                        TrainRequest(None, 1, "cpu", "fp32"))
    assert TrainRequest().preset == "fast"
    by_request = snervcodec.encode(req, progress=False)
    assert by_request.stream == by_keywords.stream and by_request.model["c1"] == 8
    assert np.asarray(snervcodec.decode(by_request.stream).frames).shape == (3, 32, 48, 3)
