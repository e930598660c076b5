"""`GeneratedVideoDataModule`: a generated dataset's train/val videos as clip batches."""

from __future__ import annotations

import copy
from collections.abc import Iterator, Sequence

from lightning.pytorch import LightningDataModule
from lightning.pytorch.overrides.distributed import UnrepeatedDistributedSampler
from lightning.pytorch.utilities import rank_zero_warn
from torch.utils.data import DataLoader, DistributedSampler

from lightpipe.datamodule.batches import ClipLoader
from lightpipe.datamodule.clips import DEFAULT_OUTPUTS, MODALITIES, ClipDataset
from lightpipe.dataset.clip_span import (
    DEFAULT_CLIP_LENGTH,
    DEFAULT_FRAME_STRIDE,
    check_clip_span,
    clip_span,
)
from lightpipe.dataset.index import DatasetError, DatasetIndex, VideoRecord
from lightpipe.errors import ConfigError


class EpochKeySampler(DistributedSampler):
    """The train sampler: a DistributedSampler (shuffled by seed and epoch, padded so every rank
    runs the same number of steps) whose keys carry the epoch: `(epoch, position)`.

    Lightning calls `set_epoch` on a DataLoader's sampler at the start of every epoch (as for any
    DistributedSampler), and the epoch then travels with each key into the worker that loads it,
    so clip offsets follow the epoch with no shared state, also with persistent workers. Being a
    DistributedSampler already, Lightning never wraps it in another one.
    """

    def __iter__(self) -> Iterator[tuple[int, int]]:
        epoch = self.epoch
        return ((epoch, position) for position in super().__iter__())


class GeneratedVideoDataModule(LightningDataModule):
    """Clips of a `lightpipe predict` dataset: train clips at random offsets, val from frame 0.

    Args:
        root: the dataset directory (`settings.output_dir` of the generating run).
        clip_length: frames per clip.
        frame_stride: step between a clip's frames (1 = consecutive).
        size: (H, W) output; frames are resized to cover it and center-cropped (aspect kept).
        outputs: modalities to load, from MODALITIES.
        seed: train clip offsets come from SeedSequence([seed, epoch, video index]).
        tasks: VACE control tasks (`lightpipe.dataset.vace.tasks.TASKS`): each item then also
            holds `task`, `video`, `control`, `mask`, `reference` and `has_reference` for one
            of them, drawn per item with its choices from (seed, epoch, video index), computed
            from the stored ground truth.
    """

    def __init__(self, root: str, clip_length: int = DEFAULT_CLIP_LENGTH,
                 frame_stride: int = DEFAULT_FRAME_STRIDE,
                 size: tuple[int, int] | None = None, batch_size: int = 2, num_workers: int = 0,
                 outputs: Sequence[str] = DEFAULT_OUTPUTS, seed: int = 0,
                 tasks: Sequence[str] | None = None) -> None:
        super().__init__()
        _check_int("clip_length", clip_length, 1)
        _check_int("frame_stride", frame_stride, 1)
        _check_int("batch_size", batch_size, 1)
        _check_int("num_workers", num_workers, 0)
        _check_int("seed", seed, 0)
        self.size = _checked_size(size)
        self.outputs = _checked_outputs(outputs)
        self.tasks = _checked_tasks(tasks, frame_stride)
        self.root, self.seed = str(root), seed
        self.clip_length, self.frame_stride = clip_length, frame_stride
        self.batch_size, self.num_workers = batch_size, num_workers
        self.save_hyperparameters()
        self.index = DatasetIndex.open(root)
        if self.index.num_frames is not None:
            self._check_span(self.index.num_frames)
        self.train_dataset: ClipDataset | None = None
        self.val_dataset: ClipDataset | None = None

    @property
    def span(self) -> int:
        """Frames a clip spans, first to last inclusive."""
        return clip_span(self.clip_length, self.frame_stride)

    def setup(self, stage: str) -> None:
        """Index the complete videos (sizes checked, no decoding); one warning for skipped ones."""
        splits = ("train", "val") if stage == "fit" else ("val",)
        videos, incomplete = self.index.complete_videos(splits)
        if incomplete:
            rank_zero_warn(self.index.describe_incomplete(incomplete))
        datasets = {}
        for split in splits:
            if split == "val" and not self.index.indices(split):
                datasets[split] = None  # a one-split dataset (e.g. 1-2 videos): no validation
                continue
            self._check_videos(split, videos[split])
            datasets[split] = ClipDataset(videos[split], self.clip_length, self.frame_stride,
                                          self.size, self.outputs, self.seed,
                                          random_offsets=split == "train",
                                          slots=self._object_slots(videos), tasks=self.tasks)
        self.train_dataset = datasets.get("train", self.train_dataset)
        self.val_dataset = datasets["val"]

    def train_dataloader(self) -> DataLoader:
        world, rank = self._world()
        sampler = EpochKeySampler(self._ready(self.train_dataset, "fit"), num_replicas=world,
                                  rank=rank, shuffle=True, seed=self.seed)
        return self._loader(self.train_dataset, sampler)

    def val_dataloader(self) -> DataLoader:
        """Every val video exactly once over all ranks: strided, unpadded (uneven ranks are fine
        in evaluation; a padded DistributedSampler would repeat videos and bias the metrics)."""
        world, rank = self._world()
        if self.val_dataset is None and not self.index.indices("val"):
            rank_zero_warn(f"{self.root!r} has no val split (dataset_split.train_ratio put all "
                           f"{self.index.layout.num_videos} videos in train): no validation.")
            return []  # Lightning skips validation
        dataset = self._ready(self.val_dataset, "validate")
        if len(dataset) < world:
            raise DatasetError(
                f"{str(self.root)!r} has {len(dataset)} complete val video(s), fewer than the "
                f"{world} processes; each process needs at least one.\n"
                "HINT: use fewer devices, or generate more videos.")
        sampler = UnrepeatedDistributedSampler(dataset, num_replicas=world, rank=rank,
                                               shuffle=False)
        return self._loader(dataset, sampler)

    # --- private ---

    def _loader(self, dataset: ClipDataset, sampler) -> DataLoader:
        if self.num_workers > 0:  # colour clips travel from the workers as uint8 (`batches`)
            dataset = copy.copy(dataset)
            dataset.unit_rgb_as_bytes = True
        return ClipLoader(dataset, batch_size=self.batch_size, sampler=sampler,
                          num_workers=self.num_workers, persistent_workers=self.num_workers > 0)

    def _world(self) -> tuple[int, int]:
        trainer = self.trainer
        return (1, 0) if trainer is None else (trainer.world_size, trainer.global_rank)

    def _ready(self, dataset: ClipDataset | None, stage: str) -> ClipDataset:
        if dataset is None:
            raise RuntimeError(f"call setup({stage!r}) before asking for its dataloader")
        return dataset

    def _check_span(self, num_frames: int) -> None:
        check_clip_span(self.root, self.clip_length, self.frame_stride, num_frames)

    def _object_slots(self, videos: dict[str, list[VideoRecord]]) -> int:
        """Object slots of per-object tensors: the dataset's `settings.scene.max_objects`, or
        (a dataset.json without it) the most objects of any video here."""
        try:
            return int(self.index.info["config"]["settings"]["scene"]["max_objects"])
        except (KeyError, TypeError, ValueError):
            return max((len(v.meta.spec.objects) for vs in videos.values() for v in vs),
                       default=0)

    def _check_task_inputs(self, split: str, videos: list[VideoRecord]) -> None:
        """Every task's ground truth in every video, and objects for the object tasks."""
        from lightpipe.dataset.vace.tasks import TASKS

        for task in self.tasks:
            for need in TASKS[task].needs:
                lacking = [v for v in videos if not MODALITIES[need].present_in(v.meta)]
                if lacking:
                    raise DatasetError(
                        f"`tasks` includes {task!r}, which needs the {need!r} output, and "
                        f"{len(lacking)} {split} video(s) of {self.root!r} do not have it: "
                        f"{self.index.layout.describe([v.index for v in lacking])}.\n"
                        f"HINT: generate the dataset with {need!r} in --settings.outputs, or "
                        f"drop {task!r} from --data.tasks.")
            if TASKS[task].objects and not any(v.meta.spec.objects for v in videos):
                raise DatasetError(
                    f"`tasks` includes {task!r}, which draws an object, and no {split} video "
                    f"of {self.root!r} has one.\nHINT: drop {task!r} from --data.tasks.")

    def _check_videos(self, split: str, videos: list[VideoRecord]) -> None:
        planned = len(self.index.indices(split))
        if not planned:
            raise DatasetError(
                f"{self.root!r} has no {split} split: dataset_split.train_ratio put all "
                f"{self.index.layout.num_videos} videos in val.\n"
                "HINT: generate it with a train_ratio that leaves train videos, e.g. "
                "--settings.dataset_split.train_ratio 0.8.")
        if not videos:
            raise DatasetError(
                f"{self.root!r} has no complete {split} video (of {planned} planned).\n"
                "HINT: finish the dataset: rerun the same `lightpipe predict`; "
                "`lightpipe verify` lists what is missing.")
        self._check_span(min(video.num_frames for video in videos))
        self._check_task_inputs(split, videos)
        for name in self.outputs:
            lacking = [v for v in videos if not MODALITIES[name].present_in(v.meta)]
            if lacking:
                present = ", ".join(o for o, out in MODALITIES.items()
                                    if out.present_in(lacking[0].meta))
                raise DatasetError(
                    f"`outputs` includes {name!r}, but {len(lacking)} {split} video(s) of "
                    f"{self.root!r} do not have it: "
                    f"{self.index.layout.describe([v.index for v in lacking])} "
                    f"(video {self.index.layout.stem(lacking[0].index)} has: {present}).\n"
                    f"HINT: drop {name!r} from --data.outputs, or generate a dataset that "
                    "writes it.")


def _check_int(key: str, value: object, minimum: int) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ConfigError(key, value, f"an integer >= {minimum}")


def _checked_size(size) -> tuple[int, int] | None:
    if size is None:
        return None
    try:
        height, width = size
    except (TypeError, ValueError):
        height = width = None
    if not all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in (height, width)):
        raise ConfigError("size", size, "null (native size) or [height, width], integers >= 1")
    return height, width


def _checked_tasks(tasks: Sequence[str] | None, frame_stride: int) -> tuple[str, ...]:
    from lightpipe.dataset.vace.tasks import TASKS

    if tasks is None:
        return ()
    tasks = _checked_names("tasks", tasks, TASKS, "a VACE task Lightpipe draws",
                           "null or a non-empty list")
    if "flow" in tasks and frame_stride != 1:
        raise ConfigError("tasks", list(tasks), "no 'flow' with frame_stride > 1",
                          hint="the stored flow runs between consecutive frames; use "
                               "frame_stride 1 or drop 'flow'.")
    return tasks


def _checked_outputs(outputs: Sequence[str]) -> tuple[str, ...]:
    return _checked_names("outputs", outputs, MODALITIES, "an output Lightpipe reads",
                          "a non-empty list")


def _checked_names(key: str, names: Sequence[str], known, what: str,
                   expected: str) -> tuple[str, ...]:
    """`names` as a tuple: a non-empty list of distinct names from `known`, else a ConfigError
    naming `key`."""
    allowed = ", ".join(known)
    if isinstance(names, str) or not names:
        raise ConfigError(key, names, f"{expected} of: {allowed}")
    for name in names:
        if name not in known:
            raise ConfigError(key, list(names), f"names from: {allowed}",
                              hint=f"{name!r} is not {what}.")
    if len(set(names)) != len(names):
        raise ConfigError(key, list(names), "each name at most once")
    return tuple(names)
