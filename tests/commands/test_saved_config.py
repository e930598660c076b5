"""A config saved with `--print_config` by any command is read back by every command that takes
`--config`; a closed stdout pipe (`lightpipe plan | head`) ends quietly."""

from __future__ import annotations

import shutil
import subprocess

import pytest
import yaml

from lightpipe.commands.dispatch import main

from conftest import LIGHTPIPE, REPO, run_lightpipe

COMMANDS = ("predict", "plan", "verify", "preview", "export")
# What each command needs besides --config (the output goes to tmp: preview's PNG).
EXTRA = {"preview": ["--index", "0"], "export": ["--format", "diffsynth"]}


def saved_config(command: str, config, out, tmp_path, capsys) -> str:
    """`lightpipe COMMAND --config CONFIG ... --print_config`, as a user would save it."""
    args = [command, "--config", str(config), "--settings.output_dir", str(out),
            *EXTRA.get(command, []), "--print_config"]
    if command == "predict":  # LightningCLI's own printer
        text = run_lightpipe(*args).stdout
    else:
        with pytest.raises(SystemExit) as exited:
            main(args)
        assert exited.value.code in (0, None)
        text = capsys.readouterr().out
    path = tmp_path / f"saved_by_{command}.yaml"
    path.write_text(text)
    assert yaml.safe_load(text)["settings"]["output_dir"] == str(out)
    return str(path)


def read_back(command: str, saved: str, tmp_path, capsys) -> tuple[int, str]:
    """Run COMMAND with the saved config: exit code and what it printed."""
    extra = [*EXTRA.get(command, []), *(["--out", str(tmp_path / "p.png")]
                                         if command == "preview" else [])]
    if command == "predict":  # Lightning in a process of its own, as users run it
        proc = run_lightpipe("predict", "--config", saved, check=False)
        return proc.returncode, proc.stdout + proc.stderr
    code = main([command, "--config", saved, *(["--tasks", "1"] if command == "plan" else []),
                 *extra])
    captured = capsys.readouterr()
    return code, captured.out + captured.err


@pytest.mark.e2e
@pytest.mark.parametrize("writer", COMMANDS)
def test_a_saved_config_loads_in_every_command(writer, tiny_dataset, tmp_path, capsys):
    config, dataset = tiny_dataset
    out = tmp_path / "out"
    shutil.copytree(dataset, out)
    saved = saved_config(writer, config, out, tmp_path, capsys)
    for reader in COMMANDS:
        code, printed = read_back(reader, saved, tmp_path, capsys)
        assert code == 0, f"{writer}'s saved config in {reader}: exit {code}\n{printed[-3000:]}"
        assert "Traceback" not in printed and "not accepted" not in printed
        if reader == "predict":  # the same dataset: predict resumed it and rendered nothing
            assert "skipped as complete 10" in printed


def test_an_unknown_key_in_a_config_is_still_refused(tiny_dataset, tmp_path, capsys):
    """Only the keys another command writes are ignored; a typo is not."""
    config, _ = tiny_dataset
    data = yaml.safe_load(config.read_text())
    data["setings"] = {"num_videos": 3}
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    assert main(["plan", "--config", str(bad)]) == 2
    assert "setings" in capsys.readouterr().err


@pytest.mark.e2e
def test_plan_into_a_closed_pipe_ends_quietly(tmp_path):
    """`lightpipe plan ... --show-specs | head -n 2`: no BrokenPipeError traceback."""
    plan = subprocess.Popen(
        [*LIGHTPIPE, "plan", "--config", "configs/configv1.yaml", "--settings.num_videos", "3000",
         "--settings.output_dir", str(tmp_path / "none"), "--show-specs"],
        cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    head = subprocess.run(["head", "-n", "2"], stdin=plan.stdout, capture_output=True,
                          text=True, timeout=120)
    plan.stdout.close()  # head has exited: the pipe's read end is now closed
    stderr = plan.stderr.read().decode()
    assert plan.wait(timeout=120) == 141, stderr
    assert head.stdout.startswith("dataset 'configv1'")
    assert stderr == ""
