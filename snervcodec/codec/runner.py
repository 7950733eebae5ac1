"""One clip through a registered pipeline (:mod:`.pipelines`): the trainer and the stream header
are built from the plan, the pipeline's steps run in order, and the stream's own bytes are decoded
to measure what a user will get."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import torch

from ..bitstream.mapping import header_for
from ..metrics import ms_ssim_per_frame, psnr_per_frame
from ..requests import Feedback
from ..training import Trainer
from ..video import Video
from . import paper, rdo  # noqa: F401  (they register the pipelines)
from .decode import decode
from .pipelines import PIPELINES, EncodeState
from .plan import EncodePlan
from .warmstart import WarmStart


@dataclass
class ClipEncode:
    """A clip's stream, its honest metrics and what the pipeline reports of itself."""

    stream: bytes
    psnr: float  # decoded from the stream's bytes, uint8 RGB against the input
    ms_ssim: float
    float_psnr: float
    entropy: dict
    knobs: dict
    finetune_epochs: int
    precision: str
    history: list[dict]


def encode_clip(video: Video, p: EncodePlan, device: torch.device, feedback: Feedback,
                warm: WarmStart | None = None) -> ClipEncode:
    """Train, compress and code ``video`` as planned, then measure the decoded stream; ``warm``:
    start from the previous segment's float network and keep this one's (:mod:`.warmstart`)."""
    t = len(video.frames)
    trainer = Trainer(video.frames, p.cfg, p.geo, p.tcfg, device=device,
                      ll_range_bits=p.cc.ll_range_bits if p.cfg.uses_dwt else None, canvas=p.canvas)
    header = header_for(p.cfg, p.geo, t, Fraction(video.meta.fps), video.meta.pix_fmt, p.cc.frames_per_chunk, p.canvas)
    if warm is not None:
        warm.begin(trainer)
    state = EncodeState(trainer, p, header, feedback, warm=warm)
    for step in PIPELINES[p.cc.pipeline](p, trainer.lr_scale):
        step(state)
    psnr, msssim = measure(state.stream, video.frames, str(trainer.device))
    return ClipEncode(state.stream, psnr, msssim, state.float_psnr, state.entropy, state.knobs, p.finetune_epochs,
                      trainer.precision, trainer.history)


def measure(stream: bytes, frames: np.ndarray, device: str) -> tuple[float, float]:
    """PSNR and MS-SSIM of the stream's own decoded bytes against the input (uint8 RGB)."""
    dec = decode(stream, device=device, precision="fp32")
    ref = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
    rec = torch.from_numpy(dec.frames).permute(0, 3, 1, 2).float().div(255)
    psnr = float(psnr_per_frame(rec, ref).mean())
    msssim = float(torch.cat([ms_ssim_per_frame(rec[i:i + 8], ref[i:i + 8])[0]
                              for i in range(0, len(frames), 8)]).mean())
    return psnr, msssim
