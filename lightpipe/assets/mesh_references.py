"""The files a mesh file reads besides itself: an OBJ's material libraries (`mtllib`) and the
texture maps those name (`map_*`, `bump`, `norm`, ...), a .gltf's buffers and images (relative
URIs; `data:` URIs are inline). GLB, PLY and STL are one file each.

Paths resolve as the loader (trimesh) finds them: an MTL relative to the OBJ; its maps relative
to the MTL's folder (trimesh: the OBJ's, the same where the MTL sits beside it, as it usually
does), else by their file name in the OBJ's folder; glTF URIs relative to the .gltf
(percent-decoded). A referenced file must exist and lie inside the assets root. Every `mtllib`
line counts (trimesh reads the first).
"""

from __future__ import annotations

import json
import mmap
import os
import urllib.parse
from pathlib import Path

# MTL statements that name a texture image (besides every `map_*`).
MTL_MAP_KEYS = ("bump", "norm", "disp", "decal", "refl")
# MTL map options followed by one word (the others are followed by numbers: `-s 1 1 1`).
_ON_OFF_OPTIONS = {"-blendu", "-blendv", "-cc", "-clamp"}
_WORD_OPTIONS = {"-imfchan", "-type", "-texres"}


def referenced_files(mesh: Path, root: Path) -> tuple[list[str], list[str]]:
    """(the files `mesh` reads besides itself, relative to `root`, in reading order without
    repeats; the problems: a referenced file that is missing or outside `root`, named with the
    file that refers to it). A file the parser cannot read gives no references (the loader
    names what is wrong with it)."""
    root, mesh = Path(os.path.abspath(root)), Path(os.path.abspath(mesh))
    suffix = mesh.suffix.lower()
    if suffix == ".obj":
        found, problems = _obj_references(mesh, root)
    elif suffix == ".gltf":
        found, problems = _gltf_references(mesh, root)
    else:
        return [], []
    return list(dict.fromkeys(_shown(path, root) for path in found)), problems


def _obj_references(obj: Path, root: Path) -> tuple[list[Path], list[str]]:
    found, problems = [], []
    for name in _mtllib_names(obj):
        mtl = _resolve(name, obj.parent)
        problem = _check(mtl, root, obj, "material library", name)
        if problem:
            problems.append(problem)
            continue
        found.append(mtl)
        for map_name in _mtl_maps(mtl):
            texture = _resolve(map_name, mtl.parent, obj.parent)
            problem = _check(texture, root, mtl, "texture", map_name)
            if problem:
                problems.append(problem)
            else:
                found.append(texture)
    return found, problems


def _mtllib_names(obj: Path) -> list[str]:
    """Every `mtllib` line's file (the rest of the line, as trimesh reads it; a line naming
    several files that do not exist as one name is split at spaces)."""
    try:
        with open(obj, "rb") as file:
            if obj.stat().st_size == 0:
                return []
            with mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ) as data:
                lines = _statements(data, b"mtllib")
    except (OSError, ValueError):
        return []
    names = []
    for line in lines:
        if " " in line and not _resolve(line, obj.parent).is_file():
            names += line.split()
        elif line:
            names.append(line)
    return names


def _statements(data, keyword: bytes) -> list[str]:
    """The rest of each line that starts with `keyword` (after blanks), stripped (a plain
    substring search: as fast as reading the file)."""
    found, start = [], 0
    while (at := data.find(keyword, start)) >= 0:
        start = at + len(keyword)
        line_start = data.rfind(b"\n", 0, at) + 1
        end = data.find(b"\n", at)
        end = len(data) if end < 0 else end
        rest = bytes(data[start:end])
        if bytes(data[line_start:at]).strip(b" \t") == b"" and rest[:1] in (b" ", b"\t"):
            found.append(rest.strip().decode("utf-8", "replace"))
        start = max(start, end)
    return found


def _mtl_maps(mtl: Path) -> list[str]:
    """The image file of each map statement of an MTL file, options skipped."""
    try:
        text = mtl.read_text(errors="replace")
    except OSError:
        return []
    names = []
    for line in text.splitlines():
        tokens = line.split()
        if len(tokens) < 2:
            continue
        key = tokens[0].lower()
        if key.startswith("map_") or key in MTL_MAP_KEYS:
            name = _without_options(tokens[1:])
            if name:
                names.append(name)
    return names


def _without_options(tokens: list[str]) -> str:
    """`-s 1 1 1 -clamp on wood.png` -> `wood.png` (the file name may hold spaces)."""
    k = 0
    while k < len(tokens) and tokens[k].startswith("-") and not _is_number(tokens[k]):
        option = tokens[k].lower()
        k += 1
        if option in _ON_OFF_OPTIONS or option in _WORD_OPTIONS:
            k += 1
        else:
            while k < len(tokens) - 1 and _is_number(tokens[k]):
                k += 1
    return " ".join(tokens[k:])


def _is_number(token: str) -> bool:
    try:
        float(token)
    except ValueError:
        return False
    return True


def _gltf_references(gltf: Path, root: Path) -> tuple[list[Path], list[str]]:
    try:
        document = json.loads(gltf.read_text(errors="replace"))
    except (OSError, ValueError):
        return [], []
    if not isinstance(document, dict):
        return [], []
    found, problems = [], []
    for kind, what in (("buffers", "buffer"), ("images", "image")):
        entries = document.get(kind)
        for entry in entries if isinstance(entries, list) else []:
            uri = entry.get("uri") if isinstance(entry, dict) else None
            if not isinstance(uri, str) or uri.startswith("data:") or "://" in uri:
                continue
            name = urllib.parse.unquote(uri)
            path = _resolve(name, gltf.parent)
            problem = _check(path, root, gltf, what, name)
            if problem:
                problems.append(problem)
            else:
                found.append(path)
    return found, problems


def _resolve(name: str, folder: Path, fallback: Path | None = None) -> Path:
    """`name` relative to `folder`; where that file does not exist, its file name in
    `fallback` when that exists (trimesh's fallback for map paths)."""
    name = name.strip().replace("\\", "/")
    path = Path(_normalized(folder / name))
    if not path.is_file() and fallback is not None:
        beside = fallback / Path(name).name
        if beside.is_file():
            return beside
    return path


def _normalized(path: Path) -> str:
    """`a/b/../c` -> `a/c` without following links (the catalogue names files by path)."""
    parts: list[str] = []
    for part in path.as_posix().split("/"):
        if part == ".." and parts and parts[-1] not in ("", ".."):
            parts.pop()
        elif part != ".":
            parts.append(part)
    return "/".join(parts)


def _check(path: Path, root: Path, referrer: Path, what: str, name: str) -> str | None:
    """The problem with a referenced file, or None."""
    try:
        path.relative_to(root)
    except ValueError:
        return (f"{_shown(referrer, root)!r} refers to the {what} {name!r}, which lies outside "
                f"the assets root {str(root)!r} (allowed: files inside the root)")
    if not path.is_file():
        return (f"{_shown(referrer, root)!r} refers to the {what} {name!r}, but "
                f"{_shown(path, root)!r} does not exist")
    return None


def _shown(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)
