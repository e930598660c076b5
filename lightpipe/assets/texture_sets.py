"""A texture set's maps (a folder under `textures/`, see `texture_names`) as one material's
`MaterialMaps`.

Every map is read with Pillow and resized to the requested size exactly as a single image is
(`loader.load_image`: RGB, bilinear), then:
- base colour: as is (sRGB);
- roughness, metalness: the red channel (a grey map's grey), / 255;
- normal: tangent space, OpenGL (+y up the image) as is; a DirectX map has its green channel
  flipped (255 - g) before resizing, so both conventions of one surface give the same bits;
  decoded as c / 127.5 - 1, z kept >= 0.001, normalized (as a glTF's normal texture);
- ARM/ORM (one map, R = ambient occlusion, G = roughness, B = metalness): the channels a
  dedicated map does not give (a dedicated map wins);
- ambient occlusion: multiplied into the base colour in linear light (the shading has no
  separate occlusion channel): decoded with the sRGB curve, times ao / 255, encoded to the
  nearest 8-bit sRGB code (a value exactly on a boundary between two codes takes the upper).
  The curve's tables are computed with Python's `decimal` (correctly rounded, no libm), the same
  values as the renderer's `SRGB_TO_LINEAR`.
Missing maps: roughness `DEFAULT_ROUGHNESS`, not metal, a flat normal. 16-bit grey maps are
scaled to 8 bits (rounded) first; Pillow would otherwise clip them.
"""

from __future__ import annotations

from decimal import Decimal, getcontext
from pathlib import Path

import numpy as np
from PIL import Image

from lightpipe.assets.catalog import AssetError
from lightpipe.assets.materials import DEFAULT_ROUGHNESS, MaterialMaps, flat_maps
from lightpipe.assets.memory import kept_in_memory
from lightpipe.assets.texture_names import (
    AO,
    ARM,
    BASE_COLOR,
    LABELS,
    METALLIC,
    NORMAL_DX,
    NORMAL_GL,
    ROUGHNESS,
    TextureSet,
    folder_set,
    group_textures,
)


def _srgb_to_linear(y: Decimal) -> Decimal:
    if y <= Decimal("0.04045"):
        return y / Decimal("12.92")
    return ((y + Decimal("0.055")) / Decimal("1.055")) ** Decimal("2.4")


def _srgb_tables() -> tuple[np.ndarray, np.ndarray]:
    getcontext().prec = 40
    decode = [float(_srgb_to_linear(Decimal(code) / 255)) for code in range(256)]
    starts = [float(_srgb_to_linear((Decimal(code) - Decimal("0.5")) / 255))
              for code in range(1, 256)]
    return np.array(decode, np.float64), np.array(starts, np.float64)


# Linear value of each 8-bit sRGB code; the linear value at which codes 1..255 start.
SRGB_DECODE, SRGB_CODE_STARTS = _srgb_tables()


def texture_set_maps(folder: str, size: int) -> MaterialMaps:
    """The material of the texture set in `folder` (a path), (size x size); cached per process,
    read-only. An unreadable map, or a folder that is not a valid set, is an AssetError naming
    every bad file."""
    return _set_maps(folder, size)


def texture_set_side(folder: str) -> int:
    """The largest side (width or height) of the set's maps: its own resolution (0 when none
    can be read; reading then names them)."""
    sides = [0]
    for relative in _folder_set(Path(folder)).maps.values():
        try:
            with Image.open(str(Path(folder) / Path(relative).name)) as image:
                sides.append(max(image.size))
        except Exception:  # named by `texture_set_maps`
            pass
    return max(sides)


@kept_in_memory  # bounded with the loaded assets (settings.assets.mesh_cache_mb)
def _set_maps(folder: str, size: int) -> MaterialMaps:
    texture_set = _folder_set(Path(folder))
    images, problems = {}, []
    for kind, relative in texture_set.maps.items():
        try:
            images[kind] = read_map(str(Path(folder) / Path(relative).name), size,
                                    flip_green=kind == NORMAL_DX)
        except Exception as exc:  # Pillow raises many types for broken files
            problems.append(f"{LABELS[kind]} map {Path(relative).name!r} cannot be read: "
                            f"{str(exc).strip() or type(exc).__name__}")
    if problems:
        raise AssetError(f"texture set {folder!r}: {'; '.join(problems)}.\n"
                         "HINT: use valid PNG or JPEG maps.")
    return maps_from_images(images)


def _folder_set(folder: Path) -> TextureSet:
    """The set of `folder` (re-read by names: the catalogue found the same)."""
    base = folder.parent  # the set's files come back relative to its parent: names only
    paths = sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))
    texture_set, problems, _ = folder_set(base, folder, paths)
    if texture_set is None:
        raise AssetError(f"{problems[0]}.\nHINT: see docs/assets.md, Texture sets.")
    return texture_set


def read_map(path: str, size: int, flip_green: bool = False) -> np.ndarray:
    """(size, size, 3) uint8 RGB of the image at `path`, resized as `loader.load_image` does;
    16-bit grey scaled to 8 bits; `flip_green` (a DirectX normal map) takes 255 - g first."""
    with Image.open(path) as image:
        if image.mode in ("I;16", "I;16B", "I;16L", "I"):
            wide = np.asarray(image, dtype=np.int64)
            image = Image.fromarray(((np.clip(wide, 0, 65535) * 255 + 32767) // 65535)
                                    .astype(np.uint8), "L")
        rgb = image.convert("RGB")
        if flip_green:
            red, green, blue = rgb.split()
            rgb = Image.merge("RGB", (red, green.point(lambda g: 255 - g), blue))
        rgb = rgb.resize((size, size), Image.Resampling.BILINEAR)
    return np.asarray(rgb, dtype=np.uint8).copy()


def maps_from_images(images: dict[str, np.ndarray]) -> MaterialMaps:
    """`MaterialMaps` of a set's resized maps, by kind (uint8 RGB each; see the module
    docstring for what each gives and which wins)."""
    albedo = images[BASE_COLOR]
    arm = images.get(ARM)
    channels = {}  # kind -> (S, S) uint8 code
    for kind, arm_channel in ((AO, 0), (ROUGHNESS, 1), (METALLIC, 2)):
        if kind in images:
            channels[kind] = images[kind][..., 0]
        elif arm is not None:
            channels[kind] = arm[..., arm_channel]
    if AO in channels:
        albedo = occluded(albedo, channels[AO])
    maps = flat_maps(albedo, DEFAULT_ROUGHNESS, 0.0)
    roughness, metallic, normal = maps.roughness, maps.metallic, maps.normal
    if ROUGHNESS in channels:
        roughness = (channels[ROUGHNESS] / 255.0).astype(np.float32)
    if METALLIC in channels:
        metallic = (channels[METALLIC] / 255.0).astype(np.float32)
    coded = images.get(NORMAL_GL, images.get(NORMAL_DX))  # a DirectX map arrives flipped
    if coded is not None:
        n = coded.astype(np.float64) / 127.5 - 1.0
        n[..., 2] = np.maximum(n[..., 2], 1e-3)
        normal = (n / np.sqrt((n * n).sum(-1, keepdims=True))).astype(np.float32)
    result = MaterialMaps(maps.albedo, roughness, metallic, normal)
    for array in (result.albedo, result.roughness, result.metallic, result.normal):
        array.setflags(write=False)
    return result


def occluded(albedo: np.ndarray, ao: np.ndarray) -> np.ndarray:
    """sRGB `albedo` (uint8) darkened by the occlusion codes `ao` (uint8, linear) in linear
    light, back to the nearest sRGB code; comparisons only after one exact product per texel."""
    linear = SRGB_DECODE[albedo] * (ao.astype(np.float64) / 255.0)[..., None]
    return np.searchsorted(SRGB_CODE_STARTS, linear, side="right").astype(np.uint8)


def texture_notes(root: str | Path) -> list[str]:
    """What `textures/` under `root` holds that is ignored or read other than its name
    suggests: images in a set folder naming no map (e.g. ambientCG's preview
    `<Name>_1K-JPG.png`), maps in formats not read (.exr, .tif), map-named images that are not
    part of a set. Names only; for `lightpipe assets check`. Problems (errors) are the
    catalogue's."""
    base = Path(root)
    folder = base / "textures"
    files = [p for p in sorted(folder.rglob("*")) if p.is_file() and not p.name.startswith(".")] \
        if folder.is_dir() else []
    return group_textures(base, files).notes
