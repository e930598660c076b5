"""The native CPU kernels (`csrc/*.c`, built into `lightpipe.render._native` at install): the
z-buffer fill, silhouette anti-aliasing, shadow maps, per-pixel shading and the camera response
in C loops, the same bits as the eager PyTorch reference, split over threads by ranges.

Loaded through ctypes (which releases the GIL during a call, so the threads run in parallel).
`available()` is False where the extension was not built (no C compiler at install time); the
renderer then runs the reference. `LIGHTPIPE_NATIVE=0` turns the kernels off;
`LIGHTPIPE_NATIVE_VARIANT=base|v3|v4` picks an instruction-set build (default: the best the CPU
runs; all give the same bits).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.util
import math
import os
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import torch

from lightpipe.render import look
from lightpipe.render.occlusion import KERNEL

_MIN_PIXELS_PER_THREAD = 4096
_CSRC = Path(__file__).with_name("csrc")
_p, _i64, _f32 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_float


class _Shading(ctypes.Structure):
    """`Shading` of shade.c: pointers into tensors that the caller keeps alive, then the look's
    values (`look.kernel_values`, each rounded once to float32). tests/render/test_look.py
    checks it against the C struct (`lp_shading_layout`)."""

    _fields_ = [("planes", _p), ("texels", _p), ("light", _p), ("env_texels", _p),
                ("env_count", _i64), ("env_sizes", _p), ("env_offsets", _p),
                ("env_levels", _i64), ("env", _p), ("brdf", _p), ("shadow", _p),
                ("shadow_count", _i64), ("shadow_params", _p), ("occ_depth", _p),
                ("occ_count", _i64), ("occ_params", _p), ("occ_kernel", _p), ("backdrop", _p),
                ("face_part", _p), ("min_roughness", _f32), ("dielectric_f0", _f32),
                ("karis_c0", _f32 * 4), ("karis_c1", _f32 * 4), ("karis_ab", _f32 * 2),
                ("lit_side_min", _f32), ("shadow_bias", _f32), ("shadow_min_variance", _f32),
                ("bleeding_cut", _f32), ("bleeding_scale", _f32), ("ao_radius", _f32),
                ("ao_keep", _f32), ("ao_scale", _f32), ("ao_axis", _f32)]


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
    "lp_depth_range": ([_p, _i64, _i64, _p], None),
    "lp_quantize_metric": ([_p, ctypes.c_double, ctypes.c_double, _i64, _i64, _p], None),
    "lp_inverse_depth_gray": ([_p, ctypes.c_double, ctypes.c_double, _i64, _i64, _p], None),
    "lp_shading_layout": ([], ctypes.c_char_p),
    "lp_brdf_terms": ([_p, _i64, _p], None),
}
# Instruction-set builds of the kernels (setup.py), best first, with their `lp_variants` bit.
VARIANTS = {"v4": 4, "v3": 2, "base": 1}


class _Kernels:
    """The kernels of one build variant, as plain attributes (`lp_shade_frame`, ...)."""

    def __init__(self, lib: ctypes.CDLL, variant: str) -> None:
        self.variant = variant
        for name, (argtypes, restype) in _SIGNATURES.items():
            fn = getattr(lib, f"{name}_{variant}")
            fn.argtypes, fn.restype = argtypes, restype
            setattr(self, name, fn)


def runnable_variants() -> list[str]:
    """The builds of the kernels this machine has and its CPU runs, best first (none without
    the extension)."""
    lib = _library()
    if lib is None:
        return []
    bits = lib.lp_variants()
    return [name for name, bit in VARIANTS.items() if bits & bit]


def use_variant(variant: str | None) -> None:
    """Bind the kernels of `variant` (None: the best this CPU runs). For tests and benchmarks:
    every variant gives the same bits."""
    global _LIB
    runnable = runnable_variants()
    if variant is not None and variant not in runnable:
        raise ValueError(f"native kernel variant {variant!r} is not runnable here "
                         f"(runnable: {runnable})")
    _LIB = _Kernels(_library(), variant or runnable[0]) if runnable else None


def variant() -> str | None:
    """The bound variant (None: the eager reference runs)."""
    return None if _LIB is None else _LIB.variant


@functools.lru_cache(maxsize=1)
def _library() -> ctypes.CDLL | None:
    spec = importlib.util.find_spec("lightpipe.render._native")
    if spec is None or spec.origin is None:
        return None
    try:
        lib = ctypes.CDLL(spec.origin)
    except OSError:
        return None
    lib.lp_variants.restype = ctypes.c_int
    lib.lp_source_hash.restype = ctypes.c_char_p
    built, sources = lib.lp_source_hash().decode(), _source_hash()
    if sources is not None and built != sources:
        warnings.warn("lightpipe's native kernels were built from other sources than those in "
                      f"{_CSRC}: rendering runs the eager reference (the same bytes, slower). "
                      "HINT: rebuild them with `pip install -e .` (or `make install`).",
                      stacklevel=2)
        return None
    return lib


def _source_hash() -> str | None:
    """`setup.source_hash` of the kernel sources beside this module and of the look table
    (None where they are not shipped, as in a wheel)."""
    paths = sorted(_CSRC.glob("*.[ch]"))
    if not paths:
        return None
    digest = hashlib.sha256()
    for path in [*paths, Path(look.__file__)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _load() -> _Kernels | None:
    if os.environ.get("LIGHTPIPE_NATIVE", "1") == "0":
        return None
    runnable = runnable_variants()
    forced = os.environ.get("LIGHTPIPE_NATIVE_VARIANT") or None
    return _Kernels(_library(), forced if forced in runnable else runnable[0]) \
        if runnable else None


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
        occ_depth, occ_params = occlusion if occlusion is not None else (None, None)
        self._keep = (planes, texels, light, lookup.texels, lookup.sizes, lookup.offsets, env,
                      brdf, moments, shadow_params, occ_depth, occ_params, backdrop, face_part)
        self.struct = _Shading(
            _ptr(planes), _ptr(texels), _ptr(light), _ptr(lookup.texels),
            lookup.texels.shape[1], _ptr(lookup.sizes), _ptr(lookup.offsets), lookup.levels,
            _ptr(env), _ptr(brdf), _ptr(moments),
            0 if moments is None else moments.shape[-1], _ptr(shadow_params), _ptr(occ_depth),
            0 if occ_depth is None else occ_depth.numel(), _ptr(occ_params),
            _ptr(_OCCLUSION_KERNEL), _ptr(backdrop), _ptr(face_part))
        for name, value in look.kernel_values().items():  # read now: the table as it is
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
    """`shadows._offset_depth` then `_blurred_moments` of (G, S, S) light-space keys:
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


class DepthCodes:
    """The per-frame work of `dataset.depth_codes` (the `kernels` it takes), in C."""

    @staticmethod
    def valid_range(depth: np.ndarray) -> tuple[float, float] | None:
        flat = torch.from_numpy(np.ascontiguousarray(depth)).view(-1)
        parts = []

        def one(a, b):
            out = torch.empty(2, dtype=torch.float32)
            _LIB.lp_depth_range(_ptr(flat), a, b, _ptr(out))
            parts.append(out)
        _parallel(flat.numel(), one)
        low = min(float(p[0]) for p in parts) if parts else math.inf
        high = max(float(p[1]) for p in parts) if parts else -math.inf
        return None if low > high else (low, high)

    @staticmethod
    def quantize(frame: np.ndarray, near: float, scale: float, out: np.ndarray) -> None:
        z, codes = torch.from_numpy(frame).view(-1), torch.from_numpy(out).view(-1)
        _parallel(z.numel(), lambda a, b: _LIB.lp_quantize_metric(_ptr(z), near, scale, a, b,
                                                                  _ptr(codes)))

    @staticmethod
    def inverse_gray(frame: np.ndarray, low: float, span: float, out: np.ndarray) -> None:
        z, gray = torch.from_numpy(frame).view(-1), torch.from_numpy(out).view(-1)
        _parallel(z.numel(), lambda a, b: _LIB.lp_inverse_depth_gray(_ptr(z), low, span, a, b,
                                                                     _ptr(gray)))


def _check(bad: int) -> None:
    if bad:
        raise RuntimeError(f"shading read out of range at {bad} pixels: a non-finite position, "
                           "normal or texture coordinate (the eager renderer fails there too)")


def _interleaved(n: int, call) -> int:
    """call(part, parts) for part in range(parts), parts threads sharing n items; the sum of
    what the calls return."""
    parts = max(1, min(torch.get_num_threads(), n // _MIN_PIXELS_PER_THREAD))
    return _parallel(parts, lambda a, b: sum(call(part, parts) for part in range(a, b)),
                     min_items=1)


def _parallel(n: int, call, min_items: int = _MIN_PIXELS_PER_THREAD) -> int:
    """call(start, stop) over [0, n) in up to torch.get_num_threads() equal ranges of at least
    `min_items`; the sum of what the calls return."""
    global _POOL
    parts = max(1, min(torch.get_num_threads(), n // min_items))
    if parts == 1:
        return call(0, n) or 0
    if _POOL is None or _POOL._max_workers < parts:
        _POOL = ThreadPoolExecutor(max(parts, torch.get_num_threads()),
                                   thread_name_prefix="lightpipe-native")
    bounds = [n * k // parts for k in range(parts + 1)]
    futures = [_POOL.submit(call, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return sum(future.result() or 0 for future in futures)
