"""The LightningModule of generation: predict_step renders one video spec on the module's device."""

from __future__ import annotations

import os
import signal
import traceback

import torch
from lightning.pytorch import LightningModule

from lightpipe.assets.memory import set_asset_memory_mb
from lightpipe.config.settings import ProjectSettings, Settings
from lightpipe.dataset.identity import run_layout
from lightpipe.generation.data import GenerationDataModule
from lightpipe.generation.faults import maybe_inject
from lightpipe.generation.in_flight import RenderAhead, videos_in_flight
from lightpipe.generation.writer import VideoResult, VideoWriter
from lightpipe.lightning_compat import cluster_environment, launched_processes
from lightpipe.planning.specs import VideoSpec
from lightpipe.preemption import (
    StopFlag,
    install_interrupt_handler,
    install_preemption_handler,
    install_termination_handler,
)
from lightpipe.render.backend import warn_if_native_missing
from lightpipe.render.renderer import RenderOptions, render_video


class VideoGenerator(LightningModule):
    """Renders videos; the writer callback it configures encodes and commits them.

    On the preemption signal (SLURM's `--signal=SIGUSR1@90`) the task stops taking new videos,
    finishes the queued encodes and exits non-zero; on SLURM, global rank 0 requeues the job
    (see `lightpipe.preemption`). SIGTERM and Ctrl-C stop it the same way, without requeueing.
    A rerun renders only what is missing.
    """

    def __init__(self, settings: Settings = Settings(), seed: int = 42) -> None:
        super().__init__()
        self.settings = settings
        self.seed = seed
        self.writer: VideoWriter | None = None
        self.stop = StopFlag()  # replaced by the GenerationDataModule's flag when there is one
        self._previous_handlers: list = []
        self._on_sigterm = None  # our SIGTERM handler, installed in setup
        self._ahead: RenderAhead | None = None  # videos rendered side by side (`in_flight`)
        # Fewer pending videos than tasks is normal on a resumed run: idle tasks just finish.
        self.allow_zero_length_dataloader_with_multiple_devices = True

    def configure_callbacks(self):
        datamodule = self.trainer.datamodule
        if isinstance(datamodule, GenerationDataModule):
            self.stop = datamodule.stop  # one flag: the sampler, this module and the writer
        layout = run_layout(ProjectSettings(seed=self.seed), self.settings)  # identity: the seed
        self.writer = VideoWriter(layout, self.settings.encoder, self.stop,
                                  self.settings.outputs)
        return [self.writer]

    def setup(self, stage: str) -> None:
        # Before Lightning registers its signal handlers, which then leave these in place.
        rank = self.trainer.global_rank
        self._previous_handlers = [
            install_preemption_handler(self.stop, cluster_environment(self.trainer), rank),
            install_interrupt_handler(self.stop, rank),
            install_termination_handler(self.stop, rank, launched_processes(self.trainer))]
        self._on_sigterm = signal.getsignal(signal.SIGTERM)

    def on_predict_start(self) -> None:
        # Lightning has meanwhile wrapped our SIGTERM handler in its notifier, which runs a
        # collective inside the handler (see `lightpipe.preemption`): ours alone is safe. Its
        # signal teardown puts ours back, and `teardown` then the one from before `setup`.
        signal.signal(signal.SIGTERM, self._on_sigterm)
        cpus = os.environ.get("SLURM_CPUS_PER_TASK", "")
        if cpus.isdigit() and int(cpus) > 0:
            torch.set_num_threads(int(cpus))
        set_asset_memory_mb(self.settings.assets.mesh_cache_mb)
        render = self.settings.render
        warn_if_native_missing(self.device, render.native, render.compile)
        count = videos_in_flight(render.videos_in_flight, self.device, render.compile)
        self._ahead = RenderAhead(count) if count > 1 else None

    def on_predict_end(self) -> None:
        self._close_ahead()

    def _close_ahead(self) -> None:
        if self._ahead is not None:
            self._ahead.close()
            self._ahead = None

    def teardown(self, stage: str) -> None:
        self._close_ahead()  # (an exception may have skipped on_predict_end)
        for signum, handler in reversed(self._previous_handlers):
            signal.signal(signum, handler)
        self._previous_handlers = []

    def transfer_batch_to_device(self, batch, device, dataloader_idx):
        return batch  # a VideoSpec: plain numbers, rendered directly on self.device

    def predict_step(self, spec: VideoSpec, batch_idx: int = 0) -> VideoResult:
        if self._ahead is not None:  # rendered beside the videos in flight, then handed over
            return VideoResult(spec=spec, pending=self._ahead.submit(self._render_for_writer,
                                                                     spec))
        return self._render(spec)

    def _render_for_writer(self, spec: VideoSpec) -> None:
        """Render in a render thread and queue the result for encoding (waiting, with the render
        slot held, while `max_pending_videos` are queued: that bounds memory)."""
        self.writer.accept(self._render(spec))

    def _render(self, spec: VideoSpec) -> VideoResult:
        try:
            maybe_inject(spec.index)
            video = render_video(spec, self.device,
                                 frames_per_chunk=self.settings.render.frames_per_chunk,
                                 max_candidates=self.settings.render.max_candidates,
                                 options=RenderOptions.from_settings(self.settings))
        except Exception:  # one video's failure must not stop the others
            return VideoResult(spec=spec, error=traceback.format_exc())
        return VideoResult(spec=spec, video=video)
