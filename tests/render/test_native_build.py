"""The native kernels are built, and from the sources in the tree, wherever a C compiler is."""

from __future__ import annotations

import shutil
import subprocess
import sys

import pytest

from lightpipe import native_library
from lightpipe.render import native


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
