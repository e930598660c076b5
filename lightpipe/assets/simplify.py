"""Heavy user meshes within a triangle budget (`settings.assets.max_triangles`).

A mesh with more triangles than the budget is simplified once, at load, by quadric edge
collapse (`fast-simplification`, the decimator trimesh uses) to at most the budget. Each kept
vertex takes its UV (and vertex colour) from one original vertex that it stands for: the vertex
that survived its collapses, so a textured mesh keeps its texture in place; the loader then
computes area-weighted normals of the simplified surface as it does for any mesh. Meshes at or
below the budget are untouched (not a byte changes).

The simplifier is single-threaded and deterministic: the same file and budget give the same
arrays in every process. It runs in a short-lived child process (`python -c`, numpy and
`fast-simplification` only): the decimator keeps its working memory (about 300 bytes per source
triangle) in globals until its process ends, which in the task itself would stay allocated
while it renders. The result is cached on disk, keyed by the sha256 of the file's bytes,
the budget and `SIMPLIFIER_VERSION`, under `$LIGHTPIPE_CACHE_DIR` (default
`$XDG_CACHE_HOME/lightpipe`, else `~/.cache/lightpipe`) in `meshes/`; entries are written to a
temporary file and renamed into place (safe for many tasks at once), and one that cannot be read
back as a valid simplification is computed again and replaced, never trusted.

Limits: a file over `MAX_FILE_BYTES` or with more than `MAX_SOURCE_TRIANGLES` triangles is
refused before it is simplified (loading it would exhaust a task's memory), and so is a mesh the
decimator cannot bring within `TOLERANCE` times the budget; both errors name the file, its size
and the setting to change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tempfile
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lightpipe.assets.catalog import AssetError
from lightpipe.config.settings import AssetSettings

DEFAULT_MAX_TRIANGLES = AssetSettings.max_triangles
SETTING = "settings.assets.max_triangles"
# Bump whenever the simplification of the same file and budget could give other arrays.
SIMPLIFIER_VERSION = 1
MAX_FILE_BYTES = 1 << 30  # 1 GiB: tens of millions of triangles, several GB once loaded
MAX_SOURCE_TRIANGLES = 20_000_000  # about 3 GB of peak memory to load and simplify
TOLERANCE = 1.5  # a result up to this times the budget is kept; more is an error


@dataclass(frozen=True)
class Simplified:
    """A simplified mesh: its vertices (unit-sphere frame, as the loader's), faces, and for each
    vertex the original vertex whose UV and colour it carries."""

    vertices: np.ndarray  # (V', 3) float64
    faces: np.ndarray  # (T', 3) int64
    source: np.ndarray  # (V',) int64 index into the original vertices


def check_file_size(path: str) -> None:
    """Refuse, before loading it, a mesh file too big to load within a task's memory."""
    try:
        size = os.path.getsize(path)
    except OSError:
        return  # the loader names a missing or unreadable file
    if size > MAX_FILE_BYTES:
        raise AssetError(
            f"mesh {path!r} is {size / 2**20:.0f} MiB, over the {MAX_FILE_BYTES >> 20} MiB "
            "a mesh file may have: loading it would exhaust a task's memory.\n"
            f"HINT: simplify it before use (for instance to {DEFAULT_MAX_TRIANGLES} triangles, "
            f"the default of {SETTING}).")


def within_budget(path: str, vertices: np.ndarray, faces: np.ndarray, max_triangles: int,
                  visual) -> tuple[np.ndarray, np.ndarray, object]:
    """The mesh's vertices, faces and visual (uv, colours, material) within `max_triangles`:
    the same objects when it has no more triangles (or the budget is 0), else its cached or
    computed simplification, with the visual's per-vertex and per-face data carried over."""
    count = len(faces)
    if max_triangles <= 0 or count <= max_triangles:
        return vertices, faces, visual
    if count > MAX_SOURCE_TRIANGLES:
        raise AssetError(
            f"mesh {path!r} has {count:,} triangles, more than the {MAX_SOURCE_TRIANGLES:,} "
            f"Lightpipe simplifies at load ({SETTING} is {max_triangles:,}).\n"
            f"HINT: simplify the file itself to at most {MAX_SOURCE_TRIANGLES:,} triangles.")
    result = cached_simplification(path, vertices, faces, max_triangles)
    if len(result.faces) > TOLERANCE * max_triangles:
        raise AssetError(
            f"mesh {path!r} has {count:,} triangles and stays at {len(result.faces):,} after "
            f"simplification, over {SETTING} = {max_triangles:,} (x{TOLERANCE} allowed).\n"
            f"HINT: raise {SETTING} to at least {len(result.faces):,}, or simplify the file.")
    return (_unit_sphere(result.vertices), result.faces,
            carried_visual(visual, result, faces, len(vertices)))


def _unit_sphere(vertices: np.ndarray) -> np.ndarray:
    """Centred and scaled to a unit bounding sphere again, as the loader leaves every mesh:
    the decimator places merged vertices at their quadric optimum, a little off the original
    extent."""
    centred = vertices - (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0
    return centred / float(np.sqrt((centred**2).sum(axis=1)).max())


def simplify(vertices: np.ndarray, faces: np.ndarray, max_triangles: int) -> Simplified:
    """Quadric decimation of (vertices, faces) to at most `max_triangles` (where the surface
    allows), with each kept vertex's original: the vertex its collapses kept (`_survivors`)."""
    import fast_simplification

    points = np.ascontiguousarray(vertices, dtype=np.float64)
    triangles = np.ascontiguousarray(faces, dtype=np.int32)
    new_points, new_faces, collapses = fast_simplification.simplify(
        points, triangles, target_count=max_triangles, return_collapses=True)
    new_faces = np.asarray(new_faces, dtype=np.int64)
    source = _survivors(len(points), triangles, collapses, len(new_points), new_faces)
    if source is None:  # not the library's own bookkeeping: ask it to replay the collapses
        _, replayed, mapping = fast_simplification.replay_simplification(
            points, triangles, collapses)
        if not np.array_equal(replayed, new_faces):
            raise AssetError("quadric simplification gave an inconsistent replay.\n"
                             f"HINT: set {SETTING} to 0 and simplify the mesh yourself.")
        mapping = np.asarray(mapping, dtype=np.int64)
        source = np.zeros(len(new_points), dtype=np.int64)
        used = np.nonzero(mapping >= 0)[0]
        source[mapping[used[::-1]]] = used[::-1]  # the lowest original index mapped to each
    return Simplified(np.asarray(new_points, dtype=np.float64), new_faces, source)


def _survivors(num_points: int, triangles: np.ndarray, collapses, num_kept: int,
               new_faces: np.ndarray) -> np.ndarray | None:
    """The original index of each kept vertex, from the collapses alone (cheaper than the
    library's replay, which holds a second copy of the mesh): collapse [i0, i1] merged i1 into
    i0, so every vertex ends in the root of its chain; faces with two corners in one root are
    gone, and the kept vertices are the roots still used, in index order. None unless that
    gives exactly the library's faces."""
    parent = np.arange(num_points, dtype=np.int64)
    pairs = np.asarray(collapses, dtype=np.int64).reshape(-1, 2)
    parent[pairs[:, 1]] = pairs[:, 0]
    while True:  # pointer jumping: every vertex to its root in log(chain) steps
        jumped = parent[parent]
        if np.array_equal(jumped, parent):
            break
        parent = jumped
    roots = parent[triangles]
    alive = (roots[:, 0] != roots[:, 1]) & (roots[:, 1] != roots[:, 2]) \
        & (roots[:, 0] != roots[:, 2])
    roots = roots[alive]
    kept = np.unique(roots)
    if len(kept) != num_kept or not np.array_equal(np.searchsorted(kept, roots), new_faces):
        return None
    return kept


def carried_visual(visual, result: Simplified, faces: np.ndarray, num_vertices: int):
    """A stand-in for a trimesh visual with the attributes the loader reads (`uv`, `material`,
    `kind`, `vertex_colors`, `face_colors`) for the simplified mesh `result` of `faces` (on
    `num_vertices` vertices): per-vertex data of each vertex's source; a face's colour is that
    of the first original face around the source of its first corner."""
    source = result.source
    attributes = {"material": getattr(visual, "material", None),
                  "kind": getattr(visual, "kind", None)}
    uv = getattr(visual, "uv", None)
    if uv is not None and len(uv) == num_vertices:  # (else the loader ignores them too)
        attributes["uv"] = np.asarray(uv)[source]
    if attributes["kind"] == "vertex":
        attributes["vertex_colors"] = np.asarray(visual.vertex_colors)[source]
    elif attributes["kind"] == "face":
        colors = np.asarray(visual.face_colors)
        first_face = np.full(int(faces.max()) + 1, len(faces), dtype=np.int64)
        for k in range(3):
            np.minimum.at(first_face, faces[:, k], np.arange(len(faces), dtype=np.int64))
        first = first_face[source[result.faces[:, 0]]]
        attributes["face_colors"] = colors[np.minimum(first, len(faces) - 1)]
    return types.SimpleNamespace(**attributes)


def cached_simplification(path: str, vertices: np.ndarray, faces: np.ndarray,
                          max_triangles: int) -> Simplified:
    """`simplify`, read from the on-disk cache when a valid entry is there, else computed and
    stored (see the module's docstring)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 22), b""):
            digest.update(block)
    key = f"{digest.hexdigest()}-{max_triangles}-v{SIMPLIFIER_VERSION}"
    entry = cache_dir() / f"{key}.npz"
    cached = _read_entry(entry, len(vertices), len(faces))
    if cached is not None:
        return cached
    result = simplify_in_child(path, vertices, faces, max_triangles)
    _write_entry(entry, result)
    return result


def simplify_in_child(path: str, vertices: np.ndarray, faces: np.ndarray, max_triangles: int
                      ) -> Simplified:
    """`simplify` in a child process (see the module's docstring); `path` names the mesh in
    errors."""
    package_root = str(Path(__file__).resolve().parents[2])
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [package_root] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p])}
    with tempfile.TemporaryDirectory(prefix="lightpipe-simplify-") as folder:
        given, taken = Path(folder) / "mesh.npz", Path(folder) / "simplified.npz"
        np.savez(given, vertices=np.ascontiguousarray(vertices, dtype=np.float64),
                 faces=np.ascontiguousarray(faces, dtype=np.int32))
        code = "from lightpipe.assets.simplify import _child_main; _child_main()"
        done = subprocess.run([sys.executable, "-c", code, str(given), str(taken),
                               str(max_triangles)], env=env, capture_output=True, text=True)
        result = _read_entry(taken, len(vertices), len(faces)) if done.returncode == 0 else None
    if result is None:
        said = (done.stderr.strip().splitlines() or [f"exit status {done.returncode}"])[-1]
        raise AssetError(f"mesh {path!r} ({len(faces):,} triangles) could not be simplified to "
                         f"{SETTING} = {max_triangles:,}: {said}.\n"
                         f"HINT: simplify the file itself, or set {SETTING} to 0 (no budget).")
    return result


def _child_main() -> None:
    """The child of `simplify_in_child`: argv = the mesh .npz, the result .npz, the budget."""
    given, taken, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with np.load(given, allow_pickle=False) as data:
        vertices, faces = data["vertices"], data["faces"]
    result = simplify(vertices, faces, budget)
    del vertices, faces
    with open(taken, "wb") as out:
        np.savez(out, vertices=result.vertices, faces=result.faces, source=result.source)


def cache_dir() -> Path:
    """Where simplified meshes are cached (see the module's docstring)."""
    if os.environ.get("LIGHTPIPE_CACHE_DIR"):
        base = Path(os.environ["LIGHTPIPE_CACHE_DIR"])
    else:
        home = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        base = Path(home) / "lightpipe"
    return base / "meshes"


def _read_entry(entry: Path, num_source: int, num_faces: int) -> Simplified | None:
    """A cache entry's simplification, or None when it is missing or not a valid one."""
    try:
        with np.load(entry, allow_pickle=False) as data:
            result = Simplified(data["vertices"], data["faces"], data["source"])
    except Exception:  # missing, truncated, or not an npz: computed again
        return None
    v, f, s = result.vertices, result.faces, result.source
    valid = (v.dtype == np.float64 and v.ndim == 2 and v.shape[1:] == (3,) and len(v) >= 3
             and f.dtype == np.int64 and f.ndim == 2 and f.shape[1:] == (3,) and len(f) > 0
             and s.dtype == np.int64 and s.shape == (len(v),)
             and bool(np.isfinite(v).all()) and int(f.min()) >= 0 and int(f.max()) < len(v)
             and int(s.min()) >= 0 and int(s.max()) < num_source
             and len(f) <= num_faces)
    return result if valid else None


def _write_entry(entry: Path, result: Simplified) -> None:
    save_npz_atomically(entry, vertices=result.vertices, faces=result.faces,
                        source=result.source)


def save_npz_atomically(entry: Path, **arrays) -> None:
    """Store `arrays` as the .npz `entry` atomically (a temporary file in the same folder,
    renamed over it); a cache that cannot be written (read-only) is left as it is: the entry
    is computed again next time, the same arrays. For the on-disk caches (meshes, textures)."""
    try:
        entry.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=entry.parent, suffix=".tmp")
        try:
            with os.fdopen(handle, "wb") as out:
                np.savez(out, **arrays)
            os.replace(temporary, entry)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
    except OSError:
        pass
