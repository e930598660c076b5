"""The generation loop: the LightningModule that renders, the writer that commits, devices."""

from lightpipe.generation.devices import register as register_devices
from lightpipe.generation.module import VideoGenerator
from lightpipe.generation.writer import VideoResult, VideoWriter

__all__ = ["VideoGenerator", "VideoResult", "VideoWriter", "register_devices"]
