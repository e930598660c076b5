"""The DataModules: `GenerationDataModule` (what to render, per task) and
`GeneratedVideoDataModule` (a generated dataset's clips, for training)."""

from lightpipe.datamodule.clips import DEFAULT_OUTPUTS, MODALITIES, ClipDataset, CropGeometry
from lightpipe.datamodule.predict import GenerationDataModule, SpecDataset
from lightpipe.datamodule.sampler import ContiguousDistributedSampler
from lightpipe.datamodule.training import EpochKeySampler, GeneratedVideoDataModule

__all__ = ["DEFAULT_OUTPUTS", "MODALITIES", "ClipDataset", "ContiguousDistributedSampler",
           "CropGeometry", "EpochKeySampler", "GeneratedVideoDataModule", "GenerationDataModule",
           "SpecDataset"]
