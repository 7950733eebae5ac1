"""Python entry points; the CLI is a thin layer over these."""

from __future__ import annotations

import os
from typing import Callable

import numpy as np

from .errors import ConfigError
from .models import MODELS, ModelConfig, arch_defaults, choose_geometry, decoder_params, size_for_budget
from .models.geometry import Geometry
from .training import FitResult, Trainer, make_train_config
from .video import Video, read_video

DEFAULT_C1, DEFAULT_N_RB = 64, 2  # the short-Bunny reference model (about 0.58 M parameters)


def model_config(name: str, height: int, width: int, *, c1: int | None = None, n_rb: int | None = None,
                 params: float | None = None, strides: tuple[int, ...] | None = None,
                 t_scale: int | None = None) -> tuple[ModelConfig, Geometry]:
    """Architecture for a ``height x width`` video: explicit ``c1`` or a decoder parameter budget.

    ``t_scale`` (SNeRV(T) only): the UB2 grid over the temporal embedding grid (2, 4 or 8 give
    3x20x40, 3x10x20, 3x5x10 at 640x1280; default 2)."""
    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r} (one of {', '.join(MODELS)})")
    arch = arch_defaults(name)
    if t_scale is not None:
        if "t_scale" not in arch:
            raise ConfigError(f"{name} has no temporal embeddings (t_scale is for snerv-t / snerv-t-2d)")
        if not 1 <= t_scale <= 64:
            raise ConfigError(f"t_scale must be in 1..64, got {t_scale}")
        arch["t_scale"] = t_scale
    probe = ModelConfig(name=name, c1=8, n_rb=1, strides=(1,) * 5, emb_hw=(1, 1), **arch)  # type: ignore[arg-type]
    geo = choose_geometry(height, width, uses_dwt=probe.uses_dwt, strides=strides)
    if c1 is not None and params is not None:
        raise ConfigError("give either c1 or a parameter budget, not both")
    if c1 is not None:
        if not 1 <= c1 <= 4096:
            raise ConfigError(f"c1 must be in 1..4096, got {c1}")
        cfg = ModelConfig(name=name, c1=c1, n_rb=n_rb if n_rb is not None else DEFAULT_N_RB, strides=geo.strides,
                          emb_hw=geo.emb_hw, **arch)  # type: ignore[arg-type]
    elif params is not None:
        cfg = size_for_budget(name, geo, params, n_rb, decoder_params, **arch)  # type: ignore[arg-type]
    else:
        cfg = ModelConfig(name=name, c1=DEFAULT_C1, n_rb=n_rb if n_rb is not None else DEFAULT_N_RB,
                          strides=geo.strides, emb_hw=geo.emb_hw, **arch)  # type: ignore[arg-type]
    if cfg.n_rb < 0 or cfg.n_rb > 64:
        raise ConfigError(f"n_rb must be in 0..64, got {cfg.n_rb}")
    return cfg, geo


def load_video(source: str | os.PathLike | np.ndarray | Video, frames: str | None = None, size: str | None = None,
               crop: str | None = None, resize: str = "bicubic") -> Video:
    """A path (read with PyAV), a ``Video``, or a (T, H, W, 3) uint8 array."""
    if isinstance(source, Video):
        return source
    if isinstance(source, np.ndarray):
        from fractions import Fraction

        from .video import VideoMeta

        return Video(source, VideoMeta(width=0, height=0, n_frames=0, fps=Fraction(25), source="<array>"))
    return read_video(source, frames=frames, size=size, crop=crop, resize=resize)  # type: ignore[arg-type]


def fit(source, *, model: str = "snerv-b", c1: int | None = None, n_rb: int | None = None, params: float | None = None,
        strides: tuple[int, ...] | None = None, t_scale: int | None = None, frames: str | None = None,
        size: str | None = None, crop: str | None = None, preset: str | None = "fast", epochs: int | None = None,
        device: str = "auto", precision: str = "auto", seed: int = 0, progress: bool = True,
        on_eval: Callable[[dict], None] | None = None, **train_overrides) -> FitResult:
    """Overfit a network to a video and return the trained decoder, embeddings and metrics."""
    video = load_video(source, frames=frames, size=size, crop=crop)
    t, h, w, _ = video.frames.shape
    cfg, geo = model_config(model, h, w, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale)
    tcfg = make_train_config(preset, model=model, epochs=epochs, precision=precision, seed=seed, **train_overrides)
    trainer = Trainer(video.frames, cfg, geo, tcfg, device=device)
    trainer.run(progress=progress, on_eval=on_eval)
    return trainer.result()
