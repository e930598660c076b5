"""What an output is: `Output`, the one definition the writer, `VideoMeta`, `Layout.check`,
`verify`, `preview`, `export` and the training reader all read.

An output has a name (what `settings.outputs` and the reader's `outputs` say), the files it
writes (`OutputFile`: suffix, container, codec, pixel format), the renderer products it needs
(`renders`: `RenderOptions` flags), its record in `NNNN.json` (`meta_path`, `record`), and four
behaviours, each between the same "arrays" (numpy, at the rendered size, named as the
`RenderedVideo` fields):

- `encode(video, context)`: arrays of a rendered video -> its files and its record;
- `read(files, meta, frames)`: its files -> the arrays (what the renderer produced, decoded);
- `tensors(arrays, geometry)`: arrays -> the training item's tensors, resized and cropped;
- `panels(arrays, context)`: arrays -> `preview` columns (uint8 RGB).

PyAV (FFmpeg) and torch are imported inside the behaviours: naming and checking outputs, as
validating a config does, loads neither.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from lightpipe.records import Record


@dataclass(frozen=True)
class OutputFile:
    """One file of an output: `NNNN<suffix>`, listed as `modality` in the JSON's `files`."""

    modality: str
    suffix: str
    container: str  # "mp4" or "matroska"
    codec: str  # "h264" or "ffv1"
    pix_fmt: str


@dataclass(frozen=True)
class WriteContext:
    """What encoding a video's outputs needs beyond its arrays."""

    spec: Any  # planning.specs.VideoSpec
    fps: int
    h264: Any  # video_codec.H264Options (x264 settings, pinned threads)
    keyframe_interval: int
    depth_normalization: str  # "per_video" or "per_frame"
    file_name: Callable[[str], str]  # modality -> the file's name in the video folder


@dataclass(frozen=True)
class Encoded:
    """An output's files (modality -> a function writing it to a path) and its JSON record."""

    files: dict[str, Callable[[Path], None]] = field(default_factory=dict)
    record: Record | None = None


@dataclass(frozen=True)
class PreviewContext:
    """What drawing preview panels needs beyond the arrays."""

    depth_normalization: str
    depth: np.ndarray | None  # (F,H,W) metric depth (0 = no surface), to black out the sky
    frames: int = 0  # the frames a panel has (F)


class Output:
    """One output of a dataset. Subclasses set the class attributes and the behaviours."""

    name: ClassVar[str]
    summary: ClassVar[str]  # one line for `--help`-style listings and the output docs
    files: ClassVar[tuple[OutputFile, ...]] = ()
    always: ClassVar[bool] = False  # every video has it, whatever settings.outputs says
    min_frames: ClassVar[int] = 1  # videos need at least this many frames for it
    renders: ClassVar[tuple[str, ...]] = ()  # `RenderOptions` flags it needs
    bytes_per_pixel: ClassVar[int] = 0  # per frame, held in memory while a video is encoded
    meta_path: ClassVar[tuple[str, ...] | None] = None  # where its record sits in NNNN.json
    record: ClassVar[type[Record] | None] = None
    # A large record (per object and frame) parsed only when asked for: indexing a dataset
    # reads every NNNN.json, and most readers never need it (`VideoMeta.from_json`).
    lazy_record: ClassVar[bool] = False
    reader_keys: ClassVar[tuple[str, ...]] = ()  # keys it adds to a training item
    # its item tensor is an RGB clip in [0, 1], x / 255 of uint8 codes (`images._unit_rgb`):
    # with DataLoader workers it travels as those codes (`datamodule.batches`)
    unit_rgb: ClassVar[bool] = False
    panel_titles: ClassVar[dict[str, str]] = {}  # preview column -> caption, where not its name
    # `export --format diffsynth`: file modality -> the metadata CSV's column for it.
    diffsynth_columns: ClassVar[dict[str, str]] = {}

    def encode(self, video, context: WriteContext) -> Encoded:
        raise NotImplementedError

    def read(self, files: dict[str, Path], meta, frames: Sequence[int] | None = None,
             keys: Collection[str] | None = None) -> dict[str, np.ndarray]:
        """Its arrays decoded from `files` (modality -> path), `frames` only (default all).
        `keys`: the arrays the caller uses (default all); an output may then skip decoding a
        file none of them comes from (flow: one direction)."""
        raise NotImplementedError

    def tensors(self, arrays: dict[str, np.ndarray], geometry, slots: int | None = None
                ) -> dict[str, Any]:
        """The training item's tensors: (T, C, H', W') after `geometry` (`CropGeometry`).
        `slots`: how many objects per-object tensors hold (the dataset's most objects per
        video), so that items of different videos batch together."""
        raise NotImplementedError

    def panels(self, arrays: dict[str, np.ndarray], context: PreviewContext
               ) -> dict[str, np.ndarray]:
        """`preview` columns: title -> (F,H,W,3) uint8. None by default."""
        return {}

    def present_in(self, meta) -> bool:
        """Whether a video has this output: its `VideoMeta` lists the output's files (or, for
        an output without files, holds its record)."""
        if not self.files:
            return self.name in meta.outputs
        listed = {entry.modality for entry in meta.files.values()}
        return all(m in listed for m in self.modalities)

    @property
    def modalities(self) -> tuple[str, ...]:
        return tuple(f.modality for f in self.files)

    def __repr__(self) -> str:
        return f"<output {self.name}>"


def channels_first(array: np.ndarray) -> np.ndarray:
    """(T,H,W) -> (T,1,H,W); (T,H,W,C) -> (T,C,H,W)."""
    return array[:, None] if array.ndim == 3 else np.moveaxis(array, -1, 1)
