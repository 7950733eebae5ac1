"""``--warm-start`` for segmented encodes (after NIRVANA): segment k+1's network starts from segment
k's float network as its fit ended (before pruning and quantisation), so the segments run one after
another. The stream does not change: every segment is still coded whole and decodes on its own.

The float network is kept beside the finished parts (``OUT.snv.parts/segment-00000.float``) for a
resumed run: ``"SNVWARM1" | u32 n | n bytes of JSON (the part's fingerprint, the tensor table, the
payload checksum) | float32 payload``, written atomically, checked on load, no pickle.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Callable

import numpy as np
import torch

from ..fsutil import write_bytes_atomic
from .parts import PartStore, frame_blob, unframe_blob

WARM_MAGIC = b"SNVWARM1"
GROUPS = ("encoder", "decoder")


@dataclass
class StartNet:
    """A float network to start from: ``{"encoder": {name: tensor}, "decoder": {...}}`` (float32, CPU)."""

    tensors: dict[str, dict[str, torch.Tensor]]

    def _table_and_payload(self) -> tuple[list, bytes]:
        table, chunks = [], []
        for g in GROUPS:
            for name in sorted(self.tensors[g]):
                t = self.tensors[g][name]
                table.append([g, name, list(t.shape)])
                chunks.append(np.ascontiguousarray(t.numpy(), dtype="<f4").tobytes())
        return table, b"".join(chunks)

    @property
    def digest(self) -> str:
        """What a segment started from this network puts in its fingerprint."""
        table, payload = self._table_and_payload()
        return hashlib.sha256(json.dumps(table).encode() + payload).hexdigest()

    def to_bytes(self, fp: str) -> bytes:
        table, payload = self._table_and_payload()
        return frame_blob(WARM_MAGIC, {"fingerprint": fp, "tensors": table}, payload)

    @classmethod
    def from_bytes(cls, data: bytes, fp: str) -> "StartNet | None":
        """The network, or None unless ``data`` is an intact one kept for the part ``fp``."""
        blob = unframe_blob(WARM_MAGIC, data)
        if blob is None or blob[0].get("fingerprint") != fp:
            return None
        meta, payload = blob
        try:
            out, pos = {g: {} for g in GROUPS}, 0
            for g, name, shape in meta["tensors"]:
                count = int(np.prod(shape, dtype=np.int64))
                arr = np.frombuffer(payload, dtype="<f4", count=count, offset=pos).reshape(shape)
                out[str(g)][str(name)] = torch.from_numpy(arr.astype(np.float32))
                pos += 4 * count
            return cls(out) if pos == len(payload) else None
        except (ValueError, KeyError, TypeError):
            return None


def snapshot(trainer) -> StartNet:
    """The trainer's encoder and decoder as they are now (float32 CPU copies)."""
    return StartNet({g: {k: v.detach().float().cpu().contiguous().clone() for k, v in
                         getattr(trainer, g).state_dict().items()} for g in GROUPS})


def _fits(module: torch.nn.Module, state: dict[str, torch.Tensor]) -> bool:
    own = module.state_dict()
    return own.keys() == state.keys() and all(own[k].shape == state[k].shape for k in own)


@dataclass
class WarmStart:
    """One encode's warm start: the network the next segment starts from (None: it starts fresh)."""

    say: Callable[[str], None]
    net: StartNet | None = None
    segment: int = 0
    started: list[int] = field(default_factory=list)  # segments that started from the previous one

    def begin(self, trainer) -> None:
        """Load the previous segment's network into ``trainer``: the decoder when its shapes match
        (else the segment starts fresh, said), the encoder too when its shapes match."""
        if self.net is None:
            return
        if not _fits(trainer.decoder, self.net.tensors["decoder"]):
            self.say(f"segment {self.segment}: its network's shape differs from segment {self.segment - 1}'s, "
                     "starting it fresh")
            return
        with torch.no_grad():
            trainer.decoder.load_state_dict(self.net.tensors["decoder"])
            if _fits(trainer.encoder, self.net.tensors["encoder"]):
                trainer.encoder.load_state_dict(self.net.tensors["encoder"])
            else:
                self.say(f"segment {self.segment}: the encoder's shape differs, only the decoder is warm-started")
        trainer.warm = True  # its start is chosen: no fresh start after a slow opening
        self.started.append(self.segment)

    def keep(self, trainer) -> None:
        """Keep the float network as its fit ended, for the next segment."""
        self.net = snapshot(trainer)


def net_path(store: PartStore, segment: int):
    return store.dir / f"segment-{segment:05d}.float"


def save_net(store: PartStore, segment: int, fp: str, net: StartNet) -> None:
    store.dir.mkdir(parents=True, exist_ok=True)
    write_bytes_atomic(net_path(store, segment), net.to_bytes(fp))


def load_net(store: PartStore, segment: int, fp: str) -> StartNet | None:
    """Segment ``segment``'s float network kept for its part ``fp``, or None."""
    try:
        return StartNet.from_bytes(net_path(store, segment).read_bytes(), fp)
    except OSError:
        return None
