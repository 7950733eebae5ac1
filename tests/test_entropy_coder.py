import numpy as np
import pytest

from snervcodec.entropy.coder import PRECISION, SymbolModel, decode_symbols, encode_symbols, fit_model
from snervcodec.compress.quant import empirical_bits


@pytest.mark.parametrize("dist", ["laplace", "gauss", "uniform", "skewed", "two"])
def test_round_trip_and_efficiency(dist, rng):
    n = 50000
    s = {
        "laplace": np.clip(np.round(rng.laplace(128, 5, n)), 0, 255),
        "gauss": np.clip(np.round(rng.normal(30, 6, n)), 0, 63),
        "uniform": rng.integers(0, 64, n),
        "skewed": np.where(rng.random(n) < 0.97, 7, rng.integers(0, 16, n)),
        "two": rng.integers(3, 5, n),
    }[dist].astype(np.int64)
    m = fit_model(s)
    words = encode_symbols(s, m)
    assert np.array_equal(decode_symbols(words, m, n), s)
    coded = 32 * len(words)
    assert coded <= empirical_bits(s) * 1.01 + 64  # within 1% of the empirical entropy (+ flush)


def test_constant_costs_nothing():
    s = np.full(1000, 9)
    m = fit_model(s)
    assert m.kind == "constant" and len(encode_symbols(s, m)) == 0
    assert np.array_equal(decode_symbols(np.zeros(0, np.uint32), m, 1000), s)


@pytest.mark.parametrize("model", [
    SymbolModel("laplace", 0, 255, centre=128, decay=60000),
    SymbolModel("laplace", 3, 40, centre=3, decay=1),
    SymbolModel("counts", 0, 4, table_bits=8, table=(1, 100, 150, 4, 1)),
])
def test_tables_are_exact_dyadic_and_coded_ideally(model, rng):
    f = model.frequencies()
    assert f.sum() == 1 << PRECISION and f.min() >= 1
    # constriction's perfect quantiser keeps a dyadic table unchanged: coded length = ideal + flush
    sym = rng.choice(np.arange(model.lo, model.hi + 1), size=20000, p=f / f.sum())
    hist = np.bincount(sym - model.lo, minlength=model.alphabet)
    words = encode_symbols(sym, model)
    assert abs(32 * len(words) - model.ideal_bits(hist)) <= 64
    assert np.array_equal(decode_symbols(words, model, len(sym)), sym)


def test_laplace_table_is_integer_only():
    # pinned values: any change of the integer recipe breaks old streams
    m = SymbolModel("laplace", 0, 4, centre=2, decay=32768)
    assert m.frequencies().tolist() == [1677722, 3355443, 6710886, 3355443, 1677722]


def _words_with(cat, sym):
    import constriction

    enc = constriction.stream.queue.RangeEncoder()
    enc.encode(np.asarray(sym, dtype=np.int32), cat)
    return enc.get_compressed()


def test_linear_time_tables_equal_constrictions_perfect_quantisation(rng):
    """The fast construction gives exactly the table the (quadratic) perfect quantiser gives, so every
    stream ever written decodes the same: compared by coding every symbol of the alphabet."""
    import constriction

    from snervcodec.entropy.coder import TOTAL, _categorical, _normalise

    cases = [SymbolModel("laplace", 0, 1, centre=0, decay=1), SymbolModel("laplace", 0, 255, centre=128, decay=65535)]
    for _ in range(60):
        k = int(rng.integers(2, 1500))
        if rng.random() < 0.5:
            cases.append(SymbolModel("laplace", 0, k - 1, centre=int(rng.integers(0, k)),
                                     decay=int(rng.integers(1, 65536))))
        else:
            hist = rng.integers(0, 500, k) * (rng.random(k) < 0.3)
            f = _normalise(hist.astype(np.int64), 1 << 12, int(np.argmax(hist)))
            cases.append(SymbolModel("counts", 0, k - 1, table_bits=12, table=tuple(int(v) for v in f)))
    for m in cases:
        sym = np.concatenate([np.arange(m.alphabet), rng.integers(0, m.alphabet, 500)])
        perfect = constriction.stream.model.Categorical(m.frequencies().astype(np.float64) / TOTAL, perfect=True)
        assert np.array_equal(_words_with(_categorical(m), sym), _words_with(perfect, sym)), m


def test_largest_alphabet_builds_in_linear_time(monkeypatch):
    """A 65,536-symbol model (the format's largest) is cheap to build: no decoder stalls on a table.
    Counted, not timed: the table reaches constriction once, through its linear-time quantiser
    (``perfect=False``; the ``perfect`` one is quadratic in the alphabet), and the Python lines our
    own code runs grow linearly with the alphabet."""
    import sys

    import constriction

    from snervcodec.entropy import coder as entropy

    real, calls = constriction.stream.model.Categorical, []

    def categorical(*args, **kw):
        calls.append((len(args[0]), kw.get("perfect", True)))
        return real(*args, **kw)

    monkeypatch.setattr(constriction.stream.model, "Categorical", categorical)

    def lines_run(k: int) -> int:
        n = [0]

        def trace(frame, event, arg):
            if frame.f_code.co_filename != entropy.__file__:
                return None
            n[0] += event == "line"
            return trace

        entropy._laplace_weights.cache_clear()
        sys.settrace(trace)
        try:
            for decay in (65535, 65534, 40000):
                entropy._categorical(SymbolModel("laplace", 0, k - 1, centre=k // 2, decay=decay))
        finally:
            sys.settrace(None)
        return n[0]

    small, large = lines_run(1 << 14), lines_run(1 << 16)
    assert calls == [(1 << 14, False)] * 3 + [(1 << 16, False)] * 3
    assert large < 4.5 * small, (small, large)  # 4x the alphabet: about 4x the work, not 16x
