"""Global magnitude pruning of decoder weights (the HNeRV family's recipe: one L1 threshold across
all layers, then a fine-tune with the mask fixed so pruned weights stay exactly zero)."""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn as nn

from ..errors import ConfigError


def prunable(module: nn.Module) -> dict[str, torch.nn.Parameter]:
    """The weight tensors that pruning considers: every parameter with more than one dimension."""
    return {n: p for n, p in module.named_parameters() if p.dim() > 1}


@dataclass
class PruneMask:
    masks: dict[str, torch.Tensor]  # name -> bool tensor, True = kept

    @property
    def fraction(self) -> float:
        total = sum(m.numel() for m in self.masks.values())
        return 1.0 - sum(int(m.sum()) for m in self.masks.values()) / max(total, 1)

    @torch.no_grad()
    def apply(self, module: nn.Module) -> None:
        """Zero the pruned weights in place."""
        params = dict(module.named_parameters())
        for name, m in self.masks.items():
            params[name].mul_(m.to(params[name].device, params[name].dtype))

    @torch.no_grad()
    def mask_gradients(self, module: nn.Module) -> None:
        """Zero the gradients of pruned weights, so neither clipping nor Adam sees them."""
        params = dict(module.named_parameters())
        for name, m in self.masks.items():
            g = params[name].grad
            if g is not None:
                g.mul_(m.to(g.device, g.dtype))


@torch.no_grad()
def global_magnitude_mask(module: nn.Module, fraction: float) -> PruneMask:
    """Mask that removes the ``fraction`` of prunable weights with the smallest magnitude."""
    weights = prunable(module)
    if not 0.0 <= fraction < 1.0:
        raise ConfigError(f"prune fraction must be in [0, 1), got {fraction}")
    if fraction == 0.0 or not weights:
        return PruneMask({n: torch.ones_like(p, dtype=torch.bool) for n, p in weights.items()})
    flat = torch.cat([p.detach().abs().flatten().float().cpu() for p in weights.values()])
    k = int(round(fraction * flat.numel()))
    if k == 0:
        return PruneMask({n: torch.ones_like(p, dtype=torch.bool) for n, p in weights.items()})
    threshold = torch.kthvalue(flat, k).values
    # Ties at the threshold: keep exactly numel - k weights by ranking, so the fraction is exact.
    order = torch.argsort(flat, stable=True)
    keep = torch.ones_like(flat, dtype=torch.bool)
    keep[order[:k]] = False
    del threshold
    masks, i = {}, 0
    for n, p in weights.items():
        masks[n] = keep[i:i + p.numel()].view_as(p).to(p.device)
        i += p.numel()
    return PruneMask(masks)
