"""Encoding (paper Sec. 4.2, Supp. D, made real), as stages that pass data one way:

    video --plan--> architecture --fit--> decoder + embeddings --quantise embeddings (6 bit)-->
    prune 10% (global |w|) --fine-tune the decoder on the quantised embeddings, mask fixed-->
    quantise weights (8 bit) --entropy-code--> .snv --decode the bytes--> honest metrics

With ``bpp``, the model is sized from the budget before training and the residual is corrected
with the pruning fraction and bit depth before the fine-tune and once more after it. The stages are
pure; the entry point that touches files is :func:`.encoder.encode`.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

import numpy as np
import torch

from ..bitstream.mapping import header_for
from ..bitstream.payload import CodedEmbeddings
from ..bitstream.stream import build_stream, check_encodable
from ..compress.prune import global_magnitude_mask
from ..errors import ConfigError
from ..metrics import ms_ssim_per_frame, psnr_per_frame
from ..models import ModelConfig, decoder_params
from ..models.choose import model_config
from ..models.geometry import Geometry
from ..training import TrainConfig, Trainer, finetune_phase, make_train_config
from ..training.phases import rdo_lr, split_time
from ..video import Video
from .decode import decode
from .embeddings import QuantEmbeddings, code_embeddings, quantize_embeddings
from .ratecontrol import RDO_BITS_PER_PARAM, RDO_N_RB, plan_model, rdo_bits_per_param, search_knobs
from .types import CompressionConfig, PipelineOutput
from .weights import CodedModel, code_weights, cpu_copy


@dataclass
class EncodePlan:
    """Everything decided before training."""

    cfg: ModelConfig
    geo: Geometry
    tcfg: TrainConfig
    cc: CompressionConfig
    target_bytes: float | None
    bits_per_param: float = RDO_BITS_PER_PARAM  # rdo: what the network was sized for (its first steps)


@dataclass
class CodedEmbeddingSet:
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


def plan(video: Video, model: str, *, bpp: float | None, c1, n_rb, params, strides, t_scale, preset, epochs,
         precision: str, seed: int, cc: CompressionConfig, train_overrides: dict,
         n_frames: int | None = None) -> EncodePlan:
    """Architecture (from the budget or the size options) and training configuration, checked
    against the stream format before any training (a stream that could not be written is an error
    now, not after the fit). ``n_frames``: size the model for this many frames (segments: the
    nominal segment length) instead of the video's."""
    if bpp is not None and (c1 is not None or params is not None):
        raise ConfigError("give a target bpp or a model size (c1 / params), not both")
    if bpp is not None and not 0 < bpp < 64:
        raise ConfigError(f"bpp must be in (0, 64), got {bpp}")
    t, h, w, _ = video.frames.shape
    t = n_frames or t
    if t > (1 << 24):
        raise ConfigError("more frames than the format allows")
    if n_rb is None and c1 is None and cc.pipeline == "rdo":
        n_rb = RDO_N_RB
    cfg, geo = model_config(model, h, w, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale)
    if bpp is not None:
        tf = {"t_scale": cfg.t_scale, "t_channels": cfg.t_channels} if cfg.temporal else None
        cfg = plan_model(model, geo, t, bpp, n_rb, cc, cfg.uses_dwt, tf)
    if cc.pipeline == "rdo" and train_overrides.get("lr") is None:  # the rdo recipe's own peak
        train_overrides = {**train_overrides, "lr": rdo_lr(decoder_params(cfg))}
    tcfg = make_train_config(preset, model=model, epochs=epochs, precision=precision, seed=seed, **train_overrides)
    check_encodable(header_for(cfg, geo, t, Fraction(video.meta.fps), video.meta.pix_fmt, cc.chunk_frames), cfg)
    return EncodePlan(cfg, geo, tcfg, cc, bpp * h * w * t / 8 if bpp is not None else None, rdo_bits_per_param(bpp))


def quantize_and_code_embeddings(trainer: Trainer, cc: CompressionConfig) -> CodedEmbeddingSet:
    """Quantise the embeddings once; the decoder is fine-tuned on exactly these values."""
    emb, temb = trainer.encode_all()
    qe = quantize_embeddings(emb, cc.emb_bits, trainer.data.ll_range)
    coded, stats = code_embeddings(qe, cc.chunk_frames)
    out = CodedEmbeddingSet(qe, coded, stats)
    if temb is not None:  # SNeRV(T): temporal embeddings, quantised like the main ones (TEMB section)
        out.temporal = quantize_embeddings(temb, cc.emb_bits, None)
        out.coded_temporal, out.temporal_stats = code_embeddings(out.temporal, cc.chunk_frames)
    return out


TAIL_SHARE = 0.03  # of a --time-limit, kept for what follows training: coding and the decode that measures


def within_time(p: EncodePlan, seconds_left: float, share: float = 1.0) -> EncodePlan:
    """``p`` with its training cut so that a ``--time-limit`` bounds the whole encode (reading,
    coding and the measuring decode included): ``share`` (a segment's part of what remains) of
    ``seconds_left``, less the tail's reserve. A plan without a time limit is returned as it is."""
    if not p.tcfg.time_limit:
        return p
    return replace(p, tcfg=replace(p.tcfg, time_limit=max(1.0, share * seconds_left * (1 - TAIL_SHARE))))


def prune_finetune_code(trainer: Trainer, p: EncodePlan, header, embs: CodedEmbeddingSet,
                        progress: bool) -> tuple[bytes, CodedModel, float, int, int]:
    """Choose the pruning fraction and bit depth (rate control), prune, fine-tune with the mask
    fixed, quantise and code the weights. Returns (stream, coded model, fraction, bits, fine-tune epochs)."""
    cc = p.cc

    def stream_bytes(cm: CodedModel) -> int:
        return len(build_stream(header, cm.tensors, embs.coded, embs.coded_temporal))

    decoder = trainer.decoder
    prune, wbits = cc.prune, cc.weight_bits
    if p.target_bytes is not None:
        prune, wbits, _ = search_knobs(cpu_copy(decoder), cc.prune, cc.weight_bits, p.target_bytes, stream_bytes)
    mask = global_magnitude_mask(decoder, prune)
    mask.apply(decoder)
    ft_epochs = _finetune_epochs(p)
    ft_seconds = split_time(p.tcfg.time_limit, p.tcfg.epochs, ft_epochs)[1] if p.tcfg.time_limit else 0.0
    trainer.run_phase(finetune_phase(ft_epochs, cc.finetune_lr * trainer.lr_scale, ft_seconds), fixed=embs.fixed,
                      mask=mask if prune > 0 else None, progress=progress)
    dec_cpu = cpu_copy(decoder)
    if p.target_bytes is not None:  # correct the residual rate error once more
        prune2, wbits, coded_model = search_knobs(dec_cpu, prune, wbits, p.target_bytes, stream_bytes)
        prune = max(prune, prune2)
    else:
        coded_model = code_weights(dec_cpu, wbits)
    stream = build_stream(header, coded_model.tensors, embs.coded, embs.coded_temporal)
    return stream, coded_model, prune, wbits, ft_epochs


def _finetune_epochs(p: EncodePlan) -> int:
    """The fine-tune's share: ``finetune`` x the training epochs, at least one."""
    return max(1, round(p.cc.finetune * p.tcfg.epochs)) if p.tcfg.epochs > 0 and p.cc.finetune > 0 else 0


def float_psnr(trainer: Trainer) -> float:
    """The float model's PSNR over the clip, called right after its (float) fit: the fit's own last
    evaluation when that measured the model as it is, on every frame (the same measurement); else
    measured now."""
    if trainer.psnr_now is not None and len(trainer.train_idx) == trainer.data.n:
        return trainer.psnr_now
    return trainer.evaluate(with_msssim=False)["psnr"]


def measure(stream: bytes, frames: np.ndarray, device: str) -> tuple[float, float]:
    """PSNR and MS-SSIM of the stream's own decoded bytes against the input (uint8 RGB)."""
    dec = decode(stream, device=device, precision="fp32")
    ref = torch.from_numpy(frames).permute(0, 3, 1, 2).float().div(255)
    rec = torch.from_numpy(dec.frames).permute(0, 3, 1, 2).float().div(255)
    psnr = float(psnr_per_frame(rec, ref).mean())
    msssim = float(torch.cat([ms_ssim_per_frame(rec[i:i + 8], ref[i:i + 8])[0]
                              for i in range(0, len(frames), 8)]).mean())
    return psnr, msssim


def paper_pipeline(trainer: Trainer, p: EncodePlan, header, progress: bool, on_eval) -> PipelineOutput:
    """The paper's pipeline (Sec. 4.2, Supp. D), exactly: float fit, 6-bit embeddings, prune,
    fine-tune, 8-bit weights (format 1.0 / 1.1)."""
    fit_seconds = split_time(p.tcfg.time_limit, p.tcfg.epochs, _finetune_epochs(p))[0] if p.tcfg.time_limit else 0.0
    trainer.run(progress=progress, on_eval=on_eval, seconds=fit_seconds)
    psnr = float_psnr(trainer)
    embs = quantize_and_code_embeddings(trainer, p.cc)
    stream, coded_model, prune, wbits, ft_epochs = prune_finetune_code(trainer, p, header, embs, progress)
    entropy = {"weights": coded_model.stats, "embeddings": embs.stats}
    if embs.temporal_stats is not None:
        entropy["temporal_embeddings"] = embs.temporal_stats
    return PipelineOutput(stream, psnr, entropy, {"prune": prune, "weight_bits": wbits}, ft_epochs)
