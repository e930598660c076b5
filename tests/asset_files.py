"""Tiny asset files made by the tests themselves: OBJ+MTL+PNG, GLB, PLY, STL, backgrounds."""

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
