"""What the asset files hold, remembered between runs: each file's sha256 and per-asset records
(a validation's outcome and the facts it found), keyed by each file's (size, mtime_ns).

One cache file per asset root (keyed by the root's absolute path), as JSON, under
`<cache>/assets/`, where `<cache>` is `$LIGHTPIPE_CACHE_DIR`, else `$XDG_CACHE_HOME/lightpipe`,
else `~/.cache/lightpipe` (`user_cache_dir`). Nothing is written into the asset root.

Many processes (SLURM tasks starting at once) share a cache file without locks:
* readers read the whole file; a file is only ever replaced whole (`os.replace` of a temp), so
  a reader sees one writer's complete version;
* a writer reads the file again just before writing, merges its own entries in (its own win),
  drops entries of files that are gone or changed, and replaces the file. Two writers at once
  may lose one's new entries: that only costs a recomputation later, never a wrong answer;
* a file that is not valid JSON, is truncated, has the wrong structure or another `VERSION` is
  named on stderr once ("rebuilding") and replaced: nothing in it is trusted.

An entry is valid while the file's size and mtime_ns are the ones recorded. A file modified in
the last `RACY_SECONDS` is hashed (and its records computed) again on every use and never
stored: within a filesystem's timestamp granularity a second edit could keep its mtime.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from lightpipe.atomic_io import is_stale_temp, sha256_file, write_bytes

VERSION = 1  # bump when the cache file's layout or the meaning of an entry changes
FORMAT = "lightpipe asset cache"
RACY_SECONDS = 2.0
_HEX = set("0123456789abcdef")


def user_cache_dir() -> Path:
    """Lightpipe's cache folder: `$LIGHTPIPE_CACHE_DIR`, else `$XDG_CACHE_HOME/lightpipe`,
    else `~/.cache/lightpipe`."""
    if os.environ.get("LIGHTPIPE_CACHE_DIR"):
        return Path(os.environ["LIGHTPIPE_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "lightpipe"


def cache_path(root: str | Path) -> Path:
    """The cache file of the asset root `root`: `<cache>/assets/<name>-<hash of its path>.json`."""
    absolute = os.path.abspath(root)
    tag = hashlib.sha256(absolute.encode()).hexdigest()[:16]
    name = "".join(c if c.isalnum() or c in "-_." else "_" for c in os.path.basename(absolute))
    return user_cache_dir() / "assets" / f"{name or 'root'}-{tag}.json"


class FileCache:
    """The cache of one asset root: `sha256(relative path)` and `record(...)`; `flush()` writes.

    Counters for tests and benchmarks: `hashed` (files read to hash them) and `computed`
    (records computed) in this process.
    """

    def __init__(self, root: str | Path) -> None:
        self.root = os.path.abspath(root)
        self.path = cache_path(root)
        self.hashed = 0
        self.computed = 0
        self._lock = threading.RLock()
        self._files: dict[str, list] = {}  # relative path -> [size, mtime_ns, sha256]
        self._records: dict[str, dict] = {}  # key -> {kind, files, params, value}
        self._dirty = False
        self._dropped: set[str] = set()  # files `keep_only` dropped: not merged back from disk
        self._warned = False
        self._files, self._records = self._read()

    # -- lookups ---------------------------------------------------------------------------

    def stat(self, relative: str) -> tuple[int, int] | None:
        """(size, mtime_ns) of a file under the root now, None when it does not exist."""
        try:
            info = os.stat(os.path.join(self.root, relative))
        except FileNotFoundError:
            return None
        return info.st_size, info.st_mtime_ns

    def sha256(self, relative: str) -> str:
        """The sha256 of a file under the root: from the cache while its size and mtime_ns are
        unchanged, else read and hashed. FileNotFoundError for a missing file."""
        key = self.stat(relative)
        if key is None:
            raise FileNotFoundError(os.path.join(self.root, relative))
        with self._lock:
            entry = self._files.get(relative)
            if entry is not None and tuple(entry[:2]) == key and not self._racy(key):
                return entry[2]
        digest = sha256_file(Path(self.root) / relative)
        with self._lock:
            self.hashed += 1
            self._files[relative] = [key[0], key[1], digest]
            self._dirty = True
        return digest

    def record(self, kind: str, files: Iterable[str], params: dict,
               compute: Callable[[], dict]) -> dict:
        """A JSON-able dict computed from the content of `files` (relative paths, the asset's
        main file first) with `params` (JSON-able): the stored one while every file's
        (size, mtime_ns) and the params are the ones it was computed with, else `compute()`,
        stored in the slot of (`kind`, main file) (so use one `kind` per kind of fact).
        Exceptions from `compute` pass through and store nothing: catch the ones that are an
        answer (a broken file) inside it."""
        files = tuple(files)
        params = json.loads(json.dumps(params, sort_keys=True))  # as the file stores it
        keys = [self.stat(f) for f in files]
        name = f"{kind}\0{files[0]}"  # one slot per (kind, asset): no stale ones pile up
        current = [[f, *k] if k is not None else [f, None, None] for f, k in zip(files, keys)]
        with self._lock:
            found = self._records.get(name)
            if found is not None and found["files"] == current and found["params"] == params \
                    and not any(k is None or self._racy(k) for k in keys):
                return json.loads(json.dumps(found["value"]))
        value = json.loads(json.dumps(compute()))  # JSON-able; the caller's copy is its own
        with self._lock:
            self.computed += 1
            self._records[name] = {"kind": kind, "files": current, "params": params,
                                   "value": value}
            self._dirty = True
        return json.loads(json.dumps(value))

    def keep_only(self, files: set[str]) -> None:
        """Drop the entries of files not in `files` (every file the root's scan lists: a file
        deleted or no longer an asset's); the next `flush` writes the cache without them."""
        with self._lock:
            gone = [rel for rel in self._files if rel not in files]
            for rel in gone:
                del self._files[rel]
            self._dropped.update(gone)
            self._dirty = self._dirty or bool(gone)

    # -- writing ---------------------------------------------------------------------------

    def flush(self) -> None:
        """Write what this process learnt, merged with the cache file as it is now (atomic
        replace; a read-only cache folder is named on stderr once and otherwise ignored)."""
        with self._lock:
            if not self._dirty:
                return
            disk_files, disk_records = self._read()
            files = {**{rel: e for rel, e in disk_files.items() if rel not in self._dropped},
                     **self._files}
            records = {**disk_records, **self._records}
            now: dict[str, tuple[int, int] | None] = {}

            def current(rel: str, size, mtime) -> bool:  # the file's key now, old enough
                if rel not in now:
                    now[rel] = self.stat(rel)
                return now[rel] == (size, mtime) and not self._racy(now[rel])

            files = {rel: e for rel, e in files.items() if current(rel, e[0], e[1])}
            records = {name: rec for name, rec in records.items()
                       if all(current(*entry) for entry in rec["files"])}
            data = {"format": FORMAT, "version": VERSION, "root": self.root,
                    "files": files, "records": records}
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                for stale in self.path.parent.glob(f".{self.path.name}.tmp-*"):
                    if is_stale_temp(stale):
                        stale.unlink(missing_ok=True)
                write_bytes(self.path, json.dumps(data, separators=(",", ":")).encode())
            except OSError as exc:
                if not self._warned:
                    self._warned = True
                    print(f"lightpipe: cannot write the asset cache {str(self.path)!r} "
                          f"({exc.strerror or exc}); asset files are hashed and checked again "
                          "on every start (set LIGHTPIPE_CACHE_DIR to a writable folder)",
                          file=sys.stderr, flush=True)
                return
            self._files, self._records, self._dirty = files, records, False

    @staticmethod
    def _racy(key: tuple[int, int]) -> bool:
        return key[1] > time.time_ns() - int(RACY_SECONDS * 1e9)

    # -- reading ---------------------------------------------------------------------------

    def _read(self) -> tuple[dict, dict]:
        """(files, records) of the cache file; empty when absent; when damaged or of another
        version, empty and named on stderr (once per process)."""
        try:
            text = self.path.read_bytes()
        except FileNotFoundError:
            return {}, {}
        except OSError as exc:
            return self._damaged(f"unreadable: {exc.strerror or exc}")
        try:
            data = json.loads(text)
        except ValueError:
            return self._damaged("not valid JSON: truncated or corrupted")
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            return self._damaged("not a Lightpipe asset cache")
        if data.get("version") != VERSION:
            return self._damaged(f"written by cache version {data.get('version')!r}; this "
                                 f"Lightpipe uses version {VERSION}")
        files, records = data.get("files"), data.get("records")
        if data.get("root") != self.root or not _valid_files(files) or \
                not _valid_records(records):
            return self._damaged("its entries are malformed")
        return files, records

    def _damaged(self, why: str) -> tuple[dict, dict]:
        if self.path not in _NAMED:
            _NAMED.add(self.path)
            print(f"lightpipe: the asset cache {str(self.path)!r} is {why}; rebuilding it "
                  "(asset files are hashed and checked again)", file=sys.stderr, flush=True)
        self._dirty = True  # replace it even when nothing new is learnt
        return {}, {}


_NAMED: set[Path] = set()  # damaged cache files already named on stderr


def _valid_files(files) -> bool:
    return isinstance(files, dict) and all(
        isinstance(rel, str) and isinstance(e, list) and len(e) == 3
        and all(isinstance(v, int) and not isinstance(v, bool) for v in e[:2])
        and isinstance(e[2], str) and len(e[2]) == 64 and set(e[2]) <= _HEX
        for rel, e in files.items())


def _valid_records(records) -> bool:
    def valid_file(entry) -> bool:
        return isinstance(entry, list) and len(entry) == 3 and isinstance(entry[0], str) and \
            all(isinstance(v, int) and not isinstance(v, bool) for v in entry[1:])

    return isinstance(records, dict) and all(
        isinstance(rec, dict) and isinstance(rec.get("kind"), str)
        and isinstance(rec.get("files"), list) and all(map(valid_file, rec["files"]))
        and isinstance(rec.get("params"), dict) and isinstance(rec.get("value"), dict)
        for rec in records.values())


_CACHES: dict[tuple, FileCache] = {}
_CACHES_LOCK = threading.Lock()


def file_cache(root: str | Path) -> FileCache:
    """The cache of asset root `root`, one per process (its file is read once)."""
    environ = os.environ
    key = (os.path.abspath(root), environ.get("LIGHTPIPE_CACHE_DIR"),
           environ.get("XDG_CACHE_HOME"))
    with _CACHES_LOCK:
        cache = _CACHES.get(key)
        if cache is None:
            cache = _CACHES[key] = FileCache(root)
        return cache


def forget_caches() -> None:
    """Drop every root's in-memory cache (the next use reads its file again): for tests."""
    with _CACHES_LOCK:
        _CACHES.clear()


def combined_digest(hashes: dict[str, str]) -> str:
    """One hex per asset from {relative path: sha256} of its files (main file first): the one
    file's own sha256, or for several files the sha256 of `path NUL sha256 LF` of each, in
    order."""
    if len(hashes) == 1:
        return next(iter(hashes.values()))
    return hashlib.sha256("".join(f"{rel}\0{digest}\n" for rel, digest in hashes.items()
                                  ).encode()).hexdigest()
