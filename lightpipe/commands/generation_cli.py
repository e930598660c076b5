"""LightningCLI of `lightpipe predict`: the generator, the generation DataModule, the settings
linked into both and into `seed_everything`; the exit code judged from the files."""

from __future__ import annotations

from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.cli import LightningCLI

from lightpipe.assets.catalog import catalog_for
from lightpipe.assets.loader import validate_catalog
from lightpipe.commands.parsing import (
    COMMAND_OPTIONS,
    FIT_ONLY_GROUPS,
    PARSER_KWARGS,
    add_settings_groups,
    ignore_foreign_keys,
    quiet_known_warnings,
    settings_from,
)
from lightpipe.config.settings import ProjectSettings
from lightpipe.dataset.identity import run_layout
from lightpipe.dataset.output_dir import check_output_dir
from lightpipe.generation import devices
from lightpipe.generation.data import GenerationDataModule
from lightpipe.generation.module import VideoGenerator
from lightpipe.lightning_compat import cluster_environment, launched_processes
from lightpipe.planning.planner import asset_pools
from lightpipe.preemption import SIGNAL_EXIT_CODES

TRAINER_DEFAULTS = {
    "use_distributed_sampler": False,  # the sampler shards by itself
    "logger": False,
    "enable_checkpointing": False,
    "enable_model_summary": False,
    "enable_progress_bar": False,  # `generation.progress` reports over videos, not batches
}


class GenerationCLI(LightningCLI):
    """Adds the `project` and `settings` groups and links them into the model, data and seed."""

    def __init__(self, *args, **kwargs) -> None:
        self._command_line = list(kwargs.get("args") or [])
        super().__init__(*args, **kwargs)

    def add_arguments_to_parser(self, parser) -> None:
        add_settings_groups(parser)
        # A config saved by plan, verify, preview or fit. LightningCLI adds its own top-level
        # keys (ckpt_path, ...) after this method, so only the others are ignored here.
        ignore_foreign_keys(parser, self._command_line, (*COMMAND_OPTIONS, *FIT_ONLY_GROUPS))
        parser.link_arguments("project.seed", "seed_everything")
        parser.link_arguments("project.seed", "model.seed")
        parser.link_arguments("project.seed", "data.seed")
        parser.link_arguments("project.name", "data.name")
        parser.link_arguments("settings", "model.settings", apply_on="instantiate")
        parser.link_arguments("settings", "data.settings", apply_on="instantiate")

    def before_instantiate_classes(self) -> None:
        config = self.config[self.subcommand] if self.subcommand else self.config
        if config.get("return_predictions") is None:
            config.return_predictions = False  # frames go to disk; keeping them would exhaust memory
        project, settings = settings_from(config)
        # a broken asset file, or a mesh too heavy, fails here, by name
        validate_catalog(catalog_for(settings), max_triangles=settings.assets.max_triangles)
        asset_pools(project.seed, settings)  # and so does a catalogue too small to split
        check_output_dir(project, settings)


def run_generation_cli(args: list[str]) -> int:
    quiet_known_warnings(".*predict returned None.*", ".*overridden `transfer_batch_to_device`.*")
    devices.register()
    cli = GenerationCLI(
        VideoGenerator, GenerationDataModule, args=["predict", *args],
        trainer_defaults=TRAINER_DEFAULTS, save_config_callback=None,
        auto_configure_optimizers=False, parser_kwargs=PARSER_KWARGS,
    )
    return exit_code(cli.trainer, cli.model)


def exit_code(trainer, model: VideoGenerator) -> int:
    """Non-zero when this process's work is not done.

    Under SLURM (or any external launcher) each task answers for its own videos. When Lightning
    launched the local processes itself, its launcher kills every process as soon as one exits
    non-zero, so the children exit 0 and rank 0 waits for them and answers for the whole dataset.
    """
    writer = model.writer
    signalled = SIGNAL_EXIT_CODES.get(model.stop.reason)  # Ctrl-C: 130, SIGTERM: 143
    own_problem = bool(writer and writer.failed) or model.stop.requested
    if not isinstance(cluster_environment(trainer), LightningEnvironment):
        return signalled or (1 if own_problem else 0)
    if trainer.global_rank != 0:
        return 0
    for child in launched_processes(trainer):
        child.wait()
    if signalled:
        return signalled
    started_pending = getattr(trainer.datamodule, "pending", None)  # the rest was complete
    layout = run_layout(ProjectSettings(seed=model.seed), model.settings)
    incomplete = layout.pending(started_pending, hashes=False)
    return 1 if own_problem or incomplete else 0
