"""The Lightning internals Lightpipe reads, on real Trainers: this fails loudly, by attribute,
when a Lightning release moves one of them (see lightpipe/lightning_compat.py)."""

from __future__ import annotations

import signal

import pytest
from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment
from lightning.pytorch import Trainer

from lightpipe.lightning_compat import (
    cluster_environment,
    launched_processes,
    uses_distributed_sampler,
)

QUIET = dict(accelerator="cpu", logger=False, enable_progress_bar=False,
             enable_checkpointing=False, enable_model_summary=False)


@pytest.mark.parametrize("flag", [True, False])
def test_use_distributed_sampler_is_read_from_the_connector(flag):
    assert uses_distributed_sampler(Trainer(devices=1, use_distributed_sampler=flag, **QUIET)) is flag


def test_cluster_environment_of_a_single_device_trainer():
    assert isinstance(cluster_environment(Trainer(devices=1, **QUIET)), LightningEnvironment)


def test_launched_processes_of_the_subprocess_launcher_start_empty():
    trainer = Trainer(devices=2, strategy="ddp", **QUIET)
    assert type(trainer.strategy.launcher).__name__ == "_SubprocessScriptLauncher"
    assert launched_processes(trainer) == []
    assert launched_processes(Trainer(devices=1, **QUIET)) == []


def test_lightning_leaves_an_existing_preemption_handler_in_place(monkeypatch):
    """lightpipe.preemption installs its handler first and relies on this."""
    for key, value in {"SLURM_NTASKS": "1", "SLURM_JOB_NAME": "lightpipe", "SLURM_JOB_ID": "9",
                       "SLURM_NODEID": "0", "SLURM_PROCID": "0", "SLURM_LOCALID": "0",
                       "SLURM_NTASKS_PER_NODE": "1"}.items():
        monkeypatch.setenv(key, value)
    trainer = Trainer(devices=1, plugins=[SLURMEnvironment(auto_requeue=True)], **QUIET)
    assert isinstance(cluster_environment(trainer), SLURMEnvironment)

    def ours(signum, frame):
        pass

    previous = signal.signal(signal.SIGUSR1, ours)
    try:
        trainer._signal_connector.register_signal_handlers()
        assert signal.getsignal(signal.SIGUSR1) is ours
    finally:
        trainer._signal_connector.teardown()
        signal.signal(signal.SIGUSR1, previous)
