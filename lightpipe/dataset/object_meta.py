"""Per-object, per-frame annotations of one video (Kubric MOVi's "instances"): the records that
`NNNN.json` holds for them, so readers parse them without the renderer.

Every per-frame field is a tuple with one entry per frame (frame k at time k / fps, the centre
of its shutter). Floats are the float64 values as computed, unrounded: `json` writes the
shortest repr, which reads back to the same bits, so `from_dict(json.loads(json.dumps(
to_dict())))` equals the record.
"""

from __future__ import annotations

from dataclasses import dataclass

from lightpipe.records import Record

Vec3 = tuple[float, float, float]
PixelBox = tuple[int, int, int, int]  # x0, y0, x1, y1 (pixel edges; x1, y1 exclusive)
EdgeBox = tuple[float, float, float, float]  # x0, y0, x1, y1 (pixel-edge coordinates)
Quaternion = tuple[float, float, float, float]  # w, x, y, z

OBJECTS_CONVENTION = (
    "Pixel-edge image coordinates: pixel (i, j) spans [i, i+1) x [j, j+1), x right, y down, so "
    "a box [x0, y0, x1, y1] covers x0 <= x < x1; world and camera axes as the camera's "
    "extrinsics (OpenCV: camera x right, y down, z forward; world y up); metres, seconds, "
    "m/s and rad/s; quaternions [w, x, y, z] with w >= 0 (rotation only, no scale), "
    "object -> world; velocities in world axes; one entry per frame, frame k at t = k / fps "
    "(the centre of its shutter); box_3d corner c is (x[c>>2&1], y[c>>1&1], z[c&1]) of the "
    "local bounds (0 = min, 1 = max) under the object's pose.")


@dataclass(frozen=True)
class ObjectTrack(Record):
    """One object (spec.objects[id - 2]) through the video.

    `scale` is the object's scale factor from the spec: its mesh is unit-radius (bounding
    sphere of radius 1 about the centre of its bounding box), so `scale` is the object's
    bounding-sphere radius in metres, and `bounds` (the mesh's own axis-aligned box, min and
    max corners, in those unit-radius local coordinates) times `scale` is its size in metres.
    `position` is the mesh origin in the world (the ground-resting shift included).

    `box_visible` is the tight pixel box of the object's segmentation pixels (None where it
    shows no pixel) and `visible_pixels` their count. `box_amodal` is the projection of the
    whole mesh (occluders ignored), cut at the near plane (exactly: faces are clipped there),
    then clipped to the image [0, W] x [0, H]; None when nothing of it is in front of the near
    plane and inside the image. `box_amodal_clipped` is False exactly when the whole mesh is
    in front of the near plane and projects inside the image (True also where the box is None).
    A pixel is segmented when its centre is covered, so `box_visible` may reach up to half a
    pixel beyond `box_amodal` on each side.
    """

    id: int  # the segmentation id: 2 + the index in spec.objects
    asset_id: str
    category: str | None  # the asset's category (`assets.categories`), or None
    scale: float
    bounds: tuple[Vec3, Vec3]
    visible_pixels: tuple[int, ...]
    box_visible: tuple[PixelBox | None, ...]
    box_amodal: tuple[EdgeBox | None, ...]
    box_amodal_clipped: tuple[bool, ...]
    box_3d: tuple[tuple[Vec3, Vec3, Vec3, Vec3, Vec3, Vec3, Vec3, Vec3], ...]  # world corners
    position: tuple[Vec3, ...]
    quaternion: tuple[Quaternion, ...]
    velocity: tuple[Vec3, ...]  # m/s of `position`
    angular_velocity: tuple[Vec3, ...]  # rad/s

    @property
    def num_frames(self) -> int:
        return len(self.position)


@dataclass(frozen=True)
class ObjectsMeta(Record):
    """Every object of a video, in spec order; `convention` says how to read the numbers."""

    convention: str
    objects: tuple[ObjectTrack, ...]
