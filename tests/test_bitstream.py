"""Robustness of the .snv reader: every failure is a FormatError with a clear message."""

import struct
import zlib

import numpy as np
import pytest

from snervcodec.bitstream.container import MAGIC
from snervcodec.codec import decode, info, parse_stream
from snervcodec.errors import FormatError
from streamtools import fix_crcs
from streamtools import sections as _sections


def test_truncation_at_every_offset(tiny_stream):
    for n in range(len(tiny_stream)):
        with pytest.raises(FormatError):
            parse_stream(tiny_stream[:n])


def test_truncation_decode_error_message(tiny_stream):
    with pytest.raises(FormatError, match="truncated|missing"):
        decode(tiny_stream[:-3])


def test_random_byte_flips_are_caught(tiny_stream):
    rng = np.random.default_rng(7)
    for _ in range(1000):
        b = bytearray(tiny_stream)
        for pos in rng.integers(0, len(b), size=rng.integers(1, 4)):
            b[pos] ^= int(rng.integers(1, 256))
        with pytest.raises(FormatError):
            parse_stream(bytes(b))


def test_flips_with_repaired_checksums_never_crash(tiny_stream):
    """A lying stream with valid checksums: decoding succeeds or raises FormatError, nothing else;
    and few of them decode at all (issue 17: 58% of such mutations of the conformance streams decoded
    to garbage before the reader checked section order and the consumption of every coded word;
    benchmarks/fuzz_mutations.py measures it)."""
    rng = np.random.default_rng(11)
    outcomes = {"ok": 0, "format": 0}
    for _ in range(1000):
        b = bytearray(tiny_stream)
        pos = int(rng.integers(4, len(b)))
        b[pos] ^= int(rng.integers(1, 256))
        try:
            decode(fix_crcs(bytes(b)), device="cpu")
            outcomes["ok"] += 1
        except FormatError:
            outcomes["format"] += 1
    assert outcomes["ok"] < 0.2 * sum(outcomes.values()), outcomes


def _with_header_field(data: bytes, offset: int, fmt: str, value) -> bytes:
    b = bytearray(data)
    struct.pack_into(fmt, b, 12 + offset, value)
    return fix_crcs(bytes(b))


def _offsets():
    """Byte offset of each fixed header field inside the header body (SPEC.md section 2)."""
    from snervcodec.bitstream.header import FIELDS

    size = {"u8": 1, "u16": 2, "u32": 4}
    out, pos = {}, 0
    for f in FIELDS:
        out[f.name] = pos
        pos += size[f.kind]
    return out


OFF = _offsets()


def test_spec_offsets_match_the_table():
    assert OFF["c1"] == 2 and OFF["width"] == 14 and OFF["n_frames"] == 30 and OFF["chunk_frames"] == 42


@pytest.mark.parametrize("field,fmt,value,match", [
    ("n_frames", "<I", 1_000_000_000, "n_frames"),
    ("n_frames", "<I", 1 << 24, "index|chunks"),
    ("width", "<I", 1_000_000, "width"),
    ("height", "<I", 1_000_000, "height"),
    ("c1", "<H", 4096, "parameter"),
    ("emb_h", "<H", 4000, "grid|padded|embedding"),
    ("chunk_frames", "<H", 0, "chunk_frames"),
])
def test_lying_header_values(tiny_stream, field, fmt, value, match):
    with pytest.raises(FormatError, match=match):
        decode(_with_header_field(tiny_stream, OFF[field], fmt, value))


def test_absurd_section_length(tiny_stream):
    b = bytearray(tiny_stream)
    start = _sections(tiny_stream)[1][0]
    struct.pack_into("<I", b, start + 4, 0xFFFFFFFF)
    with pytest.raises(FormatError, match="truncated"):
        parse_stream(bytes(b))


def test_absurd_header_length(tiny_stream):
    b = bytearray(tiny_stream)
    struct.pack_into("<I", b, 8, 0x7FFFFFFF)
    with pytest.raises(FormatError, match="header length"):
        parse_stream(bytes(b))


def test_newer_major_version_is_refused_by_name(tiny_stream):
    b = bytearray(tiny_stream)
    b[4] = 2
    from snervcodec.bitstream.container import FORMAT_VERSION

    with pytest.raises(FormatError, match=rf"2\.0 is newer than this decoder.s 1\.{FORMAT_VERSION[1]}"):
        decode(fix_crcs(bytes(b)))


def test_not_a_stream():
    with pytest.raises(FormatError, match="magic"):
        parse_stream(b"RIFF" + bytes(100))
    with pytest.raises(FormatError):
        parse_stream(b"")


def test_unknown_model_id(tiny_stream):
    with pytest.raises(FormatError, match="unknown model id"):
        parse_stream(_with_header_field(tiny_stream, 0, "<B", 77))


def test_optional_section_is_skipped_and_unknown_critical_refused(tiny_stream):
    def section(tag):
        payload = b"hello"
        body = tag + struct.pack("<I", len(payload)) + payload
        return body + struct.pack("<I", zlib.crc32(body))

    assert parse_stream(tiny_stream + section(b"note")).header.n_frames == 3
    with pytest.raises(FormatError, match="unknown critical section"):
        parse_stream(tiny_stream + section(b"XTRA"))


def test_magic_bytes(tiny_stream):
    assert tiny_stream[:4] == MAGIC and tiny_stream[4:6] == bytes([1, 0])
    assert info(tiny_stream)["format_version"] == "1.0"


def test_header_is_range_checked_on_write(tiny_stream):
    """SPEC.md: the writer refuses what the reader would refuse, so no unreadable stream is written."""
    from dataclasses import replace

    from snervcodec.bitstream.container import write_container
    from snervcodec.bitstream.mapping import model_kind

    h = parse_stream(tiny_stream).header
    assert write_container(h, [], model_kind)  # the real header passes
    for bad in ({"c1": 0}, {"n_frames": 0}, {"strides": (1, 2)}, {"kernels": (2, 3, 3, 3, 3)}, {"model_id": 99},
                {"t_scale": 2, "t_channels": 3}, {"pad_h": 10_000}):
        with pytest.raises(FormatError):
            write_container(replace(h, **bad), [], model_kind)


def test_header_mapping_round_trip():
    from fractions import Fraction

    from snervcodec.bitstream.mapping import config_from_header, header_for
    from snervcodec.models.choose import model_config

    for name in ("snerv-b", "hnerv", "snerv-t", "snerv-t-2d"):
        cfg, geo = model_config(name, 36, 44, c1=8, n_rb=1)
        h = header_for(cfg, geo, 5, Fraction(30000, 1001), "yuv420p", 4)
        assert config_from_header(h) == cfg and h.fps == Fraction(30000, 1001)


# ------------------------------------------------------------------------------------------------
# The reader follows SPEC.md exactly (issue 17)

def test_varints_are_at_most_five_bytes():
    from snervcodec.bitstream.bytesio import Reader, Writer

    w = Writer()
    w.varint((1 << 32) - 1)
    assert len(w.getvalue()) == 5 and Reader(w.getvalue()).varint() == (1 << 32) - 1
    with pytest.raises(FormatError, match="longer than 5 bytes"):
        Reader(b"\x80\x80\x80\x80\x80\x01").varint()
    with pytest.raises(FormatError, match="exceeds"):
        Reader(b"\xff\xff\xff\xff\x7f").varint()  # 35 bits: more than a u32


def _rebuild(data: bytes, edit) -> bytes:
    """The stream with its sections passed through ``edit(tag, payload) -> payload`` (valid CRCs)."""
    from snervcodec.bitstream.container import read_container, write_container
    from snervcodec.bitstream.mapping import model_kind

    c = read_container(data, model_kind)
    return write_container(c.header, [(t, edit(t, p)) for t, p in c.sections.items()], model_kind, c.version[1])


def test_sections_in_the_wrong_order_are_refused(tiny_stream):
    spans = _sections(tiny_stream)
    head, dec, emb = (tiny_stream[s:e] for s, e in spans[:3])
    with pytest.raises(FormatError, match="out of order"):
        parse_stream(head + emb + dec)
    note = b"note" + struct.pack("<I", 0)
    note += struct.pack("<I", zlib.crc32(note))
    assert parse_stream(head + note + dec + note[:0] + emb).header.n_frames == 3  # optional ones anywhere


def test_coded_words_left_over_are_refused(tiny_stream, tiny_rdo_stream):
    """A range decoder must consume exactly its payload: one extra word, index and CRCs fixed, is an
    error in every kind of coded payload (a DECW tensor, the DECG stream, an embedding chunk)."""
    from snervcodec.bitstream.payload import read_embeddings, read_weights, write_embeddings, write_weights
    from snervcodec.bitstream.stepcoded import read_stepcoded_weights, write_stepcoded_weights

    ps = parse_stream(tiny_stream)
    extra = np.array([0x12345678], np.uint32)

    def decw(tag, p):
        if tag != b"DECW":
            return p
        t = read_weights(p, list(ps.shapes.values()))
        t[2].words = np.concatenate([t[2].words, extra])
        return write_weights(t)

    def embd(tag, p):
        if tag != b"EMBD":
            return p
        idx = read_embeddings(p, ps.cfg.emb_channels, ps.header.n_chunks, True)
        idx.coded.chunks = [np.concatenate([idx.chunk_words(0), extra])] + [
            idx.chunk_words(i) for i in range(1, ps.header.n_chunks)]
        return write_embeddings(idx.coded)

    rps = parse_stream(tiny_rdo_stream)

    def decg(tag, p):
        if tag != b"DECG":
            return p
        g = read_stepcoded_weights(p, list(rps.shapes.values()))
        g.words = np.concatenate([g.words, extra])
        return write_stepcoded_weights(g)

    for data, edit, match in ((tiny_stream, decw, "DECW section: tensor .*not those of its symbols"),
                              (tiny_stream, embd, "EMBD section: chunk 0: the coded words are not"),
                              (tiny_rdo_stream, decg, "DECG section: the coded words are not")):
        decode(_rebuild(data, lambda t, p: p), device="cpu")  # the rebuild alone is a valid stream
        with pytest.raises(FormatError, match=match):
            decode(_rebuild(data, edit), device="cpu")
