"""Multi-process data-parallel training under ``torchrun`` (gloo on CPU, NCCL on GPU).

Every rank holds the whole model (initialised identically from the run's seed) and draws the same
global batch indices from the shared data generator, keeping its own disjoint slice of
``batch_size / world_size`` images. Gradients are averaged across ranks just before every
optimizer step (an optimizer pre-step hook doing one all-reduce over a flat buffer), which is the
arithmetic of DistributedDataParallel. We do not wrap the model in ``DistributedDataParallel``
itself because objectives call submodules directly (``model.decode``, the discriminator of
FactorVAE, re-encoding in the MI-VAE), which DDP's reducer does not see. Only rank 0 writes
checkpoints, logs and figures.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import torch
import torch.distributed as dist

from ..errors import ConfigError


@dataclass(frozen=True)
class DistInfo:
    """This process's place in the group; ``world == 1`` when not distributed."""

    rank: int = 0
    world: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        return self.world > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def init_distributed(device_name: str = "auto") -> DistInfo:
    """Join the process group that ``torchrun`` describes in the environment (once)."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    rank, local = int(os.environ["RANK"]), int(os.environ.get("LOCAL_RANK", "0"))
    if not dist.is_initialized():
        use_cuda = torch.cuda.is_available() and device_name != "cpu"
        if use_cuda:
            torch.cuda.set_device(local)
        dist.init_process_group("nccl" if use_cuda else "gloo")
    return DistInfo(rank=rank, world=world, local_rank=local)


def end_distributed(clean: bool = True) -> None:
    """Leave the process group (every rank, once training is over).

    ``clean``: all ranks got here normally, so wait for each other first (no rank tears the
    group down while another still finishes a collective). A process that exits with the group
    alive can abort in the communication threads' destructors ("terminate called without an
    active exception").
    """
    if not (dist.is_available() and dist.is_initialized()):
        return
    if clean:
        dist.barrier()
    dist.destroy_process_group()


def current() -> DistInfo:
    """The group this process belongs to (world 1 when none was initialised)."""
    if not (dist.is_available() and dist.is_initialized()):
        return DistInfo()
    return DistInfo(dist.get_rank(), dist.get_world_size(), int(os.environ.get("LOCAL_RANK", "0")))


def local_batch_size(batch_size: int, info: DistInfo) -> int:
    if batch_size % info.world:
        raise ConfigError(
            f"train.batch_size={batch_size} (the global batch) must be divisible by the "
            f"{info.world} processes"
        )
    return batch_size // info.world


def average_gradients_before_step(optimizer: torch.optim.Optimizer, world: int) -> None:
    """Register a pre-step hook that replaces every gradient by its mean over the ranks."""

    def hook(opt, args, kwargs):
        grads = [p.grad for g in opt.param_groups for p in g["params"] if p.grad is not None]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= world
        offset = 0
        for g in grads:
            n = g.numel()
            g.copy_(flat[offset : offset + n].view_as(g))
            offset += n

    optimizer.register_step_pre_hook(hook)


def broadcast_parameters(module: torch.nn.Module) -> None:
    """Make every rank's parameters and buffers equal to rank 0's."""
    for t in [*module.parameters(), *module.buffers()]:
        dist.broadcast(t.data, 0)


def any_rank(flag: bool, device: torch.device) -> bool:
    """True on every rank when ``flag`` is true on at least one (a collective)."""
    t = torch.tensor([1.0 if flag else 0.0], device=device)
    dist.all_reduce(t, op=dist.ReduceOp.MAX)
    return bool(t.item() > 0)


def mean_over_ranks(values: dict[str, float], device: torch.device) -> dict[str, float]:
    """Average scalar log values over the ranks (a collective; same keys on every rank)."""
    keys = sorted(values)
    t = torch.tensor([values[k] for k in keys], dtype=torch.float64, device=device)
    dist.all_reduce(t)
    t /= dist.get_world_size()
    return dict(zip(keys, t.tolist(), strict=True))


def max_parameter_spread(module: torch.nn.Module, device: torch.device) -> float:
    """max over parameters of (max over ranks - min over ranks): 0.0 when ranks agree exactly."""
    flat = torch.cat([p.detach().reshape(-1).double() for p in module.parameters()]).to(device)
    hi, lo = flat.clone(), flat.clone()
    dist.all_reduce(hi, op=dist.ReduceOp.MAX)
    dist.all_reduce(lo, op=dist.ReduceOp.MIN)
    return float((hi - lo).max())


def gather_generator_states(gen: torch.Generator) -> list[torch.Tensor]:
    """Every rank's generator state, on every rank (for the checkpoint of rank 0)."""
    state = gen.get_state()
    out = [torch.empty_like(state) for _ in range(dist.get_world_size())]
    dist.all_gather_object(out, state)
    return out
