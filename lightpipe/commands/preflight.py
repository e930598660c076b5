"""The front door: a command's whole input checked before Lightning is imported and before
anything is written, so a bad value is refused in well under two seconds with one short message.

What is checked here: the config files (they exist, parse as YAML and hold a mapping; errors
name the file and line), every `project.*`/`settings.*` value (types by jsonargparse, ranges by
`config.validation`), the Lightning keys Lightpipe depends on (`trainer.devices`, `num_nodes`,
`accelerator`, `strategy`, `use_distributed_sampler`), the asset folder (every problem at
once), and that `output_dir` and its split folders can be written (a probe file is created and
removed). Other `trainer.*` keys are Lightning's own and are checked when it parses them.
"""

from __future__ import annotations

import difflib
import os
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import yaml

from lightpipe.errors import ConfigError, LightpipeError

STRATEGIES = ("auto", "ddp", "ddp_gloo")
ACCELERATORS = ("auto", "cpu", "gpu", "cuda", "cuda_shared", "mps")


@dataclass(frozen=True)
class Checked:
    """A parsed and validated config: the typed settings and the raw trainer section."""

    namespace: object
    project: object
    settings: object
    trainer: dict


def check_config_files(args: list[str]) -> None:
    """Each `--config FILE`: present, valid YAML, a mapping at the top. Errors name the file."""
    for path in config_paths(args):
        file = Path(path)
        if not file.is_file():
            raise ConfigError("--config", path, "a readable YAML file",
                              "the path is relative to the current directory")
        try:
            data = yaml.safe_load(file.read_text())
        except yaml.YAMLError as exc:
            mark = getattr(exc, "problem_mark", None)
            where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
            problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
            raise LightpipeError(f"config file {path!r} is not valid YAML{where}: {problem}."
                                 "\nHINT: check the indentation and the ':' after each key.") \
                from None
        except (OSError, UnicodeDecodeError) as exc:
            raise LightpipeError(f"config file {path!r} cannot be read: {exc}.") from None
        if data is not None and not isinstance(data, dict):
            raise LightpipeError(f"config file {path!r} holds a {type(data).__name__} at the top; "
                                 "allowed: a mapping of keys (project:, settings:, trainer:, ...)."
                                 "\nHINT: see configs/configv1.yaml.")


def config_paths(args: list[str]) -> list[str]:
    paths = []
    for i, arg in enumerate(args):
        if arg == "--config" and i + 1 < len(args):
            paths.append(args[i + 1])
        elif arg.startswith("--config="):
            paths.append(arg.split("=", 1)[1])
    return paths


def argument_error_message(exc: Exception, parser=None) -> str:
    """jsonargparse's message, without the usage, in Lightpipe's words where it is a known case."""
    text = str(exc).strip()
    unknown = re.match(r"unrecognized arguments: (--[\w.]+)", text)
    if unknown:
        key = unknown.group(1)
        message = f"`{key}` is not a known key."
        options = [] if parser is None else _option_names(parser)
        close = difflib.get_close_matches(key, options, n=1)
        return message + (f"\nHINT: did you mean {close[0]}?" if close else "")
    key = re.search(r'Parser key "([\w.]+)"', text)
    literal = re.search(r"Expected a typing\.Literal\[(.*?)\]\. Got value: (.*)", text, re.S)
    if key and literal:
        allowed = ", ".join(v.strip().strip("'") for v in literal.group(1).split(","))
        return f"`{key.group(1)}` is {literal.group(2).strip()!r}; allowed: one of {allowed}."
    expected = re.search(r"Expected a <class '(\w+)'>\. Got value: (.*)", text)
    if key and expected:
        kind = {"int": "an integer", "float": "a number", "bool": "true or false",
                "str": "a string"}.get(expected.group(1), expected.group(1))
        return f"`{key.group(1)}` is {expected.group(2).strip()!r}; allowed: {kind}."
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    return " ".join(lines[:3])


def check_trainer(trainer: dict, generation: bool = True) -> None:
    """The trainer keys Lightpipe depends on (for `fit`, only the device counts: training may
    use any of Lightning's strategies and accelerators); raises ConfigError."""
    devices = _value(trainer.get("devices", "auto"))
    ok = devices in ("auto", -1) or (isinstance(devices, int) and not isinstance(devices, bool)
                                     and devices >= 1) \
        or (isinstance(devices, list) and devices and all(
            isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in devices)) \
        or (isinstance(devices, str) and re.fullmatch(r"\d+(,\d+)*,?", devices) is not None
            and devices.strip(",") != "0")
    if not ok:
        raise ConfigError("trainer.devices", devices,
                          "an integer >= 1, 'auto', -1 (all), or a list of device ids",
                          "one device is one task (process); under SLURM pass "
                          "--trainer.devices $SLURM_NTASKS_PER_NODE")
    nodes = _value(trainer.get("num_nodes", 1))
    if not isinstance(nodes, int) or isinstance(nodes, bool) or nodes < 1:
        raise ConfigError("trainer.num_nodes", nodes, "an integer >= 1")
    if not generation:
        return
    accelerator = _value(trainer.get("accelerator", "auto"))
    if isinstance(accelerator, str) and accelerator not in ACCELERATORS:
        raise ConfigError("trainer.accelerator", accelerator,
                          f"one of {', '.join(ACCELERATORS)}",
                          "cuda_shared runs several tasks per GPU (see docs/slurm.md)")
    strategy = _value(trainer.get("strategy", "auto"))
    if isinstance(strategy, str) and strategy not in STRATEGIES:
        raise ConfigError("trainer.strategy", strategy, f"one of {', '.join(STRATEGIES)}",
                          "Lightpipe's tasks are separate processes that only exchange the "
                          "pending list: ddp (or ddp_gloo when tasks share a GPU)")
    if _value(trainer.get("use_distributed_sampler", False)) in (True, "true", "True"):
        raise ConfigError("trainer.use_distributed_sampler", True, "false",
                          "Lightpipe shards videos itself; Lightning's sampler would shard them "
                          "twice and silently drop videos")


def probe_output_dir(output_dir: str) -> None:
    """Create and remove a file (with a byte in it: a full disk refuses that) in the nearest
    existing folder of `output_dir`, and in its split and `failures/` folders when they exist:
    a read-only `train/` under a writable top folder would otherwise fail every video."""
    from lightpipe.config.settings import SPLITS
    from lightpipe.dataset.layout import FAILURES_DIR

    root = Path(output_dir)
    if root.exists() and not root.is_dir():
        raise ConfigError("settings.output_dir", output_dir, "a directory (created if missing)",
                          "it is a file")
    existing = root
    while not existing.exists():
        existing = existing.parent
    folders = [existing, *(root / name for name in (*SPLITS, FAILURES_DIR)
                           if (root / name).is_dir())]
    for folder in folders:
        try:
            _probe(folder)
        except OSError as exc:
            raise ConfigError("settings.output_dir", output_dir,
                              "a directory this process can create files in, and so can its "
                              f"{', '.join(SPLITS)} and {FAILURES_DIR} folders",
                              f"{str(folder)!r} refuses: {exc.strerror or exc}") from None


def _probe(folder: Path) -> None:
    fd, name = tempfile.mkstemp(prefix=".lightpipe-probe-", dir=folder)
    try:
        os.write(fd, b"x")
        os.fsync(fd)
    finally:
        os.close(fd)
        os.unlink(name)


def _value(value):
    """Command-line values arrive as strings: read them as YAML scalars ('2' -> 2)."""
    if isinstance(value, str):
        try:
            return yaml.safe_load(value)
        except yaml.YAMLError:
            return value
    return value


def _option_names(parser) -> list[str]:
    names = []
    for action in getattr(parser, "_actions", []):
        names += [o for o in getattr(action, "option_strings", []) if o.startswith("--")]
    return names
