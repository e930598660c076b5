"""Object assets as libraries ship them: which files under `objects/` make up each object.

* An *object folder* is a folder under `objects/` with a `meshes/` or `models/` subfolder
  (Google Scanned Objects: `<name>/meshes/model.obj`, `materials/textures/texture.png`,
  `model.sdf`, ...; ShapeNet v2: `<synset>/<model>/models/model_normalized.obj`, `images/`,
  ...). It is one asset, named by its one mesh; every file in it is the asset's, of any type.
  The outermost such folder counts (a library's folder of object folders is none).
* Every other mesh file is one asset, with the files it references (`mesh_references`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from lightpipe.assets.mesh_references import referenced_files

OBJECTS = "objects"
FOLDER_MARKERS = ("meshes", "models")


@dataclass
class ObjectFiles:
    """What `object_assets` found: (main mesh, every file it reads, main first) per object,
    relative to the root; the other files outside object folders that no mesh references
    (the catalogue decides whether they may sit there); problems."""

    assets: list[tuple[str, tuple[str, ...]]] = field(default_factory=list)
    loose: list[Path] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)


def object_folder(root: Path, relative: str, memo: dict | None = None) -> str | None:
    """The object folder (relative to `root`, e.g. `objects/mug`) that holds the file
    `relative` (e.g. `objects/mug/meshes/model.obj`), or None for a loose file."""
    parts = relative.split("/")
    if parts[0] != OBJECTS:
        return None
    memo = {} if memo is None else memo
    for depth in range(2, len(parts)):
        folder = "/".join(parts[:depth])
        if folder not in memo:
            memo[folder] = any((root / folder / marker).is_dir() for marker in FOLDER_MARKERS)
        if memo[folder]:
            return folder
    return None


def object_assets(root: Path, paths: list[Path], mesh_suffixes: tuple[str, ...]) -> ObjectFiles:
    """Group the files under `root/objects` (`paths`, sorted) into object assets."""
    found = ObjectFiles()
    memo: dict = {}
    folders: dict[str, list[str]] = {}
    loose_meshes, others = [], []
    for path in paths:
        relative = path.relative_to(root).as_posix()
        folder = object_folder(root, relative, memo)
        if folder is not None:
            folders.setdefault(folder, []).append(relative)
        elif path.suffix.lower() in mesh_suffixes:
            loose_meshes.append(relative)
        else:
            others.append(path)
    referenced: set[str] = set()
    for folder, files in folders.items():
        meshes = [f for f in files if Path(f).suffix.lower() in mesh_suffixes]
        if len(meshes) != 1:
            found.problems.append(
                f"object folder {folder!r} holds {len(meshes)} meshes"
                + (f" ({', '.join(repr(m[len(folder) + 1:]) for m in meshes)})" if meshes else "")
                + "; allowed: exactly one (its meshes/ or models/ subfolder makes it one object; "
                  f"one of {', '.join(mesh_suffixes)})")
            continue
        extra, problems = referenced_files(root / meshes[0], root)
        found.problems += problems
        outside = [f for f in extra if f not in files]
        referenced.update(outside)
        found.assets.append((meshes[0], (meshes[0], *[f for f in files if f != meshes[0]],
                                         *outside)))
    for mesh in loose_meshes:
        extra, problems = referenced_files(root / mesh, root)
        found.problems += problems
        referenced.update(extra)
        found.assets.append((mesh, (mesh, *[f for f in extra if f != mesh])))
    found.loose = [p for p in others if p.relative_to(root).as_posix() not in referenced]
    return found
