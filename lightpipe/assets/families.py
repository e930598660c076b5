"""The physical material family of a material id: what friction, restitution and density an
object or the ground gets (ranges in `settings.physics.<family>`)."""

from __future__ import annotations

from lightpipe.assets.builtin_ids import asset_family
from lightpipe.config.settings import PHYSICAL_FAMILIES as FAMILIES
DEFAULT_FAMILY = "plastic"

# Built-in procedural materials -> family.
_BUILTIN = {
    "painted_metal": "metal", "wood": "wood", "grain": "wood", "fabric": "fabric",
    "bricks": "stone", "concrete": "stone", "marble": "stone", "tiles": "stone",
    "dots": "rubber", "checker": "plastic", "gradient": "plastic", "grid": "plastic",
    "noise": "plastic", "stripes": "plastic",
}  # fmt: skip
# Words in a user material's path -> family (first match in this order).
_KEYWORDS = (
    ("metal", "metal"), ("steel", "metal"), ("iron", "metal"), ("alumin", "metal"),
    ("copper", "metal"), ("brass", "metal"), ("gold", "metal"), ("rust", "metal"),
    ("rubber", "rubber"), ("foam", "rubber"),
    ("wood", "wood"), ("plank", "wood"), ("bark", "wood"), ("parquet", "wood"),
    ("stone", "stone"), ("rock", "stone"), ("brick", "stone"), ("concrete", "stone"),
    ("marble", "stone"), ("tile", "stone"), ("granite", "stone"), ("asphalt", "stone"),
    ("gravel", "stone"), ("cobble", "stone"), ("ceramic", "stone"),
    ("fabric", "fabric"), ("cloth", "fabric"), ("carpet", "fabric"), ("leather", "fabric"),
    ("wool", "fabric"), ("denim", "fabric"), ("textile", "fabric"),
    ("plastic", "plastic"),
)


def material_family(material_id: str, metal: float = 0.0) -> str:
    """The family of `material_id` (a metal object, `metal` 1, is metal whatever its map)."""
    if metal >= 0.5:
        return "metal"
    family = asset_family(material_id)
    if family:
        return _BUILTIN.get(family, DEFAULT_FAMILY)
    name = material_id.lower()
    return next((fam for word, fam in _KEYWORDS if word in name), DEFAULT_FAMILY)
