"""The native CPU kernels (`native/shade.c`, built into `lightpipe.render._native` at install):
per-pixel shading and the camera response fused into one C loop each, the same bits as the
eager PyTorch reference, split over threads by pixel ranges.

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


def _check(bad: int) -> None:
    if bad:
        raise RuntimeError(f"shading read out of range at {bad} pixels: a non-finite position, "
                           "normal or texture coordinate (the eager renderer fails there too)")


def _parallel(n: int, call) -> int:
    """call(start, stop) over [0, n) in up to torch.get_num_threads() equal ranges; the sum of
    what the calls return."""
    global _POOL
    parts = max(1, min(torch.get_num_threads(), n // _MIN_PIXELS_PER_THREAD))
    if parts == 1:
        return call(0, n)
    if _POOL is None or _POOL._max_workers < parts:
        _POOL = ThreadPoolExecutor(max(parts, torch.get_num_threads()),
                                   thread_name_prefix="lightpipe-native")
    bounds = [n * k // parts for k in range(parts + 1)]
    futures = [_POOL.submit(call, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return sum(future.result() or 0 for future in futures)
