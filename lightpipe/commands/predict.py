"""`lightpipe predict`: the front door (`preflight`), then LightningCLI over the generator and
the generation DataModule."""

from __future__ import annotations

import os
import sys

from lightpipe.commands.parsing import config_parser, parse_config
from lightpipe.commands.preflight import check_trainer, probe_output_dir
from lightpipe.dataset.writer_lock import RUN_ID_ENV, WriterLock, ensure_run_id, lock_output_dir


def run_predict(args: list[str]) -> int:
    lock, own_run_id = None, RUN_ID_ENV not in os.environ
    try:
        if not {"-h", "--help", "--print_config"} & {a.split("=")[0] for a in args}:
            # The run id first: the processes Lightning starts inherit it and join its lock.
            ensure_run_id()
            lock = preflight(args)  # before Lightning is imported: bad input is refused fast
        # Rendering shares the cores with the encoder threads: OpenMP workers that spin after
        # each parallel region would take their CPU. Set before torch loads libgomp.
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
        from lightpipe.commands.generation_cli import run_generation_cli

        return run_generation_cli(args)
    finally:
        if lock is not None:
            lock.release()
        if own_run_id:  # a later run in this Python process is another run
            os.environ.pop(RUN_ID_ENV, None)


def preflight(args: list[str]) -> WriterLock:
    """Every check that needs no Lightning: config files, settings, trainer keys, assets, the
    output directory (writable, and not holding another dataset), then the output directory's
    lock (no other run writes there). Raises LightpipeError; returns the lock held."""
    from lightpipe.dataset.identity import dataset_identity, identity_sha256
    from lightpipe.dataset.output_dir import check_output_dir

    namespace, project, settings = parse_config(
        config_parser("lightpipe predict", "Render the dataset."), args)
    check_trainer(namespace.trainer)
    check_assets(project, settings)
    probe_output_dir(settings.output_dir)
    identity = dataset_identity(project, settings)
    check_output_dir(project, settings, identity)
    lock = lock_output_dir(settings.output_dir, identity_sha256(identity), settings.lock_wait)
    try:  # again, as the holder: a run that held the lock meanwhile may have started a dataset
        check_output_dir(project, settings, identity)
    except BaseException:
        lock.release()
        raise
    return lock


def check_assets(project, settings) -> None:
    """Every broken asset file, and a catalogue too small to split, in one message."""
    from lightpipe.assets.catalog import AssetError, catalog_for, raise_problems
    from lightpipe.assets.loader import validate_catalog
    from lightpipe.assets.memory import set_asset_memory_mb
    from lightpipe.planning.planner import asset_pools

    set_asset_memory_mb(settings.assets.mesh_cache_mb)
    catalog = catalog_for(settings)  # unsupported files: all of them, already together
    problems = []
    if settings.scene.dynamics == "physics" and catalog.root is not None:
        from lightpipe.assets.loader import load_object
        from lightpipe.physics.shapes import collision_problems

        # outcomes cached per mesh (the asset cache): a warm start loads no mesh
        budget = settings.assets.max_triangles
        problems += collision_problems(
            catalog, lambda a: load_object(catalog.root, a, 64, budget).mesh,
            {"texture_size": 64, "max_triangles": budget})
    for check in (lambda: validate_catalog(catalog, max_triangles=settings.assets.max_triangles),
                  lambda: asset_pools(project.seed, settings)):
        try:
            check()
        except AssetError as exc:
            text = str(exc).split("\nHINT:")[0].rstrip(".")
            if text.startswith("the assets have"):
                problems += [line.strip()[2:] for line in text.splitlines()[1:]]
            else:
                problems.append(text)
    raise_problems(problems)
    _report_clamped(catalog)


def _report_clamped(catalog) -> None:
    """One stderr line per HDR map whose compression-noise negatives were clamped to 0 (the
    count found by its check, cached with it: no map is read here)."""
    from lightpipe.assets.catalog import USER_PREFIX, user_path
    from lightpipe.assets.environments import NEGATIVE_TOLERANCE
    from lightpipe.assets.loader import asset_facts

    for asset_id in catalog.environments:
        if asset_id.startswith(USER_PREFIX):
            path = str(user_path(catalog.root, asset_id))
            count = asset_facts(catalog, asset_id).get("clamped", 0)
            if count:
                print(f"lightpipe: environment {path!r}: {count} small negative values "
                      f"(compression noise, within {NEGATIVE_TOLERANCE:.0%} of the map's mean) "
                      "clamped to 0", file=sys.stderr, flush=True)
