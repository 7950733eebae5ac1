"""The stream header, declared as a table of fields (name, type, allowed range), written and read
in table order and range-checked both ways. See bitstream/SPEC.md, section "Header"."""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from fractions import Fraction

from ..errors import FormatError
from .bytesio import Reader, Writer

# Limits that keep a lying header from driving a large allocation (SPEC.md "Limits").
MAX_SIDE = 32768
MAX_PADDED_PIXELS = 1 << 28
MAX_FRAMES = 1 << 24
MAX_EMB_NUMEL = 1 << 16
MAX_BLOCKS = 8


@dataclass(frozen=True)
class Field:
    name: str
    kind: str  # u8 | u16 | u32
    lo: int
    hi: int


# Order = byte order in the header. Per-block fields (strides, kernels) follow ``n_blocks``.
FIELDS: tuple[Field, ...] = (
    Field("model_id", "u8", 1, 255),
    Field("n_blocks", "u8", 3, MAX_BLOCKS),
    Field("c1", "u16", 1, 4096),
    Field("n_rb", "u8", 0, 64),
    Field("emb_channels", "u8", 1, 64),
    Field("emb_h", "u16", 1, 4096),
    Field("emb_w", "u16", 1, 4096),
    Field("reduce_milli", "u16", 1001, 4000),
    Field("lower_width", "u16", 1, 4096),
    Field("width", "u32", 1, MAX_SIDE),
    Field("height", "u32", 1, MAX_SIDE),
    Field("pad_w", "u32", 0, MAX_SIDE),
    Field("pad_h", "u32", 0, MAX_SIDE),
    Field("n_frames", "u32", 1, MAX_FRAMES),
    Field("fps_num", "u32", 1, (1 << 31) - 1),
    Field("fps_den", "u32", 1, (1 << 31) - 1),
    Field("chunk_frames", "u16", 1, 1024),
)
# Appended in format 1.1 (present when minor >= 1): the temporal extension's embeddings.
TEMPORAL_FIELDS: tuple[Field, ...] = (
    Field("t_scale", "u8", 0, 64),
    Field("t_channels", "u8", 0, 16),
)
# Appended in format 1.5 (present when minor >= 5), once per up-sampling block: the shape
# (T, H, W, C) of the block's learned grid (HiNeRV-style grid encodings, snerv-g); all 0: no grid.
GRID_FIELDS: tuple[Field, ...] = (
    Field("grid_t", "u16", 0, 1024),
    Field("grid_h", "u16", 0, MAX_SIDE),
    Field("grid_w", "u16", 0, MAX_SIDE),
    Field("grid_c", "u8", 0, 64),
)
GRIDS_MINOR = 5
# Appended in format 1.7 (present when minor >= 7): 1 = the network draws a canvas larger than the
# frame, and section CNVS places each frame's window on it (the padding may then exceed a cell);
# 2 (format 1.8) = each frame is a warped view of the canvas that section CNVW places; 3 (format 1.9) =
# warped views with an object layer over them (CNVW holds the object's box and warps too).
CANVAS_FIELDS: tuple[Field, ...] = (Field("canvas", "u8", 0, 3),)
CANVAS_MINOR = 7
WARP_MINOR = 8
LAYER_MINOR = 9
MAX_GRID_VALUES = 1 << 22  # all grids of a stream together
STRIDE_RANGE = (1, 8)
KERNEL_RANGE = (1, 15)
MAX_PIX_FMT = 32


@dataclass(frozen=True)
class StreamHeader:
    model_id: int
    n_blocks: int
    c1: int
    n_rb: int
    emb_channels: int
    emb_h: int
    emb_w: int
    reduce_milli: int
    lower_width: int
    width: int
    height: int
    pad_w: int
    pad_h: int
    n_frames: int
    fps_num: int
    fps_den: int
    chunk_frames: int
    strides: tuple[int, ...]
    kernels: tuple[int, ...]
    pix_fmt: str = ""
    t_scale: int = 0  # 1.1: UB2 grid / temporal embedding grid (0: no temporal embeddings)
    t_channels: int = 0  # 1.1: channels of each (backward, forward) temporal embedding
    grids: tuple[tuple[int, int, int, int], ...] = ()  # 1.5: (T, H, W, C) per block; () = no grids
    canvas: int = 0  # 1.7: 1 = frames are windows of the network's canvas (CNVS); 1.8: 2 = warped views (CNVW);
    # 1.9: 3 = warped views with an object layer (CNVW)

    @property
    def minor_version(self) -> int:
        """Streams without temporal embeddings stay byte-identical to format 1.0; grids need 1.5, a
        canvas 1.7, a canvas of warped views 1.8, with an object layer 1.9."""
        if self.canvas == 3:
            return LAYER_MINOR
        if self.canvas == 2:
            return WARP_MINOR
        if self.canvas:
            return CANVAS_MINOR
        return GRIDS_MINOR if self.grids else 1 if self.t_scale or self.t_channels else 0

    def block_hw(self, i: int) -> tuple[int, int]:
        """Grid of up-sampling block ``i``'s output."""
        p = math.prod(self.strides[:i + 1])
        return self.emb_h * p, self.emb_w * p

    @property
    def temb_hw(self) -> tuple[int, int]:
        if not self.t_scale:
            return (0, 0)
        h = self.emb_h * self.strides[0] * self.strides[1]
        w = self.emb_w * self.strides[0] * self.strides[1]
        return -(-h // self.t_scale), -(-w // self.t_scale)

    @property
    def fps(self) -> Fraction:
        return Fraction(self.fps_num, self.fps_den)

    @property
    def n_chunks(self) -> int:
        return -(-self.n_frames // self.chunk_frames)

    def validate(self, uses_dwt: bool, temporal: bool = False, grids: bool = False) -> "StreamHeader":
        """Range and consistency checks (raise FormatError). ``uses_dwt``, ``temporal`` and ``grids``
        come from the model id."""
        for f in FIELDS + TEMPORAL_FIELDS + CANVAS_FIELDS:
            v = getattr(self, f.name)
            if not isinstance(v, int) or not f.lo <= v <= f.hi:
                raise FormatError(f"header field {f.name} = {v} outside {f.lo}..{f.hi}")
        if len(self.strides) != self.n_blocks or len(self.kernels) != self.n_blocks:
            raise FormatError("header: strides/kernels do not match n_blocks")
        if any(not STRIDE_RANGE[0] <= s <= STRIDE_RANGE[1] for s in self.strides):
            raise FormatError(f"header: strides {self.strides} outside {STRIDE_RANGE}")
        if any(not KERNEL_RANGE[0] <= k <= KERNEL_RANGE[1] or k % 2 == 0 for k in self.kernels):
            raise FormatError(f"header: kernels {self.kernels} must be odd and in {KERNEL_RANGE}")
        if self.emb_channels * self.emb_h * self.emb_w > MAX_EMB_NUMEL:
            raise FormatError("header: embedding larger than the format allows")
        p = math.prod(self.strides) * (2 if uses_dwt else 1)
        ph, pw = self.emb_h * p, self.emb_w * p
        if (ph, pw) != (self.height + self.pad_h, self.width + self.pad_w):
            raise FormatError(f"header: network grid {ph}x{pw} does not match the padded frame "
                              f"{self.height + self.pad_h}x{self.width + self.pad_w}")
        if self.canvas >= 2 and (ph < 2 or pw < 2):
            raise FormatError(f"header: warped views need a canvas of at least 2x2, not {ph}x{pw}")
        if not self.canvas and (self.pad_h >= p or self.pad_w >= p):
            raise FormatError("header: padding larger than one embedding cell")
        if ph * pw > MAX_PADDED_PIXELS:
            raise FormatError(f"header: frame {ph}x{pw} exceeds the format's {MAX_PADDED_PIXELS} pixels")
        if len(self.pix_fmt) > MAX_PIX_FMT or not self.pix_fmt.isascii():
            raise FormatError("header: bad pixel format name")
        if temporal != bool(self.t_scale and self.t_channels) or (self.t_scale == 0) != (self.t_channels == 0):
            raise FormatError("header: temporal embedding fields do not match the model "
                              f"(t_scale {self.t_scale}, t_channels {self.t_channels})")
        if temporal:
            th, tw = self.temb_hw
            if 2 * self.t_channels * th * tw > MAX_EMB_NUMEL:
                raise FormatError("header: temporal embeddings larger than the format allows")
        self._validate_grids(grids)
        return self

    def _validate_grids(self, grids: bool) -> None:
        """SPEC.md section 2: one (T, H, W, C) per block, each all 0 or all in range, no finer than
        its block's grid, at least one for a grid model and none for another, 2^22 values in all."""
        if grids != bool(self.grids):
            raise FormatError("header: grid encodings do not match the model "
                              f"({'none' if not self.grids else len(self.grids)} for model id {self.model_id})")
        if not grids:
            return
        if len(self.grids) != self.n_blocks:
            raise FormatError(f"header: {len(self.grids)} grid shapes for {self.n_blocks} blocks")
        total = 0
        for i, g in enumerate(self.grids):
            if len(g) != 4 or any(not f.lo <= v <= f.hi for f, v in zip(GRID_FIELDS, g)):
                raise FormatError(f"header: grid {i} shape {g} outside the format's ranges")
            if 0 in g and any(g):
                raise FormatError(f"header: grid {i} shape {g} has a zero size")
            bh, bw = self.block_hw(i)
            if g[1] > bh or g[2] > bw:
                raise FormatError(f"header: grid {i} of {g[1]}x{g[2]} is finer than its block's {bh}x{bw}")
            total += math.prod(g)
        if total > MAX_GRID_VALUES:
            raise FormatError(f"header: grids of {total} values (the format allows {MAX_GRID_VALUES})")
        if not total:
            raise FormatError("header: a grid model without any grid")

    def write(self, w: Writer, minor: int | None = None) -> None:
        """The header body of format 1.``minor`` (default: the lowest minor its fields need)."""
        minor = self.minor_version if minor is None else minor
        for f in FIELDS:
            getattr(w, f.kind)(getattr(self, f.name))
        for s in self.strides:
            w.u8(s)
        for k in self.kernels:
            w.u8(k)
        pf = self.pix_fmt.encode("ascii")
        w.u8(len(pf))
        w.raw(pf)
        if minor >= 1:
            for f in TEMPORAL_FIELDS:
                getattr(w, f.kind)(getattr(self, f.name))
        if minor >= GRIDS_MINOR:
            for g in self.grids or ((0, 0, 0, 0),) * self.n_blocks:
                for f, v in zip(GRID_FIELDS, g):
                    getattr(w, f.kind)(v)
        if minor >= CANVAS_MINOR:
            for f in CANVAS_FIELDS:
                getattr(w, f.kind)(getattr(self, f.name))

    @classmethod
    def read(cls, r: Reader, minor: int = 0) -> "StreamHeader":
        """Read the fields of format 1.``minor`` (fields of later minors are left unread)."""
        vals = {}
        for f in FIELDS:
            vals[f.name] = _read_field(r, f)
        n = vals["n_blocks"]
        vals["strides"] = tuple(r.u8() for _ in range(n))
        vals["kernels"] = tuple(r.u8() for _ in range(n))
        n_pf = r.u8()
        if n_pf > MAX_PIX_FMT:
            raise FormatError(f"header: pixel format name of {n_pf} bytes (at most {MAX_PIX_FMT})")
        raw = r.raw(n_pf)
        try:
            vals["pix_fmt"] = raw.decode("ascii")
        except UnicodeDecodeError:
            raise FormatError("header: pixel format name is not ASCII") from None
        if minor >= 1:
            for f in TEMPORAL_FIELDS:
                vals[f.name] = _read_field(r, f)
        if minor >= GRIDS_MINOR:
            grids = tuple(tuple(_read_field(r, f) for f in GRID_FIELDS) for _ in range(n))
            vals["grids"] = grids if any(any(g) for g in grids) else ()
        if minor >= CANVAS_MINOR:
            for f in CANVAS_FIELDS:
                vals[f.name] = _read_field(r, f)
            if vals["canvas"] == 2 and minor < WARP_MINOR:
                raise FormatError(f"header: canvas 2 (warped views) in a 1.{minor} stream (it needs 1.{WARP_MINOR})")
            if vals["canvas"] == 3 and minor < LAYER_MINOR:
                raise FormatError(f"header: canvas 3 (an object layer) in a 1.{minor} stream "
                                  f"(it needs 1.{LAYER_MINOR})")
        return cls(**vals)

    def pretty(self) -> list[tuple[str, str]]:
        out = [(f.name, str(getattr(self, f.name))) for f in fields(self)]
        return out


def _read_field(r: Reader, f: Field) -> int:
    v = getattr(r, f.kind)()
    if not f.lo <= v <= f.hi:
        raise FormatError(f"header field {f.name} = {v} outside {f.lo}..{f.hi}")
    return v
