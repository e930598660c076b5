"""The native kernels are built, and from the sources in the tree, wherever a C compiler is."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from lightpipe import native_library
from lightpipe.commands.dispatch import main
from lightpipe.render import backend, native

from conftest import tiny_config


@pytest.mark.skipif(not (shutil.which("cc") or shutil.which("gcc")), reason="no C compiler")
def test_the_kernels_are_built_from_the_sources_beside_them():
    """Otherwise every native test would skip and rendering would silently run the (slower)
    eager reference: a stale or missing build fails here. HINT: `pip install -e .`."""
    assert native.available(), "the native kernels are not built or are stale"
    assert native_library.library().lp_source_hash().decode() == native_library.source_hash()
    assert native.variant() == native.runnable_variants()[0]


def test_lightpipe_native_0_runs_the_reference():
    code = "from lightpipe.render import native; print(native.available(), native.variant())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         env={"LIGHTPIPE_NATIVE": "0", "PATH": ""}, check=True).stdout
    assert out.split() == ["False", "None"]


@pytest.fixture
def not_built(monkeypatch):
    """The library as where no C compiler was at install time (in this process only)."""
    monkeypatch.setattr(native_library, "_loaded", lambda: (None, "not built"))
    monkeypatch.setattr(native_library, "_VARIANT", None)
    monkeypatch.setattr(backend, "_warned", False)


def test_a_run_without_the_kernels_says_so_once_and_how_to_build_them(not_built, tmp_path,
                                                                       capsys):
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "no_output")
    for index in (1, 2):  # two start-ups in one process: one message
        assert main(["preview", "--config", str(config), "--index", str(index), "--frames", "1",
                     "--out", str(tmp_path / f"{index}.png")]) == 0
    err = capsys.readouterr().err
    assert err.count("the native CPU kernels are not built") == 1, err
    assert "eager PyTorch reference: the same bytes, 3x to 8x slower" in err
    assert "HINT: install a C compiler and the Python headers (Debian/Ubuntu: `apt install gcc " \
           "python3-dev`), then rebuild the kernels: `pip install -e .`" in err


def test_no_message_where_the_user_chose_another_path(not_built, monkeypatch):
    assert backend.native_missing_notice("cpu") is not None
    assert backend.native_missing_notice("cpu", native_wanted=False) is None
    assert backend.native_missing_notice("cpu", compile=True) is None
    assert backend.native_missing_notice("cuda") is None
    monkeypatch.setenv("LIGHTPIPE_NATIVE", "0")
    assert backend.native_missing_notice("cpu") is None
