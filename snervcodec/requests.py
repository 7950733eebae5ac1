"""What a user asks for, built once at the edge (the command line or the Python API) and passed
down whole: which part of which video to read, which network, how to train, how to compress, and
where to write. Each request checks its own values; the encoder reads them and never re-parses.

The Python API takes typed values (``size=(192, 384)``, ``frames=range(0, 32)`` or a slice) and
keeps accepting the command line's strings (``"192x384"``, ``"0:32"``)."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Callable

from .errors import ConfigError
from .video.io import parse_frame_range, parse_size

PIPELINES = ("rdo", "paper")  # the encode pipelines (codec.pipelines registers how each runs)
ENTROPY_MODELS = ("laplace", "context")  # the rdo pipeline's entropy models (entropy.models)
# Frames per embedding chunk unless asked: a chunk decodes alone (random access), and its first frame's embedding
# is coded without prediction. The paper pipeline keeps 8 (its streams, byte for byte); the rdo pipeline 64: a
# chunk's first frame costs 2-4x a predicted one, and reading 64 frames' embeddings takes a few milliseconds
# (docs/design-notes.md "Embedding prediction")
CHUNK_FRAMES = {"rdo": 64, "paper": 8}
CANVAS_MODES = ("off", "auto")  # the rdo pipeline's canvas for camera motion (video.canvas)


@dataclass(frozen=True)
class VideoRequest:
    """Which frames of which video, and how to prepare them (centre crop, then resize)."""

    source: Any  # a path, "-" (y4m on stdin), a (T, H, W, 3) uint8 array or a Video
    frames: tuple[int, int | None] = (0, None)  # [start, end); end None: to the last frame
    crop: tuple[int, int] | None = None  # (H, W), centre
    size: tuple[int, int] | None = None  # (H, W) after cropping
    resize: str = "bicubic"
    fps: float | None = None  # the rate to store (default: the source's)

    @classmethod
    def of(cls, source, frames=None, crop=None, size=None, resize: str = "bicubic",
           fps: float | None = None) -> "VideoRequest":
        """Typed values or the command line's strings (``"0:32"``, ``range(0, 32)``, ``"192x384"``, ``(192, 384)``)."""
        if resize not in ("bicubic", "area"):
            raise ConfigError(f"resize mode must be bicubic or area, got {resize!r}")
        if fps is not None and not 0 < float(fps) < float("inf"):
            raise ConfigError(f"fps must be a positive number, got {fps}")
        return cls(source, parse_frame_range(frames), parse_size(crop), parse_size(size), resize,
                   None if fps is None else float(fps))

    @property
    def is_path(self) -> bool:
        return isinstance(self.source, (str, os.PathLike))

    def load(self):
        """The whole selection as a :class:`~.video.Video`."""
        from .video import load_video

        return load_video(self.source, **self.reading())

    def reading(self) -> dict:
        """The selection as the video readers' keywords."""
        return {"frames": self.frames, "crop": self.crop, "size": self.size, "resize": self.resize, "fps": self.fps}


@dataclass(frozen=True)
class ModelRequest:
    """Which network and how big: ``c1`` / ``n_rb``, a parameter budget, or (with a bpp) rate control."""

    name: str = "snerv-b"
    c1: int | None = None
    n_rb: int | None = None
    params: float | None = None
    strides: tuple[int, ...] | None = None
    t_scale: int | None = None
    emb_cells: int | None = None  # embedding grid cells the geometry aims at (None: the pipeline's)
    grid_share: float | None = None  # snerv-g: the grids' share of the decoder's parameters (default 0.15)
    emb_channels: int | None = None  # embedding channels (None: 16, or rate control's choice with a bpp)
    # "auto": where the camera pans, zooms or turns, the network draws a canvas that holds its view
    # (video/canvas.py, video/warp.py);
    # None: the pipeline's own (rdo: auto; paper: off)
    canvas: str | None = None

    def __post_init__(self):
        if self.canvas is not None and self.canvas not in CANVAS_MODES:
            raise ConfigError(f"unknown canvas mode {self.canvas!r} (one of {', '.join(CANVAS_MODES)})")

    def config(self, height: int, width: int, n_rb: int | None = None, n_frames: int | None = None,
               emb_cells: int | None = None):
        """(ModelConfig, Geometry) for a ``height x width`` video of ``n_frames`` frames (grid
        models size their grids for it); ``n_rb`` and ``emb_cells`` when the request leaves them open."""
        from .models.choose import model_config

        return model_config(self.name, height, width, c1=self.c1, n_rb=self.n_rb if self.n_rb is not None else n_rb,
                            params=self.params, strides=self.strides, t_scale=self.t_scale,
                            emb_cells=self.emb_cells if self.emb_cells is not None else emb_cells,
                            n_frames=n_frames, grid_share=self.grid_share, emb_channels=self.emb_channels)


@dataclass(frozen=True)
class TrainRequest:
    """How long and where to train: a preset, and any :class:`~.training.TrainConfig` field as an option."""

    preset: str | None = "fast"
    epochs: int | None = None
    device: str = "auto"
    precision: str = "auto"
    seed: int = 0
    options: dict = field(default_factory=dict)  # lr, batch_size, time_limit, compile, ... (None: the default)

    def config(self, model: str, **defaults):
        """The :class:`~.training.TrainConfig` (defaults < model < preset < ``defaults`` < options)."""
        from .training import make_train_config

        opts = {**defaults, **{k: v for k, v in self.options.items() if v is not None}}
        return make_train_config(self.preset, model=model, epochs=self.epochs, precision=self.precision,
                                 seed=self.seed, **opts)


@dataclass(frozen=True)
class CompressionConfig:
    """Pruning, quantisation and chunking of a trained model (paper Sec. 4.2, Supp. D)."""

    prune: float = 0.1  # fraction of decoder weights removed by global magnitude pruning
    weight_bits: int = 8
    emb_bits: int = 6
    ll_range_bits: int = 6  # per-frame LL (min, max) pair
    finetune: float = 0.1  # fine-tune epochs after pruning, as a fraction of training epochs (at least 1)
    finetune_lr: float = 1e-4
    chunk_frames: int | None = None  # frames per independently decodable embedding chunk (None: CHUNK_FRAMES)
    pipeline: str = "rdo"  # "rdo": quantiser and rate in the training loop (format 1.2); "paper": Sec. 4.2 as published
    lam: float = 0.0  # rdo: the rate weight lambda; 0 = automatic (from the bpp target, or DEFAULT_LAMBDA)
    entropy: str = "laplace"  # rdo: "laplace" (one learned law per group) or "context" (NVRC-style, format 1.6)
    bits_per_param: float = 0.0  # rdo with a bpp: size the decoder for this many bits a parameter; 0 = the rule
    # rdo: an over-budget file trims the symbols that cost least by each weight's "sensitivity" (the default) or
    # by their "margin" past the rounding boundary alone (before 2026-12-05)
    trim: str = "sensitivity"

    def validate(self) -> "CompressionConfig":
        if self.pipeline not in PIPELINES:
            raise ConfigError(f"unknown pipeline {self.pipeline!r} (one of {', '.join(PIPELINES)})")
        if not 0.0 <= self.lam <= 1e6:
            raise ConfigError(f"lambda must be in [0, 1e6], got {self.lam}")
        if self.lam and self.pipeline != "rdo":
            raise ConfigError("lambda applies to the rdo pipeline only")
        if self.entropy not in ENTROPY_MODELS:
            raise ConfigError(f"unknown entropy model {self.entropy!r} (one of {', '.join(ENTROPY_MODELS)})")
        if self.entropy != "laplace" and self.pipeline != "rdo":
            raise ConfigError("--entropy context applies to the rdo pipeline only")
        if self.trim not in ("sensitivity", "margin"):
            raise ConfigError(f"unknown trim {self.trim!r} (sensitivity, margin)")
        if self.bits_per_param and not 1.0 <= self.bits_per_param <= 16.0:
            raise ConfigError(f"bits per parameter must be in [1, 16] (0: the rule), got {self.bits_per_param}")
        if self.bits_per_param and self.pipeline != "rdo":
            raise ConfigError("--bits-per-param applies to the rdo pipeline only")
        if not 0.0 <= self.prune < 0.95:
            raise ConfigError(f"prune fraction must be in [0, 0.95), got {self.prune}")
        for name in ("weight_bits", "emb_bits", "ll_range_bits"):
            if not 2 <= getattr(self, name) <= 16:
                raise ConfigError(f"{name} must be in 2..16, got {getattr(self, name)}")
        if self.chunk_frames is not None and not 1 <= self.chunk_frames <= 1024:
            raise ConfigError(f"chunk_frames must be in 1..1024, got {self.chunk_frames}")
        return self

    @property
    def frames_per_chunk(self) -> int:
        """The chunk length the stream gets: ``chunk_frames``, or the pipeline's (:data:`CHUNK_FRAMES`)."""
        return CHUNK_FRAMES[self.pipeline] if self.chunk_frames is None else self.chunk_frames

    def finetune_epochs(self, epochs: int) -> int:
        """Epochs after pruning: ``finetune`` x the training epochs, at least one (none without training)."""
        return max(1, round(self.finetune * epochs)) if epochs > 0 and self.finetune > 0 else 0


@dataclass(frozen=True)
class OutputRequest:
    """Where the stream goes, and how a long video is split on the way (docs/long-videos.md)."""

    path: str | os.PathLike | None = None  # None: keep the stream in memory only
    overwrite: bool = True
    segment_frames: int | None = None  # None: one segment (or what memory allows)
    resume: bool = True  # reuse the finished segments of an interrupted run
    scene_cuts: bool = False  # segments also end at scene changes
    warm_start: bool = False  # segment k+1 starts from segment k's float network (serial; codec/warmstart.py)

    def __post_init__(self):
        if self.segment_frames is not None and self.segment_frames < 1:
            raise ConfigError(f"segments need at least one frame, got {self.segment_frames}")


@dataclass(frozen=True)
class Feedback:
    """What the encoder tells while it works: a progress bar, each evaluation, a line per segment."""

    progress: bool = True
    on_eval: Callable[[dict], None] | None = None
    log: Callable[[str], None] | None = None

    def say(self, message: str) -> None:
        if self.log is not None:
            self.log(message)


@dataclass(frozen=True)
class EncodeRequest:
    """One encode, whole: what to read, which network, how to train and compress, the rate, where to write."""

    video: VideoRequest
    model: ModelRequest = ModelRequest()
    train: TrainRequest = TrainRequest()
    compression: CompressionConfig = CompressionConfig()
    output: OutputRequest = OutputRequest()
    bpp: float | None = None  # target bits per pixel of the whole file (rate control)

    def __post_init__(self):
        self.compression.validate()
        if self.bpp is not None and (self.model.c1 is not None or self.model.params is not None):
            raise ConfigError("give a target bpp or a model size (c1 / params), not both")
        if self.bpp is not None and not 0 < self.bpp < 64:
            raise ConfigError(f"bpp must be in (0, 64), got {self.bpp}")

    def with_segments(self, segment_frames: int | None) -> "EncodeRequest":
        return replace(self, output=replace(self.output, segment_frames=segment_frames))

    def fingerprint(self, device_type: str) -> dict:
        """What a finished segment must have been encoded with to be reused: everything but the
        source's name, the output and how it is told; the device type, since a segment trained
        elsewhere would not be the same bytes. The parts' own fingerprint adds the segment's frames
        and the package's source digest (codec/parts.py; docs/long-videos.md "What segments give you")."""
        out = asdict(self)
        out["video"].pop("source")
        for k in ("path", "overwrite", "resume"):
            out["output"].pop(k)
        out["train"]["device"] = device_type
        out["compression"]["chunk_frames"] = self.compression.frames_per_chunk  # the default or the same length asked
        return out
