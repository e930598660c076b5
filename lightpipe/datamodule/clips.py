"""Clips of generated videos as tensors (the Dataset behind `GeneratedVideoDataModule`)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch
from torch.utils.data import Dataset
from torchvision import tv_tensors
from torchvision.transforms import InterpolationMode
from torchvision.transforms.v2 import functional as TF

from lightpipe.datamodule.side_by_side import map_outputs
from lightpipe.dataset.clip_span import clip_span
from lightpipe.dataset.index import VideoRecord
from lightpipe.dataset.outputs import REGISTRY, Output
from lightpipe.dataset.outputs.base import channels_first


# The outputs a training item can hold: every registered output that defines reader keys. Each
# decodes and resizes its own (images bilinearly, antialiased; geometry, ids and vectors by
# nearest neighbour, so no value is invented between a near and a far surface).
MODALITIES: dict[str, Output] = {name: o for name, o in REGISTRY.items() if o.reader_keys}
DEFAULT_OUTPUTS = ("color", "depth", "depth_vis")
_INTERPOLATION = {"bilinear": InterpolationMode.BILINEAR,
                  "nearest": InterpolationMode.NEAREST_EXACT}


@dataclass(frozen=True)
class CropGeometry:
    """Resize (H, W) so the frame covers `size`, then center-crop to it (aspect kept)."""

    source: tuple[int, int]
    resized: tuple[int, int]
    top: int
    left: int
    size: tuple[int, int]

    @classmethod
    def fit(cls, source: tuple[int, int], size: tuple[int, int] | None) -> CropGeometry:
        if size is None or tuple(size) == tuple(source):
            return cls(tuple(source), tuple(source), 0, 0, tuple(source))
        (h, w), (out_h, out_w) = source, size
        scale = max(out_h / h, out_w / w)
        resized = (max(out_h, round(h * scale)), max(out_w, round(w * scale)))
        # torchvision's center_crop anchor, so the intrinsics match the pixels exactly.
        top, left = int(round((resized[0] - out_h) / 2.0)), int(round((resized[1] - out_w) / 2.0))
        return cls(tuple(source), resized, top, left, (out_h, out_w))

    @property
    def identity(self) -> bool:
        return self.resized == self.source and self.size == self.source

    def intrinsics(self, k: np.ndarray) -> np.ndarray:
        """K after the resize and crop. Pixel i spans [i, i+1) (centre i + 0.5), as rendered,
        which is also torchvision's resize convention, so coordinates scale exactly."""
        k = np.array(k, dtype=np.float64)
        sy, sx = self.resized[0] / self.source[0], self.resized[1] / self.source[1]
        k[0, :] *= sx
        k[1, :] *= sy
        k[0, 2] -= self.left
        k[1, 2] -= self.top
        return k

    @property
    def scale(self) -> tuple[float, float]:
        """(sx, sy): resized / source width and height (what pixel vectors are multiplied by)."""
        return self.resized[1] / self.source[1], self.resized[0] / self.source[0]

    def apply(self, frames: torch.Tensor, interpolation: InterpolationMode | str
              ) -> torch.Tensor:
        """(T, C, H, W) -> (T, C, size[0], size[1]); `interpolation` "bilinear" (antialiased)
        or "nearest" (exact: torchvision's NEAREST_EXACT), or an InterpolationMode."""
        if self.identity:
            return frames
        interpolation = _INTERPOLATION.get(interpolation, interpolation)
        video = tv_tensors.Video(frames)
        if self.resized != self.source:
            antialias = interpolation == InterpolationMode.BILINEAR
            video = TF.resize(video, list(self.resized), interpolation=interpolation,
                              antialias=antialias)
        return TF.center_crop(video, list(self.size)).as_subclass(torch.Tensor)


class ClipDataset(Dataset):
    """One clip per video. Keys: a position, or `(epoch, position)` from `EpochKeySampler`.

    With `random_offsets`, the clip of a video starts at a frame drawn from
    `SeedSequence([seed, epoch, global index])`: fixed by (seed, epoch), new every epoch, the same
    in any worker or process. Without it (validation) every clip starts at frame 0.
    """

    def __init__(self, videos: Sequence[VideoRecord], clip_length: int, frame_stride: int,
                 size: tuple[int, int] | None, outputs: Sequence[str], seed: int,
                 random_offsets: bool, slots: int | None = None,
                 tasks: Sequence[str] = ()) -> None:
        self.videos = list(videos)
        self.clip_length, self.frame_stride = clip_length, frame_stride
        self.size = None if size is None else (int(size[0]), int(size[1]))
        self.outputs, self.seed, self.random_offsets = tuple(outputs), seed, random_offsets
        self.slots = slots  # object slots of per-object tensors (`objects`)
        self.tasks = tuple(tasks)  # VACE tasks drawn per item (`_task_item`)
        # Where the clip is not resized: colour clips as uint8 for the trip from a DataLoader
        # worker, made floats by `batches.unit_floats` in the main process (the DataModule's
        # loaders set it on their own copy of the dataset).
        self.unit_rgb_as_bytes = False

    def __len__(self) -> int:
        return len(self.videos)

    def frame_indices(self, position: int, epoch: int = 0) -> np.ndarray:
        video = self.videos[position]
        start = 0
        if self.random_offsets:
            rng = np.random.default_rng(np.random.SeedSequence([self.seed, epoch, video.index]))
            span = clip_span(self.clip_length, self.frame_stride)
            start = int(rng.integers(0, video.num_frames - span + 1))
        return start + self.frame_stride * np.arange(self.clip_length)

    def __getitem__(self, key: int | tuple[int, int]) -> dict:
        epoch, position = key if isinstance(key, tuple) else (0, key)
        video = self.videos[position]
        frames = self.frame_indices(position, epoch)
        meta = video.meta
        geometry = CropGeometry.fit(meta.size, self.size)
        files = video.modalities
        read = {}  # output -> its arrays of the clip, each output decoded once per item

        def arrays_of(name: str) -> dict:
            if name not in read:
                read[name] = REGISTRY[name].read(files, meta, frames)
            return read[name]

        def tensors_of(name: str) -> dict:
            if self.unit_rgb_as_bytes and geometry.identity and MODALITIES[name].unit_rgb:
                # uint8, made floats in [0, 1] in the main process (`batches.unit_floats`)
                return {name: torch.from_numpy(channels_first(arrays_of(name)[name]))}
            return MODALITIES[name].tensors(arrays_of(name), geometry, self.slots)

        item = {}
        for tensors in map_outputs(tensors_of, self.outputs).values():  # side by side in the
            item.update(tensors)  # main process, one after the other in a DataLoader worker
        extrinsics = meta.extrinsics[frames]
        if self.tasks:
            item.update(self._task_item(video, frames, geometry, epoch, arrays_of,
                                        item.get("color")))
        item.update(
            intrinsics=torch.from_numpy(geometry.intrinsics(meta.intrinsics)).float(),
            extrinsics=torch.from_numpy(extrinsics).float(),
            index=video.index,
            split=video.split,
            frame_indices=torch.from_numpy(frames).long(),
        )
        return item

    def _task_item(self, video: VideoRecord, frames: np.ndarray, geometry: CropGeometry,
                   epoch: int, arrays_of, color: torch.Tensor | None) -> dict:
        """One VACE task for the clip, drawn with its choices from
        SeedSequence([seed, epoch, global index, TASK_ITEM_STREAM]): `task` (its name), `video`
        (T,3,H,W) in [0, 1], `control` likewise (DiffSynth's `vace_video`), `mask` (T,1,H,W),
        1 where the model generates (all 1 for the control tasks, as VACE without a mask),
        `reference` (3,H,W) in [0, 1]: the reference task's image (`vace_reference_image`),
        white for the other tasks, and `has_reference` saying which. A task the clip cannot
        have (an object task where no object shows) gives way to the next in the drawn order.
        `arrays_of(output)`: the clip's arrays of an output, read once; `color`: the item's
        colour tensor if it has one."""
        from lightpipe.dataset.vace.tasks import make_task, task_needs

        meta = video.meta
        rng = np.random.default_rng(np.random.SeedSequence(
            [self.seed, epoch, video.index, TASK_ITEM_STREAM]))
        for position in rng.permutation(len(self.tasks)):
            name = self.tasks[position]
            arrays = {}
            for output in task_needs([name]):  # only the drawn task's
                arrays.update(arrays_of(output))
            try:
                sample = make_task(name, arrays, meta.spec, rng)
            except ValueError:
                continue
            break
        else:
            raise ValueError(f"video {video.index} can have none of the tasks {self.tasks} "
                             f"(frames {frames.tolist()})")
        control = sample.control if sample.control.flags.writeable else \
            np.ascontiguousarray(sample.control)  # a read-only view of one channel
        control = torch.from_numpy(channels_first(control)).float().div_(255.0)
        if sample.mask is None:
            mask = torch.ones((len(frames), 1, *meta.size))
        else:
            mask = torch.from_numpy(sample.mask[:, None] == 255).float()
        if color is None:
            color = MODALITIES["color"].tensors(arrays_of("color"), geometry)["color"]
        if sample.reference is None:
            reference = torch.ones((3, *geometry.size))
        else:
            image = torch.from_numpy(channels_first(sample.reference[None])).float().div_(255.0)
            reference = geometry.apply(image, "bilinear")[0]
        return {"task": name, "video": color,
                "control": geometry.apply(control, "bilinear"),
                "mask": geometry.apply(mask, "nearest"), "reference": reference,
                "has_reference": sample.reference is not None}


TASK_ITEM_STREAM = 0x7ACE1  # names the training items' task stream (any constant would do)
