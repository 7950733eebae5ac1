"""Quality metrics, one implementation for every codec.

- PSNR: per frame on RGB in [0, 1], averaged over frames (the paper's definition).
- MS-SSIM: pytorch-msssim, 5 scales; the default 11-pixel window needs a shorter side above 160 px,
  so smaller clips use the largest odd window that fits (reported with the result).
- SSIM for the training loss: our fused version of the same formula (window 11, sigma 1.5), checked
  against pytorch-msssim in the tests; it filters the five moment maps in one grouped convolution,
  channels-last (on a 2-core CPU the loss took a quarter of a training step in the default layout),
  and its gradient is taken in closed form (the loss's three terms: 20-24 -> 13-15 ms a step there).
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


def _filter(stack: torch.Tensor, g: torch.Tensor, adjoint: bool = False) -> torch.Tensor:
    """Separable Gaussian filtering of every channel, "valid" (or its adjoint, back to full size:
    the "full" correlation with the flipped filter), channels-last (depthwise filtering is ~4x faster
    so on oneDNN, whose padded form is also up to 1.4x faster than a transposed convolution)."""
    if stack.device.type in ("cpu", "cuda"):
        stack = stack.contiguous(memory_format=torch.channels_last)
    k, win = stack.shape[1], g.numel()
    pad = win - 1 if adjoint else 0
    g = g.flip(0) if adjoint else g
    stack = F.conv2d(stack, g.view(1, 1, 1, -1).expand(k, 1, 1, win), padding=(0, pad), groups=k)
    return F.conv2d(stack, g.view(1, 1, -1, 1).expand(k, 1, win, 1), padding=(pad, 0), groups=k)


def _terms(m: torch.Tensor, c: int, c1: float, c2: float):
    """From the filtered moments (mu_x, mu_y, E[xx], E[yy], E[xy]): the SSIM map's factors
    (2 mu_x mu_y + C1, mu_x^2 + mu_y^2 + C1, 2 s_xy + C2, s_xx + s_yy + C2)."""
    mu_x, mu_y, xx, yy, xy = m.split(c, dim=1)
    mu_xy = mu_x * mu_y
    b1 = mu_x * mu_x + mu_y * mu_y
    return 2 * mu_xy + c1, b1 + c1, 2 * (xy - mu_xy) + c2, (xx + yy - b1) + c2


def _weights(mask: torch.Tensor | None, win: int, shape: tuple[int, ...], like: torch.Tensor) -> torch.Tensor | float:
    """What each value of the (N, C, h, w) SSIM map weighs in the mean: 1/count, or shared among the
    windows lying wholly in known pixels (``mask`` 1 = known)."""
    if mask is None:
        return 1.0 / math.prod(shape)
    m = -F.max_pool2d(-mask.to(like.dtype), win, stride=1)  # 1 where the whole window is known
    return m / (m.sum() * shape[1]).clamp_min(1.0)


def _mean(m: torch.Tensor, c: int, c1: float, c2: float, w: torch.Tensor | float) -> torch.Tensor:
    """The weighted mean of the SSIM map A1 A2 / (B1 B2) of the filtered moments ``m``."""
    a1, b1, a2, b2 = _terms(m, c, c1, c2)
    smap = (a1 * a2) / (b1 * b2)
    return (smap * w).sum() if isinstance(w, torch.Tensor) else smap.sum() * w


def _moment_grads(m: torch.Tensor, c: int, c1: float, c2: float, g_s: torch.Tensor | float):
    """dL/dmu_x, dL/dE[xx], dL/dE[xy] from dL/dS (``g_s``) at the filtered moments ``m``. With
    S = A1 A2 / (B1 B2): dS/dE[xx] = -S B1 / (B1 B2), dS/dE[xy] = 2 A1 / (B1 B2), dS/dmu_x =
    2 (mu_y (A2 - A1) - mu_x S (B2 - B1)) / (B1 B2). Only the B's divide: they never fall below C1, C2,
    while A1 and A2 cross zero on signed bands (dividing by them gave NaN in a Bunny encode)."""
    a1, b1, a2, b2 = _terms(m, c, c1, c2)
    mu_x, mu_y = m[:, :c], m[:, c:2 * c]
    gw = g_s / (b1 * b2)
    s = a1 * a2 / (b1 * b2)
    return 2 * gw * (mu_y * (a2 - a1) - mu_x * s * (b2 - b1)), -gw * s * b1, 2 * gw * a1


def _channels_last(*maps: torch.Tensor) -> torch.Tensor:
    """``torch.cat(maps, dim=1)`` written straight into channels-last memory (one pass instead of a
    concatenation and a conversion; no autograd)."""
    n, c, h, w = maps[0].shape
    out = torch.empty((n, c * len(maps), h, w), dtype=maps[0].dtype, device=maps[0].device,
                      memory_format=torch.channels_last)
    for i, t in enumerate(maps):
        out[:, i * c:(i + 1) * c].copy_(t)
    return out


class _SSIM(torch.autograd.Function):
    """Mean SSIM with its gradient in closed form (the frame's only): the backward filters three
    coefficient maps once, where autograd steps back through the five moment maps and every
    elementwise product of the SSIM map (the loss took about a fifth of a fp32 training step on the
    2-core CPU). :func:`_moment_grads` gives dL/d(mu_x, E[xx], E[xy]); the filter's adjoint brings
    them back to pixels, where d/dx = T_mu + 2x T_xx + y T_xy."""

    @staticmethod
    def forward(ctx, x, y, g, c1, c2, w):
        c = x.shape[1]
        m = _filter(_channels_last(x, y, x * x, y * y, x * y), g)
        ctx.save_for_backward(x, y, g, m, w if isinstance(w, torch.Tensor) else None)
        ctx.consts = (c1, c2, w if not isinstance(w, torch.Tensor) else None)
        return _mean(m, c, c1, c2, w)

    @staticmethod
    def backward(ctx, grad):
        x, y, g, m, wt = ctx.saved_tensors
        c1, c2, wf = ctx.consts
        c = x.shape[1]
        t = _filter(_channels_last(*_moment_grads(m, c, c1, c2, grad * (wt if wt is not None else wf))), g,
                    adjoint=True)
        t_mu, t_xx, t_xy = t.split(c, dim=1)
        return t_mu + 2 * x * t_xx + y * t_xy, None, None, None, None, None


SSIM_WIN = 11  # the Gaussian window's side (pytorch-msssim's default)


def ssim(x: torch.Tensor, y: torch.Tensor, win: int = SSIM_WIN, sigma: float = 1.5, data_range: float = 1.0,
         mask: torch.Tensor | None = None) -> torch.Tensor:
    """Mean SSIM of (N, C, H, W) tensors (valid filtering, as pytorch-msssim).

    ``mask`` (N, 1, H, W), 1 = known pixel: average only over windows lying wholly in known pixels
    (the in-painting loss ignores masked pixels). The gradient reaches ``x`` in closed form
    (:class:`_SSIM`); when ``y`` needs one too, autograd differentiates the same formula."""
    n, c, h, w = x.shape
    win = min(win, h, w) if min(h, w) < win else win
    g = _gauss(win, sigma, x)
    c1, c2 = (0.01 * data_range) ** 2, (0.03 * data_range) ** 2
    weights = _weights(mask, win, (n, c, h - win + 1, w - win + 1), x)
    if not y.requires_grad:
        return _SSIM.apply(x, y, g, c1, c2, weights)
    return _mean(_filter(torch.cat([x, y, x * x, y * y, x * y], dim=1), g), c, c1, c2, weights)


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
