"""Rate control, all of it: size the model for a ``bpp`` before training from calibrated bits per
parameter and per embedding symbol (:func:`plan_model`); steer the estimated rate during training
(:class:`RateController`, rdo); and land the real file in the rate window afterwards, measured on
the real stream bytes: one global step-code shift (:func:`search_shift`) or the fewest symbols moved
toward zero (:func:`trim_to_budget`) for rdo, the pruning fraction and bit depth for the paper's
pipeline (:func:`search_knobs`)."""

from __future__ import annotations

import copy
import math
from dataclasses import replace
from typing import Callable

import numpy as np
import torch.nn as nn

from ..bitstream.stream import decoder_shapes
from ..compress.prune import global_magnitude_mask
from ..errors import BudgetError
from ..entropy.weights import CodedWeights, Sensitivity, WeightEntropyModel
from ..models import ModelConfig, decoder_params, size_for_budget
from ..models.choose import grid_finisher
from ..models.geometry import Geometry
from ..requests import CompressionConfig
from .weights import CodedModel, code_weights

# Calibration, measured on Bunny and carphone (benchmarks/rate_control.py prints them).
BITS_PER_PARAM = {6: 4.3, 7: 5.2, 8: 6.2, 9: 7.2, 10: 8.2}
BITS_PER_EMB_SYMBOL = 4.6
# The rdo pipeline's operating point: the network is sized so that its weights cost this many bits per parameter,
# and lambda is steered there during training, at every rate and length of fit. On the dev set at 20 epochs, 3.5
# bits against the old rule's 2.5 gained a median +0.20 dB at 0.05 and 0.1 bpp (+0.23 at 0.1); at 100 epochs it
# had gained +0.63 dB at 0.1 bpp, and 4.5 bits was no better there (docs/design-notes.md "3.5 bits at every length")
RDO_BITS_PER_PARAM = 3.5
RDO_BITS_PER_EMB_SYMBOL = 3.5  # the embeddings' first steps; and their cost coded frame by frame
# ... and predicted from the previous frame in chunks (format 1.4, priced so in training): a chunk's first frame
# alone, its later frames at this many bits a symbol, 1.6 on average over 8-frame chunks (carphone, 120 frames,
# 0.05 / 0.1 bpp, 20 epochs: 1.49 / 1.63 bits a symbol, LL ranges included). One clip's symbols coded both ways
# (0.05 bpp, 20 epochs): carphone 3.96 bits alone, 0.89 predicted; bikes 3.16 and 1.71
RDO_PREDICTED_BITS_PER_EMB_SYMBOL = (8 * 1.6 - RDO_BITS_PER_EMB_SYMBOL) / 7


def rdo_emb_symbol_bits(chunk_frames: int, n_frames: int) -> float:
    """Planned bits of an rdo embedding symbol: a chunk's first frame coded alone, the others predicted."""
    k = min(chunk_frames, n_frames)
    return RDO_PREDICTED_BITS_PER_EMB_SYMBOL + (RDO_BITS_PER_EMB_SYMBOL - RDO_PREDICTED_BITS_PER_EMB_SYMBOL) / k


# Residual blocks per fusion block of an rdo decoder sized by a budget (bpp or --params; the paper's
# table gives 1-3 at these sizes): none. They run at the two finest grids: in Bunny's 0.1 bpp decoder
# (357K parameters, N_RB 2) 37% of the decoder's multiply-adds for 10% of its parameters. The same
# parameters as width train about as well in less time (20 epochs, SNeRV-B, by seed: Bunny 192x384 at
# 0.05 / 0.1 / 0.2 bpp +0.08 / -0.01, -0.21 / -0.03 dB; carphone at 0.1 / 0.2 bpp -0.26, -0.43 / +0.15 dB;
# at 60 epochs carphone 0.1 -0.02 dB): Bunny 0.1 bpp's rdo encode at 1.30x the paper's time instead of
# 1.55x (benchmarks/pipeline_steps.py; docs/design-notes.md "No residual blocks").
RDO_N_RB = 0
EMB_CHANNEL_LADDER = (16, 8, 4)  # embedding channels tried in turn while they would take over half the budget,
# priced as in chunks of at most LADDER_CHUNK_FRAMES, where the dev set chose the ladder (design notes "Embedding
# channels: the ladder stays"): longer chunks keep its choice and give the bits they save to the decoder
LADDER_CHUNK_FRAMES = 8
STREAM_OVERHEAD_BITS = 8 * 64  # header and section framing
TENSOR_OVERHEAD_BITS = 8 * 14  # quantisation parameters, entropy model, word count of one tensor
CHUNK_INDEX_BITS = 24  # one chunk's entry in an embedding section's index
EMB_SECTION_SIDE_BITS = 8 * 200  # an embedding section's quantisation and entropy models
RATE_TOLERANCE = 0.05


def _embedding_bits(cfg_t: dict, name: str, geo: Geometry, n_frames: int, emb_c: int, uses_dwt: bool,
                    cc: CompressionConfig) -> float:
    """Estimated bits of the embedding sections (EMBD, and TEMB for temporal models)."""
    k = cc.frames_per_chunk
    per_symbol = BITS_PER_EMB_SYMBOL if cc.pipeline != "rdo" else rdo_emb_symbol_bits(k, n_frames)
    t_numel = 0
    if cfg_t:
        t_numel = ModelConfig(name=name, c1=4, n_rb=0, strides=geo.strides, emb_hw=geo.emb_hw,  # type: ignore[arg-type]
                              **cfg_t).temb_numel
    cells = geo.emb_hw[0] * geo.emb_hw[1]
    per_frame = (emb_c * cells + t_numel) * per_symbol * cc.emb_bits / 6
    per_frame += 2 * cc.ll_range_bits if uses_dwt else 0
    n_sections = 2 if cfg_t else 1
    n_chunks = -(-n_frames // k)
    return n_frames * per_frame + n_sections * (n_chunks * CHUNK_INDEX_BITS + EMB_SECTION_SIDE_BITS)


def planned_bits_per_param(cc: CompressionConfig) -> float:
    """What the rdo decoder is sized for: ``--bits-per-param`` when given, else :data:`RDO_BITS_PER_PARAM`."""
    return cc.bits_per_param or RDO_BITS_PER_PARAM


def plan_model(name: str, geo: Geometry, n_frames: int, bpp: float, n_rb: int | None, cc: CompressionConfig,
               uses_dwt: bool, temporal: dict | None = None, grid_share: float | None = None,
               emb_channels: int | None = None, frame_hw: tuple[int, int] | None = None) -> ModelConfig:
    """Size the decoder so that weights + embeddings + side information fit ``bpp``.

    Tries the paper's architecture first (16 embedding channels, minimum width 12); for budgets too
    small for it, steps down a ladder: fewer residual blocks, narrower minimum widths, then 8 or 4
    embedding channels (every one of these is a header field, so any decoder follows).
    ``temporal`` holds SNeRV(T)'s ``t_scale`` / ``t_channels``; its temporal embeddings are paid per
    frame like the main one. Grid models' grids are sized with each candidate (``grid_share`` of its
    parameters, for ``n_frames`` frames) and paid per parameter like the rest of the decoder.
    ``emb_channels`` fixes the embedding's channels instead of the ladder's 16, 8, 4. ``frame_hw``:
    the frames' size where ``geo`` is a canvas's (video/canvas.py): the budget is the frames' pixels.
    The rdo pipeline sizes for ``cc.bits_per_param``, else :data:`RDO_BITS_PER_PARAM`.
    """
    temporal = temporal or {}
    finish = grid_finisher(name, n_frames, grid_share) or (lambda c: c)
    fh, fw = frame_hw or (geo.height, geo.width)
    pixels = fh * fw * n_frames
    target = bpp * pixels
    bpp_param = BITS_PER_PARAM.get(cc.weight_bits, cc.weight_bits * 0.78) * (1 - cc.prune) / 0.9
    if cc.pipeline == "rdo":
        bpp_param = planned_bits_per_param(cc)
    smallest_bits = math.inf
    # SNeRV(T): coarser temporal embeddings (t_scale x2, x4) before fewer embedding channels
    t_options = [temporal, {**temporal, "t_scale": 2 * temporal["t_scale"]},
                 {**temporal, "t_scale": 4 * temporal["t_scale"]}] if temporal else [{}]
    ladder_c = EMB_CHANNEL_LADDER if emb_channels is None else (emb_channels,)
    combos = [(emb_c, tf) for emb_c in ladder_c for tf in t_options]
    ladder_cc = replace(cc, chunk_frames=min(cc.frames_per_chunk, LADDER_CHUNK_FRAMES))  # how the ladder prices them
    for k, (emb_c, tf) in enumerate(combos):
        emb_bits = _embedding_bits(tf, name, geo, n_frames, emb_c, uses_dwt, cc)
        ladder_bits = _embedding_bits(tf, name, geo, n_frames, emb_c, uses_dwt, ladder_cc)
        fixed_nrb = 0 if n_rb is None else n_rb
        ladder = [(n_rb, 12), (1 if n_rb is None else n_rb, 12), (fixed_nrb, 8), (fixed_nrb, 6), (fixed_nrb, 4)]
        for nrb, lw in ladder:
            arch = {"lower_width": lw, "emb_channels": emb_c, **tf}
            smallest = finish(ModelConfig(name=name, c1=4, n_rb=nrb or 0, strides=geo.strides,  # type: ignore[arg-type]
                                          emb_hw=geo.emb_hw, **arch))
            fixed = STREAM_OVERHEAD_BITS + emb_bits + len(decoder_shapes(smallest)) * TENSOR_OVERHEAD_BITS
            smallest_bits = min(smallest_bits, fixed + decoder_params(smallest) * bpp_param)
            if ladder_bits > 0.5 * target and k < len(combos) - 1:
                continue  # embeddings would eat most of the budget: fewer channels first
            try:
                return size_for_budget(name, geo, (target - fixed) / bpp_param, nrb, decoder_params,  # type: ignore[arg-type]
                                       finish, **arch)
            except BudgetError:
                continue
    raise BudgetError(f"{bpp:g} bpp is too small: the smallest achievable for this video is about "
                      f"{smallest_bits / pixels:.4f} bpp ({fh}x{fw}, {n_frames} frames"
                      + (f", {emb_channels} embedding channels)" if emb_channels else ")"))


def pruned_copy(decoder: nn.Module, fraction: float) -> nn.Module:
    d = copy.deepcopy(decoder)
    if fraction > 0:
        global_magnitude_mask(d, fraction).apply(d)
    return d


def search_knobs(decoder: nn.Module, base_fraction: float, weight_bits: int, target_bytes: float,
                 stream_bytes: Callable[[CodedModel], int]) -> tuple[float, int, CodedModel]:
    """Pruning fraction and bit depth that put the stream within the rate window, preferring the
    configured bit depth and the smallest extra pruning. ``stream_bytes`` measures the whole stream
    a coded model gives. Returns (fraction, bits, coded model)."""
    lo_ok, hi_ok = (1 - RATE_TOLERANCE * 0.8) * target_bytes, target_bytes

    def size(frac: float, bits: int) -> tuple[int, CodedModel]:
        cm = code_weights(pruned_copy(decoder, frac), bits)
        return stream_bytes(cm), cm

    order = [weight_bits] + [b for b in (weight_bits - 1, weight_bits - 2, weight_bits + 1, weight_bits + 2)
                             if 4 <= b <= 12]
    best = None
    for bits in order:
        s0, cm0 = size(base_fraction, bits)
        if best is None or abs(s0 - target_bytes) < abs(best[0] - target_bytes):
            best = (s0, base_fraction, bits, cm0)
        if lo_ok <= s0 <= hi_ok:
            return base_fraction, bits, cm0
        if s0 < lo_ok:
            continue  # too small even unpruned beyond the base: try more bits
        a, b = base_fraction, 0.8  # too big: prune more (size decreases with the fraction)
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


# ---- during training: the rate weight and the steps follow the estimated rate ------------------
RATE_GAIN = 2.0  # a step moves the rate about half as much as the high-rate rule says at 2-3 bits per value


class RateController:
    """The rate control of an encode's quantised training phases, the one object the trainer asks
    for the loss's rate weight ``lam`` (D + lam x estimated bpp) and calls after each epoch (every
    1/RATE_UPDATES at fixed steps). With a target it steers the estimated rate there: every step of
    the coded groups moves by one factor, the high-rate rule (one bit per value per octave) over
    RATE_GAIN, at most half an octave, and lam follows by dual ascent (x2^(4 (estimate / target - 1)),
    within x0.5..x2). Without ``move_steps`` (fixed steps: moving them re-rounds a network trained to
    its rounding) only lam moves. lam carries on from phase to phase."""

    def __init__(self, lam: float, target_bits: float | None = None, fixed_bits: float = 0.0):
        self.lam = lam
        self.aim(target_bits, fixed_bits)

    def aim(self, target_bits: float | None, fixed_bits: float = 0.0) -> None:
        """The next phase's target (bits of the estimated symbols; ``fixed_bits``: those of fixed
        embeddings, which the phase does not estimate)."""
        self.target, self.fixed_bits = target_bits, fixed_bits

    @property
    def steers(self) -> bool:
        return bool(self.target)

    def follow(self, estimate: float, groups: list, move_steps: bool = True) -> None:
        """One update from the estimated bits of every coded group (``groups``: those whose steps may move)."""
        if move_steps:
            n = sum(g.numel for g in groups)
            octaves = max(-0.5, min(0.5, RATE_GAIN * (estimate - self.target) / max(n, 1)))
            for g in groups:
                g.scale_steps(octaves)
        self.lam *= 2.0 ** max(-1.0, min(1.0, 4.0 * (estimate / max(self.target, 1.0) - 1.0)))  # x0.5..x2


# ---- after training: land the coded file in the rate window -------------------------------------
MAX_SHIFT = 256  # step-code shifts rate control may try (64 codes = one octave)


def search_shift(decoder: nn.Module, model: WeightEntropyModel, target_bytes: float,
                 size_of: Callable[[CodedWeights], int], coded0: CodedWeights,
                 low: float = 1 - RATE_TOLERANCE * 0.8) -> tuple[int, CodedWeights]:
    """The global step-code shift (coarser > 0, finer < 0) that puts the stream in the rate window
    [``low`` x target, target]; the file size falls as the shift grows. Bisection on integers; returns
    the smallest shift whose stream fits the budget when none lands in the window."""
    lo_ok = low * target_bytes
    cache = {0: (size_of(coded0), coded0)}

    def size(s: int) -> int:
        if s not in cache:
            c = model.compress(decoder, s)
            cache[s] = (size_of(c), c)
        return cache[s][0]

    if lo_ok <= size(0) <= target_bytes:
        return 0, coded0
    # bracket: a shift too big (fits) and one too small (over budget), by doubling away from 0
    if size(0) > target_bytes:
        small, big = 0, 1
        while size(big) > target_bytes and big < MAX_SHIFT:
            small, big = big, 2 * big
    else:
        big, small = 0, -1
        while size(small) < lo_ok and small > -MAX_SHIFT:
            big, small = small, 2 * small
    if lo_ok <= size(small) <= target_bytes:  # doubling toward finer steps stopped inside the window
        return small, cache[small][1]
    while big - small > 1:
        mid = (big + small) // 2
        if lo_ok <= size(mid) <= target_bytes:
            return mid, cache[mid][1]
        if size(mid) > target_bytes:
            small = mid
        else:
            big = mid
    best = big if size(big) <= target_bytes else small
    return best, cache[best][1]


def trim_to_budget(decoder: nn.Module, model: WeightEntropyModel, target_bytes: float,
                   size_of: Callable[[CodedWeights], int],
                   sensitivity: Sensitivity | None = None) -> tuple[int, CodedWeights]:
    """(count, coded weights): the fewest symbols moved one level toward zero, cheapest distortion
    per bit first (:meth:`~..entropy.weights.WeightEntropyModel.trim_costs`, weighted by each
    weight's ``sensitivity`` where given), that fit ``target_bytes``; bisection on the count."""
    costs = model.trim_costs(decoder, 0, sensitivity)

    def coded(n: int) -> CodedWeights:  # a threshold just above the n-th cheapest moves the n cheapest
        return model.compress(decoder, 0, float(np.nextafter(costs[n - 1], np.inf)) if n else None, sensitivity)

    lo, hi = 0, len(costs)  # lo: over budget; hi: fits (every nonzero symbol moved)
    best = coded(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        c = coded(mid)
        if size_of(c) <= target_bytes:
            hi, best = mid, c
        else:
            lo = mid
    return hi, best
