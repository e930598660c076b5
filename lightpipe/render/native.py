"""The renderer's native CPU kernels (`csrc/*.c`, in the library `lightpipe.native_library`
loads): the z-buffer fill, silhouette anti-aliasing, shadow maps, occlusion's inverse depth,
per-pixel shading, the camera response, optical flow and object coordinates in C loops, the
same bits as the eager PyTorch reference, split over threads by ranges. A leaf: everything
they need comes in as data.

`available()` is False where the library is not built, stale or turned off
(`LIGHTPIPE_NATIVE=0`); `render.backend` then runs the reference.
"""

from __future__ import annotations

import ctypes

import torch

from lightpipe.native_library import Functions, available, runnable_variants, use_variant, variant
from lightpipe.native_library import parallel as _parallel
from lightpipe.native_library import pointer as _ptr
from lightpipe.native_library import threads as _threads

__all__ = ["FrameKernels", "available", "runnable_variants", "use_variant", "variant"]

_MIN_PIXELS_PER_THREAD = 4096
_p, _i64, _f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float


class _Shading(ctypes.Structure):
    """`Shading` of shade.c: pointers into tensors that the caller keeps alive, then the look's
    values (`look.kernel_values`, passed in; each rounded once to float32).
    tests/render/test_look.py checks it against the C struct (`lp_shading_layout`)."""

    _fields_ = [("planes", _p), ("texels", _p), ("texel_count", _i64), ("mips", _p),
                ("material_count", _i64), ("light", _p), ("env_texels", _p),
                ("env_count", _i64), ("env_sizes", _p), ("env_offsets", _p),
                ("env_levels", _i64), ("bd_texels", _p), ("bd_count", _i64), ("bd_sizes", _p),
                ("bd_offsets", _p), ("bd_levels", _i64), ("projected", _i64), ("env", _p), ("brdf", _p), ("shadow", _p),
                ("shadow_count", _i64), ("shadow_params", _p), ("occ_depth", _p),
                ("occ_count", _i64), ("occ_params", _p), ("occ_kernel", _p), ("backdrop", _p),
                ("face_part", _p), ("ground_texels", _p), ("min_roughness", _f32), ("dielectric_f0", _f32),
                ("karis_c0", _f32 * 4), ("karis_c1", _f32 * 4), ("karis_ab", _f32 * 2),
                ("lit_side_min", _f32), ("shadow_bias", _f32), ("shadow_min_variance", _f32),
                ("bleeding_cut", _f32), ("bleeding_scale", _f32), ("ao_radius", _f32),
                ("ao_keep", _f32), ("ao_scale", _f32), ("ao_axis", _f32),
                ("ground_roughness", _f32), ("ground_inv_step", _f32),
                ("ground_blend_start", _f32), ("ground_inv_blend", _f32)]


_SHADING = ctypes.POINTER(_Shading)
# name: (argument types, result type) of every kernel (csrc/*.c).
_SIGNATURES = {
    "lp_shade_frame": ([_SHADING, _p, _p, _i64, _i64, _i64, _p, _p, _p, _p], _i64),
    "lp_shade_samples": ([_SHADING, _p, _p, _p, _p, _i64, _i64, _i64, _i64, _p], _i64),
    "lp_encode_response": ([_p, _i64, _p, _p, _i64, _i64, _p], None),
    "lp_fill_spans": ([_p, _p, _p, _p, _i64, _i64, _i64, _i64, _i64, _p], _i64),
    "lp_part_map": ([_p, _p, _i64, _i64, _p], None),
    "lp_silhouette": ([_p, _i64, _i64, _i64, _i64, _p], None),
    "lp_sample_keys": ([_p, _p, _p, _p, _i64, _i64, _i64, _i64, _i64, _p, _p, _p], None),
    "lp_inverse_depth": ([_p, _i64, _i64, _p], None),
    "lp_offset_depth": ([_p, _p, _i64, _i64, _p], None),
    "lp_blurred_moments": ([_p, _i64, _i64, _i64, _i64, _p, _p], None),
    "lp_shading_layout": ([], ctypes.c_char_p),
    "lp_brdf_terms": ([_p, _i64, _p], None),
    "lp_flow": ([_p, _p, _p, _p, _p, _p, _i64, _i64, _i64, _i64, _p, _p], None),
    "lp_object_coordinates": ([_p, _p, _p, _p, _i64, _i64, _i64, _p], None),
}
_LIB = Functions(_SIGNATURES)


class FrameKernels:
    """One frame's shading inputs as a `Shading` struct; the tensors stay referenced."""

    def __init__(self, planes, textures, light, lookup, env, brdf, shadow, occlusion, backdrop,
                 face_part, occlusion_kernel, look_values: dict, projected: bool = False
                 ) -> None:
        """`look_values`: the look's values by struct field (`look.kernel_values()`, read by
        the caller for this frame: the table as it is now). `textures`: `textures.Textures`;
        `projected`: the scene has an environment ground."""
        moments, shadow_params = shadow if shadow is not None else (None, None)
        occ_depth, occ_params = occlusion if occlusion is not None else (None, None)
        self._keep = (planes, textures, light, lookup, env, brdf, moments, shadow_params,
                      occ_depth, occ_params, backdrop, face_part, occlusion_kernel)
        self.struct = _Shading(
            _ptr(planes), _ptr(textures.texels), textures.texels.shape[0], _ptr(textures.mips),
            textures.mips.shape[0], _ptr(light), _ptr(lookup.texels),
            lookup.texels.shape[1], _ptr(lookup.sizes), _ptr(lookup.offsets), lookup.levels,
            _ptr(lookup.backdrop_texels), lookup.backdrop_texels.shape[0],
            _ptr(lookup.backdrop_sizes), _ptr(lookup.backdrop_offsets), lookup.backdrop_levels,
            int(projected), _ptr(env), _ptr(brdf), _ptr(moments),
            0 if moments is None else moments.shape[-1], _ptr(shadow_params), _ptr(occ_depth),
            0 if occ_depth is None else occ_depth.numel(), _ptr(occ_params),
            _ptr(occlusion_kernel), _ptr(backdrop), _ptr(face_part),
            _ptr(lookup.ground_texels))
        for name, value in look_values.items():
            setattr(self.struct, name, (_f32 * len(value))(*value)
                    if isinstance(value, tuple) else value)

    def shade_frame(self, keys, rays, radiance, depth, normals=None, segmentation=None) -> None:
        """Radiance (3, H*W), depth (H*W) and optional normals (H*W, 3) / segmentation (H*W)
        int32 of a frame's z-buffer `keys` (H*W) with `pixel_rays` (3, H*W)."""
        hw = keys.numel()
        args = (ctypes.byref(self.struct), _ptr(keys), _ptr(rays), hw)
        outs = (_ptr(radiance), _ptr(depth), _ptr(normals), _ptr(segmentation))
        _check(_interleaved(hw, lambda part, parts: _LIB.lp_shade_frame(*args, part, parts,
                                                                        *outs)))

    def shade_samples(self, keys, rx, ry, backdrop_pixel, hw) -> torch.Tensor:
        """(3, N) radiance of N sample rays (rx, ry, 1): of face `keys & FACE_MASK` where
        keys >= 0, else of the backdrop (the image at `backdrop_pixel`, or the environment)."""
        n = keys.numel()
        radiance = torch.empty((3, n), dtype=torch.float32)
        args = (ctypes.byref(self.struct), _ptr(keys), _ptr(rx), _ptr(ry), _ptr(backdrop_pixel),
                hw, n)
        _check(_interleaved(n, lambda part, parts: _LIB.lp_shade_samples(*args, part, parts,
                                                                         _ptr(radiance))))
        return radiance


def encode_response(radiance: torch.Tensor, table, rgb: torch.Tensor) -> None:
    """`camera_response.encode` of (3, H*W) radiance into (H, W, 3) uint8 `rgb`."""
    ends, codes = table  # codes: int32
    hw = radiance.shape[1]
    args = (_ptr(radiance), hw, _ptr(ends), _ptr(codes))
    _parallel(hw, lambda a, b: _LIB.lp_encode_response(*args, a, b, _ptr(rgb)))


def fill_spans(coef, first_row, num_rows, face, width: int, height: int, frames: int
               ) -> torch.Tensor:
    """(frames, height, width) int64 z-buffer keys (EMPTY -1 where nothing) of the scanline
    set-up `rasterizer._Setup` (coef (10, N), first_row, num_rows, face), threads on row bands."""
    rows = frames * height
    zbuf = torch.empty((rows * width,), dtype=torch.int64)  # EMPTY, set by the fill
    coef, face = coef.contiguous(), face.contiguous()
    args = (_ptr(coef), _ptr(first_row.contiguous()), _ptr(num_rows.contiguous()), _ptr(face),
            face.numel(), width, height)
    bad = _parallel(rows, lambda a, b: _LIB.lp_fill_spans(*args, a, b, _ptr(zbuf)),
                    min_items=16)
    if bad:
        raise RuntimeError(f"rasterization met a non-finite triangle edge on {bad} rows")
    return zbuf.view(frames, height, width)


def silhouette(keys, face_part, height: int, width: int) -> torch.Tensor:
    """`antialias._silhouette`: (H*W,) bool, pixels whose 3x3 neighbourhood sees another part."""
    part = torch.empty(height * width, dtype=torch.int32)
    _parallel(part.numel(), lambda a, b: _LIB.lp_part_map(_ptr(keys), _ptr(face_part), a, b,
                                                          _ptr(part)))
    mixed = torch.empty(height * width, dtype=torch.bool)
    _parallel(height, lambda a, b: _LIB.lp_silhouette(_ptr(part), height, width, a, b,
                                                      _ptr(mixed)), min_items=16)
    return mixed


def inverse_depth(keys: torch.Tensor) -> torch.Tensor:
    """`occlusion.frame_inverse_depth`: (H*W,) 1/depth of z-buffer keys, 0 where empty."""
    out = torch.empty(keys.numel(), dtype=torch.float32)
    _parallel(keys.numel(), lambda a, b: _LIB.lp_inverse_depth(_ptr(keys), a, b, _ptr(out)))
    return out


def sample_keys(planes, keys, edge, intr, k: int, height: int, width: int):
    """`antialias._sample_keys`: (E*k*k,) keys and sample rays rx, ry of the edge pixels."""
    n = edge.numel() * k * k
    best = torch.empty(n, dtype=torch.int64)
    rx, ry = torch.empty(n, dtype=torch.float32), torch.empty(n, dtype=torch.float32)
    args = (_ptr(planes), _ptr(keys), _ptr(edge), _ptr(intr), k, height, width)
    _parallel(edge.numel(), lambda a, b: _LIB.lp_sample_keys(*args, a, b, _ptr(best), _ptr(rx),
                                                             _ptr(ry)), min_items=256)
    return best, rx, ry


def shadow_moments(keys, depths, radius: int) -> torch.Tensor:
    """`shadows.offset_depth` then `blurred_moments` of (G, S, S) light-space keys:
    (G, 2, S, S) float32."""
    maps, size = keys.shape[0], keys.shape[1]
    depth = torch.empty(keys.shape, dtype=torch.float32)
    args = (_ptr(keys), _ptr(depths))
    _parallel(keys.numel(), lambda a, b: _LIB.lp_offset_depth(*args, a, b, _ptr(depth)))
    out = torch.empty((maps, 2, size, size), dtype=torch.float32)
    scratch = torch.empty((maps, size + 2 * radius), dtype=torch.float32)

    def blur(a, b):
        _LIB.lp_blurred_moments(_ptr(depth), size, radius, a, b, scratch[a].data_ptr(),
                                _ptr(out))
    _parallel(maps, blur, min_items=1)
    return out


def flow_frame(depth, ids, rays, target_depth, transforms, params, width: int, height: int,
               flow, flags) -> None:
    """`motion.flow_block` of every pixel of a frame (arguments as `Backend.flow_frame`)."""
    args = (_ptr(depth), _ptr(ids), _ptr(rays), _ptr(target_depth), _ptr(transforms),
            _ptr(params), width, height)
    _parallel(depth.numel(), lambda a, b: _LIB.lp_flow(*args, a, b, _ptr(flow), _ptr(flags)))


def object_coordinates(depth, ids, rays, boxes, out) -> None:
    """`motion.coordinates_block` of every pixel of a frame into out (H*W, 3)."""
    args = (_ptr(depth), _ptr(ids), _ptr(rays), _ptr(boxes), depth.numel())
    _parallel(depth.numel(), lambda a, b: _LIB.lp_object_coordinates(*args, a, b, _ptr(out)))


def _check(bad: int) -> None:
    if bad:
        raise RuntimeError(f"shading read out of range at {bad} pixels: a non-finite position, "
                           "normal or texture coordinate (the eager renderer fails there too)")


def _interleaved(n: int, call) -> int:
    """call(part, parts) for part in range(parts), parts threads sharing n items; the sum of
    what the calls return."""
    parts = max(1, min(_threads(), n // _MIN_PIXELS_PER_THREAD))
    return _parallel(parts, lambda a, b: sum(call(part, parts) for part in range(a, b)),
                     min_items=1)

