"""Checks and preparation of the output directory; `dataset.json` describes the dataset."""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from pathlib import Path

import lightpipe
from lightpipe.atomic_io import is_temp, write_json
from lightpipe.datamodule.layout import (
    DATASET_FILE,
    FAILURES_DIR,
    FORMAT_VERSION,
    RENDERER_VERSION,
    SPLITS,
    Layout,
    read_dataset_file,
)
from lightpipe.datamodule.planner import asset_pools, catalog_for
from lightpipe.datamodule.settings import ProjectSettings, Settings, dataset_identity
from lightpipe.errors import OutputDirError


def layout_for(settings: Settings) -> Layout:
    return Layout(Path(settings.output_dir), settings.num_videos, settings.num_train)


def expected_identity(project: ProjectSettings, settings: Settings) -> dict:
    """What defines a dataset's bytes: seed, byte-relevant settings, and the asset files."""
    return {**dataset_identity(project, settings),
            "assets": catalog_for(settings).fingerprint(), "renderer": RENDERER_VERSION}


def dataset_description(project: ProjectSettings, settings: Settings) -> dict:
    """The content of `dataset.json`: identical for identical configs, whatever the run."""
    identity = expected_identity(project, settings)
    layout = layout_for(settings)
    num_train = settings.num_train
    splits = {
        "train": _index_range(layout, 0, num_train),
        "val": _index_range(layout, num_train, settings.num_videos),
    }
    return {
        "format_version": FORMAT_VERSION,
        "lightpipe_version": lightpipe.__version__,
        "name": project.name,
        "config": identity,
        "config_sha256": _identity_hash(identity),
        "counts": {"total": settings.num_videos, "train": num_train,
                   "val": settings.num_videos - num_train},
        "splits": splits,
        "index_digits": layout.digits,
        "asset_pools": {split: pool.to_dict()
                        for split, pool in asset_pools(project.seed, settings).items()},
    }


def check_output_dir(project: ProjectSettings, settings: Settings) -> None:
    """Raise OutputDirError if the run may not write into `settings.output_dir`. Writes nothing."""
    root = Path(settings.output_dir)
    if root.exists() and not root.is_dir():
        raise OutputDirError(
            f"`settings.output_dir` is {str(root)!r}, which is a file, not a directory.\n"
            "HINT: pass a directory path (it is created if missing).")
    existing = root
    while not existing.exists():
        existing = existing.parent
    if not existing.is_dir() or not os.access(existing, os.W_OK | os.X_OK):
        raise OutputDirError(
            f"`settings.output_dir` is {str(root)!r}, which cannot be created or written: "
            f"{str(existing)!r} is not a writable directory.\n"
            "HINT: choose a directory you can write to.")
    if settings.overwrite:
        return
    try:
        found = read_dataset_file(root)
    except ValueError as exc:
        raise OutputDirError(f"{exc}\nHINT: pass --settings.overwrite true to replace it.") from None
    if found is None:
        return
    expected = expected_identity(project, settings)
    if found.get("config") != expected:
        differences = _differences(found.get("config") or {}, expected)
        raise OutputDirError(
            f"`settings.output_dir` {str(root)!r} holds a dataset made with another configuration "
            f"({'; '.join(differences[:6])}).\n"
            "Allowed: the same config and seed (the run resumes), or --settings.overwrite true, "
            "which deletes that dataset first.\n"
            "HINT: choose another --settings.output_dir to keep both.")


def prepare_output_dir(project: ProjectSettings, settings: Settings) -> None:
    """Rank 0, before any rendering: apply `overwrite`, create dirs, write `dataset.json`."""
    root = Path(settings.output_dir)
    if settings.overwrite:
        for name in (*SPLITS, FAILURES_DIR):
            shutil.rmtree(root / name, ignore_errors=True)
        (root / DATASET_FILE).unlink(missing_ok=True)
    for name in SPLITS:
        (root / name).mkdir(parents=True, exist_ok=True)
    # No task writes yet: temp files left here by a killed run are stale. (Temps of unfinished
    # videos in the split dirs are removed when that video is rendered again.)
    for stale in [*root.glob(".*"), *(root / FAILURES_DIR).glob(".*")]:
        if is_temp(stale):
            stale.unlink(missing_ok=True)
    description = dataset_description(project, settings)
    try:
        current = read_dataset_file(root)
    except ValueError:
        current = None
    if current != json.loads(json.dumps(description)):
        write_json(root / DATASET_FILE, description)


def _index_range(layout: Layout, start: int, stop: int) -> dict:
    if stop <= start:
        return {"count": 0, "first": None, "last": None}
    return {"count": stop - start, "first": layout.stem(start), "last": layout.stem(stop - 1)}


def _identity_hash(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def _differences(found: dict, expected: dict, prefix: str = "") -> list[str]:
    out = []
    for key in sorted(set(found) | set(expected)):
        a, b = found.get(key), expected.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += _differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} there, {b!r} now")
    return out
