"""Ids of the built-in procedural assets (``builtin:<family>/<NN>``), and each id's own generator."""

from __future__ import annotations

import hashlib

import numpy as np

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
    "bricks",
    "checker",
    "concrete",
    "dots",
    "fabric",
    "gradient",
    "grain",
    "grid",
    "marble",
    "noise",
    "painted_metal",
    "stripes",
    "tiles",
    "wood",
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


def asset_rng(asset_id: str) -> np.random.Generator:
    """Return a generator seeded only by ``asset_id`` (first 8 bytes of its SHA-256, little-endian)."""
    seed = int.from_bytes(hashlib.sha256(asset_id.encode("utf-8")).digest()[:8], "little")
    return np.random.default_rng(np.random.SeedSequence(seed))


def check_builtin_id(asset_id: str, valid: tuple[str, ...], kind: str) -> str:
    if asset_id not in valid:
        examples = ", ".join(i for i in valid if i.endswith("/00"))
        raise KeyError(f"unknown built-in {kind} id {asset_id!r}; valid ids include {examples}")
    return asset_family(asset_id)
