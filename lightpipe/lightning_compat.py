"""The private Lightning internals Lightpipe reads, in one place.

Lightning has no public API for these. `tests/test_lightning_compat.py` builds real Trainers and
fails loudly, naming the attribute, when a Lightning release moves or renames one of them.
"""

from __future__ import annotations

import subprocess


def uses_distributed_sampler(trainer) -> bool:
    """The trainer's `use_distributed_sampler` flag (Lightning keeps it on the connector only)."""
    return bool(trainer._accelerator_connector.use_distributed_sampler)


def cluster_environment(trainer):
    """The cluster environment (SLURM, torchelastic, local...), also for single-device strategies
    (only parallel strategies expose `strategy.cluster_environment`)."""
    return trainer._accelerator_connector.cluster_environment


def launched_processes(trainer) -> list[subprocess.Popen]:
    """The child processes Lightning's subprocess launcher started on this node (empty when it
    started none, e.g. under SLURM or torchrun, where an external launcher starts every task)."""
    launcher = trainer.strategy.launcher
    return list(launcher.procs) if _is_subprocess_launcher(launcher) else []


def _is_subprocess_launcher(launcher) -> bool:
    from lightning.pytorch.strategies.launchers.subprocess_script import _SubprocessScriptLauncher

    return isinstance(launcher, _SubprocessScriptLauncher)
