"""More tasks than GPUs: the `cuda_shared` accelerator and the `ddp_gloo` strategy for Lightning.

Lightning's CUDA accelerator wants one task per GPU (unique ids) while SLURMEnvironment wants
`devices == --ntasks-per-node`. `cuda_shared` reconciles both: `devices=N` means N tasks on
this node, and task r (local rank) uses GPU `r % gpus_on_node`. NCCL refuses two ranks on one
GPU, so such jobs use `ddp_gloo` (Lightpipe only exchanges small objects between tasks).
"""

from __future__ import annotations

import os

import torch
from lightning.fabric.accelerators.cuda import num_cuda_devices
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning.pytorch.accelerators import AcceleratorRegistry, CUDAAccelerator
from lightning.pytorch.strategies import DDPStrategy, StrategyRegistry

ACCELERATOR_NAME = "cuda_shared"
STRATEGY_NAME = "ddp_gloo"


def gpu_for_local_rank(local_rank: int, gpus_on_node: int) -> int:
    """The GPU a task uses: tasks are dealt round-robin over the node's GPUs."""
    if gpus_on_node < 1:
        raise MisconfigurationException(
            f"`trainer.accelerator` is {ACCELERATOR_NAME!r} but this node shows 0 GPUs "
            f"(CUDA_VISIBLE_DEVICES={os.environ.get('CUDA_VISIBLE_DEVICES')!r}).\n"
            "HINT: request GPUs (e.g. `#SBATCH --gres=gpu:2`) or use `--trainer.accelerator cpu`.")
    return local_rank % gpus_on_node


class SharedCUDAAccelerator(CUDAAccelerator):
    """CUDA accelerator where `devices` counts tasks per node, several tasks may share a GPU."""

    @staticmethod
    def parse_devices(devices: int | str | list[int]) -> list[int]:
        tasks = _task_count(devices)
        per_node = _slurm_tasks_per_node()
        if per_node is not None and per_node != tasks:
            raise MisconfigurationException(
                f"`trainer.devices` is {devices!r} but this SLURM job runs {per_node} tasks per node "
                f"(--ntasks-per-node={per_node}); allowed: {per_node} (one device per task; tasks "
                "share the node's GPUs).\nHINT: pass --trainer.devices $SLURM_NTASKS_PER_NODE "
                "(slurm/run_lightpipe.sh does).")
        gpus = num_cuda_devices()
        return [gpu_for_local_rank(rank, gpus) for rank in range(tasks)]

    @staticmethod
    def get_parallel_devices(devices: list[int]) -> list[torch.device]:
        return [torch.device("cuda", i) for i in devices]

    @staticmethod
    def auto_device_count() -> int:
        """Under SLURM, one device per task of this node; otherwise one per GPU."""
        per_node = _slurm_tasks_per_node()
        return per_node if per_node is not None else num_cuda_devices()

    @staticmethod
    def name() -> str:
        return ACCELERATOR_NAME


def register() -> None:
    """Make `--trainer.accelerator cuda_shared` and `--trainer.strategy ddp_gloo` available."""
    if ACCELERATOR_NAME not in AcceleratorRegistry:
        AcceleratorRegistry.register(ACCELERATOR_NAME, SharedCUDAAccelerator,
                                     description="CUDA with several tasks per GPU")
    if STRATEGY_NAME not in StrategyRegistry:
        StrategyRegistry.register(STRATEGY_NAME, DDPStrategy, description="DDP over gloo",
                                  process_group_backend="gloo")


def _slurm_tasks_per_node() -> int | None:
    """SLURM's tasks per node for a batch job (not for interactive `bash` sessions)."""
    if os.environ.get("SLURM_JOB_NAME") in ("bash", "interactive"):
        return None
    value = os.environ.get("SLURM_NTASKS_PER_NODE", "").split("(")[0]
    return int(value) if value.isdigit() else None


def _task_count(devices: int | str | list[int]) -> int:
    if devices == "auto" or devices == -1 or devices == "-1":
        return SharedCUDAAccelerator.auto_device_count()
    if isinstance(devices, (list, tuple)):
        return len(devices)
    try:
        count = int(devices)
    except (TypeError, ValueError):
        count = 0
    if count < 1:
        raise MisconfigurationException(
            f"`trainer.devices` is {devices!r}; allowed with accelerator {ACCELERATOR_NAME!r}: "
            "the number of tasks per node (an integer >= 1) or 'auto'.\n"
            "HINT: under SLURM pass --trainer.devices $SLURM_NTASKS_PER_NODE.")
    return count
