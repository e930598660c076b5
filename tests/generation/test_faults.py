"""The test-only fault injection: `gate@N` holds video N until its gate opens, and only N."""

from __future__ import annotations

import threading

import pytest

from lightpipe.generation import faults

from fault_gate import Gate, wait_until


def test_a_gate_holds_its_video_until_the_test_opens_it(tmp_path, monkeypatch):
    gate = Gate(tmp_path)
    for name, value in gate.env(2).items():
        monkeypatch.setenv(name, value)
    faults.maybe_inject(1)  # another video passes at once
    assert not gate.reached(1)
    held = threading.Thread(target=faults.maybe_inject, args=(2,))
    held.start()
    wait_until(lambda: gate.reached(2), "video 2 reached its gate", seconds=30)
    held.join(timeout=0.2)
    assert held.is_alive(), "video 2 went on before its gate opened"
    gate.open(2)
    held.join(timeout=30)
    assert not held.is_alive()


def test_a_gate_without_its_folder_is_refused(monkeypatch):
    monkeypatch.setenv(faults.ENV_VAR, "gate@0")
    monkeypatch.delenv(faults.GATE_VAR, raising=False)
    with pytest.raises(ValueError, match="gate@0 needs LIGHTPIPE_FAULT_GATE"):
        faults.maybe_inject(0)
