"""Real-asset scenes for `realism_vs_cycles.py`: Blender's CC0 HDRIs and generated PBR sets.

- HDRIs: the eight CC0 Poly Haven maps (1024x512 EXR) that the `bpy` wheel ships in its
  `datafiles/studiolights/world/` (found through Blender's own Python, as
  `scripts/demo_assets.py` does), copied into the benchmark's asset root (git-ignored).
- Texture sets: nothing may be downloaded or committed and the wheel ships no PBR sets, so
  three are generated here at 1k-2k (ceramic tiles, bricks, wooden planks): a base colour
  (sRGB), a roughness map and an OpenGL normal map (+y up the image) from a height field, as
  PNGs named as Poly Haven names them (`<set>_diff_2k.png`, `_rough_`, `_nor_gl_`), in a
  folder under `textures/`: one texture set, `user:textures/<set>` (docs/assets.md). The
  patterns tile (period 1 in UV), so a set repeats seamlessly on the ground.

The same files go to Cycles unchanged (`realism_vs_cycles.export`), so what it renders is the
assets at their own resolution, whatever Lightpipe makes of them.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import numpy as np
from PIL import Image
from scipy.ndimage import gaussian_filter

# The scenes: (HDRI, ground set, ground UV repeats per metre, the sets objects 0 and 2 wear).
SCENES = (("courtyard", "tiles", 0.5, ("planks", "bricks")),
          ("city", "bricks", 0.6, ("tiles", "planks")),
          ("forest", "planks", 0.4, ("bricks", "tiles")),
          ("sunset", "tiles", 0.35, ("bricks", "planks")))
SET_SIZES = {"tiles": 2048, "bricks": 1024, "planks": 2048}  # texels per side
_DATAFILES = "import bpy; print(bpy.utils.system_resource('DATAFILES'))"


def make_root(root: Path, bpy_python: str) -> Path:
    """`root` with environments/<hdri>.exr copied from Blender and textures/<set>/ generated
    (each only when missing: both are fixed, so a rerun reuses them)."""
    names = sorted({scene[0] for scene in SCENES})
    missing = [n for n in names if not (root / "environments" / f"{n}.exr").exists()]
    if missing:
        world = blender_world_folder(bpy_python)
        (root / "environments").mkdir(parents=True, exist_ok=True)
        for name in missing:
            shutil.copyfile(world / f"{name}.exr", root / "environments" / f"{name}.exr")
    for name, size in SET_SIZES.items():
        if not set_files(root, name):
            write_set(root / "textures" / name, name, size)
    return root


def blender_world_folder(bpy_python: str) -> Path:
    """Blender's `datafiles/studiolights/world/`, as its Python reports it."""
    done = subprocess.run([bpy_python, "-c", _DATAFILES], capture_output=True, text=True,
                          timeout=120)
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        raise SystemExit(f"{bpy_python} could not import bpy: {done.stderr.strip()[-500:]}")
    return Path(lines[-1]) / "studiolights" / "world"


def set_files(root: Path, name: str) -> dict[str, Path]:
    """{'albedo', 'roughness', 'normal'} -> the set's PNG, or {} if it is not all there."""
    files = map_files(root / "textures" / name, name, SET_SIZES[name])
    return files if all(p.exists() for p in files.values()) else {}


def map_files(folder: Path, name: str, size: int) -> dict[str, Path]:
    """The set's file names: `<name>_diff_2k.png` ... (no resolution word below 1k)."""
    suffix = f"_{size // 1024}k" if size >= 1024 else ""
    return {"albedo": folder / f"{name}_diff{suffix}.png",
            "roughness": folder / f"{name}_rough{suffix}.png",
            "normal": folder / f"{name}_nor_gl{suffix}.png"}


def write_set(folder: Path, name: str, size: int) -> None:
    """Generate the set `name` ("tiles", "bricks", "planks") at (size, size) into `folder`."""
    color, roughness, height, strength = _PATTERNS[name](size, np.random.default_rng(23))
    folder.mkdir(parents=True, exist_ok=True)
    files = map_files(folder, name, size)
    Image.fromarray(_code(color)).save(files["albedo"])
    Image.fromarray(_code(roughness)).save(files["roughness"])
    Image.fromarray(_code((normal_map(height, strength) + 1.0) * 0.5)).save(files["normal"])


def normal_map(height: np.ndarray, strength: float) -> np.ndarray:
    """(S, S, 3) unit tangent-space normals of a height field (in texels times `strength`),
    OpenGL: x along the columns, y up the image (against the rows), z out of the surface."""
    d_col = (np.roll(height, -1, axis=1) - np.roll(height, 1, axis=1)) * 0.5
    d_row = (np.roll(height, -1, axis=0) - np.roll(height, 1, axis=0)) * 0.5
    n = np.stack([-d_col * strength, d_row * strength, np.ones_like(height)], -1)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def _code(values: np.ndarray) -> np.ndarray:
    return np.clip(np.rint(values * 255.0), 0, 255).astype(np.uint8)


def _noise(rng, size: int, sigma: float) -> np.ndarray:
    """Tileable smooth noise, zero mean, unit std."""
    field = gaussian_filter(rng.standard_normal((size, size)), sigma, mode="wrap")
    return (field - field.mean()) / field.std()


def _grid(size: int):
    c = (np.arange(size) + 0.5) / size
    return np.meshgrid(c, c)  # u along the columns, v down the rows


def _bevel(fx, fy, gap: float, width: float) -> np.ndarray:
    """0 in the joints, rising over `width` to 1 on the face of each cell (cell units)."""
    edge = np.minimum(np.minimum(fx, 1.0 - fx), np.minimum(fy, 1.0 - fy))
    return np.clip((edge - gap) / width, 0.0, 1.0)


def _tiles(size: int, rng):
    """4 x 4 glazed ceramic tiles, each its own shade, in rough grey grout."""
    u, v = _grid(size)
    cu, cv = np.floor(u * 4).astype(int), np.floor(v * 4).astype(int)
    face = _bevel(u * 4 - cu, v * 4 - cv, 0.02, 0.03)
    shade = 0.85 + 0.3 * rng.random((4, 4))
    hue = rng.random((4, 4))
    tile = np.stack([0.62 + 0.08 * hue, np.full_like(hue, 0.66), 0.70 - 0.1 * hue], -1)
    tile = tile[cv, cu] * shade[cv, cu][..., None]
    fine = _noise(rng, size, 2.0)[..., None]
    tile = tile * (1.0 + 0.03 * fine)
    grout = np.array([0.35, 0.34, 0.32]) * (1.0 + 0.15 * fine)
    joint = (face > 0)[..., None]
    color = np.where(joint, tile, grout)
    roughness = np.where(face > 0, 0.18 + 0.06 * _noise(rng, size, 8.0) ** 2, 0.85)
    height = face * 6.0 + 0.3 * _noise(rng, size, 3.0)
    return color, roughness, height, 1.0


def _bricks(size: int, rng):
    """Running-bond red bricks (8 courses, 4 bricks each) in light mortar."""
    u, v = _grid(size)
    row = np.floor(v * 8).astype(int)
    x = u * 4 + 0.5 * (row % 2)
    col = np.floor(x).astype(int) % 4
    face = _bevel(x - np.floor(x), v * 8 - row, 0.03, 0.05)
    shade = 0.75 + 0.4 * rng.random((8, 4))
    tone = rng.random((8, 4))
    brick = np.stack([0.45 + 0.1 * tone, 0.18 + 0.05 * tone, 0.12 + 0.02 * tone], -1)[row, col]
    blotch = _noise(rng, size, 6.0)[..., None]
    brick = brick * shade[row, col][..., None] * (1.0 + 0.12 * blotch)
    mortar = np.array([0.55, 0.53, 0.48]) * (1.0 + 0.1 * _noise(rng, size, 1.5)[..., None])
    color = np.where((face > 0)[..., None], brick, mortar)
    roughness = np.where(face > 0, 0.75 + 0.08 * blotch[..., 0], 0.95)
    height = face * 4.0 + 0.6 * _noise(rng, size, 2.0)
    return color, roughness, height, 1.0


def _planks(size: int, rng):
    """6 varnished wooden planks along v, joints staggered, with wavy grain."""
    u, v = _grid(size)
    plank = np.floor(u * 6).astype(int)
    offset = rng.random(6)
    along = v * 2 + offset[plank]
    piece = np.floor(along).astype(int)
    face = _bevel(u * 6 - plank, along - piece, 0.01, 0.015)
    wobble = 0.5 * _noise(rng, size, 24.0)
    grain = np.sin((u * 6 - plank) * 40.0 + wobble * 6.0 + piece * 1.7) * 0.5 + 0.5
    tone = 0.8 + 0.35 * rng.random((6, 3))[plank, piece % 3]
    wood = np.array([0.42, 0.26, 0.13]) * (tone * (0.75 + 0.25 * grain))[..., None]
    color = np.where((face > 0)[..., None], wood, np.array([0.08, 0.05, 0.03]))
    roughness = np.where(face > 0, 0.35 + 0.15 * grain, 0.9)
    height = face * 5.0 + 0.4 * grain
    return color, roughness, height, 1.0


_PATTERNS = {"tiles": _tiles, "bricks": _bricks, "planks": _planks}
