"""Format 1.2 (DECG, step-code quantisers): every damaged or lying stream is a FormatError."""

import struct

import numpy as np
import pytest

from snervcodec.bitstream.stepcoded import read_stepcoded_weights, write_stepcoded_weights
from snervcodec.codec import decode, parse_stream
from snervcodec.errors import FormatError
from streamtools import fix_crcs
from streamtools import sections as _sections


def _section(data: bytes, tag: bytes) -> tuple[int, int]:
    for s, e in _sections(data)[1:]:
        if data[s:s + 4] == tag:
            return s, e
    raise KeyError(tag)


def test_round_trip_of_the_payload(tiny_rdo_stream):
    ps = parse_stream(tiny_rdo_stream)
    s, e = _section(tiny_rdo_stream, b"DECG")
    payload = tiny_rdo_stream[s + 8:e - 4]
    assert write_stepcoded_weights(ps.weights) == payload
    again = read_stepcoded_weights(payload, list(ps.shapes.values()))
    assert np.array_equal(again.words, ps.weights.words) and again.tensors == ps.weights.tensors
    assert ps.embeddings.coded.step_codes is not None


def test_truncation_at_every_offset(tiny_rdo_stream):
    for n in range(0, len(tiny_rdo_stream), 3):
        with pytest.raises(FormatError):
            parse_stream(tiny_rdo_stream[:n])


@pytest.mark.parametrize("tag", [b"DECG", b"EMBD"])
def test_crc_valid_mutations_of_every_byte_never_crash(tiny_rdo_stream, tag):
    """Every byte of the new payloads (bit depths, step-code models, weight models, word counts,
    words, embedding step codes), changed with checksums repaired: a clean error or a decode."""
    s, e = _section(tiny_rdo_stream, tag)
    head = range(s + 8, min(e - 4, s + 8 + 400))  # the models and step codes all sit in front
    words = np.random.default_rng(5).integers(s + 8, e - 4, 60)
    errors = 0
    for pos in list(head) + [int(p) for p in words]:
        b = bytearray(tiny_rdo_stream)
        b[pos] ^= 0x5A
        try:
            decode(fix_crcs(bytes(b)), device="cpu")
        except FormatError:
            errors += 1
    assert errors > 0


def test_lying_header_is_refused(tiny_rdo_stream):
    b = bytearray(tiny_rdo_stream)
    struct.pack_into("<H", b, 12 + 2, 4096)  # c1: a network the DECG section cannot hold
    with pytest.raises(FormatError, match="parameter"):
        decode(fix_crcs(bytes(b)))


def test_a_1_1_reader_sees_an_unknown_critical_section(tiny_rdo_stream):
    """DECG is new in 1.2: relabelled as an older stream, it is refused by name, never misread."""
    b = bytearray(tiny_rdo_stream)
    b[5] = 1
    # a 1.1 header carries the temporal fields too, so the header still parses; DECG does not
    with pytest.raises(FormatError, match="DECG"):
        parse_stream(fix_crcs(bytes(b)))


def test_weights_twice_or_embedding_quantiser_mismatch_is_refused(tiny_rdo_stream, tiny_stream):
    s, e = _section(tiny_rdo_stream, b"DECG")
    twice = tiny_rdo_stream[:e] + b"DECW" + tiny_rdo_stream[s + 4:e] + tiny_rdo_stream[e:]
    with pytest.raises(FormatError, match="exactly one"):
        parse_stream(fix_crcs(twice))
    # an EMBD section of the 1.0 family behind DECG: the quantiser flag says which family it is
    s0, e0 = _section(tiny_stream, b"EMBD")
    s1, e1 = _section(tiny_rdo_stream, b"EMBD")
    mixed = tiny_rdo_stream[:s1] + tiny_stream[s0:e0] + tiny_rdo_stream[e1:]
    with pytest.raises(FormatError, match="step-code"):
        parse_stream(fix_crcs(mixed))


def test_step_codes_beyond_the_grid_are_refused(tiny_rdo_stream):
    s, _ = _section(tiny_rdo_stream, b"EMBD")
    b = bytearray(tiny_rdo_stream)
    struct.pack_into("<H", b, s + 8 + 2, 0xFFFF)  # first embedding step code (after bits, flags)
    with pytest.raises(FormatError, match="step code"):
        parse_stream(fix_crcs(bytes(b)))
