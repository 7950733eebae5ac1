"""From embeddings to frames, for any registered model: used by training, evaluation and decoding."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..wavelet import idwt2
from ..errors import ConfigError
from .config import ModelConfig
from .window import Region, cut, grid_window


@dataclass
class Synthesis:
    frame: torch.Tensor  # (N, 3, H, W) float32, not clamped
    ll_norm: torch.Tensor | None = None  # (N, 3, H/2, W/2) SNeRV only
    hf: torch.Tensor | None = None  # (N, 3, 3, H/2, W/2) SNeRV only
    region: Region | None = None  # the part of the network's output grid ``frame`` holds; None: all of it


def synthesize(decoder: nn.Module, cfg: ModelConfig, emb: torch.Tensor, ll_min: torch.Tensor | None = None,
               ll_max: torch.Tensor | None = None, temb: torch.Tensor | None = None,
               t: torch.Tensor | None = None, window: Region | None = None) -> Synthesis:
    """Run ``decoder`` on embeddings (and, for SNeRV(T), the temporal embeddings ``temb``; for grid
    models, the frames' normalised times ``t``: :func:`~.grids.frame_times`). SNeRV de-normalises
    its LL with the per-frame (min, max) and applies the IDWT in float32 (exact inverse); HNeRV
    predicts the frame directly. With a ``window`` of the output grid, the frame holds that window
    (widened to whole LL pixels: ``region``): the same sums as the whole grid there, which a model whose
    decoder draws windows (a registry trait) computes alone (:mod:`.window`)."""
    if window is not None:
        region = grid_window(window, 2).scaled(2) if cfg.uses_dwt else window
        full = Region(0, 0, *cfg.frame_hw)
        if not cfg.spec.windowed or region == full:
            out = synthesize(decoder, cfg, emb, ll_min, ll_max, temb, t)
            if region == full:
                return out
            if not cfg.uses_dwt:
                return Synthesis(cut(out.frame, full, region)[0], region=region)
            ll, lr = Region(0, 0, *cfg.out_hw), grid_window(region, 2)
            return Synthesis(cut(out.frame, full, region)[0], cut(out.ll_norm, ll, lr)[0], cut(out.hf, ll, lr)[0],
                             region)
        if not cfg.uses_dwt:
            return Synthesis(decoder(emb, region).float(), region=region)
        ll_norm, hf = (x.float() for x in decoder(emb, grid_window(region, 2)))
        return Synthesis(_frame(emb, ll_norm, hf, ll_min, ll_max), ll_norm, hf, region)
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
    return Synthesis(_frame(emb, ll_norm, hf, ll_min, ll_max), ll_norm, hf)


def _frame(emb: torch.Tensor, ll_norm: torch.Tensor, hf: torch.Tensor, ll_min: torch.Tensor,
           ll_max: torch.Tensor) -> torch.Tensor:
    lo = ll_min.view(-1, 1, 1, 1).float()
    hi = ll_max.view(-1, 1, 1, 1).float()
    with torch.autocast(device_type=emb.device.type, enabled=False):
        return idwt2(ll_norm * (hi - lo) + lo, hf)
