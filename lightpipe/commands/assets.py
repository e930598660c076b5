"""`lightpipe assets check --root DIR`: validate an asset library without rendering.

Prints per kind the number of assets and their train/val split for a seed (the planner's rule,
with `ensure_disjoint_assets`), the objects' categories, notes and every problem; exit code 1
when there are problems. Nothing is written into DIR: what the checks find goes to the asset
cache in the user cache folder (see "Caches" in docs/assets.md), so the next `lightpipe predict`
on the library starts warm.
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

from lightpipe.errors import ConfigError, LightpipeError

KINDS = ("objects", "textures", "backgrounds", "environments")
OPTIONAL_KINDS = ("backgrounds", "environments")  # a single one serves train alone
MAX_SEED = 2**32 - 1


def run_assets(args: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="lightpipe assets",
                                     description="Check an asset library.")
    actions = parser.add_subparsers(dest="action", required=True, metavar="check")
    check = actions.add_parser(
        "check", help="validate a library: counts, split, categories, notes, problems")
    check.add_argument("--root", required=True, help="the library (settings.assets.root)")
    check.add_argument("--seed", type=int, default=42, help="project.seed of the split")
    check.add_argument("--train-ratio", type=float, default=0.8,
                       help="settings.dataset_split.train_ratio of the split")
    check.add_argument("--max-triangles", type=int, default=None,
                       help="settings.assets.max_triangles meshes are checked against "
                            "(default 200000)")
    check.add_argument("--print_config", action="store_true",
                       help="print the resolved arguments and exit (as every command does)")
    namespace = parser.parse_args(args)
    if not 0 <= namespace.seed <= MAX_SEED:
        raise ConfigError("--seed", namespace.seed, f"an integer in [0, {MAX_SEED}]")
    if not 0.0 < namespace.train_ratio <= 1.0:
        raise ConfigError("--train-ratio", namespace.train_ratio, "a number in (0, 1]")
    from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES
    from lightpipe.config.validation import MIN_TRIANGLES

    budget = DEFAULT_MAX_TRIANGLES if namespace.max_triangles is None else namespace.max_triangles
    if budget != 0 and budget < MIN_TRIANGLES:
        raise ConfigError("--max-triangles", budget,
                          f"0 (no budget) or a whole number of triangles >= {MIN_TRIANGLES}")
    if namespace.print_config:
        print(f"root: {namespace.root}\nseed: {namespace.seed}\n"
              f"train_ratio: {namespace.train_ratio}\nmax_triangles: {budget}")
        return 0
    report, problems = check_library(namespace.root, namespace.seed, namespace.train_ratio,
                                     budget)
    print(report)
    return 1 if problems else 0


def check_library(root: str, seed: int, train_ratio: float,
                  max_triangles: int | None = None) -> tuple[str, list[str]]:
    """(the printed report, every problem) of the library `root`, its meshes checked against
    the triangle budget `max_triangles` (None: the default)."""
    from lightpipe.assets.catalog import USER_PREFIX, AssetError, Catalog, scan_root
    from lightpipe.assets.categories import asset_category
    from lightpipe.assets.loader import catalog_problems, load_object
    from lightpipe.assets.metadata import sidecar_problems
    from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES
    from lightpipe.physics.shapes import collision_problems
    from lightpipe.planning.planner import split_asset_ids

    base = Path(root)
    if not base.is_dir():
        raise LightpipeError(f"`--root` is {root!r}, which is not a directory.\nHINT: an asset "
                             "library holds objects/ and optionally textures/, backgrounds/, "
                             "environments/ (see docs/assets.md).")
    scans = scan_root(base)
    problems = [p for kind in KINDS for p in scans[kind].problems]
    notes = [n for kind in KINDS for n in scans[kind].notes]
    ids = {kind: tuple(sorted(scans[kind].ids)) for kind in KINDS}
    files = {a: paths for kind in KINDS for a, paths in scans[kind].files.items()}
    catalog = Catalog(ids["objects"], ids["textures"], ids["backgrounds"], str(base),
                      ids["environments"], files)
    budget = DEFAULT_MAX_TRIANGLES if max_triangles is None else max_triangles
    problems += sidecar_problems(base, ids["objects"])
    problems += catalog_problems(catalog, 64, budget)
    # what `scene.dynamics: physics` (the default) adds: a solid for every mesh (the same
    # cached outcomes as predict's)
    problems += [f"{p} (with settings.scene.dynamics physics, the default)"
                 for p in collision_problems(
                     catalog, lambda a: load_object(str(base), a, 64, budget).mesh,
                     {"texture_size": 64, "max_triangles": budget})]
    lines = [f"assets {str(base)!r} (split: --seed {seed} --train-ratio {train_ratio:g}, "
             "disjoint assets)"]
    for kind in KINDS:
        count = len(ids[kind])
        line = f"  {kind}: {count}"
        if count:
            try:
                train, val = split_asset_ids(seed, ids[kind], train_ratio,
                                             optional=kind in OPTIONAL_KINDS)
                line += f" (train {len(train)}, val {len(val)})"
            except AssetError:
                notes.append(f"{kind}: only {count}, so train and val cannot have their own; "
                             "predict needs the built-in ones too (settings.assets.builtin: "
                             "true) or settings.dataset_split.ensure_disjoint_assets false")
        elif kind == "textures":
            line += " (the built-in materials are used)"
        lines.append(line)
        if kind == "objects" and count:
            categories = Counter(asset_category(a, str(base)) or "(none)" for a in ids[kind])
            lines.append("    categories: " + ", ".join(
                f"{name} {n}" for name, n in sorted(categories.items(),
                                                      key=lambda item: (-item[1], item[0]))))
    if not any(ids.values()) and not problems:
        problems.append(f"{str(base)!r} holds no assets; expected files under objects/, "
                        "textures/, backgrounds/ or environments/")
    for title, items in (("notes", notes), ("problems", problems)):
        if items:
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  - {item}" for item in items]
    lines.append(f"{len(problems)} problem{'s' if len(problems) != 1 else ''}"
                 + ("" if problems else ": the library is ready") + f"; checked "
                 f"{sum(1 for a in files if a.startswith(USER_PREFIX))} assets")
    return "\n".join(lines), problems
