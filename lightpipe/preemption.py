"""Stop state of a generation task: one flag, set on preemption, read by the sampler and the writer.

SLURM warns a job before its time limit or a preemption with a signal (`--signal=SIGUSR1@90`).
The task then stops taking new videos, lets the queued encodes finish (every committed video
is kept), exits non-zero, and global rank 0 requeues the job; the requeued run renders only
what is missing.

What comes from Lightning and what does not:
- The signal and whether to requeue are Lightning's SLURM settings: `SLURMEnvironment.requeue_signal`
  (default SIGUSR1) and `SLURMEnvironment.auto_requeue`, so a user's
  `plugins: SLURMEnvironment(auto_requeue=False)` turns requeueing off here as it does in `fit`.
- The handler is ours. Lightning's (`_SignalConnector._slurm_sigusr_handler_fn`) saves an HPC
  checkpoint of the model's weights and requeues, but never stops the loop: in predict there are
  no weights worth saving (the files on disk are the checkpoint) and the running task would keep
  starting videos it cannot finish. `VideoGenerator.setup` installs this handler before Lightning
  registers its own, and Lightning leaves an existing handler in place.

SIGTERM (scancel, a time limit without `--signal`, Kubernetes, most schedulers; they send SIGKILL
after a grace period) stops a task the same way but never requeues, and the command exits 143.
Lightning wraps an existing SIGTERM handler in its own notifier, which forwards the signal to the
processes its launcher started and then broadcasts a tensor from inside the handler: a
collective that hangs when a task gets the signal twice (from the process group and forwarded),
and a predict loop never reads the result anyway. So `VideoGenerator.on_predict_start` puts this
handler back in place of Lightning's, and the handler forwards the signal itself, once.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading

DEFAULT_SIGNAL = signal.SIGUSR1
INTERRUPTED = "Ctrl-C"  # the stop reason of SIGINT
TERMINATED = "SIGTERM received"  # the stop reason of SIGTERM
# Exit codes of the stop reasons that are a signal the user sent: 128 + the signal, as a shell
# reports a command the signal stopped. Every other stop (preemption, a full disk) exits 1.
SIGNAL_EXIT_CODES = {INTERRUPTED: 128 + signal.SIGINT, TERMINATED: 128 + signal.SIGTERM}


class StopFlag:
    """Set once, from a signal handler or any thread; never cleared."""

    def __init__(self) -> None:
        self._event = threading.Event()
        self.reason = ""

    def request(self, reason: str) -> None:
        if not self._event.is_set():
            self.reason = reason
            self._event.set()

    @property
    def requested(self) -> bool:
        return self._event.is_set()


def preemption_policy(environment) -> tuple[signal.Signals, bool]:
    """(signal to watch, requeue on it) from Lightning's cluster environment."""
    from lightning.fabric.plugins.environments import SLURMEnvironment

    if isinstance(environment, SLURMEnvironment):
        return environment.requeue_signal or DEFAULT_SIGNAL, environment.auto_requeue
    return DEFAULT_SIGNAL, False


def install_preemption_handler(flag: StopFlag, environment, global_rank: int):
    """Watch the preemption signal: set `flag`, and on global rank 0 requeue the SLURM job when
    the environment asks for it. Returns (signal, previous handler), to restore at teardown."""
    signum, requeue = preemption_policy(environment)

    def handle(received, frame) -> None:
        name = signal.Signals(received).name
        flag.request(f"{name} received")
        print(f"lightpipe task {global_rank}: {name} received; finishing the current video(s) and "
              "stopping (a rerun renders the rest)", file=sys.stderr, flush=True)
        if requeue and global_rank == 0:
            requeue_slurm_job()

    return signum, signal.signal(signum, handle)


def install_interrupt_handler(flag: StopFlag, global_rank: int):
    """The first Ctrl-C (SIGINT) stops the task cleanly: no new videos, the queued encodes
    finish; a second one interrupts at once (Python's default). Returns the previous handler."""

    def handle(received, frame) -> None:
        flag.request(INTERRUPTED)
        signal.signal(signal.SIGINT, signal.default_int_handler)
        print(f"lightpipe task {global_rank}: Ctrl-C; finishing the current video(s) and the "
              "queued encodes, then stopping (Ctrl-C again stops at once; files stay consistent)",
              file=sys.stderr, flush=True)

    return signal.SIGINT, signal.signal(signal.SIGINT, handle)


def install_termination_handler(flag: StopFlag, global_rank: int, children=()):
    """SIGTERM stops the task as preemption does, without requeueing; the first one is forwarded
    to `children` (the processes Lightning's launcher started here), since a user's SIGTERM may
    reach only this process. Returns (SIGTERM, previous handler)."""

    received_before = threading.Event()

    def handle(received, frame) -> None:
        if received_before.is_set():
            return  # a second SIGTERM (e.g. to the process group, and forwarded)
        received_before.set()
        flag.request(TERMINATED)  # keeps an earlier reason (preemption, a full disk)
        print(f"lightpipe task {global_rank}: SIGTERM received; finishing the current video(s) and "
              "the queued encodes, then stopping (a rerun renders the rest)",
              file=sys.stderr, flush=True)
        for child in children:
            child.send_signal(signal.SIGTERM)  # skips a child that has already exited

    return signal.SIGTERM, signal.signal(signal.SIGTERM, handle)


def requeue_slurm_job() -> int:
    """`scontrol requeue` this job (array tasks by `<array job>_<task>`, as Lightning does)."""
    array_job = os.environ.get("SLURM_ARRAY_JOB_ID")
    job = (f"{array_job}_{os.environ['SLURM_ARRAY_TASK_ID']}" if array_job
           else os.environ.get("SLURM_JOB_ID", ""))
    if not job:
        return 1
    try:
        return subprocess.run(["scontrol", "requeue", job], check=False).returncode
    except FileNotFoundError:
        print("lightpipe: scontrol not found; the job was not requeued", file=sys.stderr)
        return 1
