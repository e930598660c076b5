"""The physics engine: MuJoCo 3 (one wheel for CPython 3.10-3.13, deterministic by design),
chosen by measurement over PyBullet (docs/physics-engines.md).

The same model and start state give the same trajectory, bit for bit, in every process: the
simulation is single-threaded, with a fixed step and no randomness; the pinned version is part
of the dataset identity, since another release may step differently.
"""

from __future__ import annotations

import functools
from importlib import metadata

ENGINE = "mujoco"


@functools.lru_cache(maxsize=1)
def engine_version() -> str:
    """The installed engine's version (part of the dataset identity)."""
    try:
        return metadata.version(ENGINE)
    except metadata.PackageNotFoundError:
        return "not installed"


def engine_id() -> str:
    """`mujoco <version>`, as the dataset identity and `NNNN.json` record it."""
    return f"{ENGINE} {engine_version()}"


def load_model(xml: str):
    """(model, data) of an MJCF document."""
    import mujoco

    model = mujoco.MjModel.from_xml_string(xml)
    return model, mujoco.MjData(model)
