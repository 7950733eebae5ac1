"""How much memory a network's forward pass needs, measured on the meta device (nothing allocated)."""

from __future__ import annotations

import torch

from .config import ModelConfig
from .registry import build_decoder


def activation_elements(cfg: ModelConfig) -> int:
    """Elements of every leaf module's output in one frame's forward pass through ``cfg``'s
    decoder (what training keeps for the backward pass), plus the synthesised bands."""
    total = 0

    def count(module, inputs, output):
        nonlocal total
        for o in output if isinstance(output, tuple) else (output,):
            if torch.is_tensor(o):
                total += o.numel()

    with torch.device("meta"):
        dec = build_decoder(cfg)
        for m in dec.modules():
            if not list(m.children()):
                m.register_forward_hook(count)
        emb = torch.empty(1, cfg.emb_channels, *cfg.emb_hw)
        if cfg.temporal:
            dec(emb, torch.empty(1, 2 * cfg.t_channels, *cfg.temb_hw))
        elif cfg.has_grids:
            dec(emb, torch.zeros(1))
        else:
            dec(emb)
    return total
