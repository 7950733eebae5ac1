"""Choosing an architecture for a video: geometry from the frame size, width from ``c1`` or a
parameter budget (docs/paper/architecture.md, "SNeRV backbone"), grid sizes from the clip."""

from __future__ import annotations

import functools
from typing import Callable

from ..errors import ConfigError
from .config import ModelConfig
from .geometry import PAPER_EMB_CELLS, Geometry, choose_geometry, size_for_budget
from .grids import GRID_SHARE, grid_shapes
from .registry import arch_defaults, decoder_params, spec_by_name

DEFAULT_C1, DEFAULT_N_RB = 64, 2  # the short-Bunny reference model (about 0.58 M parameters)
DEFAULT_GRID_FRAMES = 64  # frames the grids are sized for when the clip's length is not known


def with_grids(cfg: ModelConfig, n_frames: int | None = None, share: float | None = None) -> ModelConfig:
    """``cfg`` with its grids sized (grid models; others unchanged): for ``n_frames`` frames, about
    ``share`` of the whole decoder's parameters (default :data:`~.grids.GRID_SHARE`)."""
    if not cfg.has_grids:
        return cfg
    share = GRID_SHARE if share is None else share
    if not 0.0 < share < 0.9:
        raise ConfigError(f"grid share must be in (0, 0.9), got {share}")
    backbone = decoder_params(cfg.with_(grids=()))
    shapes = grid_shapes(cfg, n_frames or DEFAULT_GRID_FRAMES, share / (1.0 - share) * backbone)
    return cfg.with_(grids=shapes)


def grid_finisher(name: str, n_frames: int | None, share: float | None) -> Callable[[ModelConfig], ModelConfig] | None:
    """What completes a candidate of ``name`` while sizing (None: nothing to complete)."""
    if share is not None and not spec_by_name(name).grids:
        raise ConfigError(f"{name} has no grid encodings (grid_share is for snerv-g)")
    return functools.partial(with_grids, n_frames=n_frames, share=share) if spec_by_name(name).grids else None


def model_config(name: str, height: int, width: int, *, c1: int | None = None, n_rb: int | None = None,
                 params: float | None = None, strides: tuple[int, ...] | None = None,
                 t_scale: int | None = None, emb_cells: int | None = None, n_frames: int | None = None,
                 grid_share: float | None = None, emb_channels: int | None = None) -> tuple[ModelConfig, Geometry]:
    """Architecture for a ``height x width`` video: explicit ``c1`` or a decoder parameter budget.

    ``t_scale`` (SNeRV(T) only): the UB2 grid over the temporal embedding grid (2, 4 or 8 give
    3x20x40, 3x10x20, 3x5x10 at 640x1280; default 2). Grid models (snerv-g) size their grids for
    ``n_frames`` frames, ``grid_share`` of the decoder's parameters (:func:`with_grids`); ``emb_channels``
    sets the embedding's channels (default 16)."""
    spec = spec_by_name(name)
    arch = arch_defaults(name)
    finish = grid_finisher(name, n_frames, grid_share)
    if t_scale is not None:
        if not spec.temporal:
            raise ConfigError(f"{name} has no temporal embeddings (t_scale is for snerv-t / snerv-t-2d)")
        if not 1 <= t_scale <= 64:
            raise ConfigError(f"t_scale must be in 1..64, got {t_scale}")
        arch["t_scale"] = t_scale
    if emb_channels is not None:
        if not 1 <= emb_channels <= 64:
            raise ConfigError(f"embedding channels must be in 1..64, got {emb_channels}")
        arch["emb_channels"] = emb_channels
    geo = choose_geometry(height, width, uses_dwt=spec.uses_dwt, strides=strides,
                          emb_cells=PAPER_EMB_CELLS if emb_cells is None else emb_cells)
    if c1 is not None and params is not None:
        raise ConfigError("give either c1 or a parameter budget, not both")
    if n_rb is not None and not 0 <= n_rb <= 64:
        raise ConfigError(f"n_rb must be in 0..64, got {n_rb}")
    if c1 is not None and not 1 <= c1 <= 4096:
        raise ConfigError(f"c1 must be in 1..4096, got {c1}")
    if params is not None:
        return size_for_budget(name, geo, params, n_rb, decoder_params, finish, **arch), geo  # type: ignore[arg-type]
    cfg = ModelConfig(name=name, c1=DEFAULT_C1 if c1 is None else c1,  # type: ignore[arg-type]
                      n_rb=DEFAULT_N_RB if n_rb is None else n_rb, strides=geo.strides, emb_hw=geo.emb_hw, **arch)
    return (finish(cfg) if finish is not None else cfg), geo
