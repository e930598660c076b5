"""LightningCLI of `lightpipe fit`: any LightningModule (default: the example `DepthFromColor`)
and `GeneratedVideoDataModule`; one `seed_everything` seeds Lightning and the clip offsets."""

from __future__ import annotations

import sys

from lightning.pytorch.cli import LightningCLI

from lightpipe.commands.fit_stop import INTERRUPT_EXIT, SaveOnStop
from lightpipe.commands.parsing import PARSER_KWARGS, quiet_known_warnings
from lightpipe.datamodule.training import GeneratedVideoDataModule
from lightpipe.errors import ConfigError
from lightpipe.models.depth_from_color import DepthFromColor

TRAINER_DEFAULTS = {
    "logger": {"class_path": "lightning.pytorch.loggers.CSVLogger",
               "init_args": {"save_dir": "runs", "name": "fit"}},
}


class FitCLI(LightningCLI):
    """Links `seed_everything` into `data.seed`, so one seed fixes weights, order and clips;
    adds `SaveOnStop`, which decides the exit code of a run the user stopped."""

    def __init__(self, stop: SaveOnStop, *args, **kwargs) -> None:
        self.stop = stop  # before LightningCLI's constructor, which runs the whole fit
        super().__init__(*args, **kwargs)

    def before_fit(self) -> None:
        self.trainer.callbacks.append(self.stop)

    def add_arguments_to_parser(self, parser) -> None:
        parser.link_arguments("seed_everything", "data.seed", compute_fn=_data_seed)
        default_model = f"{DepthFromColor.__module__}.{DepthFromColor.__name__}"
        parser.set_defaults({"model": {"class_path": default_model}})


def run_fit_cli(args: list[str]) -> int:
    quiet_known_warnings(".*The number of training batches.*is smaller than the logging interval.*")
    stop = SaveOnStop()
    try:
        FitCLI(
            stop, None, GeneratedVideoDataModule, args=["fit", *args],  # model: any LightningModule
            trainer_defaults=TRAINER_DEFAULTS,
            seed_everything_default=0, parser_kwargs=PARSER_KWARGS,
        )
    except SystemExit:  # Lightning's exit after Ctrl-C (1) or SIGTERM (no code)
        if stop.exit_code is None:
            raise
        return stop.exit_code
    except KeyboardInterrupt:  # before training started: nothing to save
        print("lightpipe fit: stopped by Ctrl-C before training started", file=sys.stderr)
        return INTERRUPT_EXIT
    return 0


def _data_seed(seed) -> int:
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise ConfigError("seed_everything", seed, "an integer >= 0",
                          hint="one seed fixes the weights, the batch order and the clip offsets.")
    return seed
