"""benchmarks/device_check.sh on CPU: the determinism runs pass and a render speed is printed.

The same script runs on a lent GPU machine (`--accelerator cuda`); here it checks the CPU path
end to end (6 `lightpipe predict` runs, about a minute on 2 cores), without the compiled timing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

pytestmark = [pytest.mark.slow, pytest.mark.e2e]


def test_device_check_passes_on_cpu(tmp_path):
    out = tmp_path / "work"
    env = {**os.environ, "PYTHON": sys.executable}
    proc = subprocess.run(
        ["bash", str(REPO / "benchmarks/device_check.sh"), "--accelerator", "cpu",
         "--no-compile", "--frames", "2", "--out", str(out)],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=400)
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0, output[-6000:]
    rows = {cells[0]: cells[1:] for line in proc.stdout.splitlines() if line.startswith("| ")
            for cells in [[c.strip() for c in line.strip("|").split("|")]]}
    for name in ("tiny", "features"):
        for other in ("B", "C", "golden(cpu)"):
            assert rows[f"determinism {name} A=={other}"][0] == "PASS", output[-6000:]
    assert re.fullmatch(r"\d+\.\d+", rows["render eager frames/s"][0]), output[-6000:]
    assert float(rows["render eager frames/s"][0]) > 0
    assert "render compiled frames/s" not in rows
    assert not out.exists()  # removed without --keep
