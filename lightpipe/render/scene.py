"""Build a renderable scene (meshes, materials, per-frame transforms) from a VideoSpec."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from lightpipe.assets.catalog import USER_PREFIX
from lightpipe.assets.loader import load_material, load_object, texture_side
from lightpipe.assets.materials import BUILTIN_TEXTURE_SIZE, MaterialMaps
from lightpipe.assets.memory import kept_in_memory
from lightpipe.assets.simplify import DEFAULT_MAX_TRIANGLES
from lightpipe.physics.simulation import Trajectory, simulate_video
from lightpipe.planning.specs import GroundSpec, VideoSpec
from lightpipe.render import kinematics
from lightpipe.render.texture_cache import builtin_chain
from lightpipe.render.textures import DEFAULT_MAX_TEXTURE_SIZE, Textures, mip_chain

GROUND_CELLS = 24


@dataclass(frozen=True)
class Scene:
    """Tensors of one video's scene on one device. Part 0 is the ground, part i>0 is object i-1."""

    vertices: torch.Tensor  # (V,3) float32, part space
    normals: torch.Tensor  # (V,3) float32, part space
    vertex_part: torch.Tensor  # (V,) int64
    faces: torch.Tensor  # (T,3) int64
    face_part: torch.Tensor  # (T,) int64
    face_uv: torch.Tensor  # (T,3,2) float32 texture coordinates of each face's vertices
    face_info: torch.Tensor  # (8,T) float32: tint rgb, roughness scale, metal override,
    # material, projected, ground (look.FACE_*)
    face_texture_size: torch.Tensor  # (T,) float32 level-0 side of each face's texture
    textures: Textures  # every material's mip chain
    model_view: torch.Tensor  # (F,P,3,4) float32: part space -> camera space per frame
    light_dir: np.ndarray  # (F,3) float32, camera space, towards the sun
    extrinsics: np.ndarray  # (F,4,4) float64 world -> camera
    intrinsics: np.ndarray  # (3,3) float64
    part_to_camera: np.ndarray  # (F,P,4,4) float64: `model_view` before its float32 cast
    part_bounds: np.ndarray  # (P,2,3) float64: each part mesh's vertex min, max (part space)
    part_world: np.ndarray  # (F,P,4,4) float64: part space -> world at the scene's instants


@dataclass(frozen=True)
class ScenePart:
    """One rigid part (0: the ground, k > 0: object k - 1) with its material."""

    mesh: object  # procedural.Mesh or the ground grid: vertices, faces, normals, uvs
    material_key: str  # parts with the same key share one material table
    tint: tuple[float, float, float]
    roughness_scale: float
    metal: float
    own_maps: MaterialMaps | None = None  # an object's own material
    asset_root: str | None = None
    max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE

    @property
    def maps(self) -> MaterialMaps:
        """The part's material maps, loaded when asked: the renderer reads the mip chain
        (`material_chain`, cached on disk for built-ins), never the maps."""
        if self.own_maps is not None:
            return self.own_maps
        return load_material(self.asset_root, self.material_key, self.max_texture_size)


def scene_parts(spec: VideoSpec, asset_root: str | None = None,
                max_triangles: int = DEFAULT_MAX_TRIANGLES,
                max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> list[ScenePart]:
    """The ground and the objects of `spec`, with their materials (user meshes within
    `max_triangles`, `settings.assets.max_triangles`; textures at their own resolution up to
    `max_texture_size`, `settings.render.max_texture_size`).

    Objects with their own material (maps or colours) show it; the others use their planned
    material. An asset's own PBR material ignores the spec's roughness scale and metal override.
    """
    ground = spec.ground
    parts = [ScenePart(_ground_mesh(ground), ground.material_id, ground.tint,
                       ground.roughness_scale, 0.0, None, asset_root, max_texture_size)]
    for obj in spec.objects:
        item = load_object(asset_root, obj.asset_id, max_texture_size, max_triangles)
        own = item.maps is not None
        parts.append(ScenePart(
            item.mesh, f"own:{obj.asset_id}" if own else obj.material_id, obj.tint,
            1.0 if item.own_material else obj.roughness_scale,
            0.0 if item.own_material else obj.metal, item.maps, asset_root, max_texture_size))
    return parts


def has_projected_ground(spec: VideoSpec) -> bool:
    """Whether the video's ground shows the environment map (`GroundSpec.capture_height`)."""
    return spec.ground.capture_height is not None


@kept_in_memory  # bounded with the loaded assets (settings.assets.mesh_cache_mb)
def material_chain(asset_root: str | None, material_key: str, max_texture_size: int,
                   max_triangles: int) -> np.ndarray:
    """The uint8 mip chain (`textures.mip_chain`) of a planned material or of an object's own
    maps (`own:<asset id>`), built once per process."""
    if material_key.startswith("own:"):
        maps = load_object(asset_root, material_key[4:], max_texture_size, max_triangles).maps
    elif not material_key.startswith(USER_PREFIX):  # built-in: cached on disk too
        return builtin_chain(material_key, texture_side(BUILTIN_TEXTURE_SIZE, max_texture_size))
    else:
        maps = load_material(asset_root, material_key, max_texture_size)
    return mip_chain(maps)


def part_poses(spec: VideoSpec, parts: list[ScenePart], times: list[float] | None = None,
               asset_root: str | None = None, max_triangles: int = DEFAULT_MAX_TRIANGLES
               ) -> np.ndarray:
    """(F, P, 4, 4) part -> world per frame (or per instant of `times`): simulated
    (`spec.physics`, from `simulated_motion`) or kinematic, each object resting its lowest point on
    the ground."""
    count = len(times) if times else spec.num_frames
    ground = np.repeat(np.eye(4)[None], count, axis=0)[:, None]
    if spec.physics is not None:
        trajectory = simulated_motion(spec, asset_root, max_triangles)
        objects = trajectory.poses_at(times) if times else trajectory.frame_poses(count)
        return np.concatenate([ground, objects.reshape(count, -1, 4, 4)], axis=1)
    poses = [ground[:, 0]] + [
        _rest_on_ground(kinematics.object_poses(obj, spec, times),
                        kinematics.object_poses(obj, spec, [0.0])[0], part.mesh)
        for obj, part in zip(spec.objects, parts[1:])]
    return np.stack(poses, axis=1)


def simulated_motion(spec: VideoSpec, asset_root: str | None = None,
                     max_triangles: int = DEFAULT_MAX_TRIANGLES) -> Trajectory:
    """The simulated motion of a physics video (cached per process: the renderer, the
    annotations and the writer share one run)."""
    return simulate_video(spec, asset_root, DEFAULT_MAX_TEXTURE_SIZE, max_triangles)


def build_scene(spec: VideoSpec, device: torch.device | str, asset_root: str | None = None,
                sun_direction: tuple[float, float, float] = (0.0, 1.0, 0.0),
                times: list[float] | None = None, max_triangles: int = DEFAULT_MAX_TRIANGLES,
                max_texture_size: int = DEFAULT_MAX_TEXTURE_SIZE) -> Scene:
    """Everything the renderer needs for `spec` (at its frames, or at the instants `times`);
    deterministic and independent of the device."""
    parts = scene_parts(spec, asset_root, max_triangles, max_texture_size)
    meshes = [part.mesh for part in parts]
    materials = sorted({part.material_key for part in parts})
    part_material = [materials.index(part.material_key) for part in parts]
    chains = [material_chain(asset_root, m, max_texture_size, max_triangles) for m in materials]
    textures = Textures.create(chains, device)
    material_side = textures.mips[:, 0].cpu().numpy().astype(np.float32)
    projected = [1.0 if p == 0 and has_projected_ground(spec) else 0.0 for p in range(len(parts))]

    offsets = np.cumsum([0] + [m.vertices.shape[0] for m in meshes])
    faces = np.concatenate([m.faces + off for m, off in zip(meshes, offsets[:-1])])
    face_part = np.concatenate([np.full(len(m.faces), p) for p, m in enumerate(meshes)])
    vertex_part = np.concatenate([np.full(len(m.vertices), p) for p, m in enumerate(meshes)])
    uvs = np.concatenate([m.uvs for m in meshes]).astype(np.float32)
    part_info = np.concatenate([np.asarray([part.tint for part in parts], dtype=np.float32),
                                np.asarray([(part.roughness_scale, part.metal) for part in parts],
                                           dtype=np.float32),
                                np.asarray(part_material, dtype=np.float32)[:, None],
                                np.asarray(projected, dtype=np.float32)[:, None],
                                (np.arange(len(parts)) == 0).astype(np.float32)[:, None]],
                               axis=1)

    extrinsics = kinematics.camera_extrinsics(spec, times)
    part_world = part_poses(spec, parts, times, asset_root, max_triangles)
    part_to_camera = kinematics.compose(extrinsics[:, None], part_world)
    model_view = part_to_camera[:, :, :3]
    light = sun_direction
    light_cam = np.array([[sum(e[i, j] * light[j] for j in range(3)) for i in range(3)]
                          for e in extrinsics])

    def tensor(array, dtype=torch.float32):
        return torch.as_tensor(np.ascontiguousarray(array)).to(device=device, dtype=dtype)

    return Scene(
        vertices=tensor(np.concatenate([m.vertices for m in meshes])),
        normals=tensor(np.concatenate([m.normals for m in meshes])),
        vertex_part=tensor(vertex_part, torch.int64),
        faces=tensor(faces, torch.int64),
        face_part=tensor(face_part, torch.int64),
        face_uv=tensor(uvs[faces]),
        face_info=tensor(part_info[face_part].T),
        face_texture_size=tensor(material_side[np.asarray(part_material)][face_part]),
        textures=textures,
        model_view=tensor(model_view),
        light_dir=light_cam.astype(np.float32),
        extrinsics=extrinsics,
        intrinsics=kinematics.intrinsics(spec),
        part_to_camera=part_to_camera,
        part_bounds=np.stack([np.stack([m.vertices.astype(np.float64).min(axis=0),
                                        m.vertices.astype(np.float64).max(axis=0)])
                              for m in meshes]),
        part_world=part_world,
    )


def _rest_on_ground(poses: np.ndarray, first: np.ndarray, mesh) -> np.ndarray:
    """Shift an object's path vertically so its lowest vertex touches y=0 at time 0 (pose
    `first`). Kinematic objects turn about the vertical only, so it touches at every instant
    but a bounce's hops."""
    r, t = first[1, :3], first[1, 3]
    v = mesh.vertices.astype(np.float64)
    lowest = float(np.min((r[0] * v[:, 0] + r[1] * v[:, 1]) + r[2] * v[:, 2]) + t)
    grounded = poses.copy()
    grounded[:, 1, 3] -= lowest
    return grounded


@dataclass(frozen=True)
class _GroundMesh:
    vertices: np.ndarray
    faces: np.ndarray
    normals: np.ndarray
    uvs: np.ndarray


def _ground_mesh(ground: GroundSpec) -> _GroundMesh:
    """A square grid at y=0 facing up; UVs are world metres times `uv_scale` (textures tile)."""
    n = GROUND_CELLS
    coords = np.linspace(-ground.half_size, ground.half_size, n + 1)
    xs, zs = np.meshgrid(coords, coords, indexing="ij")
    vertices = np.stack([xs.ravel(), np.zeros(xs.size), zs.ravel()], axis=1)
    idx = np.arange((n + 1) ** 2).reshape(n + 1, n + 1)
    a, b, c, d = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([a, b, c], -1).reshape(-1, 3),
                            np.stack([c, b, d], -1).reshape(-1, 3)])
    normals = np.tile([0.0, 1.0, 0.0], (vertices.shape[0], 1))
    uvs = vertices[:, [0, 2]] * ground.uv_scale
    return _GroundMesh(vertices.astype(np.float32), faces.astype(np.int64),
                       normals.astype(np.float32), uvs.astype(np.float32))
