"""Collision shapes of meshes: convex pieces (the hull by default) and their mass properties.

Pieces are float64 vertex arrays in the mesh's own (unit) space; the engine scales them. Mass
properties come from the pieces' tetrahedra in float64 numpy (sequential sums: the same bits in
every process), never from the engine's bounding-box approximation.
"""

from __future__ import annotations

import functools
import hashlib

import numpy as np

from lightpipe.assets.catalog import AssetError


class CollisionShapeError(AssetError):
    """No collision shape can be built from a mesh (flat, a line, a point)."""


def collision_pieces(vertices: np.ndarray, faces: np.ndarray, mode: str, source: str
                     ) -> tuple[np.ndarray, ...]:
    """Convex pieces of a mesh: `hull` gives its convex hull's vertices (one piece)."""
    vertices = np.ascontiguousarray(vertices, dtype=np.float64)
    key = hashlib.sha256(vertices.tobytes() + np.ascontiguousarray(faces).tobytes()).hexdigest()
    return _pieces(key, vertices, mode, source)


@functools.lru_cache(maxsize=512)
def _cached(key: str, mode: str, source: str, vertices_bytes: bytes, count: int
            ) -> tuple[np.ndarray, ...]:
    vertices = np.frombuffer(vertices_bytes, dtype=np.float64).reshape(count, 3)
    return (hull_vertices(vertices, source),)


def _pieces(key, vertices, mode, source):
    if mode not in ("hull", "decomposition"):
        raise ValueError(f"collision shape {mode!r}: allowed hull, decomposition")
    return _cached(key, "hull", source, vertices.tobytes(), len(vertices))


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
