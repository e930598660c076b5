"""Keep freed memory in the process (glibc): the renderer's large temporaries then reuse pages
instead of faulting fresh zeroed ones in on every chunk of frames.

By default glibc serves blocks above a dynamic threshold with mmap and returns them (and the
heap top) to the kernel on free; every chunk of frames then pays for page faults and zeroing
(about 2,500 faults per 832x480 frame, 1-2 ms). Pinning the mmap threshold at its maximum
(32 MiB) and never trimming the heap keeps those pages: peak RSS stays what it was, the
process simply does not give memory back between chunks. Other C libraries: no-op.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import platform

M_TRIM_THRESHOLD, M_MMAP_THRESHOLD = -1, -3
MMAP_THRESHOLD_MAX = 32 << 20  # glibc's upper limit on 64-bit
_done = False


def keep_freed_memory() -> bool:
    """Apply the settings once per process; True when they are in effect."""
    global _done
    if _done:
        return True
    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        ok = libc.mallopt(M_MMAP_THRESHOLD, MMAP_THRESHOLD_MAX) == 1
        ok = libc.mallopt(M_TRIM_THRESHOLD, (1 << 31) - 1) == 1 and ok  # a C int: ~2 GiB
    except (OSError, AttributeError):
        return False
    _done = ok
    return ok
