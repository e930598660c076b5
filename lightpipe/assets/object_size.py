"""How big a user object's mesh is in its own units, and the size in metres its `assets.yaml`
declares: what the planner needs to keep a declared object's real size."""

from __future__ import annotations

import functools
from typing import NamedTuple

from lightpipe.assets.loader import mesh_facts
from lightpipe.assets.metadata import metric_radius, object_metadata
from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES

class MeshExtent(NamedTuple):
    """A mesh file's bounding-sphere radius (about its bounding box's centre) and its largest
    bounding-box dimension, in the file's own units, after the declared up turn (which only
    permutes axes, so neither changes with it)."""

    radius: float
    largest: float


@functools.lru_cache(maxsize=65536)
def object_extent(root: str | None, asset_id: str, max_triangles: int = DEFAULT_MAX_TRIANGLES
                  ) -> MeshExtent:
    """The `MeshExtent` of user object `asset_id`: the one function that reads a mesh for its
    size (the checked facts, kept in the asset cache: a warm start reads no mesh; remembered
    per process, as planning asks for every video)."""
    facts = mesh_facts(root, asset_id, max_triangles)
    return MeshExtent(float(facts["radius"]), float(facts["largest"]))


def declared_radius(root: str | None, asset_id: str,
                    max_triangles: int = DEFAULT_MAX_TRIANGLES) -> float | None:
    """The bounding-sphere radius in metres that `assets.yaml` fixes for `asset_id` (`size`),
    or None where it declares no size (the object is then sized from `object_scale`)."""
    declared = object_metadata(root, asset_id)
    if declared.size is None:
        return None
    return metric_radius(declared, *object_extent(root, asset_id, max_triangles))
