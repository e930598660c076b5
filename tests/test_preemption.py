"""The stop flag and the preemption handler: Lightning's SLURM settings decide the signal and
whether to requeue; the flag is set once and tells why."""

from __future__ import annotations

import os
import signal
import stat
import subprocess

import pytest
from lightning.fabric.plugins.environments import LightningEnvironment, SLURMEnvironment

from lightpipe.preemption import (
    SIGNAL_EXIT_CODES,
    TERMINATED,
    StopFlag,
    install_preemption_handler,
    install_termination_handler,
    preemption_policy,
    requeue_slurm_job,
)


def test_the_flag_is_set_once_with_the_first_reason():
    flag = StopFlag()
    assert not flag.requested and flag.reason == ""
    flag.request("SIGUSR1 received")
    flag.request("later")
    assert flag.requested and flag.reason == "SIGUSR1 received"


@pytest.mark.parametrize("environment,policy", [
    (LightningEnvironment(), (signal.SIGUSR1, False)),
    (SLURMEnvironment(), (signal.SIGUSR1, True)),
    (SLURMEnvironment(auto_requeue=False), (signal.SIGUSR1, False)),
    (SLURMEnvironment(requeue_signal=signal.SIGUSR2), (signal.SIGUSR2, True)),
])
def test_policy_follows_lightnings_slurm_settings(environment, policy):
    assert preemption_policy(environment) == policy


def test_the_signal_sets_the_flag(capsys):
    flag = StopFlag()
    signum, previous = install_preemption_handler(flag, LightningEnvironment(), global_rank=0)
    try:
        os.kill(os.getpid(), signal.SIGUSR1)
        assert flag.requested and flag.reason == "SIGUSR1 received"
    finally:
        signal.signal(signum, previous)
    assert "lightpipe task 0: SIGUSR1 received; finishing the current video" in capsys.readouterr().err


@pytest.fixture
def scontrol(tmp_path, monkeypatch):
    """SLURM's `scontrol` stand-in on PATH: it records its arguments."""
    log = tmp_path / "scontrol.log"
    script = tmp_path / "bin" / "scontrol"
    script.parent.mkdir()
    script.write_text(f"#!/bin/sh\necho \"$@\" >> {log}\n")
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("PATH", f"{script.parent}:{os.environ['PATH']}")
    for key in ("SLURM_JOB_ID", "SLURM_ARRAY_JOB_ID", "SLURM_ARRAY_TASK_ID"):
        monkeypatch.delenv(key, raising=False)
    return log


def test_requeue_names_the_job_or_the_array_task(scontrol, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    assert requeue_slurm_job() == 0
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "40")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    assert requeue_slurm_job() == 0
    assert scontrol.read_text().splitlines() == ["requeue 42", "requeue 40_3"]


def test_only_global_rank_zero_requeues(scontrol, monkeypatch):
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    for rank in (1, 0):
        flag = StopFlag()
        signum, previous = install_preemption_handler(flag, SLURMEnvironment(), global_rank=rank)
        try:
            os.kill(os.getpid(), signal.SIGUSR1)
        finally:
            signal.signal(signum, previous)
        assert flag.requested
    assert scontrol.read_text().splitlines() == ["requeue 42"]


def test_sigterm_stops_without_requeue_and_is_forwarded_once(scontrol, monkeypatch, capsys):
    """A real child process stands for the one Lightning's launcher started: the first SIGTERM
    reaches it; a second SIGTERM (e.g. to the whole group) changes nothing."""
    monkeypatch.setenv("SLURM_JOB_ID", "42")
    child = subprocess.Popen(["sleep", "60"])
    flag = StopFlag()
    signum, previous = install_termination_handler(flag, global_rank=0, children=[child])
    try:
        os.kill(os.getpid(), signal.SIGTERM)
        assert child.wait(timeout=10) == -signal.SIGTERM
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signum, previous)
        child.kill()
    assert flag.requested and flag.reason == TERMINATED and SIGNAL_EXIT_CODES[TERMINATED] == 143
    assert capsys.readouterr().err.count("SIGTERM received; finishing the current video") == 1
    assert not scontrol.exists()  # never requeued


def test_sigterm_keeps_an_earlier_stop_reason():
    flag = StopFlag()
    flag.request("SIGUSR1 received")
    signum, previous = install_termination_handler(flag, global_rank=1)
    try:
        os.kill(os.getpid(), signal.SIGTERM)
    finally:
        signal.signal(signum, previous)
    assert flag.reason == "SIGUSR1 received"  # exits 1, as preemption does
