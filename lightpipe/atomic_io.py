"""Atomic file writes: a temp file in the same directory, fsync, then `os.replace`."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

TEMP_MARK = ".tmp-"


def temp_path(final: Path) -> Path:
    """A hidden per-process temp name beside `final` (same filesystem, so replace is atomic)."""
    return final.with_name(f".{final.name}{TEMP_MARK}{os.getpid()}")


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and TEMP_MARK in path.name


@contextlib.contextmanager
def atomic_path(final: Path) -> Iterator[Path]:
    """Yield a temp path to write; on success fsync it and move it to `final`, else delete it."""
    final = Path(final)
    tmp = temp_path(final)
    try:
        yield tmp
        commit(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)


def commit(tmp: Path, final: Path) -> None:
    """fsync `tmp`, rename it to `final`, fsync the directory."""
    with open(tmp, "rb") as handle:
        os.fsync(handle.fileno())
    os.replace(tmp, final)
    _fsync_dir(final.parent)


def write_bytes(final: Path, data: bytes) -> None:
    with atomic_path(final) as tmp:
        tmp.write_bytes(data)


def write_json(final: Path, obj: object) -> None:
    """Deterministic JSON (sorted keys, fixed layout), written atomically."""
    write_bytes(final, (json.dumps(obj, sort_keys=True, indent=2) + "\n").encode())


def file_digest(path: Path) -> dict:
    """Size in bytes and sha256 of a file."""
    return {"bytes": Path(path).stat().st_size, "sha256": sha256_file(path)}


def sha256_file(path: Path) -> str:
    """Hex sha256 of a file's bytes, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
