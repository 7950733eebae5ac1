"""The paper's pipeline (Sec. 4.2, Supp. D), exactly (format 1.0 / 1.1):

    fit (float) --> 6-bit embeddings --> prune 10% (global |w|) --> fine-tune the decoder on the
    quantised embeddings, mask fixed --> 8-bit weights --> entropy-coded .snv

With a bpp, the residual rate error is corrected with the pruning fraction and bit depth before the
fine-tune and once more after it (:func:`~.ratecontrol.search_knobs`).
"""

from __future__ import annotations

from ..bitstream.stream import build_stream
from ..compress.prune import global_magnitude_mask
from ..entropy.chunks import code_embeddings, quantize_embeddings
from ..training import finetune_phase
from ..training.phases import fit_phase, split_time
from .pipelines import CodedEmbeddingSet, EncodeState, Step, Train, measure_float, register
from .plan import EncodePlan
from .ratecontrol import search_knobs
from .weights import CodedModel, code_weights, cpu_copy


@register("paper")
def paper_steps(p: EncodePlan, lr_scale: float) -> list[Step]:
    tc, cc = p.tcfg, p.cc
    fit_s, ft_s = split_time(tc.time_limit, tc.epochs, p.finetune_epochs) if tc.time_limit else (0.0, 0.0)
    return [Train(phase=fit_phase(tc, lr_scale, fit_s)), measure_float, code_embeddings_paper, prune_for_budget,
            Train(phase=finetune_phase(p.finetune_epochs, cc.finetune_lr * lr_scale, ft_s), fixed=True, report=False),
            code_weights_paper]


def code_embeddings_paper(s: EncodeState) -> None:
    """Quantise the embeddings once (6 bit, affine per channel); the decoder is fine-tuned on exactly these values."""
    cc = s.plan.cc
    emb, temb = s.trainer.encode_all()
    qe = quantize_embeddings(emb, cc.emb_bits, s.trainer.data.ll_range)
    coded, stats = code_embeddings(qe, cc.frames_per_chunk)
    s.embeddings = CodedEmbeddingSet(qe, coded, stats)
    if temb is not None:  # SNeRV(T): temporal embeddings, quantised like the main ones (TEMB section)
        e = s.embeddings
        e.temporal = quantize_embeddings(temb, cc.emb_bits, None)
        e.coded_temporal, e.temporal_stats = code_embeddings(e.temporal, cc.frames_per_chunk)


def _stream_bytes(s: EncodeState, cm: CodedModel) -> bytes:
    return build_stream(s.header, cm.tensors, s.embeddings.coded, s.embeddings.coded_temporal)


def prune_for_budget(s: EncodeState) -> None:
    """Choose the pruning fraction and bit depth (with a bpp: the rate window) and prune."""
    cc, decoder = s.plan.cc, s.trainer.decoder
    prune, wbits = cc.prune, cc.weight_bits
    if s.plan.target_bytes is not None:
        prune, wbits, _ = search_knobs(cpu_copy(decoder), cc.prune, cc.weight_bits, s.plan.target_bytes,
                                       lambda cm: len(_stream_bytes(s, cm)))
    mask = global_magnitude_mask(decoder, prune)
    mask.apply(decoder)
    s.mask = mask if prune > 0 else None
    s.knobs = {"prune": prune, "weight_bits": wbits}


def code_weights_paper(s: EncodeState) -> None:
    """Quantise and code the fine-tuned weights (with a bpp: the residual error corrected once more)."""
    dec_cpu = cpu_copy(s.trainer.decoder)
    prune, wbits = s.knobs["prune"], s.knobs["weight_bits"]
    if s.plan.target_bytes is not None:
        prune2, wbits, coded = search_knobs(dec_cpu, prune, wbits, s.plan.target_bytes,
                                            lambda cm: len(_stream_bytes(s, cm)))
        prune = max(prune, prune2)
    else:
        coded = code_weights(dec_cpu, wbits)
    s.stream = _stream_bytes(s, coded)
    s.entropy = {"weights": coded.stats, **s.embeddings.entropy()}
    s.knobs = {"prune": prune, "weight_bits": wbits}
