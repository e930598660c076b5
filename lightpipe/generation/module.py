"""The LightningModule of generation: predict_step renders one video spec on the module's device."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import traceback

import torch
from lightning.pytorch import LightningModule

from lightpipe.datamodule.output_dir import layout_for
from lightpipe.datamodule.settings import Settings
from lightpipe.datamodule.specs import VideoSpec
from lightpipe.generation.faults import maybe_inject
from lightpipe.generation.renderer import RenderOptions, render_video
from lightpipe.generation.writer import VideoResult, VideoWriter

PREEMPT_SIGNAL = signal.SIGUSR1


class VideoGenerator(LightningModule):
    """Renders videos; the writer callback it configures encodes and commits them.

    On SIGUSR1 (SLURM's `--signal=SIGUSR1@90`) the task stops taking new videos,
    finishes the queued encodes and exits non-zero; on SLURM, global rank 0 requeues the job.
    A rerun renders only what is missing.
    """

    def __init__(self, settings: Settings = Settings(), seed: int = 42) -> None:
        super().__init__()
        self.settings = settings
        self.seed = seed
        self.writer: VideoWriter | None = None
        self.stop_requested = threading.Event()
        # Fewer pending videos than tasks is normal on a resumed run: idle tasks just finish.
        self.allow_zero_length_dataloader_with_multiple_devices = True

    def configure_callbacks(self):
        self.writer = VideoWriter(layout_for(self.settings), self.settings.encoder)
        return [self.writer]

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # a VideoSpec: plain numbers, rendered directly on self.device

    def on_predict_start(self) -> None:
        cpus = os.environ.get("SLURM_CPUS_PER_TASK", "")
        if cpus.isdigit() and int(cpus) > 0:
            torch.set_num_threads(int(cpus))
        signal.signal(PREEMPT_SIGNAL, self._on_preempt)  # replaces Lightning's checkpoint+requeue

    def predict_step(self, spec: VideoSpec, batch_idx: int = 0) -> VideoResult:
        try:
            maybe_inject(spec.index)
            video = render_video(spec, self.device,
                                 frames_per_chunk=self.settings.render.frames_per_chunk,
                                 max_candidates=self.settings.render.max_candidates,
                                 options=render_options(self.settings))
        except Exception:  # one video's failure must not stop the others
            return VideoResult(spec=spec, error=traceback.format_exc())
        return VideoResult(spec=spec, video=video)

    def _on_preempt(self, signum, frame) -> None:
        name = signal.Signals(signum).name
        print(f"lightpipe task {self.global_rank}: {name} received; finishing the current video "
              "and stopping (a rerun renders the rest)", file=sys.stderr, flush=True)
        self.stop_requested.set()
        datamodule = self.trainer.datamodule
        if datamodule is not None:
            datamodule.stop_requested.set()
        job = os.environ.get("SLURM_JOB_ID")
        if job and self.global_rank == 0:
            subprocess.run(["scontrol", "requeue", job], check=False)


def render_options(settings: Settings) -> RenderOptions:
    """The renderer's options for these settings (shared by predict and preview)."""
    return RenderOptions(asset_root=settings.assets.root, shadows=settings.render.shadows,
                         antialias=settings.render.antialias, compile=settings.render.compile,
                         segmentation="segmentation" in settings.outputs,
                         normals="normals" in settings.outputs)
