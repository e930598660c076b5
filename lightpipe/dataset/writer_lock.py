"""One writer per dataset: an exclusive lock on the output directory, shared by one run.

Two unrelated `lightpipe predict` runs into one directory would render the same videos twice
or, with different configs, mix two datasets. The processes of ONE run (every task of a SLURM
job, every process Lightning's launcher starts) share the directory by design; they carry the
same run id in `LIGHTPIPE_RUN_ID`, set by `lightpipe predict` before any process is started.

On disk, `<output_dir>/.lightpipe-lock/` holds `owner.lock` (which run holds the lock, and who
started it) and one member file per live process of that run, `<host>.<pid>.member`, whose
mtime a daemon thread refreshes every `HEARTBEAT_S`. Both hold JSON; neither is named `.json`,
so a glob for the videos' metadata (`output/*/*.json`) never counts them. Only file operations
that are atomic on NFS are used: `owner.lock` is created by `os.link` of a complete temp file
(fails if it exists; `O_EXCL` where a mount has no hard links) and taken over from a dead run
by `os.rename` to a name of the taker's own (one racer wins).

A member is alive when, on this host, its pid exists and started when the file says (a reused
pid is another process); on another host, when its heartbeat is younger than `STALE_AFTER_S`.
A run with no live member is dead and its lock is taken over with one message.
"""

from __future__ import annotations

import atexit
import contextlib
import datetime
import json
import os
import secrets
import shlex
import sys
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from lightpipe.atomic_io import TEMP_MARK, host_name, is_stale_temp, pid_exists
from lightpipe.errors import OutputDirError

LOCK_DIR = ".lightpipe-lock"
OWNER_FILE = "owner.lock"
MEMBER_SUFFIX = ".member"
RUN_ID_ENV = "LIGHTPIPE_RUN_ID"
HEARTBEAT_S = 30.0
STALE_AFTER_S = 120.0  # four missed heartbeats: that process (or its host) is gone
POLL_S = 1.0  # how often `lock_wait` looks again
UNREADABLE_GRACE_S = 5.0  # an owner file this young may still be being written (no-link mounts)


def ensure_run_id() -> str:
    """The run id of this process, set in the environment when absent so that every process
    started from here (Lightning's launcher re-runs the command with this environment) joins
    the same run. A SLURM job's tasks, on any node and after a requeue, share `slurm-<job>`."""
    run_id = os.environ.get(RUN_ID_ENV)
    if not run_id:
        job = os.environ.get("SLURM_JOB_ID")
        run_id = f"slurm-{job}" if job else f"{host_name()}-{os.getpid()}-{secrets.token_hex(4)}"
        os.environ[RUN_ID_ENV] = run_id
    return run_id


def pid_start_time(pid: int) -> int | None:
    """When `pid` started (clock ticks since boot, /proc/<pid>/stat field 22); None where
    /proc is absent or the process is gone. Tells a live process from a later one with its pid."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    try:
        return int(stat.rsplit(")", 1)[1].split()[19])  # fields after "(comm)" start at field 3
    except (IndexError, ValueError):
        return None


@dataclass(frozen=True)
class Member:
    """One process of a run, as its member file says."""

    path: Path
    run_id: str
    host: str
    pid: int
    pid_start: int | None

    def alive(self) -> bool:
        if self.host == host_name():
            if not pid_exists(self.pid):
                return False
            now = pid_start_time(self.pid)
            return self.pid_start is None or now is None or now == self.pid_start
        try:
            return time.time() - self.path.stat().st_mtime < STALE_AFTER_S
        except FileNotFoundError:
            return False


class WriterLock:
    """The lock of one output directory, held (or joined) by this process for its run."""

    def __init__(self, output_dir: str | Path, run_id: str, identity_sha256: str | None = None,
                 command: list[str] | None = None) -> None:
        self.root = Path(output_dir)
        self.folder = self.root / LOCK_DIR
        self.owner_file = self.folder / OWNER_FILE
        self.run_id, self.identity_sha256 = run_id, identity_sha256
        self.command = shlex.join(command if command is not None else sys.argv)
        self.host, self.pid = host_name(), os.getpid()
        self.member_file = self.folder / f"{self.host}.{self.pid}{MEMBER_SUFFIX}"
        self.held = False
        self._stop = threading.Event()
        self._announced: set[str] = set()

    # -- acquire ---------------------------------------------------------------------------

    def acquire(self, wait: float = 0.0) -> None:
        """Hold or join the lock; wait up to `wait` s for another live run to finish, then
        raise OutputDirError naming it."""
        deadline = time.monotonic() + wait
        self._write_member()
        try:
            while (holder := self._take_or_join()) is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise OutputDirError(self._refusal(holder, wait))
                time.sleep(min(POLL_S, left))
        except BaseException:
            self.member_file.unlink(missing_ok=True)
            raise
        self.held = True
        threading.Thread(target=self._heartbeat, name="lightpipe-lock-heartbeat",
                         daemon=True).start()
        atexit.register(self.release)

    def _take_or_join(self) -> dict | None:
        """None once this run holds the lock; else the owner record of the live run that does."""
        while True:
            if self._create_owner():
                return None
            owner = self._read(self.owner_file)
            if owner is None:  # removed (released, taken over) since, or being written
                try:
                    age = time.time() - self.owner_file.stat().st_mtime
                except FileNotFoundError:
                    continue
                if age < UNREADABLE_GRACE_S:
                    time.sleep(0.05)
                    continue
                owner = {}  # unreadable for long: no run can be alive in it
            run = owner.get("run_id")
            if run == self.run_id:
                return None
            if run is not None and any(m.alive() for m in self.members(run)):
                return owner
            self._take_over(owner)

    def _create_owner(self) -> bool:
        """Create owner.lock atomically (link of a complete temp file); False if it exists."""
        record = {
            "run_id": self.run_id, "dataset_identity_sha256": self.identity_sha256,
            "host": self.host, "pid": self.pid, "pid_start": pid_start_time(self.pid),
            "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
            "started": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "command": self.command,
        }
        text = json.dumps(record, indent=2, sort_keys=True) + "\n"
        tmp = self.folder / f".{OWNER_FILE}{TEMP_MARK}{self.host}-{self.pid}"
        tmp.write_text(text)
        try:
            os.link(tmp, self.owner_file)
            return True
        except FileExistsError:
            return False
        except OSError:  # no hard links here (some FUSE/SMB mounts): exclusive create instead
            try:
                fd = os.open(self.owner_file, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                return False
            with os.fdopen(fd, "w") as handle:
                handle.write(text)
            return True
        finally:
            tmp.unlink(missing_ok=True)

    def _take_over(self, owner: dict) -> None:
        """Move a dead run's owner.lock aside (only one racer's rename succeeds) and remove its
        dead members; one message on stderr per dead run."""
        grave = self.folder / f".taken{TEMP_MARK}{self.host}-{self.pid}"
        try:
            os.rename(self.owner_file, grave)
        except FileNotFoundError:
            return  # another process took it over first
        moved = self._read(grave) or {}
        if moved.get("run_id") != owner.get("run_id"):
            # A new holder linked its owner.lock between our read and our rename: put it back.
            with contextlib.suppress(FileExistsError):
                os.link(grave, self.owner_file)
        elif owner.get("run_id") not in self._announced:
            self._announced.add(owner.get("run_id"))
            print(f"lightpipe: taking over the lock of {str(self.root)!r} from a run that is no "
                  f"longer alive ({describe(owner)})", file=sys.stderr, flush=True)
        grave.unlink(missing_ok=True)
        for member in self.members(owner.get("run_id")):
            if not member.alive():
                member.path.unlink(missing_ok=True)

    def _refusal(self, owner: dict, waited: float) -> str:
        same = owner.get("dataset_identity_sha256")
        what = ("the same dataset" if same and same == self.identity_sha256
                else "another dataset" if same and self.identity_sha256 else "a dataset")
        after = f" (waited {waited:g} s)" if waited > 0 else ""
        return (f"`settings.output_dir` {str(self.root)!r} is being written by another run"
                f"{after}: {describe(owner)}; it renders {what}. One writer per dataset: a "
                "second run would render the same videos twice or mix two datasets.\n"
                "HINT: wait for that run to finish and run this command again, or pass "
                "--settings.lock_wait SECONDS to wait for it here. If that run is dead on "
                f"another host (it is detected on this one), remove {str(self.folder)!r} by hand.")

    # -- members and heartbeat -------------------------------------------------------------

    def _write_member(self) -> None:
        record = {"run_id": self.run_id, "host": self.host, "pid": self.pid,
                  "pid_start": pid_start_time(self.pid)}
        tmp = self.folder / f".{self.member_file.name}{TEMP_MARK}{self.host}-{self.pid}"
        for _ in range(10):  # the last member of a finishing run may remove the empty folder
            self.folder.mkdir(parents=True, exist_ok=True)
            try:
                tmp.write_text(json.dumps(record, sort_keys=True) + "\n")
                os.replace(tmp, self.member_file)
                return
            except FileNotFoundError:
                continue
        raise OutputDirError(f"cannot create the lock folder {str(self.folder)!r}: it keeps "
                             "disappearing.\nHINT: is another program deleting it?")

    def members(self, run_id: str | None = None) -> list[Member]:
        """The member files in the lock folder (of `run_id` only, when given)."""
        found = []
        for path in self.folder.glob(f"*{MEMBER_SUFFIX}"):
            data = self._read(path)
            if data is None or (run_id is not None and data.get("run_id") != run_id) \
                    or not isinstance(data.get("pid"), int):
                continue
            found.append(Member(path, data.get("run_id", ""), data.get("host", ""),
                                data["pid"], data.get("pid_start")))
        return found

    def _heartbeat(self) -> None:
        """Refresh the member file's mtime (recreate it if someone removed it)."""
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.member_file)
            except FileNotFoundError:
                if self.held:
                    with contextlib.suppress(OSError, OutputDirError):
                        self._write_member()
            except OSError:
                pass

    # -- release ---------------------------------------------------------------------------

    def release(self) -> None:
        """Leave the run; the last live member removes owner.lock and the folder. A process of
        this run joining meanwhile is seen in the second look and gets owner.lock back."""
        if not self.held:
            return
        self.held = False
        self._stop.set()
        atexit.unregister(self.release)
        self.member_file.unlink(missing_ok=True)
        if any(m.alive() for m in self.members(self.run_id)):
            return
        grave = self.folder / f".released{TEMP_MARK}{self.host}-{self.pid}"
        try:
            os.rename(self.owner_file, grave)
        except FileNotFoundError:
            grave = None  # another member of this run released it
        if grave is not None:
            moved = self._read(grave) or {}
            if moved.get("run_id") != self.run_id \
                    or any(m.alive() for m in self.members(self.run_id)):
                with contextlib.suppress(FileExistsError):
                    os.link(grave, self.owner_file)
            grave.unlink(missing_ok=True)
        for member in self.members():
            if not member.alive():
                member.path.unlink(missing_ok=True)
        for temp in self.folder.glob(".*"):  # left by a process killed mid-step
            if is_stale_temp(temp):
                temp.unlink(missing_ok=True)
        with contextlib.suppress(OSError):  # not empty: another run is arriving
            self.folder.rmdir()

    @staticmethod
    def _read(path: Path) -> dict | None:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            return None
        return data if isinstance(data, dict) else None


def describe(owner: dict) -> str:
    """`host H, pid P, SLURM job J, since T, command: C` of an owner record."""
    job = owner.get("slurm_job_id")
    parts = [f"host {owner.get('host', '?')}", f"pid {owner.get('pid', '?')}",
             f"SLURM job {job}" if job else "not a SLURM job",
             f"since {owner.get('started', '?')}", f"command: {owner.get('command', '?')}"]
    return ", ".join(parts)


def lock_output_dir(output_dir: str | Path, identity_sha256: str | None = None,
                    wait: float = 0.0) -> WriterLock:
    """Create `output_dir` if missing and hold or join its lock for this process's run
    (released at exit, or earlier by `release`)."""
    Path(output_dir).mkdir(parents=True, exist_ok=True)
    lock = WriterLock(output_dir, ensure_run_id(), identity_sha256)
    lock.acquire(wait)
    return lock


def live_holder(output_dir: str | Path) -> dict | None:
    """The owner record of the run writing `output_dir` now (a live member on this host, or a
    fresh heartbeat elsewhere), or None. Reads only: for `plan` and `verify`, which never lock."""
    folder = Path(output_dir) / LOCK_DIR
    owner = WriterLock._read(folder / OWNER_FILE)
    run = owner.get("run_id") if owner else None
    if not run or run == os.environ.get(RUN_ID_ENV):
        return None
    query = WriterLock(output_dir, run_id="", command=[])
    return owner if any(member.alive() for member in query.members(run)) else None
