"""Each named term of the shading (`shading.material`, `split_sum`, `environment`, `sun`,
`combine`, `sun_visibility`, `occlusion.ambient_occlusion`) on known inputs, so that a failure
names the term that broke rather than "colour"."""

from __future__ import annotations

import ctypes
import math

import numpy as np
import pytest
import torch

from lightpipe.assets.materials import MaterialMaps, flat_maps
from lightpipe.render.camera_response import SRGB_TO_LINEAR
from lightpipe.render.textures import Textures, colour_code, mip_chain
from lightpipe.render.zbuffer import Intrinsics

from lightpipe import native_library
from lightpipe.render import environment, look, native, shading
from lightpipe.render.occlusion import ambient_occlusion


def _f32(*values) -> torch.Tensor:
    return torch.tensor(values, dtype=torch.float32)


@pytest.mark.parametrize("roughness", [0.045, 0.3, 0.7, 1.0])
def test_ggx_lobe_is_the_closed_form(roughness):
    n_h = torch.linspace(0.0, 1.0, 101)
    alpha2 = _f32(roughness) ** 4
    got = shading.ggx_distribution(n_h, alpha2).double()
    a2 = float(alpha2)
    x = n_h.double()
    denominator = x * x * (a2 - 1.0) + 1.0
    expected = a2 / (math.pi * denominator ** 2)
    # float32 rounding, amplified where 1 - (n.h)^2 (1 - alpha^2) cancels (a sharp lobe's peak)
    eps = torch.finfo(torch.float32).eps
    assert ((got - expected).abs() <= expected * (8 * eps + 4 * eps / denominator)).all()
    # normalized: the lobe's projected area over the hemisphere is 1, int D (n.h) dw = 1
    theta = torch.linspace(0.0, math.pi / 2, 200001, dtype=torch.float64)
    cos = torch.cos(theta)
    lobe = a2 / (math.pi * (cos * cos * (a2 - 1.0) + 1.0) ** 2)
    integral = torch.trapezoid(lobe * cos * torch.sin(theta), theta) * 2.0 * math.pi
    assert abs(float(integral) - 1.0) < 1e-3


def test_fresnel_is_f0_head_on_and_one_at_grazing():
    f0 = _f32(0.04, 0.5, 0.95)
    head_on = shading.schlick_fresnel(f0, shading.fresnel_weight(torch.ones(3)))
    grazing = shading.schlick_fresnel(f0, shading.fresnel_weight(torch.zeros(3)))
    assert torch.equal(head_on, f0)
    assert torch.equal(grazing, torch.ones(3))


def test_smith_visibility_is_the_closed_form():
    n_v, n_l = _f32(0.2, 0.5, 1.0), _f32(0.9, 0.4, 1.0)
    roughness = _f32(0.5, 0.5, 1.0)
    k = (roughness.double() + 1.0) ** 2 / 8.0
    g1 = lambda x: x / (x * (1.0 - k) + k)  # noqa: E731
    expected = g1(n_v.double()) * g1(n_l.double()) / (4.0 * n_v.double() * n_l.double())
    got = shading.smith_visibility(n_v, n_l, roughness).double()
    assert torch.allclose(got, expected, rtol=1e-6, atol=0.0)


def test_sh_irradiance_of_a_constant_environment_is_pi_times_its_radiance():
    radiance = np.array([0.5, 1.0, 2.0])
    level = np.ones((6, environment.SH_SIZE, environment.SH_SIZE, 3)) * radiance
    env = environment.Environment(levels=(level,), sh=environment.project_sh(level),
                                  sun_direction=(0.0, 1.0, 0.0),
                                  sun_irradiance=(0.0, 0.0, 0.0), sun_radius_deg=0.5)
    params = environment.frame_parameters(env, np.eye(3), "cpu")
    normals = torch.nn.functional.normalize(torch.randn(3, 50, generator=torch.Generator()
                                                        .manual_seed(0)), dim=0)
    got = torch.stack(environment.irradiance(params, *normals)).double()
    # the same in every direction (the harmonics of order 1 and 2 vanish) ...
    assert torch.allclose(got, got[:, :1].expand_as(got), rtol=1e-5, atol=0.0)
    # ... and pi L, up to the projection's quadrature: midpoint solid angles of SH_SIZE texels
    # per face side total 4 pi (1 + 9.6e-4), Ramamoorthi & Hanrahan's constants have 6 digits
    total = 6.0 * environment.texel_solid_angles(environment.SH_SIZE)[0].sum() / (4.0 * math.pi)
    expected = torch.tensor(math.pi * radiance * total).view(3, 1).expand_as(got)
    assert torch.allclose(got, expected, rtol=1e-5, atol=0.0)


def _shadow_map(size: int, mean: float, square: float):
    """Moments of a constant caster depth and a light camera looking down +z from the camera."""
    moments = torch.stack([torch.full((size * size,), mean), torch.full((size * size,), square)])
    params = _f32(1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 1, 1, size / 2, size / 2, size, 0.0)
    return moments, params


@pytest.mark.parametrize("mean, variance, depth", [(4.0, 0.25, 5.0), (2.0, 0.01, 2.3),
                                                    (3.0, 1.0, 3.5)])
def test_sun_visibility_is_chebyshevs_bound_with_light_bleeding_trimmed(mean, variance, depth):
    moments, params = _shadow_map(8, mean, mean * mean + variance)
    zero = torch.zeros(1)
    got = float(shading.sun_visibility(moments, params, zero, zero, _f32(depth)))
    gap = depth - look.SHADOW_BIAS - mean
    bound = max(variance, look.SHADOW_MIN_VARIANCE) / (max(variance, look.SHADOW_MIN_VARIANCE)
                                                        + gap * gap)
    expected = min(max((bound - look.LIGHT_BLEEDING) / (1.0 - look.LIGHT_BLEEDING), 0.0), 1.0)
    assert got == pytest.approx(expected, rel=1e-4, abs=1e-6)


def test_sun_visibility_is_one_in_front_of_the_casters_and_off_the_map():
    moments, params = _shadow_map(8, 4.0, 16.25)
    zero = torch.zeros(1)
    assert float(shading.sun_visibility(moments, params, zero, zero, _f32(3.0))) == 1.0
    assert float(shading.sun_visibility(moments, params, _f32(10.0), zero, _f32(5.0))) == 1.0


def test_ambient_occlusion_of_an_open_plane_is_one_and_of_a_pit_is_less():
    width = height = 64
    params = _f32(50.0, 50.0, 32.0, 32.0, width, height)
    wall = torch.full((width * height,), 1.0 / 5.0)  # a wall facing the camera at 5 m
    n = (torch.zeros(4), torch.zeros(4), -torch.ones(4))  # its normal, towards the camera
    p = (_f32(-0.5, 0.0, 0.3, 0.6), _f32(0.2, 0.0, -0.4, 0.1), torch.full((4,), 5.0))
    assert torch.equal(ambient_occlusion(wall, params, *p, *n), torch.ones(4))
    nothing = torch.zeros(width * height)  # the sky everywhere
    assert torch.equal(ambient_occlusion(nothing, params, *p, *n), torch.ones(4))
    near = torch.full((width * height,), 1.0 / 4.8)  # something just in front of the point
    assert (ambient_occlusion(near, params, *p, *n) < 1.0).all()


def test_split_sum_of_a_smooth_head_on_surface_reflects_about_f0():
    """At n.v = 1 and roughness -> 0 the environment BRDF is F0 (A ~ 1, B ~ 0)."""
    brdf = shading.environment_brdf_table("cpu")
    a, b = shading.split_sum(brdf, _f32(look.MIN_ROUGHNESS), _f32(1.0))
    assert 0.9 < float(a) <= 1.0 and 0.0 <= float(b) < 0.05


def test_material_of_a_constant_texture():
    """A flat, untinted-but-for-the-face texture: base = albedo x tint, F0 blends 0.04 and the
    base by metalness, roughness scaled and clamped, the normal map's +z keeps the normal."""
    codes = [int(np.argmin(np.abs(SRGB_TO_LINEAR - v))) for v in (0.2, 0.4, 0.8)]
    albedo = np.broadcast_to(np.array(codes, np.uint8), (4, 4, 3)).copy()
    flat = flat_maps(albedo)
    maps = MaterialMaps(flat.albedo, np.full((4, 4), 0.5, np.float32),
                        np.full((4, 4), 0.25, np.float32), flat.normal)
    textures = Textures.create([mip_chain(maps)], "cpu")
    # stored as the code of sqrt(linear), decoded as its square (`textures.colour_code`)
    base = [float((colour_code(SRGB_TO_LINEAR[c]) / 255.0) ** 2) for c in codes]
    p = [torch.zeros(2) for _ in range(look.NUM_PLANES)]
    p[look.TANGENT], p[look.BITANGENT + 1] = torch.ones(2), torch.ones(2)
    for c, tint in enumerate((1.0, 0.5, 2.0)):
        p[look.TINT + c] = torch.full((2,), tint)
    p[look.ROUGHNESS_SCALE], p[look.METAL_OVERRIDE] = _f32(1.0, 0.01), _f32(0.0, 1.0)
    p[look.DET + 2] = torch.ones(2)  # det = 1 at every ray; texel coordinates (3.3, 7.5) ...
    p[look.TEXEL_S + 2], p[look.TEXEL_T + 2] = _f32(3.3, 100.0), _f32(7.5, -20.0)
    g = (torch.zeros(2), torch.zeros(2), -torch.ones(2))
    light = shading.frame_light((0.0, 1.0, 0.0), (1.0, 1.0, 1.0), 1.0, 4,
                                Intrinsics(100.0, 100.0, 0.0, 0.0), "cpu")
    m = shading.material(textures, p, light, torch.zeros(2), torch.zeros(2), torch.ones(2), g)
    expected = torch.tensor([base[0], base[1] * 0.5, base[2] * 2.0]).view(3, 1).expand(3, 2)
    assert torch.allclose(torch.stack(m.base), expected)
    assert torch.allclose(m.roughness, _f32(128 / 255, look.MIN_ROUGHNESS))
    assert torch.allclose(m.metal, _f32(64 / 255, 1.0))
    f0 = torch.stack(m.f0)
    assert torch.allclose(f0[:, 1], torch.stack(m.base)[:, 1])  # a metal: F0 = base colour
    assert torch.allclose(f0[0, 0], torch.tensor(0.04 + (base[0] - 0.04) * (64 / 255)))
    assert torch.allclose(torch.stack(m.normal), torch.stack(g))


def test_combine_of_a_black_sun_and_a_white_furnace():
    """A white, rough dielectric under a uniform environment of radiance 1 (irradiance pi,
    reflection 1), no sun: the diffuse and specular parts add up to about 1."""
    brdf = shading.environment_brdf_table("cpu")
    roughness, n_v = _f32(1.0), _f32(0.8)
    env = shading.split_sum(brdf, roughness, n_v)
    terms = shading.Sun(*(torch.zeros(1) for _ in range(4)))
    out = shading.combine(_f32(0.04), _f32(1.0), _f32(1.0), _f32(math.pi), _f32(0.0), _f32(0.0),
                          env, terms, torch.zeros(1), _f32(1.0))
    assert 0.95 < float(out) < 1.05


@pytest.mark.skipif(not native.available(), reason="native kernels not built")
def test_the_c_brdf_terms_are_their_eager_twins_bit_for_bit():
    """shade.c's ggx_distribution, smith_visibility, fresnel_weight and schlick_fresnel on the
    same inputs as shading's (`lp_brdf_terms`), in every build of the kernels."""
    generator = torch.Generator().manual_seed(1)
    n_h, n_v, n_l, v_h, f0 = torch.rand(5, 4096, generator=generator)
    roughness = torch.rand(4096, generator=generator).clamp(min=look.MIN_ROUGHNESS)
    alpha2 = (roughness * roughness) * (roughness * roughness)
    n_v = n_v.clamp(min=1e-4)
    inputs = torch.stack([n_h, alpha2, n_v, n_l, roughness, v_h, f0]).contiguous()
    weight = shading.fresnel_weight(v_h)
    expected = torch.stack([shading.ggx_distribution(n_h, alpha2),
                            shading.smith_visibility(n_v, n_l, roughness), weight,
                            shading.schlick_fresnel(f0, weight)])
    for variant in native.runnable_variants():
        out = torch.empty(4, 4096)
        getattr(native_library.library(), f"lp_brdf_terms_{variant}")(
            ctypes.c_void_p(inputs.data_ptr()), ctypes.c_int64(4096),
            ctypes.c_void_p(out.data_ptr()))
        assert torch.equal(out.view(torch.int32), expected.view(torch.int32)), variant
