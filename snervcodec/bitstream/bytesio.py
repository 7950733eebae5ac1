"""Little-endian byte writer and a bounds-checked reader that raises FormatError, never IndexError."""

from __future__ import annotations

import math
import struct

import numpy as np

from ..errors import FormatError


class Writer:
    def __init__(self):
        self.buf = bytearray()

    def u8(self, v: int) -> None:
        self.buf += struct.pack("<B", v)

    def u16(self, v: int) -> None:
        self.buf += struct.pack("<H", v)

    def u32(self, v: int) -> None:
        self.buf += struct.pack("<I", v)

    def f32(self, v: float) -> None:
        self.buf += struct.pack("<f", v)

    def varint(self, v: int) -> None:
        if v < 0:
            raise ValueError("varint must be non-negative")
        while True:
            b = v & 0x7F
            v >>= 7
            if v:
                self.buf.append(b | 0x80)
            else:
                self.buf.append(b)
                return

    def raw(self, b: bytes) -> None:
        self.buf += b

    def array(self, a: np.ndarray, dtype: str) -> None:
        self.buf += np.ascontiguousarray(a, dtype=np.dtype(dtype).newbyteorder("<")).tobytes()

    def getvalue(self) -> bytes:
        return bytes(self.buf)


class Reader:
    def __init__(self, data: bytes, what: str = "stream"):
        self.data = memoryview(data)
        self.pos = 0
        self.what = what

    @property
    def remaining(self) -> int:
        return len(self.data) - self.pos

    def _take(self, n: int) -> memoryview:
        if n < 0 or n > self.remaining:
            raise FormatError(f"truncated {self.what}: needs {n} more bytes at offset {self.pos}, has {self.remaining}")
        out = self.data[self.pos:self.pos + n]
        self.pos += n
        return out

    def u8(self) -> int:
        return self._take(1)[0]

    def u16(self) -> int:
        return struct.unpack("<H", self._take(2))[0]

    def u32(self) -> int:
        return struct.unpack("<I", self._take(4))[0]

    def f32(self) -> float:
        return struct.unpack("<f", self._take(4))[0]

    def varint(self, limit: int = (1 << 32) - 1) -> int:
        """Unsigned LEB128 of at most 5 bytes (SPEC.md), at most ``limit``."""
        v = 0
        for i in range(5):
            b = self.u8()
            v |= (b & 0x7F) << (7 * i)
            if not b & 0x80:
                break
        else:
            raise FormatError(f"{self.what}: varint longer than 5 bytes at offset {self.pos}")
        if v > limit:
            raise FormatError(f"{self.what}: value {v} exceeds {limit} at offset {self.pos}")
        return v

    def raw(self, n: int) -> bytes:
        return bytes(self._take(n))

    def array(self, n: int, dtype: str) -> np.ndarray:
        dt = np.dtype(dtype).newbyteorder("<")
        return np.frombuffer(self._take(n * dt.itemsize), dtype=dt).astype(dt.newbyteorder("="))

    def finite_f32(self, name: str, positive: bool = False) -> float:
        v = self.f32()
        if not math.isfinite(v) or (positive and not v > 0):
            raise FormatError(f"{self.what}: {name} is {v}, expected a finite{' positive' if positive else ''} number")
        return v

    def expect_end(self) -> None:
        if self.remaining:
            raise FormatError(f"{self.what}: {self.remaining} unexpected trailing bytes")
