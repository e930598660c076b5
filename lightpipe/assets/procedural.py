"""Built-in procedural meshes, derived deterministically from an asset id (materials: `materials.py`)."""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from lightpipe.assets.builtin_ids import BUILTIN_OBJECT_IDS, asset_rng, check_builtin_id

_TAU = 2.0 * np.pi


@dataclass(frozen=True)
class Mesh:
    """Triangle mesh inside the unit sphere, bounding-box centre at the origin, max vertex norm 1.

    Attributes:
        vertices: (V, 3) float32 positions.
        faces: (F, 3) int64 indices, counter-clockwise seen from outside (right-handed).
        normals: (V, 3) float32 unit vertex normals (per-face on flat sides of hard-edged shapes).
        uvs: (V, 2) float32 texture coordinates in [0, 1].
    """

    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray


@functools.lru_cache(maxsize=None)
def object_mesh(asset_id: str) -> Mesh:
    """Return the built-in mesh ``asset_id`` (cached; arrays are read-only)."""
    family = check_builtin_id(asset_id, BUILTIN_OBJECT_IDS, "object")
    return _finish(*_OBJECT_BUILDERS[family](asset_rng(asset_id)))


# ----------------------------------------------------------------------------------------------------------------
# Mesh assembly. Every shape is a set of grid "pieces" P[row, col] whose columns run counter-clockwise around +z
# and whose rows run upward (or inward on top caps), so that dP/dcol x dP/drow points outward.


def _finish(v: np.ndarray, f: np.ndarray, uv: np.ndarray, group: np.ndarray) -> Mesh:
    """Drop degenerate faces and unused vertices, normalize, and weld normals within each group."""
    scale = np.linalg.norm(v - 0.5 * (v.min(0) + v.max(0)), axis=1).max()
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])
    f = f[np.linalg.norm(cross, axis=1) > 1e-9 * scale * scale]
    used, f = np.unique(f, return_inverse=True)
    f = f.reshape(-1, 3)
    v, uv, group = v[used], uv[used], group[used]
    v = v - 0.5 * (v.min(0) + v.max(0))
    v = v / np.linalg.norm(v, axis=1).max()
    cross = np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]])  # area-weighted face normals
    acc = np.zeros_like(v)
    for k in range(3):
        np.add.at(acc, f[:, k], cross)
    key = np.column_stack([group.astype(np.int64), np.rint(v * 1e6).astype(np.int64)])
    _, inv = np.unique(key, axis=0, return_inverse=True)
    inv = inv.reshape(-1)
    welded = np.zeros((int(inv.max()) + 1, 3))
    np.add.at(welded, inv, acc)
    n = welded[inv]
    n = n / np.linalg.norm(n, axis=1, keepdims=True)
    arrays = (v.astype(np.float32), f.astype(np.int64), n.astype(np.float32), np.clip(uv, 0, 1).astype(np.float32))
    for a in arrays:
        a.setflags(write=False)
    return Mesh(*arrays)


def _assemble(pieces: list[tuple[np.ndarray, np.ndarray, bool]], smooth: bool):
    vs, fs, uvs, groups, offset = [], [], [], [], 0
    for k, (p, uv, split_top) in enumerate(pieces):
        rows, cols = p.shape[:2]
        a = (np.arange(rows - 1)[:, None] * cols + np.arange(cols - 1)[None, :]).reshape(-1)
        b, c, d = a + 1, a + cols + 1, a + cols
        fs.append(np.stack([np.stack([a, b, c], 1), np.stack([a, c, d], 1)], 1).reshape(-1, 3) + offset)
        vs.append(p.reshape(-1, 3))
        uvs.append(uv.reshape(-1, 2))
        group = np.full((rows, cols), 0 if smooth else k + 1)
        if split_top:  # an apex row keeps one normal per adjacent face instead of a single averaged one
            group[-1] = -1 - offset - np.arange(cols)
        groups.append(group.reshape(-1))
        offset += rows * cols
    return np.concatenate(vs), np.concatenate(fs), np.concatenate(uvs), np.concatenate(groups)


def _piece(p: np.ndarray, uv: np.ndarray | None = None, split_top: bool = False):
    if uv is None:
        uv = np.stack(np.meshgrid(np.linspace(0, 1, p.shape[1]), np.linspace(0, 1, p.shape[0])), -1)
    return p, uv, split_top


def _circle(n: int, rx: float, ry: float) -> np.ndarray:
    a = np.linspace(0.0, _TAU, n + 1)
    loop = np.stack([rx * np.cos(a), ry * np.sin(a)], 1)
    loop[-1] = loop[0]  # exact closure so seam vertices weld
    return loop


def _polygon(n: int, rx: float, ry: float, phase: float) -> np.ndarray:
    per_side = -(-24 // n)  # about 24 rim points whatever n, so flat sides get subdivided too
    a = phase + _TAU * np.arange(n) / n
    corners = np.stack([rx * np.cos(a), ry * np.sin(a)], 1)
    s = (np.arange(per_side) / per_side)[None, :, None]
    sides = corners[:, None] + s * (np.roll(corners, -1, axis=0) - corners)[:, None]
    return np.concatenate([sides.reshape(-1, 2), corners[:1]])


def _lift(xy: np.ndarray, z: float) -> np.ndarray:
    return np.concatenate([xy, np.full((len(xy), 1), z)], 1)


def _revolve(r: np.ndarray, z: np.ndarray, loop: np.ndarray):
    z = np.broadcast_to(z[:, None, None], (len(z), len(loop), 1))
    return _piece(np.concatenate([r[:, None, None] * loop[None], z], 2))


def _wall(bottom: np.ndarray, top: np.ndarray, rows: int, split_top: bool = False):
    t = np.linspace(0.0, 1.0, rows + 1)[:, None, None]
    return _piece((1.0 - t) * bottom[None] + t * top[None], split_top=split_top)


def _cap(loop: np.ndarray, z: float, rings: int, up: bool):
    t = np.linspace(0.0, 1.0, rings + 1)[::-1 if up else 1]
    xy = t[:, None, None] * loop[None]
    p = np.concatenate([xy, np.full(xy.shape[:2] + (1,), z)], 2)
    return _piece(p, 0.5 + 0.5 * xy / np.linalg.norm(loop, axis=1).max())


def _quad(a, b, c, d, n: int):
    s = np.linspace(0.0, 1.0, n + 1)[None, :, None]
    t = np.linspace(0.0, 1.0, n + 1)[:, None, None]
    return _piece((1.0 - t) * ((1.0 - s) * a + s * b) + t * ((1.0 - s) * d + s * c))


def _spow(x: np.ndarray, e: float) -> np.ndarray:
    return np.sign(x) * np.abs(x) ** e


def _latitudes(n: int) -> tuple[np.ndarray, np.ndarray]:
    lat = np.linspace(-0.5 * np.pi, 0.5 * np.pi, n + 1)
    cos, sin = np.cos(lat), np.sin(lat)
    cos[[0, -1]], sin[[0, -1]] = 0.0, (-1.0, 1.0)  # exact poles
    return cos, sin


def _rotate(xy: np.ndarray, angle: float) -> np.ndarray:
    c, s = np.cos(angle), np.sin(angle)
    return xy @ np.array([[c, s], [-s, c]])


# ----------------------------------------------------------------------------------------------------------------
# Object families: each takes the id's generator and returns (vertices, faces, uvs, normal-weld groups).


def _box(rng):
    half, n, eye, pieces = rng.uniform(0.35, 1.0, 3), int(rng.integers(5, 9)), np.eye(3), []
    for axis in range(3):
        for sign in (1.0, -1.0):
            c, a1, a2 = sign * eye[axis] * half, eye[(axis + 1) % 3] * half, sign * eye[(axis + 2) % 3] * half
            pieces.append(_quad(c - a1 - a2, c + a1 - a2, c + a1 + a2, c - a1 + a2, n))
    return _assemble(pieces, smooth=False)


def _sphere(rng):
    radii, nu, nv = rng.uniform(0.55, 1.0, 3), int(rng.integers(24, 49)), int(rng.integers(12, 25))
    cos, sin = _latitudes(nv)
    return _assemble([_revolve(cos, radii[2] * sin, _circle(nu, radii[0], radii[1]))], smooth=True)


def _superquadric(rng):
    radii, (e1, e2) = rng.uniform(0.55, 1.0, 3), rng.uniform(0.3, 1.8, 2)
    nu, nv = int(rng.integers(32, 49)), int(rng.integers(16, 25))
    cos, sin = _latitudes(nv)
    loop = _spow(_circle(nu, 1.0, 1.0), e2) * radii[:2]
    return _assemble([_revolve(_spow(cos, e1), radii[2] * _spow(sin, e1), loop)], smooth=True)


def _capsule(rng):
    r, half, ry = rng.uniform(0.25, 0.6), rng.uniform(0.15, 0.9), rng.uniform(0.8, 1.0)
    nu, nh, ns = int(rng.integers(24, 41)), int(rng.integers(6, 11)), int(rng.integers(2, 6))
    cos, sin = _latitudes(2 * nh)
    z = np.concatenate([r * sin[: nh + 1] - half, np.linspace(-half, half, ns + 1)[1:-1], r * sin[nh:] + half])
    rad = np.concatenate([cos[: nh + 1], np.ones(ns - 1), cos[nh:]])
    return _assemble([_revolve(rad, z, _circle(nu, r, r * ry))], smooth=True)


def _torus(rng):
    r, rz, ry = rng.uniform(0.2, 0.55), rng.uniform(0.7, 1.3), rng.uniform(0.8, 1.0)
    nu, nv = int(rng.integers(32, 49)), int(rng.integers(12, 25))
    a = np.linspace(0.0, _TAU, nv + 1)
    cos, sin = np.cos(a), np.sin(a)
    cos[-1], sin[-1] = cos[0], sin[0]
    return _assemble([_revolve(1.0 + r * cos, rz * r * sin, _circle(nu, 1.0, ry))], smooth=True)


def _cylinder(rng):
    r, ry, h = rng.uniform(0.3, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.4, 2.0)
    nu, rows, rings = int(rng.integers(16, 49)), int(rng.integers(4, 9)), int(rng.integers(2, 5))
    loop = _circle(nu, r, r * ry)
    wall = _wall(_lift(loop, -h / 2), _lift(loop, h / 2), rows)
    return _assemble([_cap(loop, -h / 2, rings, up=False), wall, _cap(loop, h / 2, rings, up=True)], smooth=False)


def _cone(rng):
    r, ry, h = rng.uniform(0.4, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.5, 2.0)
    nu, rows, rings = int(rng.integers(24, 49)), int(rng.integers(4, 11)), int(rng.integers(2, 5))
    loop = _circle(nu, r, r * ry)
    side = _wall(_lift(loop, 0.0), _lift(np.zeros_like(loop), h), rows, split_top=True)
    return _assemble([_cap(loop, 0.0, rings, up=False), side], smooth=False)


def _sides(loop: np.ndarray, n: int) -> list[np.ndarray]:
    k = (len(loop) - 1) // n
    return [loop[i * k : (i + 1) * k + 1] for i in range(n)]


def _prism(rng):
    n, r, ry, h = int(rng.integers(3, 9)), rng.uniform(0.4, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.4, 2.0)
    rows, rings = int(rng.integers(3, 7)), int(rng.integers(2, 4))
    loop = _polygon(n, r, r * ry, rng.uniform(0.0, _TAU))
    walls = [_wall(_lift(s, -h / 2), _lift(s, h / 2), rows) for s in _sides(loop, n)]
    return _assemble([_cap(loop, -h / 2, rings, up=False), *walls, _cap(loop, h / 2, rings, up=True)], smooth=False)


def _pyramid(rng):
    n, r, ry, h = int(rng.integers(3, 7)), rng.uniform(0.5, 1.0), rng.uniform(0.7, 1.0), rng.uniform(0.6, 1.8)
    rows, rings = int(rng.integers(4, 9)), int(rng.integers(2, 4))
    loop = _polygon(n, r, r * ry, rng.uniform(0.0, _TAU))
    walls = [_wall(_lift(s, 0.0), _lift(np.zeros_like(s), h), rows) for s in _sides(loop, n)]
    return _assemble([_cap(loop, 0.0, rings, up=False), *walls], smooth=False)


def _gem(rng):
    n, ry, table = int(rng.integers(6, 13)), rng.uniform(0.75, 1.0), rng.uniform(0.4, 0.7)
    crown, depth = rng.uniform(0.15, 0.4), rng.uniform(0.5, 1.0)
    loop = _polygon(n, 1.0, ry, rng.uniform(0.0, _TAU))
    pieces = [_wall(_lift(np.zeros_like(s), -depth), _lift(s, 0.0), 4) for s in _sides(loop, n)]
    pieces += [_wall(_lift(s, 0.0), _lift(table * s, crown), 2) for s in _sides(loop, n)]
    return _assemble([*pieces, _cap(table * loop, crown, 3, up=True)], smooth=False)


def _twisted(rng):
    n, r, ry, h = int(rng.integers(3, 7)), rng.uniform(0.4, 1.0), rng.uniform(0.6, 1.0), rng.uniform(0.8, 2.0)
    twist, rows = rng.choice([-1.0, 1.0]) * rng.uniform(np.pi / 6, np.pi / 2), int(rng.integers(8, 15))
    loop = _polygon(n, r, r * ry, rng.uniform(0.0, _TAU))
    t = np.linspace(0.0, 1.0, rows + 1)
    walls = [
        _piece(np.stack([_lift(_rotate(s, twist * (ti - 0.5)), h * (ti - 0.5)) for ti in t]))
        for s in _sides(loop, n)
    ]
    caps = [_cap(_rotate(loop, -twist / 2), -h / 2, 2, up=False), _cap(_rotate(loop, twist / 2), h / 2, 2, up=True)]
    return _assemble([caps[0], *walls, caps[1]], smooth=False)


def _rock(rng):
    v, f = _icosphere(int(rng.integers(2, 4)))
    dirs = rng.normal(size=(12, 3))
    freq, phase = rng.uniform(1.0, 5.0, 12), rng.uniform(0.0, _TAU, 12)
    field = (np.sin((v @ dirs.T) / np.linalg.norm(dirs, axis=1) * freq + phase) / freq).sum(1) / (1.0 / freq).sum()
    p = v * (1.0 + rng.uniform(0.2, 0.35) * field)[:, None] * rng.uniform(0.6, 1.0, 3)
    uv = np.stack([np.arctan2(v[:, 1], v[:, 0]) / _TAU, np.arcsin(np.clip(v[:, 2], -1, 1)) / np.pi], 1) + 0.5
    return p, f, uv, np.zeros(len(v), dtype=np.int64)


def _icosphere(level: int) -> tuple[np.ndarray, np.ndarray]:
    g = (1.0 + 5.0**0.5) / 2.0
    v = np.array([[-1, g, 0], [1, g, 0], [-1, -g, 0], [1, -g, 0], [0, -1, g], [0, 1, g], [0, -1, -g],
                  [0, 1, -g], [g, 0, -1], [g, 0, 1], [-g, 0, -1], [-g, 0, 1]], dtype=np.float64)  # fmt: skip
    f = np.array([[0, 11, 5], [0, 5, 1], [0, 1, 7], [0, 7, 10], [0, 10, 11], [1, 5, 9], [5, 11, 4], [11, 10, 2],
                  [10, 7, 6], [7, 1, 8], [3, 9, 4], [3, 4, 2], [3, 2, 6], [3, 6, 8], [3, 8, 9], [4, 9, 5],
                  [2, 4, 11], [6, 2, 10], [8, 6, 7], [9, 8, 1]], dtype=np.int64)  # fmt: skip
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    for _ in range(level):
        edges = np.sort(np.concatenate([f[:, [0, 1]], f[:, [1, 2]], f[:, [2, 0]]]), axis=1)
        uniq, inv = np.unique(edges, axis=0, return_inverse=True)
        mid = v[uniq[:, 0]] + v[uniq[:, 1]]
        ab, bc, ca = inv.reshape(3, -1) + len(v)
        v = np.concatenate([v, mid / np.linalg.norm(mid, axis=1, keepdims=True)])
        a, b, c = f.T
        f = np.concatenate([np.stack(t, 1) for t in ((a, ab, ca), (b, bc, ab), (c, ca, bc), (ab, bc, ca))])
    inward = (np.cross(v[f[:, 1]] - v[f[:, 0]], v[f[:, 2]] - v[f[:, 0]]) * v[f].sum(1)).sum(1) < 0
    f[inward] = f[inward][:, ::-1]
    return v, f


_OBJECT_BUILDERS = {
    "box": _box, "capsule": _capsule, "cone": _cone, "cylinder": _cylinder, "gem": _gem, "prism": _prism,
    "pyramid": _pyramid, "rock": _rock, "sphere": _sphere, "superquadric": _superquadric, "torus": _torus,
    "twisted": _twisted,
}  # fmt: skip
