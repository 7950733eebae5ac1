"""Model variants by stable id. The id is written into every ``.snv`` stream: ids are frozen and
never reused or renumbered; new variants take new ids."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable

import torch.nn as nn

from .config import ModelConfig
from .hnerv import HNeRVDecoder
from .snerv import SNeRVDecoder, count_decoder_params, encoder_for
from .snerv_t import SNeRVT2DDecoder, SNeRVTDecoder, SNeRVTEncoder


@dataclass(frozen=True)
class ModelSpec:
    id: int
    name: str
    description: str
    decoder: Callable[[ModelConfig], nn.Module]
    encoder: Callable[[ModelConfig], nn.Module] = encoder_for
    defaults: tuple[tuple[str, int], ...] = ()  # architecture fields the variant sets by default


MODELS: dict[str, ModelSpec] = {}


def register(spec: ModelSpec) -> None:
    if spec.name in MODELS or any(s.id == spec.id for s in MODELS.values()):
        raise ValueError(f"model {spec.name} / id {spec.id} registered twice")
    MODELS[spec.name] = spec


register(ModelSpec(1, "snerv-b", "SNeRV backbone, Ours(B) (Sec. 3.2)", SNeRVDecoder))
register(ModelSpec(2, "hnerv", "HNeRV baseline (no DWT, MFU or HFR)", HNeRVDecoder))
_T_DEFAULTS = (("t_scale", 2), ("t_channels", 3))  # 3x20x40 temporal embeddings at 640x1280
register(ModelSpec(3, "snerv-t", "SNeRV temporal extension, Ours(T) (Sec. 3.3)", SNeRVTDecoder, SNeRVTEncoder,
                   _T_DEFAULTS))
register(ModelSpec(4, "snerv-t-2d", "Ours(T) with Conv2d over stacked time steps", SNeRVT2DDecoder, SNeRVTEncoder,
                   _T_DEFAULTS))


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
