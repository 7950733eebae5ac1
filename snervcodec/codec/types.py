"""What an encode is configured with and what encoding and decoding return."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..bitstream.header import StreamHeader
from ..errors import ConfigError


PIPELINES = ("rdo", "paper")


@dataclass(frozen=True)
class CompressionConfig:
    """Pruning, quantisation and chunking of a trained model (paper Sec. 4.2, Supp. D)."""

    prune: float = 0.1  # fraction of decoder weights removed by global magnitude pruning
    weight_bits: int = 8
    emb_bits: int = 6
    ll_range_bits: int = 6  # per-frame LL (min, max) pair
    finetune: float = 0.1  # fine-tune epochs after pruning, as a fraction of training epochs (at least 1)
    finetune_lr: float = 1e-4
    chunk_frames: int = 8  # frames per independently decodable embedding chunk
    pipeline: str = "rdo"  # "rdo": quantiser and rate in the training loop (format 1.2); "paper": Sec. 4.2 as published
    lam: float = 0.0  # rdo: the rate weight lambda; 0 = automatic (from the bpp target, or DEFAULT_LAMBDA)

    def validate(self) -> "CompressionConfig":
        if self.pipeline not in PIPELINES:
            raise ConfigError(f"unknown pipeline {self.pipeline!r} (one of {', '.join(PIPELINES)})")
        if not 0.0 <= self.lam <= 1e6:
            raise ConfigError(f"lambda must be in [0, 1e6], got {self.lam}")
        if self.lam and self.pipeline != "rdo":
            raise ConfigError("lambda applies to the rdo pipeline only")
        if not 0.0 <= self.prune < 0.95:
            raise ConfigError(f"prune fraction must be in [0, 0.95), got {self.prune}")
        for name in ("weight_bits", "emb_bits", "ll_range_bits"):
            if not 2 <= getattr(self, name) <= 16:
                raise ConfigError(f"{name} must be in 2..16, got {getattr(self, name)}")
        if not 1 <= self.chunk_frames <= 1024:
            raise ConfigError(f"chunk_frames must be in 1..1024, got {self.chunk_frames}")
        return self


@dataclass
class EncodeResult:
    stream: bytes
    path: str | None
    bytes: int
    bpp: float
    psnr: float  # decoded from the stream's bytes, uint8 RGB against the input
    ms_ssim: float
    float_psnr: float  # the trained float model before pruning and quantisation
    seconds: float
    model: dict
    compression: dict
    sections: dict
    entropy: dict
    target_bpp: float | None = None
    history: list[dict] = field(default_factory=list)
    segments: int = 1  # segments in the stream (format 1.3 when more than one)
    resumed: list[int] = field(default_factory=list)  # segments taken from an earlier, interrupted run
    rank: int = 0  # torchrun rank that returned this (only rank 0 writes the stream)

    def summary(self) -> str:
        tgt = f" (target {self.target_bpp:g})" if self.target_bpp else ""
        return (f"{self.bytes} bytes, {self.bpp:.5f} bpp{tgt}, PSNR {self.psnr:.2f} dB, MS-SSIM {self.ms_ssim:.4f}, "
                f"{self.seconds:.1f} s")


@dataclass
class DecodeResult:
    frames: np.ndarray | None  # (N, H, W, 3) uint8; None when streamed to an output and not kept
    fps: Fraction
    first_frame: int
    header: StreamHeader
    seconds: float
    n_frames: int = 0  # frames decoded


@dataclass
class PipelineOutput:
    """What a pipeline (paper or rdo) hands back to :func:`~.encode.encode`."""

    stream: bytes
    float_psnr: float  # the float model after its first (float) training phase
    entropy: dict  # coded / estimated / side bits per coded group
    knobs: dict  # the compression settings as finally used (pruning, bit depth, lambda, step shift)
    finetune_epochs: int
