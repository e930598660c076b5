"""The project's own job scripts on a real SLURM cluster (CPU): same bytes as one process,
contiguous blocks per task, a dying task isolated, verify + resubmit completes the dataset."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from conftest import REPO, run_lightpipe, tree_hashes

pytestmark = pytest.mark.slurm
CPU_ONLY = ("--cpus-per-task=1",)  # the CI node advertises 8 CPUs; --gres=none drops the GPUs


def slurm_config(reference_config: Path, path: Path) -> Path:
    """The reference's project+settings without `trainer` (the job script sets devices/nodes)."""
    config = yaml.safe_load(reference_config.read_text())
    config.pop("trainer")
    path.write_text(yaml.safe_dump(config))
    return path


def task_blocks(output: str, tasks: int) -> dict[int, str]:
    lines = re.findall(rf"lightpipe task (\d+)/{tasks}: rendered \d+ \[([^\]]*)\]", output)
    return {int(rank): block for rank, block in lines}


@pytest.mark.parametrize("script,tasks,blocks", [
    ("job_multi.sh", 4, ["0000-0002", "0003-0005", "0006-0007", "0008-0009"]),
    ("job_multi_8.sh", 8, ["0000-0001", "0002-0003", "0004", "0005", "0006", "0007", "0008",
                           "0009"]),
])
def test_job_script_matches_one_process_byte_for_byte(slurm_cluster, reference, tmp_path,
                                                      script, tasks, blocks):
    ref_config, _, hashes, _ = reference
    config = slurm_config(ref_config, tmp_path / "c.yaml")
    out = tmp_path / "out"
    result = slurm_cluster.sbatch_wait(
        REPO / "slurm" / script, "--config", str(config), "--settings.output_dir", str(out),
        "--trainer.accelerator", "cpu", extra_sbatch_args=CPU_ONLY, timeout=600)
    assert result.returncode == 0, result.describe()
    assert task_blocks(result.output, tasks) == dict(enumerate(blocks)), result.describe()
    assert tree_hashes(out) == hashes


def test_dying_task_is_isolated_then_verify_and_resubmit_complete(slurm_cluster, reference,
                                                                   tmp_path):
    ref_config, _, hashes, _ = reference
    config = slurm_config(ref_config, tmp_path / "c.yaml")
    out = tmp_path / "out"
    args = ("--config", str(config), "--settings.output_dir", str(out),
            "--trainer.accelerator", "cpu")
    # Task 1 of 4 (videos 3-5) dies hard while rendering video 4, as on OOM or node loss.
    first = slurm_cluster.sbatch_wait(REPO / "slurm" / "job_multi.sh", *args,
                                      extra_sbatch_args=(*CPU_ONLY, "--export=ALL,LIGHTPIPE_FAULT=exit@4"),
                                      timeout=600)
    assert first.returncode != 0, first.describe()
    assert "task 1: Exited with exit code 3" in first.output, first.describe()
    assert task_blocks(first.output, 4) == {0: "0000-0002", 2: "0006-0007", 3: "0008-0009"}

    check = run_lightpipe("verify", *args[:4], "--tasks", "4", check=False)
    assert check.returncode == 1
    # Video 3 may have been lost too: its encode runs in the background when video 4 starts.
    missing = re.search(r"missing: \d+ \[([^\]]*)\]", check.stdout)[1]
    assert missing in ("0004-0005", "0003-0005"), check.stdout
    assert f"task 1/4: {missing}" in check.stdout
    assert f"{10 - (2 if missing == '0004-0005' else 3)}/10 videos complete" in check.stdout

    second = slurm_cluster.sbatch_wait(REPO / "slurm" / "job_multi.sh", *args,
                                       extra_sbatch_args=CPU_ONLY, timeout=600)
    assert second.returncode == 0, second.describe()
    assert "skipped as complete 7" in second.output or "skipped as complete 8" in second.output
    assert tree_hashes(out) == hashes
    assert run_lightpipe("verify", *args[:4]).returncode == 0


def test_scancel_stops_every_task_cleanly_and_the_resubmit_completes(slurm_cluster, reference,
                                                                      tmp_path):
    """scancel sends SIGTERM to every task (srun forwards it), then SIGKILL after KillWait (5 s
    here): each task stops after its current video, commits nothing partial and does not
    requeue; the resubmitted job renders the rest and ends byte-identical to one process."""
    import threading
    import time

    ref_config, _, hashes, _ = reference
    config = slurm_config(ref_config, tmp_path / "c.yaml")
    out = tmp_path / "out"
    args = ("--config", str(config), "--settings.output_dir", str(out),
            "--trainer.accelerator", "cpu")
    name = f"lp-term-{tmp_path.name}"[:40]
    # Videos 1, 4, 7 and 9 stall 2 s each, so every task is still busy when the signal comes.
    slow = (*CPU_ONLY, f"--job-name={name}", "--export=ALL,LIGHTPIPE_FAULT=stall@1,stall@4,"
            "stall@7,stall@9")
    results = []
    job = threading.Thread(target=lambda: results.append(slurm_cluster.sbatch_wait(
        REPO / "slurm" / "job_multi.sh", *args, extra_sbatch_args=slow, timeout=600)))
    job.start()
    deadline = time.monotonic() + 300
    while not list(out.glob("*/*.json")) and time.monotonic() < deadline and job.is_alive():
        time.sleep(0.2)
    slurm_cluster.run("scancel", "--name", name)
    job.join(timeout=300)
    first = results[0]
    assert first.returncode != 0, first.describe()
    assert first.output.count("SIGTERM received") >= 1, first.describe()
    assert "Traceback" not in first.output, first.describe()
    assert not [p for p in out.rglob(".*") if ".tmp-" in p.name], first.describe()

    second = slurm_cluster.sbatch_wait(REPO / "slurm" / "job_multi.sh", *args,
                                       extra_sbatch_args=CPU_ONLY, timeout=600)
    assert second.returncode == 0, second.describe()
    assert tree_hashes(out) == hashes
