"""The rate-distortion-optimised pipeline (the default; format 1.2 / 1.4): train with the quantiser
and the rate in the loop, after HiNeRV (quantisation-aware training) and NVRC (learned steps, a rate
term, entropy models for weights and latents).

    fit (float) --prune 10%--> qat-noise: encoder + decoder, D + lam R, rounded values, R on noise -->
    quantise and code the embeddings --> land the rate --> qat-ste: decoder alone, exact rounding
    at the coded steps, D + lam R --> code the weights with the learned steps and rate models (an
    over-budget file moves the symbols that cost the clip least, by each weight's sensitivity)

The embeddings are priced in training as format 1.4 codes them (each frame of a chunk from the
previous one: :class:`~..entropy.embedding_model.EmbeddingEntropyModel`). With a bpp target, the
rate controller (:mod:`.ratecontrol`) steers lam and the steps during training; one global step
shift lands the rate before the last phase, and after it the symbols that cost the clip least (each
weight's sensitivity times its rounding margin, per bit saved) move one level toward zero (as RDOQ),
so that the steps the last phase trained on stay.
The alphabets stay the paper's: 8-bit weights, 6-bit embeddings, 10% magnitude pruning.
"""

from __future__ import annotations

import copy

from ..bitstream.canvas import write_offsets, write_warps
from ..bitstream.container import SECTION_FRAMING_BYTES
from ..bitstream.stream import build_stream, header_bytes
from ..compress.prune import global_magnitude_mask
from ..entropy.models import EntropyModels
from ..entropy.weights import CodedWeights, Sensitivity
from ..training.phases import rdo_phases
from .pipelines import CodedEmbeddingSet, EncodeState, Step, Train, measure_float, register
from .plan import EncodePlan
from .ratecontrol import RATE_TOLERANCE, RDO_BITS_PER_EMB_SYMBOL, RateController, search_shift, trim_to_budget
from .weights import cpu_copy

DEFAULT_LAMBDA = 0.5  # rate weight (loss units per bit per pixel); measured flat over 0.15-0.5, worse at 4
MODEL_SIDE_BYTES = 24  # per decoder tensor in DECG (1.2): bit depth and two symbol models (about)
LAST_PHASE_AIM = 1 - RATE_TOLERANCE / 2  # the last phase steers the file to this fraction of the budget
# The noise phase steers the estimate to this fraction of the budget: the embeddings are coded at the steps it
# ends on, and the landing gives the rest to the weights, which the last phase trains on (docs/design-notes.md
# "The noise phase leaves the weights a share"; at 100 epochs scene-cut 0.05 bpp +0.86 dB, sprite 0.1 +0.75)
NOISE_PHASE_AIM = 0.9


@register("rdo")
def rdo_steps(p: EncodePlan, lr_scale: float) -> list[Step]:
    fit, noise, ste = rdo_phases(p.tcfg, p.finetune_epochs, lr_scale, p.tcfg.time_limit)
    return [Train(phase=fit), measure_float, prune, attach_entropy_models, Train(phase=noise),
            code_embeddings_rdo, land_before_last_phase, Train(phase=ste, fixed=True), code_weights_rdo]


def prune(s: EncodeState) -> None:
    """10% global magnitude pruning (the paper's); the pruned weights stay zero from here on."""
    s.mask = global_magnitude_mask(s.trainer.decoder, s.plan.cc.prune)
    s.mask.apply(s.trainer.decoder)


def attach_entropy_models(s: EncodeState) -> None:
    """Steps and rate laws for every coded group, started from the float model near the bits per
    value the network was sized for; the rate controller aims the estimate at NOISE_PHASE_AIM of the
    budget, less what the stream adds beside the symbols (header, framing, tables): the embeddings are
    coded at the steps the noise phase ends on, and the landing before the last phase gives the rest
    of the budget to the weights."""
    cc, p, tr = s.plan.cc, s.plan, s.trainer
    emb, temb = tr.encode_all()
    s.models = tr.attach(EntropyModels(tr.decoder, emb, temb, cc.weight_bits, cc.emb_bits, p.bits_per_param,
                                       RDO_BITS_PER_EMB_SYMBOL, cc.frames_per_chunk, cc.entropy))
    target = None
    if p.target_bytes is not None:
        side = header_bytes(s.header) + 3 * SECTION_FRAMING_BYTES + len(s.models.weights.names) * MODEL_SIDE_BYTES
        if (c := p.canvas) is not None:
            side += SECTION_FRAMING_BYTES + len(write_offsets(c.offsets) if c.warps is None else write_warps(c.views))
        # (negative where the side information passes 90% of the budget, at the smallest networks the planner
        # accepts: the noise phase then coarsens its steps at every update, and the landing gives the weights the rest)
        target = 8 * (NOISE_PHASE_AIM * p.target_bytes - side)
    s.rate = RateController(cc.lam or DEFAULT_LAMBDA, target)


def code_embeddings_rdo(s: EncodeState) -> None:
    """The embeddings at their learned steps, coded with their learned laws (and prediction)."""
    emb, temb = s.trainer.encode_all()
    chunk = s.plan.cc.frames_per_chunk
    qe, coded, stats = s.models.emb.compress(emb, s.trainer.data.ll_range, chunk)
    s.embeddings = e = CodedEmbeddingSet(qe, coded, stats)
    if temb is not None:
        e.temporal, e.coded_temporal, e.temporal_stats = s.models.temb.compress(temb, None, chunk)


def _stream(s: EncodeState, coded: CodedWeights) -> bytes:
    canvas = s.plan.canvas
    return build_stream(s.header, coded.payload, s.embeddings.coded, s.embeddings.coded_temporal,
                        *((canvas.offsets, canvas.views) if canvas is not None else ()))


def _land(s: EncodeState, dec, window: tuple[float, float] = (1 - RATE_TOLERANCE * 0.8, 1.0)
          ) -> tuple[int, CodedWeights]:
    """(step-code shift, coded weights) that put the file in ``window`` (fractions of the budget; no
    shift without a bpp)."""
    coded = s.models.weights.compress(dec, 0)
    if s.plan.target_bytes is None:
        return 0, coded
    low, high = window
    return search_shift(dec, s.models.weights, high * s.plan.target_bytes, lambda c: len(_stream(s, c)), coded,
                        low / high)


def land_before_last_phase(s: EncodeState) -> None:
    """Land the rate before the last phase, so that it trains on the final steps, where the phase will
    steer it: inside the window, at most LAST_PHASE_AIM of the budget. The phase's target is that, less
    what the stream adds to training's estimate (step codes, tables, framing: 1.5-2% on Bunny), measured
    on the landed stream. (Landed at the top of the window, the phase started above its target and its
    lambda could not bring a 3-epoch phase down: files ended up to 2% over budget, and trimming that cost
    up to 0.76 dB on the dev set; docs/design-notes.md "Rate control steers by the rate the coder writes".)"""
    shift, landed = _land(s, cpu_copy(s.trainer.decoder), (1 - RATE_TOLERANCE * 0.9, LAST_PHASE_AIM))
    s.models.weights.shift_codes(shift)
    s.knobs["step_shift"] = shift
    emb_bits = s.embeddings.coded_bits
    target = None
    if s.plan.target_bytes is not None:
        st = landed.stats  # what training estimates: the symbols, not the step codes or (1.6) classes
        trained = st["estimated_bits"] - st["step_code_bits"] - st.get("class_code_bits", 0.0)
        extra = 8 * len(_stream(s, landed)) - trained - emb_bits
        target = 8 * s.plan.target_bytes * LAST_PHASE_AIM - extra
    s.rate.aim(target, emb_bits)


def _sensitivity(s: EncodeState, coded: CodedWeights) -> Sensitivity:
    """Each coded weight's sensitivity (:meth:`~..training.evaluation.Evaluation.sensitivity`), measured
    on the network as coded, with the coded embeddings."""
    net = copy.deepcopy(s.trainer.decoder)
    net.load_state_dict(coded.state)
    return s.trainer.sensitivity(net, s.embeddings.fixed)


def code_weights_rdo(s: EncodeState) -> None:
    """Code the weights at the steps the last phase trained on: a step shift now would re-round every
    weight the phase trained to its rounding (measured: 3 codes coarser cost 1.9 dB on carphone), so
    an over-budget file trims symbols instead, those that cost the clip least by each weight's
    sensitivity (with the steps alone, 1% over budget cost rotate 0.97 dB), and only one under the
    window shifts again."""
    dec, target = cpu_copy(s.trainer.decoder), s.plan.target_bytes
    shift2, trimmed, coded = 0, 0, s.models.weights.compress(dec, 0)
    if target is not None:
        size = len(_stream(s, coded))
        if size > target:
            sens = _sensitivity(s, coded) if s.plan.cc.trim == "sensitivity" else None
            trimmed, coded = trim_to_budget(dec, s.models.weights, target, lambda c: len(_stream(s, c)), sens)
        elif size < (1 - RATE_TOLERANCE) * target:
            shift2, coded = _land(s, dec)
    cc = s.plan.cc
    s.stream = _stream(s, coded)
    s.entropy = {"weights": coded.stats, **s.embeddings.entropy()}
    s.knobs = {"prune": cc.prune, "weight_bits": cc.weight_bits, "lambda": s.rate.lam,
               "step_shift": s.knobs["step_shift"] + shift2, "final_shift": shift2, "trimmed_symbols": trimmed}
