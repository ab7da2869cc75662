"""Where training runs: the device (`--device auto|cpu|cuda`), bf16 autocast (on CUDA; on the
CPU when asked), and the process's place in a torchrun (DistributedDataParallel) run."""

from __future__ import annotations

import os
import platform
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import torch

from amr.errors import AmrError

DEVICES = ("auto", "cpu", "cuda")


def resolve_device(name: str) -> torch.device:
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name == "cuda" and not torch.cuda.is_available():
        raise AmrError("--device cuda: no CUDA device is available")
    if name not in ("cpu", "cuda"):
        raise AmrError(f"unknown device {name!r} (auto, cpu or cuda)")
    return torch.device(name)


def autocast(device: torch.device, cpu_bf16: bool = False) -> torch.autocast:
    """bf16 autocast on CUDA. On the CPU float32 (a run repeats exactly on the same kind of
    machine), or with `cpu_bf16` bf16 autocast as on CUDA (`TrainConfig.cpu_bf16`)."""
    if device.type == "cpu":
        return torch.autocast("cpu", dtype=torch.bfloat16, enabled=cpu_bf16)
    return torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")


# /proc/cpuinfo flags of the CPU instructions that multiply bf16 matrices at speed (Intel AMX,
# AVX-512 BF16). Without them torch converts to float32 and back, and bf16 is slower.
BF16_MATRIX_FLAGS = ("amx_bf16", "avx512_bf16")


def cpu_has_bf16_matrices() -> bool | None:
    """Whether this CPU multiplies bf16 matrices natively; None where /proc/cpuinfo is not
    there to say (not Linux)."""
    flags = _cpuinfo_field("flags")
    if flags is None:
        return None
    return any(flag in flags.split() for flag in BF16_MATRIX_FLAGS)


def slow_bf16_warning(device: torch.device, cpu_bf16: bool) -> str | None:
    """Why `cpu_bf16` would slow training on this machine down, or None."""
    if cpu_bf16 and device.type == "cpu" and cpu_has_bf16_matrices() is False:
        return (
            "--cpu-bf16: this CPU has no bf16 matrix instructions "
            f"({' or '.join(BF16_MATRIX_FLAGS)} in /proc/cpuinfo), so bf16 trains slower than "
            "float32 here; leave it off"
        )
    return None


def describe_machine(device: torch.device) -> str:
    """Where a run trains, for its record. Float32 CPU training repeats to the digit only on
    the same kind of CPU and torch build: MKL and torch's vector kernels pick code paths by
    CPU, which round differently, and a run's outcome drifts from the first epoch on."""
    if device.type == "cuda":
        where = torch.cuda.get_device_name(device)
    else:
        capability = torch.backends.cpu.get_cpu_capability()
        model = _cpuinfo_field("model name") or platform.processor() or platform.machine()
        where = f"{model or 'unknown CPU'}, {capability}, {torch.get_num_threads()} threads"
    return f"{where} · torch {torch.__version__}"


def _cpuinfo_field(name: str) -> str | None:
    """The first CPU's `name` line of /proc/cpuinfo (Linux), or None."""
    cpuinfo = Path("/proc/cpuinfo")
    if cpuinfo.is_file():
        for line in cpuinfo.read_text(encoding="utf-8", errors="replace").splitlines():
            key, _, value = line.partition(":")
            if key.strip() == name:
                return value.strip()
    return None


@dataclass(frozen=True)
class Ranks:
    """This process's place in a distributed run (rank 0 of 1 when not distributed)."""

    rank: int
    world: int
    device: torch.device

    @property
    def main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.world > 1:
            torch.distributed.barrier()

    def total(self, value: int) -> int:
        """`value` summed over every rank."""
        if self.world == 1:
            return value
        tensor = torch.tensor([value], device=self.device)
        torch.distributed.all_reduce(tensor)
        return int(tensor.item())

    def wrap(self, model: torch.nn.Module) -> torch.nn.Module:
        """The model as the optimisation steps call it: DDP-wrapped when distributed."""
        if self.world == 1:
            return model
        return torch.nn.parallel.DistributedDataParallel(model)


@contextmanager
def joined(device_name: str) -> Iterator[Ranks]:
    """This process's place in the run while it trains: joins the process group torchrun
    describes in the environment (WORLD_SIZE > 1; gloo on the CPU, NCCL on CUDA, one GPU per
    local rank) and leaves it on the way out. Leaving matters: a process that exits still in a
    gloo group can abort at interpreter shutdown ("terminate called without an active
    exception", pytorch/pytorch#190489) and fail a run that trained correctly."""
    world = int(os.environ.get("WORLD_SIZE", "1"))
    device = resolve_device(device_name)
    if world == 1:
        yield Ranks(0, 1, device)
        return
    created = not torch.distributed.is_initialized()
    if created:
        torch.distributed.init_process_group("nccl" if device.type == "cuda" else "gloo")
    try:
        rank = torch.distributed.get_rank()
        if device.type == "cuda":
            device = torch.device("cuda", int(os.environ.get("LOCAL_RANK", "0")))
            torch.cuda.set_device(device)
        ranks = Ranks(rank, torch.distributed.get_world_size(), device)
        yield ranks
        ranks.barrier()  # no rank leaves while another still talks to it
    finally:
        if created:
            torch.distributed.destroy_process_group()
