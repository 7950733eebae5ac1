"""Encoding and decoding ``.snv`` streams.

Encoding (paper Sec. 4.2, Supp. D, made real):

    video --overfit--> decoder + embeddings --quantise embeddings (6 bit)--> prune 10% (global |w|)
          --fine-tune decoder on the quantised embeddings, mask fixed--> quantise weights (8 bit)
          --entropy-code (integer models, range coder)--> .snv --decode the bytes--> honest metrics

Rate control (``bpp``): the model is sized from the bit budget before training, using measured bits
per parameter and per embedding symbol; after training the residual error is corrected with the
cheap knobs (pruning fraction, then weight bit depth) before the fine-tune, and once more after it.
"""

from __future__ import annotations

import math
import os
import time
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np
import torch
import torch.nn as nn

from .bitstream.container import read_container, write_container
from .bitstream.header import StreamHeader
from .bitstream.payload import (
    CodedEmbeddings,
    CodedTensor,
    read_embeddings,
    read_weights,
    write_embeddings,
    write_weights,
)
from .compress.prune import PruneMask, global_magnitude_mask
from .compress.quant import QTensor, dequantize, empirical_bits, minmax_grid, quantize_best
from .device import autocast, resolve_device, resolve_precision, to_channels_last
from .entropy import ChunkDecoder, ChunkEncoder, SymbolModel, decode_symbols, encode_symbols, fit_model
from .errors import BudgetError, ConfigError, FormatError, SnervError
from .fsutil import same_file, write_bytes_atomic
from .metrics import ms_ssim_per_frame, psnr_per_frame
from .models import MODELS, ModelConfig, build_decoder, decoder_params, size_for_budget, spec_by_id
from .models.config import TEMPORAL_MODELS
from .models.geometry import Geometry
from .models.synthesis import synthesize
from .training import Trainer, make_train_config
from .video import Video, parse_frame_range, write_video

# Format limits on what a header may make the decoder allocate (bitstream/SPEC.md, "Limits").
MAX_DECODER_PARAMS = 1 << 25
MIN_PARAM_BITS = 1.0 / 256  # a real stream spends far more; a lying header claiming more is refused

# Calibration for rate control, measured on Bunny and carphone (benchmarks/rate_control.py prints them).
BITS_PER_PARAM = {6: 4.3, 7: 5.2, 8: 6.2, 9: 7.2, 10: 8.2}
BITS_PER_EMB_SYMBOL = 4.6
STREAM_OVERHEAD_BITS = 8 * 64
TENSOR_OVERHEAD_BITS = 8 * 14
RATE_TOLERANCE = 0.05


@dataclass(frozen=True)
class CompressionConfig:
    prune: float = 0.1  # fraction of decoder weights removed by global magnitude pruning
    weight_bits: int = 8
    emb_bits: int = 6
    ll_range_bits: int = 6  # per-frame LL (min, max) pair
    finetune: float = 0.1  # fine-tune epochs after pruning, as a fraction of training epochs (at least 1)
    finetune_lr: float = 1e-4
    chunk_frames: int = 8  # frames per independently decodable embedding chunk

    def validate(self) -> "CompressionConfig":
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

    def summary(self) -> str:
        tgt = f" (target {self.target_bpp:g})" if self.target_bpp else ""
        return (f"{self.bytes} bytes, {self.bpp:.5f} bpp{tgt}, PSNR {self.psnr:.2f} dB, MS-SSIM {self.ms_ssim:.4f}, "
                f"{self.seconds:.1f} s")


@dataclass
class DecodeResult:
    frames: np.ndarray  # (N, H, W, 3) uint8
    fps: Fraction
    first_frame: int
    header: StreamHeader
    seconds: float


# ------------------------------------------------------------------------------------------------
# Model <-> header

def header_for(cfg: ModelConfig, geo: Geometry, n_frames: int, fps: Fraction, pix_fmt: str, chunk_frames: int) -> StreamHeader:
    fps = Fraction(fps).limit_denominator((1 << 31) - 1)
    return StreamHeader(
        model_id=MODELS[cfg.name].id, n_blocks=len(cfg.strides), c1=cfg.c1, n_rb=cfg.n_rb,
        emb_channels=cfg.emb_channels, emb_h=cfg.emb_hw[0], emb_w=cfg.emb_hw[1], reduce_milli=cfg.reduce_milli,
        lower_width=cfg.lower_width, width=geo.width, height=geo.height, pad_w=geo.pad_w, pad_h=geo.pad_h,
        n_frames=n_frames, fps_num=fps.numerator, fps_den=fps.denominator, chunk_frames=chunk_frames,
        strides=tuple(cfg.strides), kernels=tuple(cfg.kernels), pix_fmt=(pix_fmt or "")[:32],
        t_scale=cfg.t_scale, t_channels=cfg.t_channels,
    )


def config_from_header(h: StreamHeader) -> ModelConfig:
    spec = spec_by_id(h.model_id)
    return ModelConfig(name=spec.name, c1=h.c1, n_rb=h.n_rb, strides=h.strides, emb_hw=(h.emb_h, h.emb_w),
                       kernels=h.kernels, emb_channels=h.emb_channels, reduce_milli=h.reduce_milli,
                       lower_width=h.lower_width, t_scale=h.t_scale, t_channels=h.t_channels)  # type: ignore[arg-type]


def _model_kind(model_id: int) -> tuple[bool, bool]:
    """(uses the DWT, has temporal embeddings) for a model id of the frozen table."""
    try:
        name = spec_by_id(model_id).name
    except KeyError:
        raise FormatError(f"unknown model id {model_id} (this decoder knows "
                          f"{', '.join(f'{s.id}={s.name}' for s in MODELS.values())})") from None
    return name != "hnerv", name in TEMPORAL_MODELS


# ------------------------------------------------------------------------------------------------
# Weights

@dataclass
class CodedModel:
    tensors: list[CodedTensor]
    state: dict[str, torch.Tensor]  # dequantised weights, exactly as the decoder will see them
    stats: dict


def code_weights(decoder: nn.Module, bits: int) -> CodedModel:
    tensors, state = [], {}
    n_sym = coded = emp = side = 0.0
    for name, p in decoder.state_dict().items():
        qt = quantize_best(p, bits)
        model = fit_model(qt.symbols)
        words = encode_symbols(qt.symbols, model)
        tensors.append(CodedTensor(bits, qt.per_channel, qt.scale, qt.zero, model, words))
        state[name] = dequantize(qt)
        n_sym += qt.symbols.size
        coded += 32 * len(words)
        emp += empirical_bits(qt.symbols)
        side += model.side_bits() + 16 + 48 * len(qt.scale)
    return CodedModel(tensors, state, {"symbols": int(n_sym), "coded_bits": int(coded), "entropy_bits": emp,
                                       "side_bits": int(side)})


def decode_weights(tensors: list[CodedTensor], shapes: dict[str, tuple[int, ...]]) -> dict[str, torch.Tensor]:
    state = {}
    for (name, shape), t in zip(shapes.items(), tensors):
        n = math.prod(shape)
        try:
            sym = decode_symbols(t.words, t.model, n)
        except Exception as e:  # constriction raises on words that cannot be a valid stream
            raise FormatError(f"DECW section: tensor {name} does not decode ({e})") from None
        qt = QTensor(sym.reshape(shape), t.scale, t.zero, t.bits, t.per_channel, shape)
        state[name] = dequantize(qt)
    return state


# ------------------------------------------------------------------------------------------------
# Embeddings

@dataclass
class QuantEmbeddings:
    qt: QTensor  # symbols (C, T, h, w): per-channel quantisation runs along the embedding channels
    values: torch.Tensor  # dequantised (T, C, h, w)
    ll_range: tuple | None  # (lo, hi, qmin, qmax, vmin, vmax) from quantize_minmax, or None


def quantize_embeddings(emb: torch.Tensor, bits: int, ll_range) -> QuantEmbeddings:
    qt = quantize_best(emb.transpose(0, 1).contiguous(), bits)
    values = dequantize(qt).transpose(0, 1).contiguous()
    return QuantEmbeddings(qt, values, ll_range)


def code_embeddings(qe: QuantEmbeddings, ll_bits: int, chunk_frames: int) -> tuple[CodedEmbeddings, dict]:
    sym = qe.qt.symbols.transpose(1, 0, 2, 3)  # (T, C, h, w)
    t = sym.shape[0]
    model = fit_model(sym)
    mm_model, mm_sym = None, None
    if qe.ll_range is not None:
        mm_sym = np.stack([qe.ll_range[2], qe.ll_range[3]], axis=1)  # (T, 2)
        mm_model = fit_model(mm_sym)
    chunks = []
    for start in range(0, t, chunk_frames):
        enc = ChunkEncoder()
        for i in range(start, min(start + chunk_frames, t)):
            if mm_sym is not None:
                enc.encode(mm_sym[i], mm_model)
            enc.encode(sym[i], model)
        chunks.append(enc.words())
    coded = CodedEmbeddings(bits=qe.qt.bits, per_channel=qe.qt.per_channel, scale=qe.qt.scale, zero=qe.qt.zero,
                            model=model, mm_bits=ll_bits if mm_sym is not None else 0,
                            mm_lo=float(qe.ll_range[0]) if mm_sym is not None else 0.0,
                            mm_hi=float(qe.ll_range[1]) if mm_sym is not None else 0.0, mm_model=mm_model,
                            chunks=chunks)
    emp = empirical_bits(sym) + (empirical_bits(mm_sym) if mm_sym is not None else 0.0)
    stats = {"symbols": int(sym.size + (mm_sym.size if mm_sym is not None else 0)),
             "coded_bits": int(32 * sum(len(c) for c in chunks)), "entropy_bits": emp,
             "side_bits": int(model.side_bits() + (mm_model.side_bits() if mm_model else 0) + 48 * len(qe.qt.scale))}
    return coded, stats


# ------------------------------------------------------------------------------------------------
# Stream assembly

def build_stream(header: StreamHeader, coded_model: CodedModel, coded_emb: CodedEmbeddings,
                 coded_temb: CodedEmbeddings | None = None) -> bytes:
    sections = [(b"DECW", write_weights(coded_model.tensors)), (b"EMBD", write_embeddings(coded_emb))]
    if coded_temb is not None:
        sections.append((b"TEMB", write_embeddings(coded_temb)))
    return write_container(header, sections)


@dataclass
class ParsedStream:
    header: StreamHeader
    cfg: ModelConfig
    version: tuple[int, int]
    sections: dict[str, int]
    weights: list[CodedTensor]
    shapes: dict[str, tuple[int, ...]]
    embeddings: object  # EmbeddingIndex
    temporal: object = None  # EmbeddingIndex of the TEMB section (SNeRV(T))


def parse_stream(data: bytes) -> ParsedStream:
    """Check framing, header, checksums and every size field; decode nothing heavy."""
    c = read_container(data, _model_kind)
    cfg = config_from_header(c.header)
    with torch.device("meta"):
        try:
            dec = build_decoder(cfg)
        except (ValueError, RuntimeError) as e:
            raise FormatError(f"header describes an impossible network ({e})") from None
    shapes = {k: tuple(v.shape) for k, v in dec.state_dict().items()}
    n_params = sum(math.prod(s) for s in shapes.values())
    if n_params > MAX_DECODER_PARAMS:
        raise FormatError(f"header describes a {n_params}-parameter decoder; the format allows {MAX_DECODER_PARAMS}")
    if n_params * MIN_PARAM_BITS > 8 * len(c.sections[b"DECW"]):
        raise FormatError(f"DECW section of {len(c.sections[b'DECW'])} bytes cannot hold {n_params} parameters")
    weights = read_weights(c.sections[b"DECW"], list(shapes.values()))
    emb = read_embeddings(c.sections[b"EMBD"], cfg.emb_channels, c.header.n_chunks, cfg.uses_dwt)
    temb = None
    if cfg.temporal:
        temb = read_embeddings(c.sections[b"TEMB"], 2 * cfg.t_channels, c.header.n_chunks, False, "TEMB")
    return ParsedStream(c.header, cfg, c.version, c.section_sizes, weights, shapes, emb, temb)


def _decode_chunked(h: StreamHeader, idx, start: int, end: int, channels: int, hw: tuple[int, int],
                    tag: str) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Values (T, channels, *hw) and LL ranges of frames [start, end) of an EMBD / TEMB section,
    decoding only the chunks that hold them."""
    e = idx.coded
    per_frame = channels * hw[0] * hw[1]
    cf = h.chunk_frames
    embs, mms = [], []
    cache: dict = {}
    for ci in range(start // cf, (end - 1) // cf + 1):
        n_in = min(cf, h.n_frames - ci * cf)
        try:
            dec = ChunkDecoder(idx.chunk_words(ci), cache)
            for _ in range(n_in):
                mms.append(dec.decode(2, e.mm_model) if e.mm_bits else None)
                embs.append(dec.decode(per_frame, e.model))
        except FormatError:
            raise
        except Exception as ex:
            raise FormatError(f"{tag} section: chunk {ci} does not decode ({ex})") from None
    first = start - (start // cf) * cf
    sym = np.stack(embs[first:first + end - start]).reshape(end - start, channels, *hw)
    qt = QTensor(sym.transpose(1, 0, 2, 3).copy(), e.scale, e.zero, e.bits, e.per_channel,
                 (channels, end - start, *hw))
    emb = dequantize(qt).transpose(0, 1).contiguous()
    mm = None
    if e.mm_bits:
        q = np.stack(mms[first:first + end - start])  # (N, 2)
        mm = torch.from_numpy(minmax_grid(e.mm_lo, e.mm_hi, q, e.mm_bits))
        if torch.any(mm[:, 1] <= mm[:, 0]):
            raise FormatError(f"{tag} section: empty LL range for a frame")
    return emb, mm


def decode_embeddings(ps: ParsedStream, start: int, end: int) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Embeddings (and LL ranges) of frames [start, end), decoding only the chunks that hold them."""
    return _decode_chunked(ps.header, ps.embeddings, start, end, ps.cfg.emb_channels, ps.cfg.emb_hw, "EMBD")


def decode_temporal(ps: ParsedStream, start: int, end: int) -> torch.Tensor | None:
    """SNeRV(T)'s temporal embeddings (backward, forward) of frames [start, end); None for other models."""
    if ps.temporal is None:
        return None
    return _decode_chunked(ps.header, ps.temporal, start, end, 2 * ps.cfg.t_channels, ps.cfg.temb_hw, "TEMB")[0]


# ------------------------------------------------------------------------------------------------
# Decoding

@torch.no_grad()
def decode(source: str | os.PathLike | bytes, output: str | os.PathLike | None = None, *, frames: str | None = None,
           device: str = "auto", precision: str = "fp32", batch_size: int = 4, lossless: bool = False,
           progress: bool = False) -> DecodeResult:
    """Rebuild the network from the stream alone, synthesise frames, crop the padding.

    ``frames="START:END"`` decodes only those frames (random access: each needs only its own chunk of
    embeddings). With ``output``, the frames are also written (mp4 / y4m / PNGs, atomically).
    """
    t0 = time.perf_counter()
    data = _read_stream_bytes(source)
    ps = parse_stream(data)
    h, cfg = ps.header, ps.cfg
    start, end = parse_frame_range(frames)
    end = h.n_frames if end is None else end
    if start >= h.n_frames or end > h.n_frames:
        raise ConfigError(f"frames {start}:{end} outside the stream's 0:{h.n_frames}")
    dev = resolve_device(device)
    prec = resolve_precision(precision, dev)
    state = decode_weights(ps.weights, ps.shapes)
    with torch.device("meta"):
        decoder = build_decoder(cfg)
    decoder.load_state_dict(state, assign=True)
    decoder = decoder.to(dev).eval()
    if dev.type != "mps":
        decoder = to_channels_last(decoder)
    # Batches are aligned to absolute frame indices (frames kB .. kB+B-1), so a frame is always
    # synthesised in the same batch whatever range was asked for: random access is bit-exact with a
    # full decode (convolution kernels may round differently for different batch compositions).
    b = max(1, int(batch_size))
    a0, a1 = start // b * b, min(-(-end // b) * b, h.n_frames)
    emb, mm = decode_embeddings(ps, a0, a1)
    temb = decode_temporal(ps, a0, a1)
    out = np.empty((end - start, h.height, h.width, 3), dtype=np.uint8)
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=end - start, unit="frame", desc="decode", leave=False)
    for i in range(0, a1 - a0, b):
        e = emb[i:i + b].to(dev)
        if dev.type != "mps":
            e = e.contiguous(memory_format=torch.channels_last)
        lo = mm[i:i + b, 0].to(dev) if mm is not None else None
        hi = mm[i:i + b, 1].to(dev) if mm is not None else None
        te = None
        if temb is not None:
            te = temb[i:i + b].to(dev)
            if dev.type != "mps":
                te = te.contiguous(memory_format=torch.channels_last)
        with autocast(dev, prec):
            x = synthesize(decoder, cfg, e, lo, hi, te).frame
        x = x[..., :h.height, :h.width].clamp(0, 1).mul(255).round().to(torch.uint8)
        f0, f1 = a0 + i, a0 + i + len(x)          # absolute frames in this batch
        k0, k1 = max(f0, start), min(f1, end)     # the requested part of it
        if k1 > k0:
            out[k0 - start:k1 - start] = x[k0 - f0:k1 - f0].permute(0, 2, 3, 1).cpu().numpy()
            if bar is not None:
                bar.update(k1 - k0)
    if bar is not None:
        bar.close()
    if output is not None:
        if isinstance(source, (str, os.PathLike)) and same_file(source, output):
            raise ConfigError("the output would overwrite the input stream")
        write_video(output, out, h.fps, lossless=lossless)
    return DecodeResult(out, h.fps, start, h, time.perf_counter() - t0)


def _read_stream_bytes(source) -> bytes:
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source)
    p = Path(source)
    if not p.exists():
        raise SnervError(f"{p}: no such file")
    if p.is_dir():
        raise SnervError(f"{p}: is a directory")
    return p.read_bytes()


# ------------------------------------------------------------------------------------------------
# Info

def info(source: str | os.PathLike | bytes) -> dict:
    data = _read_stream_bytes(source)
    ps = parse_stream(data)
    h, cfg = ps.header, ps.cfg
    pixels = h.width * h.height * h.n_frames
    n_params = sum(math.prod(s) for s in ps.shapes.values())
    e = ps.embeddings.coded
    models: dict[str, int] = {}
    for t in ps.weights:
        models[t.model.kind] = models.get(t.model.kind, 0) + 1
    return {
        "format_version": f"{ps.version[0]}.{ps.version[1]}",
        "model": cfg.name, "model_id": h.model_id, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
        "kernels": list(cfg.kernels), "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": n_params,
        "width": h.width, "height": h.height, "padding": [h.pad_h, h.pad_w], "frames": h.n_frames,
        "fps": f"{h.fps_num}/{h.fps_den}", "source_pix_fmt": h.pix_fmt, "chunk_frames": h.chunk_frames,
        "bytes": len(data), "bpp": 8 * len(data) / pixels,
        "weight_bits": sorted({t.bits for t in ps.weights}),
        "weight_zero_fraction": _zero_fraction(ps),
        "weight_entropy_models": models,
        "embedding_bits": e.bits, "ll_range_bits": e.mm_bits,
        **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw], "t_scale": cfg.t_scale,
            "temporal_embedding_bits": ps.temporal.coded.bits} if cfg.temporal else {}),
        "sections": {k: {"bytes": v, "bpp": 8 * v / pixels} for k, v in ps.sections.items()},
    }


def _zero_fraction(ps: ParsedStream) -> float:
    """Fraction of multi-dimensional weights that decode to exactly 0 (pruned or quantised to 0)."""
    state = decode_weights(ps.weights, ps.shapes)
    w = [v for v in state.values() if v.dim() > 1]
    return float(sum(int((v == 0).sum()) for v in w) / max(sum(v.numel() for v in w), 1))


# ------------------------------------------------------------------------------------------------
# Encoding

def _plan_model(name: str, geo: Geometry, n_frames: int, bpp: float, n_rb: int | None, cc: CompressionConfig,
                uses_dwt: bool, temporal: dict | None = None) -> ModelConfig:
    """Size the decoder so that weights + embeddings + side information fit ``bpp``.

    Tries the paper's architecture first (16 embedding channels, minimum width 12); for budgets too
    small for it, steps down a ladder: fewer residual blocks, narrower minimum widths, then 8 or 4
    embedding channels (every one of these is a header field, so any decoder follows).
    ``temporal`` holds SNeRV(T)'s ``t_scale`` / ``t_channels``; its temporal embeddings are paid per
    frame like the main one.
    """
    temporal = temporal or {}
    pixels = geo.height * geo.width * n_frames
    target = bpp * pixels
    n_chunks = -(-n_frames // cc.chunk_frames)
    cells = geo.emb_hw[0] * geo.emb_hw[1]
    n_tensors = 4 * len(geo.strides) + 40
    bpp_param = BITS_PER_PARAM.get(cc.weight_bits, cc.weight_bits * 0.78) * (1 - cc.prune) / 0.9
    smallest_bits = math.inf
    # SNeRV(T): coarser temporal embeddings (t_scale x2, x4) before fewer embedding channels
    t_options = [temporal, {**temporal, "t_scale": 2 * temporal["t_scale"]},
                 {**temporal, "t_scale": 4 * temporal["t_scale"]}] if temporal else [{}]
    combos = [(emb_c, tf) for emb_c in (16, 8, 4) for tf in t_options]
    for k, (emb_c, tf) in enumerate(combos):
        t_numel = 0
        if tf:
            t_numel = ModelConfig(name=name, c1=4, n_rb=0, strides=geo.strides, emb_hw=geo.emb_hw,  # type: ignore[arg-type]
                                  **tf).temb_numel
        emb_bits = n_frames * ((emb_c * cells + t_numel) * BITS_PER_EMB_SYMBOL * cc.emb_bits / 6
                               + (12 if uses_dwt else 0))
        emb_bits += n_chunks * (48 if tf else 24) + 8 * (400 if tf else 200)
        fixed = STREAM_OVERHEAD_BITS + emb_bits + n_tensors * TENSOR_OVERHEAD_BITS
        budget = (target - fixed) / bpp_param
        ladder = [(n_rb, 12), (1 if n_rb is None else n_rb, 12), (0 if n_rb is None else n_rb, 8),
                  (0 if n_rb is None else n_rb, 6), (0 if n_rb is None else n_rb, 4)]
        for nrb, lw in ladder:
            arch = {"lower_width": lw, "emb_channels": emb_c, **tf}
            smallest = ModelConfig(name=name, c1=4, n_rb=nrb or 0, strides=geo.strides, emb_hw=geo.emb_hw, **arch)  # type: ignore[arg-type]
            smallest_bits = min(smallest_bits, fixed + decoder_params(smallest) * bpp_param)
            if emb_bits > 0.5 * target and k < len(combos) - 1:
                continue  # embeddings would eat most of the budget: fewer channels first
            try:
                return size_for_budget(name, geo, budget, nrb, decoder_params, **arch)  # type: ignore[arg-type]
            except BudgetError:
                continue
    raise BudgetError(f"{bpp:g} bpp is too small: the smallest achievable for this video is about "
                      f"{smallest_bits / pixels:.4f} bpp ({geo.height}x{geo.width}, {n_frames} frames)")


def _search_knobs(decoder: nn.Module, base_mask_fraction: float, weight_bits: int, target_bytes: float,
                  other_bytes: int, header_bytes: int) -> tuple[float, int, CodedModel]:
    """Pruning fraction and bit depth that put the stream within the rate window, preferring the
    configured bit depth and the smallest extra pruning. Returns (fraction, bits, coded model)."""
    lo_ok, hi_ok = (1 - RATE_TOLERANCE * 0.8) * target_bytes, target_bytes

    def size(frac: float, bits: int) -> tuple[int, CodedModel]:
        d = _pruned_copy(decoder, frac)
        cm = code_weights(d, bits)
        return other_bytes + header_bytes + len(write_weights(cm.tensors)) + 16, cm

    order = [weight_bits] + [b for b in (weight_bits - 1, weight_bits - 2, weight_bits + 1, weight_bits + 2)
                             if 4 <= b <= 12]
    best = None
    for bits in order:
        s0, cm0 = size(base_mask_fraction, bits)
        if best is None or abs(s0 - target_bytes) < abs(best[0] - target_bytes):
            best = (s0, base_mask_fraction, bits, cm0)
        if lo_ok <= s0 <= hi_ok:
            return base_mask_fraction, bits, cm0
        if s0 < lo_ok:
            continue  # too small even unpruned beyond the base: try more bits
        # too big: prune more (size decreases with the fraction)
        a, b = base_mask_fraction, 0.8
        sb, cmb = size(b, bits)
        if sb > hi_ok:
            if abs(sb - target_bytes) < abs(best[0] - target_bytes):
                best = (sb, b, bits, cmb)
            continue
        for _ in range(14):
            m = 0.5 * (a + b)
            sm, cmm = size(m, bits)
            if abs(sm - target_bytes) < abs(best[0] - target_bytes):
                best = (sm, m, bits, cmm)
            if lo_ok <= sm <= hi_ok:
                return m, bits, cmm
            if sm > hi_ok:
                a = m
            else:
                b = m
        return b, bits, cmb if b == 0.8 else size(b, bits)[1]
    return best[1], best[2], best[3]


def _pruned_copy(decoder: nn.Module, fraction: float) -> nn.Module:
    import copy

    d = copy.deepcopy(decoder)
    if fraction > 0:
        global_magnitude_mask(d, fraction).apply(d)
    return d


def encode(source, output: str | os.PathLike | None = None, *, bpp: float | None = None, model: str = "snerv-b",
           c1: int | None = None, n_rb: int | None = None, params: float | None = None,
           strides: tuple[int, ...] | None = None, t_scale: int | None = None, frames: str | None = None,
           size: str | None = None, crop: str | None = None, resize: str = "bicubic", preset: str | None = "fast",
           epochs: int | None = None,
           device: str = "auto", precision: str = "auto", seed: int = 0,
           compression: CompressionConfig | None = None, progress: bool = True, on_eval=None,
           **train_overrides) -> EncodeResult:
    """Overfit a network to a video and write it as a ``.snv`` stream.

    Size the model with ``bpp`` (rate control: the file lands within 5% of the budget), or with
    ``c1`` / ``params``. Metrics in the result come from decoding the stream's own bytes.
    """
    from .api import load_video, model_config

    t0 = time.perf_counter()
    cc = (compression or CompressionConfig()).validate()
    if output is not None and isinstance(source, (str, os.PathLike)) and (
            same_file(source, output) or Path(source).resolve() == Path(output).resolve()):
        raise ConfigError("the output would overwrite the input")
    if bpp is not None and (c1 is not None or params is not None):
        raise ConfigError("give a target bpp or a model size (c1 / params), not both")
    if bpp is not None and not 0 < bpp < 64:
        raise ConfigError(f"bpp must be in (0, 64), got {bpp}")
    video: Video = load_video(source, frames=frames, size=size, crop=crop, resize=resize)
    t, h, w, _ = video.frames.shape
    if t > (1 << 24):
        raise ConfigError("more frames than the format allows")
    cfg, geo = model_config(model, h, w, c1=c1, n_rb=n_rb, params=params, strides=strides, t_scale=t_scale)
    if bpp is not None:
        tf = {"t_scale": cfg.t_scale, "t_channels": cfg.t_channels} if cfg.temporal else None
        cfg = _plan_model(model, geo, t, bpp, n_rb, cc, cfg.uses_dwt, tf)
    tcfg = make_train_config(preset, model=model, epochs=epochs, precision=precision, seed=seed, **train_overrides)
    ll_bits = cc.ll_range_bits if cfg.uses_dwt else None
    trainer = Trainer(video.frames, cfg, geo, tcfg, device=device, ll_range_bits=ll_bits)
    trainer.run(progress=progress, on_eval=on_eval)
    float_metrics = trainer.evaluate(with_msssim=False)

    # 1. embeddings: quantise once; the decoder is fine-tuned on exactly these values
    emb, temb = trainer.encode_all()
    qe = quantize_embeddings(emb, cc.emb_bits, trainer.data.ll_range)
    coded_emb, emb_stats = code_embeddings(qe, cc.ll_range_bits, cc.chunk_frames)
    emb_bytes = len(write_embeddings(coded_emb)) + 12
    qte = coded_temb = None
    if temb is not None:  # SNeRV(T): temporal embeddings, quantised like the main ones (TEMB section)
        qte = quantize_embeddings(temb, cc.emb_bits, None)
        coded_temb, temb_stats = code_embeddings(qte, cc.ll_range_bits, cc.chunk_frames)
        emb_bytes += len(write_embeddings(coded_temb)) + 12
    header = header_for(cfg, geo, t, video.meta.fps, video.meta.pix_fmt, cc.chunk_frames)
    header_bytes = len(write_container(header, []))

    # 2. choose pruning fraction and bit depth (rate control), prune, fine-tune with the mask fixed
    decoder = trainer.decoder
    prune, wbits = cc.prune, cc.weight_bits
    target_bytes = bpp * h * w * t / 8 if bpp is not None else None
    if target_bytes is not None:
        prune, wbits, _ = _search_knobs(decoder, cc.prune, cc.weight_bits, target_bytes, emb_bytes, header_bytes)
    mask = global_magnitude_mask(decoder, prune)
    mask.apply(decoder)
    ft_epochs = max(1, round(cc.finetune * tcfg.epochs)) if tcfg.epochs > 0 and cc.finetune > 0 else 0
    trainer.finetune_decoder(qe.values, ft_epochs, cc.finetune_lr, mask=mask if prune > 0 else None,
                             progress=progress, temporal=qte.values if qte is not None else None)

    # 3. quantise and entropy-code the weights; correct the residual rate error once more
    dec_cpu = _cpu_copy(decoder)
    if target_bytes is not None:
        prune2, wbits, coded_model = _search_knobs(dec_cpu, prune, wbits, target_bytes, emb_bytes, header_bytes)
        prune = max(prune, prune2)
    else:
        coded_model = code_weights(dec_cpu, wbits)
    stream = build_stream(header, coded_model, coded_emb, coded_temb)

    # 4. honest metrics: decode the bytes we are about to write
    dec = decode(stream, device=str(trainer.device), precision="fp32")
    ref = torch.from_numpy(video.frames).permute(0, 3, 1, 2).float().div(255)
    rec = torch.from_numpy(dec.frames).permute(0, 3, 1, 2).float().div(255)
    psnr = float(psnr_per_frame(rec, ref).mean())
    msssim = float(torch.cat([ms_ssim_per_frame(rec[i:i + 8], ref[i:i + 8])[0] for i in range(0, t, 8)]).mean())
    if output is not None:
        write_bytes_atomic(output, stream)
    pixels = h * w * t
    parsed = parse_stream(stream)
    sections = {k: {"bytes": v, "bpp": 8 * v / pixels} for k, v in parsed.sections.items()}
    entropy = {"weights": coded_model.stats, "embeddings": emb_stats}
    if coded_temb is not None:
        entropy["temporal_embeddings"] = temb_stats
    return EncodeResult(
        stream=stream, path=os.fspath(output) if output is not None else None, bytes=len(stream),
        bpp=8 * len(stream) / pixels, psnr=psnr, ms_ssim=msssim, float_psnr=float_metrics["psnr"],
        seconds=time.perf_counter() - t0,
        model={"name": cfg.name, "c1": cfg.c1, "n_rb": cfg.n_rb, "strides": list(cfg.strides),
               "embedding": [cfg.emb_channels, *cfg.emb_hw], "decoder_params": decoder_params(cfg),
               **({"temporal_embeddings": [2, cfg.t_channels, *cfg.temb_hw]} if cfg.temporal else {}),
               "precision": trainer.precision, "epochs": tcfg.epochs, "finetune_epochs": ft_epochs},
        compression={**asdict(cc), "prune": prune, "weight_bits": wbits}, sections=sections, entropy=entropy,
        target_bpp=bpp, history=trainer.history,
    )


def _cpu_copy(decoder: nn.Module) -> nn.Module:
    import copy

    return copy.deepcopy(decoder).to("cpu", memory_format=torch.contiguous_format).float()
