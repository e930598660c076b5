"""Mip-mapped textures and their footprint, the backdrop cube and the environment ground: the
numbers each stage must give, and the same bits from the native kernels."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from lightpipe.assets.materials import MaterialMaps, flat_maps
from lightpipe.render import environment as env_light
from lightpipe.render import look, native, shading
from lightpipe.render.camera_response import SRGB_TO_LINEAR
from lightpipe.render.textures import (
    TEXEL_BYTES,
    Textures,
    colour_code,
    mip_chain,
    mip_level,
    sample_anisotropic,
)
from lightpipe.render.zbuffer import Intrinsics


def _checker(size: int, square: int) -> MaterialMaps:
    cells = (np.arange(size) // square)
    pattern = (cells[:, None] + cells[None, :]) % 2
    albedo = np.repeat((pattern * 255).astype(np.uint8)[..., None], 3, axis=2)
    maps = flat_maps(albedo)
    return MaterialMaps(maps.albedo, pattern.astype(np.float32), maps.metallic, maps.normal)


def _levels(chain: np.ndarray, size: int) -> list[np.ndarray]:
    out, start = [], 0
    while size >= 1:
        out.append(chain[start:start + size * size].reshape(size, size, TEXEL_BYTES))
        start += size * size
        size //= 2
    assert start == chain.shape[0]
    return out


def test_the_mip_chain_of_a_checker_averages_in_linear_light():
    levels = _levels(mip_chain(_checker(16, 2)), 16)
    assert [lv.shape[0] for lv in levels] == [16, 8, 4, 2, 1]
    # Level 1 of 2-texel squares: still the checker, each texel one square.
    assert set(np.unique(levels[1][..., 0])) == {0, 255}
    # Level 2 averages a black and a white square per axis: half the light, not half the code:
    # the code of sqrt(0.5).
    grey = int(colour_code(np.array(0.5)))
    assert grey == 180 and abs((grey / 255) ** 2 - 0.5) < 0.004
    for level in levels[2:]:
        assert np.all(level[..., :3] == grey)
        assert np.all(level[..., 3] == 128)  # roughness 0 / 1 averages to 0.5 -> code 128 (rint)
        assert np.all(level[..., 4] == 0)  # metalness stays 0
        assert np.all(level[..., 5:7] == 128) and np.all(level[..., 7] == 255)  # flat normal


def test_mip_level_is_log2_of_the_footprint():
    rho = torch.tensor([0.25, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 1000.0, 1e9])
    last = torch.full((rho.numel(),), 4, dtype=torch.int64)
    level, following, fraction = mip_level(rho, last)
    assert level.tolist() == [0, 0, 0, 1, 1, 2, 2, 4, 4]
    assert following.tolist() == [1, 1, 1, 2, 2, 3, 3, 4, 4]
    assert torch.allclose(fraction, torch.tensor([0.0, 0.0, 0.5, 0.0, 0.5, 0.0, 0.5, 1.0, 1.0]))


def _plane_planes(tris, uvs, size):
    """`surface_planes` of single faces (1 frame), their material 0 of side `size`."""
    t = tris.shape[0]
    info = torch.zeros(look.FACE_INFO_ROWS, t)
    info[look.FACE_TINT:look.FACE_TINT + 3] = 1.0
    info[look.FACE_ROUGHNESS_SCALE] = 1.0
    normals = torch.zeros_like(tris)
    normals[..., 2] = -1.0
    return shading.surface_planes(tris[None], normals[None], uvs, info,
                                  torch.full((t,), float(size)))[0]


@pytest.mark.parametrize("tilt_deg", [0.0, 60.0, 80.0])
def test_the_footprint_picks_the_level_of_a_known_slope(tilt_deg):
    """A plane at depth 4 m seen head-on by a camera of fx = fy = 100 px, tilted about the
    camera's x axis by `tilt`, textured at 64 texels per metre: at the image centre a pixel spans
    4 / 100 m across and 4 / (100 cos tilt) m along the slope: 2.56 / cos(tilt) texels, so the
    level is floor(log2) of that and the fraction the mantissa's."""
    tilt = math.radians(tilt_deg)
    size, metres = 256, 4.0  # the texture spans 4 m: 64 texels per metre
    down = (0.0, -math.cos(tilt), math.sin(tilt))  # the plane's "v" axis in camera space
    corners = [(0.0, 0.0), (1.0, 0.0), (0.0, 1.0)]
    points = [[u * metres + (-0.5 * metres), 0.0, 0.0] for u, _ in corners]
    for point, (_, v) in zip(points, corners):
        for k in range(3):
            point[k] += (v - 0.5) * metres * down[k]
        point[2] += 4.0
    tris = torch.tensor([points], dtype=torch.float32)
    uvs = torch.tensor([corners], dtype=torch.float32)
    p = _plane_planes(tris, uvs, size)
    light = shading.frame_light((0.0, 1.0, 0.0), (1.0, 1.0, 1.0), 1.0, 4,
                                Intrinsics(100.0, 100.0, 0.0, 0.0), "cpu")
    zero = torch.zeros(1)
    inv_det, _ = shading.surface_depth(p, zero, zero)
    _, _, sx, tx, sy, ty = shading.texture_steps(p, light, zero, zero, inv_det)
    across, along = 2.56, 2.56 / math.cos(tilt)
    assert float((sx * sx + tx * tx).sqrt()) == pytest.approx(across, rel=1e-4)
    assert float((sy * sy + ty * ty).sqrt()) == pytest.approx(along, rel=1e-4)
    # Two taps along the slope, each filtered over max(along / 2, across) (2x anisotropic).
    rho = max(along / 2, across)
    level, _, fraction = mip_level(torch.tensor([rho], dtype=torch.float32), torch.tensor([8]))
    expected = math.floor(math.log2(rho))
    assert int(level) == expected
    assert float(fraction) == pytest.approx(rho / 2 ** expected - 1.0, rel=1e-4)


def test_a_magnified_sample_is_the_wrapping_bilinear_of_level_0():
    rng = np.random.default_rng(0)
    size = 8
    albedo = rng.integers(0, 256, (size, size, 3), dtype=np.uint8)
    maps = flat_maps(albedo)
    textures = Textures.create([mip_chain(maps)], "cpu")
    x = torch.tensor(rng.uniform(-2.5 * size, 2.5 * size, 300), dtype=torch.float32)
    y = torch.tensor(rng.uniform(-2.5 * size, 2.5 * size, 300), dtype=torch.float32)
    tiny, zero = torch.full_like(x, 1e-4), torch.zeros_like(x)  # well under a texel: level 0
    got = torch.stack(sample_anisotropic(textures, zero, x, y, tiny, zero, zero, tiny)[:3])
    got = got.numpy()
    linear = (colour_code(SRGB_TO_LINEAR[albedo.astype(np.intp)]) / 255.0) ** 2
    xs, ys = x.numpy().astype(np.float64), y.numpy().astype(np.float64)
    x0, y0 = np.floor(xs).astype(int), np.floor(ys).astype(int)
    fx, fy = (xs - x0)[:, None], (ys - y0)[:, None]

    def texel(dx, dy):
        return linear[(y0 + dy) % size, (x0 + dx) % size]
    expected = (texel(0, 0) * (1 - fx) + texel(1, 0) * fx) * (1 - fy) \
        + (texel(0, 1) * (1 - fx) + texel(1, 1) * fx) * fy
    np.testing.assert_allclose(got.T, expected, atol=1e-4)  # the two taps 5e-5 texels apart


def test_a_minified_checker_is_grey_not_moire():
    textures = Textures.create([mip_chain(_checker(64, 1))], "cpu")
    x = torch.linspace(0.0, 500.0, 997)
    y = torch.linspace(3.0, 50.0, 997)
    wide, zero = torch.full_like(x, 40.0), torch.zeros_like(x)  # 40 texels a pixel: grey levels
    got = torch.stack(sample_anisotropic(textures, zero, x, y, wide, zero, zero, wide)[:3])
    grey = float(colour_code(np.array(0.5)) / 255.0) ** 2  # the mean of black and white
    assert torch.allclose(got, torch.full_like(got, grey), atol=1e-6)


def _map_environment():
    """An equirect map whose colour varies with longitude and latitude (no sun)."""
    height, width = 64, 128
    lat = (0.5 - (np.arange(height) + 0.5) / height) * math.pi
    lon = ((np.arange(width) + 0.5) / width - 0.5) * 2 * math.pi
    image = np.empty((height, width, 3))
    image[..., 0] = 1.0 + 0.5 * np.cos(lon)[None, :]
    image[..., 1] = 1.0 + 0.5 * np.sin(lat)[:, None]
    image[..., 2] = 1.0 + 0.25 * np.sin(3 * lon)[None, :]
    environment = env_light.from_equirect(image, 32)
    levels = [env_light._resample_equirect(image, 64)]
    while levels[-1].shape[1] > 16:
        levels.append(env_light._downsample(levels[-1]))
    return environment, env_light.half_levels(levels)


def _rays(n=400, seed=1):
    generator = torch.Generator().manual_seed(seed)
    rx = (torch.rand(n, generator=generator) - 0.5) * 1.6
    ry = torch.rand(n, generator=generator) * 0.8 + 0.05  # below the horizon (y down)
    return rx, ry


def test_the_environment_ground_from_the_camera_is_the_map_along_the_same_rays():
    """With the capture point at the camera, a ground point seen along r lies along r from it:
    the environment ground shows exactly the backdrop (the footprints agree too)."""
    environment, cube = _map_environment()
    lookup = env_light.EnvironmentLookup.create(environment, "cpu", cube)
    camera_to_env = np.eye(3)
    env = env_light.frame_parameters(environment, camera_to_env, "cpu", (0.0, 0.0, 0.0), 0.3)
    light = shading.frame_light((0.0, -1.0, 0.0), (0.0, 0.0, 0.0), 1.0, lookup.levels,
                                Intrinsics(100.0, 100.0, 0.0, 0.0), "cpu")
    rx, ry = _rays()
    depth = 1.6 / ry  # the ground 1.6 m below the camera (camera y down)
    up = (torch.zeros_like(rx), -torch.ones_like(rx), torch.zeros_like(rx))
    ground = shading.projected_ground(lookup, env, light, up, rx, ry, depth, None, 1.0)
    seen = env_light.backdrop_radiance(lookup, env, rx, ry, torch.ones_like(rx), 1.0)
    for a, b in zip(ground, seen):
        torch.testing.assert_close(a, b, rtol=2e-6, atol=0.0)


def test_the_environment_ground_meets_the_map_at_the_horizon():
    """Capture point 0.3 m above the camera: near the camera the ground differs from the map
    along the camera's ray, towards the horizon it converges to it (a known pose: camera level,
    looking along +z)."""
    environment, cube = _map_environment()
    lookup = env_light.EnvironmentLookup.create(environment, "cpu", cube)
    env = env_light.frame_parameters(environment, np.eye(3), "cpu", (0.0, -0.3, 0.0), 0.3)
    light = shading.frame_light((0.0, -1.0, 0.0), (0.0, 0.0, 0.0), 1.0, lookup.levels,
                                Intrinsics(100.0, 100.0, 0.0, 0.0), "cpu")
    up = tuple(torch.tensor([v]) for v in (0.0, -1.0, 0.0))
    gaps = []
    for below_deg in (30.0, 5.0, 0.5, 0.05):
        ry = torch.tensor([math.tan(math.radians(below_deg))])
        rx = torch.tensor([0.2])
        depth = 1.6 / ry
        ground = torch.stack(shading.projected_ground(lookup, env, light, up, rx, ry, depth,
                                                      None, 1.0))
        seen = torch.stack(env_light.backdrop_radiance(lookup, env, rx, ry, torch.ones(1), 1.0))
        gaps.append(float((ground - seen).abs().max() / seen.abs().max()))
    assert gaps[0] > 0.01  # seen from 0.3 m higher, the near ground shows another place
    assert gaps == sorted(gaps, reverse=True) and gaps[-1] < 1e-3


def test_shadows_and_occlusion_darken_the_environment_ground_by_the_light_they_take():
    environment, cube = _map_environment()
    lookup = env_light.EnvironmentLookup.create(environment, "cpu", cube)
    env = env_light.frame_parameters(environment, np.eye(3), "cpu", (0.0, 0.0, 0.0), 0.3)
    light = shading.frame_light((0.0, -1.0, 0.0), (5.0, 5.0, 5.0), 1.0, lookup.levels,
                                Intrinsics(100.0, 100.0, 0.0, 0.0), "cpu")
    rx, ry = _rays(50)
    depth = 1.6 / ry
    up = (torch.zeros_like(rx), -torch.ones_like(rx), torch.zeros_like(rx))
    lit = torch.stack(shading.projected_ground(lookup, env, light, up, rx, ry, depth, None, 1.0))
    shaded = torch.stack(shading.projected_ground(lookup, env, light, up, rx, ry, depth,
                                                  torch.zeros_like(rx), torch.zeros_like(rx)))
    half = torch.stack(shading.projected_ground(lookup, env, light, up, rx, ry, depth,
                                                torch.zeros_like(rx), 1.0))
    assert torch.all(shaded < 1e-6)  # no sun and no sky light reach it: black
    sky = torch.stack(env_light.irradiance(env, *up))
    expected = sky / (sky + 5.0)  # the sky's share of the light (the sun at n.l = 1)
    torch.testing.assert_close(half / lit, expected, rtol=1e-5, atol=1e-6)


@pytest.mark.skipif(not native.available(), reason="native kernels not built")
def test_native_samplers_match_eager_bits_at_random_footprints():
    """Textures at random coordinates, materials and footprints (magnified to beyond the last
    level; anisotropic), the backdrop, the environment ground and the ground's reflection table:
    shade_samples of faces with random planes against the eager reference, bit for bit."""
    from lightpipe.render.renderer import _OCCLUSION_KERNEL

    rng = np.random.default_rng(3)
    # the last chain holds every code in every channel (each texel's 8 bytes random), so the
    # kernels' decode of roughness, metalness and normals is checked for all 256 codes
    every_code = np.stack([rng.permutation(256) for _ in range(TEXEL_BYTES)], 1)
    chains = [mip_chain(_checker(64, 3)), mip_chain(flat_maps(rng.integers(
        0, 256, (16, 16, 3), dtype=np.uint8))), mip_chain(_checker(1, 1)),
        np.concatenate([every_code, every_code[:85]]).astype(np.uint8)]  # 16^2 + 8^2 + ... + 1
    textures = Textures.create(chains, "cpu")
    environment, cube = _map_environment()
    lookup = env_light.EnvironmentLookup.create(environment, "cpu", cube)
    env = env_light.frame_parameters(environment, np.eye(3), "cpu", (0.1, -0.2, 0.05), 0.37)
    light = shading.frame_light((0.3, -0.8, 0.5), (2.0, 1.5, 1.0), 0.7, lookup.levels,
                                Intrinsics(90.0, 95.0, 0.0, 0.0), "cpu")
    t = 300
    tris = torch.tensor(rng.uniform(-3, 3, (t, 3, 3)), dtype=torch.float32)
    tris[..., 2] += 8.0
    uvs = torch.tensor(rng.uniform(-4, 4, (t, 3, 2)) * rng.choice([0.01, 1.0, 30.0], (t, 1, 1)),
                       dtype=torch.float32)
    info = torch.zeros(look.FACE_INFO_ROWS, t)
    info[:3] = 1.0
    info[look.FACE_ROUGHNESS_SCALE] = 1.0
    info[look.FACE_MATERIAL] = torch.tensor(rng.integers(0, len(chains), t), dtype=torch.float32)
    info[look.FACE_PROJECTED] = torch.tensor(rng.integers(0, 2, t), dtype=torch.float32)
    info[look.FACE_GROUND] = torch.tensor(rng.integers(0, 2, t), dtype=torch.float32)
    sides = textures.mips[:, look.MIP_SIZE].float().index_select(
        0, info[look.FACE_MATERIAL].long())
    normals = torch.nn.functional.normalize(torch.tensor(rng.normal(size=(t, 3, 3)),
                                                         dtype=torch.float32), dim=-1)
    planes = shading.surface_planes(tris[None], normals[None], uvs, info, sides, True)[0]
    brdf = shading.environment_brdf_table("cpu")
    kernels = native.FrameKernels(planes, textures, light, lookup, env, brdf, None, None, None,
                                  torch.zeros(t, dtype=torch.int64), _OCCLUSION_KERNEL,
                                  look.kernel_values(), projected=True)
    faces = torch.arange(t).repeat(3)
    rx = torch.tensor(rng.uniform(-0.4, 0.4, faces.numel()), dtype=torch.float32)
    ry = torch.tensor(rng.uniform(-0.4, 0.4, faces.numel()), dtype=torch.float32)
    rays = torch.stack([rx, ry, torch.rsqrt((rx * rx + ry * ry) + 1.0)])
    eager = shading.shade_faces(planes, faces, rays, textures, light, lookup, env, brdf,
                                transposed=True, projected=True)[0]
    fast = kernels.shade_samples(faces, rx, ry, None, 1)
    assert torch.isfinite(eager).float().mean() > 0.99
    assert torch.equal(eager.view(torch.int32), fast.view(torch.int32))
    # a scene of 2^30 texels or more indexes them in int64 (shade.c's NARROW_TEXELS): the count
    # only bounds the indices, so a larger one takes that path over the same texels
    kernels.struct.texel_count = 1 << 30
    wide = kernels.shade_samples(faces, rx, ry, None, 1)
    assert torch.equal(eager.view(torch.int32), wide.view(torch.int32))
    missing = torch.full_like(faces, -1)
    sky = torch.stack(env_light.backdrop_radiance(lookup, env, rx, ry, torch.ones_like(rx), 1.0))
    assert torch.equal(sky.view(torch.int32),
                       kernels.shade_samples(missing, rx, ry, None, 1).view(torch.int32))


def test_the_kernels_code_decode_is_the_reference_division_for_every_code():
    """shade.c decodes colour and roughness, metalness (c / 255) and normals ((c - 128) / 127)
    as x * hi + x * lo in float32: hi the reciprocal cut to a few bits (x * hi exact), lo the
    float32 nearest the rest; the float32 division's bits for all 256 codes (the kernels' own
    decode is checked for every code by the random-footprint test above)."""
    codes = np.arange(256)
    for offset, divisor, hi in ((0, 255.0, float.fromhex("0x1.01p-8")),  # shade.c's UNIT_HI
                                (128, 127.0, float.fromhex("0x1.02p-7"))):  # NORMAL_HI
        reference = (torch.arange(256).float() - float(offset)) / divisor  # as textures._decode
        x = (codes - offset).astype(np.float32)
        assert np.float32(hi) == hi and abs(1.0 / divisor - hi) < 2.0 ** -16
        assert np.array_equal(x.astype(np.float64) * hi, x * np.float32(hi))  # exact
        split = x * np.float32(hi) + x * np.float32(1.0 / divisor - hi)
        assert np.array_equal(reference.numpy().view(np.uint32), split.view(np.uint32))


def test_builtin_chains_are_cached_on_disk_and_an_altered_entry_is_made_again(tmp_path,
                                                                              monkeypatch):
    from lightpipe.assets.materials import material_maps
    from lightpipe.render import texture_cache

    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path))
    expected = mip_chain(material_maps("builtin:bricks/01", 64))
    made = texture_cache.builtin_chain("builtin:bricks/01", 64)
    entries = list((tmp_path / "textures").glob("*.npz"))
    assert np.array_equal(made, expected) and len(entries) == 1
    assert np.array_equal(texture_cache.builtin_chain("builtin:bricks/01", 64), expected)
    with np.load(entries[0]) as data:  # a flipped texel under the old checksum: not trusted
        chain, digest = data["chain"].copy(), str(data["sha256"])
    chain[5, 0] ^= 0xFF
    np.savez(entries[0], chain=chain, sha256=digest)
    assert np.array_equal(texture_cache.builtin_chain("builtin:bricks/01", 64), expected)
    entries[0].write_bytes(b"truncated")
    assert np.array_equal(texture_cache.builtin_chain("builtin:bricks/01", 64), expected)
