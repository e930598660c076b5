"""Write failures that will repeat for every video: a full disk or quota, a read-only or
forbidden folder. One video's render error is that video's; these are the storage's, so the task
stops after the video that met one and says so once, naming the file and the error, instead of
printing one traceback per remaining video.

PyAV reports them as `av.error.OSError` (an `OSError` with `errno` and the temp file's name,
e.g. ENOSPC on a full tmpfs), or as a plain `OSError` (EROFS, EACCES) when it opens the file;
Python's own writes (JSON, fsync, rename, mkdir) raise `OSError`s with the same `errno`s.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Iterator
from pathlib import Path

# errno -> the stop reason (shown in the summary and the dataset line) and what to do about it.
REPEATING = {
    errno.ENOSPC: ("out of space", "Free space, then run the same command."),
    errno.EDQUOT: ("out of quota", "Free space within your quota, then run the same command."),
    errno.EROFS: ("output not writable", "Write to a writable folder, then run the same command."),
    errno.EACCES: ("output not writable", "Make the folder writable, then run the same command."),
    errno.EPERM: ("output not writable", "Make the folder writable, then run the same command."),
}


class StorageRefused(Exception):
    """Writing `path` failed with an error every further write would repeat."""

    def __init__(self, path: Path, error: OSError) -> None:
        self.path, self.errno = Path(path), error.errno
        self.reason, self.hint = REPEATING[error.errno]
        super().__init__(f"cannot write {self.path}: {os.strerror(self.errno)} "
                         f"({errno.errorcode[self.errno]})")


def is_repeating(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in REPEATING


@contextlib.contextmanager
def writing(path: Path) -> Iterator[None]:
    """Turn a repeating write failure inside the block into `StorageRefused(path)`: the final
    name the user knows, not the hidden temp file PyAV reports."""
    try:
        yield
    except OSError as error:
        if is_repeating(error):
            raise StorageRefused(path, error) from error
        raise
