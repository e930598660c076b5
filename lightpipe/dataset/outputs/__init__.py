"""The output registry: every output a dataset can hold, each defined once (`base.Output`).

`settings.outputs` names outputs from here; the writer encodes the selected ones in registry
order, `VideoMeta` reads and writes their records, `Layout` names and checks their files, and
`preview`, `verify`, `export` and the training reader iterate over them. A new output is a class
in this package and a line in `REGISTRY`.
"""

from __future__ import annotations

from collections.abc import Iterable

from lightpipe.dataset.outputs.base import (
    Encoded,
    Output,
    OutputFile,
    PreviewContext,
    WriteContext,
)
from lightpipe.dataset.outputs.depth import Depth
from lightpipe.dataset.outputs.images import Color, DepthVis
from lightpipe.dataset.outputs.labels import Normals, Segmentation
from lightpipe.dataset.outputs.motion import Flow, ObjectCoordinates
from lightpipe.dataset.outputs.objects import Objects
from lightpipe.dataset.outputs.references import References
from lightpipe.errors import ConfigError

# Registry order is the order files are written, listed and shown.
REGISTRY: dict[str, Output] = {output.name: output for output in (
    Color(), DepthVis(), Depth(), Segmentation(), Normals(), Flow(), ObjectCoordinates(),
    Objects(), References(),
)}
# What `settings.outputs` must name (depth_vis comes with depth).
REQUIRED = ("color", "depth")


def output(name: str) -> Output:
    return REGISTRY[name]


def selected(names: Iterable[str]) -> list[Output]:
    """The outputs a dataset with `settings.outputs = names` holds, in registry order: the ones
    every video has, and the ones named."""
    names = set(names)
    return [o for o in REGISTRY.values() if o.always or o.name in names]


def by_modality() -> dict[str, tuple[Output, OutputFile]]:
    """File modality -> (its output, its file)."""
    return {f.modality: (o, f) for o in REGISTRY.values() for f in o.files}


def required_modalities() -> tuple[str, ...]:
    """The files every complete video lists."""
    return tuple(f.modality for o in REGISTRY.values() if o.always for f in o.files)


def frame_bytes(names: Iterable[str]) -> int:
    """Bytes per pixel and frame that a video's arrays hold while it is encoded."""
    return sum(o.bytes_per_pixel for o in selected(names))


def check_outputs(names, num_frames: int, key: str = "settings.outputs") -> None:
    """Refuse (ConfigError naming `key`) an unknown or repeated output, a list without the
    required ones, or an output the video's `num_frames` cannot have (flow needs 2)."""
    allowed = ", ".join(REGISTRY)
    if isinstance(names, str) or not isinstance(names, (list, tuple)):
        raise ConfigError(key, names, f"a list of output names from: {allowed}")
    value = list(names)
    for name in value:
        if name not in REGISTRY:
            raise ConfigError(key, value, f"a list of output names from: {allowed}",
                              f"{name!r} is not an output Lightpipe knows")
    if len(set(value)) != len(value):
        raise ConfigError(key, value, "each output at most once")
    for needed in REQUIRED:
        if needed not in value:
            raise ConfigError(key, value,
                              "a list that includes 'color' and 'depth' (every video has them)")
    for name in value:
        if num_frames < REGISTRY[name].min_frames:
            raise ConfigError(key, value, f"outputs that videos of {num_frames} frame(s) can "
                              f"have: {name!r} needs settings.video.num_frames >= "
                              f"{REGISTRY[name].min_frames}",
                              f"drop {name!r} or raise settings.video.num_frames")


__all__ = ["REGISTRY", "REQUIRED", "Encoded", "Output", "OutputFile", "PreviewContext",
           "WriteContext", "by_modality", "check_outputs", "frame_bytes", "output",
           "required_modalities", "selected"]
