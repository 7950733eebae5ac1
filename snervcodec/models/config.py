"""The architecture hyper-parameters of a model: everything a decoder needs to rebuild it."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, Literal

from ..errors import ConfigError

ModelName = Literal["snerv-b", "hnerv", "snerv-t", "snerv-t-2d", "snerv-g"]
# name -> ModelSpec. Filled by ``registry.register``; kept here so a config can ask its traits
# without importing the networks.
MODELS: dict[str, Any] = {}

# HNeRV encoder widths: 64 on every stage but the last, which gives the embedding channels.
ENC_WIDTH = 64
DEFAULT_KERNELS = (1, 3, 5, 5, 5)


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of one network (see docs/paper/architecture.md).

    ``strides`` act on the LL grid for SNeRV and on the frame for HNeRV; ``emb_hw`` is the spatial
    size of the per-frame embedding; the network's output grid is ``emb_hw * prod(strides)``.
    """

    name: ModelName
    c1: int
    n_rb: int
    strides: tuple[int, ...]
    emb_hw: tuple[int, int]
    kernels: tuple[int, ...] = DEFAULT_KERNELS
    emb_channels: int = 16
    reduce_milli: int = 1200  # width reduction factor x1000 (1.2), an integer so streams are exact
    lower_width: int = 12
    enc_width: int = ENC_WIDTH
    # Temporal extension (snerv-t, snerv-t-2d; Sec. 3.3): the temporal embeddings' grid is the UB2
    # grid divided by ``t_scale`` (rounded up): 2 / 4 / 8 give 3x20x40 / 3x10x20 / 3x5x10 at 640x1280.
    t_scale: int = 0
    t_channels: int = 0
    # Grid encodings (snerv-g; HiNeRV): per up-sampling block (T, H, W, C) of its learned grid, all 0
    # for a block without one; () before they are sized (models/grids.py) and for other models.
    grids: tuple[tuple[int, int, int, int], ...] = ()

    def __post_init__(self):
        if len(self.kernels) != len(self.strides):
            raise ConfigError("kernels and strides must have the same length")
        if self.temporal and (self.t_scale < 1 or self.t_channels < 1 or len(self.strides) < 3):
            raise ConfigError("temporal models need t_scale >= 1, t_channels >= 1 and at least 3 blocks")
        if not self.temporal and (self.t_scale or self.t_channels):
            raise ConfigError(f"{self.name} has no temporal embeddings")
        if self.grids and not self.has_grids:
            raise ConfigError(f"{self.name} has no grid encodings")
        if self.grids and (len(self.grids) != len(self.strides) or any(
                len(g) != 4 or min(g) < 0 or (0 in g and any(g)) for g in self.grids)):
            raise ConfigError(f"grids must be one (T, H, W, C) per block, all positive or all 0: {self.grids}")

    @property
    def reduce(self) -> float:
        return self.reduce_milli / 1000.0

    @property
    def stride_product(self) -> int:
        p = 1
        for s in self.strides:
            p *= s
        return p

    @property
    def out_hw(self) -> tuple[int, int]:
        """Size of the decoder's last feature map (the LL grid for SNeRV, the frame for HNeRV)."""
        p = self.stride_product
        return self.emb_hw[0] * p, self.emb_hw[1] * p

    @property
    def frame_hw(self) -> tuple[int, int]:
        """Padded frame size the network reconstructs."""
        h, w = self.out_hw
        return (2 * h, 2 * w) if self.uses_dwt else (h, w)

    @property
    def spec(self):
        """The registry entry: the model's traits live there, not in name checks."""
        return MODELS[self.name]

    @property
    def uses_dwt(self) -> bool:
        """SNeRV models work on the Haar LL grid; HNeRV on the frame itself."""
        return self.spec.uses_dwt

    @property
    def emb_numel(self) -> int:
        return self.emb_channels * self.emb_hw[0] * self.emb_hw[1]

    @property
    def temporal(self) -> bool:
        return self.spec.temporal

    @property
    def has_grids(self) -> bool:
        """Learned grid encodings added at the up-sampling blocks (HiNeRV), in the registry's traits."""
        return self.spec.grids

    def block_hw(self, i: int) -> tuple[int, int]:
        """Grid of up-sampling block ``i``'s output (0: the first block)."""
        p = 1
        for s in self.strides[:i + 1]:
            p *= s
        return self.emb_hw[0] * p, self.emb_hw[1] * p

    @property
    def ub2_hw(self) -> tuple[int, int]:
        """Grid after the first two up-sampling blocks, where the temporal branches join."""
        p = self.strides[0] * self.strides[1]
        return self.emb_hw[0] * p, self.emb_hw[1] * p

    @property
    def temb_hw(self) -> tuple[int, int]:
        """Spatial size of each temporal embedding (backward, forward); (0, 0) without them."""
        if not self.temporal:
            return (0, 0)
        h, w = self.ub2_hw
        return -(-h // self.t_scale), -(-w // self.t_scale)

    @property
    def temb_numel(self) -> int:
        """Temporal embedding values per frame: backward and forward together."""
        return 2 * self.t_channels * self.temb_hw[0] * self.temb_hw[1] if self.temporal else 0

    def with_(self, **changes) -> "ModelConfig":
        return replace(self, **changes)
