"""Heavy meshes: peak memory and time of `lightpipe predict` rendering one video with one mesh.

    python benchmarks/heavy_meshes.py [--triangles 100000 1000000 5000000] [--frames 9]
                                      [--max-triangles N] [--repo DIR] [--warm]

For each size, a textured bumpy torus of about that many triangles (GLB, UVs, a checker
texture; written without building the mesh twice in memory) is the only object of a one-video
dataset at 832x480 (`--frames` frames, other settings default, built-in materials and ground).
`lightpipe predict` runs in a fresh subprocess with an empty mesh cache
(`LIGHTPIPE_CACHE_DIR`), so the time includes loading and simplifying the mesh; the peak RSS is
the largest of the processes it ran (`getrusage` of the children); `--warm` adds a second run
that finds the cache filled (the start of every later task). `--max-triangles` sets
`settings.assets.max_triangles` (left out: the default budget; `--repo` points at another
checkout, for instance of the code before the budget existed, which has no such setting).

`measure(triangles, ...)` is importable (`benchmarks/asset_scale.py` reports the same figures).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
SIZES = (100_000, 1_000_000, 5_000_000)

_CHILD = """
import json, resource, subprocess, sys, time
t0 = time.perf_counter()
proc = subprocess.run(sys.argv[2:], capture_output=True, text=True, cwd=sys.argv[1])
wall = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024
print(json.dumps({"rc": proc.returncode, "wall_s": wall, "peak_rss_bytes": peak,
                  "tail": (proc.stdout + proc.stderr)[-2000:]}))
"""


def write_torus_glb(path: Path, triangles: int) -> int:
    """A textured torus of about `triangles` triangles with bumps, as a GLB; its count."""
    import trimesh
    from PIL import Image
    from trimesh.visual import TextureVisuals
    from trimesh.visual.material import SimpleMaterial

    side = max(4, int(round(math.sqrt(triangles / 2))))
    rows = cols = side
    u = np.linspace(0.0, 1.0, cols + 1, dtype=np.float64)  # seam vertices duplicated, as UVs
    v = np.linspace(0.0, 1.0, rows + 1, dtype=np.float64)  # need them
    uu, vv = np.meshgrid(u, v)
    a, b = uu * 2 * math.pi, vv * 2 * math.pi
    tube = 0.35 * (1.0 + 0.08 * np.sin(7 * a) * np.sin(5 * b))
    x = (1.0 + tube * np.cos(b)) * np.cos(a)
    z = (1.0 + tube * np.cos(b)) * np.sin(a)
    y = tube * np.sin(b)
    vertices = np.stack([x.ravel(), y.ravel(), z.ravel()], axis=1).astype(np.float32)
    del x, y, z, tube, a, b
    idx = np.arange((rows + 1) * (cols + 1), dtype=np.uint32).reshape(rows + 1, cols + 1)
    p, q, r, s = idx[:-1, :-1], idx[:-1, 1:], idx[1:, :-1], idx[1:, 1:]
    faces = np.concatenate([np.stack([p, r, q], -1).reshape(-1, 3),
                            np.stack([q, r, s], -1).reshape(-1, 3)])
    uv = np.stack([uu.ravel(), vv.ravel()], axis=1).astype(np.float32)
    checker = ((np.arange(256)[:, None] // 32 + np.arange(256)[None, :] // 32) % 2).astype(bool)
    image = np.where(checker[..., None], [230, 60, 40], [40, 90, 220]).astype(np.uint8)
    mesh = trimesh.Trimesh(vertices, faces, process=False, validate=False,
                           visual=TextureVisuals(uv=uv, material=SimpleMaterial(
                               image=Image.fromarray(image))))
    path.parent.mkdir(parents=True, exist_ok=True)
    mesh.export(path)
    return len(faces)


def measure(triangles: int, frames: int = 9, max_triangles: int | None = None,
            repo: Path = REPO, python: str = sys.executable, warm: bool = False) -> dict:
    """Render one 832x480 video of `frames` frames whose only object is a generated mesh of
    about `triangles` triangles, in a fresh process with an empty mesh cache:
    {triangles, rc, wall_s, peak_rss_bytes, tail}; with `warm`, also `warm`: the same for a
    second fresh process that finds the first one's cache (a fresh output directory)."""
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        count = write_torus_glb(tmp / "assets" / "objects" / "heavy.glb", triangles)
        settings = {"num_videos": 1, "output_dir": str(tmp / "out"),
                    "video": {"width": 832, "height": 480, "num_frames": frames, "fps": 16},
                    "dataset_split": {"train_ratio": 1.0, "ensure_disjoint_assets": False},
                    "scene": {"min_objects": 1, "max_objects": 1},
                    "assets": {"root": str(tmp / "assets"), "builtin": False}}
        if max_triangles is not None:
            settings["assets"]["max_triangles"] = max_triangles
        config = {"project": {"seed": 1, "name": "heavy"}, "settings": settings,
                  "trainer": {"accelerator": "cpu", "devices": 1,
                              "enable_progress_bar": False}}
        (tmp / "config.yaml").write_text(json.dumps(config))  # JSON is YAML
        env = {**os.environ, "PYTHONPATH": str(repo), "LIGHTPIPE_CACHE_DIR": str(tmp / "cache")}
        runs = []
        for run in range(2 if warm else 1):
            cmd = [python, "-c", _CHILD, str(repo), python, "-m", "lightpipe.commands.dispatch",
                   "predict", "--config", str(tmp / "config.yaml"),
                   "--settings.output_dir", str(tmp / f"out{run}")]
            out = subprocess.run(cmd, capture_output=True, text=True, env=env, check=True)
            runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
        return {"triangles": count, **runs[0], **({"warm": runs[1]} if warm else {})}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--triangles", type=int, nargs="+", default=list(SIZES))
    parser.add_argument("--frames", type=int, default=9)
    parser.add_argument("--max-triangles", type=int, default=None)
    parser.add_argument("--repo", type=Path, default=REPO)
    parser.add_argument("--warm", action="store_true",
                        help="also time a second process that finds the mesh cache filled")
    args = parser.parse_args()
    budget = "default" if args.max_triangles is None else args.max_triangles
    print(f"one video 832x480 x {args.frames} frames, one mesh; max_triangles {budget}; "
          f"code {args.repo}")
    first = None
    for triangles in args.triangles:
        t0 = time.perf_counter()
        r = measure(triangles, args.frames, args.max_triangles, args.repo, warm=args.warm)
        first = first or r["wall_s"]
        for name, run in [("cold", r)] + ([("warm", r["warm"])] if args.warm else []):
            status = "ok" if run["rc"] == 0 else f"FAILED rc {run['rc']}: {run['tail'][-400:]}"
            print(f"{r['triangles']:>10,} triangles, {name}: peak RSS "
                  f"{run['peak_rss_bytes'] / 2**30:5.2f} GiB, predict {run['wall_s']:6.1f} s "
                  f"({run['wall_s'] / first:4.2f}x the first size's cold run) {status}",
                  flush=True)
        print(f"{'':>10}  ({time.perf_counter() - t0:.0f} s with the mesh's writing)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
