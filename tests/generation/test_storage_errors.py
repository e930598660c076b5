"""Which write errors stop a task: those every further write would repeat, named by the file
the user knows."""

from __future__ import annotations

import errno
import os

import pytest

from lightpipe.generation.storage_errors import StorageRefused, writing


@pytest.mark.parametrize("code,reason", [(errno.ENOSPC, "out of space"),
                                         (errno.EDQUOT, "out of quota"),
                                         (errno.EROFS, "output not writable"),
                                         (errno.EACCES, "output not writable"),
                                         (errno.EPERM, "output not writable")])
def test_repeating_errors_name_the_final_file_and_the_errno(tmp_path, code, reason):
    final = tmp_path / "train" / "0003_color.mp4"
    with pytest.raises(StorageRefused) as caught:
        with writing(final):
            raise OSError(code, "from PyAV", str(tmp_path / "train" / ".0003_color.mp4.tmp-1"))
    refused = caught.value
    assert refused.reason == reason and refused.path == final
    assert str(refused) == (f"cannot write {final}: {os.strerror(code)} "
                            f"({errno.errorcode[code]})")


def test_other_errors_pass_through(tmp_path):
    with pytest.raises(OSError) as caught:
        with writing(tmp_path / "x"):
            raise OSError(errno.EINVAL, "bad argument")
    assert not isinstance(caught.value, StorageRefused)
