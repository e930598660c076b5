"""Per-pixel labels of the surface seen: instance segmentation ids and camera-space normals."""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lightpipe.assets.categories import object_category
from lightpipe.dataset.outputs.base import Encoded, Output, OutputFile, channels_first
from lightpipe.records import OMIT_IF_NONE, Record

# Segmentation ids 1, 2, ... cycle through these colours in `preview`; id 0 (nothing) is black.
PALETTE = np.array([
    (230, 25, 75), (60, 180, 75), (255, 225, 25), (0, 130, 200), (245, 130, 48),
    (145, 30, 180), (70, 240, 240), (240, 50, 230), (210, 245, 60), (250, 190, 212),
    (0, 128, 128), (220, 190, 255), (170, 110, 40), (255, 250, 200), (128, 0, 0),
    (170, 255, 195), (128, 128, 0), (255, 215, 180), (0, 0, 128), (255, 255, 255),
], dtype=np.uint8)


@dataclass(frozen=True)
class SegmentationMeta(Record):
    """`NNNN_segmentation.mkv`: instance ids; `ids` names each (2 + k is spec.objects[k]).

    `categories` gives each object id's category label (those that have one,
    `assets.categories`) where an object of the video has one declared in `assets.yaml`;
    otherwise it is left out (each object's category is then its asset id's, as the `objects`
    record lists it)."""

    file: str
    codec: str
    pix_fmt: str
    ids: dict[str, str]
    note: str
    categories: dict[str, str] | None = field(default=None, metadata=OMIT_IF_NONE)

    @classmethod
    def of(cls, file: str, spec) -> SegmentationMeta:
        ids = {"0": "no surface (sky or backdrop)", "1": "ground"}
        ids.update({str(k + 2): obj.asset_id for k, obj in enumerate(spec.objects)})
        categories = None
        if any(obj.category is not None for obj in spec.objects):
            labels = {str(k + 2): object_category(obj) for k, obj in enumerate(spec.objects)}
            categories = {key: label for key, label in labels.items() if label is not None}
        return cls(file=file, codec="ffv1", pix_fmt="gray16le", ids=ids,
                   note="id 2 + k is spec.objects[k]", categories=categories)


@dataclass(frozen=True)
class NormalsMeta(Record):
    """`NNNN_normals.mkv`: camera-space unit normals as 8-bit RGB."""

    file: str
    codec: str
    pix_fmt: str
    kind: str
    decode: str

    @classmethod
    def of(cls, file: str) -> NormalsMeta:
        return cls(file=file, codec="ffv1", pix_fmt="bgr0 (decode as RGB)",
                   kind="camera-space unit normals (OpenCV axes), turned towards the camera",
                   decode="n = rgb / 127.5 - 1; rgb (0,0,0) = no surface")


class Segmentation(Output):
    name = "segmentation"
    summary = "instance ids per pixel: 0 no surface, 1 ground, 2 + k object k; uint16, FFV1"
    files = (OutputFile("segmentation", "_segmentation.mkv", "matroska", "ffv1", "gray16le"),)
    renders = ("segmentation",)
    bytes_per_pixel = 4
    meta_path = ("segmentation",)
    record = SegmentationMeta
    reader_keys = ("segmentation",)

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.video_codec import encode_gray16_ffv1

        return Encoded(
            {"segmentation": lambda path: encode_gray16_ffv1(
                path, video.segmentation, context.fps, context.keyframe_interval)},
            SegmentationMeta.of(context.file_name("segmentation"), context.spec))

    def read(self, files, meta, frames=None, keys=None):
        from lightpipe.dataset.video_reader import read_gray16

        return {"segmentation": read_gray16(files["segmentation"], frames)}

    def tensors(self, arrays, geometry, slots=None):
        import torch

        ids = torch.from_numpy(channels_first(arrays["segmentation"]).astype(np.int64))
        return {"segmentation": geometry.apply(ids, "nearest")}  # (T,1,H,W) int64

    def panels(self, arrays, context):
        return {"segmentation": segmentation_panels(arrays["segmentation"])}


class Normals(Output):
    name = "normals"
    summary = "camera-space unit normals (OpenCV axes) as 8-bit RGB, FFV1"
    files = (OutputFile("normals", "_normals.mkv", "matroska", "ffv1", "bgr0"),)
    renders = ("normals",)
    bytes_per_pixel = 12
    meta_path = ("normals",)
    record = NormalsMeta
    reader_keys = ("normals",)

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.native_output_codes import fast_output_codes
        from lightpipe.dataset.video_codec import encode_rgb_ffv1

        codes = encode_normals(video.normals, fast=fast_output_codes())
        return Encoded(
            {"normals": lambda path: encode_rgb_ffv1(path, codes, context.fps,
                                                     context.keyframe_interval)},
            NormalsMeta.of(context.file_name("normals")))

    def read(self, files, meta, frames=None, keys=None):
        """`normals` (..., 3) float32; or, where `keys` asks for `normal_codes` and not
        `normals`, the stored uint8 codes (decoded by `decode_normals` where needed: the VACE
        scribble control decodes a frame at a time)."""
        from lightpipe.dataset.video_reader import read_rgb

        codes = read_rgb(files["normals"], frames)
        if keys is not None and "normals" not in keys and "normal_codes" in keys:
            return {"normal_codes": codes}
        return {"normals": decode_normals(codes)}

    def tensors(self, arrays, geometry, slots=None):
        import torch

        return {"normals": geometry.apply(torch.from_numpy(channels_first(arrays["normals"])),
                                          "nearest")}  # (T,3,H,W) float32, 0 = no surface

    def panels(self, arrays, context):
        return {"normals": normal_panels(arrays["normals"], context.depth)}


NORMAL_SCALE = 127.5  # codes 0..255 span n in [-1, 1]


def encode_normals(normals: np.ndarray, fast=None) -> np.ndarray:
    """Unit normals (F,H,W,3) float -> uint8 round((n + 1) * 127.5); zero vectors -> (0,0,0).

    code = clip(floor((n + 1) * 127.5 + 0.5), 0, 255) in float64 (exact for float32 n). Works
    frame by frame: small temporaries, same bits. `fast` (`native_output_codes.
    fast_output_codes()`) computes the same codes of float32 frames in C. The renderer never
    writes NaN normals (numpy's cast gives them an unspecified code, 0 on x86, as the C does).
    """
    normals = np.asarray(normals)
    if normals.ndim < 2:
        return _encode_normals(normals)
    codes = fast.zeros(normals.shape, np.uint8) if fast else np.empty(normals.shape, np.uint8)
    for frame, out in zip(normals, codes):
        if fast and frame.dtype == np.float32 and frame.shape[-1] == 3:
            fast.normals(frame, NORMAL_SCALE, out)
        else:
            out[...] = _encode_normals(frame)
    return codes


def _encode_normals(normals: np.ndarray) -> np.ndarray:
    codes = np.floor((normals.astype(np.float64) + 1.0) * NORMAL_SCALE + 0.5)
    codes = np.clip(codes, 0, 255).astype(np.uint8)
    codes[~normals.any(axis=-1)] = 0
    return codes


def decode_normals(codes: np.ndarray) -> np.ndarray:
    """uint8 RGB (...,3) -> float32 n = rgb / 127.5 - 1; (0,0,0) (no surface) -> 0. A frame
    at a time into the result: the temporaries stay in cache (~3x faster, the same bits)."""
    codes = np.asarray(codes, np.uint8)
    normals = np.empty(codes.shape, np.float32)
    flat_codes = codes.reshape(-1, *codes.shape[-3:]) if codes.ndim > 3 else codes[None]
    flat = normals.reshape(flat_codes.shape)
    for frame, out in zip(flat_codes, flat):
        np.divide(frame, np.float32(127.5), out=out, dtype=np.float32)
        out -= np.float32(1.0)
        empty = (frame[..., 0] | frame[..., 1] | frame[..., 2]) == 0
        np.copyto(out, np.float32(0.0), where=empty[..., None])
    return normals


def segmentation_panels(ids: np.ndarray) -> np.ndarray:
    """Integer ids (F,H,W) -> RGB with a fixed colour per id; 0 = black."""
    ids = np.asarray(ids).astype(np.int64)
    rgb = PALETTE[(np.maximum(ids, 1) - 1) % len(PALETTE)]
    rgb[ids <= 0] = 0
    return rgb


def normal_panels(normals: np.ndarray, depth: np.ndarray | None = None) -> np.ndarray:
    """Normals (F,H,W,3) as RGB: unit vectors map [-1,1] -> [0,255]; uint8 is shown as is.

    Pixels without a surface (depth 0) are black.
    """
    normals = np.asarray(normals)
    if normals.dtype == np.uint8:
        rgb = normals.copy()
    else:
        rgb = np.clip(np.floor((normals.astype(np.float32) * 0.5 + 0.5) * 255 + 0.5), 0, 255)
        rgb = rgb.astype(np.uint8)
    if depth is not None and depth.shape == rgb.shape[:3]:
        rgb[depth <= 0] = 0
    return rgb
