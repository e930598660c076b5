"""The generation loop: what to render per task (the DataModule and its sampler), the
LightningModule that renders, the writer that commits, devices."""

from lightpipe.generation.data import GenerationDataModule, SpecDataset
from lightpipe.generation.devices import register as register_devices
from lightpipe.generation.module import VideoGenerator
from lightpipe.generation.sampler import ContiguousDistributedSampler
from lightpipe.generation.writer import VideoResult, VideoWriter

__all__ = ["ContiguousDistributedSampler", "GenerationDataModule", "SpecDataset",
           "VideoGenerator", "VideoResult", "VideoWriter", "register_devices"]
