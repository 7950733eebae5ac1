"""Quality metrics, one implementation for every codec.

- PSNR: per frame on RGB in [0, 1], averaged over frames (the paper's definition).
- MS-SSIM: pytorch-msssim, 5 scales; the default 11-pixel window needs a shorter side above 160 px,
  so smaller clips use the largest odd window that fits (reported with the result).
- SSIM for the training loss: our fused version of the same formula (window 11, sigma 1.5), checked
  against pytorch-msssim in the tests; it filters the five moment maps in one grouped convolution,
  channels-last (on a 2-core CPU the loss took a quarter of a training step in the default layout).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

_C1, _C2 = 0.01 ** 2, 0.03 ** 2
_WINDOWS: dict[tuple, torch.Tensor] = {}


def _gauss(size: int, sigma: float, like: torch.Tensor) -> torch.Tensor:
    key = (size, sigma, like.device, like.dtype)
    w = _WINDOWS.get(key)
    if w is None:
        coords = torch.arange(size, dtype=torch.float64) - size // 2
        g = torch.exp(-(coords ** 2) / (2 * sigma ** 2))
        w = (g / g.sum()).to(device=like.device, dtype=like.dtype)
        _WINDOWS[key] = w
    return w


def ssim(x: torch.Tensor, y: torch.Tensor, win: int = 11, sigma: float = 1.5, data_range: float = 1.0,
         mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM of (N, C, H, W) tensors (valid filtering, as pytorch-msssim).

    ``mask`` (N, 1, H, W), 1 = known pixel: average only over windows lying wholly in known pixels
    (the in-painting loss ignores masked pixels)."""
    n, c, h, w = x.shape
    win = min(win, h, w) if min(h, w) < win else win
    g = _gauss(win, sigma, x)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    stack = torch.cat([x, y, x * x, y * y, x * y], dim=1)  # (N, 5C, H, W)
    if stack.device.type in ("cpu", "cuda"):  # depthwise filtering is ~4x faster channels-last (oneDNN)
        stack = stack.contiguous(memory_format=torch.channels_last)
    k = 5 * c
    stack = F.conv2d(stack, g.view(1, 1, 1, -1).expand(k, 1, 1, win), groups=k)
    stack = F.conv2d(stack, g.view(1, 1, -1, 1).expand(k, 1, win, 1), groups=k)
    mu_x, mu_y, xx, yy, xy = stack.split(c, dim=1)
    mu_xx, mu_yy, mu_xy = mu_x * mu_x, mu_y * mu_y, mu_x * mu_y
    s_xx, s_yy, s_xy = xx - mu_xx, yy - mu_yy, xy - mu_xy
    num = (2 * mu_xy + c1) * (2 * s_xy + c2)
    den = (mu_xx + mu_yy + c1) * (s_xx + s_yy + c2)
    if mask is None:
        return (num / den).mean()
    m = -F.max_pool2d(-mask.to(num.dtype), win, stride=1)  # 1 where the whole window is known
    return ((num / den) * m).sum() / (m.sum() * c).clamp_min(1.0)


def psnr_per_frame(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """PSNR (dB) of each frame of (N, C, H, W) tensors in [0, 1]."""
    mse = (x.float() - y.float()).pow(2).flatten(1).mean(1)
    return -10.0 * torch.log10(mse.clamp_min(1e-12))


def msssim_window(h: int, w: int) -> int:
    """Largest odd window (<= 11) for which 5-scale MS-SSIM is defined on an h x w frame."""
    side = min(h, w)
    # pytorch-msssim asserts side > (win - 1) * 2**4
    win = 11
    while win > 1 and side <= (win - 1) * 16:
        win -= 2
    return win


def ms_ssim_per_frame(x: torch.Tensor, y: torch.Tensor) -> tuple[torch.Tensor, int]:
    """5-scale MS-SSIM of each frame (inputs in [0, 1]) and the window size used."""
    from pytorch_msssim import ms_ssim

    h, w = x.shape[-2:]
    win = msssim_window(h, w)
    if win < 3:
        return torch.full((x.shape[0],), math.nan), win
    return ms_ssim(x.float(), y.float(), data_range=1.0, size_average=False, win_size=win), win
