"""What the training loop runs on: the optimiser, the clock of a timed phase, the progress bar,
parameter substitution (quantised weights without touching the network) and the step's compiled
functions (issue 15)."""

from __future__ import annotations

import time
from typing import Callable

import torch
import torch.nn as nn

from ..errors import ConfigError
from .config import COMPILE_MODES


def progress_bar(total: float, desc: str, unit: str = "it"):
    from tqdm.auto import tqdm

    fmt = "{l_bar}{bar}| {n:.0f}/{total:.0f} s [{elapsed}<{remaining}{postfix}]" if unit == "s" else None
    return tqdm(total=total, unit=unit, desc=desc, dynamic_ncols=True, leave=False, bar_format=fmt)


def adam(groups: list[dict], betas, device: torch.device) -> torch.optim.Optimizer:
    """Adam over parameter groups (each with its ``base_lr``); the fused kernel on CUDA (one launch
    for every tensor) and on the CPU (4.7 -> 1.0 ms a step for SNeRV-B's 115 tensors on 2 cores),
    PyTorch's default elsewhere."""
    for g in groups:
        g["lr"] = g["base_lr"]
    if device.type in ("cuda", "cpu"):
        return torch.optim.Adam(groups, betas=betas, fused=True)
    return torch.optim.Adam(groups, betas=betas)


def _functional_call(module: nn.Module, params: dict[str, torch.Tensor], args: tuple):
    return torch.func.functional_call(module, params, args)


class WithParams:
    """Calls a module with substituted (quantised) parameters: the network stays one object and
    knows nothing of quantisation (torch.func.functional_call, or ``call``: its compiled form)."""

    def __init__(self, module: nn.Module, params: dict[str, torch.Tensor], call: Callable = _functional_call):
        self.module, self.params, self.call = module, params, call

    def __call__(self, *args):
        return self.call(self.module, self.params, args)


class StepFunctions:
    """The encoder, decoder and loss as a training step calls them: the modules themselves, or their
    ``torch.compile`` forms (``mode``: inductor's default, ``reduce-overhead`` for CUDA graphs,
    ``max-autotune``). Compiled forms share the modules' parameters; evaluations call the modules.
    The quantised phases' parameter substitution is compiled too, so every phase runs compiled."""

    def __init__(self, encoder: nn.Module, decoder: nn.Module, loss: Callable, mode: str = "off"):
        if mode not in COMPILE_MODES:
            raise ConfigError(f"unknown compile mode {mode!r} ({', '.join(COMPILE_MODES)})")
        self.mode = mode
        if mode == "off":
            self.encoder, self.decoder, self.loss, self.call = encoder, decoder, loss, _functional_call
            return
        kw = {} if mode == "default" else {"mode": mode}
        self.encoder, self.decoder = torch.compile(encoder, **kw), torch.compile(decoder, **kw)
        self.loss, self.call = torch.compile(loss, **kw), torch.compile(_functional_call, **kw)

    def with_params(self, module: nn.Module, params: dict[str, torch.Tensor]) -> WithParams:
        return WithParams(module, params, self.call)

    def begin_step(self) -> None:
        """A new step: CUDA graphs may reuse the previous step's outputs (it has read them)."""
        if self.mode == "reduce-overhead":
            torch.compiler.cudagraph_mark_step_begin()


class Clock:
    """Wall time of a phase against its budget (0: no budget). Evaluations count: a time limit is
    the user's wall clock, and they take about 5% of it (Bunny, 2-core CPU, an evaluation every 10%)."""

    def __init__(self, budget: float):
        self.budget, self.spent, self.t0, self.last = budget, 0.0, time.perf_counter(), 0.0

    @property
    def elapsed(self) -> float:
        return self.spent + time.perf_counter() - self.t0

    @property
    def fraction(self) -> float:
        return min(1.0, self.elapsed / self.budget) if self.budget else 0.0

    @property
    def done(self) -> bool:
        return bool(self.budget) and self.elapsed >= self.budget

    def tick(self) -> float:
        """Seconds since the last tick (for a progress bar counting seconds)."""
        now = min(self.elapsed, self.budget)
        d, self.last = now - self.last, now
        return d


class TailMean:
    """The running mean of ``params`` over the last ``share`` of a phase (after each step that starts at
    or past ``1 - share`` of it), loaded into them when it ends: the fit's iterates at a high learning rate
    scatter around a minimum, and their mean sits nearer its centre (after Izmailov et al.'s stochastic
    weight averaging). A share of 0 keeps nothing and loads nothing."""

    def __init__(self, params: list[torch.Tensor], share: float):
        self.params, self.start, self.n = params, 1.0 - share, 0
        self.sums: list[torch.Tensor] | None = None
        self.on = share > 0

    @torch.no_grad()
    def add(self, done: float) -> None:
        """Take the weights after a step that started ``done`` (0..1) of the way through the phase."""
        if not self.on or done < self.start:
            return
        self.n += 1
        if self.sums is None:
            self.sums = [p.detach().clone() for p in self.params]
            return
        for s, p in zip(self.sums, self.params):
            s.lerp_(p.detach(), 1.0 / self.n)

    @torch.no_grad()
    def load(self) -> None:
        """Put the mean into the parameters (once; nothing when no step was taken into it)."""
        if self.sums is not None:
            for s, p in zip(self.sums, self.params):
                p.copy_(s)
        self.sums, self.on = None, False
