"""The command line: dispatch, every key overridable, --print_config, the seed linked to Lightning."""

import pytest
import yaml

from lightpipe.commands.dispatch import main

from conftest import run_lightpipe


def test_unknown_command(capsys):
    assert main(["render"]) == 2
    assert ("unknown command 'render'; allowed: predict, plan, verify, preview, fit, export"
            in capsys.readouterr().err)


def test_help_lists_every_command(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    for command in ("predict", "plan", "verify", "preview", "fit", "export"):
        assert f"\n  {command} " in out


@pytest.mark.e2e

def test_print_config_shows_overrides_and_renders_nothing(tmp_path):
    proc = run_lightpipe("predict", "--config", "configs/configv1.yaml",
                         "--settings.num_videos", "8", "--trainer.devices", "2",
                         "--settings.output_dir", str(tmp_path / "out"), "--print_config")
    config = yaml.safe_load(proc.stdout)
    assert config["project"] == {"seed": 42, "name": "configv1"}
    assert config["settings"]["num_videos"] == 8
    assert config["settings"]["dataset_split"] == {"train_ratio": 0.8,
                                                   "ensure_disjoint_assets": True,
                                                   "rule": "contiguous"}
    assert config["settings"]["video"] == {"width": 832, "height": 480, "num_frames": 81, "fps": 16}
    assert str(config["trainer"]["devices"]) == "2"
    assert config["trainer"]["use_distributed_sampler"] is False
    assert not (tmp_path / "out").exists()


def test_project_seed_seeds_lightning(reference):
    *_, proc = reference
    assert "Seed set to 7" in proc.stderr + proc.stdout
