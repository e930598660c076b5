"""When this process started (first import of the package): summaries report wall time from it."""

from __future__ import annotations

import time

STARTED = time.monotonic()


def wall_seconds() -> float:
    return time.monotonic() - STARTED
