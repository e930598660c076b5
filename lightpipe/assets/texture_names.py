"""Names of PBR texture maps (Poly Haven, ambientCG and the usual others), and which folders
under `textures/` are texture sets: the maps of one material.

A file's stem is split into lower-case tokens at anything not a letter or a digit
(`Bricks059_1K-JPG_NormalGL` -> bricks059, 1k, jpg, normalgl). Trailing qualifiers are set
aside: a resolution (`1k`, `2K`), an image format (`jpg`, `png`), the word `map`, and a normal
map's convention (`gl`, `dx`). The token before them, or the two before them joined
(`base_color`, `ambient_occlusion`), names the map. Only that last name counts, so
`metal_plate_diff_1k.jpg` is a base colour, not a metalness map, and `Bricks059_1K-JPG.png` (a
preview) names no map.

A folder below `textures/` whose images name at least two different kinds of map is a set;
every other image stays one material of its own (its base colour), as before sets existed.
This module reads names only, never the images (`texture_sets` reads them).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

MAP_SUFFIXES = (".png", ".jpg", ".jpeg")  # the images a set's maps may be (as `textures/`)
# Other image formats a map may come in (EXR, TIFF, ...): not read, a note says so.
OTHER_IMAGE_SUFFIXES = (".exr", ".tif", ".tiff", ".webp", ".bmp", ".tga", ".hdr")

BASE_COLOR, ROUGHNESS, METALLIC, AO, ARM = "base_color", "roughness", "metallic", "ao", "arm"
NORMAL_GL, NORMAL_DX = "normal_gl", "normal_dx"
USED_KINDS = (BASE_COLOR, ROUGHNESS, METALLIC, NORMAL_GL, NORMAL_DX, AO, ARM)
UNUSED_KINDS = ("displacement", "bump", "specular", "opacity", "gloss", "emission")
LABELS = {BASE_COLOR: "base-colour", ROUGHNESS: "roughness", METALLIC: "metalness",
          NORMAL_GL: "OpenGL normal", NORMAL_DX: "DirectX normal", AO: "ambient-occlusion",
          ARM: "packed ARM/ORM", "displacement": "displacement/height", "bump": "bump",
          "specular": "specular", "opacity": "opacity", "gloss": "gloss",
          "emission": "emission"}

_NORMAL = "normal"  # unmarked: OpenGL unless a `dx` qualifier says DirectX
_NAMES = {
    **dict.fromkeys(("diff", "diffuse", "color", "colour", "basecolor", "basecolour", "albedo",
                     "col"), BASE_COLOR),
    **dict.fromkeys(("rough", "roughness"), ROUGHNESS),
    **dict.fromkeys(("metal", "metallic", "metalness"), METALLIC),
    **dict.fromkeys(("nor", "normal", "nrm", "normalmap"), _NORMAL),
    **dict.fromkeys(("normalgl", "norgl", "normalogl", "normalopengl"), NORMAL_GL),
    **dict.fromkeys(("normaldx", "nordx", "normaldirectx"), NORMAL_DX),
    **dict.fromkeys(("ao", "occlusion", "ambientocclusion"), AO),
    **dict.fromkeys(("arm", "orm"), ARM),
    **dict.fromkeys(("disp", "displacement", "height", "heightmap"), "displacement"),
    **dict.fromkeys(("bump", "bumpmap"), "bump"),
    **dict.fromkeys(("spec", "specular"), "specular"),
    **dict.fromkeys(("opacity", "alpha"), "opacity"),
    **dict.fromkeys(("gloss", "glossiness"), "gloss"),
    **dict.fromkeys(("emission", "emissive"), "emission"),
}  # fmt: skip
_CONVENTIONS = {"gl": NORMAL_GL, "ogl": NORMAL_GL, "opengl": NORMAL_GL, "dx": NORMAL_DX,
                "directx": NORMAL_DX}
_FORMATS = {"jpg", "jpeg", "png", "exr", "tif", "tiff", "webp", "map"}
_RESOLUTION = re.compile(r"\d+k")
# Names to show in messages: what a base colour may be called.
BASE_COLOR_NAMES = "*_diff*, *_Color, *_basecolor, *_albedo, *_diffuse"


@dataclass(frozen=True)
class MapName:
    """What a file's name says it is: the kind of map and, if named, its resolution."""

    kind: str  # one of USED_KINDS or UNUSED_KINDS
    resolution: str | None = None  # `1k`, `2k`, ... anywhere in the name (lower case)


def map_name(file_name: str) -> MapName | None:
    """The map `file_name` names (see the module docstring), or None."""
    tokens = [t for t in re.split(r"[^0-9a-z]+", Path(file_name).stem.lower()) if t]
    resolution = next((t for t in reversed(tokens) if _RESOLUTION.fullmatch(t)), None)
    convention = None
    while tokens and (tokens[-1] in _FORMATS or tokens[-1] in _CONVENTIONS
                      or _RESOLUTION.fullmatch(tokens[-1])):
        convention = convention or _CONVENTIONS.get(tokens.pop())
    kind = (_NAMES.get("".join(tokens[-2:])) if len(tokens) >= 2 else None) or \
        (_NAMES.get(tokens[-1]) if tokens else None)
    if kind is None:
        return None
    if kind == _NORMAL:
        kind = convention or NORMAL_GL
    return MapName(kind, resolution)


@dataclass(frozen=True)
class TextureSet:
    """One set folder's maps that the material uses, by kind (files relative to the root)."""

    folder: str  # relative to the root, e.g. `textures/brick_wall_001`: the id's path
    maps: dict[str, str]  # kind -> file, for the kinds in USED_KINDS that are used

    @property
    def files(self) -> tuple[str, ...]:
        """Every file the material reads, the base colour first."""
        return tuple(self.maps[kind] for kind in USED_KINDS if kind in self.maps)


@dataclass
class TextureFolders:
    """`textures/` read by names: its sets, the files that stay single images, what is wrong
    (problems: errors) and what is ignored (notes: worth saying, not errors)."""

    sets: list[TextureSet] = field(default_factory=list)
    singles: list[Path] = field(default_factory=list)  # each one material, as before sets
    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def group_textures(base: Path, files: list[Path]) -> TextureFolders:
    """Sort the files under `base/textures` (visible files, sorted) into sets and single images.

    Files directly in `textures/` are never a set (a set is a folder of its own); a map-named
    image there or alone in its folder is a single image, with a note.
    """
    found = TextureFolders()
    top = base / "textures"
    folders: dict[Path, list[Path]] = {}
    for path in files:
        folders.setdefault(path.parent, []).append(path)
    for folder, paths in folders.items():
        named = {path: map_name(path.name) for path in paths if path.suffix.lower() in MAP_SUFFIXES}
        if folder != top and len({n.kind for n in named.values() if n}) >= 2:
            texture_set, problems, notes = folder_set(base, folder, paths)
            found.sets += [texture_set] if texture_set else []
            found.problems += problems
            found.notes += notes
            continue
        found.singles += paths
        for path, name in named.items():
            if name and name.kind != BASE_COLOR:
                where = ("directly in textures/" if folder == top
                         else "the only kind of map in its folder")
                found.notes.append(f"{str(path)!r} is named as a {LABELS[name.kind]} map but is "
                                   f"{where}: it is used as a colour image of its own (put a "
                                   "texture set's maps together in a folder of their own)")
    return found


def folder_set(base: Path, folder: Path, paths: list[Path]
               ) -> tuple[TextureSet | None, list[str], list[str]]:
    """The set in `folder` (its visible files `paths`): the set (None when it has problems),
    its problems and notes. Non-image files are ignored (ambientCG's .mtlx/.usda, Poly Haven's
    .blend/.gltf); an image naming no map is ignored with a note."""
    by_kind: dict[str, list[Path]] = {}
    notes = []
    for path in paths:
        suffix, name = path.suffix.lower(), map_name(path.name)
        if suffix in MAP_SUFFIXES and name:
            by_kind.setdefault(name.kind, []).append(path)
        elif suffix in MAP_SUFFIXES:
            notes.append(f"{str(path)!r} in texture set {str(folder)!r} names no map: ignored")
        elif suffix in OTHER_IMAGE_SUFFIXES and name:
            notes.append(f"{str(path)!r} in texture set {str(folder)!r} is a {LABELS[name.kind]} "
                         f"map in {suffix}, which is not read (maps are "
                         f"{', '.join(MAP_SUFFIXES)}): ignored")
    problems = []
    for kind, found in by_kind.items():
        if len(found) > 1:
            names = ", ".join(repr(p.name) for p in found)
            resolutions = sorted({map_name(p.name).resolution or "unnamed" for p in found})
            several = (f" of {len(resolutions)} resolutions ({', '.join(resolutions)})"
                       if len(resolutions) > 1 else "")
            problems.append(f"texture set {str(folder)!r} has {len(found)} {LABELS[kind]} maps"
                            f"{several}: {names}; allowed: one map of each kind per set folder "
                            "(keep one resolution and one format; move the others out)")
    if BASE_COLOR not in by_kind:
        held = ", ".join(f"{LABELS[kind]} {p.name!r}" for kind, found in by_kind.items()
                         for p in found)
        problems.append(f"texture set {str(folder)!r} has no base-colour map (missing map); it "
                        f"holds {held}; allowed base-colour names: {BASE_COLOR_NAMES}")
    if problems:
        return None, problems, notes
    maps = {kind: by_kind[kind][0].relative_to(base).as_posix()
            for kind in USED_KINDS if kind in by_kind}
    if NORMAL_GL in maps:  # both conventions of one normal map: the OpenGL one is read
        maps.pop(NORMAL_DX, None)
    if all(kind in maps for kind in (AO, ROUGHNESS, METALLIC)):  # dedicated maps win
        maps.pop(ARM, None)
    return TextureSet(folder.relative_to(base).as_posix(), maps), problems, notes
