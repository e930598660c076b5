"""The LightningModule of generation: predict_step renders one video spec on the module's device."""

from __future__ import annotations

import time
import traceback

from lightning.pytorch import LightningModule

from lightpipe.datamodule.output_dir import layout_for
from lightpipe.datamodule.settings import Settings
from lightpipe.datamodule.specs import VideoSpec
from lightpipe.generation.renderer import render_video
from lightpipe.generation.writer import VideoResult, VideoWriter


class VideoGenerator(LightningModule):
    """Renders videos; the writer callback it configures encodes and commits them."""

    def __init__(self, settings: Settings = Settings(), seed: int = 42) -> None:
        super().__init__()
        self.settings = settings
        self.seed = seed
        self.writer: VideoWriter | None = None

    def configure_callbacks(self):
        self.writer = VideoWriter(layout_for(self.settings), self.settings.encoder)
        return [self.writer]

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # a VideoSpec: plain numbers, rendered directly on self.device

    def predict_step(self, spec: VideoSpec, batch_idx: int = 0) -> VideoResult:
        started = time.perf_counter()
        try:
            video = render_video(spec, self.device,
                                 frames_per_chunk=self.settings.render.frames_per_chunk,
                                 max_candidates=self.settings.render.max_candidates)
        except Exception:  # one video's failure must not stop the others
            return VideoResult(spec=spec, error=traceback.format_exc())
        return VideoResult(spec=spec, video=video, render_seconds=time.perf_counter() - started)
