"""`lightpipe` command line: predict, plan, verify, preview, fit, export, assets; no tracebacks
for user errors."""

from __future__ import annotations

import importlib
import os
import sys

from lightpipe.errors import LightpipeError

USAGE = """usage: lightpipe <command> --config CONFIG [--key value ...]

commands:
  predict   render the dataset (LightningCLI: every config key overridable, --print_config)
  plan      print the split and which task renders which videos, without rendering
  verify    check every planned video is complete and the plan's (sha256, spec); exit 0 if so
  preview   write a PNG contact sheet of one video (--index N [--frames 4] [--out FILE])
  fit       train a model on a generated dataset (LightningCLI; see configs/train_example.yaml)
  export    write metadata CSVs for other trainers (--format diffsynth --root DATASET)
  assets    check an asset library: counts, split, categories, problems (check --root DIR)

Run `lightpipe <command> --help` for the options of a command.
"""


SIGPIPE_EXIT = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader closed

# command -> (module, function); modules are imported on demand (predict pulls in Lightning).
COMMANDS = {name: (f"lightpipe.commands.{name}", f"run_{name}")
            for name in ("predict", "plan", "verify", "preview", "fit", "export",
                          "assets")}


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    if command not in COMMANDS:
        print(f"lightpipe: unknown command {command!r}; allowed: {', '.join(COMMANDS)}"
              f"\n\n{USAGE}", file=sys.stderr)
        return 2
    module, function = COMMANDS[command]
    try:
        return getattr(importlib.import_module(module), function)(rest)
    except BrokenPipeError:
        return _closed_pipe()
    except LightpipeError as exc:
        return _refuse(command, str(exc))
    except Exception as exc:  # jsonargparse's ArgumentError from a LightningCLI parser
        if type(exc).__name__ != "ArgumentError":
            raise
        from lightpipe.commands.preflight import argument_error_message

        return _refuse(command, argument_error_message(exc))


def _closed_pipe() -> int:
    """The reader of stdout went away (`lightpipe plan ... | head`): end quietly, as a Unix tool
    killed by SIGPIPE does (exit 141), and keep Python's final flush from raising again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    os.close(devnull)
    return SIGPIPE_EXIT


def _refuse(command: str, message: str) -> int:
    """One short message, the command's help pointer, exit code 2 (a usage error)."""
    print(f"lightpipe {command}: error: {message}\nsee `lightpipe {command} --help`",
          file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
