"""Assets: built-in procedural objects and materials, and a user's own files, by stable id."""

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, BUILTIN_OBJECT_IDS, asset_family
from lightpipe.assets.catalog import AssetError, Catalog, build_catalog, catalog_for
from lightpipe.assets.environments import load_environment_image
from lightpipe.assets.loader import load_material, load_object, validate_catalog
from lightpipe.assets.materials import MaterialMaps, material_maps, material_texture
from lightpipe.assets.procedural import Mesh, object_mesh

__all__ = ["BUILTIN_MATERIAL_IDS", "BUILTIN_OBJECT_IDS", "AssetError", "Catalog", "MaterialMaps",
           "Mesh", "asset_family", "build_catalog", "catalog_for", "load_environment_image",
           "load_material", "load_object", "material_maps", "material_texture", "object_mesh",
           "validate_catalog"]
