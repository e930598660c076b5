"""Bad input through the real `lightpipe predict`: exit 2, one clear message, nothing written."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from conftest import LIGHTPIPE, run_lightpipe, tiny_config

pytestmark = pytest.mark.e2e

# The validators are tested value by value in tests/config; here, that the real command maps
# each kind of refusal (validator, parser, output directory) to exit 2, one message, no writes.
BAD_VALUES = [
    (("--settings.num_videos", "0"), r"`settings.num_videos` is 0; allowed: an integer >= 1"),
    (("--settings.num_vidoes", "3"), r"unrecognized arguments: --settings.num_vidoes 3"),
    (("--settings.output_dir", "{blocker}/out"),
     r"`settings.output_dir` is '{blocker}/out', which cannot be created or written"),
]


@pytest.fixture(scope="module")
def bad_runs(tmp_path_factory):
    """Run every bad invocation of the real CLI at once (they fail before rendering)."""
    base = tmp_path_factory.mktemp("bad")
    blocker = base / "a_file"
    blocker.write_text("x")
    procs = []
    for i, (override, _) in enumerate(BAD_VALUES):
        config = tiny_config(base / f"c{i}.yaml", base / f"out{i}")
        args = [a.format(blocker=blocker) for a in override]
        procs.append(subprocess.Popen([*LIGHTPIPE, "predict", "--config", str(config), *args],
                                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))
    results = [(p.wait(timeout=300), p.stderr.read()) for p in procs]
    return base, blocker, results


@pytest.mark.parametrize("case", range(len(BAD_VALUES)))
def test_bad_values_are_named_and_nothing_is_written(bad_runs, case):
    base, blocker, results = bad_runs
    code, err = results[case]
    message = BAD_VALUES[case][1].format(blocker=re.escape(str(blocker)))
    assert code == 2, err
    assert re.search(message, err), err
    assert "Traceback" not in err
    assert not (base / f"out{case}").exists()
    assert blocker.read_text() == "x"


def test_unknown_key_in_config_file_is_rejected(config_factory):
    config, out = config_factory()
    config.write_text(config.read_text().replace("num_videos:", "num_vidoes:"))
    proc = run_lightpipe("predict", "--config", str(config), check=False)
    assert proc.returncode == 2 and "num_vidoes" in proc.stderr
    assert not out.exists()


def test_dataset_of_another_config_is_refused_unless_overwrite(config_factory):
    config, out = config_factory(num_videos=3, video={"num_frames": 1})
    run_lightpipe("predict", "--config", str(config))
    before = sorted(p.name for p in out.rglob("*"))
    proc = run_lightpipe("predict", "--config", str(config), "--project.seed", "8", check=False)
    assert proc.returncode == 2
    assert "holds a dataset made with another configuration (project.seed: 7 there, 8 now)" \
        in proc.stderr
    assert "--settings.overwrite true" in proc.stderr and "Traceback" not in proc.stderr
    assert sorted(p.name for p in out.rglob("*")) == before

    run_lightpipe("predict", "--config", str(config), "--project.seed", "8",
                  "--settings.overwrite", "true")
    assert json.loads((out / "dataset.json").read_text())["config"]["project"]["seed"] == 8
