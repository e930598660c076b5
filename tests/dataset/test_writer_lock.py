"""The output directory's lock (one run writes a dataset; its processes share it) and temp-file
ownership, with real processes as holders: a joiner, a live other run, a killed one, a reused
pid, a silent member on another host."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from lightpipe.atomic_io import host_name, is_stale_temp, temp_owner, temp_path
from lightpipe.config.settings import ProjectSettings, Settings, VideoSettings
from lightpipe.dataset.output_dir import prepare_output_dir
from lightpipe.dataset.writer_lock import (
    LOCK_DIR,
    MEMBER_SUFFIX,
    OWNER_FILE,
    STALE_AFTER_S,
    Member,
    WriterLock,
    pid_start_time,
)
from lightpipe.errors import OutputDirError

REPO = Path(__file__).resolve().parents[2]
# A holder process: takes (or joins) the lock of argv[1] for run argv[2], says so, then holds it
# until its stdin closes (and releases it at exit) or it is killed.
HOLDER = """
import sys
from lightpipe.dataset.writer_lock import WriterLock
lock = WriterLock(sys.argv[1], sys.argv[2], command=["holder", sys.argv[2]])
lock.acquire()
print("held", flush=True)
sys.stdin.read()
"""

ENV = {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), *sys.path])}


@pytest.fixture
def holders():
    started = []

    def start(out: Path, run_id: str) -> subprocess.Popen:
        proc = subprocess.Popen([sys.executable, "-c", HOLDER, str(out), run_id], env=ENV,
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        started.append(proc)
        assert proc.stdout.readline().strip() == "held"
        return proc

    yield start
    for proc in started:
        if proc.poll() is None:
            proc.kill()
        proc.wait()


def finish(proc: subprocess.Popen) -> None:
    """Let a holder exit normally (its atexit handler releases)."""
    proc.stdin.close()
    assert proc.wait(timeout=30) == 0


def owner(out: Path) -> dict:
    return json.loads((out / LOCK_DIR / OWNER_FILE).read_text())


def write_member(out: Path, run_id: str, host: str, pid: int, pid_start: int | None) -> Path:
    """A member file as another process would have left it (data, not a mock)."""
    path = out / LOCK_DIR / f"{host}.{pid}{MEMBER_SUFFIX}"
    path.write_text(json.dumps({"run_id": run_id, "host": host, "pid": pid,
                                "pid_start": pid_start}))
    return path


def write_owner(out: Path, run_id: str, host: str, pid: int) -> None:
    (out / LOCK_DIR / OWNER_FILE).write_text(json.dumps({
        "run_id": run_id, "host": host, "pid": pid, "slurm_job_id": "991",
        "started": "2026-01-02T03:04:05+00:00", "command": "lightpipe predict --config old.yaml"}))


def test_a_process_of_the_same_run_joins_and_the_last_one_out_removes_the_lock(tmp_path, holders):
    holder = holders(tmp_path, "job-1")
    mine = WriterLock(tmp_path, "job-1")
    mine.acquire()
    assert owner(tmp_path)["pid"] == holder.pid  # joined, not taken over
    assert {m.pid for m in mine.members("job-1")} == {holder.pid, os.getpid()}
    mine.release()
    assert owner(tmp_path)["pid"] == holder.pid  # the holder still writes: the lock stays
    finish(holder)
    assert not (tmp_path / LOCK_DIR).exists()


def test_the_holder_leaving_first_leaves_the_lock_to_the_members_still_running(tmp_path, holders):
    holder = holders(tmp_path, "job-1")
    mine = WriterLock(tmp_path, "job-1")
    mine.acquire()
    finish(holder)
    assert owner(tmp_path)["run_id"] == "job-1"
    other = subprocess.run([sys.executable, "-c", HOLDER, str(tmp_path), "job-2"], env=ENV,
                           stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=30)
    assert other.returncode != 0 and f"pid {holder.pid}" in other.stderr  # refused by job-1
    mine.release()
    assert not (tmp_path / LOCK_DIR).exists()


def test_a_live_other_run_is_refused_at_once_naming_its_holder(tmp_path, holders):
    holder = holders(tmp_path, "job-1")
    other = WriterLock(tmp_path, "job-2")
    start = time.monotonic()
    with pytest.raises(OutputDirError) as refused:
        other.acquire()
    assert time.monotonic() - start < 2
    message = str(refused.value)
    for part in (f"host {host_name()}", f"pid {holder.pid}", "since ", "command: holder job-1",
                 "--settings.lock_wait", str(tmp_path / LOCK_DIR), "\nHINT:"):
        assert part in message, part
    assert not other.member_file.exists()  # a refused process leaves nothing behind
    assert owner(tmp_path)["pid"] == holder.pid


def test_lock_wait_waits_for_the_holder_then_takes_the_lock(tmp_path, holders):
    holder = holders(tmp_path, "job-1")
    with pytest.raises(OutputDirError, match=r"waited 1\.5 s"):
        WriterLock(tmp_path, "job-2").acquire(wait=1.5)
    waiter = WriterLock(tmp_path, "job-2")
    start = time.monotonic()
    threading.Timer(2.0, holder.stdin.close).start()  # the holder finishes in 2 s
    waiter.acquire(wait=60)
    assert 1.5 < time.monotonic() - start < 30
    assert owner(tmp_path)["run_id"] == "job-2"
    waiter.release()
    assert not (tmp_path / LOCK_DIR).exists()


def test_a_killed_run_is_taken_over_with_one_message(tmp_path, holders, capsys):
    holder = holders(tmp_path, "job-1")
    holder.send_signal(signal.SIGKILL)
    holder.wait()
    mine = WriterLock(tmp_path, "job-2")
    mine.acquire()
    err = capsys.readouterr().err
    assert err.count("taking over the lock") == 1 and f"pid {holder.pid}" in err
    assert owner(tmp_path)["run_id"] == "job-2"
    assert [m.pid for m in mine.members()] == [os.getpid()]  # the dead member was removed
    mine.release()
    assert not (tmp_path / LOCK_DIR).exists()


def test_a_reused_pid_is_told_from_the_holder_by_its_start_time(tmp_path, capsys):
    if pid_start_time(os.getpid()) is None:
        pytest.skip("no /proc here: a pid's start time is unknown")
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        start = pid_start_time(sleeper.pid)
        (tmp_path / LOCK_DIR).mkdir()
        live = write_member(tmp_path, "job-1", host_name(), sleeper.pid, start)
        assert Member(live, "job-1", host_name(), sleeper.pid, start).alive()
        assert not Member(live, "job-1", host_name(), sleeper.pid, start - 1).alive()
        # The same pid, but the member file recorded another start: that holder is dead.
        write_member(tmp_path, "job-1", host_name(), sleeper.pid, start - 1)
        write_owner(tmp_path, "job-1", host_name(), sleeper.pid)
        mine = WriterLock(tmp_path, "job-2")
        mine.acquire()
        assert "taking over the lock" in capsys.readouterr().err
        mine.release()
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_killed_process_not_yet_reaped_is_dead(tmp_path):
    """A zombie still has its pid (an orphan in a container whose init never reaps stays one),
    but it writes nothing: its lock membership and its temp files are stale."""
    if pid_start_time(os.getpid()) is None:
        pytest.skip("no /proc here: zombies cannot be told from live processes")
    sleeper = subprocess.Popen(["sleep", "60"])
    start = pid_start_time(sleeper.pid)
    (tmp_path / LOCK_DIR).mkdir()
    path = write_member(tmp_path, "job-1", host_name(), sleeper.pid, start)
    temp = tmp_path / f".a.mp4.tmp-{host_name()}-{sleeper.pid}"
    temp.write_bytes(b"x")
    assert Member(path, "job-1", host_name(), sleeper.pid, start).alive()
    assert not is_stale_temp(temp)
    os.kill(sleeper.pid, signal.SIGKILL)
    deadline = time.monotonic() + 10
    while Path(f"/proc/{sleeper.pid}/stat").read_text().split(")")[1].split()[0] != "Z":
        assert time.monotonic() < deadline
        time.sleep(0.01)
    try:
        assert not Member(path, "job-1", host_name(), sleeper.pid, start).alive()
        assert is_stale_temp(temp)
    finally:
        sleeper.wait()


def test_a_member_on_another_host_is_alive_while_its_heartbeat_is_fresh(tmp_path, capsys):
    (tmp_path / LOCK_DIR).mkdir()
    member = write_member(tmp_path, "slurm-991", "node-17.cluster", 4242, 123)
    write_owner(tmp_path, "slurm-991", "node-17.cluster", 4242)
    with pytest.raises(OutputDirError, match="host node-17.cluster, pid 4242, SLURM job 991"):
        WriterLock(tmp_path, "job-2").acquire()
    old = time.time() - STALE_AFTER_S - 5
    os.utime(member, (old, old))
    mine = WriterLock(tmp_path, "job-2")
    mine.acquire()
    assert "taking over the lock" in capsys.readouterr().err
    assert not member.exists()
    mine.release()


def test_temp_names_carry_their_owner(tmp_path):
    final = tmp_path / "0001_color.mp4"
    assert temp_owner(temp_path(final)) == (host_name(), os.getpid())
    assert temp_owner(tmp_path / ".0001_color.mp4.tmp-123") == (host_name(), 123)  # old name
    assert temp_owner(tmp_path / ".0001_color.mp4.tmp-node-3.x-77") == ("node-3.x", 77)
    assert temp_owner(final) is None


def test_only_the_temps_of_dead_writers_are_stale(tmp_path):
    sleeper = subprocess.Popen(["sleep", "60"])
    live = tmp_path / f".a.mp4.tmp-{host_name()}-{sleeper.pid}"
    live_old_style = tmp_path / f".b.mp4.tmp-{sleeper.pid}"
    mine = temp_path(tmp_path / "c.mp4")
    foreign = tmp_path / ".d.mp4.tmp-elsewhere-12"
    for path in (live, live_old_style, mine, foreign):
        path.write_bytes(b"x")
    try:
        assert not any(is_stale_temp(p) for p in (live, live_old_style, mine, foreign))
    finally:
        sleeper.kill()
        sleeper.wait()
    assert is_stale_temp(live) and is_stale_temp(live_old_style)  # its writer is gone
    old = time.time() - 16 * 60
    os.utime(foreign, (old, old))
    assert is_stale_temp(foreign)  # another host's writer that stopped writing 16 min ago


def test_preparing_the_output_dir_keeps_live_temps_and_the_lock(tmp_path, holders):
    settings = Settings(num_videos=2, video=VideoSettings(64, 64, 2, 8),
                        output_dir=str(tmp_path / "out"))
    out = tmp_path / "out"
    holder = holders(out, "job-1")
    live = out / f".dataset.json.tmp-{host_name()}-{holder.pid}"
    dead = out / f".dataset.json.tmp-{host_name()}-{dead_pid()}"
    live.write_bytes(b"x")
    dead.write_bytes(b"x")
    prepare_output_dir(ProjectSettings(seed=3), replace(settings, lock_wait=0.0))
    assert live.exists() and not dead.exists()
    assert owner(out)["pid"] == holder.pid
    finish(holder)


def dead_pid() -> int:
    proc = subprocess.Popen(["true"])
    proc.wait()
    return proc.pid
