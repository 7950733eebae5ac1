"""Encode pipelines as data (after Cool-chic's training phases): a pipeline is a list of steps,
training phases and actions (prune, attach the entropy models, code the embeddings, land the rate,
code the weights), that :func:`~.runner.encode_clip` applies in order to one :class:`EncodeState`.
Pipelines are registered by name (``paper``: :mod:`.paper`; ``rdo``: :mod:`.rdo`); each builds its
steps from the plan, so epochs and a time limit are laid out before anything runs."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable

import torch

from ..bitstream.header import StreamHeader
from ..bitstream.payload import CodedEmbeddings
from ..compress.prune import PruneMask
from ..entropy.chunks import QuantEmbeddings
from ..requests import Feedback
from ..training import Phase, Trainer
from .plan import EncodePlan
from .ratecontrol import RateController
from .warmstart import WarmStart


@dataclass
class CodedEmbeddingSet:
    """The clip's embeddings as coded (and SNeRV(T)'s temporal ones): the values a decoder-only
    phase trains on, the coded sections, and their rate figures."""

    values: QuantEmbeddings
    coded: CodedEmbeddings
    stats: dict
    temporal: QuantEmbeddings | None = None
    coded_temporal: CodedEmbeddings | None = None
    temporal_stats: dict | None = None

    @property
    def fixed(self) -> tuple[torch.Tensor, torch.Tensor | None]:
        """The dequantised values a decoder-only phase trains on."""
        return self.values.values, self.temporal.values if self.temporal is not None else None

    @property
    def coded_bits(self) -> float:
        return self.stats["coded_bits"] + (self.temporal_stats["coded_bits"] if self.temporal_stats else 0)

    def entropy(self) -> dict:
        """The rate figures per coded group, as an encode reports them."""
        return {"embeddings": self.stats} | ({"temporal_embeddings": self.temporal_stats}
                                            if self.temporal_stats is not None else {})


@dataclass
class EncodeState:
    """What the steps of a pipeline hand on to each other."""

    trainer: Trainer
    plan: EncodePlan
    header: StreamHeader
    feedback: Feedback
    mask: PruneMask | None = None  # after pruning: the weights that stay zero
    rate: RateController | None = None  # quantised phases' rate weight and steering
    models: torch.nn.Module | None = None  # the entropy models (rdo)
    embeddings: CodedEmbeddingSet | None = None  # once coded
    float_psnr: float = float("nan")  # the float model after its fit
    stream: bytes = b""
    entropy: dict = field(default_factory=dict)  # coded / estimated / side bits per coded group
    knobs: dict = field(default_factory=dict)  # the compression settings as finally used
    warm: WarmStart | None = None  # --warm-start: keeps the float network for the next segment


Step = Callable[[EncodeState], None]


@dataclass(frozen=True, kw_only=True)
class Train:
    """A training phase of a pipeline: the encoder's embeddings, or (``fixed``) the coded ones with
    the decoder alone; pruned weights stay zero; quantised phases take the state's rate controller."""

    phase: Phase
    fixed: bool = False
    report: bool = True  # hand the phase's evaluations to the caller's ``on_eval``

    def __call__(self, s: EncodeState) -> None:
        fb = s.feedback
        s.trainer.run_phase(self.phase, fixed=s.embeddings.fixed if self.fixed else None, mask=s.mask,
                            progress=fb.progress, on_eval=fb.on_eval if self.report else None,
                            rate=s.rate if self.phase.quant != "none" else None)


def measure_float(s: EncodeState) -> None:
    """The float model's PSNR, right after its fit (what quantisation and pruning then cost); with
    a warm start, the float network is kept here for the next segment."""
    s.float_psnr = s.trainer.clip_psnr()
    if s.warm is not None:
        s.warm.keep(s.trainer)


PIPELINES: dict[str, Callable[[EncodePlan, float], list[Step]]] = {}


def register(name: str):
    """Register ``build(plan, lr_scale) -> steps`` as the pipeline ``name``."""

    def deco(build: Callable[[EncodePlan, float], list[Step]]):
        PIPELINES[name] = build
        return build

    return deco
