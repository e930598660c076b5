"""A dataset's identity (what fixes its bytes) and `dataset.json`, the description written with it.

Two runs with the same identity write the same bytes, so a rerun with it resumes; any other
identity in the same `output_dir` is another dataset. The identity is the master seed, every
setting that changes bytes, the asset files' fingerprint, the renderer version and, for
simulated scenes, the physics engine and its version.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json

import lightpipe
from lightpipe.assets.catalog import catalog_for
from lightpipe.config.settings import SPLITS, ProjectSettings, Settings
from lightpipe.dataset.layout import FORMAT_VERSION, Layout
from lightpipe.planning.planner import asset_pools

# Bump whenever the renderer writes different bytes for the same spec, so a dataset is never
# resumed by a renderer that would draw its videos otherwise.
# 2: rsqrt instead of MKL's sqrt, light parameters in float32, compiled-kernel layout.
# 3: physically based look: environment light (HDR maps, Preetham sky), GGX materials with
#    roughness/metal/normal maps, soft (variance) shadows, filmic camera response.
# 4: simulated scenes (`scene.dynamics: physics`, the default); kinematic objects stand
#    upright on their lowest point, turn about the vertical only and hop in free fall; the
#    shadow map covers the objects where they are.
# 5: textures at their own resolution (`settings.render.max_texture_size`), uint8 mip chains
#    sampled trilinearly over each pixel's footprint; built-in materials at 512 texels; HDR
#    backdrops from a cube sized for the frame (half floats, mip-mapped); the environment
#    ground (`settings.scene.ground`).
# 6: the ground's environment reflection integrated over its GGX lobe, read from a table per
#    environment (`render.ground_reflection`); 2x anisotropic texture filtering (two trilinear
#    taps); texel colour stored as round(255 sqrt(linear)) instead of sRGB codes.
RENDERER_VERSION = 6
# Settings that change speed or where files go, never the bytes of a video. `assets.root` is
# replaced in the identity by the ids and sha256 of the asset files.
RUNTIME_ONLY_KEYS = ("output_dir", "overwrite", "lock_wait", "assets.root", "render.compile",
                     "render.native", "render.frames_per_chunk", "render.max_candidates",
                     "render.videos_in_flight",
                     "encoder.max_pending_videos", "assets.mesh_cache_mb")


def dataset_identity(project: ProjectSettings, settings: Settings) -> dict:
    """Seed, byte-relevant settings, asset fingerprint and renderer version, as JSON stores it
    (tuples become lists), so it compares equal to the `config` of a `dataset.json` read back."""
    data = dataclasses.asdict(settings)
    for key in RUNTIME_ONLY_KEYS:
        *parents, leaf = key.split(".")
        node = data
        for parent in parents:
            node = node[parent]
        node.pop(leaf)
    if data["dataset_split"]["rule"] == "contiguous":
        # The default, and the only rule before it was a key: left out, so every dataset made
        # before keeps its identity (and resumes).
        del data["dataset_split"]["rule"]
    if settings.assets.root is None:
        # Only user meshes are simplified: without them the budget changes nothing (and every
        # dataset of built-in assets made before it was a key keeps its identity).
        del data["assets"]["max_triangles"]
    if settings.scene.ground == "material":
        # The only ground before it was a key; with it the environment ground's probability and
        # capture heights change nothing: all three left out, as `physics` is when kinematic.
        for key in ("ground", "environment_ground_probability", "capture_height"):
            del data["scene"][key]
    identity = {"project": {"seed": project.seed}, "settings": data,
                "assets": catalog_for(settings).fingerprint(), "renderer": RENDERER_VERSION}
    if settings.scene.dynamics == "physics":  # the engine's version fixes the trajectories
        from lightpipe.physics.engine import engine_id

        identity["physics_engine"] = engine_id()
    else:  # kinematic: no simulation, so the physics settings change nothing
        del data["physics"]
    return json.loads(json.dumps(identity))


def identity_sha256(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()


def video_identity(identity: dict) -> dict:
    """The part of a dataset identity that fixes each video's bytes: all of it but
    `settings.num_videos`. A video depends on (seed, index) and the config, never on how many
    videos there are, so growing a dataset keeps its videos; which split a video falls in is
    checked on its own (`Layout` compares each JSON's `split`)."""
    settings = {key: value for key, value in identity["settings"].items() if key != "num_videos"}
    return {**identity, "settings": settings}


def run_layout(project: ProjectSettings, settings: Settings) -> Layout:
    """The layout of the dataset a config describes, with the identity hash each of its videos'
    JSON must record: a video copied in from another seed or config is never complete."""
    expected = identity_sha256(video_identity(dataset_identity(project, settings)))
    return dataclasses.replace(Layout.for_settings(settings), identity_sha256=expected)


def identity_differences(found: dict, expected: dict, prefix: str = "") -> list[str]:
    """`key: A there, B now` for every leaf where two identities differ."""
    out = []
    for key in sorted(set(found) | set(expected)):
        a, b = found.get(key), expected.get(key)
        if isinstance(a, dict) and isinstance(b, dict):
            out += identity_differences(a, b, f"{prefix}{key}.")
        elif a != b:
            out.append(f"{prefix}{key}: {a!r} there, {b!r} now")
    return out


ASSET_DIFFERENCE = "assets.user_files."


def asset_file_table(settings: Settings) -> dict:
    """{asset id: {relative path: sha256}} of every user asset with several files: stored in
    `dataset.json` (beside the identity's one hex per asset), so a refused resume can name the
    files that changed."""
    catalog = catalog_for(settings)
    table = {}
    for asset_id in catalog.fingerprint()["user_files"]:
        if len(catalog.asset_files(asset_id)) > 1:
            table[asset_id] = catalog.file_hashes(asset_id)
    return table


def asset_changes(info: dict, settings: Settings) -> list[str]:
    """`asset file 'PATH' of user:ID changed` (or `added`, `removed`; a whole asset `added` or
    `gone`) for every user file that differs from the ones the dataset `info`
    (its `dataset.json`) was made with; a file shared by several assets is named once."""
    config = info.get("config") if isinstance(info, dict) else None
    there = ((config or {}).get("assets") or {}).get("user_files")
    tables = info.get("asset_files") if isinstance(info, dict) else None
    there = there if isinstance(there, dict) else {}
    tables = tables if isinstance(tables, dict) else {}
    catalog = catalog_for(settings)
    now = catalog.fingerprint()["user_files"]
    changes: dict[tuple, list[str]] = {}  # (file, what happened) -> the assets it is of
    for asset_id in sorted(set(there) | set(now)):
        before, after = there.get(asset_id), now.get(asset_id)
        if before == after:
            continue
        if before is None or after is None:
            changes[(None, f"asset {asset_id} {'added' if before is None else 'gone'}")] = []
            continue
        old = tables.get(asset_id)
        if not isinstance(old, dict):  # it had one file: its hash is the asset's
            old = {catalog.asset_files(asset_id)[0]: before}
        new = catalog.file_hashes(asset_id)
        found = [(rel, "changed") for rel in new if rel in old and old[rel] != new[rel]]
        found += [(rel, "added") for rel in new if rel not in old]
        found += [(rel, "removed") for rel in old if rel not in new]
        for change in found or [(None, f"asset {asset_id}: its files reordered")]:
            changes.setdefault(change, []).append(asset_id)
    yaml_before = ((config or {}).get("assets") or {}).get("assets_yaml")
    yaml_after = catalog.fingerprint().get("assets_yaml")
    if yaml_before != yaml_after:  # the objects' metadata (size, up, category, physics)
        from lightpipe.assets.metadata import SIDECAR

        state = "added" if yaml_before is None else "removed" if yaml_after is None else "changed"
        changes[(SIDECAR, state)] = ["every object it describes"]
    lines = []
    for (rel, what), assets in changes.items():
        named = ", ".join(assets[:3]) + (f" and {len(assets) - 3} more" if len(assets) > 3 else "")
        lines.append(what if rel is None else f"asset file {rel!r} of {named} {what}")
    return lines


def dataset_description(project: ProjectSettings, settings: Settings) -> dict:
    """The content of `dataset.json`: identical for identical identities, whatever the run.
    `asset_files` (per-file hashes of assets with several files) only when there are some, so
    datasets of single-file assets keep their `dataset.json`."""
    identity = dataset_identity(project, settings)
    layout = Layout.for_settings(settings)
    num_train = settings.num_train
    files = asset_file_table(settings)
    return {**({"asset_files": files} if files else {}),
        "format_version": FORMAT_VERSION,
        "lightpipe_version": lightpipe.__version__,
        "name": project.name,
        "config": identity,
        "config_sha256": identity_sha256(identity),
        "video_identity_sha256": identity_sha256(video_identity(identity)),
        "counts": {"total": settings.num_videos, "train": num_train,
                   "val": settings.num_videos - num_train},
        "splits": {split: _index_range(layout, layout.split_indices(split)) for split in SPLITS},
        "index_digits": layout.digits,
        "asset_pools": {split: pool.to_dict()
                        for split, pool in asset_pools(project.seed, settings).items()},
    }


def _index_range(layout: Layout, indices) -> dict:
    if not indices:
        return {"count": 0, "first": None, "last": None}
    return {"count": len(indices), "first": layout.stem(indices[0]),
            "last": layout.stem(indices[-1])}
