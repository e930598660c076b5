"""Atomic file writes: a temp file in the same directory, fsync, then `os.replace`.

A temp file's name carries its owner (`.NAME.tmp-HOST-PID`), so a process cleaning up deletes
only the temps of dead writers, never one another live process (on any host) is writing.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import socket
import time
from collections.abc import Iterator
from pathlib import Path

TEMP_MARK = ".tmp-"
# A writer on another host is presumed dead when its temp file has not changed for this long
# (an encoder writes its file continuously; a video takes seconds to minutes).
FOREIGN_TEMP_STALE_S = 15 * 60.0


def host_name() -> str:
    """This host's name as it appears in file names: [A-Za-z0-9.-] only."""
    return re.sub(r"[^A-Za-z0-9.-]", "-", socket.gethostname()) or "localhost"


def pid_exists(pid: int) -> bool:
    """Whether a live process `pid` exists on this host. A zombie (killed, not yet reaped: an
    orphan in a container whose init never reaps) is dead: it writes nothing any more."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        pass
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return True  # no /proc here: the signal test is all there is
    return state not in ("Z", "X")


def temp_path(final: Path) -> Path:
    """A hidden per-process temp name beside `final` (same filesystem, so replace is atomic)."""
    return final.with_name(f".{final.name}{TEMP_MARK}{host_name()}-{os.getpid()}")


def is_temp(path: Path) -> bool:
    return path.name.startswith(".") and TEMP_MARK in path.name


def temp_owner(path: Path) -> tuple[str, int] | None:
    """(host, pid) that writes the temp file `path`; None if it is not a temp name. Old names
    (`.tmp-PID`, before the host was added) are this host's."""
    if not is_temp(path):
        return None
    owner = Path(path).name.rsplit(TEMP_MARK, 1)[1]
    host, _, pid = owner.rpartition("-")
    if not pid.isdigit():
        return None
    return host or host_name(), int(pid)


def is_stale_temp(path: Path) -> bool:
    """A temp file whose writer is gone: on this host, its pid no longer exists; on another,
    the file has not changed for FOREIGN_TEMP_STALE_S."""
    owner = temp_owner(path)
    if owner is None:
        return False
    host, pid = owner
    if host == host_name():
        return pid != os.getpid() and not pid_exists(pid)
    try:
        return time.time() - Path(path).stat().st_mtime > FOREIGN_TEMP_STALE_S
    except FileNotFoundError:
        return False


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
