"""Devices and multi-GPU: torchrun + DistributedDataParallel only (no home-made process group).

Launch several processes with ``torchrun --nproc_per_node N -m admfit_cli.torch_main train ...``;
torchrun sets RANK / WORLD_SIZE / LOCAL_RANK / MASTER_ADDR, and this module reads them. Backend:
NCCL on CUDA, gloo on CPU (tests run 2 gloo processes on CPU).
"""
from __future__ import annotations

import os
from contextlib import nullcontext
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch.nn.parallel import DistributedDataParallel

from admfit.errors import InputError


def select_device(preference: str = "auto", local_rank: int = 0) -> torch.device:
    """'auto': cuda:local_rank when CUDA is present, else CPU; 'cpu', 'cuda', 'cuda:N' as given."""
    if preference == "auto":
        return torch.device(f"cuda:{local_rank}") if torch.cuda.is_available() else torch.device("cpu")
    try:
        device = torch.device(preference)
    except RuntimeError:
        raise InputError(f"unknown device {preference!r}", field="device") from None
    if device.type == "cuda":
        if not torch.cuda.is_available():
            raise InputError("CUDA was requested but is not available", field="device")
        if device.index is None:
            device = torch.device(f"cuda:{local_rank}")
    return device


def autocast(device: torch.device, enabled: bool, dtype: str = "bfloat16"):
    """Mixed precision on CUDA only; on CPU a no-op context so CPU runs stay bit-exact float32."""
    if device.type != "cuda" or not enabled:
        return nullcontext()
    return torch.autocast("cuda", dtype=getattr(torch, dtype))


def device_name(device: torch.device) -> str:
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    return f"CPU ({torch.get_num_threads()} threads)"


@dataclass(frozen=True)
class DistContext:
    rank: int
    world_size: int
    local_rank: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def init_distributed(preference: str = "auto") -> DistContext:
    """Join the process group torchrun prepared (WORLD_SIZE > 1), or run as a single process."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = select_device(preference, local_rank)
    if world_size > 1 and not dist.is_initialized():
        if device.type == "cuda":
            torch.cuda.set_device(device)
        dist.init_process_group(backend="nccl" if device.type == "cuda" else "gloo")
    return DistContext(rank, world_size, local_rank, device)


def wrap_model(model: torch.nn.Module, ctx: DistContext) -> torch.nn.Module:
    if not ctx.distributed:
        return model
    return DistributedDataParallel(model, device_ids=[ctx.device.index] if ctx.device.type == "cuda" else None)


def unwrap(model: torch.nn.Module) -> torch.nn.Module:
    return model.module if isinstance(model, DistributedDataParallel) else model


def barrier(ctx: DistContext) -> None:
    if ctx.distributed:
        dist.barrier()


def shutdown(ctx: DistContext) -> None:
    if ctx.distributed and dist.is_initialized():
        dist.destroy_process_group()
