"""An object asset's category label, from its id alone (no file is read).

* Built-in objects (`builtin:<family>/<nn>`): the family, the shape's name (`box`, `torus`, ...).
* User meshes laid out as `objects/<category>/...` (e.g. `user:objects/chair/ikea_01.glb`,
  or ShapeNet's `objects/<synset>/<model>/models/model_normalized.obj`): the first folder
  under `objects/`. Meshes directly in `objects/` have no category (None).
"""

from __future__ import annotations

from lightpipe.assets.builtin_ids import asset_family
from lightpipe.assets.catalog import USER_PREFIX

OBJECTS_FOLDER = "objects/"


def asset_category(asset_id: str) -> str | None:
    """The category of an object asset id, or None when its id names none."""
    if asset_id.startswith(USER_PREFIX):
        relative = asset_id[len(USER_PREFIX):]
        if not relative.startswith(OBJECTS_FOLDER):
            return None
        folders = relative[len(OBJECTS_FOLDER):].split("/")[:-1]
        return folders[0] if folders and folders[0] else None
    return asset_family(asset_id) or None
