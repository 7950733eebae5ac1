import torch

from snervcodec.wavelet import dwt2, idwt2, inverse_temporal_haar, temporal_haar


def test_block_formula():
    x = torch.tensor([[[[1.0, 2.0], [3.0, 4.0]]]])  # a=1 b=2 c=3 d=4
    ll, hf = dwt2(x)
    assert ll.item() == 5.0  # (1+2+3+4)/2
    assert hf[0, :, 0, 0, 0].tolist() == [-2.0, -1.0, 0.0]  # (a+b-c-d)/2, (a-b+c-d)/2, (a-b-c+d)/2


def test_exact_inverse_and_orthonormal():
    g = torch.Generator().manual_seed(0)
    x = torch.rand(3, 3, 18, 26, generator=g, dtype=torch.float64)
    ll, hf = dwt2(x)
    assert ll.shape == (3, 3, 9, 13) and hf.shape == (3, 3, 3, 9, 13)
    assert torch.allclose(idwt2(ll, hf), x, atol=1e-12)
    energy = ll.pow(2).sum() + hf.pow(2).sum()  # Parseval: orthonormal transform keeps energy
    assert torch.allclose(energy, x.pow(2).sum())


def test_ranges_for_unit_frames():
    x = torch.ones(1, 3, 4, 4)
    ll, hf = dwt2(x)
    assert torch.all(ll == 2.0) and torch.all(hf == 0)
    checker = torch.tensor([[1.0, 0.0], [0.0, 1.0]]).repeat(2, 2).expand(1, 3, 4, 4)
    _, hf = dwt2(checker)
    assert hf.abs().max() == 1.0


def test_float32_precision():
    x = torch.rand(2, 3, 64, 64)
    assert (idwt2(*dwt2(x)) - x).abs().max() < 1e-6


def test_temporal_haar_inverse():
    a, b = torch.rand(2, 3, 5, 5), torch.rand(2, 3, 5, 5)
    lo, hi = temporal_haar(a, b)
    a2, b2 = inverse_temporal_haar(lo, hi)
    assert torch.allclose(a, a2, atol=1e-6) and torch.allclose(b, b2, atol=1e-6)
    assert torch.allclose(lo / 2, (a + b) / (2 * 2 ** 0.5))
