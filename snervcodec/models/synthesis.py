"""From embeddings to frames, for any registered model: used by training, evaluation and decoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..wavelet import idwt2
from ..errors import ConfigError
from .config import ModelConfig


@dataclass
class Synthesis:
    frame: torch.Tensor  # (N, 3, H, W) float32, not clamped
    ll_norm: torch.Tensor | None = None  # (N, 3, H/2, W/2) SNeRV only
    hf: torch.Tensor | None = None  # (N, 3, 3, H/2, W/2) SNeRV only


def synthesize(decoder: nn.Module, cfg: ModelConfig, emb: torch.Tensor, ll_min: torch.Tensor | None = None,
               ll_max: torch.Tensor | None = None, temb: torch.Tensor | None = None,
               t: torch.Tensor | None = None) -> Synthesis:
    """Run ``decoder`` on embeddings (and, for SNeRV(T), the temporal embeddings ``temb``; for grid
    models, the frames' normalised times ``t``: :func:`~.grids.frame_times`). SNeRV de-normalises
    its LL with the per-frame (min, max) and applies the IDWT in float32 (exact inverse); HNeRV
    predicts the frame directly."""
    if not cfg.uses_dwt:
        return Synthesis(decoder(emb).float())
    if cfg.temporal:
        if temb is None:
            raise ConfigError(f"{cfg.name} needs temporal embeddings")
        ll_norm, hf = decoder(emb, temb)
    elif cfg.has_grids:
        if t is None:
            raise ConfigError(f"{cfg.name} needs the frames' times")
        ll_norm, hf = decoder(emb, t)
    else:
        ll_norm, hf = decoder(emb)
    ll_norm, hf = ll_norm.float(), hf.float()
    lo = ll_min.view(-1, 1, 1, 1).float()
    hi = ll_max.view(-1, 1, 1, 1).float()
    with torch.autocast(device_type=emb.device.type, enabled=False):
        frame = idwt2(ll_norm * (hi - lo) + lo, hf)
    return Synthesis(frame, ll_norm, hf)
