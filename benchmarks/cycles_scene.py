"""Render an exported Lightpipe scene with Blender Cycles (run with Blender's Python: bpy).

    .venv-bpy/bin/python benchmarks/cycles_scene.py SCENE_DIR OUT.exr SAMPLES [THREADS]

Reads SCENE_DIR/scene.json (written by realism_vs_cycles.py): world-space meshes with per-corner
normals and UVs, each part's maps (linear base colour, roughness, metalness, tangent-space
normals, as float EXR; or a texture set's own PNGs by absolute path, those listed in "srgb"
read as sRGB colour), the camera, the environment (an equirectangular EXR in Lightpipe's
world axes, looked up by its own node graph so no projection convention is assumed) and the sun.
Writes the linear radiance as a float EXR and prints {"seconds": ...} (render only).
Lightpipe's world is Y-up, Blender's Z-up: (x, y, z) -> (x, -z, y).
"""

from __future__ import annotations

import json
import math
import sys
import time
from pathlib import Path

import bpy
import numpy as np
from mathutils import Matrix

TO_BLENDER = np.array([[1.0, 0.0, 0.0, 0.0], [0.0, 0.0, -1.0, 0.0], [0.0, 1.0, 0.0, 0.0],
                       [0.0, 0.0, 0.0, 1.0]])


def main() -> None:
    scene_dir, out, samples = Path(sys.argv[1]), Path(sys.argv[2]), int(sys.argv[3])
    threads = int(sys.argv[4]) if len(sys.argv) > 4 else 2
    description = json.loads((scene_dir / "scene.json").read_text())
    bpy.ops.wm.read_factory_settings(use_empty=True)
    scene = bpy.context.scene
    _render_settings(scene, description, samples, threads)
    _camera(scene, description)
    _world(scene, scene_dir, description["environment"])
    _sun(scene, description["sun"])
    for index, part in enumerate(description["parts"]):
        _part(scene, scene_dir, index, part)
    scene.render.filepath = str(out)
    started = time.perf_counter()
    bpy.ops.render.render(write_still=True)
    print(json.dumps({"seconds": time.perf_counter() - started}))


def _render_settings(scene, description, samples: int, threads: int) -> None:
    scene.render.engine = "CYCLES"
    cycles = scene.cycles
    cycles.device = "CPU"
    cycles.samples = samples
    cycles.use_adaptive_sampling = False
    cycles.use_denoising = samples > 1
    cycles.max_bounces = 8
    cycles.caustics_reflective = cycles.caustics_refractive = False
    cycles.filter_type = "BOX"
    cycles.filter_width = 1.0
    cycles.seed = 0
    scene.render.threads_mode = "FIXED"
    scene.render.threads = threads
    scene.render.resolution_x, scene.render.resolution_y = description["width"], description["height"]
    scene.render.resolution_percentage = 100
    scene.render.film_transparent = False
    scene.view_settings.view_transform = "Standard"
    settings = scene.render.image_settings
    settings.file_format, settings.color_depth, settings.exr_codec = "OPEN_EXR", "32", "ZIP"
    settings.color_mode = "RGB"


def _camera(scene, description) -> None:
    data = bpy.data.cameras.new("camera")
    data.sensor_fit = "VERTICAL"
    data.angle_y = math.radians(description["fov_y_deg"])
    data.clip_start, data.clip_end = 0.05, 200.0
    camera = bpy.data.objects.new("camera", data)
    scene.collection.objects.link(camera)
    # OpenCV camera (x right, y down, z forward) -> Blender's (x right, y up, looking down -z).
    flip = np.diag([1.0, -1.0, -1.0, 1.0])
    matrix = TO_BLENDER @ np.array(description["cam_to_world"]) @ flip
    camera.matrix_world = Matrix(matrix.tolist())
    scene.camera = camera


def _image(path: Path, color: bool = False):
    image = bpy.data.images.load(str(path))
    image.colorspace_settings.name = "sRGB" if color else "Non-Color"
    return image


def _world(scene, scene_dir: Path, environment) -> None:
    """Radiance of the map along the ray: u = atan2(x, z) / 2pi + 0.5, v = asin(y) / pi + 0.5
    in Lightpipe's axes (Blender's images have v = 0 at the bottom)."""
    world = bpy.data.worlds.new("world")
    scene.world = world
    world.use_nodes = True
    nodes, links = world.node_tree.nodes, world.node_tree.links
    nodes.clear()
    coordinates = nodes.new("ShaderNodeTexCoord")
    normalize = nodes.new("ShaderNodeVectorMath")
    normalize.operation = "NORMALIZE"
    links.new(coordinates.outputs["Generated"], normalize.inputs[0])
    split = nodes.new("ShaderNodeSeparateXYZ")
    links.new(normalize.outputs["Vector"], split.inputs[0])
    minus_y = nodes.new("ShaderNodeMath")
    minus_y.operation = "MULTIPLY"
    minus_y.inputs[1].default_value = -1.0
    links.new(split.outputs["Y"], minus_y.inputs[0])  # Lightpipe z = -Blender y
    longitude = nodes.new("ShaderNodeMath")
    longitude.operation = "ARCTAN2"
    links.new(split.outputs["X"], longitude.inputs[0])
    links.new(minus_y.outputs[0], longitude.inputs[1])
    u = nodes.new("ShaderNodeMath")
    u.operation = "MULTIPLY_ADD"
    links.new(longitude.outputs[0], u.inputs[0])
    u.inputs[1].default_value, u.inputs[2].default_value = 1.0 / (2.0 * math.pi), 0.5
    latitude = nodes.new("ShaderNodeMath")
    latitude.operation = "ARCSINE"
    links.new(split.outputs["Z"], latitude.inputs[0])  # Lightpipe y = Blender z
    v = nodes.new("ShaderNodeMath")
    v.operation = "MULTIPLY_ADD"
    links.new(latitude.outputs[0], v.inputs[0])
    v.inputs[1].default_value, v.inputs[2].default_value = 1.0 / math.pi, 0.5
    uv = nodes.new("ShaderNodeCombineXYZ")
    links.new(u.outputs[0], uv.inputs["X"])
    links.new(v.outputs[0], uv.inputs["Y"])
    texture = nodes.new("ShaderNodeTexImage")
    texture.image = _image(scene_dir / environment["file"])
    texture.interpolation, texture.extension = "Linear", "EXTEND"
    links.new(uv.outputs["Vector"], texture.inputs["Vector"])
    background = nodes.new("ShaderNodeBackground")
    background.inputs["Strength"].default_value = environment["strength"]
    links.new(texture.outputs["Color"], background.inputs["Color"])
    output = nodes.new("ShaderNodeOutputWorld")
    links.new(background.outputs["Background"], output.inputs["Surface"])
    world.cycles.sampling_method = "MANUAL"
    world.cycles.sample_map_resolution = 1024


def _sun(scene, sun) -> None:
    irradiance = np.array(sun["irradiance"], dtype=np.float64)
    strength = float(irradiance.max())
    if strength <= 0:
        return
    data = bpy.data.lights.new("sun", type="SUN")
    data.energy = strength  # W/m^2 on a surface facing the sun
    data.color = tuple(irradiance / strength)
    data.angle = math.radians(2.0 * sun["radius_deg"])
    light = bpy.data.objects.new("sun", data)
    scene.collection.objects.link(light)
    towards = TO_BLENDER[:3, :3] @ np.array(sun["direction"], dtype=np.float64)
    # A sun light shines along its local -Z: turn -Z onto -towards (i.e. +Z onto towards).
    z = towards / np.linalg.norm(towards)
    helper = np.array([0.0, 0.0, 1.0]) if abs(z[2]) < 0.9 else np.array([1.0, 0.0, 0.0])
    x = np.cross(helper, z)
    x /= np.linalg.norm(x)
    y = np.cross(z, x)
    matrix = np.eye(4)
    matrix[:3, 0], matrix[:3, 1], matrix[:3, 2] = x, y, z
    light.matrix_world = Matrix(matrix.tolist())


def _part(scene, scene_dir: Path, index: int, part) -> None:
    arrays = np.load(scene_dir / part["mesh"])
    positions = arrays["positions"] @ TO_BLENDER[:3, :3].T
    faces = arrays["faces"]
    mesh = bpy.data.meshes.new(f"part{index}")
    mesh.from_pydata(positions.tolist(), [], faces.tolist())
    uv_layer = mesh.uv_layers.new(name="UVMap")
    corner_uvs = arrays["corner_uvs"].reshape(-1, 2).copy()
    corner_uvs[:, 1] = 1.0 - corner_uvs[:, 1]  # Lightpipe's v runs down the image
    uv_layer.data.foreach_set("uv", corner_uvs.reshape(-1))
    normals = (arrays["corner_normals"].reshape(-1, 3) @ TO_BLENDER[:3, :3].T)
    mesh.normals_split_custom_set([tuple(n) for n in normals])
    mesh.update()
    obj = bpy.data.objects.new(f"part{index}", mesh)
    obj.data.materials.append(_material(scene_dir, index, part))
    scene.collection.objects.link(obj)


def _material(scene_dir: Path, index: int, part):
    material = bpy.data.materials.new(f"material{index}")
    material.use_nodes = True
    nodes, links = material.node_tree.nodes, material.node_tree.links
    principled = nodes["Principled BSDF"]
    principled.inputs["IOR"].default_value = 1.5  # F0 = 0.04, as Lightpipe's dielectrics
    coordinates = nodes.new("ShaderNodeUVMap")
    coordinates.uv_map = "UVMap"

    def texture(name):
        node = nodes.new("ShaderNodeTexImage")
        node.image = _image(scene_dir / part[name], name in part.get("srgb", ()))
        node.interpolation, node.extension = "Linear", "REPEAT"
        links.new(coordinates.outputs["UV"], node.inputs["Vector"])
        return node

    links.new(texture("albedo").outputs["Color"], principled.inputs["Base Color"])
    roughness = nodes.new("ShaderNodeSeparateColor")
    links.new(texture("roughness").outputs["Color"], roughness.inputs["Color"])
    links.new(roughness.outputs["Red"], principled.inputs["Roughness"])
    metallic = nodes.new("ShaderNodeSeparateColor")
    links.new(texture("metallic").outputs["Color"], metallic.inputs["Color"])
    links.new(metallic.outputs["Red"], principled.inputs["Metallic"])
    normal_map = nodes.new("ShaderNodeNormalMap")
    normal_map.space, normal_map.uv_map = "TANGENT", "UVMap"
    links.new(texture("normal").outputs["Color"], normal_map.inputs["Color"])
    links.new(normal_map.outputs["Normal"], principled.inputs["Normal"])
    return material


if __name__ == "__main__":
    main()
