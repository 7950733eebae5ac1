"""``info``: what a stream holds, from its header and section index (nothing synthesised)."""

from __future__ import annotations

import os

import numpy as np

from ..bitstream.stepcoded import StepCodedWeights
from ..bitstream.container import SECTION_FRAMING_BYTES
from ..bitstream.segments import INDEX_ENTRY_BYTES, INDEX_FIXED_BYTES
from ..bitstream.stream import ParsedStream, StreamIndex, open_stream
from .decode import read_stream_bytes
from ..entropy.chunks import embedding_rate
from ..entropy.weights import weight_rate
from ..models.geometry import LAYERED, WARP_ONE, WARP_POS
from .limits import DecodeLimits, declared_work_of, exceeded
from .weights import decode_weights


def info(source: str | os.PathLike | bytes, limits: DecodeLimits | None = None) -> dict:
    """Everything about a stream that its header and models say. ``work`` is what decoding all of it
    would cost and ``warnings`` the decoder limits it exceeds; a stream over them is described
    without decoding anything (no zero fraction, no rate), so ``info`` stays instant on any stream.
    A segmented stream (1.3) is described as a whole (sections and rates summed over its segments),
    with ``segments`` listing each one's frames and bytes; the model figures are its first segment's."""
    data = read_stream_bytes(source)
    index = open_stream(data)
    h = index.header
    work = declared_work_of(index, index.segments, 0, h.n_frames)
    over = exceeded(work, limits or DecodeLimits())
    parsed = [index.parse(s.index) for s in index.segments]
    ps = parsed[0]
    cfg = ps.cfg
    pixels = h.width * h.height * h.n_frames
    e = ps.embeddings.coded
    models: dict[str, int] = {}
    tensors = ps.weights.tensors if isinstance(ps.weights, StepCodedWeights) else ps.weights
    for t in tensors:
        kind = "axis" if getattr(t, "law", None) is not None else t.model.kind
        models[kind] = models.get(kind, 0) + 1
    out = {
        "format_version": f"{index.version[0]}.{index.version[1]}",
        "model": cfg.name, "model_id": h.model_id, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
        "kernels": list(cfg.kernels), "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": ps.n_params,
        "width": h.width, "height": h.height, "padding": [h.pad_h, h.pad_w], "frames": h.n_frames,
        "fps": f"{h.fps_num}/{h.fps_den}", "source_pix_fmt": h.pix_fmt, "chunk_frames": h.chunk_frames,
        "bytes": len(data), "bpp": 8 * len(data) / pixels,
        "weight_bits": sorted({t.bits for t in tensors}),
        "quantiser": "step-code grid" if isinstance(ps.weights, StepCodedWeights) else "affine",
        "weight_zero_fraction": None if over else _zero_fraction(parsed),
        "weight_entropy_models": models,
        "embedding_bits": e.bits, "ll_range_bits": e.ll_bits,
        **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw], "t_scale": cfg.t_scale,
            "temporal_embedding_bits": ps.temporal.coded.bits} if ps.temporal is not None else {}),
        **({"grids": [list(g) for g in cfg.grids]} if cfg.grids else {}),
        # the network's canvas (its grid, padding included) and how far the first segment's windows travel
        **({"canvas": {"height": h.height + h.pad_h, "width": h.width + h.pad_w,
                       "travel": [int(v) for v in ps.offsets.max(axis=0) - ps.offsets.min(axis=0)]}}
           if ps.offsets is not None else {}),
        # warped views (1.8): the range of the first segment's zoom (scale on the canvas) and turn
        **({"canvas": {"height": h.height + h.pad_h, "width": h.width + h.pad_w, **_warp_ranges(ps.warps)}}
           if ps.warps is not None else {}),
        "sections": section_table(index, pixels, parsed),
        "rate": {} if over else _summed(_rate(p) for p in parsed),
        "segments": [{"frames": [s.first_frame, s.end_frame], "bytes": s.length + SECTION_FRAMING_BYTES}
                     for s in index.segments],
        "work": work.as_dict(),
        "warnings": over,
    }
    return out


def section_sizes(index: StreamIndex, parsed: list[ParsedStream] | None = None) -> dict[str, int]:
    """Bytes per part of the file; for a segmented stream the header, the index, each section kind
    summed over the segments, and the segments' framing (together: the file's size)."""
    if parsed is None:
        parsed = [index.parse(s.index) for s in index.segments]
    if not index.segmented:
        return dict(parsed[0].sections)
    out = {"header": index.segments[0].offset - 8 - _index_bytes(index)}  # 8: the first SEGM's tag and length
    out["SIDX"] = _index_bytes(index)
    for p in parsed:
        for k, v in p.sections.items():
            if k != "header":
                out[k] = out.get(k, 0) + v
    out["SEGM"] = SECTION_FRAMING_BYTES * len(index.segments)
    return out


def section_table(index: StreamIndex, pixels: int, parsed: list[ParsedStream] | None = None) -> dict:
    """Bytes and bits per pixel of each part of the file (:func:`section_sizes`)."""
    return {k: {"bytes": v, "bpp": 8 * v / pixels} for k, v in section_sizes(index, parsed).items()}


def _index_bytes(index: StreamIndex) -> int:
    return INDEX_FIXED_BYTES + INDEX_ENTRY_BYTES * len(index.segments)


def _summed(rates) -> dict:
    out: dict = {}
    for r in rates:
        for group, v in r.items():
            o = out.setdefault(group, {"model_bits": 0.0, "coded_bits": 0})
            o["model_bits"] = round(o["model_bits"] + v["model_bits"], 1)
            o["coded_bits"] += v["coded_bits"]
    return out


def _rate(ps: ParsedStream) -> dict:
    """Per coded group, the bits its own integer models predict for its symbols (``model_bits``:
    in a 1.2 stream, the rate model the encoder trained) against the bits written (``coded_bits``)."""
    out = {}
    if isinstance(ps.weights, StepCodedWeights):
        out["weights"] = weight_rate(ps.weights, ps.shapes)
    out["embeddings"] = embedding_rate(ps.header, ps.embeddings, ps.cfg.emb_channels, ps.cfg.emb_hw)
    if ps.temporal is not None:
        out["temporal_embeddings"] = embedding_rate(ps.header, ps.temporal, 2 * ps.cfg.t_channels, ps.cfg.temb_hw)
    return out


def _zero_fraction(parsed: list[ParsedStream]) -> float:
    """Fraction of multi-dimensional weights that decode to exactly 0 (pruned or quantised to 0)."""
    zeros = total = 0
    for ps in parsed:
        state = decode_weights(ps.weights, ps.shapes)
        w = [v for v in state.values() if v.dim() > 1]
        zeros += sum(int((v == 0).sum()) for v in w)
        total += sum(v.numel() for v in w)
    return float(zeros / max(total, 1))


def _warp_ranges(warps: np.ndarray) -> dict:
    """The least and greatest scale and turn (degrees, frame by frame without wrapping at 180: a camera
    that turns on past half a turn reads 170 to 190, not -180 to 180) of a canvas's warped views; with an
    object layer (1.9), its box (height, width) and how far its centre travels (rows, columns, in frame
    pixels)."""
    a, b = warps[:, 0] / WARP_ONE, warps[:, 1] / WARP_ONE
    scale, turn = np.hypot(a, b), np.degrees(np.unwrap(np.arctan2(b, a)))
    out = {"scale": [round(float(scale.min()), 4), round(float(scale.max()), 4)],
           "turn_degrees": [round(float(turn.min()), 2), round(float(turn.max()), 2)]}
    if warps.shape[1] == LAYERED:
        top, left, bottom, right = (int(v) for v in warps[0, 8:])
        centre = warps[:, 6:8] / WARP_POS
        out["object"] = {"box": [bottom - top, right - left],
                         "travel": [round(float(v), 1) for v in centre.max(axis=0) - centre.min(axis=0)]}
    return out
