"""One metric implementation for every codec (issue: "the same metric code for every codec").

- bpp: real bytes x 8 / (W x H x frames).
- RGB PSNR: per frame on 8-bit RGB, averaged over frames (the paper's definition).
- YUV 4:2:0 PSNR: both videos converted by the same BT.601 limited-range matrix, chroma averaged
  over 2x2 blocks, per frame (6 PSNR_Y + PSNR_U + PSNR_V) / 8, averaged over frames.
- MS-SSIM: pytorch-msssim, 5 scales, on RGB; the window shrinks below 11 for clips whose shorter
  side is <= 160 px, and the window used is reported.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ..metrics import ms_ssim_per_frame, psnr_per_frame

_M = np.array([[65.481, 128.553, 24.966], [-37.797, -74.203, 112.0], [112.0, -93.786, -18.214]]) / 255.0
_OFF = np.array([16.0, 128.0, 128.0])


def rgb_to_yuv420(frames: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T, H, W, 3) uint8 RGB -> Y (T, H, W), U and V (T, ceil(H/2), ceil(W/2)), float64 8-bit range."""
    x = frames.astype(np.float64)
    yuv = np.round(x @ _M.T + _OFF).clip(0, 255)
    t, h, w, _ = yuv.shape
    ph, pw = h + h % 2, w + w % 2
    c = np.pad(yuv[..., 1:], ((0, 0), (0, ph - h), (0, pw - w), (0, 0)), mode="edge")
    c = c.reshape(t, ph // 2, 2, pw // 2, 2, 2).mean(axis=(2, 4)).round()
    return yuv[..., 0], c[..., 0], c[..., 1]


def _psnr(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    mse = ((a - b) ** 2).reshape(len(a), -1).mean(1)
    return 10 * np.log10(255.0 ** 2 / np.maximum(mse, 1e-10))


def evaluate(rec: np.ndarray, ref: np.ndarray, n_bytes: int | None = None) -> dict:
    """Every figure for a decoded clip ``rec`` against the original ``ref`` (both (T, H, W, 3) uint8)."""
    if rec.shape != ref.shape:
        raise ValueError(f"decoded {rec.shape} vs original {ref.shape}")
    t, h, w, _ = ref.shape
    a = torch.from_numpy(rec).permute(0, 3, 1, 2).float().div(255)
    b = torch.from_numpy(ref).permute(0, 3, 1, 2).float().div(255)
    rgb = psnr_per_frame(a, b).numpy()
    ms, win = [], 11
    for i in range(0, t, 16):
        v, win = ms_ssim_per_frame(a[i:i + 16], b[i:i + 16])
        ms.append(v.numpy())
    ya, ua, va = rgb_to_yuv420(rec)
    yb, ub, vb = rgb_to_yuv420(ref)
    yuv = (6 * _psnr(ya, yb) + _psnr(ua, ub) + _psnr(va, vb)) / 8
    out = {"rgb_psnr": float(rgb.mean()), "yuv420_psnr": float(yuv.mean()), "y_psnr": float(_psnr(ya, yb).mean()),
           "ms_ssim": float(np.concatenate(ms).mean()), "ms_ssim_window": win, "frames": t, "height": h, "width": w}
    if n_bytes is not None:
        out["bytes"] = int(n_bytes)
        out["bpp"] = 8.0 * n_bytes / (w * h * t)
    if math.isnan(out["ms_ssim"]):
        out["ms_ssim"] = None
    return out
