"""`lightpipe` command line: predict, plan, verify, preview, fit, export; no tracebacks for user errors."""

from __future__ import annotations

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


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0
    command, rest = argv[0], argv[1:]
    try:
        if command == "predict":
            from lightpipe.generation.cli import run_predict

            return run_predict(rest)
        if command == "plan":
            from lightpipe.plan_command import run_plan

            return run_plan(rest)
        if command == "verify":
            from lightpipe.verify_command import run_verify

            return run_verify(rest)
        if command == "preview":
            from lightpipe.preview_command import run_preview

            return run_preview(rest)
        if command == "fit":
            from lightpipe.training.cli import run_fit

            return run_fit(rest)
        if command == "export":
            from lightpipe.export_command import run_export

            return run_export(rest)
    except LightpipeError as exc:
        print(f"lightpipe {command}: error: {exc}", file=sys.stderr)
        return 2
    print(f"lightpipe: unknown command {command!r}; allowed: predict, plan, verify, "
          f"preview, fit, export\n\n{USAGE}", file=sys.stderr)
    return 2


def quiet_known_warnings() -> None:
    """Silence Lightning warnings that do not apply to generation."""
    for pattern in (".*does not have many workers.*", ".*predict returned None.*",
                    ".*isinstance\\(treespec, LeafSpec\\).*", ".*args parameter is intended to run.*",
                    ".*overridden `transfer_batch_to_device`.*"):
        warnings.filterwarnings("ignore", pattern)


if __name__ == "__main__":
    sys.exit(main())
