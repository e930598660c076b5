"""The native output codes (`native_output_codes`: normals, optical flow, object coordinates)
give the numpy definitions' bytes, on every instruction-set build of the kernels, edge cases
included; NaN raises the same ValueError on both paths."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightpipe import native_library
from lightpipe.dataset.flow_codes import (
    FLOW_SCALE,
    INSIDE,
    SATURATED,
    VALID,
    VISIBLE,
    encode_flow,
    encode_object_coordinates,
)
from lightpipe.dataset.native_output_codes import NativeOutputCodes, fast_output_codes
from lightpipe.dataset.outputs.labels import encode_normals

pytestmark = pytest.mark.skipif(not native_library.available(),
                                reason="native kernels not built")
SHAPE = (3, 70, 90)  # frames of 6300 pixels: split over threads (>= 4096 pixels a part)


@pytest.fixture(params=native_library.runnable_variants())
def variant(request):
    """Each instruction-set build of the kernels this CPU runs (baseline, AVX2, AVX-512)."""
    native_library.use_variant(request.param)
    yield request.param
    native_library.use_variant(None)


@pytest.fixture(params=[1, 4])
def threads(request):
    """One call per frame, and frames split over threads."""
    before = torch.get_num_threads()
    torch.set_num_threads(request.param)
    yield request.param
    torch.set_num_threads(before)


def _sprinkle(generator, array, values):
    """Writes `values` (cycled) at random positions of `array` (flat)."""
    flat = array.reshape(-1)
    where = generator.choice(flat.size, size=min(flat.size // 4, 4 * len(values)), replace=False)
    flat[where] = np.resize(np.asarray(values, array.dtype), where.size)


def test_the_accessor_gives_the_native_codes():
    assert fast_output_codes() is NativeOutputCodes


def test_normals_match_the_numpy_definition(variant, threads):
    generator = np.random.default_rng(0)
    normals = generator.uniform(-1.3, 1.3, SHAPE + (3,)).astype(np.float32)
    ties = ((2 * np.arange(256) + 1) / 255.0 - 1.0).astype(np.float32)  # (n+1)*127.5 ~ k + .5
    edges = [-1.0, 1.0, 0.0, -0.0, np.inf, -np.inf, 3e38, -3e38, 1e-45, -1e-45,
             *ties, *np.nextafter(ties, np.float32(2)), *np.nextafter(ties, np.float32(-2)),
             *np.nextafter(np.float32([-1, 1]), np.float32(0)),
             *np.nextafter(np.float32([-1, 1]), np.float32([-2, 2]))]
    _sprinkle(generator, normals, edges)
    normals[0, :5] = 0.0  # no surface
    normals[1, :3, :, 1:] = 0.0  # one non-zero component: a surface
    normals[1, 3:6, :, :2] = -0.0  # -0 counts as 0
    normals[1, 3:6, :, 2] = 0.0
    normals[2, 0, 0] = [-1.0, 1.0, 0.0]
    codes = encode_normals(normals)
    assert np.array_equal(encode_normals(normals, fast=NativeOutputCodes), codes)
    assert not codes[0, :5].any() and not codes[1, 3:6].any() and codes[1, :3].any(-1).all()
    assert codes[2, 0, 0].tolist() == [0, 255, 128]
    # float64 normals (not the renderer's) run the definition, as does an odd layout
    wide = normals.astype(np.float64) / 3.0
    assert np.array_equal(encode_normals(wide, fast=NativeOutputCodes), encode_normals(wide))
    strided = normals[:, ::2, ::3]
    assert np.array_equal(encode_normals(strided, fast=NativeOutputCodes),
                          encode_normals(strided))


def _flow_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    flow = (generator.standard_normal(SHAPE + (2,)) * 400).astype(np.float32)
    ties = (np.arange(-40, 40) + 0.5) / FLOW_SCALE  # flow * 32 = k + 0.5: half to even
    limits = np.float32([-32768.5, -32767.5, 32766.5, 32767.5, -32769.0, 32768.0]) / FLOW_SCALE
    edges = [*ties, *limits, *np.nextafter(limits, np.float32(-np.inf)),
             *np.nextafter(limits, np.float32(np.inf)), 0.0, -0.0, np.inf, -np.inf, 3e38, -3e38,
             2e37, 1e-45, -1e-45, 1023.96875, -1024.0, 1024.0, -1024.03125]
    _sprinkle(generator, flow, edges)
    flags = generator.integers(0, 16, SHAPE, dtype=np.uint8)  # SATURATED in: ignored
    flags[generator.random(SHAPE) < 0.7] |= VALID
    invalid = (flags & VALID) == 0
    garbage = generator.choice(np.float32([np.nan, np.inf, -np.inf, 1e30, -7.5]),
                               size=(int(invalid.sum()), 2))
    flow[invalid] = garbage  # invalid pixels hold anything, NaN included
    return flow, flags


@pytest.mark.parametrize("seed", [0, 1])
def test_flow_matches_the_numpy_definition(variant, threads, seed):
    flow, flags = _flow_case(seed)
    planes, saturated = encode_flow(flow, flags)
    fast_planes, fast_saturated = encode_flow(flow, flags, fast=NativeOutputCodes)
    assert np.array_equal(fast_planes, planes) and fast_saturated == saturated > 0
    strided = flow[:, ::2], flags[:, ::2]
    assert np.array_equal(encode_flow(*strided, fast=NativeOutputCodes)[0],
                          encode_flow(*strided)[0])
    # the named cases: ties to even, range ends, inf, flags
    flow = np.float32([[[[16.5 / 32, -16.5 / 32], [17.5 / 32, -17.5 / 32],
                         [-32768.5 / 32, 32767.5 / 32], [np.inf, 0], [np.nan, 1e30]]]])
    flags = np.uint8([[[VALID | SATURATED, VALID, VALID | INSIDE, VALID | VISIBLE, INSIDE]]])
    planes, saturated = encode_flow(flow, flags, fast=NativeOutputCodes)
    assert saturated == 2 and planes.tolist() == encode_flow(flow, flags)[0].tolist() == [[[
        [32784, 32752, VALID], [32786, 32750, VALID], [0, 65535, VALID | INSIDE | SATURATED],
        [65535, 32768, VALID | VISIBLE | SATURATED], [32768, 32768, INSIDE]]]]


def test_nan_flow_on_a_valid_pixel_raises_on_both_paths(variant, threads):
    flow, flags = _flow_case(2)
    flags[1, 60, 80] |= VALID
    flow[1, 60, 80, 1] = np.nan
    for fast in (None, NativeOutputCodes):
        with pytest.raises(ValueError, match="flow has NaN on valid pixels of frame 1"):
            encode_flow(flow, flags, fast=fast)


def _coordinates_case(seed: int) -> tuple[np.ndarray, np.ndarray]:
    generator = np.random.default_rng(seed)
    coords = generator.uniform(-0.2, 1.2, SHAPE + (3,)).astype(np.float32)
    ties = [0.25, 0.75, 0.5]  # * 65534 = 16383.5, 49150.5: half to even
    edges = [*ties, *np.nextafter(np.float32(ties), np.float32(0)),
             *np.nextafter(np.float32(ties), np.float32(1)), 0.0, -0.0, 1.0, np.inf, -np.inf,
             1e-45, -1e-45, 3e38, *np.nextafter(np.float32([0, 1]), np.float32([-1, 2])),
             np.nextafter(np.float32(1), np.float32(0)), 1 / 65534, 0.5 / 65534, 1.5 / 65534]
    _sprinkle(generator, coords, edges)
    mask = generator.random(SHAPE) < 0.6
    coords[~mask] = generator.choice(np.float32([np.nan, np.inf, 5.0, -1.0]),
                                     size=(int((~mask).sum()), 3))
    return coords, mask


def test_object_coordinates_match_the_numpy_definition(variant, threads):
    coords, mask = _coordinates_case(0)
    codes = encode_object_coordinates(coords, mask)
    assert np.array_equal(encode_object_coordinates(coords, mask, fast=NativeOutputCodes), codes)
    strided = coords[:, ::3], mask[:, ::3]
    assert np.array_equal(encode_object_coordinates(*strided, fast=NativeOutputCodes),
                          encode_object_coordinates(*strided))
    named = np.float32([[[[0.25, 0.75, 0.5], [0, 1, -0.0], [np.inf, -np.inf, 2], [np.nan] * 3]]])
    where = np.array([[[True, True, True, False]]])
    assert encode_object_coordinates(named, where, fast=NativeOutputCodes).tolist() == \
        encode_object_coordinates(named, where).tolist() == \
        [[[[16385, 49151, 32768], [1, 65535, 1], [65535, 1, 65535], [0, 0, 0]]]]


def test_nan_coordinates_on_a_masked_pixel_raise_on_both_paths(variant, threads):
    coords, mask = _coordinates_case(1)
    mask[2, 10, 10] = True
    coords[2, 10, 10, 0] = np.nan
    for fast in (None, NativeOutputCodes):
        with pytest.raises(ValueError, match="coords has NaN on masked pixels of frame 2"):
            encode_object_coordinates(coords, mask, fast=fast)
