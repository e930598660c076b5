"""What `assets.yaml` declares (`assets.metadata`), applied to a video's planned objects after
their random draws, so the draws (and every other choice of the video) stay the same."""

from __future__ import annotations

import math
from dataclasses import replace

from lightpipe.assets.metadata import object_metadata
from lightpipe.assets.object_size import declared_radius
from lightpipe.planning.specs import BodySpec, ObjectSpec

CLEARANCE_STEP = 0.05  # metres an overlapping object moves outwards per step


def declared_objects(objects: tuple[ObjectSpec, ...], root: str | None,
                     max_triangles: int) -> tuple[ObjectSpec, ...]:
    """`objects` with their assets' declared sizes and categories: an object with a `size`
    keeps its real size (its `scale`, drawn from `object_scale` as for every object, becomes
    its bounding-sphere radius in metres) and carries its declared `category`. Where a new size
    makes an object's ground circle overlap an earlier one's, it moves straight away from the
    centre in CLEARANCE_STEP steps until it is clear (no random draw). `max_triangles` is the
    budget meshes are checked against (`settings.assets.max_triangles`)."""
    if root is None:
        return objects
    out, resized = [], False
    for obj in objects:
        radius = declared_radius(root, obj.asset_id, max_triangles)
        category = object_metadata(root, obj.asset_id).category
        if radius is not None and radius != obj.scale:
            obj, resized = replace(obj, scale=radius), True
        if category is not None:
            obj = replace(obj, category=category)
        out.append(obj)
    return _cleared(out) if resized else tuple(out)


def declared_body(body: BodySpec, root: str | None, asset_id: str) -> BodySpec:
    """`body` (drawn from its material's family) with the asset's declared `density`, `mass`,
    `friction` and `restitution` in place of the drawn values."""
    declared = object_metadata(root, asset_id)
    changes = {key: getattr(declared, key) for key in ("density", "mass", "friction",
                                                       "restitution")
               if getattr(declared, key) is not None}
    return replace(body, **changes) if changes else body


def _cleared(objects: list[ObjectSpec]) -> tuple[ObjectSpec, ...]:
    placed: list[ObjectSpec] = []
    for obj in objects:
        x, y, z = obj.position
        distance = math.hypot(x, z)
        dx, dz = (x / distance, z / distance) if distance > 1e-9 else (1.0, 0.0)
        steps = 0
        while not all((x - o.position[0]) ** 2 + (z - o.position[2]) ** 2
                      >= (obj.scale + o.scale) ** 2 for o in placed):
            steps += 1
            x, z = obj.position[0] + steps * CLEARANCE_STEP * dx, \
                obj.position[2] + steps * CLEARANCE_STEP * dz
        if steps:
            obj = replace(obj, position=(x, y, z))
        placed.append(obj)
    return tuple(placed)
