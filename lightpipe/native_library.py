"""The shared library of Lightpipe's native C kernels (`lightpipe.render._native`, built by
setup.py from `render/csrc` and `dataset/csrc`): loading it through ctypes (which releases the
GIL during a call, so threads run in parallel), its staleness check, the choice of instruction-set build, and the
split of a call over threads. The bindings themselves live beside the code they speed up:
`render.native` (the renderer's kernels), `dataset.native_depth_codes` (the depth codes) and
`dataset.native_output_codes` (the normals, flow and object-coordinate codes).

The library is missing where it was not built (no C compiler at install time) and ignored where
it was built from other sources than those beside it (stale); `LIGHTPIPE_NATIVE=0` turns it
off; `LIGHTPIPE_NATIVE_VARIANT=base|v3|v4` picks an instruction-set build (default: the best the
CPU runs; all give the same bits). Callers then run their reference code (the same bytes).
"""

from __future__ import annotations

import ctypes
import functools
import hashlib
import importlib.machinery
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import torch

MODULE_DIR = Path(__file__).parent / "render"  # where setup.py builds `lightpipe.render._native`
SOURCES = MODULE_DIR / "csrc"
DATASET_SOURCES = Path(__file__).parent / "dataset" / "csrc"  # the depth and output codes
LOOK_TABLE = MODULE_DIR / "look.py"  # the layout part of it is compiled in (a generated header)
# Instruction-set builds of the kernels (setup.py), best first, with their `lp_variants` bit.
VARIANTS = {"v4": 4, "v3": 2, "base": 1}
MIN_ITEMS_PER_THREAD = 4096


def source_hash() -> str | None:
    """`setup.source_hash` of the kernel sources and of the look table their generated header
    comes from (None where they are not shipped, as in a wheel): the build records it, and a
    build with another hash is stale."""
    paths = sorted([*SOURCES.glob("*.[ch]"), *DATASET_SOURCES.glob("*.[ch]")])
    if not paths:
        return None
    digest = hashlib.sha256()
    for path in [*paths, LOOK_TABLE]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


@functools.lru_cache(maxsize=1)
def _loaded() -> tuple[ctypes.CDLL | None, str | None]:
    """(the library, None), or (None, why not: "not built" or "stale")."""
    # The file, not `importlib.util.find_spec(MODULE)`: that would import `lightpipe.render`.
    paths = [MODULE_DIR / f"_native{suffix}" for suffix in importlib.machinery.EXTENSION_SUFFIXES]
    path = next((p for p in paths if p.exists()), None)
    if path is None:
        return None, "not built"
    try:
        lib = ctypes.CDLL(str(path))
    except OSError:
        return None, "not built"
    lib.lp_variants.restype = ctypes.c_int
    lib.lp_source_hash.restype = ctypes.c_char_p
    sources = source_hash()
    if sources is not None and lib.lp_source_hash().decode() != sources:
        return None, "stale"
    return lib, None


def library() -> ctypes.CDLL | None:
    """The loaded library, or None where it is not built or stale."""
    return _loaded()[0]


def missing() -> str | None:
    """Why the library cannot be used: "not built", "stale", or None (it is usable; it may
    still be turned off, see `available`)."""
    return _loaded()[1]


def runnable_variants() -> list[str]:
    """The builds of the kernels this machine has and its CPU runs, best first (none without
    the library)."""
    lib = library()
    if lib is None:
        return []
    bits = lib.lp_variants()
    return [name for name, bit in VARIANTS.items() if bits & bit]


def turned_off() -> bool:
    """Whether the user turned the native kernels off (`LIGHTPIPE_NATIVE=0`)."""
    return os.environ.get("LIGHTPIPE_NATIVE", "1") == "0"


def _initial_variant() -> str | None:
    if turned_off():
        return None
    runnable = runnable_variants()
    forced = os.environ.get("LIGHTPIPE_NATIVE_VARIANT") or None
    return (forced if forced in runnable else runnable[0]) if runnable else None


_VARIANT = _initial_variant()


def use_variant(name: str | None) -> None:
    """Bind the kernels of build `name` (None: the best this CPU runs). For tests and
    benchmarks: every variant gives the same bits."""
    global _VARIANT
    runnable = runnable_variants()
    if name is not None and name not in runnable:
        raise ValueError(f"native kernel variant {name!r} is not runnable here "
                         f"(runnable: {runnable})")
    _VARIANT = name or (runnable[0] if runnable else None)


def variant() -> str | None:
    """The bound variant (None: the native kernels are off, missing or stale)."""
    return _VARIANT


def available() -> bool:
    """Whether the native kernels are built, current and turned on."""
    return _VARIANT is not None


class Functions:
    """The C functions named in `signatures` ({name: (argument types, result type)}) of the
    bound variant, as attributes (`functions.lp_shade_frame(...)`)."""

    def __init__(self, signatures: dict) -> None:
        self._signatures, self._bound = signatures, {}

    def __getattr__(self, name: str):
        symbol = f"{name}_{_VARIANT}"
        fn = self._bound.get(symbol)
        if fn is None:
            argtypes, restype = self._signatures[name]
            fn = getattr(library(), symbol)
            fn.argtypes, fn.restype = argtypes, restype
            self._bound[symbol] = fn
        return fn


def pointer(t: torch.Tensor | None) -> int | None:
    """The address of a contiguous CPU tensor (None for None), for a C function."""
    if t is None:
        return None
    assert t.is_contiguous() and t.device.type == "cpu", "C functions take contiguous CPU tensors"
    return t.data_ptr()


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


_SHARE = None  # () -> (threads a call may use, callers at most): videos side by side


def share_threads(share) -> None:
    """Videos rendered side by side (`generation.in_flight`): `share()` gives the threads one
    call of `parallel` may use now and how many threads may call it at once (its pool keeps
    workers for all of them); None: torch's threads, one caller at a time."""
    global _SHARE
    _SHARE = share


def _share_now() -> tuple[int, int]:
    """(threads one native call may use now, threads that may call at once): torch's and 1,
    or the share of `share_threads`."""
    return (torch.get_num_threads(), 1) if _SHARE is None else _SHARE()


def threads() -> int:
    """Threads one native call may use now: torch's, or the share of `share_threads` (a video
    rendering alone while others are in flight gets them all)."""
    return _share_now()[0]


def parallel(n: int, call, min_items: int | None = None) -> int:
    """call(start, stop) over [0, n) in up to `threads()` equal ranges of at least `min_items`
    (default MIN_ITEMS_PER_THREAD); the sum of what the calls return."""
    global _POOL
    allowed, callers = _share_now()
    parts = max(1, min(allowed, n // (min_items or MIN_ITEMS_PER_THREAD)))
    if parts == 1:
        return call(0, n) or 0
    workers = max(parts, torch.get_num_threads()) * callers
    bounds = [n * k // parts for k in range(parts + 1)]
    with _POOL_LOCK:  # render threads side by side: one pool, grown under the lock
        if _POOL is None or _POOL._max_workers < workers:
            if _POOL is not None:  # its queued calls still run; its threads then end
                _POOL.shutdown(wait=False)
            _POOL = ThreadPoolExecutor(workers, thread_name_prefix="lightpipe-native")
        futures = [_POOL.submit(call, a, b) for a, b in zip(bounds[:-1], bounds[1:])]
    return sum(future.result() or 0 for future in futures)
