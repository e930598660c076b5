"""A demo asset root of real openly licensed assets that ship inside installed packages.

    python scripts/demo_assets.py [--out demo_assets] [--bpy .venv-bpy/bin/python]
        [--environments-only]

`make demo-assets` runs it. Nothing is downloaded and nothing is committed (`demo_assets/` is
git-ignored); the files are copied from packages already installed here:

- `environments/`: the eight CC0 Poly Haven HDRIs (1024x512 EXR) that Blender ships in its
  `datafiles/studiolights/world/` (the `bpy` wheel of `make bpy-venv`). Blender's Python says
  where its datafiles are, so no Blender version is written here.
- `objects/franka_panda/<part>/`: the eight visual meshes of the Franka Emika Panda arm (OBJ +
  MTL + a palette texture; Apache-2.0) that pybullet's `pybullet_data` ships, when the project's
  Python has `pybullet` (it is not a dependency of Lightpipe: skipped without it). One folder a
  part, so each part is one object asset.

Each source's licence text goes to `LICENSES/`, and `README.md` names every source: both sit
beside the kind folders, where the asset catalogue does not look.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
WORLD_MAPS = ("studiolights", "world")  # under Blender's datafiles
PANDA_PARTS = ("link1", "link2", "link3", "link4", "link5", "link6", "hand", "finger")
# Blender's Python prints where its datafiles are (`bpy.utils.system_resource`).
_DATAFILES = "import bpy; print(bpy.utils.system_resource('DATAFILES'))"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(REPO / "demo_assets"))
    parser.add_argument("--bpy", default=str(REPO / ".venv-bpy" / "bin" / "python"),
                        help="a Python that imports bpy (make bpy-venv)")
    parser.add_argument("--environments-only", action="store_true",
                        help="copy the HDRIs only, not the meshes")
    args = parser.parse_args()
    out = Path(args.out)
    try:
        maps = blender_world_maps(args.bpy)
    except RuntimeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 1
    sources = [copy_environments(maps, out)]
    if not args.environments_only:
        panda = copy_panda_meshes(out)
        if panda is None:
            print("pybullet_data is not installed in this Python: no demo objects "
                  "(the built-in ones are used)", file=sys.stderr)
        else:
            sources.append(panda)
    write_readme(out, sources)
    print(f"demo assets in {out}: " + "; ".join(source.splitlines()[0] for source in sources))
    return 0


def blender_world_maps(bpy_python: str) -> list[Path]:
    """The eight HDRIs Blender ships (CC0, Poly Haven), found through its own Python."""
    if not Path(bpy_python).is_file():
        raise RuntimeError(f"no Blender Python at {bpy_python!r}; run `make bpy-venv` (it "
                           "installs the bpy wheel into .venv-bpy) or pass --bpy")
    done = subprocess.run([bpy_python, "-c", _DATAFILES], capture_output=True, text=True,
                          timeout=120)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"{bpy_python} could not import bpy: {done.stderr.strip()[-500:]}")
    world = Path(lines[-1]).joinpath(*WORLD_MAPS)
    maps = sorted(world.glob("*.exr"))
    if not maps:
        raise RuntimeError(f"Blender's datafiles hold no HDRIs in {world}")
    return maps


def copy_environments(maps: list[Path], out: Path) -> str:
    """Copy the maps to `out/environments/` and their licence to `out/LICENSES/`."""
    target = out / "environments"
    target.mkdir(parents=True, exist_ok=True)
    for path in maps:
        shutil.copyfile(path, target / path.name)
    licence = maps[0].parent / "license.txt"
    if licence.is_file():
        _copy_licence(licence, out, "blender-studiolights-world.txt")
    names = ", ".join(path.stem for path in maps)
    return (f"environments/: {len(maps)} HDRIs from Blender's studiolights ({names}), CC0, "
            "by Greg Zaal (Poly Haven, https://polyhaven.com), 1024x512 EXR; licence: "
            "LICENSES/blender-studiolights-world.txt")


def copy_panda_meshes(out: Path) -> str | None:
    """Copy the Panda arm's visual meshes from `pybullet_data` (None: not installed)."""
    try:
        import pybullet_data
    except ImportError:
        return None
    source = Path(pybullet_data.getDataPath()) / "franka_panda"
    visual = source / "meshes" / "visual"
    for part in PANDA_PARTS:
        folder = out / "objects" / "franka_panda" / part
        folder.mkdir(parents=True, exist_ok=True)
        for suffix in (".obj", ".mtl"):
            shutil.copyfile(visual / f"{part}{suffix}", folder / f"{part}{suffix}")
        shutil.copyfile(visual / "colors.png", folder / "colors.png")
    _copy_licence(source / "LICENSE.txt", out, "franka_panda-Apache-2.0.txt")
    return (f"objects/franka_panda/: the {len(PANDA_PARTS)} visual meshes of the Franka Emika "
            "Panda arm (OBJ + MTL + colors.png), from pybullet_data's franka_panda/, Apache "
            "License 2.0; licence: LICENSES/franka_panda-Apache-2.0.txt")


def write_readme(out: Path, sources: list[str]) -> None:
    listed = "\n".join(f"- {source}" for source in sources)
    (out / "README.md").write_text(
        "# Lightpipe demo assets (not part of the repository)\n\n"
        "Copied by `make demo-assets` (scripts/demo_assets.py) from packages installed on this "
        "machine; nothing was downloaded. Each file keeps its own licence:\n\n"
        f"{listed}\n\nRender with them: "
        "`lightpipe predict --config configs/demo_assets.yaml`.\n")


def _copy_licence(path: Path, out: Path, name: str) -> None:
    folder = out / "LICENSES"
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(path, folder / name)


if __name__ == "__main__":
    sys.exit(main())
