"""Loaded assets kept in memory, least recently used first out, bounded by bytes.

Meshes, material maps and images are loaded on first use (lazily) and kept in one per-process
cache (`ASSET_MEMORY`) whose size is the sum of the numpy arrays they hold; past the bound
(`settings.assets.mesh_cache_mb`, set with `set_asset_memory_mb`), the least recently used go.
An item larger than the whole bound is returned but not kept (named on stderr once).
"""

from __future__ import annotations

import dataclasses
import functools
import sys
import threading
from collections import OrderedDict
from collections.abc import Callable

import numpy as np

DEFAULT_MB = 1024  # `settings.assets.mesh_cache_mb`'s default


def nbytes(value, seen: set | None = None) -> int:
    """The bytes of the numpy arrays in `value` (dataclasses, tuples, lists, dicts of them),
    each array counted once."""
    seen = set() if seen is None else seen
    if id(value) in seen:
        return 0
    seen.add(id(value))
    if isinstance(value, np.ndarray):
        return int(value.nbytes)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return sum(nbytes(getattr(value, f.name), seen) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v, seen) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v, seen) for v in value.values())
    return 0


class ByteLRU:
    """A least-recently-used cache bounded by `nbytes` of its values; thread-safe (a value may
    be computed twice by two threads at once: the same value, kept once)."""

    def __init__(self, max_bytes: int) -> None:
        self.max_bytes = int(max_bytes)
        self.current_bytes = 0
        self.loads = 0  # values computed (misses)
        self._items: OrderedDict = OrderedDict()  # key -> (value, bytes)
        self._lock = threading.Lock()
        self._oversize_named = False

    def get(self, key, compute: Callable[[], object]):
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found[0]
        value = compute()
        size = nbytes(value)
        with self._lock:
            self.loads += 1
            if key in self._items or size > self.max_bytes:
                oversize = size > self.max_bytes and key not in self._items
            else:
                oversize = False
                self._items[key] = (value, size)
                self.current_bytes += size
                self._evict()
        if oversize and not self._oversize_named:
            self._oversize_named = True
            print(f"lightpipe: a loaded asset takes {size / 2**20:.0f} MB, more than the whole "
                  f"asset memory ({self.max_bytes / 2**20:.0f} MB): it is loaded again at each "
                  "use; raise --settings.assets.mesh_cache_mb", file=sys.stderr, flush=True)
        return value

    def set_limit(self, max_bytes: int) -> None:
        with self._lock:
            self.max_bytes = int(max_bytes)
            self._evict()

    def clear(self) -> None:
        with self._lock:
            self._items.clear()
            self.current_bytes = 0

    def __len__(self) -> int:
        return len(self._items)

    def _evict(self) -> None:
        while self.current_bytes > self.max_bytes and self._items:
            _, (_, size) = self._items.popitem(last=False)
            self.current_bytes -= size


ASSET_MEMORY = ByteLRU(DEFAULT_MB * 2**20)


def set_asset_memory_mb(megabytes: float) -> None:
    """Bound this process's loaded assets to `megabytes` (`settings.assets.mesh_cache_mb`)."""
    ASSET_MEMORY.set_limit(int(megabytes * 2**20))


def asset_memory_bytes() -> int:
    """Bytes of the loaded assets this process holds now (for benchmarks)."""
    return ASSET_MEMORY.current_bytes


def kept_in_memory(function):
    """Memoize `function` (hashable arguments) in `ASSET_MEMORY`; `.cache_clear()` empties
    the whole asset memory."""

    @functools.wraps(function)
    def cached(*args, **kwargs):
        key = (function.__module__, function.__qualname__, args, tuple(sorted(kwargs.items())))
        return ASSET_MEMORY.get(key, lambda: function(*args, **kwargs))

    cached.cache_clear = ASSET_MEMORY.clear
    return cached
