"""Equirectangular HDR environment maps: Radiance `.hdr` and OpenEXR `.exr`, read with FFmpeg.

FFmpeg's own `hdr` and `exr` image decoders (through PyAV, already the project's video library)
give linear float32 RGB; no further dependency, nothing downloaded. EXR files with half or float
channels and the usual compressions (none, RLE, ZIP, PIZ, PXR24, B44, DWA) are read; an alpha
channel is dropped. Images are kept per process (`lightpipe.assets.memory`) and read-only.

Lossy EXR compression leaves a few tiny negatives in real maps (Poly Haven's: down to -0.002
against maxima of 50-35,000; in Blender's night map, -0.0017 against a mean of 0.116, 1.4% of
it). A negative no larger in magnitude than `NEGATIVE_TOLERANCE` times the map's mean is such
noise and is clamped to 0 (renderers clamp them too), counted by `clamped_values`; NaN,
infinities and larger negatives are refused, with their count.
"""

from __future__ import annotations

import os

import numpy as np

from lightpipe.assets.catalog import ENVIRONMENT_SUFFIXES, AssetError
from lightpipe.assets.memory import kept_in_memory

NEGATIVE_TOLERANCE = 0.05  # of the map's mean value: smaller negatives are compression noise
_HINT = ("HINT: use an equirectangular (2:1) Radiance .hdr or OpenEXR .exr with RGB channels, "
         "or remove it from environments/.")


def load_environment_image(path: str) -> np.ndarray:
    """(H, W, 3) float32 linear RGB of an equirectangular map (row 0 = straight up), its
    compression-noise negatives clamped to 0."""
    return _read(path)[0]


def clamped_values(path: str) -> int:
    """How many of the map's values were small negatives clamped to 0 (remembered from the
    read, so asking after the image left the cache does not read the map again)."""
    if path not in _CLAMPED:
        _read(path)
    return _CLAMPED[path]


_CLAMPED: dict[str, int] = {}  # path -> clamped count, of every map read in this process


@kept_in_memory  # with the meshes and images, bounded by settings.assets.mesh_cache_mb
def _read(path: str) -> tuple[np.ndarray, int]:
    if os.path.splitext(path)[1].lower() not in ENVIRONMENT_SUFFIXES:
        raise AssetError(f"environment {path!r} is not a .hdr or .exr file.\n{_HINT}")
    import av  # here: validating a config must not pay for PyAV (FFmpeg) start-up

    try:
        with av.open(path) as container:
            frame = next(container.decode(video=0))
            rgb = frame.to_ndarray(format="gbrpf32le") if frame.format.name != "gbrpf32le" \
                else frame.to_ndarray()
    except av.FFmpegError as exc:
        raise AssetError(f"environment {path!r} cannot be read: it is not a valid "
                         f"{os.path.splitext(path)[1][1:].upper()} image (FFmpeg: "
                         f"{exc.strerror or exc}).\n{_HINT}") from None
    except (StopIteration, ValueError, OSError) as exc:
        raise AssetError(f"environment {path!r} cannot be read: {exc or 'no image in it'}.\n"
                         f"{_HINT}") from None
    image = np.ascontiguousarray(rgb[..., :3], dtype=np.float32)
    height, width = image.shape[:2]
    if width < 8 or height < 4 or abs(width - 2 * height) > 1:
        raise AssetError(f"environment {path!r} is {width}x{height}; an equirectangular map is "
                         f"twice as wide as high.\n{_HINT}")
    finite = np.isfinite(image)
    if not finite.all():
        raise AssetError(f"environment {path!r} has {int((~finite).sum())} non-finite values "
                         f"(NaN or infinite).\n{_HINT}")
    negative = image < 0
    clamped = 0
    if negative.any():
        floor = -NEGATIVE_TOLERANCE * float(image.mean(dtype=np.float64))
        large = image < floor
        if large.any():
            raise AssetError(
                f"environment {path!r} has {int(large.sum())} negative values below {floor:.3g} "
                f"(down to {float(image.min()):.3g}; {NEGATIVE_TOLERANCE:.0%} of the map's mean "
                f"is the most that is taken for compression noise and clamped).\n{_HINT}")
        clamped = int(negative.sum())
        image = np.maximum(image, np.float32(0.0))
    image.setflags(write=False)
    _CLAMPED[path] = clamped
    return image, clamped
