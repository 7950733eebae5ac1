"""The two-sided geometric ("discrete Laplace") law every learned entropy model uses, in both its
faces: the training estimate (differentiable bits of relaxed or rounded symbols) and the integer
table the stream carries (``entropy.coder``'s ``laplace`` model, built from the same decay), so that
the rate trained on is the rate coded.

    p(q) = (1-r)/(1+r) * r^|q|,  r = exp(-a)
"""

from __future__ import annotations

import math

import numpy as np
import torch
import torch.nn.functional as F

from ..compress.stepcodes import offset
from .coder import SymbolModel

LN2 = math.log(2.0)


def geometric_bits(y: torch.Tensor, log_a: torch.Tensor) -> torch.Tensor:
    """Bits of symbols ``y`` under ``p(q) = (1-r)/(1+r) r^|q|`` with ``r = exp(-a)``, summed.
    Exact at integer ``y`` (the code length of the coder's table up to its 2^-24 rounding)."""
    a = log_a.exp()
    return (y.numel() * -_log_p0(a) + a * y.abs().sum()) / LN2


def _log_p0(a: torch.Tensor) -> torch.Tensor:
    """log((1-r)/(1+r)) with r = exp(-a): the log-probability of the zero symbol."""
    return torch.log(-torch.expm1(-a)) - F.softplus(-a)


def geometric_bits_per_frame(y: torch.Tensor, log_a: torch.Tensor) -> torch.Tensor:
    """:func:`geometric_bits` of each frame (dimension 0) of ``y`` separately: (N,)."""
    a = log_a.exp()
    per = y[0].numel() if len(y) else 0
    return (per * -_log_p0(a) + a * y.abs().flatten(1).sum(1)) / LN2


def ml_log_a(q: torch.Tensor) -> torch.Tensor:
    """log of the maximum-likelihood decay ``a`` of :func:`geometric_bits`'s law for symbols ``q``:
    ``E|q| = 2r / (1 - r^2)``, so ``r = (sqrt(1 + m^2) - 1) / m``."""
    m = max(float(q.abs().mean()) if q.numel() else 0.0, 1e-3)
    r = (math.sqrt(1.0 + m * m) - 1.0) / m
    return torch.tensor(math.log(-math.log(r)))


def laplace_table(symbols: np.ndarray, bits: int, a: float) -> SymbolModel:
    """The stream's integer model of signed-offset symbols under the learned geometric law
    ``r = exp(-a)``: centred on the zero symbol, over the whole ``bits``-bit alphabet, so that the
    code length is the training estimate's (a table cut to the symbols' range would renormalise
    the law; constant when every symbol is the same)."""
    lo, hi = int(symbols.min()), int(symbols.max())
    if lo == hi:
        return SymbolModel("constant", lo, hi)
    decay = int(min(65535, max(1, round(65536 * math.exp(-a)))))
    return SymbolModel("laplace", 0, (1 << bits) - 1, centre=offset(bits), decay=decay)


def geometric_bits_np(q: np.ndarray, a: float) -> float:
    """Training's rate estimate (:func:`geometric_bits`, the one formula) of signed symbols ``q``."""
    log_a = torch.tensor(math.log(a), dtype=torch.float64)
    return float(geometric_bits(torch.from_numpy(np.asarray(q, np.float64)), log_a))


def model_bits(symbols: np.ndarray, model: SymbolModel) -> float:
    """Code length of ``symbols`` under ``model``'s integer table: the rate the stream's own entropy
    model predicts (for grid streams, the rate model training optimised)."""
    if model.kind == "constant":
        return 0.0
    return model.ideal_bits(np.bincount(np.asarray(symbols).ravel() - model.lo, minlength=model.alphabet))
