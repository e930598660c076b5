"""`lightpipe predict`: LightningCLI over the generator and the generation DataModule."""

from __future__ import annotations

from lightning.pytorch.cli import LightningCLI

from lightpipe.cli import quiet_known_warnings
from lightpipe.datamodule.output_dir import check_output_dir
from lightpipe.datamodule.predict import GenerationDataModule
from lightpipe.datamodule.settings import (
    ProjectSettings,
    Settings,
    settings_from_mapping,
    validate_settings,
)
from lightpipe.generation.module import VideoGenerator

TRAINER_DEFAULTS = {
    "use_distributed_sampler": False,  # the sampler shards by itself
    "logger": False,
    "enable_checkpointing": False,
    "enable_model_summary": False,
}


class GenerationCLI(LightningCLI):
    """Adds the `project` and `settings` groups and links them into the model, data and seed."""

    def add_arguments_to_parser(self, parser) -> None:
        parser.add_class_arguments(ProjectSettings, "project")
        parser.add_class_arguments(Settings, "settings")
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
        project = settings_from_mapping(ProjectSettings, config.project.as_dict())
        settings = settings_from_mapping(Settings, config.settings.as_dict())
        validate_settings(project, settings)
        check_output_dir(project, settings)


def run_predict(args: list[str]) -> int:
    quiet_known_warnings()
    cli = GenerationCLI(
        VideoGenerator, GenerationDataModule, args=["predict", *args],
        trainer_defaults=TRAINER_DEFAULTS, save_config_callback=None,
        auto_configure_optimizers=False,
        parser_kwargs={"allow_abbrev": False},
    )
    writer = getattr(cli.model, "writer", None)
    return 1 if writer is not None and writer.failed else 0
