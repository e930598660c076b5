"""Exact optical flow, forward and backward, and object coordinates: fixed-point, lossless
16-bit FFV1 (codes and conventions in `dataset.flow_codes`, the renderer's in `render.motion`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightpipe.dataset import flow_codes
from lightpipe.dataset.outputs.base import Encoded, Output, OutputFile, channels_first
from lightpipe.records import Record

FLOW_CONVENTION = (
    "flow_forward[t] at a pixel: (dx, dy) in pixels (x right, y down) from the pixel's centre "
    "of frame t to where the same surface point projects in frame t+1; flow_backward[t]: to "
    "frame t-1. From the rendered surface point, the exact poses of its object and of the "
    "camera at both frame instants (with motion blur too: flow is at the frame instants) and "
    "the intrinsics. Sky and environment: the flow of a direction at infinity (camera "
    "rotation only); a screen-fixed backdrop image: 0.")


@dataclass(frozen=True)
class FlowFileMeta(Record):
    file: str
    codec: str
    pix_fmt: str
    saturated: int  # pixels of this file whose flow was outside the stored range (clipped)


@dataclass(frozen=True)
class FlowMeta(Record):
    """`NNNN_flow_forward.mkv`, `NNNN_flow_backward.mkv`: fixed-point flow and per-pixel flags."""

    forward: FlowFileMeta
    backward: FlowFileMeta
    convention: str
    planes: list[str]
    decode: str
    range_px: list[float]
    flags: dict[str, int]
    visible_tolerance: float

    @classmethod
    def of(cls, forward: FlowFileMeta, backward: FlowFileMeta, tolerance: float) -> FlowMeta:
        scale = flow_codes.FLOW_SCALE
        return cls(
            forward=forward, backward=backward, convention=FLOW_CONVENTION,
            planes=["dx code", "dy code", "flags"],
            decode=f"flow = (code - 32768) / {scale} px (error <= 1/{2 * scale} px); invalid "
                   "pixels (flags & VALID == 0) hold 0",
            range_px=[float(flow_codes.FLOW_MIN), float(flow_codes.FLOW_MAX)],
            flags={"VALID": flow_codes.VALID, "INSIDE": flow_codes.INSIDE,
                   "VISIBLE": flow_codes.VISIBLE, "SATURATED": flow_codes.SATURATED},
            visible_tolerance=tolerance)


@dataclass(frozen=True)
class ObjectCoordinatesMeta(Record):
    """`NNNN_object_coordinates.mkv`: each object pixel's point in its object's box."""

    file: str
    codec: str
    pix_fmt: str
    kind: str
    decode: str

    @classmethod
    def of(cls, file: str, written: OutputFile) -> ObjectCoordinatesMeta:
        return cls(file=file, codec=written.codec, pix_fmt=written.pix_fmt,
                   kind="the surface point in its object's canonical (mesh) frame, normalized to "
                        "the mesh's axis-aligned bounding box (`objects` records its bounds): "
                        "(q - min) / (max - min) per axis, planes x, y, z",
                   decode=f"c = (code - 1) / {flow_codes.OBJECT_LEVELS}; code (0,0,0) = not "
                          "an object (ground, sky, backdrop)")


class Flow(Output):
    name = "flow"
    summary = ("exact optical flow to the next and previous frame, in pixels, with validity, "
               "in-image and visibility (occlusion) flags; fixed point 1/32 px, 16-bit FFV1")
    files = (OutputFile("flow_forward", "_flow_forward.mkv", "matroska", "ffv1", "yuv444p16le"),
             OutputFile("flow_backward", "_flow_backward.mkv", "matroska", "ffv1", "yuv444p16le"))
    min_frames = 2
    renders = ("flow",)
    bytes_per_pixel = 2 * (8 + 1) + 4 + 2 * 6  # the vectors, flags, ids; the coded planes
    meta_path = ("flow",)
    record = FlowMeta
    reader_keys = ("flow_forward", "flow_backward", "flow_forward_valid",
                   "flow_backward_valid", "flow_forward_visible", "flow_backward_visible")
    panel_titles = {"flow": "flow (forward)"}

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.native_output_codes import fast_output_codes
        from lightpipe.dataset.video_codec import encode_planes16_ffv1

        files, records, fast = {}, {}, fast_output_codes()
        for direction, written in zip(("forward", "backward"), self.files):
            planes, saturated = flow_codes.encode_flow(getattr(video, f"flow_{direction}"),
                                                       getattr(video, f"flow_{direction}_flags"),
                                                       fast=fast)
            modality = f"flow_{direction}"
            files[modality] = lambda path, planes=planes: encode_planes16_ffv1(
                path, planes, context.fps, context.keyframe_interval)
            records[direction] = FlowFileMeta(context.file_name(modality), written.codec,
                                              written.pix_fmt, int(saturated))
        return Encoded(files, FlowMeta.of(records["forward"], records["backward"],
                                          flow_codes.VISIBLE_TOLERANCE))

    def read(self, files, meta, frames=None, keys=None):
        """Each direction's flow and flags; only the directions `keys` names (a key starting
        `flow_<direction>`); a direction asked for only as `flow_<direction>_codes` gives its
        stored planes undecoded (`flow_codes.decode_flow`; the VACE flow control decodes them a
        frame at a time)."""
        from lightpipe.dataset.video_reader import read_planes16

        arrays = {}
        for direction in ("forward", "backward"):
            name = f"flow_{direction}"
            if keys is not None and not any(k.startswith(name) for k in keys):
                continue  # not asked for: its file is not decoded
            planes = read_planes16(files[name], frames)
            if keys is not None and all(k == f"{name}_codes" for k in keys
                                        if k.startswith(name)):
                arrays[f"{name}_codes"] = planes
                continue
            arrays[name], arrays[f"{name}_flags"] = flow_codes.decode_flow(planes)
        return arrays

    def tensors(self, arrays, geometry, slots=None):
        import torch

        sx, sy = geometry.scale
        item = {}
        for direction in ("forward", "backward"):
            flow = torch.from_numpy(channels_first(arrays[f"flow_{direction}"]))
            flow = geometry.apply(flow, "nearest")
            flow[:, 0] *= sx  # pixels of the returned frames
            flow[:, 1] *= sy
            flags = torch.from_numpy(arrays[f"flow_{direction}_flags"][:, None].copy())
            flags = geometry.apply(flags, "nearest")
            valid = (flags & flow_codes.VALID).bool() & ~(flags & flow_codes.SATURATED).bool()
            item[f"flow_{direction}"] = flow
            item[f"flow_{direction}_valid"] = valid
            item[f"flow_{direction}_visible"] = valid & (flags & flow_codes.VISIBLE).bool()
        return item

    def panels(self, arrays, context):
        from lightpipe.dataset.flow_colors import flow_to_rgb, wheel_image

        flow, flags = arrays["flow_forward"], arrays["flow_forward_flags"]
        valid = (flags & flow_codes.VALID) > 0
        radius = float(np.max(np.hypot(flow[..., 0], flow[..., 1])[valid], initial=0.0))
        rgb = np.stack([flow_to_rgb(f, max(radius, 1e-6), v) for f, v in zip(flow, valid)])
        legend = wheel_image(max(8, min(rgb.shape[1], rgb.shape[2]) // 4))
        rgb[:, :legend.shape[0], :legend.shape[1]] = legend  # the key, top left
        return {"flow": rgb}


class ObjectCoordinates(Output):
    name = "object_coordinates"
    summary = ("each object pixel's point in its object's canonical frame, normalized to its "
               "bounding box, 16-bit per axis (lossless FFV1); 0 on ground and sky")
    files = (OutputFile("object_coordinates", "_object_coordinates.mkv", "matroska", "ffv1",
                        "yuv444p16le"),)
    renders = ("object_coordinates",)
    bytes_per_pixel = 12 + 4 + 6
    meta_path = ("object_coordinates",)
    record = ObjectCoordinatesMeta
    reader_keys = ("object_coordinates", "object_coordinates_valid")
    panel_titles = {"object_coordinates": "object coordinates"}

    def encode(self, video, context) -> Encoded:
        from lightpipe.dataset.native_output_codes import fast_output_codes
        from lightpipe.dataset.video_codec import encode_planes16_ffv1

        codes = flow_codes.encode_object_coordinates(video.object_coordinates,
                                                     video.segmentation >= 2,
                                                     fast=fast_output_codes())
        return Encoded({"object_coordinates": lambda path: encode_planes16_ffv1(
            path, codes, context.fps, context.keyframe_interval)},
            ObjectCoordinatesMeta.of(context.file_name("object_coordinates"), self.files[0]))

    def read(self, files, meta, frames=None, keys=None):
        from lightpipe.dataset.video_reader import read_planes16

        coords, mask = flow_codes.decode_object_coordinates(
            read_planes16(files["object_coordinates"], frames))
        return {"object_coordinates": coords, "object_coordinates_mask": mask}

    def tensors(self, arrays, geometry, slots=None):
        import torch

        coords = torch.from_numpy(channels_first(arrays["object_coordinates"]))
        mask = torch.from_numpy(arrays["object_coordinates_mask"][:, None].astype(np.uint8))
        return {"object_coordinates": geometry.apply(coords, "nearest"),
                "object_coordinates_valid": geometry.apply(mask, "nearest").bool()}

    def panels(self, arrays, context):
        coords = arrays["object_coordinates"]
        mask = arrays.get("object_coordinates_mask")
        rgb = np.floor(np.clip(coords, 0.0, 1.0) * 255.0 + 0.5).astype(np.uint8)
        if mask is not None:
            rgb[~mask] = 0
        return {"object_coordinates": rgb}
