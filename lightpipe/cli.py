"""`lightpipe` command line: predict, plan, verify, preview, fit, export; no tracebacks for user errors."""

from __future__ import annotations

import importlib
import sys
import warnings

from lightpipe.errors import LightpipeError

USAGE = """usage: lightpipe <command> --config CONFIG [--key value ...]

commands:
  predict   render the dataset (LightningCLI: every config key overridable, --print_config)
  plan      print the split and which task renders which videos, without rendering
  verify    check every planned video is complete (sizes, sha256); exit 0 only if so
  preview   write a PNG contact sheet of one video (--index N [--frames 4] [--out FILE])
  fit       train a model on a generated dataset (LightningCLI; see configs/train_example.yaml)
  export    write metadata CSVs for other trainers (--format diffsynth --root DATASET)

Run `lightpipe <command> --help` for the options of a command.
"""


# command -> (module, function); modules are imported on demand (predict pulls in Lightning).
COMMANDS = {
    "predict": ("lightpipe.generation.cli", "run_predict"),
    "plan": ("lightpipe.plan_command", "run_plan"),
    "verify": ("lightpipe.verify_command", "run_verify"),
    "preview": ("lightpipe.preview_command", "run_preview"),
    "fit": ("lightpipe.training.cli", "run_fit"),
    "export": ("lightpipe.export_command", "run_export"),
}


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
    except LightpipeError as exc:
        print(f"lightpipe {command}: error: {exc}", file=sys.stderr)
        return 2


def quiet_known_warnings() -> None:
    """Silence Lightning warnings that do not apply to generation."""
    for pattern in (".*does not have many workers.*", ".*predict returned None.*",
                    ".*isinstance\\(treespec, LeafSpec\\).*", ".*args parameter is intended to run.*",
                    ".*overridden `transfer_batch_to_device`.*"):
        warnings.filterwarnings("ignore", pattern)


if __name__ == "__main__":
    sys.exit(main())
