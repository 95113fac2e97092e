"""One run trained by several processes: `torchrun --nproc_per_node=N -m autoenc train MODEL`.

torchrun starts N copies of the command and tells each its RANK and WORLD_SIZE. They
join one process group (gloo on CPU, nccl on CUDA); each trains on its own shard of the
data with its own random streams and batch_size / N examples a step, and the modules a
step backpropagates through are seen through DistributedDataParallel, which averages
their gradients, so every process takes the same update. Rank 0 alone talks to the run
store and writes metrics, samples and checkpoints; the others follow its decisions
(stop, time limit, a loss that diverged), which it shares once a step (`World.decide`).

A single process is `SINGLE`, whose methods do nothing: the loop has one code path.
"""
from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from autoenc.errors import UserError


@dataclass(frozen=True)
class World:
    rank: int = 0
    size: int = 1
    local_rank: int = 0
    local_size: int = 1

    @property
    def main(self) -> bool:
        """The process that talks to the run store: the only one, or rank 0."""
        return self.rank == 0

    @classmethod
    def from_env(cls) -> World:
        """The world torchrun describes in the environment; SINGLE outside torchrun."""
        size = int(os.environ.get("WORLD_SIZE", "1"))
        if size <= 1:
            return SINGLE
        return cls(int(os.environ["RANK"]), size, int(os.environ.get("LOCAL_RANK", "0")),
                   int(os.environ.get("LOCAL_WORLD_SIZE", str(size))))

    def device(self, device: torch.device) -> torch.device:
        """This process's GPU where the run is on CUDA (one per process, by LOCAL_RANK)."""
        return torch.device("cuda", self.local_rank) if device.type == "cuda" and self.size > 1 else device

    def join(self, device: torch.device) -> None:
        """Join the process group torchrun set up (its address is in the environment)."""
        if self.size == 1 or torch.distributed.is_initialized():
            return
        if device.type == "cuda":
            torch.cuda.set_device(device)
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")

    def leave(self) -> None:
        """Leave the group once every rank is done with it: one that tore its part down while
        another still talked to it aborted ("terminate called without an active exception")."""
        if self.size > 1 and torch.distributed.is_initialized():
            torch.distributed.barrier()
            torch.distributed.destroy_process_group()

    @property
    def collective_device(self) -> torch.device:
        """Where the tensors of a collective live: nccl (CUDA) takes only GPU tensors."""
        if torch.distributed.is_initialized() and torch.distributed.get_backend() == "nccl":
            return torch.device("cuda", torch.cuda.current_device())
        return torch.device("cpu")

    def share(self, value):
        """Rank 0's value (a picklable object), on every rank."""
        if self.size == 1:
            return value
        box = [value]
        torch.distributed.broadcast_object_list(box, src=0)
        torch.distributed.barrier()     # all have it before rank 0 may exit (an error to share)
        return box[0]

    def mean(self, values: dict) -> dict:
        """Each loss (a float, or a tensor left on the device) averaged over the ranks: the
        loss of the whole batch. Every rank logs the same names in the same order (the same
        step); tensors stay tensors, so a GPU step is not waited for here."""
        if self.size == 1 or not values:
            return values
        t = torch.stack([torch.as_tensor(v, dtype=torch.float64) for v in values.values()])
        torch.distributed.all_reduce(t)
        t /= self.size
        return dict(zip(values, t.unbind() if torch.is_tensor(next(iter(values.values()))) else t.tolist()))

    def decide(self, stop: bool, time_up: bool, failed: bool = False) -> tuple[bool, bool, bool]:
        """Whether to stop, whether for the time limit, and whether training diverged: true
        on any rank (rank 0 reads the store, the clock and the losses; any rank may have
        had a SIGTERM). This and mean's all-reduce are a step's only waits outside DDP's own."""
        if self.size == 1:
            return stop, time_up, failed
        t = torch.tensor([float(stop), float(time_up), float(failed)], device=self.collective_device)
        torch.distributed.all_reduce(t, op=torch.distributed.ReduceOp.MAX)
        stop, time_up, failed = t.tolist()
        return bool(stop), bool(time_up), bool(failed)

    def check_in_step(self, modules: dict[str, nn.Module]) -> None:
        """Raise if the processes' weights differ: their gradients were not all averaged."""
        if self.size == 1:
            return
        sums = torch.stack([p.detach().double().sum() for m in modules.values() for p in m.parameters()])
        gathered = [torch.empty_like(sums) for _ in range(self.size)]
        torch.distributed.all_gather(gathered, sums)
        if any(not torch.allclose(g, sums, rtol=1e-9, atol=1e-9) for g in gathered):
            raise RuntimeError("the processes' weights differ: their gradients were not averaged")

    def wrap(self, module: nn.Module, method: str = "forward") -> nn.Module:
        """`module` (or its `method`) seen through DistributedDataParallel, which makes every
        rank start from rank 0's weights and buffers. Buffers are not synced on each forward
        pass: BatchNorm's running statistics are then each rank's own (rank 0's are the
        checkpoint's), and a forward pass of rank 0 alone (a sample for the page) waits for
        no other rank."""
        target = module if method == "forward" else Method(module, method)
        device = next(module.parameters()).device
        ids = [device] if device.type == "cuda" else None
        return nn.parallel.DistributedDataParallel(target, device_ids=ids, forward_sync_buffers=False)


SINGLE = World()


class Method(nn.Module):
    """A module whose forward is another module's method (the VAE's training_loss), for DDP,
    which averages the gradients of what goes through forward."""

    def __init__(self, module: nn.Module, method: str):
        super().__init__()
        self.module, self.method = module, method

    def forward(self, *args, **kwargs):
        return getattr(self.module, self.method)(*args, **kwargs)


def stream_seed(seed: int, rank: int, step: int) -> int:
    """The seed of rank's random streams from `step` on: its own, and the same when a run
    resumes there."""
    return int(np.random.SeedSequence((seed, rank, step)).generate_state(1, np.uint64)[0] >> 1)


def split_batch(batch_size: int, world: World) -> int:
    """Each process's share of the run's batch."""
    if batch_size % world.size:
        raise UserError(f"batch_size {batch_size} does not split into {world.size} processes evenly; "
                        f"use a multiple of {world.size}")
    return batch_size // world.size
