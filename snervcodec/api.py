"""Python entry points; the CLI is a thin layer over these.

``encode`` / ``decode`` / ``info`` write and read ``.snv`` streams (:mod:`snervcodec.codec`);
``fit`` only overfits a network and returns it; ``model_config`` and ``load_video`` are the
choices every entry point makes first.
"""

from __future__ import annotations

from typing import Callable

from .codec import CompressionConfig, DecodeResult, EncodeResult, decode, encode, info
from .models.choose import DEFAULT_C1, DEFAULT_N_RB, model_config
from .training import FitResult, Trainer, make_train_config
from .video import load_video

__all__ = ["CompressionConfig", "DEFAULT_C1", "DEFAULT_N_RB", "DecodeResult", "EncodeResult", "FitResult", "decode",
           "encode", "fit", "info", "load_video", "model_config"]


def fit(source, *, model: str = "snerv-b", c1: int | None = None, n_rb: int | None = None, params: float | None = None,
        strides: tuple[int, ...] | None = None, t_scale: int | None = None, frames: str | None = None,
        size: str | None = None, crop: str | None = None, fps: float | None = None, preset: str | None = "fast",
        epochs: int | None = None,
        device: str = "auto", precision: str = "auto", seed: int = 0, progress: bool = True,
        on_eval: Callable[[dict], None] | None = None, **train_overrides) -> FitResult:
    """Overfit a network to a video and return the trained decoder, embeddings and metrics."""
    video = load_video(source, frames=frames, size=size, crop=crop, fps=fps)
    t, h, w, _ = video.frames.shape
    cfg, geo = model_config(model, h, w, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale)
    tcfg = make_train_config(preset, model=model, epochs=epochs, precision=precision, seed=seed, **train_overrides)
    trainer = Trainer(video.frames, cfg, geo, tcfg, device=device)
    trainer.run(progress=progress, on_eval=on_eval)
    return trainer.result()
