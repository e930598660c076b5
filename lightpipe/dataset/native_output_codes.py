"""The per-video output codes in C (`csrc/output_codes.c`, in the library
`lightpipe.native_library` loads): normals (`outputs.labels.encode_normals`), optical flow and
object coordinates (`flow_codes.encode_flow`, `flow_codes.encode_object_coordinates`). The same
codes as the numpy definitions, computed one frame at a time in one pass, split over threads.

Each method takes one frame (C-contiguous float32 / uint8 / bool arrays, as the renderer
writes them) and its output array; the numpy functions pass their frames through it.
"""

from __future__ import annotations

import ctypes

import numpy as np
import torch

from lightpipe import native_library
from lightpipe.native_library import Functions, parallel, pointer

_p, _i64, _f64 = ctypes.c_void_p, ctypes.c_int64, ctypes.c_double
_LIB = Functions({
    "lp_encode_normals": ([_p, _f64, _i64, _i64, _p], None),
    "lp_encode_flow": ([_p, _p, _f64, _i64, _i64, _i64, _i64, _i64, _i64, _i64, _p], _i64),
    "lp_encode_object_coordinates": ([_p, _p, _f64, _i64, _i64, _p], _i64),
})


def _flat(array: np.ndarray) -> torch.Tensor:
    return torch.from_numpy(np.ascontiguousarray(array)).view(-1)


def _runs(n: int, call) -> list[int]:
    """`parallel` over [0, n) keeping every call's result (a -1 must not be summed away)."""
    results = []
    parallel(n, lambda a, b: results.append(call(a, b)))
    return results


class NativeOutputCodes:
    """The per-frame work of the output codes (the `fast` object `encode_normals`, `encode_flow`
    and `encode_object_coordinates` take), in C."""

    @staticmethod
    def normals(frame: np.ndarray, scale: float, out: np.ndarray) -> None:
        """frame (H, W, 3) float32 -> out (H, W, 3) uint8 (C-contiguous)."""
        n, codes = _flat(frame), torch.from_numpy(out).view(-1)
        parallel(n.numel() // 3, lambda a, b: _LIB.lp_encode_normals(pointer(n), scale, a, b,
                                                                     pointer(codes)))

    @staticmethod
    def flow(frame: np.ndarray, flags: np.ndarray, out: np.ndarray, scale: float, valid: int,
             saturated: int, code_min: int, code_max: int, offset: int) -> int | None:
        """frame (H, W, 2) float32 and flags (H, W) uint8 -> out (H, W, 3) uint16 (C-contiguous);
        the number of saturated pixels, or None when a valid pixel has NaN flow."""
        v, f, planes = _flat(frame), _flat(flags), torch.from_numpy(out).view(-1)
        results = _runs(f.numel(), lambda a, b: _LIB.lp_encode_flow(
            pointer(v), pointer(f), scale, valid, saturated, code_min, code_max, offset, a, b,
            pointer(planes)))
        return None if min(results, default=0) < 0 else sum(results)

    @staticmethod
    def zeros(shape: tuple[int, ...], dtype) -> np.ndarray:
        """A zeroed numpy array allocated by torch: numpy asks for transparent huge pages, and
        where the kernel then compacts memory on first touch that costs ~5x (as the renderer's
        buffers, `render.renderer`): 4-6 of the ~7 ms a frame the flow codes took."""
        torch_dtype = {np.uint8: torch.uint8, np.uint16: torch.uint16}[np.dtype(dtype).type]
        return torch.zeros(shape, dtype=torch_dtype).numpy()

    @staticmethod
    def object_coordinates(frame: np.ndarray, mask: np.ndarray, levels: float, out: np.ndarray
                           ) -> bool:
        """frame (H, W, 3) float32 and mask (H, W) bool -> out (H, W, 3) uint16 (C-contiguous);
        False when a masked pixel has a NaN coordinate."""
        c, m = _flat(frame), _flat(mask.view(np.uint8))
        codes = torch.from_numpy(out).view(-1)
        results = _runs(m.numel(), lambda a, b: _LIB.lp_encode_object_coordinates(
            pointer(c), pointer(m), levels, a, b, pointer(codes)))
        return min(results, default=0) >= 0


def fast_output_codes() -> type[NativeOutputCodes] | None:
    """`NativeOutputCodes` where the native library is available, else None: the encoders then
    run their numpy definitions (the same codes)."""
    return NativeOutputCodes if native_library.available() else None
