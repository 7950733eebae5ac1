"""One-level orthonormal Haar wavelets (paper Sec. 3.2; docs/paper/architecture.md "Haar wavelet").

For a 2x2 block [[a, b], [c, d]]::

    LL = (a+b+c+d)/2   H1 = (a+b-c-d)/2   H2 = (a-b+c-d)/2   H3 = (a-b-c+d)/2

A frame in [0, 1] gives LL in [0, 2] and the three HF bands in [-1, 1]. The transform is
orthonormal, so the inverse is its transpose and reconstructs to float precision. Both directions
are a single strided (transposed) convolution with a fixed 2x2 kernel: one kernel launch instead of
four slicing passes. Frames must have even height and width (the geometry pads them first).
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

# Rows: LL, H1, H2, H3; each a 2x2 filter over [[a, b], [c, d]].
_HAAR = torch.tensor(
    [
        [[1.0, 1.0], [1.0, 1.0]],
        [[1.0, 1.0], [-1.0, -1.0]],
        [[1.0, -1.0], [1.0, -1.0]],
        [[1.0, -1.0], [-1.0, 1.0]],
    ]
) * 0.5


def _kernel(channels: int, like: torch.Tensor) -> torch.Tensor:
    # (4*C, 1, 2, 2), grouped per input channel: output channel 4*c + band.
    k = _HAAR.to(device=like.device, dtype=like.dtype).unsqueeze(1)
    return k.repeat(channels, 1, 1, 1)


def dwt2(x: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Forward 2D Haar DWT.

    Args:
        x: (N, C, H, W) with H and W even.
    Returns:
        ``(ll, hf)``: ``ll`` is (N, C, H/2, W/2); ``hf`` is (N, 3, C, H/2, W/2), bands H1, H2, H3.
    """
    n, c, h, w = x.shape
    if h % 2 or w % 2:
        raise ValueError(f"dwt2 needs even height and width, got {h}x{w}")
    y = F.conv2d(x, _kernel(c, x), stride=2, groups=c)  # (N, 4C, H/2, W/2)
    y = y.view(n, c, 4, h // 2, w // 2)
    ll = y[:, :, 0]
    hf = y[:, :, 1:].transpose(1, 2)
    return ll.contiguous(), hf.contiguous()


def idwt2(ll: torch.Tensor, hf: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`dwt2`: ``ll`` (N, C, h, w) and ``hf`` (N, 3, C, h, w) -> (N, C, 2h, 2w)."""
    n, c, h, w = ll.shape
    y = torch.cat([ll.unsqueeze(2), hf.transpose(1, 2)], dim=2).reshape(n, 4 * c, h, w)
    return F.conv_transpose2d(y, _kernel(c, y), stride=2, groups=c)


_INV_SQRT2 = 2.0 ** -0.5


def temporal_haar(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """One-level orthonormal Haar along time for a pair of frames: ``(low, high)``.

    The temporal extension (Sec. 3.3) keeps only ``low / 2`` = (a + b) / (2*sqrt2) of each pair.
    """
    return (a + b) * _INV_SQRT2, (a - b) * _INV_SQRT2


def inverse_temporal_haar(low: torch.Tensor, high: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Inverse of :func:`temporal_haar`."""
    return (low + high) * _INV_SQRT2, (low - high) * _INV_SQRT2
