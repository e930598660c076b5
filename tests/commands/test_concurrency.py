"""Two `lightpipe predict` runs into one output directory, as real processes started at the same
moment: one writes, the other is refused naming it (or waits for it), and the dataset ends
identical to a clean run's; a killed run's lock is taken over."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from lightpipe.dataset.writer_lock import LOCK_DIR, OWNER_FILE, RUN_ID_ENV

from conftest import LIGHTPIPE, REPO, run_lightpipe, tiny_config, tree_hashes

pytestmark = pytest.mark.e2e

SMALL = dict(num_videos=4, video={"num_frames": 3})
REFUSED = "is being written by another run"


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """Clean 1-process runs of the small config, by seed: {seed: tree hashes}."""
    base = tmp_path_factory.mktemp("clean")
    runs = {}

    def of(seed: int) -> dict:
        if seed not in runs:
            config = tiny_config(base / f"{seed}.yaml", base / str(seed), seed=seed, **SMALL)
            run_lightpipe("predict", "--config", str(config))
            runs[seed] = tree_hashes(base / str(seed))
        return runs[seed]
    return of


def start(config: Path, *args: str, env: dict | None = None) -> subprocess.Popen:
    """`lightpipe predict` in its own run (no LIGHTPIPE_RUN_ID inherited from here)."""
    full_env = {k: v for k, v in os.environ.items() if k != RUN_ID_ENV}
    full_env.update({"PYTHONUNBUFFERED": "1", **(env or {})})
    return subprocess.Popen([*LIGHTPIPE, "predict", "--config", str(config), *args], cwd=REPO,
                            env=full_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def together(*configs_and_args: tuple) -> list[tuple[int, str, str]]:
    """Start every run at once; (exit code, stdout, stderr) of each."""
    procs = [start(config, *args) for config, *args in configs_and_args]
    outputs = [p.communicate(timeout=240) for p in procs]
    return [(p.returncode, *output) for p, output in zip(procs, outputs)]


@pytest.mark.parametrize("lock_wait", [0, 120])
def test_two_runs_of_one_config_end_with_one_clean_dataset(tmp_path, clean, lock_wait):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", **SMALL)
    wait = ("--settings.lock_wait", str(lock_wait))
    results = together((config, *wait), (config, *wait))
    codes = sorted(code for code, _, _ in results)
    for _, _, err in results:
        assert "Traceback" not in err
    if lock_wait:
        assert codes == [0, 0]  # the second waited, then found every video complete
        assert sum("skipped as complete 4" in out for _, out, _ in results) == 1
    else:
        assert codes == [0, 2]
        refused = next(err for code, _, err in results if code == 2)
        assert REFUSED in refused and "--settings.lock_wait" in refused
        assert "command: " in refused and str(config) in refused
    assert tree_hashes(tmp_path / "out") == clean(7)  # the lock folder is gone, too


def test_another_config_is_refused_before_it_writes_anything(tmp_path, clean):
    out = tmp_path / "out"
    configs = {seed: tiny_config(tmp_path / f"{seed}.yaml", out, seed=seed, **SMALL)
               for seed in (42, 7)}
    results = dict(zip(configs, together(*((c,) for c in configs.values()))))
    winners = [seed for seed, (code, _, _) in results.items() if code == 0]
    assert len(winners) == 1, results
    winner = winners[0]
    loser_code, _, loser_err = results[42 if winner == 7 else 7]
    assert loser_code == 2 and REFUSED in loser_err and "another dataset" in loser_err
    assert str(configs[winner]) in loser_err  # the holder's command names its config
    assert "Traceback" not in loser_err
    assert tree_hashes(out) == clean(winner)  # not one file of the loser's seed


def test_a_killed_runs_lock_is_taken_over(tmp_path, clean):
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", **SMALL)
    out = tmp_path / "out"
    # Video 1 stalls 2 s, so the run is surely alive after its first video.
    proc = start(config, env={"LIGHTPIPE_FAULT": "stall@1"})
    deadline = time.monotonic() + 120
    while not (out / "train" / "0000.json").exists() and time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be killed"
        time.sleep(0.05)
    proc.send_signal(signal.SIGKILL)
    proc.communicate()
    assert (out / LOCK_DIR / OWNER_FILE).exists()  # left behind by the killed run

    rerun = run_lightpipe("predict", "--config", str(config))
    assert rerun.stderr.count("taking over the lock") == 1
    assert f"pid {proc.pid}" in rerun.stderr and "Traceback" not in rerun.stderr
    assert tree_hashes(out) == clean(7)


def test_a_waiting_run_of_another_config_is_refused_once_it_gets_the_lock(tmp_path, clean):
    """Seed 7 waits (lock_wait) for seed 42's run, which meanwhile starts its dataset: once it
    holds the lock, seed 7 finds another configuration's dataset.json and is refused."""
    out = tmp_path / "out"
    first = start(tiny_config(tmp_path / "42.yaml", out, seed=42, **SMALL))
    deadline = time.monotonic() + 120
    while not (out / LOCK_DIR / OWNER_FILE).exists() and time.monotonic() < deadline:
        assert first.poll() is None, first.communicate()
        time.sleep(0.02)
    second = start(tiny_config(tmp_path / "7.yaml", out, seed=7, **SMALL),
                   "--settings.lock_wait", "120")
    assert first.wait(timeout=240) == 0
    _, err = second.communicate(timeout=240)
    assert second.returncode == 2, err
    assert "another configuration" in err and "Traceback" not in err
    assert tree_hashes(out) == clean(42)
