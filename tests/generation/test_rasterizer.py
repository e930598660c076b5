import math

import numpy as np
import pytest
import torch

from lightpipe.generation.rasterizer import EMPTY, Intrinsics, key_faces, rasterize
from lightpipe.generation.shading import visible_surface

W, H = 96, 64
INTR = Intrinsics(fx=80.0, fy=80.0, cx=W / 2, cy=H / 2)


def quad(z: float, half: float, cx: float = 0.0, cy: float = 0.0) -> list:
    """Two camera-facing triangles (counter-clockwise as seen from the camera)."""
    a, b = (cx - half, cy - half, z), (cx + half, cy - half, z)
    c, d = (cx + half, cy + half, z), (cx - half, cy + half, z)
    return [[a, c, b], [a, d, c]]


def render(tris, near=0.05, budget=1 << 20):
    tris = torch.tensor([tris], dtype=torch.float32)
    keys = rasterize(tris, INTR, W, H, near, budget)
    return keys, visible_surface(keys, tris, INTR)


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
    faces = key_faces(results[0][results[0] != EMPTY])
    assert int(faces.max()) < len(tris)
