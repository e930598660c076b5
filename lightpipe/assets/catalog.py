"""The asset catalogue: built-in ids plus the files under `settings.assets.root`, by stable id.

Each user asset has a *main file* (what its id names: a mesh, an image, a map) and may read
*companions* (an OBJ's .mtl and textures, a glTF's buffers, a texture set's other maps, an
object folder's files). `Catalog.files` lists them all per id, relative to the root, main file
first: the dataset identity hashes every one of them.
"""

from __future__ import annotations

import copy
import functools
from dataclasses import dataclass, field
from pathlib import Path

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, BUILTIN_OBJECT_IDS
from lightpipe.assets.errors import AssetError
from lightpipe.assets.metadata import SIDECAR, sidecar_problems
from lightpipe.assets.object_folders import object_assets
from lightpipe.assets.texture_names import group_textures
from lightpipe.config.settings import Settings

USER_PREFIX = "user:"
MESH_SUFFIXES = (".obj", ".glb", ".gltf", ".ply", ".stl")
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg")
# Files that may sit beside meshes (OBJ materials and textures, glTF buffers): not assets.
MESH_COMPANIONS = (".mtl", ".bin", ".png", ".jpg", ".jpeg", ".txt", ".md", ".json")
ENVIRONMENT_SUFFIXES = (".hdr", ".exr")
KINDS = {"objects": MESH_SUFFIXES, "textures": IMAGE_SUFFIXES, "backgrounds": IMAGE_SUFFIXES,
         "environments": ENVIRONMENT_SUFFIXES}


@dataclass(frozen=True)
class Catalog:
    """Every asset id a dataset may use, per kind, sorted."""

    objects: tuple[str, ...]
    materials: tuple[str, ...]
    backgrounds: tuple[str, ...]
    root: str | None = None
    environments: tuple[str, ...] = ()
    # user asset id -> every file it reads, relative to the root, its main file first
    files: dict[str, tuple[str, ...]] = field(default_factory=dict, compare=False, hash=False)

    def fingerprint(self) -> dict:
        """Ids and content hashes of the user files: a dataset's identity depends on them.
        Hashed once per catalogue (so once per process, as the folder is scanned once): every
        check of the identity (preflight, the lock, the writer, plan) asks again."""
        return copy.deepcopy(self._fingerprint)

    def asset_files(self, asset_id: str) -> tuple[str, ...]:
        """Every file (relative to the root) the user asset `asset_id` reads, main file first."""
        return self.files.get(asset_id) or (asset_id[len(USER_PREFIX):],)

    def file_hashes(self, asset_id: str) -> dict[str, str]:
        """{relative path: sha256} of every file of the user asset `asset_id` (from the asset
        cache: see `file_cache`)."""
        return dict(self._hashes[asset_id])

    @functools.cached_property
    def _hashes(self) -> dict[str, dict[str, str]]:
        from lightpipe.assets.file_cache import file_cache

        out = {}
        if self.root is not None:
            cache = file_cache(self.root)
            for asset_id in self._user_ids():
                out[asset_id] = {}
                for relative in self.asset_files(asset_id):
                    try:
                        out[asset_id][relative] = cache.sha256(relative)
                    except FileNotFoundError:
                        raise AssetError(f"asset file {str(Path(self.root) / relative)!r} of "
                                         f"{asset_id} disappeared while it was being read.\n"
                                         "HINT: do not change the assets root while a run "
                                         "starts.") from None
            cache.keep_only({f for hashes in out.values() for f in hashes})
            cache.flush()
        return out

    def _user_ids(self) -> list[str]:
        return [a for a in (*self.objects, *self.materials, *self.backgrounds,
                            *self.environments) if a.startswith(USER_PREFIX)]

    @functools.cached_property
    def _fingerprint(self) -> dict:
        # One hex per asset: a single file's own sha256 (so datasets of single-file assets keep
        # their identity), else the sha256 over (relative path, sha256) of each file.
        from lightpipe.assets.file_cache import combined_digest, file_cache

        files = {asset_id: combined_digest(hashes) for asset_id, hashes in self._hashes.items()}
        result = {"builtin_objects": sum(not a.startswith(USER_PREFIX) for a in self.objects),
                  "builtin_materials": sum(not a.startswith(USER_PREFIX) for a in self.materials),
                  "user_files": files}
        if self.root is not None and (Path(self.root) / SIDECAR).is_file():
            result["assets_yaml"] = file_cache(self.root).sha256(SIDECAR)  # objects' metadata
        return result


@dataclass
class Scan:
    """What scanning one kind's folder found: asset ids, their files, problems."""

    ids: list[str] = field(default_factory=list)
    files: dict[str, tuple[str, ...]] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # not problems (`lightpipe assets check`)

    def add(self, asset_id: str, files: tuple[str, ...]) -> None:
        self.ids.append(asset_id)
        self.files[asset_id] = files


def build_catalog(root: str | None, builtin: bool) -> Catalog:
    """Scan `root/{objects,textures,backgrounds,environments}`; ids are `user:<relative path>`.

    Unknown file types are errors (named), so a typo is never silently ignored; every problem
    of the folder is reported in one AssetError. `textures/` is optional: without images there,
    the built-in materials are used (also with `builtin: false`, which then only drops the
    built-in objects).
    """
    scans = {kind: Scan() for kind in KINDS}
    problems = []
    if root is not None:
        base = Path(root)
        if not base.is_dir():
            raise AssetError(f"`settings.assets.root` is {root!r}, which is not a directory.\n"
                             "HINT: it holds objects/ and optionally textures/, backgrounds/, "
                             "environments/ (see docs/assets.md).")
        scans = scan_root(base)
        for scan in scans.values():
            problems += scan.problems
        problems += sidecar_problems(base, scans["objects"].ids)
        if not any(scan.ids for scan in scans.values()) and not problems:
            problems.append(f"`settings.assets.root` {root!r} holds no assets; expected files "
                            "under objects/, textures/, backgrounds/ or environments/")
    user = {kind: scan.ids for kind, scan in scans.items()}
    objects = (BUILTIN_OBJECT_IDS if builtin else ()) + tuple(user["objects"])
    materials = tuple(user["textures"]) if user["textures"] else BUILTIN_MATERIAL_IDS
    if builtin and user["textures"]:
        materials = BUILTIN_MATERIAL_IDS + materials
    if not objects:
        problems.append("no object assets: `settings.assets.builtin` is false and "
                        f"{str(Path(root or '.') / 'objects')!r} holds no meshes (add meshes, or "
                        "set --settings.assets.builtin true)")
    raise_problems(problems)
    files = {asset_id: paths for scan in scans.values() for asset_id, paths in scan.files.items()}
    return Catalog(tuple(sorted(objects)), tuple(sorted(materials)),
                   tuple(sorted(user["backgrounds"])), root, tuple(sorted(user["environments"])),
                   files)


def scan_root(base: Path) -> dict[str, Scan]:
    """Every kind's folder under the assets root `base`, scanned (problems kept, not raised)."""
    return {"objects": scan_objects(base), "textures": scan_textures(base),
            "backgrounds": scan_images(base, "backgrounds"),
            "environments": scan_images(base, "environments")}


def _kind_files(base: Path, kind: str):
    """The visible files under `base/kind`, sorted."""
    folder = base / kind
    for path in sorted(folder.rglob("*")) if folder.is_dir() else []:
        if path.is_file() and not path.name.startswith("."):
            yield path


def _unsupported(path: Path, kind: str) -> str:
    suffix = path.suffix.lower()
    return (f"unsupported asset file {str(path)!r} ({suffix or 'no suffix'}); allowed "
            f"in {kind}/: {', '.join(KINDS[kind])}"
            + (" (plus .mtl/.bin/image companions, the files a mesh references, and any file "
               "in an object folder: one with a meshes/ or models/ subfolder)"
               if kind == "objects" else ""))


def scan_objects(base: Path) -> Scan:
    """`objects/`: an object folder (with a meshes/ or models/ subfolder: Google Scanned
    Objects, ShapeNet) is one asset, named by its mesh, with every file in it; every other mesh
    file is one asset with the files it references (`object_folders`). Companions may sit
    beside loose meshes."""
    scan = Scan()
    found = object_assets(base, list(_kind_files(base, "objects")), MESH_SUFFIXES)
    for main, files in found.assets:
        scan.add(USER_PREFIX + main, files)
    scan.problems += found.problems
    scan.problems += [_unsupported(path, "objects") for path in found.loose
                      if path.suffix.lower() not in MESH_COMPANIONS]
    return scan


def scan_textures(base: Path) -> Scan:
    """`textures/`: a folder of PBR maps (`*_diff_1k.jpg`, `*_rough_1k.jpg`, ...) is one
    material, a texture set (`texture_names`); every other image is one material (its base
    colour)."""
    scan = Scan()
    grouped = group_textures(base, list(_kind_files(base, "textures")))
    for texture_set in grouped.sets:
        scan.add(USER_PREFIX + texture_set.folder, texture_set.files)
    for path in grouped.singles:
        relative = path.relative_to(base).as_posix()
        if path.suffix.lower() in IMAGE_SUFFIXES:
            scan.add(USER_PREFIX + relative, (relative,))
        else:
            scan.problems.append(_unsupported(path, "textures"))
    scan.problems += grouped.problems
    scan.notes += grouped.notes
    return scan


def scan_images(base: Path, kind: str) -> Scan:
    """A folder where every file of the kind's suffixes is one asset."""
    scan = Scan()
    for path in _kind_files(base, kind):
        relative = path.relative_to(base).as_posix()
        if path.suffix.lower() in KINDS[kind]:
            scan.add(USER_PREFIX + relative, (relative,))
        else:
            scan.problems.append(_unsupported(path, kind))
    return scan


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
