"""Format 1.6's entropy models (after NVRC): axis laws for the weights (entropy/weights_axis.py),
context laws for the embeddings (entropy/embedding_context.py), their integer tables in the stream
(bitstream/axislaw.py) and the training estimate against the coded bits."""

import math
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn as nn

from snervcodec.bitstream.axislaw import AxisLaw, read_axis_law, write_axis_law
from snervcodec.bitstream.bytesio import Reader, Writer
from snervcodec.bitstream.container import CONTEXT_MINOR
from snervcodec.bitstream.payload import read_embeddings, write_embeddings
from snervcodec.bitstream.stepcoded import read_stepcoded_weights, write_stepcoded_weights
from snervcodec.compress.stepcodes import code_for_step, step_from_code
from snervcodec.entropy.chunks import _chunk_symbols
from snervcodec.entropy.context import contexts
from snervcodec.entropy.embedding_context import ContextEmbeddingModel
from snervcodec.entropy.weights import WeightEntropyModel, decompress_weights, weight_rate
from snervcodec.entropy.weights_axis import AxisWeightModel
from snervcodec.errors import ConfigError, FormatError
from snervcodec.requests import CompressionConfig

from streamtools import fix_crcs


def _net(seed: int = 0) -> nn.Module:
    """Kernels whose output and input channels differ in scale by up to 2^5 (the case axis laws are for)."""
    torch.manual_seed(seed)
    net = nn.Sequential(nn.Conv2d(12, 24, 3), nn.Conv2d(24, 16, 3), nn.Conv2d(16, 3, 1))
    with torch.no_grad():
        for m in net:
            o, i = m.weight.shape[:2]
            m.weight.mul_(2.0 ** torch.linspace(-3, 2, o)[:, None, None, None]
                          * 2.0 ** torch.linspace(2, -3, i)[torch.randperm(i)][None, :, None, None])
    return net


def _train_rate(model: nn.Module, net: nn.Module, steps: int = 40) -> float:
    """A few Adam steps on the rate alone (the steps held): the laws learn the rounded symbols."""
    params = [p for n, p in model.named_parameters() if not n.endswith("log_step")]
    opt = torch.optim.Adam(params, lr=0.05)
    for _ in range(steps):
        opt.zero_grad()
        _, bits = model(net, "ste")
        bits.backward()
        opt.step()
    with torch.no_grad():
        return float(model(net, "ste")[1])


def test_axis_law_round_trips_dense_and_sparse_and_refuses_bad_tables():
    for law in (AxisLaw(3, 2, (100, 2000, 30000, 65535)), AxisLaw(9, 9, (7,) + (0,) * 15 + (9,))):
        w = Writer()
        write_axis_law(w, law)
        assert read_axis_law(Reader(w.getvalue())) == law
    assert len(w.getvalue()) == 3 + 2 * 3  # sparse: two (class, decay) entries
    for bad in (b"\x00\x01\x01\x00\x01", b"\x02\x02\x05" + b"\x00\x00" * 3, b"\x02\x02\x01\x07\x01\x00",
                b"\x02\x02\x02\x01\x01\x00\x00\x01\x00", b"\x41\x01\x01\x00\x01\x00"):
        with pytest.raises(FormatError):
            read_axis_law(Reader(bad))
    with pytest.raises(FormatError):
        AxisLaw(2, 1, (5, 0)).model(1, 8)  # a class without a law codes nothing


def test_contexts_are_the_bit_length_of_the_previous_magnitude():
    p = np.array([0, 1, -1, 2, 3, -4, 7, 8, 31, -32])
    assert contexts(p, 6).tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 5]
    assert contexts(p, 2).tolist() == [1] * 10 and contexts(p, 1).tolist() == [0] * 10
    assert torch.equal(contexts(torch.from_numpy(p).float(), 6).long(), torch.from_numpy(contexts(p, 6)))


def test_axis_weights_code_to_the_estimate_and_decode_exactly():
    """Estimated = coded within 2% (training's learned laws and the refitted ones), the DECA section
    round-trips, and channels of small weights cost fewer bits than under one law per tensor."""
    net = _net()
    shapes = {k: tuple(v.shape) for k, v in net.state_dict().items()}
    axis = AxisWeightModel(net, 8, target_bits=3.0)
    trained = _train_rate(axis, net)
    coded = axis.compress(net)
    st = coded.stats
    assert st["coded_bits"] == pytest.approx(st["estimated_bits"], rel=0.02)
    assert st["coded_bits"] == pytest.approx(trained + st["step_code_bits"] + st["class_code_bits"], rel=0.02)
    assert st["coded_bits"] == pytest.approx(st["trained_estimate_bits"], rel=0.02)
    payload = write_stepcoded_weights(coded.payload)
    back = read_stepcoded_weights(payload, list(shapes.values()), b"DECA")
    assert coded.payload.tag == b"DECA" and any(t.law.rows > 1 or t.law.cols > 1 for t in back.tensors)
    state = decompress_weights(back, shapes)
    assert all(torch.equal(state[k], coded.state[k]) for k in shapes)
    assert weight_rate(back, shapes)["model_bits"] == pytest.approx(st["coded_bits"], rel=0.02)
    plain = WeightEntropyModel(net, 8, target_bits=3.0)
    _train_rate(plain, net)
    assert len(payload) < 0.95 * len(write_stepcoded_weights(plain.compress(net).payload))


def test_axis_weights_refuse_a_corrupt_section():
    net = _net()
    shapes = [tuple(v.shape) for v in net.state_dict().values()]
    payload = write_stepcoded_weights(AxisWeightModel(net, 8, target_bits=3.0).compress(net).payload)
    with pytest.raises(FormatError):
        read_stepcoded_weights(payload, shapes, b"DECG")  # the same bytes are no DECG section
    with pytest.raises(FormatError):
        read_stepcoded_weights(payload[:-3], shapes, b"DECA")


def _clip(t: int = 32, c: int = 8, h: int = 4, w: int = 6) -> torch.Tensor:
    """Embeddings on a grid step: channels of different scales, changing slowly over time."""
    rng = np.random.default_rng(1)
    step = float(step_from_code(code_for_step(0.1)))
    scale = 2.0 ** np.linspace(-1, 3, c)[None, :, None, None]
    base = np.round(rng.laplace(0, 1, (1, c, h, w)) * scale)
    change = np.round(rng.laplace(0, 0.4, (t - 1, c, h, w)) * np.sqrt(scale))
    q = np.concatenate([base, base + change.cumsum(0)]).clip(-32, 31)
    return torch.from_numpy(q * step).float(), step


def test_context_embeddings_code_to_the_estimate_and_decode_exactly():
    from snervcodec.bitstream.header import StreamHeader

    x, step = _clip()
    g = ContextEmbeddingModel(x, 6, chunk_frames=8)
    with torch.no_grad():
        g.log_step.fill_(math.log(step))
    frames = torch.arange(len(x))
    opt = torch.optim.Adam([g.log_a, g.row_offsets, g.col_offsets], lr=0.05)
    for _ in range(40):  # the laws learn the clip's rounded symbols (the rate alone, steps held)
        opt.zero_grad()
        g(x, "ste", frames)[1].backward()
        opt.step()
    with torch.no_grad():
        est = float(g(x, "ste", frames)[1])
    qe, coded, stats = g.compress(x, None, 8)
    assert coded.law is not None and coded.delta, stats
    assert stats["coded_bits"] == pytest.approx(stats["estimated_bits"], rel=0.02)
    assert stats["trained_estimate_bits"] == pytest.approx(est, rel=1e-4)
    assert stats["coded_bits"] == pytest.approx(est, rel=0.02)
    sizes = stats["section_bytes"]
    assert len(write_embeddings(coded)) == min(sizes.values()) < sizes["format_1_4"]
    idx = read_embeddings(write_embeddings(coded), 8, 4, False, "EMBD", stepcoded=True, minor=6)
    h = StreamHeader(1, 5, 8, 0, 8, 4, 6, 1200, 12, 1, 1, 0, 0, len(x), 25, 1, 8, (1,) * 5, (1,) * 5)
    embs, _ = _chunk_symbols(h, idx, range(4), 8 * 24, "EMBD", None, 8)
    assert np.array_equal(np.stack(embs).reshape(len(x), 8, 4, 6), qe.qt.symbols.transpose(1, 0, 2, 3))
    with pytest.raises(FormatError):  # context coding is a 1.6 tool
        read_embeddings(write_embeddings(coded), 8, 4, False, "EMBD", stepcoded=True, minor=4)


def test_context_entropy_is_an_rdo_option():
    assert CompressionConfig(entropy="context").validate().entropy == "context"
    with pytest.raises(ConfigError):
        CompressionConfig(entropy="context", pipeline="paper").validate()
    with pytest.raises(ConfigError):
        CompressionConfig(entropy="nvrc").validate()


CONFORMANCE = Path(__file__).resolve().parents[1] / "bitstream" / "conformance" / "rdo-context.snv"


def test_an_older_reader_refuses_the_context_stream_by_name():
    """DECA is new in 1.6: relabelled as a 1.5 stream (whose header it shares), it is refused by
    name, never misread."""
    from snervcodec.bitstream.stream import parse_stream
    from snervcodec.codec import info

    data = CONFORMANCE.read_bytes()
    assert data[4:6] == bytes([1, CONTEXT_MINOR]) and info(CONFORMANCE)["sections"].keys() >= {"DECA", "EMBD"}
    b = bytearray(data)
    b[5] = 5
    with pytest.raises(FormatError, match="DECA"):
        parse_stream(fix_crcs(bytes(b)))


def test_cli_offers_the_entropy_models():
    from click.testing import CliRunner

    from snervcodec.cli import cli

    res = CliRunner().invoke(cli, ["encode", "--help"])
    assert res.exit_code == 0 and "--entropy [laplace|context]" in res.output


def test_a_conformance_stream_codes_its_embeddings_under_the_context_law():
    """rdo-context-emb covers what rdo-context does not (its embeddings code smaller as 1.4): EMBD
    coded under the axis law, which a reader of minor 5 refuses as a reserved quantiser flag."""
    from snervcodec.bitstream.stream import parse_stream

    data = (CONFORMANCE.parent / "rdo-context-emb.snv").read_bytes()
    p = parse_stream(data)
    e = p.embeddings.coded
    assert p.version == (1, CONTEXT_MINOR) and e.law is not None and len(e.context_classes) > 0
    assert parse_stream(CONFORMANCE.read_bytes()).embeddings.coded.law is None
    embd = p.embeddings.payload
    args = (p.cfg.emb_channels, p.header.n_chunks, True, "EMBD", True)
    assert read_embeddings(embd, *args, CONTEXT_MINOR).coded.law == e.law
    with pytest.raises(FormatError, match="reserved quantisation flags"):
        read_embeddings(embd, *args, CONTEXT_MINOR - 1)
