"""Networks (pure nn.Modules; no I/O, no bytes, no training)."""

from .config import ModelConfig, ModelName
from .geometry import Geometry, choose_geometry, crop_frames, pad_frames, size_for_budget
from .registry import (MODELS, arch_defaults, build_decoder, build_encoder, decoder_params, model_summary,
                       spec_by_id)

__all__ = [
    "MODELS",
    "arch_defaults",
    "Geometry",
    "ModelConfig",
    "ModelName",
    "build_decoder",
    "build_encoder",
    "choose_geometry",
    "crop_frames",
    "decoder_params",
    "model_summary",
    "pad_frames",
    "size_for_budget",
    "spec_by_id",
]
