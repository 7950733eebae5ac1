"""Model variants by stable id. The id is written into every ``.snv`` stream: ids are frozen and
never reused or renumbered; new variants take new ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn as nn

from .config import MODELS, ModelConfig
from .grids import grid_params
from .hnerv import HNeRVDecoder
from .snerv import SNeRVDecoder, count_decoder_params, encoder_for
from .snerv_g import SNeRVGDecoder
from .snerv_t import SNeRVT2DDecoder, SNeRVTDecoder, SNeRVTEncoder


@dataclass(frozen=True)
class ModelSpec:
    id: int
    name: str
    description: str
    decoder: Callable[[ModelConfig], nn.Module]
    encoder: Callable[[ModelConfig], nn.Module] = encoder_for
    defaults: tuple[tuple[str, int], ...] = ()  # architecture fields the variant sets by default
    # Traits: everything outside the networks asks these, never the name.
    uses_dwt: bool = True  # works on the Haar LL grid (SNeRV) or on the frame itself (HNeRV)
    temporal: bool = False  # carries SNeRV(T)'s backward/forward temporal embeddings (TEMB section)
    grids: bool = False  # learned grids at the up-sampling blocks; the decoder takes frame times (format 1.5)
    warmup: float = 0.1  # training warm-up fraction (SNeRV(T): 0.2, docs/paper/architecture.md "Training")
    windowed: bool = False  # the decoder draws a window of its output grid alone: ``decoder(emb, window)`` (window.py)


def register(spec: ModelSpec) -> None:
    if spec.name in MODELS or any(s.id == spec.id for s in MODELS.values()):
        raise ValueError(f"model {spec.name} / id {spec.id} registered twice")
    MODELS[spec.name] = spec


register(ModelSpec(1, "snerv-b", "SNeRV backbone, Ours(B) (Sec. 3.2)", SNeRVDecoder, windowed=True))
register(ModelSpec(2, "hnerv", "HNeRV baseline (no DWT, MFU or HFR)", HNeRVDecoder, uses_dwt=False, windowed=True))
_T_DEFAULTS = (("t_scale", 2), ("t_channels", 3))  # 3x20x40 temporal embeddings at 640x1280
register(ModelSpec(3, "snerv-t", "SNeRV temporal extension, Ours(T) (Sec. 3.3)", SNeRVTDecoder, SNeRVTEncoder,
                   _T_DEFAULTS, temporal=True, warmup=0.2))
register(ModelSpec(4, "snerv-t-2d", "Ours(T) with Conv2d over stacked time steps", SNeRVT2DDecoder, SNeRVTEncoder,
                   _T_DEFAULTS, temporal=True, warmup=0.2))
register(ModelSpec(5, "snerv-g", "SNeRV-B with HiNeRV-style grid encodings at the up-sampling blocks", SNeRVGDecoder,
                   grids=True))


def spec_by_name(name: str) -> ModelSpec:
    """The registry entry of ``name`` (ConfigError for an unknown model)."""
    from ..errors import ConfigError

    if name not in MODELS:
        raise ConfigError(f"unknown model {name!r} (one of {', '.join(MODELS)})")
    return MODELS[name]


def spec_by_id(model_id: int) -> ModelSpec:
    for s in MODELS.values():
        if s.id == model_id:
            return s
    raise KeyError(model_id)


def build_decoder(cfg: ModelConfig) -> nn.Module:
    return MODELS[cfg.name].decoder(cfg)


def build_encoder(cfg: ModelConfig) -> nn.Module:
    return MODELS[cfg.name].encoder(cfg)


def arch_defaults(name: str) -> dict[str, int]:
    """Architecture fields a variant needs besides the common ones (e.g. the temporal embedding)."""
    return dict(MODELS[name].defaults)


def decoder_params(cfg: ModelConfig, include_head: bool = True) -> int:
    """Parameter count of ``cfg``'s decoder, computed by building it on the meta device (no memory)."""
    import torch

    with torch.device("meta"):
        dec = build_decoder(cfg)
    return count_decoder_params(dec, include_head=include_head)


def model_summary(cfg: ModelConfig) -> dict:
    """The architecture as encode, fit and the bench report it (JSON-ready)."""
    return {"name": cfg.name, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
            "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": decoder_params(cfg),
            **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw]} if cfg.temporal else {}),
            **({"grids": [list(g) for g in cfg.grids], "grid_params": grid_params(cfg)} if cfg.grids else {})}
