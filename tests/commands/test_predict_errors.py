"""Refusals through the real `lightpipe predict` that involve an existing dataset."""

from __future__ import annotations

import json

import pytest

from conftest import run_lightpipe

pytestmark = pytest.mark.e2e

# Every kind of bad input is refused in tests/commands/test_front_door.py; here, the refusals that
# need a dataset on disk first.


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
