"""Encoding and decoding ``.snv`` streams: plan, the pipelines and their runner, rate control,
decoding and inspection. The byte format itself lives in :mod:`snervcodec.bitstream`, the entropy
models in :mod:`snervcodec.entropy`, what a user asks for in :mod:`snervcodec.requests`."""

from ..bitstream.stream import ParsedStream, StreamIndex, open_stream, parse_stream
from ..requests import CompressionConfig, EncodeRequest
from .decode import decode
from .encode import encode, encode_request
from .info import info
from .results import DecodeResult, EncodeResult

__all__ = ["CompressionConfig", "DecodeResult", "EncodeRequest", "EncodeResult", "ParsedStream", "StreamIndex",
           "decode", "encode", "encode_request", "info", "open_stream", "parse_stream"]
