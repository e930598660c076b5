"""Tests of the SLURM test harness itself (ci/slurm/setup.sh + the slurm_cluster fixture),
with trivial job scripts. Each job costs ~2 s of `sbatch --wait` polling latency."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slurm

PY = sys.executable  # the venv's python: jobs run on this machine, PATH/env are propagated
PRINT_RANK = (f"srun {PY} -c 'import os; print(os.environ[\"SLURM_PROCID\"], "
              f"os.environ[\"SLURM_NTASKS\"], os.environ[\"SLURM_LOCALID\"], flush=True)'")


def write_job(path: Path, header: str, body: str) -> Path:
    path.write_text(f"#!/bin/bash\n{header}\n{body}\n")
    path.chmod(0o755)
    return path


def rank_lines(output: str) -> dict[int, tuple[int, int]]:
    """{procid: (ntasks, localid)} from lines 'PROCID NTASKS LOCALID'."""
    found = {}
    for line in output.splitlines():
        m = re.fullmatch(r"(\d+) (\d+) (\d+)", line.strip())
        if m:
            found[int(m[1])] = (int(m[2]), int(m[3]))
    return found


@pytest.mark.parametrize("ntasks", [4, 8])
def test_multi_task_job_runs_every_rank(slurm_cluster, tmp_path, ntasks):
    script = write_job(tmp_path / "smoke.sh",
                       f"#SBATCH --ntasks-per-node={ntasks} --nodes=1 --job-name=lp-smoke",
                       PRINT_RANK)
    result = slurm_cluster.sbatch_wait(script, timeout=120)
    assert result.returncode == 0, result.describe()
    assert result.job_id.isdigit(), result.describe()
    # output file is <output_dir>/%x-%j.out, %x = the #SBATCH --job-name
    assert result.output_path == slurm_cluster.output_dir / f"lp-smoke-{result.job_id}.out"
    assert rank_lines(result.output) == {r: (ntasks, r) for r in range(ntasks)}, result.describe()


def test_failing_task_fails_job_but_others_finish(slurm_cluster, tmp_path):
    body = (f"srun {PY} -c 'import os, sys, time\n"
            f"rank = int(os.environ[\"SLURM_PROCID\"])\n"
            f"if rank == 1: sys.exit(3)\n"
            f"time.sleep(1); print(\"done\", rank, flush=True)'")
    script = write_job(tmp_path / "fail.sh",
                       "#SBATCH --ntasks-per-node=4 --nodes=1 --job-name=lp-fail", body)
    rc, job_id, output = slurm_cluster.sbatch_wait(script, timeout=120)
    assert rc != 0, output
    assert rc == 3, output  # srun is the last command: script rc = max task rc
    assert "task 1: Exited with exit code 3" in output
    done = {int(m) for m in re.findall(r"^done (\d+)$", output, re.M)}
    assert done == {0, 2, 3}, output  # default (no --kill-on-bad-exit): others run to completion


def test_script_arguments_are_forwarded(slurm_cluster, tmp_path):
    body = (f'for a in "$@"; do echo "arg=<$a>"; done\n'
            f'echo "cwd=$(pwd)"\n'
            f'srun -n1 {PY} -c \'import sys; print("argv=" + repr(sys.argv[1:]))\' "$@"')
    script = write_job(tmp_path / "args.sh", "#SBATCH --nodes=1 --ntasks=1 --job-name=lp-args", body)
    rc, job_id, output = slurm_cluster.sbatch_wait(script, "--config", "a b.yaml", "x=1",
                                                   cwd=tmp_path)
    assert rc == 0, output
    assert re.findall(r"^arg=<(.*)>$", output, re.M) == ["--config", "a b.yaml", "x=1"], output
    assert "argv=['--config', 'a b.yaml', 'x=1']" in output
    assert f"cwd={tmp_path}" in output


def test_extra_sbatch_args_override_script_header(slurm_cluster, tmp_path):
    # CLI options override #SBATCH lines (the same mechanism that lets --gres=none
    # neutralise a GPU request on this GPU-less node).
    script = write_job(tmp_path / "hdr.sh",
                       "#SBATCH --nodes=1 --ntasks-per-node=4 --job-name=lp-hdr\n#SBATCH --gres=gpu:2",
                       PRINT_RANK)
    result = slurm_cluster.sbatch_wait(script, extra_sbatch_args=["--ntasks-per-node=2",
                                                                   "--job-name=lp-override"])
    assert result.returncode == 0, result.describe()
    assert result.output_path.name == f"lp-override-{result.job_id}.out"
    assert rank_lines(result.output) == {0: (2, 0), 1: (2, 1)}, result.describe()
