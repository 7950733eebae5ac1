"""The rate-distortion-optimised pipeline (the default; format 1.2): train with the quantiser and
the rate in the loop, after HiNeRV (quantisation-aware training) and NVRC (learned steps, a rate
term, entropy models for weights and latents).

    fit (float) --prune 10%--> qat-noise: encoder + decoder, D + lam R, noise quantiser -->
    quantise and code the embeddings --> qat-ste: decoder alone, exact rounding at the coded
    steps, D + lam R --> code the weights with the learned steps and rate models --> .snv 1.2 / 1.4

The embeddings are priced in training as format 1.4 codes them (each frame of a chunk from the
previous one: :class:`~..compress.qat.EmbeddingQuantizer`). With a bpp target, lam follows the
estimated rate during training (:meth:`Trainer._follow_rate`); one global step shift lands the rate
before the last phase, and after it the fewest symbols nearest their rounding boundary move one level
toward zero (:func:`trim_to_budget`, RDOQ-like), so that the steps the last phase trained on stay.
The alphabets stay the paper's: 8-bit weights, 6-bit embeddings, 10% magnitude pruning.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Callable

import numpy as np

from ..bitstream.container import SECTION_FRAMING_BYTES
from ..bitstream.stream import build_stream, header_bytes
from ..compress.prune import global_magnitude_mask
from ..training import Trainer
from ..training.phases import rdo_phases
from .embeddings import code_embeddings, quantize_embeddings_grid
from .encode import float_psnr
from .gridcoding import GridCoded, code_weights_grid, trim_costs
from .ratecontrol import RATE_TOLERANCE, RDO_BITS_PER_EMB_SYMBOL
from .types import PipelineOutput
from .weights import cpu_copy

DEFAULT_LAMBDA = 0.5  # rate weight (loss units per bit per pixel); measured flat over 0.15-0.5, worse at 4
MAX_SHIFT = 256  # step-code shifts rate control may try (64 codes = one octave)
MODEL_SIDE_BYTES = 24  # per decoder tensor in DECG (1.2): bit depth and two symbol models (about)


def rdo_pipeline(trainer: Trainer, p, header, progress: bool, on_eval: Callable | None) -> PipelineOutput:
    """Train (three phases), code, and return the stream; ``p`` is the encode plan."""
    cc, tc = p.cc, p.tcfg
    ft = max(1, round(cc.finetune * tc.epochs)) if tc.epochs > 0 and cc.finetune > 0 else 0
    lam = cc.lam or DEFAULT_LAMBDA
    fit, noise, ste = rdo_phases(tc, ft, lam, trainer.lr_scale, tc.time_limit)
    trainer.run_phase(fit, progress=progress, on_eval=on_eval)
    psnr = float_psnr(trainer)
    mask = global_magnitude_mask(trainer.decoder, cc.prune)
    mask.apply(trainer.decoder)
    rdo = trainer.attach_quantizers(cc.weight_bits, cc.emb_bits, p.bits_per_param, RDO_BITS_PER_EMB_SYMBOL,
                                    cc.chunk_frames)
    steer = p.target_bytes is not None
    n_tensors = len(rdo.weights.names)
    fixed_bytes = header_bytes(header) + 3 * SECTION_FRAMING_BYTES + n_tensors * MODEL_SIDE_BYTES
    target = 8 * (p.target_bytes - fixed_bytes) if steer else None
    trainer.run_phase(noise, mask=mask, progress=progress, on_eval=on_eval, rate_target=target)

    emb, temb = trainer.encode_all()
    rdo.emb.fit_laws(emb)
    if temb is not None:
        rdo.temb.fit_laws(temb)
    qe = quantize_embeddings_grid(emb, rdo.emb, trainer.data.ll_range)
    coded_emb, emb_stats = code_embeddings(qe, cc.chunk_frames, allow_delta=True)
    coded_temb = temb_stats = qt = None
    if temb is not None:
        qt = quantize_embeddings_grid(temb, rdo.temb, None)
        coded_temb, temb_stats = code_embeddings(qt, cc.chunk_frames, allow_delta=True)
    fixed = (qe.values, qt.values if qt is not None else None)
    emb_bits = emb_stats["coded_bits"] + (temb_stats["coded_bits"] if temb_stats else 0)

    def stream_of(coded: GridCoded) -> bytes:
        return build_stream(header, coded.weights, coded_emb, coded_temb)

    def land(dec) -> tuple[int, GridCoded]:
        coded = code_weights_grid(dec, rdo.weights, 0)
        if p.target_bytes is None:
            return 0, coded
        return search_shift(dec, rdo.weights, p.target_bytes, lambda c: len(stream_of(c)), coded)

    # land the rate before the last phase, so that it trains on the final steps; then once more
    shift, landed = land(cpu_copy(trainer.decoder))
    rdo.weights.shift_codes(shift)
    ste = replace(ste, lam=trainer.lam)  # rate control's lam carries on into the last phase
    ste_target = None
    if steer:  # aim inside the window, less what the stream adds to training's estimate (step codes,
        # tables, framing: 1.5-2% on Bunny), measured on the landed stream
        trained = landed.stats["estimated_bits"] - landed.stats["step_code_bits"]  # what training estimates
        extra = 8 * len(stream_of(landed)) - trained - emb_bits
        ste_target = 8 * p.target_bytes * (1 - RATE_TOLERANCE / 2) - extra
    trainer.run_phase(ste, fixed=fixed, mask=mask, progress=progress, on_eval=on_eval, rate_target=ste_target,
                      fixed_bits=emb_bits)
    # the last landing keeps the trained steps: a step shift after the last phase re-rounds every
    # weight the phase trained to its rounding (measured: 3 codes coarser cost 1.9 dB on carphone)
    dec = cpu_copy(trainer.decoder)
    shift2, trimmed, coded = 0, 0, code_weights_grid(dec, rdo.weights, 0)
    if steer:
        size = len(stream_of(coded))
        if size > p.target_bytes:
            trimmed, coded = trim_to_budget(dec, rdo.weights, p.target_bytes, lambda c: len(stream_of(c)))
        elif size < (1 - RATE_TOLERANCE) * p.target_bytes:
            shift2, coded = land(dec)
    shift += shift2
    entropy = {"weights": coded.stats, "embeddings": emb_stats}
    if temb_stats is not None:
        entropy["temporal_embeddings"] = temb_stats
    return PipelineOutput(stream_of(coded), psnr, entropy,
                          {"prune": cc.prune, "weight_bits": cc.weight_bits, "lambda": trainer.lam,
                           "step_shift": shift, "trimmed_symbols": trimmed}, ft)


def trim_to_budget(decoder, quantizers, target_bytes: float, size_of: Callable[[GridCoded], int]
                   ) -> tuple[int, GridCoded]:
    """(count, coded weights): the fewest symbols moved one level toward zero, cheapest distortion
    per bit first (:func:`~.gridcoding.trim_costs`), that fit ``target_bytes``; bisection on the count."""
    costs = trim_costs(decoder, quantizers)

    def coded(n: int) -> GridCoded:  # a threshold just above the n-th cheapest moves the n cheapest
        return code_weights_grid(decoder, quantizers, 0, float(np.nextafter(costs[n - 1], np.inf)) if n else None)

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


def search_shift(decoder, quantizers, target_bytes: float, size_of: Callable[[GridCoded], int],
                 coded0: GridCoded) -> tuple[int, GridCoded]:
    """The global step-code shift (coarser > 0, finer < 0) that puts the stream in the rate window
    [(1 - 0.8 x tolerance) target, target]; the file size falls as the shift grows. Bisection on
    integers; returns the smallest shift whose stream fits the budget when none lands in the window."""
    lo_ok = (1 - RATE_TOLERANCE * 0.8) * target_bytes
    cache = {0: (size_of(coded0), coded0)}

    def size(s: int) -> int:
        if s not in cache:
            c = code_weights_grid(decoder, quantizers, s)
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
