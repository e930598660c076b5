"""Prediction writer: encode each rendered video in background threads, atomically, JSON last."""

from __future__ import annotations

import contextlib
import os
import platform
import sys
import threading
import time
import traceback
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass

import av
import lightning
import numpy as np
import torch
from lightning.fabric.plugins.environments import LightningEnvironment
from lightning.pytorch.callbacks import BasePredictionWriter

import lightpipe
from lightpipe.atomic_io import (
    atomic_path,
    file_digest,
    is_stale_temp,
    write_bytes,
    write_json,
)
from lightpipe.config.settings import EncoderSettings
from lightpipe.dataset.layout import FORMAT_VERSION, Layout
from lightpipe.dataset.meta import (
    CAMERA_CONVENTION,
    CameraMeta,
    EncodingMeta,
    FileEntry,
    VideoMeta,
    VideoStatus,
)
from lightpipe.dataset.outputs import WriteContext, selected
from lightpipe.dataset.video_codec import H264Options
from lightpipe.generation.data import GenerationDataModule
from lightpipe.generation.progress import Progress, task_summary
from lightpipe.generation.storage_errors import StorageRefused, writing
from lightpipe.lightning_compat import cluster_environment
from lightpipe.planning.assignment import contiguous_block
from lightpipe.planning.specs import VideoSpec
from lightpipe.preemption import StopFlag
from lightpipe.render.renderer import RenderedVideo

DATASET_WAIT_S = 120.0  # how long rank 0 waits for the other tasks before its dataset summary


@dataclass(frozen=True)
class VideoResult:
    """What predict_step hands the writer: a rendered video, or the error that stopped it; or
    a render still running (`pending`, `generation.in_flight`), whose thread hands its result
    to `VideoWriter.accept` itself."""

    spec: VideoSpec
    video: RenderedVideo | None = None
    error: str | None = None
    pending: Future | None = None


class VideoWriter(BasePredictionWriter):
    """Writes each selected output's files (`NNNN_color.mp4`, `NNNN_depth.mp4`,
    `NNNN_depth.mkv`, ...: the output registry), then `NNNN.json`.

    Encoding runs in `max_pending_videos` threads so it overlaps rendering; submitting blocks
    while that many videos are queued, which bounds memory. A write error that would repeat for
    every video (full disk, read-only folder: `storage_errors`) stops the task after that video
    with one message.
    """

    def __init__(self, layout: Layout, encoder: EncoderSettings, stop: StopFlag,
                 outputs: tuple[str, ...] = ("color", "depth")) -> None:
        """`layout` is the run's (`identity.run_layout`): its `identity_sha256` goes in every
        video JSON, and only videos recorded with it count as complete. `outputs` is
        `settings.outputs`: the registry's outputs to write (`outputs.selected`)."""
        super().__init__(write_interval="batch")
        if layout.identity_sha256 is None:
            raise ValueError("VideoWriter needs a layout with the run's identity_sha256 "
                             "(lightpipe.dataset.identity.run_layout)")
        self.layout, self.encoder, self.stop = layout, encoder, stop
        self.outputs = tuple(outputs)
        self.device_type = "cpu"
        self.h264 = H264Options(preset=encoder.preset, crf=encoder.crf, threads=encoder.threads,
                                keyframe_interval=encoder.keyframe_interval)
        self.rendered: list[int] = []
        self.failed: list[int] = []
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(encoder.max_pending_videos)
        self._pool: ThreadPoolExecutor | None = None
        self._futures: list[Future] = []
        self.written_bytes = 0
        self.progress: Progress | None = None
        self.task = "0/1"  # `rank/world`, for messages
        self._refused: StorageRefused | None = None  # the first repeating write error
        self._records_unwritable = False

    def setup(self, trainer, pl_module, stage: str) -> None:
        self._pool = ThreadPoolExecutor(self.encoder.max_pending_videos,
                                        thread_name_prefix="lightpipe-encode")

    def on_predict_start(self, trainer, pl_module) -> None:
        self.device_type = pl_module.device.type
        self.task = f"{trainer.global_rank}/{trainer.world_size}"
        datamodule = trainer.datamodule
        mine = len(contiguous_block(len(datamodule.pending), trainer.global_rank,
                                    trainer.world_size)) \
            if isinstance(datamodule, GenerationDataModule) else 0
        frames = datamodule.settings.video.num_frames \
            if isinstance(datamodule, GenerationDataModule) else 0
        self.progress = Progress(trainer.global_rank, trainer.world_size, mine, frames)

    def write_on_batch_end(self, trainer, pl_module, prediction: VideoResult, batch_indices,
                           batch, batch_idx, dataloader_idx) -> None:
        if prediction.pending is None:  # (a pending render's thread calls `accept` itself)
            self.accept(prediction)

    def accept(self, result: VideoResult) -> None:
        """Queue a rendered video for encoding, once fewer than `max_pending_videos` are queued
        (this waits until then: it bounds memory), or record its error."""
        if result.error is not None:
            self._record_failure(result.spec.index, result.error)
            return
        self._slots.acquire()
        with self._lock:
            self._futures.append(self._pool.submit(self._write_guarded, result))

    def teardown(self, trainer, pl_module, stage: str) -> None:
        """Wait for the encodes, then print this task's summary (also for a task with no work)
        and, on global rank 0, the dataset's (after a bounded wait for the other tasks)."""
        self.close()
        if self.progress is not None:
            self.progress.close()
        datamodule = trainer.datamodule
        ours = isinstance(datamodule, GenerationDataModule)
        skipped = datamodule.num_complete if ours else 0
        stopped = f" (stopped early: {self.stop.reason})" if self.stop.requested else ""
        frames = len(self.rendered) * (datamodule.settings.video.num_frames if ours else 0)
        print(task_summary(trainer.global_rank, trainer.world_size,
                           f"{len(self.rendered)} [{self.layout.describe(sorted(self.rendered))}]",
                           f"{len(self.failed)} [{self.layout.describe(sorted(self.failed))}]",
                           skipped, frames, self.written_bytes, stopped), flush=True)
        together = trainer.world_size > 1 and isinstance(cluster_environment(trainer),
                                                         LightningEnvironment)
        if together:
            # Lightning's own launcher stops every process when one dies, so waiting for the
            # others is safe here; it puts the dataset line after every task's summary.
            trainer.strategy.barrier("lightpipe-summaries")
        if trainer.is_global_zero:
            pending = list(datamodule.pending) if ours else None  # None: every video
            wait = trainer.world_size > 1 and not together and not self.stop.requested
            print(self.dataset_line(pending, wait), flush=True)

    def dataset_line(self, pending: list[int] | None, wait: bool,
                     timeout: float = DATASET_WAIT_S) -> str:
        """`N/M videos complete in DIR`, checking only the videos pending at the start (the
        others were complete and stay so). With `wait` (other tasks may still be writing, e.g.
        under SLURM), first waits until each of them is complete or failed, or `timeout` s."""
        deadline = time.monotonic() + timeout
        waiting = list(pending or []) if wait else []
        while waiting and time.monotonic() < deadline:
            waiting = [i for i in waiting if self.layout.quick_check(i).status
                       not in (VideoStatus.COMPLETE, VideoStatus.FAILED)]
            if waiting:
                time.sleep(0.5)
        total = self.layout.num_videos
        complete = total - len(self.layout.pending(pending, hashes=False))
        note = ""
        if waiting:
            note = (f" ({len(waiting)} still being written after {timeout:.0f} s by other tasks;"
                    " `lightpipe verify` checks the result)")
        elif complete < total and self.stop.requested:
            note = f"; stopped ({self.stop.reason}): the same command resumes"
        elif complete < total:
            note = "; run the same command to render the rest"
        return f"lightpipe dataset: {complete}/{total} videos complete in {self.layout.root}{note}"

    def close(self) -> None:
        """Wait for the queued encodes."""
        while True:
            with self._lock:
                if not self._futures:
                    break
                future = self._futures.pop(0)
            future.result()
        if self._pool is not None:
            self._pool.shutdown(wait=True)
            self._pool = None

    def write_video(self, result: VideoResult) -> VideoMeta:
        """Encode and commit every file of one video, then its metadata (the commit marker)."""
        spec, video = result.spec, result.video
        directory = self.layout.video_dir(spec.index)
        stem = self.layout.stem(spec.index)
        with writing(directory):
            directory.mkdir(parents=True, exist_ok=True)
            for stale in directory.glob(f".{stem}*"):
                if is_stale_temp(stale):  # a dead writer's; a live one's is its own business
                    stale.unlink(missing_ok=True)

        context = WriteContext(
            spec=spec, fps=spec.fps, h264=self.h264,
            keyframe_interval=self.h264.keyframe_interval,
            depth_normalization=self.encoder.depth_normalization,
            file_name=lambda modality: self.layout.video_file(spec.index, modality).name)
        files, records = {}, {}
        committed: list = []
        for output in selected(self.outputs):  # registry order
            with self._uncommitted_on_error(committed):
                encoded = output.encode(video, context)
            for modality, encode in encoded.files.items():
                final = self.layout.video_file(spec.index, modality)
                with self._uncommitted_on_error(committed), writing(final), \
                        atomic_path(final) as tmp:
                    encode(tmp)
                    files[final.name] = FileEntry(modality=modality, **file_digest(tmp))
                committed.append(final)
            if encoded.record is not None:
                records[output.name] = encoded.record
        meta = self._metadata(spec, video, files, records)
        meta_file = self.layout.meta_file(spec.index)
        with self._uncommitted_on_error(committed), writing(meta_file):
            write_json(meta_file, meta.to_dict())
        record = self.layout.failure_file(spec.index)
        if record.exists():  # unlink asks for write access even to a missing file (EROFS)
            record.unlink()
        return meta

    @staticmethod
    @contextlib.contextmanager
    def _uncommitted_on_error(committed: list):
        """On an error, remove the files this attempt already committed: a video on disk is
        complete or absent (and a full disk gets its space back)."""
        try:
            yield
        except Exception:
            for path in committed:
                with contextlib.suppress(OSError):
                    path.unlink(missing_ok=True)
            raise

    def _write_guarded(self, result: VideoResult) -> None:
        try:
            meta = self.write_video(result)
            with self._lock:
                self.rendered.append(result.spec.index)
                self.written_bytes += sum(entry.bytes for entry in meta.files.values())
            if self.progress is not None:
                self.progress.video_done()
        except StorageRefused as refused:  # every further video would fail the same way
            self._stop_on_storage(result.spec.index, refused)
        except Exception:  # one video's failure must not stop the others
            self._record_failure(result.spec.index, traceback.format_exc())
        finally:
            self._slots.release()

    def _stop_on_storage(self, index: int, refused: StorageRefused) -> None:
        """Stop the task (no further videos are started) and say why once; the queued videos
        that meet the same error are recorded without a word."""
        with self._lock:
            first, self._refused = self._refused is None, self._refused or refused
        self.stop.request(refused.reason)
        if first:
            print(f"lightpipe task {self.task}: {refused}; stopping. {refused.hint}",
                  file=sys.stderr, flush=True)
        self._record_failure(index, f"{refused}\n", quiet=True)

    def _record_failure(self, index: int, error: str, quiet: bool = False) -> None:
        with self._lock:
            self.failed.append(index)
        if not quiet:
            print(f"lightpipe: video {index} failed:\n{error}", file=sys.stderr, flush=True)
        path = self.layout.failure_file(index)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write_bytes(path, f"video {index}\n{error}".encode())
        except OSError as exc:  # e.g. the disk is full: the summary must still come
            with self._lock:
                first, self._records_unwritable = not self._records_unwritable, True
            if first:
                print(f"lightpipe task {self.task}: cannot write the failure record {path}: "
                      f"{os.strerror(exc.errno) if exc.errno else exc}; failed videos are "
                      "listed in the summary below and redone by the same command",
                      file=sys.stderr, flush=True)

    def _metadata(self, spec: VideoSpec, video: RenderedVideo, files: dict[str, FileEntry],
                  records: dict) -> VideoMeta:
        return VideoMeta(
            format_version=FORMAT_VERSION,
            index=spec.index,
            split=spec.split,
            spec=spec,
            camera=CameraMeta(convention=CAMERA_CONVENTION,
                              intrinsics=video.intrinsics.tolist(),
                              extrinsics=video.extrinsics.tolist(),
                              width=spec.width, height=spec.height),
            video=EncodingMeta(width=spec.width, height=spec.height, num_frames=spec.num_frames,
                               fps=spec.fps, codec="h264", pix_fmt="yuv420p",
                               preset=self.h264.preset, crf=self.h264.crf,
                               x264_threads=self.h264.threads,
                               keyframe_interval=self.h264.keyframe_interval),
            files=files,
            render_device=self.device_type,
            identity_sha256=self.layout.identity_sha256,
            physics=video.physics,
            outputs=records,
            versions={
                "lightpipe": lightpipe.__version__, "torch": torch.__version__,
                "lightning": lightning.__version__, "av": av.__version__,
                "numpy": np.__version__, "python": platform.python_version(),
            },
        )

