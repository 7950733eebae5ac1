"""Encoding and decoding ``.snv`` streams: the pipeline stages, rate control, weight and embedding
coding, decoding and inspection. The byte format itself lives in :mod:`snervcodec.bitstream`."""

from ..bitstream.stream import ParsedStream, StreamIndex, open_stream, parse_stream
from .decode import decode
from .encoder import encode
from .info import info
from .types import CompressionConfig, DecodeResult, EncodeResult

__all__ = ["CompressionConfig", "DecodeResult", "EncodeResult", "ParsedStream", "StreamIndex", "decode", "encode",
           "info", "open_stream", "parse_stream"]
