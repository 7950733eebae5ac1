"""Python entry points; the CLI is a thin layer over these.

``encode`` / ``decode`` / ``info`` write and read ``.snv`` streams (:mod:`snervcodec.codec`);
``fit`` only overfits a network and returns it; ``model_config`` and ``load_video`` are the
choices every entry point makes first. What to read, which network and how to train are typed
requests (:mod:`snervcodec.requests`): built here from keywords, or given whole.
"""

from __future__ import annotations

from typing import Callable

from .codec import CompressionConfig, DecodeResult, EncodeRequest, EncodeResult, decode, encode, info
from .models.choose import DEFAULT_C1, DEFAULT_N_RB, model_config
from .requests import ModelRequest, TrainRequest, VideoRequest
from .device import resolve_device
from .errors import ConfigError
from .training import FitResult, Trainer
from .training.config import resolve_epochs
from .video import load_video

__all__ = ["CompressionConfig", "DEFAULT_C1", "DEFAULT_N_RB", "DecodeResult", "EncodeRequest", "EncodeResult",
           "FitResult", "decode", "encode", "fit", "info", "load_video", "model_config"]


def fit(source, *, model: str = "snerv-b", c1: int | None = None, n_rb: int | None = None, params: float | None = None,
        strides: tuple[int, ...] | None = None, t_scale: int | None = None, emb_cells: int | None = None,
        grid_share: float | None = None, emb_channels: int | None = None, frames=None, size=None, crop=None,
        fps: float | None = None,
        preset: str | None = "fast", epochs: int | None = None, device: str = "auto", precision: str = "auto",
        seed: int = 0, progress: bool = True,
        on_eval: Callable[[dict], None] | None = None, **train_options) -> FitResult:
    """Overfit a network to a video and return the trained decoder, embeddings and metrics
    (``frames``: ``"0:32"`` or ``range(0, 32)``; ``size``: ``"192x384"`` or ``(192, 384)``)."""
    return fit_request(VideoRequest.of(source, frames, crop, size, fps=fps),
                       ModelRequest(model, c1, n_rb, params, None if strides is None else tuple(strides), t_scale,
                                    emb_cells, grid_share, emb_channels),
                       TrainRequest(preset, epochs, device, precision, seed, dict(train_options)), progress, on_eval)


def fit_request(video: VideoRequest, model: ModelRequest, train: TrainRequest, progress: bool = True,
                on_eval: Callable[[dict], None] | None = None) -> FitResult:
    """:func:`fit` from typed requests (the CLI builds them)."""
    v = video.load()
    t, h, w, _ = v.frames.shape
    cfg, geo = model.config(h, w, n_frames=t)
    tcfg = resolve_epochs(train.config(model.name), t, resolve_device(train.device).type)
    if rdo := tcfg.rdo_options_set():
        raise ConfigError(f"{', '.join(rdo)}: for the rdo pipeline's phases; fit trains the float fit alone")
    trainer = Trainer(v.frames, cfg, geo, tcfg, device=train.device)
    trainer.run(progress=progress, on_eval=on_eval)
    return trainer.result()
