"""Collision shapes of meshes: convex pieces (the hull by default, or a convex decomposition)
and their mass properties.

Pieces are float64 vertex arrays in the mesh's own (unit) space; the engine scales them. Mass
properties come from the pieces' tetrahedra in float64 numpy (the same bits in every process),
never from the engine's bounding-box approximation.

A decomposition (CoACD, seeded: the same pieces in every process) takes seconds per mesh, so it
is cached on disk, keyed by the sha256 of the mesh, the parameters and CoACD's version, under
`$LIGHTPIPE_CACHE_DIR` (default `$XDG_CACHE_HOME/lightpipe`, else `~/.cache/lightpipe`),
in `collision/`; files are written whole and renamed into place, so many tasks may fill the
cache at once (each would compute the same pieces).
"""

from __future__ import annotations

import functools
import hashlib
from importlib import metadata
from pathlib import Path

import numpy as np

from lightpipe.assets.catalog import USER_PREFIX, AssetError, Catalog, user_path
from lightpipe.atomic_io import write_bytes

DECOMPOSITION = {"threshold": 0.08, "max_convex_hull": 16, "seed": 0}  # CoACD's parameters


class CollisionShapeError(AssetError):
    """No collision shape can be built from a mesh (flat, a line, a point)."""


def collision_pieces(vertices: np.ndarray, faces: np.ndarray, mode: str, source: str
                     ) -> tuple[np.ndarray, ...]:
    """Convex pieces of a mesh: `hull` gives its convex hull's vertices (one piece),
    `decomposition` CoACD's pieces (cached); `source` names the mesh in errors."""
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    faces = np.ascontiguousarray(faces, dtype=np.int64)
    key = hashlib.sha256(vertices.tobytes() + faces.tobytes()).hexdigest()
    return _pieces(key, vertices, faces, mode, source)


_PIECES: dict[tuple[str, str], tuple[np.ndarray, ...]] = {}


def _pieces(key: str, vertices: np.ndarray, faces: np.ndarray, mode: str, source: str
            ) -> tuple[np.ndarray, ...]:
    if mode not in ("hull", "decomposition"):
        raise ValueError(f"collision shape {mode!r}: allowed hull, decomposition")
    found = _PIECES.get((key, mode))
    if found is None:
        found = (hull_vertices(vertices, source),) if mode == "hull" else \
            decomposition(vertices, faces, key, source)
        if len(_PIECES) > 512:
            _PIECES.clear()
        _PIECES[(key, mode)] = found
    return found


def cache_dir() -> Path:
    """Where decompositions are cached (see the module's docstring)."""
    from lightpipe.assets.file_cache import user_cache_dir

    return user_cache_dir()


def decomposition(vertices: np.ndarray, faces: np.ndarray, key: str, source: str
                  ) -> tuple[np.ndarray, ...]:
    """Convex pieces of a (possibly concave) mesh by CoACD, each as its hull's vertices;
    cached on disk."""
    version = metadata.version("coacd")
    tag = hashlib.sha256(f"{key}\0coacd {version}\0{sorted(DECOMPOSITION.items())}".encode())
    path = cache_dir() / "collision" / f"{tag.hexdigest()}.npz"
    if path.exists():
        try:
            with np.load(path) as data:
                return tuple(_frozen(data[f"piece{i}"]) for i in range(int(data["count"])))
        except (OSError, ValueError, KeyError):
            pass  # a damaged entry: computed again below and replaced
    import coacd

    coacd.set_log_level("error")
    parts = coacd.run_coacd(coacd.Mesh(vertices, np.asarray(faces, dtype=np.int64)),
                            preprocess_mode="auto", **DECOMPOSITION)
    pieces = []
    for part_vertices, _ in parts:
        try:
            pieces.append(hull_vertices(np.asarray(part_vertices, dtype=np.float64), source))
        except CollisionShapeError:
            continue  # a sliver: the others hold the volume
    if not pieces:
        pieces = [hull_vertices(vertices, source)]
    import io

    buffer = io.BytesIO()
    np.savez(buffer, count=len(pieces), **{f"piece{i}": p for i, p in enumerate(pieces)})
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        write_bytes(path, buffer.getvalue())
    except OSError:
        pass  # a read-only cache: recomputed next time, the same pieces
    return tuple(_frozen(p) for p in pieces)


def _frozen(array: np.ndarray) -> np.ndarray:
    out = np.ascontiguousarray(array, dtype=np.float64)
    out.setflags(write=False)
    return out


def collision_problems(catalog: Catalog, load_mesh, params: dict | None = None) -> list[str]:
    """One line per user mesh from which no collision shape can be built (its convex hull
    spans no volume), named with its file; `load_mesh(asset_id)` gives the mesh, and `params`
    (JSON-able) names what it depends on beyond the files. Each outcome is kept in the asset
    cache (lightpipe.assets.file_cache): a mesh is loaded only when one of its files changed."""
    if catalog.root is None:
        return []
    from lightpipe.assets.file_cache import file_cache

    cache, problems = file_cache(catalog.root), []
    for asset_id in catalog.objects:
        if asset_id.startswith(USER_PREFIX):
            found = cache.record("collision hull", catalog.asset_files(asset_id),
                                 {**_hull_versions(), **(params or {})},
                                 lambda: _hull_problem(catalog, asset_id, load_mesh))
            if found["problem"]:
                problems.append(found["problem"])
    cache.flush()
    return problems


@functools.lru_cache(maxsize=1)
def _hull_versions() -> dict:
    """What a cached hull check depends on beyond the files: this check, the mesh reader and
    qhull (SciPy)."""
    return {"check": 1, "trimesh": metadata.version("trimesh"),
            "scipy": metadata.version("scipy")}


def _hull_problem(catalog: Catalog, asset_id: str, load_mesh) -> dict:
    """{"problem": text or None} of one mesh (None also when it does not load: the
    catalogue's own check names it)."""
    try:
        mesh = load_mesh(asset_id)
    except AssetError:
        return {"problem": None}
    try:
        hull_vertices(np.asarray(mesh.vertices, dtype=np.float64),
                      str(user_path(catalog.root, asset_id)))
    except CollisionShapeError as exc:
        return {"problem": str(exc).split("\nHINT:")[0].rstrip(".")}
    return {"problem": None}


def hull_vertices(points: np.ndarray, source: str) -> np.ndarray:
    """The vertices of the convex hull of `points` (in qhull's order), or CollisionShapeError
    naming `source` when they span no volume."""
    from scipy.spatial import ConvexHull, QhullError

    try:
        hull = ConvexHull(points)
    except (QhullError, ValueError) as exc:
        raise CollisionShapeError(
            f"mesh {source!r}: no collision shape can be built from it (its vertices span no "
            f"volume: {str(exc).strip().splitlines()[0] if str(exc).strip() else 'flat'}).\n"
            "HINT: a rigid body needs a solid: give the mesh thickness, or set "
            "--settings.scene.dynamics kinematic") from None
    if hull.volume <= 1e-12:
        raise CollisionShapeError(f"mesh {source!r}: no collision shape can be built from it "
                                  "(its convex hull has no volume)")
    out = np.ascontiguousarray(points[np.sort(hull.vertices)], dtype=np.float64)
    out.setflags(write=False)
    return out


def mass_properties(pieces: tuple[np.ndarray, ...], scale: float
                    ) -> tuple[float, np.ndarray, np.ndarray]:
    """(volume m^3, centre of mass (3,), inertia tensor per unit density (3,3) about the
    centre of mass) of the union of convex `pieces` scaled by `scale` (pieces assumed apart)."""
    from scipy.spatial import ConvexHull

    volume, first, second = 0.0, np.zeros(3), np.zeros((3, 3))
    for piece in pieces:
        points = piece * scale
        hull = ConvexHull(points)
        apex = points.mean(axis=0)
        corners = np.concatenate([np.broadcast_to(apex, (len(hull.simplices), 1, 3)),
                                  points[hull.simplices]], axis=1)  # (T,4,3) tetrahedra
        a, b, c = (corners[:, i] - apex for i in (1, 2, 3))
        cross = np.stack([b[:, 1] * c[:, 2] - b[:, 2] * c[:, 1],
                          b[:, 2] * c[:, 0] - b[:, 0] * c[:, 2],
                          b[:, 0] * c[:, 1] - b[:, 1] * c[:, 0]], axis=1)
        vol = np.abs((a[:, 0] * cross[:, 0] + a[:, 1] * cross[:, 1]) + a[:, 2] * cross[:, 2]) / 6.0
        total = corners.sum(axis=1)  # (T,3)
        volume += float(vol.sum())
        first += (vol[:, None] * total).sum(axis=0) / 4.0
        # Integral of x x^T over a tetrahedron: vol/20 (sum v v^T + (sum v)(sum v)^T).
        outer = (corners[:, :, :, None] * corners[:, :, None, :]).sum(axis=1) \
            + total[:, :, None] * total[:, None, :]
        second += (vol[:, None, None] / 20.0 * outer).sum(axis=0)
    centre = first / volume
    covariance = second - volume * np.outer(centre, centre)
    inertia = np.trace(covariance) * np.eye(3) - covariance
    return volume, centre, inertia
