"""Asset libraries at scale: start-up of `lightpipe predict` and `lightpipe assets check` with
100 to 10,000 user objects, cold and warm; mesh memory over 200 videos; heavy meshes.

    python benchmarks/asset_scale.py [--sizes 100,1000,10000] [--quick] [--dir DIR] [--keep]
        [--mesh-memory] [--videos 200] [--mesh-cache-mb 256] [--skip-start] [--heavy]

For each size N, a library is generated under a temp dir (the time it takes is printed):
- N distinct small textured objects (an 80-triangle sphere, stretched and dented by its own
  seed; UVs; an .mtl naming an 8x8 PNG), one folder per category (`objects/<category>/`), in two
  layouts: three in four as loose OBJ + MTL + PNG (`<category>/<name>.obj`, ShapeNet-like), one
  in four as a Google Scanned Objects folder (`<category>/<name>/meshes/model.obj` + `model.mtl`,
  `<name>/materials/textures/texture.png`, the MTL pointing there by a relative path);
- 20 Poly Haven-style texture sets (`textures/<set>/<set>_diff_1k.jpg`, `_rough_1k.jpg`,
  `_nor_gl_1k.jpg`; 64x64 pixels, the names are what matter).

Then, each through the real command line, as a subprocess, wall time (warm page cache: the files
were just written; the asset cache is what is cold or warm):
- `lightpipe predict` of 1 video x 1 frame at 64x64 from the library (`builtin: false`), from
  launch to its first video file under its final name (polled every 10 ms; the first frame is
  rendered and encoded by then), and to exit. Cold: `LIGHTPIPE_CACHE_DIR` is a new empty folder;
  warm: a second run with the same cache folder and a new output folder. Goal (issue 22): a warm
  start with 10,000 assets under 10 s.
- `lightpipe assets check --root DIR`, cold (a new cache folder) and warm; "not available" where
  this checkout's `lightpipe` has no `assets` command.

`--mesh-memory` (slow: minutes) renders `--videos` (200) tiny videos (64x64, 2 frames) from the
largest library in one `lightpipe predict` process with `settings.assets.mesh_cache_mb`
(`--mesh-cache-mb`, when the setting exists) and prints its peak RSS and the largest RSS
sampled over the first and over the last tenth of the videos: the goal is mesh memory under the
bound, so RSS that stops growing. `--heavy` runs `benchmarks/heavy_meshes.py`'s `main` with
its defaults (100k-5M-triangle meshes at 832x480: peak RSS and time) where that file exists.
`--quick`: sizes 100 and 1,000 (unless
`--sizes` is given) and 20 videos for `--mesh-memory`; `--skip-start` generates the libraries
without timing the starts (with `--mesh-memory`: the memory run alone).
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import trimesh
import yaml
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
LIGHTPIPE = str(Path(sys.executable).with_name("lightpipe"))
CATEGORIES = ("mug", "bowl", "shoe", "toy", "box", "bottle", "lamp", "chair", "plant", "can")
TEXTURE_SETS = 20
GSO_EVERY = 4  # one object in GSO_EVERY is a scanned-object folder
POLL_S = 0.01


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", help="comma-separated library sizes (default 100,1000,10000)")
    parser.add_argument("--quick", action="store_true", help="sizes 100,1000; 20 videos")
    parser.add_argument("--dir", help="where to generate the libraries (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the libraries")
    parser.add_argument("--mesh-memory", action="store_true",
                        help="render --videos videos from the largest library in one process")
    parser.add_argument("--videos", type=int, help="videos for --mesh-memory (default 200)")
    parser.add_argument("--mesh-cache-mb", type=int, default=256,
                        help="settings.assets.mesh_cache_mb for --mesh-memory")
    parser.add_argument("--skip-start", action="store_true",
                        help="generate only: no predict or assets check timings")
    parser.add_argument("--heavy", action="store_true",
                        help="also run benchmarks/heavy_meshes.py (heavy meshes at 832x480)")
    args = parser.parse_args()
    default_sizes = "100,1000" if args.quick else "100,1000,10000"
    sizes = [int(size) for size in (args.sizes or default_sizes).split(",")]
    videos = args.videos or (20 if args.quick else 200)
    base = Path(args.dir or tempfile.mkdtemp(prefix="lightpipe-assets-"))
    base.mkdir(parents=True, exist_ok=True)
    print(f"libraries under {base}; {os.cpu_count()} CPUs; load {os.getloadavg()[0]:.2f}")
    try:
        rows = []
        for size in sizes:
            library = base / f"library_{size}"
            t0 = time.perf_counter()
            files = generate_library(library, size)
            generated = time.perf_counter() - t0
            print(f"\n{size} objects + {TEXTURE_SETS} texture sets: {files} files, "
                  f"{_megabytes(library):.1f} MB, generated in {generated:.2f} s")
            row = {"size": size, "generate": generated}
            if not args.skip_start:
                row.update(time_predict(library, base / f"run_{size}"))
                row.update(time_check(library, base / f"run_{size}"))
            rows.append(row)
        print_table(rows)
        if args.mesh_memory:
            mesh_memory(base / f"library_{max(sizes)}", base / "memory", videos,
                        args.mesh_cache_mb)
        if args.heavy:
            run_heavy()
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    return 0


def generate_library(root: Path, size: int) -> int:
    """`size` objects and the texture sets under `root`; the number of files written."""
    sphere = trimesh.creation.icosphere(subdivisions=1)
    unit = np.asarray(sphere.vertices)
    uv = np.stack([0.5 + np.arctan2(unit[:, 0], unit[:, 2]) / (2 * np.pi),
                   0.5 + np.arcsin(np.clip(unit[:, 1], -1, 1)) / np.pi], axis=1)
    uv_lines = "".join(f"vt {u:.4f} {v:.4f}\n" for u, v in uv)
    face_lines = "".join("f " + " ".join(f"{i + 1}/{i + 1}" for i in face) + "\n"
                         for face in np.asarray(sphere.faces))
    files = 0
    for index in range(size):
        category = CATEGORIES[index % len(CATEGORIES)]
        name = f"{category}_{index:05d}"
        rng = np.random.default_rng(index)
        vertices = unit * rng.uniform(0.5, 1.5, 3) * rng.uniform(0.85, 1.0, (len(unit), 1))
        if index % GSO_EVERY == GSO_EVERY - 1:  # Google Scanned Objects' layout
            folder = root / "objects" / category / name
            mesh_dir, texture = folder / "meshes", folder / "materials" / "textures" / "texture.png"
            mesh_name, texture_ref = "model", "../materials/textures/texture.png"
        else:
            mesh_dir = root / "objects" / category
            mesh_name = name
            texture, texture_ref = mesh_dir / f"{name}.png", f"{name}.png"
        mesh_dir.mkdir(parents=True, exist_ok=True)
        texture.parent.mkdir(parents=True, exist_ok=True)
        vertex_lines = "".join(f"v {x:.5f} {y:.5f} {z:.5f}\n" for x, y, z in vertices)
        (mesh_dir / f"{mesh_name}.obj").write_text(
            f"mtllib {mesh_name}.mtl\n{vertex_lines}{uv_lines}usemtl skin\n{face_lines}")
        (mesh_dir / f"{mesh_name}.mtl").write_text(
            f"newmtl skin\nKd 1 1 1\nmap_Kd {texture_ref}\n")
        texture.write_bytes(_image_bytes(rng, (8, 8), "PNG"))
        files += 3
    for index in range(TEXTURE_SETS):
        name = f"set_{index:02d}"
        folder = root / "textures" / name
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng(100_000 + index)
        for suffix in ("diff", "rough", "nor_gl"):
            (folder / f"{name}_{suffix}_1k.jpg").write_bytes(_image_bytes(rng, (64, 64), "JPEG"))
            files += 1
    return files


def time_predict(library: Path, work: Path) -> dict:
    """`lightpipe predict` of 1 video x 1 frame: launch to the first video file, to exit;
    cold (empty cache folder), then warm (the same cache folder, a new output folder)."""
    config = work / "predict.yaml"
    work.mkdir(parents=True, exist_ok=True)
    config.write_text(yaml.safe_dump({
        "project": {"seed": 0, "name": "asset_scale"},
        "settings": {"num_videos": 1, "output_dir": str(work / "out_cold"),
                     "video": {"width": 64, "height": 64, "num_frames": 1, "fps": 16},
                     "assets": {"root": str(library), "builtin": False}},
        "trainer": {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False}}))
    cache = work / "cache"
    row = {}
    for state in ("cold", "warm"):
        out = work / f"out_{state}"
        first, total, rss, err = _run_until_first_video(
            [LIGHTPIPE, "predict", "--config", str(config), "--settings.output_dir", str(out)],
            out, {"LIGHTPIPE_CACHE_DIR": str(cache)})
        if err:
            print(f"  predict {state}: FAILED: {err}")
        else:
            print(f"  predict {state}: first video file {first:.2f} s, exit {total:.2f} s, "
                  f"peak RSS {rss / 2**20:.0f} MiB")
        row[f"predict_{state}"] = None if err else first
    return row


def time_check(library: Path, work: Path) -> dict:
    """`lightpipe assets check --root DIR`, cold (a new cache folder) and warm."""
    cache = work / "check_cache"
    row = {}
    for state in ("cold", "warm"):
        t0 = time.perf_counter()
        done = subprocess.run([LIGHTPIPE, "assets", "check", "--root", str(library)],
                              capture_output=True, text=True, cwd=work,
                              env=_env({"LIGHTPIPE_CACHE_DIR": str(cache)}))
        seconds = time.perf_counter() - t0
        if done.returncode != 0 and "unknown command" in done.stderr:
            print("  assets check: not available (this lightpipe has no `assets` command)")
            return {"check_cold": "n/a", "check_warm": "n/a"}
        if done.returncode != 0:
            print(f"  assets check {state}: exit {done.returncode} in {seconds:.2f} s: "
                  f"{done.stderr.strip()[-400:]}")
            row[f"check_{state}"] = None
            continue
        print(f"  assets check {state}: {seconds:.2f} s")
        row[f"check_{state}"] = seconds
    return row


# `lightpipe predict` in a process that also samples its asset memory (the byte-bounded LRU of
# loaded meshes, maps and images, `lightpipe.assets.memory`) every 20 ms and prints the peak.
MEMORY_DRIVER = """
import sys, threading, time
from lightpipe.assets.memory import ASSET_MEMORY
peak = [0]
def watch():
    while True:
        peak[0] = max(peak[0], ASSET_MEMORY.current_bytes)
        time.sleep(0.02)
threading.Thread(target=watch, daemon=True).start()
from lightpipe.commands.dispatch import main
code = main(sys.argv[1:])
peak[0] = max(peak[0], ASSET_MEMORY.current_bytes)
print(f"ASSET_MEMORY {peak[0]} {ASSET_MEMORY.max_bytes} {ASSET_MEMORY.loads}", file=sys.stderr)
sys.exit(code)
"""


def mesh_memory(library: Path, work: Path, videos: int, cache_mb: int) -> None:
    """`videos` tiny videos from `library` in one predict process: RSS as it goes, and the
    peak of its asset memory against its bound."""
    work.mkdir(parents=True, exist_ok=True)
    out = work / "out"
    command = [sys.executable, "-c", MEMORY_DRIVER, "predict", "--config", str(REPO / "configs" / "tiny.yaml"),
               "--settings.num_videos", str(videos), "--settings.output_dir", str(out),
               "--settings.video.width", "64", "--settings.video.height", "64",
               "--settings.video.num_frames", "2", "--settings.assets.root", str(library),
               "--settings.assets.builtin", "false", "--trainer.enable_progress_bar", "false"]
    bound = ["--settings.assets.mesh_cache_mb", str(cache_mb)]
    env = _env({"LIGHTPIPE_CACHE_DIR": str(work / "cache")})
    probe = subprocess.run([*command, *bound, "--print_config"], capture_output=True, text=True,
                           env=env, cwd=work)
    if probe.returncode == 0:
        command += bound
        print(f"\nmesh memory: {videos} videos, 64x64 x 2 frames, one process, "
              f"settings.assets.mesh_cache_mb {cache_mb}")
    else:
        print(f"\nmesh memory: {videos} videos, 64x64 x 2 frames, one process "
              "(settings.assets.mesh_cache_mb does not exist in this checkout: no bound)")
    samples = []  # (seconds, videos done, RSS bytes), every 0.2 s
    pids = []

    def poll(seconds: float) -> None:
        if not samples or seconds - samples[-1][0] >= 0.2:
            done = sum(1 for _ in out.glob("*/*.json")) if out.is_dir() else 0
            samples.append((seconds, done, _rss(pids[0]) if pids else 0))

    seconds, code, peak, stderr = _watch(command, env, work, poll, pids)
    if code != 0:
        print(f"  FAILED (exit {code}): {stderr.strip()[-600:]}")
        return
    early = [rss for _, done, rss in samples if done <= max(1, videos // 10)]
    late = [rss for _, done, rss in samples if done >= videos * 9 // 10]
    print(f"  {seconds:.1f} s ({videos / seconds:.2f} videos/s); peak RSS {peak / 2**20:.0f} MiB; "
          f"RSS over the first tenth of the videos up to {max(early, default=0) / 2**20:.0f} MiB, "
          f"over the last tenth up to {max(late, default=0) / 2**20:.0f} MiB")
    memory = [line.split() for line in stderr.splitlines() if line.startswith("ASSET_MEMORY ")]
    if memory:
        held, bound, loads = (int(value) for value in memory[-1][1:4])
        print(f"  asset memory (loaded meshes, maps, images): peak {held / 2**20:.1f} MiB of its "
              f"{bound / 2**20:.0f} MiB bound ({'within' if held <= bound else 'OVER'}), "
              f"{loads} loads")


def run_heavy() -> None:
    """`benchmarks/heavy_meshes.py`'s own benchmark, where it exists."""
    path = REPO / "benchmarks" / "heavy_meshes.py"
    if not path.is_file():
        print("\nheavy meshes: benchmarks/heavy_meshes.py is not in this checkout: skipped")
        return
    sys.path.insert(0, str(path.parent))
    from heavy_meshes import main as heavy_main  # noqa: E402 (optional file)

    print("\nheavy meshes (benchmarks/heavy_meshes.py):")
    saved = sys.argv
    sys.argv = [str(path)]
    try:
        heavy_main()
    finally:
        sys.argv = saved


def print_table(rows: list[dict]) -> None:
    def cell(value) -> str:
        return value if isinstance(value, str) else "failed" if value is None else f"{value:.2f}"

    print("\n| seconds | " + " | ".join(f"{row['size']:,} objects" for row in rows) + " |")
    print("|---|" + "---|" * len(rows))
    for key, label in (("generate", "generate the library"),
                       ("predict_cold", "predict, launch -> first video, cold cache"),
                       ("predict_warm", "predict, launch -> first video, warm cache"),
                       ("check_cold", "`assets check`, cold cache"),
                       ("check_warm", "`assets check`, warm cache")):
        print(f"| {label} | " + " | ".join(cell(row.get(key, "-")) for row in rows) + " |")


def _run_until_first_video(command: list[str], out: Path, extra_env: dict):
    """(launch -> first `*_color.mp4` under its final name, launch -> exit, peak RSS, error)."""
    first = None

    def poll(seconds: float) -> None:
        nonlocal first
        if first is None and out.is_dir() and next(out.glob("*/*_color.mp4"), None):
            first = seconds

    total, code, peak, stderr = _watch(command, _env(extra_env), out.parent, poll)
    if code != 0:
        return None, total, peak, f"exit {code}: {stderr.strip()[-600:]}"
    if first is None and next(out.glob("*/*_color.mp4"), None):  # within the last poll
        first = total
    return first, total, peak, None if first else "no video written"


def _watch(command: list[str], env: dict, cwd: Path, poll, pids: list | None = None
           ) -> tuple[float, int, int, str]:
    """Run `command`, calling `poll(seconds since launch)` every POLL_S until it exits:
    (seconds, exit code, its own peak RSS in bytes, its stderr)."""
    with tempfile.TemporaryFile() as stderr:
        t0 = time.perf_counter()
        process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=stderr, env=env,
                                   cwd=cwd)
        if pids is not None:
            pids.append(process.pid)
        while True:
            pid, status, usage = os.wait4(process.pid, os.WNOHANG)
            if pid:
                break
            poll(time.perf_counter() - t0)
            time.sleep(POLL_S)
        seconds = time.perf_counter() - t0
        process.returncode = os.waitstatus_to_exitcode(status)  # reaped here, by wait4
        stderr.seek(0)
        return (seconds, process.returncode, usage.ru_maxrss * 1024,
                stderr.read().decode(errors="replace"))


def _env(extra: dict) -> dict:
    env = dict(os.environ, **extra)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO), env.get("PYTHONPATH")]))
    return env


def _image_bytes(rng: np.random.Generator, size: tuple[int, int], fmt: str) -> bytes:
    pixels = rng.integers(0, 256, (size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, fmt)
    return buffer.getvalue()


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _megabytes(folder: Path) -> float:
    return sum(path.stat().st_size for path in folder.rglob("*") if path.is_file()) / 1e6


if __name__ == "__main__":
    sys.exit(main())
