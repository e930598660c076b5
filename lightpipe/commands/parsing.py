"""The one parser factory of every command: the same parser options everywhere, the `project` and
`settings` groups from the settings dataclasses, and typed, validated settings from a parse."""

from __future__ import annotations

import warnings
from argparse import SUPPRESS
from pathlib import Path

import yaml
from jsonargparse import ActionConfigFile, ArgumentParser

from lightpipe.config.settings import ProjectSettings, Settings
from lightpipe.config.validation import validate_settings
from lightpipe.errors import ConfigError, LightpipeError

# Options of every parser, LightningCLI's (predict, fit) included: errors are raised (and shown
# as one message by `dispatch`), not printed after a usage dump.
PARSER_KWARGS = {"allow_abbrev": False, "exit_on_error": False}
# Lightning warnings that do not apply to Lightpipe's runs.
_KNOWN_WARNINGS = (".*does not have many workers.*", ".*isinstance\\(treespec, LeafSpec\\).*",
                   ".*args parameter is intended to run.*",
                   "The `srun` command is available on your system but is not used.*",
                   "Total length of `.*` across ranks is zero.*")


def new_parser(prog: str, description: str) -> ArgumentParser:
    return ArgumentParser(prog=prog, description=description, **PARSER_KWARGS)


def add_settings_groups(parser: ArgumentParser) -> None:
    """`--project.*` and `--settings.*`, typed from the settings dataclasses."""
    parser.add_class_arguments(ProjectSettings, "project")
    parser.add_class_arguments(Settings, "settings")


# Top-level keys that `--print_config` of one command writes and another command does not use:
# LightningCLI's (predict, fit) and each Lightpipe command's own options. A config saved by any
# command is read back by every command: a key of this list found in a `--config` file is
# accepted and ignored by a command that has no such option. Any other unknown key is an error.
PREDICT_GROUPS = ("trainer", "model", "data")
FIT_ONLY_GROUPS = ("optimizer", "lr_scheduler")
LIGHTNING_GROUPS = (*PREDICT_GROUPS, *FIT_ONLY_GROUPS)
LIGHTNING_VALUES = ("seed_everything", "ckpt_path", "return_predictions", "weights_only")
COMMAND_OPTIONS = ("tasks", "show_assets", "show_specs", "quick", "workers", "index", "frames",
                   "out", "format", "root", "task")
FOREIGN_KEYS = (*LIGHTNING_GROUPS, *LIGHTNING_VALUES, *COMMAND_OPTIONS)


def config_parser(prog: str, description: str) -> ArgumentParser:
    """A parser for the `project`/`settings` part of a config; other top-level keys are ignored."""
    parser = new_parser(prog, description)
    parser.add_argument("--config", action=ActionConfigFile, help="a Lightpipe YAML config")
    add_settings_groups(parser)
    for ignored in PREDICT_GROUPS:
        parser.add_argument(f"--{ignored}", type=dict, default={}, help="(ignored here)")
    for ignored in LIGHTNING_VALUES[:3]:  # the rest only when a config file has them
        parser.add_argument(f"--{ignored}", type=object, default=None, help="(ignored here)")
    return parser


def foreign_keys(args: list[str], known: set[str],
                 candidates: tuple[str, ...] = FOREIGN_KEYS) -> list[str]:
    """The `candidates` at the top of the `--config` files in `args` that are not in `known` (a
    parser's own keys): those written by another command's `--print_config`."""
    from lightpipe.commands.preflight import config_paths

    found = []
    for path in config_paths(args):
        try:
            data = yaml.safe_load(Path(path).read_text())
        except (OSError, UnicodeDecodeError, yaml.YAMLError):
            continue  # `check_config_files` says what is wrong with it
        if isinstance(data, dict):
            found += [key for key in data if key in candidates and key not in known
                      and key not in found]
    return found


def ignore_foreign_keys(parser: ArgumentParser, args: list[str],
                        candidates: tuple[str, ...] = FOREIGN_KEYS) -> None:
    """Accept (and ignore) the keys of another command's saved config found in `args`' files."""
    known = {action.dest for action in parser._actions}
    for key in foreign_keys(args, known, candidates):
        parser.add_argument(f"--{key}", type=object, default=None, help=SUPPRESS)


def tasks_option(parser: ArgumentParser) -> None:
    parser.add_argument("--tasks", type=int, default=None,
                        help="number of tasks (default: trainer.num_nodes x trainer.devices, else 1)")


def check_count(option: str, value: int | None) -> None:
    """Refuse a count option (`--tasks`, `--workers`) below 1."""
    if value is not None and value < 1:
        raise ConfigError(f"--{option}", value, "an integer >= 1")


def settings_from(config) -> tuple[ProjectSettings, Settings]:
    """Typed, validated settings from a parsed config (a jsonargparse Namespace)."""
    project = ProjectSettings.from_dict(config.project.as_dict())
    settings = Settings.from_dict(config.settings.as_dict())
    validate_settings(project, settings)
    return project, settings


def parse_config(parser: ArgumentParser, args: list[str]):
    """Check the config files, parse and validate; returns (namespace, project, settings).
    Every problem is a LightpipeError with one short message."""
    from jsonargparse import ArgumentError

    from lightpipe.commands.preflight import argument_error_message, check_config_files

    check_config_files(args)
    ignore_foreign_keys(parser, args)
    try:
        namespace = parser.parse_args(args)
    except ArgumentError as exc:
        raise LightpipeError(argument_error_message(exc, parser)) from None
    project, settings = settings_from(namespace)
    return namespace, project, settings


def quiet_known_warnings(*patterns: str) -> None:
    """Silence, by their exact text, the Lightning warnings and notices that do not apply to
    Lightpipe's runs (plus a command's own `patterns`); nothing else is silenced."""
    import logging

    for pattern in (*_KNOWN_WARNINGS, *patterns):
        warnings.filterwarnings("ignore", pattern)
    # rank_zero_info logs through whichever of these lightning_utilities was last given.
    for name in ("lightning.fabric.utilities.rank_zero", "lightning.pytorch.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _NoticeFilter) for f in logger.filters):
            logger.addFilter(_NoticeFilter())


class _NoticeFilter:
    """Drops Lightning's device-availability lines and its product tips."""

    PREFIXES = ("GPU available:", "TPU available:", "HPU available:", "IPU available:",
                "\U0001f4a1 Tip:")

    def filter(self, record) -> bool:
        return not str(record.getMessage()).startswith(self.PREFIXES)
