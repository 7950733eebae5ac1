"""Our weight coding against NNCodec (ISO/IEC 15938-17, the reference the SNeRV paper used, Sec. 4.2)
on the same trained decoder, at the same reconstruction error (issue 14).

    python benchmarks/nncodec_compare.py --nnc-python /tmp/nncenv/bin/python --clip carphone \\
        --bpp 0.1 --epochs 20 --out results/nncodec.json

For each pipeline the clip is encoded as usual, and the decoder is caught just before its weights are
coded (paper: the pruned, fine-tuned float network; rdo: the network after its last phase, whose
weights were trained to our rounding). Both coders then code that one network:
- ours at several rates (paper: 5-10 bit depths; rdo: step-code shifts around the trained steps), each
  as the weight section of a real stream with the same embeddings;
- NNCodec at a QP sweep, at its defaults (dependent quantisation, DeepCABAC), in its own environment.
Every point is decoded and measured as the encoder measures a stream: PSNR on uint8 RGB against the
input, the embeddings unchanged. Reported: NNCodec's bytes at our stream's PSNR (log-linear between its
two nearest points) and the BD-rate of our curve against NNCodec's (weight bytes against PSNR).

NNCodec needs numpy<2 and torch: a separate environment, never our dependencies. One that works
(nncodec 2.1.3 compiles DeepCABAC; the example applications' libraries are stood in for by the
worker, see ``nnc_worker.py``):

    python -m venv --system-site-packages /tmp/nncenv
    /tmp/nncenv/bin/pip install "numpy<2" "pandas<2.3" pybind11 setuptools wheel
    /tmp/nncenv/bin/pip install --no-deps --no-build-isolation nncodec==2.1.3
"""

from __future__ import annotations

import argparse
import importlib
import json
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import torch

sys.path.insert(0, str(Path(__file__).resolve().parent))
from common import machine_info, save_rows  # noqa: E402

import snervcodec  # noqa: E402
from snervcodec.bench.bdrate import OverlapWarning, bd_rate, overlap_fraction  # noqa: E402
from snervcodec.bench.runner import builtin_clip  # noqa: E402
from snervcodec.bitstream.stream import open_stream  # noqa: E402
from snervcodec.codec.decode import synthesize_frames  # noqa: E402
from snervcodec.bitstream.stepcoded import StepCodedWeights  # noqa: E402
from snervcodec.entropy.weights import WeightEntropyModel, coded_symbols  # noqa: E402
from snervcodec.codec.info import info  # noqa: E402
from snervcodec.compress.stepcodes import offset  # noqa: E402
from snervcodec.entropy import ChunkDecoder  # noqa: E402
from snervcodec.codec.ratecontrol import pruned_copy  # noqa: E402
from snervcodec.codec.weights import code_weights, decode_weights  # noqa: E402
from snervcodec.device import to_channels_last  # noqa: E402
from snervcodec.metrics import psnr_per_frame  # noqa: E402
from snervcodec.models import build_decoder  # noqa: E402

encode_mod = importlib.import_module("snervcodec.codec.paper")  # the paper pipeline's steps
rdo_mod = importlib.import_module("snervcodec.codec.rdo")
WORKER = Path(__file__).resolve().parent / "nnc_worker.py"
PAPER_BITS = (5, 6, 7, 8, 9, 10)
RDO_SHIFTS = (-16, -8, -4, 0, 4, 8, 16, 24)  # step codes: 64 per octave
QPS = tuple(range(-44, -7, 2))  # NNCodec's step is 2^(qp/4) at its default qp_density 2
PLATEAU_DB = 0.005  # where our PSNR sits on NNCodec's plateau: its smallest stream this close to it


class Catch:
    """Records the last call of a module function (its arguments and result) while it runs."""

    def __init__(self, module, name: str):
        self.module, self.name, self.fn = module, name, getattr(module, name)
        self.args = self.result = None

    def __enter__(self):
        def spy(*a, **k):
            self.args, self.result = a, self.fn(*a, **k)
            return self.result
        setattr(self.module, self.name, spy)
        return self

    def __exit__(self, *exc):
        setattr(self.module, self.name, self.fn)


@torch.no_grad()
def psnr_of(ps, state: dict[str, torch.Tensor], ref: torch.Tensor) -> float:
    """PSNR of the stream's network with ``state`` as its weights: uint8 RGB against the input, as
    :func:`snervcodec.codec.runner.measure` takes it."""
    with torch.device("meta"):
        dec = build_decoder(ps.cfg)
    dec.load_state_dict({k: torch.as_tensor(v).float() for k, v in state.items()}, assign=True)
    dec = to_channels_last(dec.eval())
    n = ps.header.n_frames
    rec = np.concatenate([x for _, x in synthesize_frames(ps, dec, 0, n, 4, torch.device("cpu"), "fp32")])
    rec_t = torch.from_numpy(rec).permute(0, 3, 1, 2).float().div(255)
    return float(psnr_per_frame(rec_t, ref).mean())


def weight_section(stream: bytes) -> int:
    secs = info(stream)["sections"]
    return secs["DECG"]["bytes"] if "DECG" in secs else secs["DECW"]["bytes"]


def nncodec_points(nnc_python: str, state: dict, qps) -> tuple[dict, dict]:
    """(bytes per QP, reconstruction per QP) from NNCodec, run in its own environment; int32 arrays
    are coded losslessly."""
    with tempfile.TemporaryDirectory() as tmp:
        src, dst = Path(tmp) / "in.npz", Path(tmp) / "out.npz"
        np.savez(src, **{k: v if isinstance(v, np.ndarray) else v.float().numpy() for k, v in state.items()})
        out = subprocess.run([nnc_python, str(WORKER), str(src), str(dst), *map(str, qps)], check=True,
                             capture_output=True, text=True)
        sizes = {int(k): v for k, v in json.loads(out.stdout.strip().splitlines()[-1]).items()}
        with np.load(dst) as z:
            recs = {qp: {k: z[f"{qp}/{k}"] for k in state} for qp in qps}
    return sizes, recs


def stream_levels(ps) -> tuple[dict[str, np.ndarray], int]:
    """The weight section's integers, signed so that 0 is a zero weight (rdo: also each tensor's step
    codes), and the bytes of the section's arithmetic-coded words (the rest is side information:
    entropy models, scales, framing)."""
    levels = {}
    if isinstance(ps.weights, StepCodedWeights):
        for (name, k, sym), t in zip(coded_symbols(ps.weights, ps.shapes), ps.weights.tensors):
            levels[name] = (sym.astype(np.int64) - offset(t.bits)).astype(np.int32)
            levels[name + "#steps"] = np.asarray(k, np.int32)
        return levels, 4 * len(ps.weights.words)
    words = 0
    for (name, shape), t in zip(ps.shapes.items(), ps.weights):
        sym = ChunkDecoder(t.words).decode(int(np.prod(shape)), t.model).reshape(shape)
        zshape = (-1,) + (1,) * (len(shape) - 1) if t.per_channel else (1,) * max(len(shape), 1)
        levels[name] = (sym.astype(np.int64) - np.asarray(t.zero).reshape(zshape)).astype(np.int32)
        words += 4 * len(t.words)
    return levels, words


def zeros_of(levels: dict[str, np.ndarray], steps: bool) -> dict[str, np.ndarray]:
    """All-zero int32 tensors of the levels' shapes (with or without the rdo step codes): what NNCodec
    writes for them is its side information."""
    return {k: np.zeros(v.shape, np.int32) for k, v in levels.items() if steps or not k.endswith("#steps")}


def pareto(points) -> list[tuple[int, float]]:
    """The (bytes, PSNR) points no cheaper point matches in PSNR, by bytes."""
    front, best = [], -np.inf
    for b, p, *_ in sorted(points):
        if p > best:
            front.append((b, p))
            best = p
    return front


def bytes_at(front: list[tuple[int, float]], psnr: float) -> float | None:
    """Bytes at ``psnr`` on a Pareto front, log-linear between its two nearest points."""
    for (b0, p0), (b1, p1) in zip(front, front[1:]):
        if p0 <= psnr <= p1:
            return float(np.exp(np.log(b0) + (psnr - p0) / (p1 - p0) * (np.log(b1) - np.log(b0))))
    return None


def bd_or_reason(anchor: list[tuple[int, float]], test: list[tuple[int, float]]) -> dict | str:
    """BD-rate (%) of ``test`` against ``anchor`` and the share of their PSNR ranges that overlap, or
    why there is none."""
    if min(len(anchor), len(test)) < 2:
        return "n/a (fewer than two points on a curve)"
    da, dt = [p for _, p in anchor], [p for _, p in test]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", OverlapWarning)
            pct = bd_rate([b for b, _ in anchor], da, [b for b, _ in test], dt)
    except ValueError as e:
        return f"n/a ({e})"
    return {"pct": round(pct, 2), "overlap": round(overlap_fraction(da, dt), 2)}


def our_curve(pipeline: str, r, ps, ref, stream_args, finetuned, grid_args) -> tuple[torch.nn.Module, list]:
    """(the network the stream was coded from, our (bytes, PSNR, knob) points on it): the rdo network
    after its last phase at step-code shifts around its trained steps, or the paper's fine-tuned float
    network, pruned as the stream is, at bit depths 5-10; each as the weight section of a real stream."""
    header, _, emb, temb = stream_args
    mod = rdo_mod if pipeline == "rdo" else encode_mod
    if pipeline == "rdo":
        model, dec = grid_args[0], grid_args[1]  # WeightEntropyModel.compress(self, decoder, ...)
        coded = [(model.compress(dec, s), s) for s in RDO_SHIFTS]
        coded = [(c.payload, decode_weights(c.payload, ps.shapes), s) for c, s in coded]
    else:
        dec = pruned_copy(finetuned, r.compression["prune"])
        coded = [(cm.tensors, cm.state, b) for cm, b in ((code_weights(dec, b), b) for b in PAPER_BITS)]
    return dec, [(weight_section(mod.build_stream(header, w, emb, temb)), psnr_of(ps, state, ref), k)
                 for w, state, k in coded]


def compare(pipeline: str, video, args) -> dict:
    t0 = time.perf_counter()
    mod = rdo_mod if pipeline == "rdo" else encode_mod
    with Catch(mod, "build_stream") as bs, Catch(encode_mod, "cpu_copy") as cc, \
            Catch(WeightEntropyModel, "compress") as cg:
        r = snervcodec.encode(video, bpp=args.bpp, epochs=args.epochs, device="cpu", progress=False,
                              compression=snervcodec.CompressionConfig(pipeline=pipeline))
    ps = open_stream(r.stream).parse(0)
    ref = torch.from_numpy(video.frames).permute(0, 3, 1, 2).float().div(255)
    ours_state = decode_weights(ps.weights, ps.shapes)
    row = {"pipeline": pipeline, "bpp": round(r.bpp, 5), "psnr": round(r.psnr, 3), "encode_s": round(r.seconds, 1),
           "decoder_params": ps.n_params, "weight_bytes": weight_section(r.stream),
           "psnr_check": round(psnr_of(ps, ours_state, ref), 3)}
    dec, ours = our_curve(pipeline, r, ps, ref, bs.args, cc.result, cg.args)
    float_state = {k: v.detach().cpu() for k, v in dec.state_dict().items()}
    row["float_weights_psnr"] = round(psnr_of(ps, float_state, ref), 3)
    row["ours"] = [{"bytes": b, "psnr": round(p, 3), "knob": k} for b, p, k in ours]
    # NNCodec's own side information (tensor headers, parameters): what it writes for all-zero tensors
    # of the same shapes, an upper bound (the zeros cost a little too); our words exclude ours
    levels, words = stream_levels(ps)
    nnc_side = nncodec_points(args.nnc_python, zeros_of(levels, steps=False), (0,))[0][0]
    # NNCodec gets the network the stream was coded from; for rdo also the decoded one (its weights
    # were trained rounded: the latent floats alone are a worse network)
    inputs = {"nncodec": float_state}
    if pipeline == "rdo":
        inputs["nncodec_from_decoded"] = ours_state
    for key, state in inputs.items():
        sizes, recs = nncodec_points(args.nnc_python, state, QPS)
        nnc = [(sizes[qp], psnr_of(ps, {k: torch.from_numpy(v) for k, v in recs[qp].items()}, ref), qp)
               for qp in QPS]
        at = bytes_at(pareto(nnc), r.psnr)
        row[key] = {"points": [{"bytes": b, "psnr": round(p, 3), "qp": k} for b, p, k in nnc],
                    "bytes_at_our_psnr": round(at) if at else None,
                    "ours_vs_it_at_our_psnr": round(row["weight_bytes"] / at - 1, 4) if at else None,
                    "our_words_vs_its_payload_at_our_psnr": round(words / (at - nnc_side) - 1, 4) if at else None,
                    "smallest_within_5mdb": min((b for b, p, _ in nnc if p >= r.psnr - PLATEAU_DB), default=None),
                    "bd_rate_ours_vs_it_pct": bd_or_reason(pareto(nnc), pareto(ours))}
    # the entropy coders alone: DeepCABAC on exactly the stream's integers (the same reconstruction)
    sizes, recs = nncodec_points(args.nnc_python, levels, (0,))
    assert all(np.array_equal(recs[0][k], v) for k, v in levels.items()), "NNCodec did not return the integers"
    side = nncodec_points(args.nnc_python, zeros_of(levels, steps=True), (0,))[0][0]
    row["lossless"] = {"our_coded_words_bytes": words, "deepcabac_bytes": sizes[0], "deepcabac_all_zero_bytes": side,
                       "ours_vs_deepcabac": round(words / sizes[0] - 1, 4),
                       "ours_vs_deepcabac_payload": round(words / (sizes[0] - side) - 1, 4)}
    row["our_words_bytes"], row["nncodec_all_zero_bytes"] = words, nnc_side
    row["seconds"] = round(time.perf_counter() - t0, 1)
    return row


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--nnc-python", required=True, help="python of an environment with nncodec installed")
    ap.add_argument("--clip", default="carphone", choices=["carphone", "bunny"])
    ap.add_argument("--bpp", type=float, default=0.1)
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--pipelines", default="paper,rdo")
    ap.add_argument("--out", default=None)
    args = ap.parse_args(argv)
    video = builtin_clip(args.clip).load()
    rows = []
    for pipeline in args.pipelines.split(","):
        row = {"clip": args.clip, "epochs": args.epochs, "target_bpp": args.bpp, **compare(pipeline, video, args)}
        print(json.dumps(row), flush=True)
        rows.append(row)
    save_rows(args.out, rows)
    if not args.out:
        print(json.dumps({"machine": machine_info()}))


if __name__ == "__main__":
    main()
