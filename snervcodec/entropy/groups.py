"""The entropy model of one coded group (a decoder tensor, the embeddings): a learned step per
channel (LSQ-style, in the log domain) and a learned geometric rate law (:mod:`.laws`). Its training
face quantises through :func:`~..compress.qat.fake_quant` and estimates bits; its coding face snaps
the steps to the stream's step codes (:mod:`..compress.stepcodes`)."""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn as nn

from ..compress.qat import QuantMode, fake_quant, relaxed, round_symbols
from ..compress.stepcodes import K_MAX, code_for_step, offset, step_from_code
from .laws import geometric_bits


class GroupEntropyModel(nn.Module):
    """Learned steps (one per slice along ``axis``) and rate model of one coded group."""

    def __init__(self, x: torch.Tensor, bits: int, axis: int | None, target_bits: float | None = None):
        """Steps start where a Laplace source of ``x``'s mean magnitude costs ``target_bits`` per
        value (high-rate: ``step = 2e E|x| / 2^bits``), never finer than the alphabet needs to
        cover ``x`` without clipping; without a target, at that finest step."""
        super().__init__()
        self.bits, self.axis = bits, axis
        x = x.detach().float()
        if axis is None or x.dim() < 2:
            self.axis, flat = None, x.reshape(1, -1)
        else:
            flat = x.transpose(0, axis).reshape(x.shape[axis], -1)
        qmax = (1 << (bits - 1)) - 1
        step = flat.abs().amax(1).clamp_min(1e-8) / qmax
        if target_bits is not None:
            step = torch.maximum(step, 2 * math.e * flat.abs().mean(1).clamp_min(1e-8) / 2 ** target_bits)
        self.log_step = nn.Parameter(step.log())
        # the coder's exact steps once :meth:`shift_codes` put them on its grid (exp(log(step)) misses a grid
        # step by an ulp for most codes, and a value the last phase trained onto a rounding boundary then
        # rounds one way in training and the other in the file); empty: the learned exp(log_step)
        self.register_buffer("grid_step", torch.zeros(0), persistent=False)
        self.numel = x.numel()  # values in the group (for embeddings: the whole clip's)
        # the rate model's start: a geometric law fitted to the symbols at those steps by moments
        mean_abs = float((flat.abs() / step[:, None]).round().mean())
        self.log_a = nn.Parameter(torch.tensor(math.log(math.log1p(1.0 / max(mean_abs, 1e-2)))))

    def step_values(self) -> torch.Tensor:
        """The steps the quantiser uses: exactly the coder's grid steps while snapped, else the learned ones."""
        return self.grid_step if self.grid_step.numel() else self.log_step.exp()

    def steps(self, ndim: int) -> torch.Tensor:
        s = self.step_values()
        if self.axis is None:
            return s.reshape((1,) * ndim)
        shape = [1] * ndim
        shape[self.axis] = -1
        return s.reshape(shape)

    def forward(self, x: torch.Tensor, mode: QuantMode, mask: torch.Tensor | None = None,
                measure: bool = True) -> tuple[torch.Tensor, torch.Tensor]:
        """(quantised x, estimated bits of x's symbols). In the relaxed modes (noise, mixed) the bits are
        those of the noisy symbols (what training differentiates); with ``measure``, :attr:`coded_bits`
        holds the estimate for the rounded ones (what rate control steers: noise inflates the first)."""
        xq, y = fake_quant(x, self.steps(x.dim()).to(x.dtype), self.bits, mode, mask)
        bits = geometric_bits(y.float(), self.log_a)
        if relaxed(mode) and measure:
            with torch.no_grad():
                q = self.symbols(x) * (mask if mask is not None else 1.0)
                self.coded_bits = geometric_bits(q, self.log_a)
        else:
            self.coded_bits = bits.detach()
        return xq, bits

    @torch.no_grad()
    def scale_steps(self, octaves: float) -> None:
        """Steps x 2^octaves (off the grid again)."""
        self.log_step.add_(octaves * math.log(2.0))
        if self.grid_step.numel():
            self.grid_step = self.grid_step.new_zeros(0)

    @torch.no_grad()
    def shift_codes(self, n: int) -> None:
        """Steps snapped to the grid and moved ``n`` codes (what the coder writes for a shift of ``n``); the
        quantiser then uses the grid's steps exactly, until the steps move again (a phase that trains at
        fixed steps leaves ``log_step`` out of its optimiser). The law follows the steps, as the coder's
        :func:`rate_a` rescales it for a shifted step: without it, the last phase priced scene-cut's
        weights, landed 176 codes finer, at 1.9x what the coder spends, and its lambda climbed 48-fold."""
        k = np.clip(code_for_step(self.log_step.detach().exp().cpu().double().numpy()) + n, 0, K_MAX)
        exact = torch.from_numpy(step_from_code(k)).to(self.log_step)
        self.log_a.add_((exact.log() - self.log_step).mean())
        self.log_step.copy_(exact.log())
        self.grid_step = exact

    @torch.no_grad()
    def symbols(self, x: torch.Tensor, steps: torch.Tensor | None = None) -> torch.Tensor:
        """Integer symbols (signed) of ``x`` with the learned steps, or with ``steps``."""
        return round_symbols(x, self.steps(x.dim()) if steps is None else steps, self.bits)


def step_codes(g: GroupEntropyModel, shift: int = 0) -> np.ndarray:
    """The learned steps snapped to the grid, moved by ``shift`` codes (rate control's knob)."""
    k = code_for_step(g.log_step.detach().exp().cpu().double().numpy()) + shift
    return np.clip(k, 0, K_MAX)


def rate_a(g: GroupEntropyModel, k: np.ndarray) -> float:
    """The learned decay, rescaled to the symbols of steps ``k`` (a shifted step rescales them)."""
    learned = g.log_step.detach().exp().cpu().double().numpy()
    ratio = float(np.exp(np.mean(np.log(step_from_code(k).astype(np.float64) / learned))))
    return float(g.log_a.detach().exp()) * ratio


def steps_like(x: torch.Tensor, g: GroupEntropyModel, k: np.ndarray) -> torch.Tensor:
    """The steps of codes ``k``, shaped to broadcast along the group's axis of ``x``."""
    shape = [1] * x.dim()
    if g.axis is not None and len(k) > 1:
        shape[g.axis] = -1
    return torch.from_numpy(step_from_code(k)).reshape(shape)


def quantize_group(x: torch.Tensor, g: GroupEntropyModel, k: np.ndarray) -> np.ndarray:
    """Signed-offset symbols of ``x`` (float32, CPU) with step codes ``k`` along the group's axis."""
    return (g.symbols(x, steps_like(x, g, k)).numpy().astype(np.int32) + offset(g.bits))
