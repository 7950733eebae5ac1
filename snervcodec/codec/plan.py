"""The first stage of an encode: everything decided before training. The architecture comes from
the budget (rate control's sizing) or the size options, the training configuration from the
request, and both are checked against the stream format first, so that a stream that could not be
written is an error now, not after the fit."""

from __future__ import annotations

from dataclasses import dataclass, replace
from fractions import Fraction

from ..bitstream.mapping import header_for
from ..bitstream.stream import check_encodable
from ..errors import BudgetError, ConfigError
from ..models import ModelConfig, decoder_params
from ..models.geometry import Geometry, rdo_emb_cells
from ..requests import CompressionConfig, EncodeRequest
from ..training import TrainConfig
from ..training.config import resolve_epochs
from ..training.memory import check_training_memory, frames_that_fit
from ..training.phases import RDO_LR_SCHEDULE, RDO_MSE_START, RDO_QAT_PROXY, RDO_TUNE, rdo_lr
from ..device import resolve_device
from ..video import Video
from ..video.canvas import Canvas, plan_canvas
from .ratecontrol import RDO_BITS_PER_PARAM, RDO_N_RB, plan_model, planned_bits_per_param


RDO_CANVAS = "auto"  # the rdo pipeline draws a canvas where the camera pans (docs/design-notes.md "Canvas")


@dataclass
class EncodePlan:
    """Everything decided before training."""

    cfg: ModelConfig
    geo: Geometry
    tcfg: TrainConfig
    cc: CompressionConfig
    target_bytes: float | None
    bits_per_param: float = RDO_BITS_PER_PARAM  # rdo: what the network was sized for (its first steps)
    canvas: Canvas | None = None  # the network draws this canvas; ``geo`` is then the canvas's

    @property
    def finetune_epochs(self) -> int:
        return self.cc.finetune_epochs(self.tcfg.epochs)


def plan(video: Video, req: EncodeRequest, n_frames: int | None = None) -> EncodePlan:
    """The plan for ``video``; ``n_frames``: size the model for this many frames (segments: the
    nominal segment length) instead of the video's. In the rdo pipeline, where the camera pans, the
    network draws a canvas that holds its view (:mod:`~..video.canvas`) unless the request says off."""
    cc, m = req.compression, req.model
    t = n_frames or len(video.frames)
    if t > (1 << 24):
        raise ConfigError("more frames than the format allows")
    if m.canvas not in (None, "off") and cc.pipeline != "rdo":
        raise ConfigError("--canvas is for the rdo pipeline: --pipeline paper draws the frames themselves")
    mode = (m.canvas or RDO_CANVAS) if cc.pipeline == "rdo" else "off"
    canvas = plan_canvas(video.frames) if mode == "auto" else None
    dev = resolve_device(req.train.device)
    fit = frames_that_fit(canvas.height * canvas.width, dev) if canvas is not None else None
    if canvas is not None and (fit is None or t <= fit):
        try:  # the canvas's network must fit the rate and training the memory; else the frames are drawn
            p = _plan(video, req, t, canvas)
            check_training_memory(p.cfg, p.geo, t, p.tcfg, dev)
            return p
        except (BudgetError, ConfigError):
            pass
    return _plan(video, req, t, None)


def _plan(video: Video, req: EncodeRequest, t: int, canvas: Canvas | None) -> EncodePlan:
    """:func:`plan` for frames drawn as they are, or on ``canvas``."""
    cc, m = req.compression, req.model
    cc = replace(cc, chunk_frames=cc.frames_per_chunk)  # the pipeline's chunk length, in the plan and the result
    h, w = video.frames.shape[1:3]
    dev_type = resolve_device(req.train.device).type
    bits = planned_bits_per_param(cc)
    cfg, geo = _network(req, h, w, t, canvas)
    # the rdo recipe's own peak learning rate, distortion, schedule and noise-phase quantiser
    defaults = {"lr": rdo_lr(decoder_params(cfg)), "tune": RDO_TUNE, "mse_start": RDO_MSE_START,
                "lr_schedule": RDO_LR_SCHEDULE, "qat_proxy": RDO_QAT_PROXY} if cc.pipeline == "rdo" else {}
    tcfg = resolve_epochs(req.train.config(m.name, **defaults), t, dev_type)
    if cc.pipeline == "paper" and tcfg.tune != "paper":
        raise ConfigError(f"--tune {tcfg.tune} is for the rdo pipeline: --pipeline paper trains on the paper's loss")
    if cc.pipeline == "paper" and tcfg.mse_start:
        raise ConfigError("--mse-start is for the rdo pipeline: --pipeline paper trains on the paper's loss")
    if cc.pipeline == "paper" and (rdo := tcfg.rdo_options_set()):
        raise ConfigError(f"{', '.join(rdo)}: for the rdo pipeline's phases; --pipeline paper trains the paper's "
                          "fit and fine-tune")
    check_encodable(header_for(cfg, geo, t, Fraction(video.meta.fps), video.meta.pix_fmt, cc.frames_per_chunk, canvas),
                    cfg)
    target = req.bpp * h * w * t / 8 if req.bpp is not None else None
    return EncodePlan(cfg, geo, tcfg, cc, target, bits, canvas)


def _network(req: EncodeRequest, h: int, w: int, t: int, canvas: Canvas | None) -> tuple[ModelConfig, Geometry]:
    """The architecture for ``h x w`` frames, or for the ``canvas`` that holds them: its geometry is
    the canvas's, with the frame's embedding cells (the values a frame pays for stay the same) and,
    with a bpp, the decoder sized for the frames' bits (a canvas's pixels are not paid for)."""
    cc, m = req.compression, req.model
    n_rb = m.n_rb
    if n_rb is None and m.c1 is None and cc.pipeline == "rdo":
        n_rb = RDO_N_RB
    hh, ww = (canvas.height, canvas.width) if canvas is not None else (h, w)
    cfg, geo = m.config(hh, ww, n_rb, t, rdo_emb_cells(h, w) if cc.pipeline == "rdo" else None)
    if req.bpp is not None:
        tf = {"t_scale": cfg.t_scale, "t_channels": cfg.t_channels} if cfg.temporal else None
        cfg = plan_model(m.name, geo, t, req.bpp, n_rb, cc, cfg.uses_dwt, tf, m.grid_share, m.emb_channels,
                         (h, w) if canvas is not None else None)
    return cfg, geo


TAIL_SHARE = 0.03  # of a --time-limit, kept for what follows training: coding and the decode that measures


def within_time(p: EncodePlan, seconds_left: float, share: float = 1.0) -> EncodePlan:
    """``p`` with its training cut so that a ``--time-limit`` bounds the whole encode (reading,
    coding and the measuring decode included): ``share`` (a segment's part of what remains) of
    ``seconds_left``, less the tail's reserve. A plan without a time limit is returned as it is."""
    if not p.tcfg.time_limit:
        return p
    return replace(p, tcfg=replace(p.tcfg, time_limit=max(1.0, share * seconds_left * (1 - TAIL_SHARE))))
