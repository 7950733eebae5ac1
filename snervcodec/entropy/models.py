"""Every entropy model of an encode, as one module a quantised training phase optimises beside
the network: the decoder weights', the embeddings' and (SNeRV(T)) the temporal embeddings'."""

from __future__ import annotations

import torch
import torch.nn as nn

from .embedding_model import EmbeddingEntropyModel
from .weights import WeightEntropyModel


class EntropyModels(nn.Module):
    """What a quantised training phase learns besides the network: the steps and rate models of
    every decoder tensor, of the embeddings and (SNeRV(T)) of the temporal embeddings. Built from
    the float model (its ranges give the first steps)."""

    def __init__(self, decoder: nn.Module, emb: torch.Tensor, temb: torch.Tensor | None, weight_bits: int,
                 emb_bits: int, weight_target: float | None = None, emb_target: float | None = None,
                 chunk_frames: int = 1):
        """``chunk_frames`` > 1: the embeddings' rate is that of format 1.4's prediction in chunks
        of that many frames (:class:`EmbeddingEntropyModel`)."""
        super().__init__()
        self.weights = WeightEntropyModel(decoder, weight_bits, weight_target)
        self.emb = EmbeddingEntropyModel(emb, emb_bits, emb_target, chunk_frames)
        self.temb = EmbeddingEntropyModel(temb, emb_bits, emb_target, chunk_frames) if temb is not None else None
