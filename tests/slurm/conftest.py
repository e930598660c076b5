"""Real single-node SLURM cluster for the tests/slurm tier (see ci/slurm/README.md).

Fixture `slurm_cluster` (session scope) runs ci/slurm/setup.sh and yields a `SlurmCluster`:

    def test_x(slurm_cluster, tmp_path):
        script = tmp_path / "job.sh"
        script.write_text("#!/bin/bash\\n#SBATCH --job-name=lp-x --nodes=1 --ntasks-per-node=4\\n"
                          "srun python -c 'print(1)'\\n")
        rc, job_id, output = slurm_cluster.sbatch_wait(script, "arg1", timeout=120)

Skips only when not root, or when the SLURM/munge packages can't be installed
(setup.sh exit code 3) -- and then only if CI != "true" (in CI that is a failure).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator, Sequence

import pytest

REPO = Path(__file__).resolve().parents[2]
SETUP = REPO / "ci" / "slurm" / "setup.sh"
TEARDOWN = REPO / "ci" / "slurm" / "teardown.sh"
SETUP_TIMEOUT = 300
EXIT_NOT_ROOT, EXIT_NO_PACKAGES = 2, 3  # setup.sh exit codes


@dataclass
class JobResult:
    """Result of `SlurmCluster.sbatch_wait`; unpacks as (returncode, job_id, output)."""

    returncode: int            # sbatch --wait exit code = the batch script's exit code
    job_id: str
    output: str                # contents of the job's --output file ("" if missing)
    output_path: Path | None
    sbatch_stdout: str
    sbatch_stderr: str
    wall_s: float

    def __iter__(self):
        return iter((self.returncode, self.job_id, self.output))

    def describe(self) -> str:
        return (f"job {self.job_id or '?'} rc={self.returncode} ({self.wall_s:.1f} s)\n"
                f"--- sbatch stderr ---\n{self.sbatch_stderr[-3000:]}\n"
                f"--- job output ({self.output_path}) ---\n{self.output[-6000:]}")


@dataclass
class SlurmCluster:
    root: Path                 # $SLURM_ROOT
    conf: Path                 # slurm.conf (also symlinked at /etc/slurm/slurm.conf)
    env: dict                  # environment for sbatch/srun/squeue; exported into jobs
    output_dir: Path           # where sbatch_wait puts %x-%j.out files
    started_here: bool         # this session started the daemons
    setup_wall_s: float
    setup_log: str = field(repr=False, default="")

    def run(self, *cmd: str, timeout: float = 60, check: bool = True) -> subprocess.CompletedProcess:
        """Run a SLURM client command (sinfo, squeue, scontrol, srun ...) with the cluster env."""
        proc = subprocess.run(list(cmd), env=self.env, capture_output=True, text=True,
                              timeout=timeout, stdin=subprocess.DEVNULL)
        if check and proc.returncode != 0:
            raise AssertionError(f"{' '.join(cmd)} exited {proc.returncode}\n{proc.stdout}\n{proc.stderr}")
        return proc

    def sbatch_wait(self, script_path: str | os.PathLike, *script_args: str,
                    extra_sbatch_args: Sequence[str] = (), timeout: float = 180,
                    cwd: str | os.PathLike | None = None) -> JobResult:
        """`sbatch --wait --parsable --gres=none --output=<output_dir>/%x-%j.out [extra] script args...`

        Blocks until the job ends. On timeout the job is scancel'ed and TimeoutError raised.
        Note: `sbatch --wait` polls with a growing interval, so it returns ~2-10 s after the
        job actually finished. Working directory of the job = `cwd` (default: repo root).
        """
        cmd = ["sbatch", "--wait", "--parsable", "--gres=none",
               f"--output={self.output_dir}/%x-%j.out", *extra_sbatch_args,
               str(script_path), *map(str, script_args)]
        t0 = time.monotonic()
        with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
            proc = subprocess.Popen(cmd, env=self.env, cwd=cwd or REPO, stdout=out, stderr=err,
                                    stdin=subprocess.DEVNULL, text=True)
            try:
                rc = proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                out.seek(0)
                job_id = _job_id(out.read())
                if job_id:
                    subprocess.run(["scancel", job_id], env=self.env, timeout=30)
                proc.kill()
                proc.wait()
                raise TimeoutError(f"sbatch --wait {script_path} (job {job_id or '?'}) still running "
                                   f"after {timeout} s; cancelled.\n"
                                   f"{self.run('squeue', check=False).stdout}") from None
            out.seek(0), err.seek(0)
            stdout, stderr = out.read(), err.read()
        wall = time.monotonic() - t0
        job_id = _job_id(stdout)
        if "no longer found and exit code not found" in stderr:
            # sbatch --wait exits 0 when the job record was purged before its next poll
            # (MinJobAge); the real exit code is unknown, so never report that as success.
            raise AssertionError(f"sbatch --wait lost job {job_id} (purged before polled):\n{stderr}")
        output_path = None
        if job_id:
            matches = sorted(self.output_dir.glob(f"*-{job_id}.out"))
            output_path = matches[0] if matches else None
        output = output_path.read_text(errors="replace") if output_path else ""
        return JobResult(rc, job_id, output, output_path, stdout, stderr, wall)


def _job_id(sbatch_stdout: str) -> str:
    """--parsable prints `jobid` or `jobid;cluster` as the first line."""
    first = sbatch_stdout.strip().splitlines()[0] if sbatch_stdout.strip() else ""
    return first.split(";")[0].strip() if first.split(";")[0].strip().isdigit() else ""


def _job_env(conf: Path) -> dict:
    """os.environ minus inherited SLURM_*/SBATCH_*/SALLOC_* (e.g. when pytest itself runs
    inside a SLURM job), plus SLURM_CONF, with the venv's bin dir first on PATH so that
    `python`/`lightpipe` inside jobs are the venv ones (sbatch exports the env into jobs)."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("SLURM_", "SBATCH_", "SALLOC_", "SRUN_"))}
    env["SLURM_CONF"] = str(conf)
    env["PYTHONUNBUFFERED"] = "1"
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = os.pathsep.join([venv_bin, *[p for p in env.get("PATH", "").split(os.pathsep)
                                                if p and p != venv_bin]])
    return env


@pytest.fixture(scope="session")
def slurm_cluster(tmp_path_factory) -> Iterator[SlurmCluster]:
    in_ci = os.environ.get("CI", "").lower() == "true"
    if os.geteuid() != 0:
        pytest.skip("SLURM tier needs root (installs packages, runs munged/slurmctld/slurmd)")
    root = Path(os.environ.get("SLURM_ROOT", "/tmp/lightpipe-slurm"))
    t0 = time.monotonic()
    try:
        proc = subprocess.run(["bash", str(SETUP)], capture_output=True, text=True,
                              timeout=SETUP_TIMEOUT, stdin=subprocess.DEVNULL,
                              env={**os.environ, "SLURM_ROOT": str(root)})
    except subprocess.TimeoutExpired as exc:
        pytest.fail(f"ci/slurm/setup.sh did not finish in {SETUP_TIMEOUT} s\n"
                    f"{exc.stdout or ''}\n{exc.stderr or ''}")
    setup_wall = time.monotonic() - t0
    log = f"--- stdout ---\n{proc.stdout}\n--- stderr ---\n{proc.stderr}"
    if proc.returncode == EXIT_NOT_ROOT:
        pytest.skip(f"ci/slurm/setup.sh: not root\n{proc.stderr}")
    if proc.returncode == EXIT_NO_PACKAGES:
        msg = f"SLURM packages unavailable (apt unreachable or install failed): {proc.stderr.strip()[-1500:]}"
        if in_ci:
            pytest.fail(f"CI=true, so the SLURM tier must run. {msg}")
        pytest.skip(msg)
    if proc.returncode != 0:
        pytest.fail(f"ci/slurm/setup.sh failed (exit {proc.returncode}):\n{log[-8000:]}")

    ready = [line for line in proc.stdout.splitlines() if line.startswith("slurm-setup: ready")]
    conf = root / "etc" / "slurm.conf"
    cluster = SlurmCluster(root=root, conf=conf, env=_job_env(conf),
                           output_dir=tmp_path_factory.mktemp("slurm-jobs"),
                           started_here=bool(ready) and "started=yes" in ready[-1],
                           setup_wall_s=setup_wall, setup_log=log)
    yield cluster
    # Stop the daemons only if this session started them (a cluster that was already up,
    # e.g. started by hand or by a concurrent session, is left alone).
    # LIGHTPIPE_SLURM_KEEP=1 keeps it running for faster re-runs.
    if cluster.started_here and os.environ.get("LIGHTPIPE_SLURM_KEEP") != "1":
        subprocess.run(["bash", str(TEARDOWN)], env={**os.environ, "SLURM_ROOT": str(root)},
                       capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
