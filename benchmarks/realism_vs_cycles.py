"""Lightpipe's frame vs a Blender Cycles reference of the same scene: PSNR, SSIM, ms/frame.

    python benchmarks/realism_vs_cycles.py [--group all|procedural|real] [--scenes 6]
        [--width 320] [--height 192] [--real-scenes 4] [--real-width 832] [--real-height 480]
        [--samples 128] [--fresh] [--bpy .venv-bpy/bin/python]

Two groups of scenes, each with its own table and mean:
- procedural (`--scenes`, at `--width` x `--height`): planned scenes, half under the Preetham
  sky with built-in assets, half under generated HDR environments with generated PBR GLB assets
  among the built-in ones;
- real assets (`--real-scenes`, at `--real-width` x `--real-height`, `real_assets.py`): Blender's
  CC0 Poly Haven HDRIs (the `bpy` wheel's) as environment and backdrop, and generated 1k-2k PBR
  texture sets (base colour, roughness, OpenGL normal) on the ground and on two built-in
  objects. Cycles gets the assets themselves (the HDRI at 1024x512 with its sun in it, each
  set's PNGs), not Lightpipe's reduced copies, so what Lightpipe loses of them counts.

Each scene is exported to Blender (`cycles_scene.py`, run with Blender's own Python: `make
bpy-venv` installs it into .venv-bpy, never into the project) with the same meshes, per-corner
normals, UVs, material maps, camera, environment and sun, renders the Cycles reference at
`--samples` (denoised; procedural group: also at 1 sample, for its time), and our frame. Both go
through Lightpipe's camera response (the same exposure), so the comparison is of the light, not
of tone curves. Prints PSNR and SSIM per scene and their mean, our ms/frame (the fastest of 3
runs of 8 frames) and Cycles' time; the real-asset table also shows the PSNR of the backdrop,
the ground and the objects with their shares of the error, and the figures of RENDERER_VERSION 4
("today", `TODAY`). Cycles renders are kept in benchmarks/out/<scene>/ under a hash of
everything they read (the scene, its files, `cycles_scene.py`, samples, threads) and reused
while it matches (`--fresh`: render again); a reused render reports the time measured when it
was made. Writes benchmarks/out/realism_NN.png and realism_real_NN.png (ours | Cycles |
difference x4).
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import av
import numpy as np
import torch
from PIL import Image
from scipy.ndimage import gaussian_filter

from lightpipe.assets.environments import load_environment_image
from lightpipe.config.settings import AssetSettings, SceneSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import EnvironmentSpec
from lightpipe.render import camera_response
from lightpipe.render.camera_response import SRGB_TO_LINEAR
from lightpipe.render.environment import Environment
from lightpipe.render.lighting import video_lighting
from lightpipe.render.renderer import RenderOptions, render_video
from lightpipe.render.scene import part_poses, scene_parts
from lightpipe.render.look import MIN_ROUGHNESS

sys.path.insert(0, str(Path(__file__).resolve().parent))
import real_assets  # noqa: E402  (this folder's module, beside this script)

REPO = Path(__file__).resolve().parents[1]
OUT = REPO / "benchmarks" / "out"
HDR_NAMES = ("clear_day", "overcast", "sunset")
GLB_NAMES = ("crate", "vase", "pot")
# The real-asset scenes as RENDERER_VERSION 4 (commit 94f7b10) renders them, against Cycles at
# 128 spp, 832x480: HDRI -> (PSNR dB, SSIM). Printed as "today" beside each new measurement.
TODAY = {"courtyard": (19.52, 0.683), "city": (26.79, 0.847), "forest": (19.74, 0.765),
         "sunset": (25.55, 0.832)}
CAMERA_HEIGHT = 1.3  # metres: the real-asset scenes' camera at most this high


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--group", choices=("all", "procedural", "real"), default="all",
                        help="which scenes: the procedural ones, the real-asset ones, or both")
    parser.add_argument("--scenes", type=int, default=6)
    parser.add_argument("--width", type=int, default=320)
    parser.add_argument("--height", type=int, default=192)
    parser.add_argument("--real-scenes", type=int, default=len(real_assets.SCENES),
                        choices=range(1, len(real_assets.SCENES) + 1), metavar="1..4")
    parser.add_argument("--real-width", type=int, default=832)
    parser.add_argument("--real-height", type=int, default=480)
    parser.add_argument("--samples", type=int, default=128)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--fresh", action="store_true",
                        help="render Cycles again even where a matching render is kept")
    parser.add_argument("--bpy", default=str(REPO / ".venv-bpy" / "bin" / "python"))
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    if not Path(args.bpy).exists():
        sys.exit(f"no Blender Python at {args.bpy}; run `make bpy-venv` (pip install bpy into "
                 ".venv-bpy) or pass --bpy")
    OUT.mkdir(parents=True, exist_ok=True)
    if args.group in ("all", "procedural"):
        procedural_group(args)
    if args.group in ("all", "real"):
        real_asset_group(args)


def procedural_group(args) -> None:
    root = make_assets(OUT / "assets")
    settings = Settings(num_videos=max(args.scenes, 2),
                        video=VideoSettings(args.width, args.height, 1, 16),
                        assets=AssetSettings(root=str(root), builtin=True),
                        scene=SceneSettings(min_objects=3, max_objects=5))
    settings = replace(settings, dataset_split=replace(settings.dataset_split,
                                                       ensure_disjoint_assets=False))
    options = RenderOptions.from_settings(settings)
    pools = asset_pools(7, settings)
    rows = []
    for index in range(args.scenes):
        spec = scene_spec(plan_video(7, settings, index, pools), index, args.scenes)
        ours, ours_ms = render_ours(spec, options)
        directory = OUT / f"scene_{index:02d}"
        exposure = export(spec, str(root), directory)
        reference, reference_s = cycles(args, directory, args.samples)
        _, quick_s = cycles(args, directory, 1)
        theirs = tone_map(reference, exposure)
        psnr, ssim = metrics(ours, theirs)
        side_by_side(ours, theirs, OUT / f"realism_{index:02d}.png")
        environment = spec.environment.image_id.split("/")[-1] or "sky"
        rows.append((index, environment, psnr, ssim, ours_ms, quick_s * 1000, reference_s * 1000))
        print(f"scene {index}: {environment:14s} PSNR {psnr:5.2f} dB  SSIM {ssim:.3f}  "
              f"ours {ours_ms:6.1f} ms/frame  Cycles 1 spp {quick_s * 1000:7.0f} ms  "
              f"{args.samples} spp {reference_s * 1000:7.0f} ms", flush=True)
    psnr, ssim = np.mean([r[2] for r in rows]), np.mean([r[3] for r in rows])
    print(f"\n{args.width}x{args.height}, {args.threads} threads, Cycles CPU {args.samples} spp "
          f"(denoised) as the reference")
    print("| scene | environment | PSNR dB | SSIM | ours ms/frame | Cycles 1 spp ms | "
          f"Cycles {args.samples} spp ms |")
    print("|---|---|---|---|---|---|---|")
    for index, environment, p, s, ours_ms, quick, ref in rows:
        print(f"| {index} | {environment} | {p:.2f} | {s:.3f} | {ours_ms:.1f} | {quick:.0f} | "
              f"{ref:.0f} |")
    print(f"| mean | | {psnr:.2f} | {ssim:.3f} | {np.mean([r[4] for r in rows]):.1f} | "
          f"{np.mean([r[5] for r in rows]):.0f} | {np.mean([r[6] for r in rows]):.0f} |\n",
          flush=True)


def real_asset_group(args) -> None:
    root = real_assets.make_root(OUT / "real_assets", args.bpy)
    scenes = real_assets.SCENES[:args.real_scenes]
    settings = Settings(num_videos=len(scenes),
                        video=VideoSettings(args.real_width, args.real_height, 1, 16),
                        assets=AssetSettings(root=str(root), builtin=True),
                        scene=SceneSettings(min_objects=3, max_objects=5))
    settings = replace(settings, dataset_split=replace(settings.dataset_split,
                                                       ensure_disjoint_assets=False))
    options = RenderOptions.from_settings(settings)
    pools = asset_pools(7, settings)
    rows = []
    for index, scene in enumerate(scenes):
        spec = real_spec(plan_video(7, settings, index, pools), scene, root)
        ours, ours_ms = render_ours(spec, options)
        directory = OUT / f"real_{index:02d}"
        exposure = export(spec, str(root), directory, originals=originals(spec, root))
        reference, reference_s = cycles(args, directory, args.samples)
        theirs = tone_map(reference, exposure)
        psnr, ssim = metrics(ours, theirs)
        by_region = region_psnr(ours, theirs, segmentation(spec, options))
        side_by_side(ours, theirs, OUT / f"realism_real_{index:02d}.png")
        name = f"{scene[0]}, {scene[1]} ground"
        was = TODAY.get(scene[0])
        rows.append((index, name, psnr, ssim, by_region, ours_ms, reference_s * 1000, was))
        today = f"  (today {was[0]:5.2f} dB, {was[1]:.3f})" if was else ""
        print(f"real {index}: {name:24s} PSNR {psnr:5.2f} dB  SSIM {ssim:.3f}{today}  "
              f"ours {ours_ms:6.1f} ms/frame  Cycles {args.samples} spp "
              f"{reference_s * 1000:7.0f} ms", flush=True)
    psnr, ssim = np.mean([r[2] for r in rows]), np.mean([r[3] for r in rows])
    print(f"\nreal assets: {args.real_width}x{args.real_height}, {args.threads} threads, Cycles "
          f"CPU {args.samples} spp (denoised) as the reference; today: RENDERER_VERSION 4")
    print("| scene | HDRI, ground | PSNR dB | SSIM | today PSNR dB | today SSIM | PSNR dB of "
          "backdrop / ground / objects (share of the error) | ours ms/frame "
          f"| Cycles {args.samples} spp ms |")
    print("|---|---|---|---|---|---|---|---|---|")
    for index, name, p, s, by_region, ours_ms, ref, was in rows:
        was_p, was_s = (f"{was[0]:.2f}", f"{was[1]:.3f}") if was else ("-", "-")
        regions = " / ".join(f"{value:.1f} ({share:.0%})" for value, share in by_region)
        print(f"| {index} | {name} | {p:.2f} | {s:.3f} | {was_p} | {was_s} | {regions} | "
              f"{ours_ms:.1f} | {ref:.0f} |")
    known = [r[7] for r in rows if r[7]]
    was_p, was_s = ("-", "-")
    if len(known) == len(rows):
        was_p = f"{np.mean([w[0] for w in known]):.2f}"
        was_s = f"{np.mean([w[1] for w in known]):.3f}"
    print(f"| mean | | {psnr:.2f} | {ssim:.3f} | {was_p} | {was_s} | | "
          f"{np.mean([r[5] for r in rows]):.1f} | {np.mean([r[6] for r in rows]):.0f} |")


def real_spec(spec, scene, root: Path):
    """A planned spec under the scene's HDRI (turned by whole columns of the map, so the map
    Cycles gets is the file's own texels, shifted), on a texture-set ground, with two objects
    in sets. Parts in a set keep its maps as they are (white tint, roughness scale 1, not
    metal), and the sun is the map's own (intensity 1, white), so Cycles sees the same assets.
    The objects rest on the ground (no simulation: none is in flight in the compared frame)
    and the camera is at most `CAMERA_HEIGHT` up, so the backdrop shows above the horizon."""
    hdri, ground_set, uv_scale, object_sets = scene
    width = load_environment_image(str(root / "environments" / f"{hdri}.exr")).shape[1]
    shift = round(spec.environment.rotation_deg / 360.0 * width) % width
    objects = list(spec.objects)
    for slot, name in zip((0, 2), object_sets):
        if slot < len(objects):
            objects[slot] = replace(objects[slot], material_id=f"user:textures/{name}")
    objects = [replace(obj, tint=(1.0, 1.0, 1.0), roughness_scale=1.0, metal=0.0)
               if obj.material_id.startswith("user:textures/") else obj for obj in objects]
    ground = replace(spec.ground, material_id=f"user:textures/{ground_set}", uv_scale=uv_scale,
                     tint=(1.0, 1.0, 1.0), roughness_scale=1.0)
    if getattr(ground, "capture_height", None) is not None:  # a ground projected from the map:
        ground = replace(ground, capture_height=None)  # Cycles gets the textured plane
    return replace(
        spec, objects=tuple(objects), physics=None,
        camera=replace(spec.camera, height=min(spec.camera.height, CAMERA_HEIGHT)),
        environment=EnvironmentSpec(image_id=f"user:environments/{hdri}.exr",
                                    rotation_deg=shift * 360.0 / width,
                                    turbidity=spec.environment.turbidity, intensity=1.0),
        background=replace(spec.background, image_id=""),
        light=replace(spec.light, intensity=1.0, color=(1.0, 1.0, 1.0)), ground=ground)


def segmentation(spec, options) -> np.ndarray:
    """(H, W) ids of frame 0: 0 backdrop, 1 ground, 2 + k object k."""
    return render_video(spec, options=replace(options, segmentation=True)).segmentation[0]


def region_psnr(ours: np.ndarray, theirs: np.ndarray, ids: np.ndarray
                ) -> list[tuple[float, float]]:
    """(PSNR dB, share of the frame's squared error) of the backdrop, the ground, the objects
    (NaN, 0 for a region not in the frame)."""
    error = ((ours.astype(np.float64) - theirs.astype(np.float64)) ** 2).mean(-1)
    total = max(float(error.sum()), 1e-12)
    result = []
    for mask in (ids == 0, ids == 1, ids >= 2):
        if not mask.any():
            result.append((float("nan"), 0.0))
            continue
        mse = max(float(error[mask].mean()), 1e-12)
        result.append((10.0 * math.log10(255.0 ** 2 / mse), float(error[mask].sum()) / total))
    return result


def originals(spec, root: Path) -> dict:
    """What Cycles reads instead of Lightpipe's copies: the HDRI file and each set's PNGs."""
    sets = {f"user:textures/{name}": real_assets.set_files(root, name)
            for name in real_assets.SET_SIZES}
    return {"environment": root / "environments" / spec.environment.image_id.split("/")[-1],
            "sets": sets}


def scene_spec(spec, index: int, count: int):
    """The first half of the scenes under the sky, the rest under an HDR map, with PBR GLBs."""
    if index < (count + 1) // 2:
        return replace(spec, environment=replace(spec.environment, image_id=""),
                       background=replace(spec.background, image_id=""))
    k = index - (count + 1) // 2
    objects = list(spec.objects)
    for slot, name in zip(range(0, len(objects), 2), GLB_NAMES[k % 3:] + GLB_NAMES[:k % 3]):
        objects[slot] = replace(objects[slot], asset_id=f"user:objects/{name}.glb")
    environment = EnvironmentSpec(image_id=f"user:environments/{HDR_NAMES[k % 3]}.exr",
                                  rotation_deg=spec.environment.rotation_deg,
                                  turbidity=spec.environment.turbidity, intensity=1.0)
    return replace(spec, objects=tuple(objects), environment=environment,
                   background=replace(spec.background, image_id=""))


def render_ours(spec, options, runs: int = 3) -> tuple[np.ndarray, float]:
    """Frame 0, and ms/frame over 8 frames (after a warm-up): the fastest of `runs` runs, as
    other work on the machine only ever slows one down."""
    frame = render_video(spec, options=options).color[0]
    timed = replace(spec, num_frames=8)
    best = math.inf
    for _ in range(runs):
        started = time.perf_counter()
        render_video(timed, options=options)
        best = min(best, time.perf_counter() - started)
    return frame, best / 8 * 1000


# --- export --------------------------------------------------------------------------------------


def export(spec, asset_root: str, directory: Path, originals: dict | None = None) -> float:
    """Write the scene for `cycles_scene.py`; returns Lightpipe's exposure of it.

    With `originals` (`originals()`), Cycles gets the HDRI file itself (its columns shifted by
    the spec's rotation, which turns by whole texels; its sun stays in the map: no sun light)
    and the PNGs of every part in one of the texture sets, instead of Lightpipe's copies."""
    directory.mkdir(parents=True, exist_ok=True)
    lighting = video_lighting(spec, asset_root)
    parts = scene_parts(spec, asset_root)
    poses = part_poses(spec, parts, asset_root=asset_root)[0]
    from lightpipe.render import kinematics

    extrinsics = kinematics.camera_extrinsics(spec)[0]
    description = {
        "width": spec.width, "height": spec.height, "fov_y_deg": spec.camera.fov_y_deg,
        "cam_to_world": np.linalg.inv(extrinsics).tolist(),
        "sun": {"direction": list(lighting.sun_direction),
                "irradiance": list(lighting.sun_irradiance),
                "radius_deg": lighting.sun_radius_deg},
        "environment": {"file": "environment.exr", "strength": lighting.ambient_scale},
        "parts": [],
    }
    if originals is None:
        write_exr(directory / "environment.exr",
                  equirect_of(lighting.environment, lighting.env_to_world, 512))
    else:
        image = load_environment_image(str(originals["environment"]))
        columns = spec.environment.rotation_deg / 360.0 * image.shape[1]
        if abs(columns - round(columns)) > 1e-6:
            raise ValueError(f"environment.rotation_deg {spec.environment.rotation_deg} is not "
                             "a whole number of the map's columns")
        # World longitude = the map's + rotation: world column j shows the map's j - columns.
        write_exr(directory / "environment.exr", np.roll(image, round(columns), axis=1))
        description["sun"]["irradiance"] = [0.0, 0.0, 0.0]  # the map's sun lights Cycles
    for k, (part, pose) in enumerate(zip(parts, poses)):
        mesh = part.mesh
        vertices = np.asarray(mesh.vertices, np.float64)
        world = vertices @ pose[:3, :3].T + pose[:3, 3]
        rotation = pose[:3, :3]
        normals = np.asarray(mesh.normals, np.float64) @ np.linalg.inv(rotation)  # (R^-T n)
        normals /= np.linalg.norm(normals, axis=1, keepdims=True)
        faces = np.asarray(mesh.faces, np.int64)
        np.savez(directory / f"part{k}.npz", positions=world, faces=faces,
                 corner_normals=normals[faces], corner_uvs=np.asarray(mesh.uvs)[faces])
        maps = part.maps
        albedo = SRGB_TO_LINEAR[maps.albedo.astype(np.intp)] * np.array(part.tint)
        roughness = np.clip(maps.roughness * part.roughness_scale, MIN_ROUGHNESS, 1.0)
        metallic = part.metal + (1.0 - part.metal) * np.clip(maps.metallic, 0.0, 1.0)
        names = {}
        for name, image in (("albedo", albedo), ("roughness", gray(roughness)),
                            ("metallic", gray(metallic)), ("normal", (maps.normal + 1.0) * 0.5)):
            names[name] = f"part{k}_{name}.exr"
            write_exr(directory / names[name], image)
        own = (originals or {}).get("sets", {}).get(part.material_key)
        if own:
            if tuple(part.tint) != (1.0, 1.0, 1.0) or part.roughness_scale != 1.0 or part.metal:
                raise ValueError(f"part {k} ({part.material_key}) is tinted, scaled or metal: "
                                 "Cycles would read its maps as they are")
            names.update({name: str(path.resolve()) for name, path in own.items()},
                         srgb=["albedo"])
        description["parts"].append({"mesh": f"part{k}.npz", **names})
    (directory / "scene.json").write_text(json.dumps(description))
    return lighting.exposure


def gray(values: np.ndarray) -> np.ndarray:
    return np.repeat(values[..., None], 3, axis=2)


def write_exr(path: Path, image: np.ndarray) -> None:
    height, width = image.shape[:2]
    with av.open(str(path), "w", format="image2") as container:
        stream = container.add_stream("exr", rate=1)
        stream.width, stream.height, stream.pix_fmt = width, height, "gbrpf32le"
        frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(image, np.float32),
                                           format="gbrpf32le")
        frame.pts = 0
        for packet in [*stream.encode(frame), *stream.encode(None)]:
            container.mux(packet)


def read_exr(path: Path) -> np.ndarray:
    with av.open(str(path)) as container:
        frame = next(container.decode(video=0))
        return frame.to_ndarray(format="gbrpf32le")[..., :3].astype(np.float32)


def cycles(args, directory: Path, samples: int) -> tuple[np.ndarray, float]:
    """Cycles' radiance of the exported scene and its render seconds; a kept render is reused
    while the hash of what it read matches (`--fresh`: never)."""
    out, kept = directory / f"cycles_{samples}.exr", directory / f"cycles_{samples}.json"
    key = render_key(directory, samples, args.threads)
    if not args.fresh and out.exists() and kept.exists():
        record = json.loads(kept.read_text())
        if record.get("key") == key:
            return read_exr(out), record["seconds"]
    proc = subprocess.run([args.bpy, str(REPO / "benchmarks" / "cycles_scene.py"),
                           str(directory), str(out), str(samples), str(args.threads)],
                          capture_output=True, text=True)
    if proc.returncode != 0:
        sys.exit(f"Cycles failed for {directory}:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}")
    seconds = json.loads(proc.stdout.strip().splitlines()[-1])["seconds"]
    kept.write_text(json.dumps({"key": key, "seconds": seconds}))
    return read_exr(out), seconds


def render_key(directory: Path, samples: int, threads: int) -> str:
    """sha256 of everything a Cycles render reads: the scene, every file it names (a mesh's
    arrays, not its .npz bytes, which hold a time stamp), the script, samples and threads."""
    text = (directory / "scene.json").read_text()
    description = json.loads(text)
    digest = hashlib.sha256(text.encode())
    digest.update((REPO / "benchmarks" / "cycles_scene.py").read_bytes())
    digest.update(f"{samples} {threads}".encode())
    files = [description["environment"]["file"]]
    for part in description["parts"]:
        files += [part[name] for name in ("mesh", "albedo", "roughness", "metallic", "normal")]
    for name in files:
        path = directory / name
        if path.suffix == ".npz":
            with np.load(path) as arrays:
                for array_name in sorted(arrays.files):
                    digest.update(array_name.encode())
                    digest.update(np.ascontiguousarray(arrays[array_name]).tobytes())
        else:
            digest.update(path.read_bytes())
    return digest.hexdigest()


# --- comparison ----------------------------------------------------------------------------------


def tone_map(radiance: np.ndarray, exposure: float) -> np.ndarray:
    table = camera_response.response_table(exposure, "cpu")
    return camera_response.encode(torch.from_numpy(np.ascontiguousarray(radiance)), table).numpy()


def metrics(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """PSNR (dB) and SSIM (Gaussian 11x11, sigma 1.5, on luma) of two uint8 RGB images."""
    x, y = a.astype(np.float64), b.astype(np.float64)
    mse = float(((x - y) ** 2).mean())
    psnr = 10.0 * math.log10(255.0 ** 2 / max(mse, 1e-12))
    weights = np.array([0.299, 0.587, 0.114])
    la, lb = x @ weights, y @ weights
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2

    def blur(image):
        return gaussian_filter(image, 1.5, truncate=3.5)

    ma, mb = blur(la), blur(lb)
    va, vb, cov = blur(la * la) - ma * ma, blur(lb * lb) - mb * mb, blur(la * lb) - ma * mb
    ssim = ((2 * ma * mb + c1) * (2 * cov + c2)) / ((ma * ma + mb * mb + c1) * (va + vb + c2))
    return psnr, float(ssim.mean())


def side_by_side(ours: np.ndarray, theirs: np.ndarray, path: Path) -> None:
    difference = np.clip(np.abs(ours.astype(int) - theirs.astype(int)) * 4, 0, 255)
    gap = np.full((ours.shape[0], 4, 3), 255, np.uint8)
    Image.fromarray(np.concatenate([ours, gap, theirs, gap, difference.astype(np.uint8)],
                                   axis=1)).save(path)


# --- generated assets ----------------------------------------------------------------------------


def make_assets(root: Path) -> Path:
    """HDR environments (EXR) and PBR GLBs, generated here (nothing is downloaded)."""
    (root / "environments").mkdir(parents=True, exist_ok=True)
    for name in HDR_NAMES:
        path = root / "environments" / f"{name}.exr"
        if not path.exists():
            write_exr(path, environment_image(name))
    for name in GLB_NAMES:
        path = root / "objects" / f"{name}.glb"
        if not path.exists():
            write_glb(path, name)
    return root


def environment_image(name: str, height: int = 512) -> np.ndarray:
    rows = (np.arange(height) + 0.5) / height
    cols = (np.arange(2 * height) + 0.5) / (2 * height)
    v, u = np.meshgrid(rows, cols, indexing="ij")
    latitude, longitude = (0.5 - v) * math.pi, (u - 0.5) * 2 * math.pi
    d = np.stack([np.cos(latitude) * np.sin(longitude), np.sin(latitude),
                  np.cos(latitude) * np.cos(longitude)], -1)
    up = np.clip(d[..., 1], 0.0, 1.0)[..., None]
    ground = np.array([0.25, 0.22, 0.18])
    rng = np.random.default_rng(5)
    noise = gaussian_filter(rng.random((height, 2 * height)), 6, mode="wrap")
    noise = (noise - noise.mean()) / noise.std()
    if name == "overcast":  # CIE overcast: (1 + 2 sin(elevation)) / 3
        sky = np.array([0.9, 0.92, 1.0]) * (1.0 + 2.0 * up) / 3.0 * (1.0 + 0.08 * noise[..., None])
        sun_dir, sun_radiance, sun_radius = None, 0.0, 0.0
    elif name == "sunset":
        horizon, zenith = np.array([1.6, 0.8, 0.4]), np.array([0.25, 0.25, 0.55])
        sky = zenith + (horizon - zenith) * (1.0 - up) ** 4
        sun_dir, sun_radiance, sun_radius = (0.0, math.sin(math.radians(8)),
                                              math.cos(math.radians(8))), 3000.0, 0.6
    else:
        horizon, zenith = np.array([1.1, 1.2, 1.35]), np.array([0.25, 0.45, 0.95])
        clouds = np.clip(noise - 0.8, 0.0, None)[..., None] * up * 1.5
        sky = zenith + (horizon - zenith) * (1.0 - up) ** 3 + clouds
        sun_dir, sun_radiance, sun_radius = (0.5, math.sin(math.radians(50)), 0.5), 20000.0, 0.3
    image = np.where(d[..., 1:2] > 0, sky, ground * (0.9 + 0.1 * noise[..., None]))
    if sun_dir is not None:
        sun = np.array(sun_dir) / np.linalg.norm(sun_dir)
        angle = np.degrees(np.arccos(np.clip((d * sun).sum(-1), -1, 1)))
        image = image + (angle < sun_radius)[..., None] * sun_radiance * np.array([1.0, 0.95, 0.85])
    return image.astype(np.float32)


def write_glb(path: Path, name: str) -> None:
    import trimesh
    from trimesh.visual.material import PBRMaterial

    from lightpipe.assets.materials import material_maps

    path.parent.mkdir(parents=True, exist_ok=True)
    if name == "crate":
        mesh = trimesh.creation.box(extents=(1.0, 1.0, 1.0))
        maps, metal, rough = material_maps("builtin:wood/01"), 0.0, 1.0
        uv = _box_uv(mesh)
    elif name == "vase":
        profile = [(0.0, -1.0), (0.45, -1.0), (0.6, -0.5), (0.5, 0.3), (0.25, 0.8), (0.3, 1.0)]
        mesh = trimesh.creation.revolve(profile, sections=48)
        maps, metal, rough = material_maps("builtin:painted_metal/02"), 1.0, 0.6
        uv = _cylinder_uv(mesh)
    else:
        mesh = trimesh.creation.icosphere(subdivisions=3, radius=1.0)
        mesh.vertices[:, 1] *= 0.8
        maps, metal, rough = material_maps("builtin:tiles/00"), 0.0, 1.0
        uv = _cylinder_uv(mesh)
    normal = np.clip(np.floor((maps.normal + 1.0) * 127.5 + 0.5), 0, 255).astype(np.uint8)
    mr = np.zeros((*maps.roughness.shape, 3), np.uint8)
    mr[..., 1] = np.clip(maps.roughness * 255 + 0.5, 0, 255).astype(np.uint8)
    mr[..., 2] = 255 if metal else np.clip(maps.metallic * 255 + 0.5, 0, 255).astype(np.uint8)
    material = PBRMaterial(baseColorTexture=Image.fromarray(np.asarray(maps.albedo)),
                           metallicRoughnessTexture=Image.fromarray(mr),
                           normalTexture=Image.fromarray(normal),
                           metallicFactor=1.0, roughnessFactor=rough)
    mesh.visual = trimesh.visual.TextureVisuals(uv=uv, material=material)
    mesh.export(path)


def _box_uv(mesh) -> np.ndarray:
    v = mesh.vertices
    return np.stack([v[:, 0] + v[:, 2] + 0.5, v[:, 1] + 0.5], axis=1)


def _cylinder_uv(mesh) -> np.ndarray:
    v = mesh.vertices
    angle = np.arctan2(v[:, 2], v[:, 0]) / (2 * math.pi) + 0.5
    return np.stack([angle * 2.0, (v[:, 1] - v[:, 1].min()) / np.ptp(v[:, 1])], axis=1)


def sample_level(level: np.ndarray, directions: np.ndarray) -> np.ndarray:
    """(N, 3) radiance of a cube level (6, S, S, 3) along unit directions (N, 3), bilinear
    within a face as on the renderer's side (numpy)."""
    x, y, z = directions[:, 0], directions[:, 1], directions[:, 2]
    ax, ay, az = np.abs(x), np.abs(y), np.abs(z)
    major_x = (ax >= ay) & (ax >= az)
    major_y = ~major_x & (ay >= az)
    ma = np.maximum(np.where(major_x, ax, np.where(major_y, ay, az)), 1e-30)
    face = np.where(major_x, np.where(x >= 0, 0, 1),
                    np.where(major_y, np.where(y >= 0, 2, 3), np.where(z >= 0, 4, 5)))
    sc = np.where(major_x, np.where(x >= 0, -z, z), np.where(major_y, x, np.where(z >= 0, x, -x)))
    tc = np.where(major_x, -y, np.where(major_y, np.where(y >= 0, z, -z), -y))
    size = level.shape[1]
    u = np.clip((sc / ma + 1.0) * 0.5 * size - 0.5, 0.0, size - 1.0)
    v = np.clip((tc / ma + 1.0) * 0.5 * size - 0.5, 0.0, size - 1.0)
    u0, v0 = np.floor(u).astype(np.int64), np.floor(v).astype(np.int64)
    fu, fv = (u - u0)[:, None], (v - v0)[:, None]
    u1, v1 = np.minimum(u0 + 1, size - 1), np.minimum(v0 + 1, size - 1)
    top = level[face, v0, u0] * (1.0 - fu) + level[face, v0, u1] * fu
    bottom = level[face, v1, u0] * (1.0 - fu) + level[face, v1, u1] * fu
    return top * (1.0 - fv) + bottom * fv


def equirect_of(environment: Environment, env_to_world: np.ndarray, height: int = 256
                ) -> np.ndarray:
    """(height, 2 height, 3) float32 equirectangular map of the environment's first level as
    seen in the world (turned by `env_to_world`): row 0 straight up, the centre column +Z."""
    rows = (np.arange(height) + 0.5) / height
    cols = (np.arange(2 * height) + 0.5) / (2 * height)
    v, u = np.meshgrid(rows, cols, indexing="ij")
    longitude, latitude = (u - 0.5) * 2.0 * math.pi, (0.5 - v) * math.pi
    world = np.stack([np.cos(latitude) * np.sin(longitude), np.sin(latitude),
                      np.cos(latitude) * np.cos(longitude)], -1).reshape(-1, 3)
    env = world @ env_to_world  # R^T d for each row d: the direction in the map's own axes
    return sample_level(environment.levels[0], env).reshape(height, 2 * height, 3).astype(
        np.float32)


if __name__ == "__main__":
    main()
