"""GPU mapping for SLURM tasks sharing GPUs, with SLURM variables set by monkeypatch."""

import lightning.fabric.accelerators.cuda as fabric_cuda
import lightning.pytorch as pl
import lightning.pytorch.accelerators.cuda as pytorch_cuda
import pytest
from lightning.fabric.plugins.environments import SLURMEnvironment
from lightning.fabric.utilities.exceptions import MisconfigurationException
from lightning_utilities.core.rank_zero import rank_zero_only

from lightpipe.generation import devices


@pytest.fixture
def slurm_node(monkeypatch):
    """Pretend to be SLURM task `local_rank` of a one-node job with `gpus` GPUs. A Trainer of
    rank k sets Lightning's process-wide `rank_zero_only.rank`: it is put back afterwards, or
    later tests in this process would see no rank-zero warnings."""
    devices.register()
    monkeypatch.setattr(rank_zero_only, "rank", getattr(rank_zero_only, "rank", 0))

    def configure(tasks: int, local_rank: int, gpus: int) -> None:
        for module in (fabric_cuda, pytorch_cuda, devices):
            monkeypatch.setattr(module, "num_cuda_devices", lambda: gpus, raising=False)
        monkeypatch.setenv("SLURM_JOB_NAME", "lightpipe")
        monkeypatch.setenv("SLURM_JOB_ID", "42")
        monkeypatch.setenv("SLURM_NTASKS", str(tasks))
        monkeypatch.setenv("SLURM_NTASKS_PER_NODE", str(tasks))
        monkeypatch.setenv("SLURM_NNODES", "1")
        monkeypatch.setenv("SLURM_NODEID", "0")
        monkeypatch.setenv("SLURM_PROCID", str(local_rank))
        monkeypatch.setenv("SLURM_LOCALID", str(local_rank))
    return configure


def trainer(devices_flag) -> pl.Trainer:
    return pl.Trainer(accelerator="cuda_shared", strategy="ddp_gloo", devices=devices_flag,
                      logger=False, enable_checkpointing=False, enable_progress_bar=False)


@pytest.mark.parametrize("tasks,gpus", [(2, 1), (2, 2), (4, 1), (4, 2), (8, 1), (8, 2)])
def test_each_task_uses_gpu_local_rank_mod_gpus(slurm_node, tasks, gpus):
    for rank in range(tasks):
        slurm_node(tasks, rank, gpus)
        t = trainer(tasks)
        assert isinstance(t.strategy.cluster_environment, SLURMEnvironment)
        assert (t.global_rank, t.world_size) == (rank, tasks)
        assert t.strategy.root_device.type == "cuda"
        assert t.strategy.root_device.index == rank % gpus
        assert t.strategy._process_group_backend == "gloo"


def test_four_tasks_on_two_gpus_table(slurm_node):
    slurm_node(4, 0, 2)
    assert [d.index for d in trainer(4).strategy.parallel_devices] == [0, 1, 0, 1]
    assert [devices.gpu_for_local_rank(r, 2) for r in range(8)] == [0, 1, 0, 1, 0, 1, 0, 1]


def test_auto_devices_means_tasks_per_node_under_slurm(slurm_node):
    slurm_node(8, 5, 2)
    t = trainer("auto")
    assert t.world_size == 8 and t.strategy.root_device.index == 1


def test_devices_not_matching_tasks_per_node_is_a_clear_error(slurm_node):
    slurm_node(4, 0, 2)
    with pytest.raises(MisconfigurationException,
                       match=r"`trainer.devices` is 2 but this SLURM job runs 4 tasks per node "
                             r"\(--ntasks-per-node=4\); allowed: 4 .*\nHINT: pass --trainer.devices "):
        trainer(2)
    # Lightning's own check agrees (it runs when the job starts).
    with pytest.raises(ValueError, match=r"HINT: Set `devices=4`"):
        SLURMEnvironment().validate_settings(num_devices=2, num_nodes=1)


def test_no_gpu_on_the_node_is_a_clear_error(slurm_node):
    slurm_node(4, 0, 0)
    with pytest.raises(MisconfigurationException, match="can not run on your system|shows 0 GPUs"):
        trainer(4)
    with pytest.raises(MisconfigurationException, match=r"shows 0 GPUs.*\nHINT: request GPUs"):
        devices.SharedCUDAAccelerator.parse_devices(4)


def test_bad_devices_value_names_it(slurm_node):
    slurm_node(4, 0, 2)
    with pytest.raises(MisconfigurationException, match=r"`trainer.devices` is 0; allowed"):
        devices.SharedCUDAAccelerator.parse_devices(0)
