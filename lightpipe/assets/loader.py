"""Load user assets (meshes via trimesh, images via Pillow) into the renderer's mesh and
material-map form; a glTF/GLB's own metallic-roughness material (textures and factors) is kept."""

from __future__ import annotations

import functools
import math
import types
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from lightpipe.assets.catalog import (
    USER_PREFIX,
    AssetError,
    Catalog,
    _cached_catalog,
    raise_problems,
    user_path,
)
from lightpipe.assets.environments import clamped_values, load_environment_image
from lightpipe.assets.file_cache import file_cache
from lightpipe.assets.materials import BUILTIN_TEXTURE_SIZE, MaterialMaps, flat_maps, material_maps
from lightpipe.assets.metadata import declared_up, object_metadata
from lightpipe.assets.memory import kept_in_memory
from lightpipe.assets.procedural import Mesh, object_mesh
from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES, check_file_size, within_budget
from lightpipe.assets.texture_sets import texture_set_maps, texture_set_side

# Bump when a check finds other problems or facts in the same file: cached outcomes of older
# checks are then not used (see `asset_facts`).
CHECKS_VERSION = 1


@dataclass(frozen=True)
class LoadedObject:
    """A unit-radius mesh, plus its own material when the file has one (textures or colours).

    `own_material` is True when the maps are the asset's own PBR material (glTF factors and
    textures): the spec's per-object roughness scale and metal override then do not apply.
    """

    mesh: Mesh
    maps: MaterialMaps | None  # UVs index them (v = 0 is the top row)
    own_material: bool = False
    # The file's bounding-sphere radius and largest bounding-box dimension, in its own units
    # (what the mesh was divided by to make it unit-radius; `object_size`).
    radius: float = 1.0
    largest: float = 2.0
    # The file's own mesh, before any change: triangles and vertices.
    file_triangles: int = 0
    file_vertices: int = 0


FACE_ATLAS_SIZE = 128  # texels per side of the palette of a mesh's face colours


def load_object(root: str | None, asset_id: str, texture_size: int,
                max_triangles: int = DEFAULT_MAX_TRIANGLES) -> LoadedObject:
    """Built-in or user object; user meshes are turned so their declared up axis (`assets.yaml`)
    is +Y, centred and scaled to a unit bounding sphere, and simplified to at most
    `max_triangles` (`settings.assets.max_triangles`, 0: no budget) when they have more
    (`simplify`)."""
    if not asset_id.startswith(USER_PREFIX):
        return LoadedObject(object_mesh(asset_id), None)
    up = object_metadata(root, asset_id).up
    return _load_user_object(str(user_path(root, asset_id)), texture_size, up, max_triangles)


def load_material(root: str | None, material_id: str, size: int) -> MaterialMaps:
    """Maps of a built-in material (`materials.BUILTIN_TEXTURE_SIZE`), of a user texture set (a
    folder of maps: `texture_sets`) or of a user image (its colour; roughness
    `materials.DEFAULT_ROUGHNESS`, not metal, flat), square, at their own resolution rounded up
    to a power of two and at most `size` (`settings.render.max_texture_size`)."""
    if not material_id.startswith(USER_PREFIX):
        return material_maps(material_id, texture_side(BUILTIN_TEXTURE_SIZE, size))
    path = user_path(root, material_id)
    if path.is_dir():
        return texture_set_maps(str(path), texture_side(texture_set_side(str(path)), size))
    return _image_maps(str(path), texture_side(_image_side(str(path)), size))


def texture_side(own: int, max_size: int) -> int:
    """The side of a square map for an image `own` texels across: the power of two at or above
    it, at most `max_size`."""
    side = 1
    while side < own:
        side *= 2
    return max(1, min(side, max_size))


def _image_side(path: str) -> int:
    """The larger of an image's width and height (0 if unreadable: reading it names it)."""
    try:
        with Image.open(path) as image:
            return max(image.size)
    except Exception:  # Pillow raises many types for broken files
        return 0


@kept_in_memory
def _image_maps(path: str, size: int) -> MaterialMaps:
    return flat_maps(load_image(path, (size, size)))


@kept_in_memory
def load_image(path: str, size: tuple[int, int]) -> np.ndarray:
    """RGB uint8 image resized to (width, height); cached per process; read-only."""
    try:
        with Image.open(path) as image:
            rgb = image.convert("RGB").resize(size, Image.Resampling.BILINEAR)
    except Exception as exc:  # Pillow raises many types for broken files
        raise AssetError(f"image {path!r} cannot be read: {exc}.\n"
                         "HINT: use a valid PNG or JPEG.") from None
    array = np.asarray(rgb, dtype=np.uint8).copy()
    array.setflags(write=False)
    return array


def load_backdrop(root: str | None, image_id: str, width: int, height: int) -> np.ndarray:
    """A background image scaled to cover (width, height), centre-cropped: (H, W, 3) uint8."""
    path = str(user_path(root, image_id))
    with Image.open(path) as image:
        source_w, source_h = image.size
    scale = max(width / source_w, height / source_h)
    cover = (max(width, math.ceil(source_w * scale)), max(height, math.ceil(source_h * scale)))
    big = load_image(path, cover)
    top, left = (cover[1] - height) // 2, (cover[0] - width) // 2
    return big[top:top + height, left:left + width]


def validate_catalog(catalog: Catalog, texture_size: int = 64,
                     max_triangles: int = DEFAULT_MAX_TRIANGLES) -> None:
    """Every broken user asset file (and mesh too heavy for `max_triangles`), by name, in one
    AssetError, before any rendering: each asset is loaded once and its outcome cached
    (`asset_facts`), so a warm start loads none."""
    raise_problems(catalog_problems(catalog, texture_size, max_triangles))


def catalog_problems(catalog: Catalog, texture_size: int = 64,
                     max_triangles: int = DEFAULT_MAX_TRIANGLES) -> list[str]:
    """One line per broken user asset (the cached outcome while its files are unchanged)."""
    if catalog.root is None:
        return []
    problems = []
    for kind, ids in (("object", catalog.objects),
                      ("image", (*catalog.materials, *catalog.backgrounds)),
                      ("environment", catalog.environments)):
        for asset_id in ids:
            if asset_id.startswith(USER_PREFIX):
                facts = _facts(catalog, asset_id, kind, texture_size, max_triangles)
                if "problem" in facts:
                    problems.append(facts["problem"])
    file_cache(catalog.root).flush()
    return problems


def asset_facts(catalog: Catalog, asset_id: str, texture_size: int = 64,
                max_triangles: int = DEFAULT_MAX_TRIANGLES) -> dict:
    """What checking the user asset `asset_id` found: `{"problem": text}` when it is broken,
    else its facts: an object's `triangles`, `vertices` and `radius` (bounding sphere about the
    bounding box's centre, in the file's units); an image's `width` and `height`; an
    environment map's `width`, `height` and `clamped` (small negatives clamped to 0). Kept in
    the asset cache (lightpipe.assets.file_cache), keyed by every file of the asset: loaded only
    when one changed (or the budget `max_triangles` a mesh is checked against). `texture_size`
    only sizes the load on a miss."""
    kind = ("object" if asset_id in catalog.objects else
            "environment" if asset_id in catalog.environments else "image")
    return _facts(catalog, asset_id, kind, texture_size, max_triangles)


def _facts(catalog: Catalog, asset_id: str, kind: str, texture_size: int,
           max_triangles: int) -> dict:
    params = {"checks": CHECKS_VERSION, **_library_versions(kind)}
    if kind == "object":
        params["max_triangles"] = max_triangles
    return file_cache(catalog.root).record(
        f"check {kind}", catalog.asset_files(asset_id), params,
        lambda: _checked(kind, catalog.root, asset_id, texture_size, max_triangles))


def mesh_facts(root: str, asset_id: str, max_triangles: int = DEFAULT_MAX_TRIANGLES) -> dict:
    """The checked facts of the user mesh `asset_id` under `root` (`asset_facts`: triangles,
    vertices, bounding-sphere `radius` and `largest` bounding-box dimension, in the file's
    units), from the asset cache: the mesh is loaded only when its files changed since it was
    last checked. AssetError for a broken mesh."""
    facts = asset_facts(_cached_catalog(str(root), True), asset_id, 64, max_triangles)
    if "problem" in facts:
        raise AssetError(f"{facts['problem']}.\nHINT: fix the file or move it out of the "
                         "assets root.")
    return facts


def _checked(kind: str, root: str, asset_id: str, texture_size: int,
             max_triangles: int) -> dict:
    path = str(user_path(root, asset_id))
    try:
        if kind == "object":
            loaded = load_object(root, asset_id, texture_size, max_triangles)
            return {"triangles": loaded.file_triangles, "vertices": loaded.file_vertices,
                    "radius": loaded.radius, "largest": loaded.largest}
        if kind == "environment":
            image = load_environment_image(path)
            return {"width": image.shape[1], "height": image.shape[0],
                    "clamped": clamped_values(path)}
        if Path(path).is_dir():  # a texture set: every map it reads
            load_material(root, asset_id, 8)
            return {"maps": len(_cached_catalog(str(root), True).asset_files(asset_id))}
        load_image(path, (8, 8))
        with Image.open(path) as image:
            return {"width": image.size[0], "height": image.size[1]}
    except AssetError as exc:
        return {"problem": str(exc).split("\nHINT:")[0].rstrip(".")}


@functools.lru_cache(maxsize=None)
def _library_versions(kind: str) -> dict:
    """The readers' versions: another release may read the same file otherwise."""
    from importlib import metadata

    name = {"object": "trimesh", "image": "pillow", "environment": "av"}[kind]
    return {name: metadata.version(name)}


@kept_in_memory
def _load_user_object(path: str, texture_size: int, up: str, max_triangles: int
                      ) -> LoadedObject:
    import trimesh  # imported lazily: only user assets need it
    from trimesh.resolvers import FilePathResolver

    check_file_size(path)
    try:
        # Companions may sit in sibling folders (GSO: ../materials/textures/texture.png); the
        # catalogue has checked that every referenced file lies inside the assets root.
        mesh = trimesh.load(path, force="mesh", process=False,
                            resolver=FilePathResolver(path, allow_anywhere=True))
    except Exception as exc:
        raise AssetError(f"mesh {path!r} cannot be loaded: {_mesh_problem(path, exc)}.\n"
                         "HINT: allowed: OBJ, GLB/glTF, PLY, STL with at least one triangle.") from None
    if not isinstance(mesh, trimesh.Trimesh) or len(mesh.faces) == 0 or len(mesh.vertices) < 3:
        raise AssetError(f"mesh {path!r} holds no triangles.\n"
                         "HINT: allowed: OBJ, GLB/glTF, PLY, STL with at least one triangle.")
    vertices = np.asarray(mesh.vertices, dtype=np.float64)
    faces = np.asarray(mesh.faces, dtype=np.int64)
    if not np.isfinite(vertices).all():
        raise AssetError(f"mesh {path!r} has non-finite vertex coordinates.")
    vertices = declared_up(vertices, up)
    centre = (vertices.min(axis=0) + vertices.max(axis=0)) / 2.0
    largest = float((vertices.max(axis=0) - vertices.min(axis=0)).max())
    vertices = vertices - centre
    radius = float(np.sqrt((vertices**2).sum(axis=1)).max())
    if radius <= 0:
        raise AssetError(f"mesh {path!r} has zero size.")
    vertices = vertices / radius
    facts = {"file_triangles": len(faces), "file_vertices": len(vertices)}
    vertices, faces, visual = within_budget(path, vertices, faces, max_triangles, mesh.visual)
    normals = _vertex_normals(vertices, faces)
    uvs, maps, own = _appearance(types.SimpleNamespace(visual=visual), vertices, faces,
                                 texture_size)
    if maps is not None and uvs.shape[0] != vertices.shape[0]:  # per-face colour atlas
        vertices, normals, faces = vertices[faces].reshape(-1, 3), normals[faces].reshape(-1, 3), \
            np.arange(faces.size, dtype=np.int64).reshape(-1, 3)
    result = Mesh(vertices=vertices.astype(np.float32), faces=faces,
                  normals=normals.astype(np.float32), uvs=uvs.astype(np.float32))
    for array in (result.vertices, result.faces, result.normals, result.uvs):
        array.setflags(write=False)
    return LoadedObject(result, maps, own, radius, largest, **facts)


def _mesh_problem(path: str, exc: Exception) -> str:
    """What is wrong with a mesh file, in its own terms where the parser's message is not."""
    if path.lower().endswith(".obj"):
        vertices, highest = 0, 0
        try:
            for line in open(path, errors="replace"):
                parts = line.split()
                if parts[:1] == ["v"]:
                    vertices += 1
                elif parts[:1] == ["f"]:
                    for corner in parts[1:]:
                        index = corner.split("/")[0]
                        if index.lstrip("-").isdigit():
                            highest = max(highest, abs(int(index)))
        except OSError:
            pass
        if highest > vertices:
            return (f"a face refers to vertex {highest}, but the file defines {vertices} "
                    f"vertices")
        if vertices == 0:
            return "it defines no vertices ('v x y z' lines)"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, (IndexError, KeyError, ValueError)):
        return f"it is not a valid {path.rsplit('.', 1)[-1].upper()} mesh ({text})"
    return text


def _vertex_normals(vertices: np.ndarray, faces: np.ndarray) -> np.ndarray:
    """Area-weighted vertex normals (sequential numpy accumulation: deterministic)."""
    corners = vertices[faces]
    face_normals = np.cross(corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0])
    normals = np.zeros_like(vertices)
    for k in range(3):
        np.add.at(normals, faces[:, k], face_normals)
    length = np.linalg.norm(normals, axis=1, keepdims=True)
    fallback = np.where(length > 1e-12, normals, vertices)  # isolated/degenerate: point outwards
    return fallback / np.maximum(np.linalg.norm(fallback, axis=1, keepdims=True), 1e-12)


def _appearance(mesh, vertices: np.ndarray, faces: np.ndarray, size: int):
    """UVs (v down), the mesh's own maps or None, and whether they are its own PBR material:
    a glTF material's base colour, metallic-roughness and normal textures times their factors;
    another base-colour image; its colours; or none (spherical UVs for the planned material)."""
    visual = mesh.visual
    uv = getattr(visual, "uv", None)
    material = getattr(visual, "material", None)
    if uv is not None and len(uv) == len(vertices) and _is_pbr(material):
        flipped = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1)  # trimesh UVs have v up
        return flipped, _pbr_maps(material, size), True
    image = _base_color_image(visual)
    if uv is not None and image is not None and len(uv) == len(vertices):
        flipped = np.stack([uv[:, 0], 1.0 - uv[:, 1]], axis=1)
        return flipped, flat_maps(_resized(image, texture_side(max(image.size), size))), False
    colors = _face_colors(visual, faces)
    if colors is not None:
        uvs, texture = _face_atlas(colors, min(size, FACE_ATLAS_SIZE))
        return uvs, flat_maps(texture), False
    # No UVs: a spherical projection, so the planned material still shows its pattern.
    direction = vertices / np.maximum(np.linalg.norm(vertices, axis=1, keepdims=True), 1e-12)
    u = 0.5 + np.arctan2(direction[:, 2], direction[:, 0]) / (2 * math.pi)
    v = 0.5 - np.arcsin(np.clip(direction[:, 1], -1, 1)) / math.pi
    return np.stack([u, v], axis=1), None, False


def _is_pbr(material) -> bool:
    return type(material).__name__ == "PBRMaterial" and any(
        getattr(material, name, None) is not None
        for name in ("baseColorTexture", "metallicRoughnessTexture", "normalTexture"))


def _pbr_maps(material, max_size: int) -> MaterialMaps:
    """glTF metallic-roughness: colour = factor x texture (sRGB), roughness = factor x G,
    metalness = factor x B, normal = the normal texture (+y up, OpenGL) or flat; all at the
    largest texture's side (`texture_side`, at most `max_size`; 1 without textures)."""
    own = [max(t.size) for t in (material.baseColorTexture, material.metallicRoughnessTexture,
                                 material.normalTexture) if t is not None]
    size = texture_side(max(own, default=1), max_size)
    factor = np.asarray(material.baseColorFactor if material.baseColorFactor is not None
                        else [255, 255, 255, 255], dtype=np.float64)
    factor = factor[:3] / (255.0 if factor.max() > 1.0 else 1.0)
    texture = material.baseColorTexture
    albedo = (_resized(texture, size).astype(np.float64) if texture is not None
              else np.full((size, size, 3), 255.0)) * factor
    rough_factor = 1.0 if material.roughnessFactor is None else float(material.roughnessFactor)
    metal_factor = 1.0 if material.metallicFactor is None else float(material.metallicFactor)
    if material.metallicRoughnessTexture is not None:
        mr = _resized(material.metallicRoughnessTexture, size).astype(np.float64) / 255.0
        roughness, metallic = mr[..., 1] * rough_factor, mr[..., 2] * metal_factor
    else:
        roughness = np.full((size, size), rough_factor)
        metallic = np.full((size, size), metal_factor)
    maps = flat_maps(np.clip(np.floor(albedo + 0.5), 0, 255).astype(np.uint8))
    normal = maps.normal
    if material.normalTexture is not None:
        n = _resized(material.normalTexture, size).astype(np.float64) / 127.5 - 1.0
        n[..., 2] = np.maximum(n[..., 2], 1e-3)
        normal = (n / np.sqrt((n * n).sum(-1, keepdims=True))).astype(np.float32)
    result = MaterialMaps(maps.albedo, np.clip(roughness, 0, 1).astype(np.float32),
                          np.clip(metallic, 0, 1).astype(np.float32), normal)
    for array in (result.roughness, result.metallic, result.normal):
        array.setflags(write=False)
    return result


def _resized(image, size: int) -> np.ndarray:
    return np.asarray(image.convert("RGB").resize((size, size), Image.Resampling.BILINEAR),
                      dtype=np.uint8).copy()


def _base_color_image(visual):
    material = getattr(visual, "material", None)
    for attribute in ("baseColorTexture", "image"):
        image = getattr(material, attribute, None)
        if image is not None:
            return image
    return None


def _face_colors(visual, faces: np.ndarray) -> np.ndarray | None:
    kind = getattr(visual, "kind", None)
    if kind == "vertex":
        colors = np.asarray(visual.vertex_colors, dtype=np.float64)[:, :3]
        return colors[faces].mean(axis=1)
    if kind == "face":
        return np.asarray(visual.face_colors, dtype=np.float64)[:, :3]
    return None


def _face_atlas(colors: np.ndarray, size: int):
    """Flat colour per face: a (size,size) palette of the distinct colours, one texel each, and
    UVs for the unrolled (3F) vertex list pointing at each face's texel centre."""
    colors = np.clip(np.floor(colors + 0.5), 0, 255).astype(np.uint8)
    palette, face_entry = np.unique(colors, axis=0, return_inverse=True)
    if len(palette) > size * size:  # too many distinct colours: keep 4 bits per channel
        colors = (colors // 16) * 16 + 8
        palette, face_entry = np.unique(colors, axis=0, return_inverse=True)
    texture = np.zeros((size * size, 3), dtype=np.uint8)
    texture[: len(palette)] = palette
    cells = face_entry.reshape(-1)
    centre = np.stack([(cells % size + 0.5) / size, (cells // size + 0.5) / size], axis=1)
    return np.repeat(centre, 3, axis=0), texture.reshape(size, size, 3)
