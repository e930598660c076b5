import math
from dataclasses import dataclass

import numpy as np
import pytest
import torch

from lightpipe.render.backend import EAGER
from lightpipe.render.rasterizer import _clip_near, fragments, rasterize
from lightpipe.render.zbuffer import EMPTY, FACE_MASK, Intrinsics, key_inverse_depth

W, H = 96, 64
INTR = Intrinsics(fx=80.0, fy=80.0, cx=W / 2, cy=H / 2)


def quad(z: float, half: float, cx: float = 0.0, cy: float = 0.0) -> list:
    """Two camera-facing triangles (counter-clockwise as seen from the camera)."""
    a, b = (cx - half, cy - half, z), (cx + half, cy - half, z)
    c, d = (cx + half, cy + half, z), (cx - half, cy + half, z)
    return [[a, c, b], [a, d, c]]


@dataclass(frozen=True)
class Covered:
    """The covered pixels of one frame (flat indices) and their depth, decoded from the keys."""

    pixel: torch.Tensor
    depth: torch.Tensor


def render(tris, near=0.05, budget=1 << 20):
    tris = torch.tensor([tris], dtype=torch.float32)
    keys = rasterize(tris, INTR, W, H, near, budget, EAGER)
    flat = keys.reshape(-1)
    pixel = torch.nonzero(flat != EMPTY).flatten()
    return keys, Covered(pixel, 1.0 / key_inverse_depth(flat[pixel]))


def test_screen_filling_plane_has_its_distance_everywhere():
    keys, surface = render(quad(3.25, 100.0))
    assert bool((keys != EMPTY).all())
    assert torch.allclose(surface.depth, torch.full_like(surface.depth, 3.25), rtol=1e-6)


def test_back_facing_plane_is_culled():
    front = quad(2.0, 100.0)
    keys, _ = render([t[::-1] for t in front])
    assert bool((keys == EMPTY).all())


def uv_sphere(radius, center_z, rings=48, segments=96):
    verts = []
    for i in range(rings + 1):
        theta = math.pi * i / rings
        for j in range(segments):
            phi = 2 * math.pi * j / segments
            verts.append((radius * math.sin(theta) * math.cos(phi), radius * math.cos(theta),
                          center_z + radius * math.sin(theta) * math.sin(phi)))
    tris = []
    for i in range(rings):
        for j in range(segments):
            a, b = i * segments + j, i * segments + (j + 1) % segments
            c, d = a + segments, b + segments
            tris += [[verts[a], verts[b], verts[c]], [verts[b], verts[d], verts[c]]]
    return tris


def test_sphere_silhouette_area_matches_the_analytic_disc():
    radius, dist = 1.0, 5.0
    tris = uv_sphere(radius, dist)
    keys, surface = render(tris)
    covered = int((keys != EMPTY).sum())
    pixel_radius = INTR.fx * math.tan(math.asin(radius / dist))
    expected = math.pi * pixel_radius**2
    assert abs(covered - expected) / expected < 0.03, (covered, expected)
    # The visible point nearest the camera is the sphere's front pole.
    assert float(surface.depth.min()) == pytest.approx(dist - radius, abs=0.01)


def test_nearer_surface_wins_whatever_the_face_order():
    near, far = quad(2.0, 0.5), quad(4.0, 1.5)
    keys_a, surf_a = render(near + far)
    keys_b, surf_b = render(far + near)
    centre = (H // 2) * W + W // 2
    assert float(surf_a.depth[surf_a.pixel == centre]) == pytest.approx(2.0)
    assert float(surf_b.depth[surf_b.pixel == centre]) == pytest.approx(2.0)
    assert torch.equal(torch.sort(surf_a.depth).values, torch.sort(surf_b.depth).values)
    # The far quad still shows around the near one.
    assert bool(((surf_a.depth - 4.0).abs() < 1e-5).any())


def test_ground_plane_crossing_the_near_plane_is_clipped_and_exact():
    h = 1.0  # a floor 1 m below the camera (y points down), from behind the camera to far ahead
    a, b, c, d = (-50, h, -5), (50, h, -5), (50, h, 60), (-50, h, 60)
    tris = [[a, b, c], [a, c, d]]  # facing up (-y), towards the camera
    keys, surface = render(tris, near=0.1)
    assert surface.depth.numel() > W * H // 3
    py = torch.div(surface.pixel, W, rounding_mode="floor")
    ray_y = (py.float() + 0.5 - INTR.cy) / INTR.fy
    assert bool((ray_y > 0).all()), "only pixels below the horizon see the floor"
    assert torch.allclose(surface.depth, h / ray_y, rtol=1e-4)
    bottom_rows = keys[0, -H // 4:]
    assert bool((bottom_rows != EMPTY).all()), "the floor near the camera is not lost by clipping"


def test_result_is_independent_of_threads_and_chunking():
    tris = uv_sphere(1.0, 4.0, 16, 32) + quad(6.0, 20.0)
    results = []
    for threads, budget in ((1, 1 << 20), (2, 1 << 20), (2, 4096)):
        torch.set_num_threads(threads)
        keys, _ = render(tris, budget=budget)
        results.append(keys)
    torch.set_num_threads(2)
    assert all(torch.equal(results[0], r) for r in results[1:])
    faces = results[0][results[0] != EMPTY] & FACE_MASK
    assert int(faces.max()) < len(tris)


def _brute_force(tris):
    """Float64 reference: per pixel centre, the nearest front-facing triangle covering it, and the
    distance (pixels) from the centre to the nearest edge of any triangle (to skip ambiguities)."""
    tris = np.asarray(tris, dtype=np.float64)
    ys, xs = np.mgrid[0:H, 0:W] + 0.5
    best_inv_z = np.zeros((H, W))
    best_face = np.full((H, W), -1)
    margin = np.full((H, W), np.inf)
    for face, tri in enumerate(tris):
        sx = tri[:, 0] / tri[:, 2] * INTR.fx + INTR.cx
        sy = tri[:, 1] / tri[:, 2] * INTR.fy + INTR.cy
        area = (sx[1] - sx[0]) * (sy[2] - sy[0]) - (sx[2] - sx[0]) * (sy[1] - sy[0])
        w = []
        for i in range(3):
            ax, ay, bx, by = sx[(i + 1) % 3], sy[(i + 1) % 3], sx[(i + 2) % 3], sy[(i + 2) % 3]
            e = (ax - xs) * (by - ys) - (bx - xs) * (ay - ys)
            margin = np.minimum(margin, np.abs(e) / np.hypot(bx - ax, by - ay))
            w.append(e * np.sign(area))
        e0, e1, e2 = w
        normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
        if area == 0 or normal @ tri[0] >= 0:  # back-facing: culled
            continue
        inside = (e0 >= 0) & (e1 >= 0) & (e2 >= 0)
        inv_z = (e0 / tri[0, 2] + e1 / tri[1, 2] + e2 / tri[2, 2]) / abs(area)
        nearer = inside & (inv_z > best_inv_z)
        best_inv_z[nearer], best_face[nearer] = inv_z[nearer], face
    return best_face, margin, best_inv_z


def random_triangles(rng, count, z_range=(1.0, 4.0)):
    tris = []
    for _ in range(count):
        centre = rng.uniform([-0.6, -0.4, z_range[0]], [0.6, 0.4, z_range[1]])
        tri = centre + rng.normal(scale=0.25, size=(3, 3)) * [1.0, 1.0, 0.3]
        tris.append(tri.tolist())
    return tris


def test_scanline_coverage_and_depth_order_match_a_float64_brute_force():
    rng = np.random.default_rng(3)
    tris = random_triangles(rng, 60)  # random orientations: about half are culled
    keys, _ = render(tris)
    face = torch.where(keys[0] == EMPTY, -1, keys[0] & FACE_MASK).numpy()
    expected, margin, inv_z = _brute_force(tris)
    # Only pixel centres within a hair of an edge, or of a depth tie, may be decided otherwise.
    clear = margin > 1e-3
    assert int(clear.sum()) > 0.9 * H * W
    assert int((expected >= 0).sum()) > H * W // 4
    mismatch = clear & (face != expected)
    if mismatch.any():
        y, x = np.nonzero(mismatch)
        tie = np.array([abs(inv_z[j, i] - _inv_z_of(tris[face[j, i]], i, j)) for j, i in zip(y, x)])
        assert np.all(tie < 1e-5 * inv_z[y, x]), (int(mismatch.sum()), tie.max())


def _inv_z_of(tri, px, py):
    tri = np.asarray(tri, dtype=np.float64)
    ray = np.array([(px + 0.5 - INTR.cx) / INTR.fx, (py + 0.5 - INTR.cy) / INTR.fy, 1.0])
    normal = np.cross(tri[1] - tri[0], tri[2] - tri[0])
    return (normal @ ray) / (normal @ tri[0])


def jittered_grid(rng, n, z_of_y, extent=3.0):
    """A watertight mesh: n x n jittered grid points, two counter-clockwise triangles per cell."""
    g = np.linspace(-extent, extent, n)
    gx, gy = np.meshgrid(g, g, indexing="xy")
    gx = gx + rng.uniform(-0.3, 0.3, gx.shape) * (g[1] - g[0])
    gy = gy + rng.uniform(-0.3, 0.3, gy.shape) * (g[1] - g[0])
    z = z_of_y(gy)
    verts = np.stack([gx, gy, z], -1).reshape(-1, 3)
    idx = np.arange(n * n).reshape(n, n)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, c, b], -1).reshape(-1, 3),
                            np.stack([b, c, d], -1).reshape(-1, 3)])
    tris = verts[faces]
    normal = np.cross(tris[:, 1] - tris[:, 0], tris[:, 2] - tris[:, 0])
    front = np.einsum("ij,ij->i", normal, tris[:, 0]) < 0
    return np.where(front[:, None, None], tris, tris[:, ::-1]).astype(np.float32)


def coverage_counts(tris, near, budget=1 << 20):
    tris = torch.as_tensor(np.asarray(tris), dtype=torch.float32)[None]
    counts = torch.zeros(H * W, dtype=torch.int64)
    for pixel, _ in fragments(tris, INTR, W, H, near, budget, EAGER):
        counts += torch.bincount(pixel, minlength=H * W)
    return counts.view(H, W)


def assert_covered_once_without_holes(tris, near) -> np.ndarray:
    """Every pixel at most once, every row's covered run contiguous; returns the coverage."""
    counts = coverage_counts(tris, near)
    assert int(counts.max()) == 1, "a pixel was covered twice"
    covered = counts.numpy() == 1
    rows = [np.nonzero(r)[0] for r in covered]
    assert sum(len(r) for r in rows) > H * W // 3
    assert all(len(r) == 0 or len(r) == r[-1] - r[0] + 1 for r in rows)
    return covered


def test_shared_edges_on_a_pixel_aligned_grid_cover_every_pixel_exactly_once():
    # At z = 4 every vertex lands on a multiple of 1.25 px: many pixel centres lie exactly
    # on edges, where both neighbours must agree bit for bit.
    rng = np.random.default_rng(11)
    tris = np.round(jittered_grid(rng, 25, lambda y: 4.0 + 0 * y, extent=2.0) * 16) / 16
    tris[..., 2] = 4.0
    covered = assert_covered_once_without_holes(tris, near=0.05)
    assert covered[H // 4:3 * H // 4, W // 4:3 * W // 4].all()


def test_shared_edges_of_a_sheet_through_the_near_plane_cover_every_pixel_exactly_once():
    # A floor-like sheet from behind the camera to far ahead: many clipped triangles.
    rng = np.random.default_rng(11)
    tris = jittered_grid(rng, 25, lambda y: 3.0 + 2.0 * y, extent=4.0)
    assert_covered_once_without_holes(tris, near=0.5)


def test_fragments_do_not_depend_on_the_chunk_budget():
    rng = np.random.default_rng(5)
    tris = torch.tensor([random_triangles(rng, 40)] * 2, dtype=torch.float32)  # two frames

    def collect(budget):
        chunks = fragments(tris, INTR, W, H, 0.05, budget, EAGER)
        pairs = torch.cat([torch.stack([pixel, key], 1) for pixel, key in chunks]).numpy()
        return pairs[np.lexsort(pairs.T)]

    reference = collect(1 << 20)
    assert reference.shape[0] > 1000
    for budget in (1, 97, 4096):
        assert np.array_equal(collect(budget), reference)


def test_near_clipping_gives_shared_edges_identical_crossing_points():
    rng = np.random.default_rng(8)
    n, near = 300, 0.5
    p = rng.uniform([-1, -1, 0.6], [1, 1, 3], (n, 3))  # in front of the near plane
    q = rng.uniform([-1, -1, -2], [1, 1, 0.4], (n, 3))  # behind it
    r = rng.uniform([-1, -1, 0.6], [1, 1, 3], (n, 3))
    s = rng.uniform([-1, -1, 0.6], [1, 1, 3], (n, 3))
    # A = (p, q, r) and B = (q, p, s) share the edge p-q, traversed in opposite directions.
    tris = torch.tensor(np.concatenate([np.stack([p, q, r], 1), np.stack([q, p, s], 1)]),
                        dtype=torch.float32)
    clipped, parent = _clip_near(tris, near)
    points = {}
    for tri, owner in zip(clipped.numpy(), parent.numpy()):
        for point in tri[tri[:, 2] == np.float32(near)]:
            points.setdefault(owner, set()).add(point.tobytes())
    shared = [len(points[i] & points[i + n]) for i in range(n)]
    assert shared == [1] * n
