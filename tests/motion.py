"""Synthetic camera motion for the canvas tests: a smooth texture, turned and zoomed about its centre."""

import math

import numpy as np
import torch


def scene(rng, h=200, w=200):
    """Smooth texture (noise magnified 4x, bilinear), so that a fraction of a degree is visible."""
    x = torch.from_numpy(rng.random((1, 3, h // 4, w // 4))).float()
    return (torch.nn.functional.interpolate(x, size=(h, w), mode="bilinear", align_corners=True)[0]
            .permute(1, 2, 0).numpy() * 255)


def turning(scene, n, h, w, degrees=0.0, zoom=1.0):
    """``n`` frames of ``h x w`` about the scene's centre, frame k turned by ``k * degrees`` and
    magnified ``zoom**k`` (uint8)."""
    sh, sw = scene.shape[:2]
    src = torch.from_numpy(np.ascontiguousarray(scene)).permute(2, 0, 1)[None].float()
    dy = torch.arange(h, dtype=torch.float64)[:, None] - (h - 1) / 2
    dx = torch.arange(w, dtype=torch.float64)[None, :] - (w - 1) / 2
    out = []
    for k in range(n):
        s, th = zoom ** -k, math.radians(degrees * k)
        py = s * (math.cos(th) * dy - math.sin(th) * dx) + (sh - 1) / 2
        px = s * (math.sin(th) * dy + math.cos(th) * dx) + (sw - 1) / 2
        grid = torch.stack((2 * px / (sw - 1) - 1, 2 * py / (sh - 1) - 1), -1)[None].float()
        v = torch.nn.functional.grid_sample(src, grid, mode="bilinear", align_corners=True)
        out.append(v[0].permute(1, 2, 0).round().clamp(0, 255).byte().numpy())
    return np.stack(out)


def crossing(rng, n, h, w, size=(12, 16), start=(4.0, 3.0), velocity=(0.5, 2.3), detail=2):
    """``n`` frames of ``h x w``: a still background, and a textured ``size`` object whose top-left corner
    moves from ``start`` by ``velocity`` pixels a frame (sub-pixel, bilinear; uint8) over it; its texture
    is ``detail`` times finer than the background's."""
    back = scene(rng, h, w)
    obj = scene(rng, detail * size[0], detail * size[1])[::detail, ::detail]
    src = torch.from_numpy(np.ascontiguousarray(obj)).permute(2, 0, 1)[None].float()
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float64)
    out = []
    for k in range(n):
        ly, lx = yy - (start[0] + velocity[0] * k), xx - (start[1] + velocity[1] * k)
        inside = (ly >= 0) & (ly <= size[0] - 1) & (lx >= 0) & (lx <= size[1] - 1)
        grid = torch.from_numpy(np.stack((2 * lx / (size[1] - 1) - 1, 2 * ly / (size[0] - 1) - 1), -1))[None].float()
        v = torch.nn.functional.grid_sample(src, grid, mode="bilinear", align_corners=True)[0].permute(1, 2, 0).numpy()
        out.append(np.where(inside[..., None], v, back).round().clip(0, 255).astype(np.uint8))
    return np.stack(out)
