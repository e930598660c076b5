"""Lightpipe: deterministic synthetic color + depth video datasets with PyTorch Lightning.

The public API, imported on first use (so `import lightpipe` and the command line stay fast):

    from lightpipe import GeneratedVideoDataModule, GenerationDataModule, VideoGenerator
    from lightpipe import Settings, ProjectSettings, plan_video, render_video, VideoMeta
"""

from __future__ import annotations

import importlib

from lightpipe import clock  # noqa: F401  (starts the process clock of the summaries)

__version__ = "0.1.0"

# Public name -> the module that defines it.
_EXPORTS = {
    # config
    "ProjectSettings": "lightpipe.config.settings",
    "Settings": "lightpipe.config.settings",
    "validate_settings": "lightpipe.config.validation",
    # planning
    "VideoSpec": "lightpipe.planning.specs",
    "AssetPool": "lightpipe.planning.planner",
    "asset_pools": "lightpipe.planning.planner",
    "plan_video": "lightpipe.planning.planner",
    "plan_dataset": "lightpipe.planning.planner",
    "contiguous_block": "lightpipe.planning.assignment",
    # dataset (the on-disk contract)
    "DatasetIndex": "lightpipe.dataset.index",
    "Layout": "lightpipe.dataset.layout",
    "VideoMeta": "lightpipe.dataset.meta",
    "VideoStatus": "lightpipe.dataset.meta",
    "dataset_identity": "lightpipe.dataset.identity",
    # render
    "RenderOptions": "lightpipe.render.renderer",
    "RenderedVideo": "lightpipe.render.renderer",
    "render_video": "lightpipe.render.renderer",
    # training DataModule
    "GeneratedVideoDataModule": "lightpipe.datamodule.training",
    # generation loop (its DataModule: what each task renders)
    "GenerationDataModule": "lightpipe.generation.data",
    "VideoGenerator": "lightpipe.generation.module",
    "VideoWriter": "lightpipe.generation.writer",
    # models
    "DepthFromColor": "lightpipe.models.depth_from_color",
    # errors
    "LightpipeError": "lightpipe.errors",
    "ConfigError": "lightpipe.errors",
}

__all__ = ["__version__", *_EXPORTS]


def __getattr__(name: str):
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'lightpipe' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
