"""Every entropy model of an encode, as one module a quantised training phase optimises beside
the network: the decoder weights', the embeddings' and (SNeRV(T)) the temporal embeddings'."""

from __future__ import annotations

import torch
import torch.nn as nn

from ..requests import ENTROPY_MODELS

from .embedding_context import ContextEmbeddingModel
from .embedding_model import EmbeddingEntropyModel
from .weights import WeightEntropyModel
from .weights_axis import AxisWeightModel


class EntropyModels(nn.Module):
    """What a quantised training phase learns besides the network: the steps and rate models of
    every decoder tensor, of the embeddings and (SNeRV(T)) of the temporal embeddings. Built from
    the float model (its ranges give the first steps)."""

    def __init__(self, decoder: nn.Module, emb: torch.Tensor, temb: torch.Tensor | None, weight_bits: int,
                 emb_bits: int, weight_target: float | None = None, emb_target: float | None = None,
                 chunk_frames: int = 1, entropy: str = "laplace"):
        """``chunk_frames`` > 1: the embeddings' rate is that of format 1.4's prediction in chunks
        of that many frames (:class:`EmbeddingEntropyModel`). ``entropy``: "laplace", one learned
        law per group; "context" (format 1.6, after NVRC): per output x input channel laws for the
        weights (:class:`AxisWeightModel`), per channel x context for the embeddings
        (:class:`ContextEmbeddingModel`)."""
        super().__init__()
        if entropy not in ENTROPY_MODELS:
            raise ValueError(f"unknown entropy model {entropy!r}")
        context = entropy == "context"
        self.weights = (AxisWeightModel if context else WeightEntropyModel)(decoder, weight_bits, weight_target)
        emb_model = ContextEmbeddingModel if context else EmbeddingEntropyModel
        self.emb = emb_model(emb, emb_bits, emb_target, chunk_frames)
        self.temb = emb_model(temb, emb_bits, emb_target, chunk_frames) if temb is not None else None

    def clip_bits(self, emb: torch.Tensor, temb: torch.Tensor | None = None) -> float:
        """What the coder would write for the clip's embeddings (and SNeRV(T)'s temporal ones): the
        estimate rate control steers by while the encoder trains."""
        return self.emb.clip_bits(emb) + (self.temb.clip_bits(temb) if self.temb is not None else 0.0)
