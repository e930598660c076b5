"""`depth_codes` in C (`csrc/depth_codes.c`, in the library `lightpipe.native_library`
loads): the same codes as the numpy definition, computed faster and split over threads."""

from __future__ import annotations

import ctypes
import math

import numpy as np
import torch

from lightpipe import native_library
from lightpipe.native_library import Functions, parallel, pointer

_p, _i64, _f64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
_LIB = Functions({
    "lp_depth_range": ([_p, _i64, _i64, _p], None),
    "lp_quantize_metric": ([_p, _f64, _f64, _i64, _i64, _p], None),
    "lp_inverse_depth_gray": ([_p, _f64, _f64, _i64, _i64, _p], None),
})


class NativeDepthCodes:
    """The per-frame work of `depth_codes` (the `fast` object it takes), in C."""

    @staticmethod
    def valid_range(depth: np.ndarray) -> tuple[float, float] | None:
        flat = torch.from_numpy(np.ascontiguousarray(depth)).view(-1)
        parts = []

        def one(a, b):
            out = torch.empty(2, dtype=torch.float32)
            _LIB.lp_depth_range(pointer(flat), a, b, pointer(out))
            parts.append(out)
        parallel(flat.numel(), one)
        low = min(float(p[0]) for p in parts) if parts else math.inf
        high = max(float(p[1]) for p in parts) if parts else -math.inf
        return None if low > high else (low, high)

    @staticmethod
    def quantize(frame: np.ndarray, near: float, scale: float, out: np.ndarray) -> None:
        z, codes = torch.from_numpy(frame).view(-1), torch.from_numpy(out).view(-1)
        parallel(z.numel(), lambda a, b: _LIB.lp_quantize_metric(pointer(z), near, scale, a, b,
                                                                 pointer(codes)))

    @staticmethod
    def inverse_gray(frame: np.ndarray, low: float, span: float, out: np.ndarray) -> None:
        z, gray = torch.from_numpy(frame).view(-1), torch.from_numpy(out).view(-1)
        parallel(z.numel(), lambda a, b: _LIB.lp_inverse_depth_gray(pointer(z), low, span, a, b,
                                                                    pointer(gray)))


def fast_depth_codes() -> type[NativeDepthCodes] | None:
    """`NativeDepthCodes` where the native library is available, else None: `depth_codes`
    then runs its numpy definition (the same codes)."""
    return NativeDepthCodes if native_library.available() else None
