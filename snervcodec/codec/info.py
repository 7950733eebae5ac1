"""``info``: what a stream holds, from its header and section index (nothing synthesised)."""

from __future__ import annotations

import os

from ..bitstream.payload_grid import GridWeights
from ..bitstream.stream import ParsedStream, parse_stream
from .decode import read_stream_bytes
from .embeddings import embedding_rate
from .gridcoding import grid_rate
from .limits import DecodeLimits, declared_work, exceeded
from .weights import decode_weights


def info(source: str | os.PathLike | bytes, limits: DecodeLimits | None = None) -> dict:
    """Everything about a stream that its header and models say. ``work`` is what decoding all of it
    would cost and ``warnings`` the decoder limits it exceeds; a stream over them is described
    without decoding anything (no zero fraction, no rate), so ``info`` stays instant on any stream."""
    data = read_stream_bytes(source)
    ps = parse_stream(data)
    h, cfg = ps.header, ps.cfg
    work = declared_work(ps)
    over = exceeded(work, limits or DecodeLimits())
    pixels = h.width * h.height * h.n_frames
    e = ps.embeddings.coded
    models: dict[str, int] = {}
    tensors = ps.weights.tensors if isinstance(ps.weights, GridWeights) else ps.weights
    for t in tensors:
        models[t.model.kind] = models.get(t.model.kind, 0) + 1
    return {
        "format_version": f"{ps.version[0]}.{ps.version[1]}",
        "model": cfg.name, "model_id": h.model_id, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
        "kernels": list(cfg.kernels), "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": ps.n_params,
        "width": h.width, "height": h.height, "padding": [h.pad_h, h.pad_w], "frames": h.n_frames,
        "fps": f"{h.fps_num}/{h.fps_den}", "source_pix_fmt": h.pix_fmt, "chunk_frames": h.chunk_frames,
        "bytes": len(data), "bpp": 8 * len(data) / pixels,
        "weight_bits": sorted({t.bits for t in tensors}),
        "quantiser": "step-code grid" if isinstance(ps.weights, GridWeights) else "affine",
        "weight_zero_fraction": None if over else _zero_fraction(ps),
        "weight_entropy_models": models,
        "embedding_bits": e.bits, "ll_range_bits": e.ll_bits,
        **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw], "t_scale": cfg.t_scale,
            "temporal_embedding_bits": ps.temporal.coded.bits} if ps.temporal is not None else {}),
        "sections": {k: {"bytes": v, "bpp": 8 * v / pixels} for k, v in ps.sections.items()},
        "rate": {} if over else _rate(ps),
        "work": work.as_dict(),
        "warnings": over,
    }


def _rate(ps: ParsedStream) -> dict:
    """Per coded group, the bits its own integer models predict for its symbols (``model_bits``:
    in a 1.2 stream, the rate model the encoder trained) against the bits written (``coded_bits``)."""
    out = {}
    if isinstance(ps.weights, GridWeights):
        out["weights"] = grid_rate(ps.weights, ps.shapes)
    out["embeddings"] = embedding_rate(ps.header, ps.embeddings, ps.cfg.emb_channels, ps.cfg.emb_hw)
    if ps.temporal is not None:
        out["temporal_embeddings"] = embedding_rate(ps.header, ps.temporal, 2 * ps.cfg.t_channels, ps.cfg.temb_hw)
    return out


def _zero_fraction(ps: ParsedStream) -> float:
    """Fraction of multi-dimensional weights that decode to exactly 0 (pruned or quantised to 0)."""
    state = decode_weights(ps.weights, ps.shapes)
    w = [v for v in state.values() if v.dim() > 1]
    return float(sum(int((v == 0).sum()) for v in w) / max(sum(v.numel() for v in w), 1))
