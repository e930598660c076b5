"""The asset catalogue: built-in ids plus the files under `settings.assets.root`, by stable id."""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass
from pathlib import Path

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, BUILTIN_OBJECT_IDS
from lightpipe.atomic_io import sha256_file
from lightpipe.config.settings import Settings
from lightpipe.errors import LightpipeError

USER_PREFIX = "user:"
MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Files that may sit beside meshes (OBJ materials and textures, glTF buffers): not assets.
MESH_COMPANIONS = (".mtl", ".bin", ".png", ".jpg", ".jpeg", ".txt", ".md", ".json")
ENVIRONMENT_SUFFIXES = (".hdr", ".exr")
KINDS = {"objects": MESH_SUFFIXES, "textures": IMAGE_SUFFIXES, "backgrounds": IMAGE_SUFFIXES,
         "environments": ENVIRONMENT_SUFFIXES}


class AssetError(LightpipeError):
    """An asset file is missing, unsupported or broken."""


@dataclass(frozen=True)
class Catalog:
    """Every asset id a dataset may use, per kind, sorted."""

    objects: tuple[str, ...]
    materials: tuple[str, ...]
    backgrounds: tuple[str, ...]
    root: str | None = None
    environments: tuple[str, ...] = ()

    def fingerprint(self) -> dict:
        """Ids and content hashes of the user files: a dataset's identity depends on them.
        Hashed once per catalogue (so once per process, as the folder is scanned once): every
        check of the identity (preflight, the lock, the writer, plan) asks again."""
        return copy.deepcopy(self._fingerprint)

    @functools.cached_property
    def _fingerprint(self) -> dict:
        files = {}
        if self.root is not None:
            for asset_id in (*self.objects, *self.materials, *self.backgrounds,
                             *self.environments):
                if asset_id.startswith(USER_PREFIX):
                    files[asset_id] = sha256_file(user_path(self.root, asset_id))
        return {"builtin_objects": sum(not a.startswith(USER_PREFIX) for a in self.objects),
                "builtin_materials": sum(not a.startswith(USER_PREFIX) for a in self.materials),
                "user_files": files}


def build_catalog(root: str | None, builtin: bool) -> Catalog:
    """Scan `root/{objects,textures,backgrounds,environments}`; ids are `user:<relative path>`.

    Unknown file types are errors (named), so a typo is never silently ignored; every problem
    of the folder is reported in one AssetError. `textures/` is optional: without images there,
    the built-in materials are used (also with `builtin: false`, which then only drops the
    built-in objects).
    """
    user = {kind: [] for kind in KINDS}
    problems = []
    if root is not None:
        base = Path(root)
        if not base.is_dir():
            raise AssetError(f"`settings.assets.root` is {root!r}, which is not a directory.\n"
                             "HINT: it holds objects/ and optionally textures/, backgrounds/, "
                             "environments/ (see docs/assets.md).")
        for kind, suffixes in KINDS.items():
            folder = base / kind
            for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
                if not path.is_file() or path.name.startswith("."):
                    continue
                suffix = path.suffix.lower()
                if suffix in suffixes:
                    user[kind].append(USER_PREFIX + path.relative_to(base).as_posix())
                elif kind != "objects" or suffix not in MESH_COMPANIONS:
                    problems.append(
                        f"unsupported asset file {str(path)!r} ({suffix or 'no suffix'}); allowed "
                        f"in {kind}/: {', '.join(suffixes)}"
                        + (" (plus .mtl/.bin/image companions)" if kind == "objects" else ""))
        if not any(user.values()) and not problems:
            problems.append(f"`settings.assets.root` {root!r} holds no assets; expected files "
                            "under objects/, textures/, backgrounds/ or environments/")
    objects = (BUILTIN_OBJECT_IDS if builtin else ()) + tuple(user["objects"])
    materials = tuple(user["textures"]) if user["textures"] else BUILTIN_MATERIAL_IDS
    if builtin and user["textures"]:
        materials = BUILTIN_MATERIAL_IDS + materials
    if not objects:
        problems.append("no object assets: `settings.assets.builtin` is false and "
                        f"{str(Path(root or '.') / 'objects')!r} holds no meshes (add meshes, or "
                        "set --settings.assets.builtin true)")
    raise_problems(problems)
    return Catalog(tuple(sorted(objects)), tuple(sorted(materials)),
                   tuple(sorted(user["backgrounds"])), root, tuple(sorted(user["environments"])))


def raise_problems(problems: list[str]) -> None:
    """One AssetError listing every problem (none: nothing)."""
    if len(problems) == 1:
        raise AssetError(f"{problems[0]}.\nHINT: fix the file or move it out of the assets root.")
    if problems:
        listed = "\n".join(f"  - {problem}" for problem in problems)
        raise AssetError(f"the assets have {len(problems)} problems:\n{listed}\n"
                         "HINT: fix these files or move them out of the assets root.")


def user_path(root: str | Path, asset_id: str) -> Path:
    return Path(root) / asset_id[len(USER_PREFIX):]


def catalog_for(settings: Settings) -> Catalog:
    """The asset catalogue of `settings.assets` (scanned once per process)."""
    return _cached_catalog(settings.assets.root, settings.assets.builtin)


@functools.lru_cache(maxsize=8)
def _cached_catalog(root: str | None, builtin: bool) -> Catalog:
    return build_catalog(root, builtin)
