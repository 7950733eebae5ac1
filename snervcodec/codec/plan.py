"""The first stage of an encode: everything decided before training. The architecture comes from
the budget (rate control's sizing) or the size options, the training configuration from the
request, and both are checked against the stream format first, so that a stream that could not be
written is an error now, not after the fit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..bitstream.mapping import header_for
from ..bitstream.stream import check_encodable
from ..errors import ConfigError
from ..models import ModelConfig, decoder_params
from ..models.geometry import Geometry, rdo_emb_cells
from ..requests import CompressionConfig, EncodeRequest
from ..training import TrainConfig
from ..training.config import resolve_epochs
from ..training.phases import RDO_LR_SCHEDULE, RDO_MSE_START, RDO_QAT_PROXY, RDO_TUNE, rdo_lr
from ..device import resolve_device
from ..video import Video
from .ratecontrol import RDO_BITS_PER_PARAM, RDO_N_RB, plan_model, planned_bits_per_param


@dataclass
class EncodePlan:
    """Everything decided before training."""

    cfg: ModelConfig
    geo: Geometry
    tcfg: TrainConfig
    cc: CompressionConfig
    target_bytes: float | None
    bits_per_param: float = RDO_BITS_PER_PARAM  # rdo: what the network was sized for (its first steps)

    @property
    def finetune_epochs(self) -> int:
        return self.cc.finetune_epochs(self.tcfg.epochs)


def plan(video: Video, req: EncodeRequest, n_frames: int | None = None) -> EncodePlan:
    """The plan for ``video``; ``n_frames``: size the model for this many frames (segments: the
    nominal segment length) instead of the video's."""
    cc, m = req.compression, req.model
    t, h, w, _ = video.frames.shape
    t = n_frames or t
    if t > (1 << 24):
        raise ConfigError("more frames than the format allows")
    n_rb = m.n_rb
    if n_rb is None and m.c1 is None and cc.pipeline == "rdo":
        n_rb = RDO_N_RB
    cfg, geo = m.config(h, w, n_rb, t, rdo_emb_cells(h, w) if cc.pipeline == "rdo" else None)
    if req.bpp is not None:
        tf = {"t_scale": cfg.t_scale, "t_channels": cfg.t_channels} if cfg.temporal else None
        cfg = plan_model(m.name, geo, t, req.bpp, n_rb, cc, cfg.uses_dwt, tf, m.grid_share, m.emb_channels)
    # the rdo recipe's own peak learning rate, distortion, schedule and noise-phase quantiser
    defaults = {"lr": rdo_lr(decoder_params(cfg)), "tune": RDO_TUNE, "mse_start": RDO_MSE_START,
                "lr_schedule": RDO_LR_SCHEDULE, "qat_proxy": RDO_QAT_PROXY} if cc.pipeline == "rdo" else {}
    tcfg = resolve_epochs(req.train.config(m.name, **defaults), t, resolve_device(req.train.device).type)
    if cc.pipeline == "paper" and tcfg.tune != "paper":
        raise ConfigError(f"--tune {tcfg.tune} is for the rdo pipeline: --pipeline paper trains on the paper's loss")
    if cc.pipeline == "paper" and tcfg.mse_start:
        raise ConfigError("--mse-start is for the rdo pipeline: --pipeline paper trains on the paper's loss")
    if cc.pipeline == "paper" and (rdo := tcfg.rdo_options_set()):
        raise ConfigError(f"{', '.join(rdo)}: for the rdo pipeline's phases; --pipeline paper trains the paper's "
                          "fit and fine-tune")
    check_encodable(header_for(cfg, geo, t, Fraction(video.meta.fps), video.meta.pix_fmt, cc.chunk_frames), cfg)
    target = req.bpp * h * w * t / 8 if req.bpp is not None else None
    return EncodePlan(cfg, geo, tcfg, cc, target, planned_bits_per_param(cc, req.bpp))


TAIL_SHARE = 0.03  # of a --time-limit, kept for what follows training: coding and the decode that measures


def within_time(p: EncodePlan, seconds_left: float, share: float = 1.0) -> EncodePlan:
    """``p`` with its training cut so that a ``--time-limit`` bounds the whole encode (reading,
    coding and the measuring decode included): ``share`` (a segment's part of what remains) of
    ``seconds_left``, less the tail's reserve. A plan without a time limit is returned as it is."""
    if not p.tcfg.time_limit:
        return p
    return replace(p, tcfg=replace(p.tcfg, time_limit=max(1.0, share * seconds_left * (1 - TAIL_SHARE))))
