"""An object asset's category label.

* Built-in objects (`builtin:<family>/<nn>`): the family, the shape's name (`box`, `torus`, ...).
* User objects: the `category` that `assets.yaml` declares (`metadata`); else, laid out as
  `objects/<category>/...` (e.g. `user:objects/chair/ikea_01.glb`, or ShapeNet's
  `objects/<synset>/<model>/models/model_normalized.obj`), the first folder under `objects/`.
  Meshes directly in `objects/`, and object folders directly in it (`objects/mug/meshes/
  model.obj`: the folder names the object, not its kind), have no category (None).
"""

from __future__ import annotations

from lightpipe.assets.builtin_ids import asset_family
from lightpipe.assets.catalog import USER_PREFIX
from lightpipe.assets.metadata import object_metadata
from lightpipe.assets.object_folders import FOLDER_MARKERS

OBJECTS_FOLDER = "objects/"


def asset_category(asset_id: str, root: str | None = None) -> str | None:
    """The category of an object asset, or None when it has none. With the assets `root`, a
    category its `assets.yaml` declares comes first; without, the id alone decides."""
    if asset_id.startswith(USER_PREFIX):
        declared = object_metadata(root, asset_id).category
        if declared is not None:
            return declared
        relative = asset_id[len(USER_PREFIX):]
        if not relative.startswith(OBJECTS_FOLDER):
            return None
        folders = relative[len(OBJECTS_FOLDER):].split("/")[:-1]
        if len(folders) > 1 and folders[1] in FOLDER_MARKERS:  # an object folder's own name
            return None
        return folders[0] if folders and folders[0] else None
    return asset_family(asset_id) or None


def object_category(obj) -> str | None:
    """The category of a planned object (`ObjectSpec`): the label its spec carries (declared
    in `assets.yaml` when it was planned), else its asset id's."""
    return getattr(obj, "category", None) or asset_category(obj.asset_id)
