"""Entropy models and coding: the range coder and its integer tables (:mod:`.coder`), the learned
rate laws (:mod:`.laws`), one entropy model per coded group with a training face (quantise, estimate
bits) and a coding face (integer tables, compress; :mod:`.weights`, :mod:`.embedding_model`), and
the embeddings' random-access chunks (:mod:`.chunks`)."""

from .coder import ChunkDecoder, ChunkEncoder, SymbolModel, decode_symbols, encode_symbols, fit_model

__all__ = ["ChunkDecoder", "ChunkEncoder", "SymbolModel", "decode_symbols", "encode_symbols", "fit_model"]
