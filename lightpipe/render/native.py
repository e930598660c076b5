"""The native CPU kernels (`csrc/*.c`, built into `lightpipe.render._native` at install): the
z-buffer fill, silhouette anti-aliasing, shadow maps, per-pixel shading and the camera response
in C loops, the same bits as the eager PyTorch reference, split over threads by ranges.

Loaded through ctypes (which releases the GIL during a call, so the threads run in parallel).
`available()` is False where the extension was not built (no C compiler at install time); the
renderer then runs the reference. `LIGHTPIPE_NATIVE=0` turns the kernels off.
"""

from __future__ import annotations

import ctypes
import importlib.util
import os
from concurrent.futures import ThreadPoolExecutor

import torch

from lightpipe.render.occlusion import KERNEL

_MIN_PIXELS_PER_THREAD = 4096
_p, _i64 = ctypes.c_void_p, ctypes.c_int64


class _Shading(ctypes.Structure):
    """`Shading` of shade.c: pointers into tensors that the caller keeps alive."""

    _fields_ = [("planes", _p), ("texels", _p), ("light", _p), ("env_texels", _p),
                ("env_count", _i64), ("env_sizes", _p), ("env_offsets", _p),
                ("env_levels", _i64), ("env", _p), ("brdf", _p), ("shadow", _p),
                ("shadow_count", _i64), ("shadow_params", _p), ("occ_keys", _p),
                ("occ_count", _i64), ("occ_params", _p), ("occ_kernel", _p), ("backdrop", _p), ("face_part", _p)]


def _load():
    if os.environ.get("LIGHTPIPE_NATIVE", "1") == "0":
        return None
    spec = importlib.util.find_spec("lightpipe.render._native")
    if spec is None or spec.origin is None:
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
    except OSError:
        return None
    lib.lp_shade_frame.argtypes = [ctypes.POINTER(_Shading), _p, _p, _i64, _i64, _i64, _p, _p,
                                   _p, _p]
    lib.lp_shade_samples.argtypes = [ctypes.POINTER(_Shading), _p, _p, _p, _p, _i64, _i64, _i64,
                                     _i64, _p]
    lib.lp_encode_response.argtypes = [_p, _i64, _p, _p, _i64, _i64, _p]
    lib.lp_shade_frame.restype = lib.lp_shade_samples.restype = _i64
    lib.lp_encode_response.restype = None
    lib.lp_fill_spans.argtypes = [_p, _p, _p, _p, _i64, _i64, _i64, _i64, _i64, _p]
    lib.lp_fill_spans.restype = _i64
    lib.lp_silhouette.argtypes = [_p, _p, _i64, _i64, _i64, _i64, _p]
    lib.lp_sample_keys.argtypes = [_p, _p, _p, _p, _i64, _i64, _i64, _i64, _i64, _p, _p, _p]
    lib.lp_offset_depth.argtypes = [_p, _p, _i64, _i64, _p]
    lib.lp_blurred_moments.argtypes = [_p, _i64, _i64, _i64, _i64, _p, _p]
    for fn in (lib.lp_silhouette, lib.lp_sample_keys, lib.lp_offset_depth,
               lib.lp_blurred_moments):
        fn.restype = None
    return lib


_LIB = _load()
_POOL: ThreadPoolExecutor | None = None
_OCCLUSION_KERNEL = torch.tensor(KERNEL, dtype=torch.float32).reshape(-1)


def available() -> bool:
    """Whether the native kernels are built and enabled."""
    return _LIB is not None


def _ptr(t: torch.Tensor | None) -> int | None:
    if t is None:
        return None
    assert t.is_contiguous() and t.device.type == "cpu", "native kernels take contiguous CPU tensors"
    return t.data_ptr()


class FrameKernels:
    """One frame's shading inputs as a `Shading` struct; the tensors stay referenced."""

    def __init__(self, planes, texels, light, lookup, env, brdf, shadow, occlusion, backdrop,
                 face_part) -> None:
        moments, shadow_params = shadow if shadow is not None else (None, None)
        occ_keys, occ_params = occlusion if occlusion is not None else (None, None)
        self._keep = (planes, texels, light, lookup.texels, lookup.sizes, lookup.offsets, env,
                      brdf, moments, shadow_params, occ_keys, occ_params, backdrop, face_part)
        self.struct = _Shading(
            _ptr(planes), _ptr(texels), _ptr(light), _ptr(lookup.texels),
            lookup.texels.shape[1], _ptr(lookup.sizes), _ptr(lookup.offsets), lookup.levels,
            _ptr(env), _ptr(brdf), _ptr(moments),
            0 if moments is None else moments.shape[-1], _ptr(shadow_params), _ptr(occ_keys),
            0 if occ_keys is None else occ_keys.numel(), _ptr(occ_params), _ptr(_OCCLUSION_KERNEL), _ptr(backdrop), _ptr(face_part))

    def shade_frame(self, keys, rays, radiance, depth, normals=None, segmentation=None) -> None:
        """Radiance (3, H*W), depth (H*W) and optional normals (H*W, 3) / segmentation (H*W)
        int32 of a frame's z-buffer `keys` (H*W) with `pixel_rays` (3, H*W)."""
        hw = keys.numel()
        args = (ctypes.byref(self.struct), _ptr(keys), _ptr(rays), hw)
        outs = (_ptr(radiance), _ptr(depth), _ptr(normals), _ptr(segmentation))
        _check(_parallel(hw, lambda a, b: _LIB.lp_shade_frame(*args, a, b, *outs)))

    def shade_samples(self, keys, rx, ry, backdrop_pixel, hw) -> torch.Tensor:
        """(3, N) radiance of N sample rays (rx, ry, 1): of face `keys & FACE_MASK` where
        keys >= 0, else of the backdrop (the image at `backdrop_pixel`, or the environment)."""
        n = keys.numel()
        radiance = torch.empty((3, n), dtype=torch.float32)
        args = (ctypes.byref(self.struct), _ptr(keys), _ptr(rx), _ptr(ry), _ptr(backdrop_pixel),
                hw, n)
        _check(_parallel(n, lambda a, b: _LIB.lp_shade_samples(*args, a, b, _ptr(radiance))))
        return radiance


def encode_response(radiance: torch.Tensor, table, rgb: torch.Tensor) -> None:
    """`camera_response.encode` of (3, H*W) radiance into (H, W, 3) uint8 `rgb`."""
    ends, codes = table
    hw = radiance.shape[1]
    args = (_ptr(radiance), hw, _ptr(ends), _ptr(codes))
    _parallel(hw, lambda a, b: _LIB.lp_encode_response(*args, a, b, _ptr(rgb)))


def fill_spans(coef, first_row, num_rows, face, width: int, height: int, frames: int
               ) -> torch.Tensor:
    """(frames, height, width) int64 z-buffer keys (EMPTY -1 where nothing) of the scanline
    set-up `rasterizer._Setup` (coef (10, N), first_row, num_rows, face), threads on row bands."""
    from lightpipe.render.rasterizer import EMPTY

    rows = frames * height
    zbuf = torch.full((rows * width,), EMPTY, dtype=torch.int64)
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
    mixed = torch.empty(height * width, dtype=torch.bool)
    args = (_ptr(keys), _ptr(face_part), height, width)
    _parallel(height, lambda a, b: _LIB.lp_silhouette(*args, a, b, _ptr(mixed)), min_items=16)
    return mixed


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
    """`shadows._offset_depth` then `_blurred_moments` of (G, S, S) light-space keys:
    (G, 2, S, S) float32."""
    maps, size = keys.shape[0], keys.shape[1]
    depth = torch.empty(keys.shape, dtype=torch.float32)
    args = (_ptr(keys), _ptr(depths))
    _parallel(keys.numel(), lambda a, b: _LIB.lp_offset_depth(*args, a, b, _ptr(depth)))
    out = torch.empty((maps, 2, size, size), dtype=torch.float32)
    scratch = torch.empty((maps, 2, size, size), dtype=torch.float32)

    def blur(a, b):
        _LIB.lp_blurred_moments(_ptr(depth), size, radius, a, b,
                                scratch[a].data_ptr(), _ptr(out))
    _parallel(maps, blur, min_items=1)
    return out


def _check(bad: int) -> None:
    if bad:
        raise RuntimeError(f"shading read out of range at {bad} pixels: a non-finite position, "
                           "normal or texture coordinate (the eager renderer fails there too)")


def _parallel(n: int, call, min_items: int = _MIN_PIXELS_PER_THREAD) -> int:
    """call(start, stop) over [0, n) in up to torch.get_num_threads() equal ranges of at least
    `min_items`; the sum of what the calls return."""
    global _POOL
    parts = max(1, min(torch.get_num_threads(), n // min_items))
    if parts == 1:
        return call(0, n)
    if _POOL is None or _POOL._max_workers < parts:
        _POOL = ThreadPoolExecutor(max(parts, torch.get_num_threads()),
                                   thread_name_prefix="lightpipe-native")
    bounds = [n * k // parts for k in range(parts + 1)]
    futures = [_POOL.submit(call, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return sum(future.result() or 0 for future in futures)
