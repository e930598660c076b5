"""The DataModules a user imports to train: `GeneratedVideoDataModule` (a generated dataset's
clips), its samplers and the clip reader.

What generation renders (`GenerationDataModule`, `SpecDataset`, `ContiguousDistributedSampler`)
lives in `lightpipe.generation`, beside the module and the writer it feeds.
"""

from __future__ import annotations

import warnings

from lightpipe.datamodule.clips import DEFAULT_OUTPUTS, MODALITIES, ClipDataset, CropGeometry
from lightpipe.datamodule.training import EpochKeySampler, GeneratedVideoDataModule

__all__ = ["DEFAULT_OUTPUTS", "MODALITIES", "ClipDataset", "CropGeometry", "EpochKeySampler",
           "GeneratedVideoDataModule"]

# Names this package exported until they moved to `lightpipe.generation`. They were public
# (`from lightpipe.datamodule import GenerationDataModule`), so they still resolve, with a
# DeprecationWarning that names the new place. They resolve on first use only: importing
# `lightpipe.datamodule` (the training reader) never loads the generation layer or the renderer.
# This is the one import of a higher layer in this package, and tests/test_import_direction.py
# lists it as its one allowed exception. The old module paths (`lightpipe.datamodule.predict`,
# `.sampler`) are not kept: no saved artefact names them (dataset.json records settings, not
# classes, and `lightpipe predict` takes its DataModule as a class, so neither its saved nor its
# printed configs carry a `class_path` for it), and configs/, slurm/ and benchmarks/ never did.
_MOVED = {"GenerationDataModule": "lightpipe.generation.data",
          "SpecDataset": "lightpipe.generation.data",
          "ContiguousDistributedSampler": "lightpipe.generation.sampler"}


def __getattr__(name: str):
    if name not in _MOVED:
        raise AttributeError(f"module 'lightpipe.datamodule' has no attribute {name!r}")
    warnings.warn(f"lightpipe.datamodule.{name} moved to {_MOVED[name]}: import it from there "
                  f"(or `from lightpipe import GenerationDataModule`)", DeprecationWarning,
                  stacklevel=2)
    from lightpipe import generation  # the allowed upward import (see above)

    return getattr(generation, name)
