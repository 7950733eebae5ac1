"""Header <-> model configuration: the only place that knows which header field is which
architecture hyper-parameter (bitstream/SPEC.md, "Header")."""

from __future__ import annotations

from fractions import Fraction

from ..errors import FormatError
from ..models import MODELS, ModelConfig, spec_by_id
from ..models.geometry import Geometry
from ..video.canvas import Canvas
from .header import StreamHeader


def header_for(cfg: ModelConfig, geo: Geometry, n_frames: int, fps: Fraction, pix_fmt: str,
               chunk_frames: int, canvas: Canvas | None = None) -> StreamHeader:
    """The header of ``cfg`` on ``geo``; with a ``canvas`` (``geo`` is then the canvas's), the frame
    is the canvas's window size and the padding reaches to the network's whole grid (format 1.7; warped
    views 1.8)."""
    fps = Fraction(fps).limit_denominator((1 << 31) - 1)
    height, width, pad_h, pad_w = geo.height, geo.width, geo.pad_h, geo.pad_w
    if canvas is not None:
        (height, width), (ph, pw) = canvas.frame, geo.padded_hw
        pad_h, pad_w = ph - height, pw - width
    return StreamHeader(
        model_id=cfg.spec.id, n_blocks=len(cfg.strides), c1=cfg.c1, n_rb=cfg.n_rb,
        emb_channels=cfg.emb_channels, emb_h=cfg.emb_hw[0], emb_w=cfg.emb_hw[1], reduce_milli=cfg.reduce_milli,
        lower_width=cfg.lower_width, width=width, height=height, pad_w=pad_w, pad_h=pad_h,
        n_frames=n_frames, fps_num=fps.numerator, fps_den=fps.denominator, chunk_frames=chunk_frames,
        strides=tuple(cfg.strides), kernels=tuple(cfg.kernels), pix_fmt=(pix_fmt or "")[:32],
        t_scale=cfg.t_scale, t_channels=cfg.t_channels, grids=tuple(cfg.grids),
        canvas=0 if canvas is None else 1 if canvas.warps is None else 2 if canvas.layer is None else 3,
    )


def config_from_header(h: StreamHeader) -> ModelConfig:
    spec = spec_by_id(h.model_id)
    return ModelConfig(name=spec.name, c1=h.c1, n_rb=h.n_rb, strides=h.strides, emb_hw=(h.emb_h, h.emb_w),
                       kernels=h.kernels, emb_channels=h.emb_channels, reduce_milli=h.reduce_milli,
                       lower_width=h.lower_width, t_scale=h.t_scale, t_channels=h.t_channels,  # type: ignore[arg-type]
                       grids=h.grids)


def model_kind(model_id: int) -> tuple[bool, bool, bool]:
    """(uses the DWT, has temporal embeddings, has grid encodings) for a model id of the frozen table."""
    try:
        spec = spec_by_id(model_id)
    except KeyError:
        raise FormatError(f"unknown model id {model_id} (this decoder knows "
                          f"{', '.join(f'{s.id}={s.name}' for s in MODELS.values())})") from None
    return spec.uses_dwt, spec.temporal, spec.grids
