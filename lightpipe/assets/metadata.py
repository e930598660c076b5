"""Metadata per object asset: the optional `assets.yaml` at the assets root (the sidecar).

One file per library (not one beside each asset): a downloaded library stays as it shipped, and
a glob covers a whole folder of objects. The file maps a path or an fnmatch glob, relative to
the root, to fields; a pattern is matched against an object's mesh path and its object folder
(`objects/mug/meshes/model.obj` and `objects/mug`), `*` also across folders. Entries apply in
file order, later ones overriding earlier ones field by field:

    objects/gso/*:           {size: metric, up: +z}
    objects/gso/mug:         {category: mug, mass: 0.35, friction: 0.6}
    objects/chairs/*.glb:    {size: 0.9, category: chair, density: 600, restitution: 0.2}

Fields (`FIELDS`): `size` (`metric`: as modelled, in `unit`s; or a positive number: the largest
bounding-box dimension in metres), `unit` (`m`, `cm`, `mm`; only beside `size: metric`), `up`
(the mesh's up axis, turned to +Y at load), `category` (a label), `mass` (kg) or `density`
(kg/m^3; a later one replaces an earlier other), `friction` (>= 0), `restitution` (0..1). Every
problem (unknown key, wrong type or value, a pattern that matches no object) is named before
rendering (`sidecar_problems`); the parsed file is cached per root and process (until it
changes).
"""

from __future__ import annotations

import fnmatch
import functools
import math
import os
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np
import yaml

from lightpipe.assets.errors import AssetError
from lightpipe.assets.object_folders import object_folder

SIDECAR = "assets.yaml"
USER = "user:"
UNITS = {"m": 1.0, "cm": 0.01, "mm": 0.001}
# The declared up axis -> the rotation (rows) that turns it to +Y, right-handed.
UP_ROTATIONS = {
    "+y": ((1, 0, 0), (0, 1, 0), (0, 0, 1)),
    "+z": ((1, 0, 0), (0, 0, 1), (0, -1, 0)),
    "-z": ((1, 0, 0), (0, 0, -1), (0, 1, 0)),
    "+x": ((0, -1, 0), (1, 0, 0), (0, 0, 1)),
    "-x": ((0, 1, 0), (-1, 0, 0), (0, 0, 1)),
    "-y": ((1, 0, 0), (0, -1, 0), (0, 0, -1)),
}
FIELDS = {
    "size": "`metric` (as modelled) or a positive number (largest dimension, metres)",
    "unit": f"the unit of `size: metric`: one of {', '.join(UNITS)}",
    "up": f"the mesh's up axis: one of {', '.join(UP_ROTATIONS)}",
    "category": "a label (text)",
    "mass": "kg, a positive number (not with density)",
    "density": "kg/m^3, a positive number (not with mass)",
    "friction": "a number >= 0",
    "restitution": "a number from 0 to 1",
}


@dataclass(frozen=True)
class ObjectMetadata:
    """What `assets.yaml` declares for one object (None: not declared)."""

    size: str | float | None = None  # "metric" or the largest dimension in metres
    unit: str = "m"  # of `size: metric`
    up: str = "+y"
    category: str | None = None
    mass: float | None = None
    density: float | None = None
    friction: float | None = None
    restitution: float | None = None


NONE_DECLARED = ObjectMetadata()


@dataclass(frozen=True)
class Sidecar:
    """A parsed `assets.yaml`: its valid entries (pattern, fields) in file order and the
    problems of the others."""

    entries: tuple[tuple[str, tuple[tuple[str, object], ...]], ...] = ()
    problems: tuple[str, ...] = ()

    def matching(self, names) -> list[int]:
        """The indices, in file order, of the entries whose pattern matches one of `names`.
        Plain paths are looked up, globs matched: a file of 10,000 paths stays fast."""
        found = {k for name in names for k in self._literal.get(name, ())}
        found.update(k for k, pattern in self._globs
                     if any(fnmatch.fnmatchcase(name, pattern) for name in names))
        return sorted(found)

    @functools.cached_property
    def _literal(self) -> dict[str, list[int]]:
        literal: dict[str, list[int]] = {}
        for k, (pattern, _) in enumerate(self.entries):
            if not _is_glob(pattern):
                literal.setdefault(pattern, []).append(k)
        return literal

    @functools.cached_property
    def _globs(self) -> list[tuple[int, str]]:
        return [(k, pattern) for k, (pattern, _) in enumerate(self.entries) if _is_glob(pattern)]


def object_metadata(root: str | Path | None, asset_id: str) -> ObjectMetadata:
    """The metadata `assets.yaml` declares for object `asset_id` (nothing for built-ins or
    without a sidecar). Raises AssetError when the sidecar has problems."""
    if root is None or not asset_id.startswith(USER):
        return NONE_DECLARED
    return _object_metadata(str(root), asset_id, _stamp(str(root)))


@functools.lru_cache(maxsize=65536)
def _object_metadata(root: str, asset_id: str, stamp) -> ObjectMetadata:
    sidecar = _parsed(root, stamp)
    if sidecar.problems:
        raise AssetError(f"{str(Path(root) / SIDECAR)!r}: " + "; ".join(sidecar.problems)
                         + ".\nHINT: see docs/assets.md, `assets.yaml`.")
    declared = NONE_DECLARED
    if not sidecar.entries:
        return declared
    for k in sidecar.matching(_match_names(Path(root), asset_id[len(USER):])):
        declared = _merged(declared, dict(sidecar.entries[k][1]))
    return declared


def sidecar_problems(root: str | Path, object_ids) -> list[str]:
    """Every problem of `root/assets.yaml` (none without one): its own, and each pattern that
    matches none of the objects `object_ids`."""
    sidecar = read_sidecar(str(root))
    if not sidecar.entries and not sidecar.problems:
        return []
    names = {name for asset_id in object_ids if asset_id.startswith(USER)
             for name in _match_names(Path(root), asset_id[len(USER):])}
    matched = set(sidecar.matching(names))
    unmatched = [pattern for k, (pattern, _) in enumerate(sidecar.entries) if k not in matched]
    shown = str(Path(root) / SIDECAR)
    return [f"{shown!r}: {problem}" for problem in sidecar.problems] + [
        f"{shown!r}: the pattern {pattern!r} matches no object ("
        + (f"it is a folder: {pattern + '/*'!r} matches the objects in it"
           if (Path(root) / pattern).is_dir() else
           "patterns are relative to the root and match a mesh's path or its object folder, "
           "e.g. 'objects/mug' or 'objects/gso/*'") + ")" for pattern in unmatched]


def declared_up(vertices: np.ndarray, up: str) -> np.ndarray:
    """`vertices` (N,3) turned so that the declared `up` axis becomes +Y. Exact, and no matmul
    (BLAS): each new coordinate is one old coordinate, maybe negated."""
    if up == "+y":
        return vertices
    columns = []
    for row in UP_ROTATIONS[up]:
        axis = next(k for k, c in enumerate(row) if c)
        columns.append(vertices[:, axis] if row[axis] > 0 else -vertices[:, axis])
    return np.stack(columns, axis=1)


def metric_radius(declared: ObjectMetadata, radius: float, largest: float) -> float | None:
    """The object's bounding-sphere radius in metres that `declared` fixes, from its mesh's
    `radius` and `largest` bounding-box dimension in its own units; None without `size`."""
    if declared.size is None:
        return None
    if declared.size == "metric":
        return radius * UNITS[declared.unit]
    return float(declared.size) * radius / largest


def read_sidecar(root: str) -> Sidecar:
    """`root/assets.yaml` parsed and checked (once per root and process, again when the file
    changes: keyed by its modification time and size)."""
    return _parsed(root, _stamp(root))


def _stamp(root: str) -> tuple[int, int] | None:
    try:
        stat = os.stat(os.path.join(root, SIDECAR))
    except OSError:
        return None
    return stat.st_mtime_ns, stat.st_size


@functools.lru_cache(maxsize=16)
def _parsed(root: str, stamp) -> Sidecar:
    path = Path(root) / SIDECAR
    if stamp is None or not path.is_file():
        return Sidecar()
    try:
        # Safe loading; libyaml's (6x faster: a 10,000-line file in 0.3 s) where installed.
        data = yaml.load(path.read_text(), Loader=getattr(yaml, "CSafeLoader", yaml.SafeLoader))
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        return Sidecar(problems=(f"not valid YAML{where}: {problem}",))
    except (OSError, UnicodeDecodeError) as exc:
        return Sidecar(problems=(f"cannot be read: {exc}",))
    if data is None:
        return Sidecar()
    if not isinstance(data, dict):
        return Sidecar(problems=(f"holds a {type(data).__name__} at the top; allowed: a mapping "
                                 "of paths or globs to fields",))
    entries, problems = [], []
    for pattern, fields in data.items():
        entry_problems = _entry_problems(pattern, fields)
        if entry_problems:
            problems += entry_problems
        else:
            entries.append((pattern.strip().rstrip("/"), tuple(fields.items())))
    return Sidecar(tuple(entries), tuple(problems))


def _entry_problems(pattern, fields) -> list[str]:
    if not isinstance(pattern, str) or not pattern.strip():
        return [f"the key {pattern!r} is not a path or glob (text relative to the root)"]
    if not isinstance(fields, dict) or not fields:
        return [f"{pattern!r} is {fields!r}; allowed: a mapping of fields ({', '.join(FIELDS)})"]
    problems = []
    for key, value in fields.items():
        if key not in FIELDS:
            problems.append(f"{pattern!r}: unknown key {key!r}; allowed: {', '.join(FIELDS)}")
            continue
        problem = _value_problem(key, value)
        if problem:
            problems.append(f"{pattern!r}: `{key}` is {value!r}; allowed: {problem}")
    if "mass" in fields and "density" in fields:
        problems.append(f"{pattern!r}: both `mass` and `density`; allowed: one of them")
    if "unit" in fields and fields.get("size") != "metric":
        problems.append(f"{pattern!r}: `unit` is {fields['unit']!r} without `size: metric`; "
                        "allowed: `unit` only beside `size: metric` (a number size is in metres)")
    return problems


def _value_problem(key: str, value) -> str | None:
    """What is allowed for `key`, when `value` is not."""
    number = isinstance(value, (int, float)) and not isinstance(value, bool) \
        and math.isfinite(value)
    if key == "size":
        ok = value == "metric" or (number and value > 0)
    elif key == "unit":
        ok = value in UNITS
    elif key == "up":
        ok = value in UP_ROTATIONS
    elif key == "category":
        ok = isinstance(value, str) and bool(value.strip())
    elif key in ("mass", "density"):
        ok = number and value > 0
    elif key == "friction":
        ok = number and value >= 0
    else:  # restitution
        ok = number and 0 <= value <= 1
    return None if ok else FIELDS[key]


def _merged(declared: ObjectMetadata, fields: dict) -> ObjectMetadata:
    """`declared` with an entry's fields over it: `size` brings its unit (metres unless the
    entry says), `mass` and `density` replace each other."""
    changes = {key: value for key, value in fields.items() if key not in ("size", "unit")}
    if "size" in fields:
        size = fields["size"]
        changes.update(size=size if size == "metric" else float(size),
                       unit=fields.get("unit", "m"))
    if "mass" in fields:
        changes.update(mass=float(fields["mass"]), density=None)
    if "density" in fields:
        changes.update(density=float(fields["density"]), mass=None)
    for key in ("friction", "restitution"):
        if key in changes:
            changes[key] = float(changes[key])
    if "category" in changes:
        changes["category"] = changes["category"].strip()
    return replace(declared, **changes)


def _is_glob(pattern: str) -> bool:
    return any(c in pattern for c in "*?[")


def _match_names(root: Path, relative: str) -> tuple[str, ...]:
    """What a pattern is matched against: the mesh's path, and its object folder's."""
    folder = object_folder(root, relative)
    return (relative,) if folder is None else (relative, folder)
