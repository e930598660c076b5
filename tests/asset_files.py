"""Tiny asset files made by the tests themselves: OBJ+MTL+PNG, GLB, PLY, STL, backgrounds, PBR
texture sets."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

CUBE_V = np.array([[x, y, z] for x in (-1, 1) for y in (-1, 1) for z in (-1, 1)], dtype=float)
CUBE_F = np.array([[0, 1, 3], [0, 3, 2], [4, 6, 7], [4, 7, 5], [0, 4, 5], [0, 5, 1],
                   [2, 3, 7], [2, 7, 6], [0, 2, 6], [0, 6, 4], [1, 5, 7], [1, 7, 3]])
RED, GREEN = (220, 30, 30), (30, 200, 60)
PURPLE = (120, 40, 160)  # textures/purple.png
# The PBR GLB: a uniform base colour texture (200, 100, 50) x factor 0.5 -> (100, 50, 25);
# metallic-roughness texture G = 204, B = 102 x factors 0.5 and 1.0; a normal map tilted +x.
PBR_ALBEDO = (100, 50, 25)
PBR_ROUGHNESS, PBR_METALLIC = 204 / 255 * 0.5, 102 / 255 * 1.0
PBR_NORMAL = tuple(np.array([0.6, 0.0, 0.8]))


def write_textured_obj(folder: Path) -> Path:
    """A quad-faced box with UVs whose texture is pure red (left half) and green (right half)."""
    folder.mkdir(parents=True, exist_ok=True)
    image = np.zeros((16, 16, 3), np.uint8)
    image[:, :8], image[:, 8:] = RED, GREEN
    Image.fromarray(image).save(folder / "box.png")
    (folder / "box.mtl").write_text("newmtl skin\nKd 1 1 1\nmap_Kd box.png\n")
    lines = ["mtllib box.mtl", "usemtl skin"]
    lines += [f"v {x * 2} {y * 0.5} {z}" for x, y, z in CUBE_V]
    lines += ["vt 0.25 0.5", "vt 0.26 0.5", "vt 0.25 0.51"]
    lines += [f"f {a + 1}/1 {b + 1}/2 {c + 1}/3" for a, b, c in CUBE_F]
    path = folder / "box.obj"
    path.write_text("\n".join(lines) + "\n")
    return path


def write_glb(path: Path) -> Path:
    import trimesh

    path.parent.mkdir(parents=True, exist_ok=True)
    sphere = trimesh.creation.icosphere(subdivisions=2, radius=3.0)
    sphere.visual.vertex_colors = np.tile([40, 60, 230, 255], (len(sphere.vertices), 1))
    sphere.export(path)
    return path


def write_pbr_glb(path: Path) -> Path:
    """A box with UVs and a glTF metallic-roughness material: textures and factors."""
    import trimesh
    from trimesh.visual.material import PBRMaterial

    path.parent.mkdir(parents=True, exist_ok=True)
    mesh = trimesh.creation.box(extents=(1.0, 2.0, 1.0))
    uv = np.stack([mesh.vertices[:, 0] + 0.5, mesh.vertices[:, 1] / 2 + 0.5], axis=1)

    def solid(rgb):
        return Image.fromarray(np.full((8, 8, 3), rgb, np.uint8))

    normal = tuple(int(round((c + 1) * 127.5)) for c in PBR_NORMAL)
    material = PBRMaterial(baseColorTexture=solid((200, 100, 50)),
                           baseColorFactor=[0.5, 0.5, 0.5, 1.0],
                           metallicRoughnessTexture=solid((0, 204, 102)),
                           roughnessFactor=0.5, metallicFactor=1.0,
                           normalTexture=solid(normal))
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    mesh.export(path)
    return path


def write_ply(path: Path) -> Path:
    import trimesh

    path.parent.mkdir(parents=True, exist_ok=True)
    mesh = trimesh.Trimesh(CUBE_V * 0.2 + 5.0, CUBE_F, process=False)
    mesh.visual.face_colors = np.tile([250, 250, 20, 255], (len(CUBE_F), 1))
    mesh.export(path)
    return path


def write_stl(path: Path) -> Path:
    import trimesh

    path.parent.mkdir(parents=True, exist_ok=True)
    trimesh.creation.cylinder(radius=1.0, height=3.0, sections=24).export(path)
    return path


def write_environment(path: Path, image: np.ndarray) -> Path:
    """An equirectangular (H, W, 3) float map as Radiance .hdr or OpenEXR .exr (by suffix),
    through FFmpeg's own encoders."""
    import av

    path.parent.mkdir(parents=True, exist_ok=True)
    height, width = image.shape[:2]
    codec = {".hdr": "hdr", ".exr": "exr"}[path.suffix]
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream(codec, rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "gbrpf32le"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, np.float32),
                                           format="gbrpf32le")
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)
    return path


def write_image(path: Path, color, size=(32, 16)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size[1], size[0], 3), color, np.uint8)).save(path)
    return path


def make_asset_root(root: Path) -> Path:
    write_textured_obj(root / "objects" / "box")
    write_glb(root / "objects" / "ball.glb")
    write_ply(root / "objects" / "cube.ply")
    write_stl(root / "objects" / "can.stl")
    write_image(root / "textures" / "purple.png", PURPLE)
    write_image(root / "textures" / "wood.jpg", (150, 100, 50))
    write_image(root / "backgrounds" / "sunset.png", (250, 120, 40), size=(64, 48))
    write_pbr_glb(root / "objects" / "pbr.glb")
    write_environment(root / "environments" / "noon.hdr", sky_map(sun_row=8))
    write_environment(root / "environments" / "dusk.exr", sky_map(sun_row=28))
    return root


def sky_map(sun_row: int, height: int = 32) -> np.ndarray:
    """A small equirectangular sky: blue above, brown below, a bright sun at `sun_row`."""
    image = np.zeros((height, 2 * height, 3), np.float32)
    image[: height // 2] = (0.3, 0.5, 0.9)
    image[height // 2:] = (0.3, 0.25, 0.2)
    image[sun_row, 20] = (400.0, 380.0, 330.0)
    return image


# Texture sets (`write_texture_set`): uniform maps with known values. The surface's normal is
# tilted towards +u and up the image; its OpenGL code is (173, 189, 230), DirectX's green 66.
SET_COLOR = (180, 120, 60)
SET_ROUGHNESS, SET_METAL, SET_AO = 51, 204, 128  # 8-bit codes: 0.2, 0.8, ~0.5
SET_NORMAL = (0.36, 0.48, 0.8)


def _normal_code(normal, directx: bool) -> tuple[int, int, int]:
    x, y, z = (int(round((c + 1) * 127.5)) for c in normal)
    return (x, 255 - y if directx else y, z)


def write_texture_set(folder: Path, style: str = "polyhaven", size: int = 16, *,
                      color=SET_COLOR, roughness: int = SET_ROUGHNESS, metal: int = SET_METAL,
                      ao: int = SET_AO, normal=SET_NORMAL, normals: str = "both") -> Path:
    """A PBR texture set as a library ships it, uniform maps of the given values (PNG):

    - `polyhaven`: `<name>_diff_1k.png`, `_arm_1k.png` (R ao, G roughness, B metal),
      `_nor_gl_1k.png`, `_nor_dx_1k.png`, `_disp_1k.png`, and a `.blend` and `.gltf` beside;
    - `ambientcg`: `<Name>_1K-PNG_Color.png`, `_Roughness`, `_Metalness`, `_AmbientOcclusion`
      (grey), `_NormalGL`, `_NormalDX`, `_Displacement` (16-bit grey), the preview
      `<Name>_1K-PNG.png` (names no map) and `.mtlx`, `.usda` beside.

    `normals` is "both", "gl", "dx" or "none" (which normal maps are written).
    """
    folder.mkdir(parents=True, exist_ok=True)
    name = folder.name

    def save(file: str, value, mode: str = "RGB") -> None:
        shape = (size, size, 3) if mode == "RGB" else (size, size)
        dtype = np.uint16 if mode == "I;16" else np.uint8
        Image.fromarray(np.full(shape, value, dtype)).save(folder / file)

    if style == "polyhaven":
        files = {"diff": color, "arm": (ao, roughness, metal),
                 "nor_gl": _normal_code(normal, False), "nor_dx": _normal_code(normal, True)}
        for map_kind, value in files.items():
            if not map_kind.startswith("nor_") or normals in ("both", map_kind[-2:]):
                save(f"{name}_{map_kind}_1k.png", value)
        save(f"{name}_disp_1k.png", 128, "L")
        (folder / f"{name}_1k.blend").write_bytes(b"BLENDER")
        (folder / f"{name}_1k.gltf").write_text("{}")
    elif style == "ambientcg":
        stem = f"{name}_1K-PNG"
        save(f"{stem}_Color.png", color)
        save(f"{stem}_Roughness.png", roughness, "L")
        save(f"{stem}_Metalness.png", metal, "L")
        save(f"{stem}_AmbientOcclusion.png", ao, "L")
        for convention in ("GL", "DX"):
            if normals in ("both", convention.lower()):
                save(f"{stem}_Normal{convention}.png", _normal_code(normal, convention == "DX"))
        save(f"{stem}_Displacement.png", 30000, "I;16")
        save(f"{stem}.png", (10, 10, 10))  # the preview: names no map
        (folder / f"{stem}.mtlx").write_text("<materialx/>")
        (folder / f"{stem}.usda").write_text("#usda 1.0")
    else:
        raise ValueError(f"unknown texture set style {style!r}")
    return folder


def write_gso_object(folder: Path, color=(20, 60, 230), half=(0.04, 0.03, 0.06),
                     z_up: bool = True) -> Path:
    """A Google Scanned Objects-style folder: `meshes/model.obj` + `model.mtl` whose map is
    `../materials/textures/texture.png` (one `color`), plus `model.sdf`, `model.config`,
    `metadata.pbtxt` and a thumbnail. The mesh is a box of half-sizes `half` in metres as
    modelled (x, y, z; with `z_up` the last is its height, GSO's convention), UVs on the
    texture's centre. Returns the mesh's path."""
    for sub in ("meshes", "materials/textures", "thumbnails"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    write_image(folder / "materials" / "textures" / "texture.png", color, size=(8, 8))
    (folder / "meshes" / "model.mtl").write_text(
        "newmtl material_0\nKd 1 1 1\nmap_Kd ../materials/textures/texture.png\n")
    extents = half if z_up else (half[0], half[2], half[1])
    lines = ["mtllib model.mtl", "usemtl material_0"]
    lines += [f"v {x * extents[0]} {y * extents[1]} {z * extents[2]}" for x, y, z in CUBE_V]
    lines += ["vt 0.5 0.5"] + [f"f {a + 1}/1 {b + 1}/1 {c + 1}/1" for a, b, c in CUBE_F]
    mesh = folder / "meshes" / "model.obj"
    mesh.write_text("\n".join(lines) + "\n")
    (folder / "model.sdf").write_text("<sdf version='1.6'><model name='x'/></sdf>\n")
    (folder / "model.config").write_text("<model><name>x</name></model>\n")
    (folder / "metadata.pbtxt").write_text("name: \"x\"\n")
    write_image(folder / "thumbnails" / "0.jpg", (128, 128, 128), size=(4, 4))
    return mesh


def write_textured_torus(path: Path, side: int) -> Path:
    """A torus of 2 * side**2 triangles (a side x side grid, seam vertices duplicated) as a GLB,
    UVs u = angle about the vertical / 2 pi, v = angle about the tube / 2 pi, and a texture red
    for u < 0.5, green for u >= 0.5."""
    import trimesh
    from trimesh.visual import TextureVisuals
    from trimesh.visual.material import SimpleMaterial

    grid = np.linspace(0.0, 1.0, side + 1)
    uu, vv = np.meshgrid(grid, grid)
    a, b = uu * 2 * np.pi, vv * 2 * np.pi
    vertices = np.stack([(1 + 0.4 * np.cos(b)) * np.cos(a), 0.4 * np.sin(b),
                         (1 + 0.4 * np.cos(b)) * np.sin(a)], axis=-1).reshape(-1, 3)
    idx = np.arange((side + 1) ** 2).reshape(side + 1, side + 1)
    p, q, r, s = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([p, r, q], -1).reshape(-1, 3),
                            np.stack([q, r, s], -1).reshape(-1, 3)])
    image = np.zeros((16, 16, 3), np.uint8)
    image[:, :8], image[:, 8:] = RED, GREEN
    mesh = trimesh.Trimesh(vertices, faces, process=False, visual=TextureVisuals(
        uv=np.stack([uu.ravel(), vv.ravel()], axis=1),
        material=SimpleMaterial(image=Image.fromarray(image))))
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path)
    return path
