"""Decompression bombs (issue 17): small, CRC-valid streams within the format's limits that declare
enormous work, each built with our own writer."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from snervcodec.bitstream.mapping import header_for
from snervcodec.bitstream.payload import CodedEmbeddings, CodedTensor
from snervcodec.bitstream.stream import build_stream, decoder_shapes
from snervcodec.entropy import SymbolModel
from snervcodec.models import ModelConfig
from snervcodec.models.geometry import Geometry


def _stream(cfg: ModelConfig, n_frames: int, chunk_frames: int, weight_model=None, bits: int = 8) -> bytes:
    p = cfg.stride_product * (2 if cfg.name == "snerv-b" else 1)
    h, w = cfg.emb_hw[0] * p, cfg.emb_hw[1] * p
    geo = Geometry(height=h, width=w, strides=cfg.strides, emb_hw=cfg.emb_hw, pad_h=0, pad_w=0)
    header = header_for(cfg, geo, n_frames, Fraction(25), "rgb24", chunk_frames)
    const = SymbolModel("constant", 0, 0)
    tensors = []
    for i, _ in enumerate(decoder_shapes(cfg)):
        m = weight_model(i) if callable(weight_model) else weight_model or const
        tensors.append(CodedTensor(bits, False, np.ones(1, np.float32), np.zeros(1, np.int32), m,
                                   np.zeros(0, np.uint32)))
    n_chunks = -(-n_frames // chunk_frames)
    ll = cfg.name == "snerv-b"
    emb = CodedEmbeddings(6, False, np.ones(1, np.float32), np.zeros(1, np.int32), const, 8 if ll else 0,
                          0.0 if ll else 0.0, 1.0 if ll else 0.0,
                          SymbolModel("constant", 0, 0) if ll else None, [np.zeros(0, np.uint32)] * n_chunks)
    if ll:  # a frame's LL max must exceed its min: symbols (0, 1) need a two-symbol table
        emb.ll_model = SymbolModel("counts", 0, 1, table_bits=8, table=(128, 128))
        emb.chunks = [np.zeros(1, np.uint32)] * n_chunks
    return build_stream(header, tensors, emb)


def huge_frame(n_frames: int = 1) -> bytes:
    """A 16384x16384 SNeRV frame (strides 8,8,8,8,2, c1=1): about 700 bytes."""
    cfg = ModelConfig("snerv-b", c1=1, n_rb=0, strides=(8, 8, 8, 8, 2), emb_hw=(1, 1))
    return _stream(cfg, n_frames, min(n_frames, 1024))


def huge_embeddings() -> bytes:
    """HNeRV, a 16x64x64 embedding per frame, 65,536 frames."""
    cfg = ModelConfig("hnerv", c1=1, n_rb=0, strides=(1, 1, 1), kernels=(1, 1, 1), emb_hw=(64, 64))
    return _stream(cfg, 1 << 16, 1024)


def many_frames() -> bytes:
    """2^24 one-pixel frames."""
    cfg = ModelConfig("hnerv", c1=1, n_rb=0, strides=(1, 1, 1), kernels=(1, 1, 1), emb_hw=(1, 1))
    return _stream(cfg, 1 << 24, 1024)


def huge_tables(n_rb: int = 64) -> bytes:
    """Every weight tensor under a 65,536-symbol Laplace model (n_rb=64: 546 tensors)."""
    cfg = ModelConfig("snerv-b", c1=1, n_rb=n_rb, strides=(2, 2, 2, 2, 2), emb_hw=(1, 1))
    return _stream(cfg, 1, 1, SymbolModel("laplace", 0, 65535, centre=32768, decay=65535), bits=16)


def distinct_tables(n_rb: int = 64) -> bytes:
    """The same with a different decay per tensor, so no table is shared (546 x 65,536 entries)."""
    cfg = ModelConfig("snerv-b", c1=1, n_rb=n_rb, strides=(2, 2, 2, 2, 2), emb_hw=(1, 1))
    return _stream(cfg, 1, 1, lambda i: SymbolModel("laplace", 0, 65535, centre=32768, decay=65535 - i), bits=16)


BOMBS = {"huge-frame": huge_frame, "huge-frame-1024": lambda: huge_frame(1024), "huge-embeddings": huge_embeddings,
         "many-frames": many_frames, "huge-tables": huge_tables, "distinct-tables": distinct_tables}
