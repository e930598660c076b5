"""Built-in procedural materials: tileable maps of base colour, roughness, metalness and a
tangent-space normal (from a height field), derived deterministically from a material id.

Each family takes the id's generator and pixel-centre coordinates u, v in (0, 1) and returns a
float RGB image in [0, 1] periodic in u and v with period 1 (integer frequencies, wrapped noise
lattices), optionally with roughness, metalness and height maps; families without them get a
roughness drawn from the id and a flat normal. New families use only arithmetic and floor (no
trigonometry), so their bits are the same on every CPU.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, asset_rng, check_builtin_id
from lightpipe.assets.memory import kept_in_memory

_TAU = 2.0 * np.pi
# Built-in materials are generated at this side (at most settings.render.max_texture_size): the
# ground repeats every 3-10 m, so a texel is 6-20 mm; 1024 would cost 0.6 s per material.
BUILTIN_TEXTURE_SIZE = 512
DEFAULT_ROUGHNESS = 0.6  # user images: a matte-ish surface (scaled per object by the spec)


@dataclass(frozen=True)
class MaterialMaps:
    """One material's maps, (S, S, ...) each, v down the image; arrays are read-only."""

    albedo: np.ndarray  # (S, S, 3) uint8 sRGB base colour
    roughness: np.ndarray  # (S, S) float32 perceptual roughness in [0, 1]
    metallic: np.ndarray  # (S, S) float32 metalness in [0, 1]
    normal: np.ndarray  # (S, S, 3) float32 unit tangent-space normals: +x = +u, +y = -v (up)

    def table(self, srgb_to_linear: np.ndarray) -> np.ndarray:
        """(S, S, 8) float32: linear albedo rgb, roughness, metalness, normal xyz."""
        albedo = srgb_to_linear[self.albedo.astype(np.intp)]
        return np.concatenate([albedo, self.roughness[..., None], self.metallic[..., None],
                               self.normal], axis=-1).astype(np.float32)


def flat_maps(albedo: np.ndarray, roughness: float = DEFAULT_ROUGHNESS,
              metallic: float = 0.0) -> MaterialMaps:
    """Maps of a plain image: constant roughness and metalness, flat normal."""
    size = albedo.shape[:2]
    normal = np.zeros((*size, 3), np.float32)
    normal[..., 2] = 1.0
    return _frozen(MaterialMaps(np.ascontiguousarray(albedo, np.uint8),
                                np.full(size, roughness, np.float32),
                                np.full(size, metallic, np.float32), normal))


@kept_in_memory  # bounded with the loaded assets (settings.assets.mesh_cache_mb)
def material_maps(material_id: str, size: int = 128) -> MaterialMaps:
    """The built-in material `material_id` at (size, size) (cached, read-only)."""
    family = check_builtin_id(material_id, BUILTIN_MATERIAL_IDS, "material")
    if size < 2:
        raise ValueError(f"texture size must be >= 2, got {size}")
    c = (np.arange(size, dtype=np.float64) + 0.5) / size  # pixel centres: the pattern has period 1
    u, v = np.meshgrid(c, c)  # u along columns, v along rows
    rng = asset_rng(material_id)
    out = _MATERIAL_BUILDERS[family](rng, u, v)
    rgb, extra = (out, {}) if isinstance(out, np.ndarray) else out
    albedo = np.clip(np.rint(rgb * 255.0), 0, 255).astype(np.uint8)
    roughness = extra.get("roughness")
    if roughness is None:  # drawn after the pattern: the colours stay as they were
        roughness = np.full(u.shape, rng.uniform(0.35, 0.85))
    metallic = extra.get("metallic", np.zeros(u.shape))
    height = extra.get("height")
    normal = normals_from_height(height, extra.get("bump", 1.0)) if height is not None \
        else flat_maps(albedo).normal
    return _frozen(MaterialMaps(albedo, np.clip(roughness, 0.0, 1.0).astype(np.float32),
                                np.clip(metallic, 0.0, 1.0).astype(np.float32),
                                normal.astype(np.float32)))


def material_texture(material_id: str, size: int = 128) -> np.ndarray:
    """The base colour (size, size, 3) uint8 of a built-in material."""
    return material_maps(material_id, size).albedo


def normals_from_height(height: np.ndarray, bump: float) -> np.ndarray:
    """Unit tangent-space normals of a tileable height map (in texels of height per texel of
    distance, times `bump`), by wrapped central differences; +y is up the image."""
    dx = (np.roll(height, -1, axis=1) - np.roll(height, 1, axis=1)) * 0.5 * bump
    dy_down = (np.roll(height, -1, axis=0) - np.roll(height, 1, axis=0)) * 0.5 * bump
    n = np.stack([-dx, dy_down, np.ones_like(dx)], axis=-1)
    return n / np.sqrt((n * n).sum(-1, keepdims=True))


def _frozen(maps: MaterialMaps) -> MaterialMaps:
    for array in (maps.albedo, maps.roughness, maps.metallic, maps.normal):
        array.setflags(write=False)
    return maps


# ------------------------------------------------------------------------------------------------
# Pattern families (RGB only; roughness drawn per id).


def _palette(rng, k: int, lo=(0.15, 0.45), hi=(0.75, 1.0)) -> np.ndarray:
    hue = rng.random() + np.arange(k) * rng.uniform(0.05, 0.45)
    sat = rng.uniform(0.35, 0.95, k)
    val = np.linspace(rng.uniform(*lo), rng.uniform(*hi), k)
    h6 = (hue % 1.0) * 6.0
    i = np.floor(h6).astype(np.int64) % 6
    frac = h6 - np.floor(h6)
    comps = np.stack([val, val * (1 - sat), val * (1 - sat * frac), val * (1 - sat * (1 - frac))])  # v, p, q, t
    table = np.array([[0, 3, 1], [2, 0, 1], [1, 0, 3], [1, 2, 0], [3, 1, 0], [0, 1, 2]])
    return comps[table[i], np.arange(k)[:, None]]


def _ramp(t: np.ndarray, colors: np.ndarray) -> np.ndarray:
    x = np.clip(t, 0.0, 1.0) * (len(colors) - 1)
    i = np.clip(np.floor(x).astype(np.int64), 0, len(colors) - 2)
    w = (x - i)[..., None]
    return colors[i] * (1.0 - w) + colors[i + 1] * w


def _value_noise(rng, u, v, gx: int, gy: int) -> np.ndarray:
    lattice = rng.random((gy, gx))
    x, y = u * gx, v * gy
    x0, y0 = np.floor(x), np.floor(y)
    fx, fy = x - x0, y - y0
    fx, fy = fx * fx * (3 - 2 * fx), fy * fy * (3 - 2 * fy)
    i0, j0 = x0.astype(np.int64) % gx, y0.astype(np.int64) % gy
    i1, j1 = (i0 + 1) % gx, (j0 + 1) % gy
    top = lattice[j0, i0] * (1 - fx) + lattice[j0, i1] * fx
    bottom = lattice[j1, i0] * (1 - fx) + lattice[j1, i1] * fx
    return top * (1 - fy) + bottom * fy


def _fbm(rng, u, v, g: int, octaves: int = 4, contrast: float = 2.5) -> np.ndarray:
    total = sum(0.5**o * _value_noise(rng, u, v, g << o, g << o) for o in range(octaves))
    return np.clip(0.5 + contrast * (total / (2.0 - 0.5 ** (octaves - 1)) - 0.5), 0.0, 1.0)


def _checker(rng, u, v):
    n, colors = 2 * int(rng.integers(2, 7)), _palette(rng, 2)
    t = (np.floor(u * n) + np.floor(v * n)) % 2
    return _ramp(t, colors) * (0.9 + 0.1 * _fbm(rng, u, v, 8))[..., None]


def _stripes(rng, u, v):
    k = int(rng.integers(2, 4))
    colors, fu, fv = _palette(rng, k), int(rng.integers(1, 5)), int(rng.integers(-2, 3))
    m = k * int(rng.integers(1, 4))  # bands per period: a multiple of k so the colour sequence wraps
    band = np.floor((fu * u + fv * v) * m) % k
    return colors[band.astype(np.int64)]


def _noise(rng, u, v):
    return _ramp(_fbm(rng, u, v, int(rng.integers(2, 7)), 5), _palette(rng, 3))


def _gradient(rng, u, v):
    colors, fu, fv = _palette(rng, 3), int(rng.integers(0, 3)), int(rng.integers(0, 3))
    fu = fu if fu or fv else 1
    t = 0.5 - 0.5 * np.cos(_TAU * (fu * u + fv * v))
    return _ramp(0.9 * t + 0.1 * _fbm(rng, u, v, 4), colors)


def _dots(rng, u, v):
    n, radius, colors = 2 * int(rng.integers(2, 6)), rng.uniform(0.2, 0.42), _palette(rng, 2)
    y = v * n
    x = u * n + 0.5 * (np.floor(y) % 2)
    d = np.hypot(x - np.floor(x) - 0.5, y - np.floor(y) - 0.5)
    return _ramp(np.clip((radius - d) / 0.04 + 0.5, 0.0, 1.0), colors[:: int(rng.choice([-1, 1]))])


def _grid(rng, u, v):
    n, width, colors = int(rng.integers(3, 11)), rng.uniform(0.05, 0.15), _palette(rng, 2)
    line = ((u * n) % 1.0 < width) | ((v * n) % 1.0 < width)
    return _ramp(np.where(line, 0.0, 0.8 + 0.2 * _fbm(rng, u, v, 6)), colors)


def _marble(rng, u, v):
    colors = _palette(rng, 3, lo=(0.1, 0.3), hi=(0.85, 1.0))[::-1]
    fu, fv, turb = int(rng.integers(1, 4)), int(rng.integers(0, 3)), rng.uniform(0.6, 1.5)
    t = 0.5 + 0.5 * np.sin(_TAU * (fu * u + fv * v + turb * _fbm(rng, u, v, 3, 5, contrast=1.0)))
    return _ramp(t ** rng.uniform(2.0, 5.0), colors)


def _grain(rng, u, v):
    base = _palette(rng, 2, lo=(0.35, 0.6), hi=(0.65, 0.95))
    streaks = _value_noise(rng, u, v, int(rng.integers(2, 5)), int(rng.integers(32, 65)))
    rings = 0.5 + 0.5 * np.sin(_TAU * (int(rng.integers(4, 11)) * v + 1.5 * _fbm(rng, u, v, 3, contrast=1.0)))
    return _ramp(0.6 * streaks + 0.4 * rings, base)


# ------------------------------------------------------------------------------------------------
# Physically flavoured families: colour, roughness, metalness and relief. Arithmetic only.


def _smooth(t):
    t = np.clip(t, 0.0, 1.0)
    return t * t * (3.0 - 2.0 * t)


def _triangle(t):
    """Period-1 triangle wave in [0, 1] (a trig-free stand-in for a cosine)."""
    f = t - np.floor(t)
    return 1.0 - np.abs(2.0 * f - 1.0)


def _wood(rng, u, v):
    planks = int(rng.integers(3, 7))
    tone = _palette(rng, planks, lo=(0.25, 0.4), hi=(0.45, 0.7))
    hue_shift = rng.uniform(0.9, 1.1)
    plank = np.floor(u * planks).astype(np.int64) % planks
    across = u * planks - np.floor(u * planks)
    offset = rng.random(planks)[plank]
    grain = _value_noise(rng, u, v + offset, 8 * planks, int(rng.integers(2, 5)))
    rings = _triangle(int(rng.integers(6, 14)) * (v + offset) + 3.0 * grain)
    base = np.array([0.55, 0.36, 0.2]) * hue_shift
    colour = base * (0.55 + 0.45 * (0.5 * rings + 0.5 * grain))[..., None]
    colour = 0.7 * colour + 0.3 * tone[plank]
    groove = _smooth((np.minimum(across, 1.0 - across)) / 0.04)
    colour = colour * (0.35 + 0.65 * groove)[..., None]
    roughness = 0.45 + 0.25 * grain + 0.25 * (1.0 - groove)
    height = 0.6 * groove + 0.15 * rings
    return colour, {"roughness": roughness, "height": height, "bump": 1.5}


def _masonry(rng, u, v, rows: int, columns: int, mortar_width: float, stagger: bool):
    y = v * rows
    row = np.floor(y).astype(np.int64)
    x = u * columns + (0.5 * (row % 2) if stagger else 0.0)
    column = np.floor(x).astype(np.int64) % columns
    fx, fy = x - np.floor(x), y - np.floor(y)
    edge = np.minimum(np.minimum(fx, 1.0 - fx) * (rows / columns), np.minimum(fy, 1.0 - fy))
    unit = _smooth(edge / mortar_width)  # 0 in the mortar joint, 1 on the unit
    cell = (row % rows) * columns + column
    return unit, cell


def _bricks(rng, u, v):
    rows, columns = 2 * int(rng.integers(3, 6)), int(rng.integers(2, 5))
    unit, cell = _masonry(rng, u, v, rows, columns, rng.uniform(0.06, 0.12), stagger=True)
    base = np.array([rng.uniform(0.45, 0.65), rng.uniform(0.18, 0.3), rng.uniform(0.12, 0.2)])
    variation = rng.uniform(0.75, 1.15, (rows * columns, 3))[cell]
    speckle = _fbm(rng, u, v, 16, 3, contrast=1.5)
    brick = base * variation * (0.8 + 0.3 * speckle)[..., None]
    mortar = np.full(3, rng.uniform(0.55, 0.75))
    colour = brick * unit[..., None] + mortar * (1.0 - unit)[..., None]
    roughness = 0.75 + 0.2 * (1.0 - unit) + 0.05 * speckle
    return colour, {"roughness": roughness, "height": unit + 0.1 * speckle, "bump": 2.0}


def _tiles(rng, u, v):
    n = int(rng.integers(3, 9))
    unit, cell = _masonry(rng, u, v, n, n, rng.uniform(0.03, 0.07), stagger=False)
    colours = _palette(rng, 2, lo=(0.5, 0.7), hi=(0.8, 0.95))
    pick = (cell * 7 + cell // n) % 2 if rng.random() < 0.5 else np.zeros_like(cell)
    glaze = colours[pick] * (0.92 + 0.08 * _fbm(rng, u, v, 8, 3, contrast=1.0))[..., None]
    grout = np.full(3, rng.uniform(0.3, 0.6))
    colour = glaze * unit[..., None] + grout * (1.0 - unit)[..., None]
    roughness = rng.uniform(0.08, 0.25) * unit + 0.85 * (1.0 - unit)
    return colour, {"roughness": roughness, "height": unit, "bump": 1.5}


def _concrete(rng, u, v):
    grey = rng.uniform(0.4, 0.62)
    warm = np.array([1.0, rng.uniform(0.96, 1.0), rng.uniform(0.88, 0.96)])
    blotch = _fbm(rng, u, v, 4, 4, contrast=1.2)
    fine = _fbm(rng, u, v, 32, 2, contrast=2.0)
    pits = (_value_noise(rng, u, v, 48, 48) > 0.82).astype(np.float64)
    colour = (grey * (0.8 + 0.3 * blotch) * (0.9 + 0.1 * fine))[..., None] * warm
    colour = colour * (1.0 - 0.25 * pits)[..., None]
    roughness = 0.85 + 0.1 * fine
    return colour, {"roughness": roughness, "height": 0.3 * fine - pits, "bump": 1.0}


def _painted_metal(rng, u, v):
    paint = _palette(rng, 1, lo=(0.3, 0.6), hi=(0.6, 0.9))[0]
    wear = _fbm(rng, u, v, 4, 5, contrast=2.5)
    scratches = _triangle(int(rng.integers(10, 30)) * (u + 0.3 * _value_noise(rng, u, v, 4, 4)))
    bare = ((wear > rng.uniform(0.78, 0.9)) | ((scratches > 0.97) & (wear > 0.55))).astype(float)
    steel = np.array([0.62, 0.62, 0.64])
    colour = paint * (0.95 + 0.05 * wear)[..., None] * (1.0 - bare)[..., None] \
        + steel * bare[..., None]
    roughness = rng.uniform(0.3, 0.5) * (0.85 + 0.3 * wear) * (1.0 - bare) + 0.35 * bare
    return colour, {"roughness": roughness, "metallic": bare, "height": -0.5 * bare,
                    "bump": 1.0}


def _fabric(rng, u, v):
    threads = 4 * int(rng.integers(12, 25))
    colours = _palette(rng, 2, lo=(0.25, 0.45), hi=(0.5, 0.8))
    warp = _triangle(u * threads)
    weft = _triangle(v * threads)
    over = ((np.floor(u * threads) + np.floor(v * threads)) % 2).astype(np.float64)
    relief = over * warp + (1.0 - over) * weft
    colour = colours[0] * over[..., None] + colours[1] * (1.0 - over)[..., None]
    colour = colour * (0.75 + 0.25 * relief)[..., None]
    roughness = 0.9 + 0.08 * relief
    return colour, {"roughness": roughness, "height": relief, "bump": 0.8}


_MATERIAL_BUILDERS = {
    "bricks": _bricks, "checker": _checker, "concrete": _concrete, "dots": _dots,
    "fabric": _fabric, "gradient": _gradient, "grain": _grain, "grid": _grid,
    "marble": _marble, "noise": _noise, "painted_metal": _painted_metal, "stripes": _stripes,
    "tiles": _tiles, "wood": _wood,
}  # fmt: skip
