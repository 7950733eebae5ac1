"""Segment-parallel encoding under torchrun: ranks share a video's segments, with no gradient
communication; rank 0 gathers the finished segments and writes the stream.

    torchrun --nproc-per-node 4 -m snervcodec encode in.mp4 -o out.snv --segment-frames 300

Each rank binds to its own local device (``LOCAL_RANK``); the process group is NCCL on GPUs and gloo
on CPUs. Segments travel as bytes (uint8 tensors), never pickled.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch

from .errors import ConfigError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0

    @property
    def leader(self) -> bool:
        return self.rank == 0

    def owns(self, segment: int) -> bool:
        return segment % self.size == self.rank


def env_world_size() -> int:
    """Processes torchrun started (``WORLD_SIZE``; 1 outside torchrun)."""
    return int(os.environ.get("WORLD_SIZE", "1"))


def world_from_env(device: str) -> World:
    """The torchrun world (``WORLD_SIZE`` > 1 starts the process group), or a world of one."""
    size = env_world_size()
    if size <= 1:
        return World()
    import torch.distributed as dist

    rank, local = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    cuda = device in ("auto", "cuda") and torch.cuda.is_available()
    if cuda:
        torch.cuda.set_device(local)  # "cuda" now means this rank's own GPU
    elif device == "cuda":
        raise ConfigError("--device cuda asked for, but no CUDA device is available")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if cuda else "gloo")
    return World(rank, size, local)


def _comm_device() -> torch.device:
    import torch.distributed as dist

    return torch.device("cuda", torch.cuda.current_device()) if dist.get_backend() == "nccl" else torch.device("cpu")


def gather_blobs(world: World, blobs: list[bytes]) -> list[bytes]:
    """Every rank's ``blobs``, concatenated in rank order, on the leader (an empty list elsewhere)."""
    if world.size == 1:
        return list(blobs)
    import torch.distributed as dist

    dev = _comm_device()
    lengths = torch.tensor([len(b) for b in blobs], dtype=torch.int64)
    count = torch.tensor([len(blobs)], dtype=torch.int64, device=dev)
    counts = [torch.zeros_like(count) for _ in range(world.size)]
    dist.all_gather(counts, count)
    n_max = int(max(c.item() for c in counts))
    padded = torch.zeros(n_max, dtype=torch.int64)
    padded[:len(blobs)] = lengths
    all_lengths = [torch.zeros(n_max, dtype=torch.int64, device=dev) for _ in range(world.size)]
    dist.all_gather(all_lengths, padded.to(dev))
    size_max = int(max(int(t.sum().item()) for t in all_lengths))
    flat = torch.zeros(max(size_max, 1), dtype=torch.uint8)
    joined = b"".join(blobs)
    if joined:
        flat[:len(joined)] = torch.frombuffer(bytearray(joined), dtype=torch.uint8)
    gathered = [torch.zeros(max(size_max, 1), dtype=torch.uint8, device=dev) for _ in range(world.size)]
    dist.all_gather(gathered, flat.to(dev))
    if not world.leader:
        return []
    out = []
    for r in range(world.size):
        data = gathered[r].cpu().numpy().tobytes()
        pos = 0
        for k in range(int(counts[r].item())):
            n = int(all_lengths[r][k].item())
            out.append(data[pos:pos + n])
            pos += n
    return out


def barrier(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        dist.barrier()


def finish(world: World) -> None:
    if world.size > 1:
        import torch.distributed as dist

        if dist.is_initialized():
            dist.destroy_process_group()
