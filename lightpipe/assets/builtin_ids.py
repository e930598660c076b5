"""Ids of the built-in procedural assets (``builtin:<family>/<NN>``): object meshes and material textures."""

from __future__ import annotations

OBJECT_FAMILIES: tuple[str, ...] = (
    "box",
    "capsule",
    "cone",
    "cylinder",
    "gem",
    "prism",
    "pyramid",
    "rock",
    "sphere",
    "superquadric",
    "torus",
    "twisted",
)
MATERIAL_FAMILIES: tuple[str, ...] = (
    "checker",
    "dots",
    "gradient",
    "grain",
    "grid",
    "marble",
    "noise",
    "stripes",
)
OBJECT_VARIANTS = 6
MATERIAL_VARIANTS = 3

BUILTIN_OBJECT_IDS: tuple[str, ...] = tuple(
    sorted(f"builtin:{family}/{i:02d}" for family in OBJECT_FAMILIES for i in range(OBJECT_VARIANTS))
)
BUILTIN_MATERIAL_IDS: tuple[str, ...] = tuple(
    sorted(f"builtin:{family}/{i:02d}" for family in MATERIAL_FAMILIES for i in range(MATERIAL_VARIANTS))
)


def asset_family(asset_id: str) -> str:
    """Return the family of a ``builtin:<family>/<NN>`` id (``""`` when it has no such form)."""
    if not asset_id.startswith("builtin:") or "/" not in asset_id:
        return ""
    return asset_id[len("builtin:") :].split("/", 1)[0]
