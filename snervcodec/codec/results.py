"""What encoding and decoding return (what they are asked for: :mod:`..requests`)."""

from __future__ import annotations

from dataclasses import dataclass, field
from fractions import Fraction

import numpy as np

from ..bitstream.header import StreamHeader


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
