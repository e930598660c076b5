"""Test-only fault injection, off unless LIGHTPIPE_FAULT is set (e.g. `raise@3,exit@7`).

`raise@N`: rendering video N raises (the task records it and goes on).
`exit@N`: the task rendering video N dies at once (os._exit(3)), as on OOM or node loss.
`stall@N`: rendering video N first waits STALL_SECONDS (a slow video, to signal a task mid-run).
`gate@N`: rendering video N first creates `N.reached` in the folder LIGHTPIPE_FAULT_GATE, then
    waits until `N.open` appears there (GATE_SECONDS at most): a test acts while video N is
    known to be rendering, then lets it go on, with no timing to guess.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

ENV_VAR = "LIGHTPIPE_FAULT"
GATE_VAR = "LIGHTPIPE_FAULT_GATE"
KINDS = ("raise", "exit", "stall", "gate")
STALL_SECONDS = 2.0
GATE_SECONDS = 600.0  # a test that died before opening its gate leaves no task behind for ever


class InjectedFault(RuntimeError):
    """Raised by `raise@N`."""


def maybe_inject(index: int) -> None:
    """Apply the faults configured for video `index` (nothing when the variable is unset)."""
    spec = os.environ.get(ENV_VAR, "")
    for item in filter(None, (part.strip() for part in spec.split(","))):
        kind, _, target = item.partition("@")
        if not target.isdigit() or kind not in KINDS:
            raise ValueError(f"{ENV_VAR}={spec!r}: bad item {item!r}; allowed: "
                             + ", ".join(f"{k}@N" for k in KINDS))
        if int(target) != index:
            continue
        if kind == "stall":
            time.sleep(STALL_SECONDS)
            continue
        if kind == "gate":
            _wait_at_gate(index)
            continue
        if kind == "raise":
            raise InjectedFault(f"injected fault while rendering video {index} ({ENV_VAR})")
        print(f"lightpipe: injected exit while rendering video {index} ({ENV_VAR})", flush=True)
        os._exit(3)


def _wait_at_gate(index: int) -> None:
    folder = os.environ.get(GATE_VAR)
    if not folder:
        raise ValueError(f"{ENV_VAR}: gate@{index} needs {GATE_VAR}, the folder of its files")
    (Path(folder) / f"{index}.reached").touch()
    deadline = time.monotonic() + GATE_SECONDS
    while not (Path(folder) / f"{index}.open").exists() and time.monotonic() < deadline:
        time.sleep(0.01)
