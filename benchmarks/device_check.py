"""The checks of `benchmarks/device_check.sh` (run that; it finds the Python and the output folder).

    python benchmarks/device_check.py --out DIR [--accelerator cuda|cpu] [--frames 16]
                                      [--scenes 2] [--no-compile] [--ddp-configs tiny,features]

Determinism: the tiny configs of tests/test_golden_bytes.py are rendered by `lightpipe predict`
three times, A (1 process), B (1 process again) and C (2 processes sharing the device), and the
trees are compared file by file (sha256, per-video JSON without its `versions` block); A is also
compared with the recorded CPU trees (tests/golden_trees.json, read now). Speed: render frames/s
of the 60-object goal scene at 832x480 with the configured look, eager and compiled. Prints one
table; exits 0 only if every determinism check that must hold holds.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO / "tests"))

from test_golden_bytes import CONFIGS, GOLDEN, normalized_sha256  # noqa: E402

RUNS = ("A", "B", "C")  # A, B: 1 process each; C: 2 processes sharing the device


@dataclass
class Row:
    check: str
    result: str  # PASS / FAIL / INFO / a number
    detail: str = ""
    required: bool = False  # a FAIL here makes the exit status non-zero


@dataclass
class Run:
    name: str  # config name
    run: str  # A, B, C
    output: Path
    returncode: int | None = None
    log: str = ""
    seconds: float = 0.0
    tree: dict[str, str] = field(default_factory=dict)
    problems: list[str] = field(default_factory=list)  # exit code, missing files


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True, help="work folder (must be empty)")
    parser.add_argument("--accelerator", choices=("cuda", "cpu"), default="cuda")
    parser.add_argument("--frames", type=int, default=16, help="frames per timed scene")
    parser.add_argument("--scenes", type=int, default=2, help="timed scenes (goal scene, 60 objects)")
    parser.add_argument("--no-compile", action="store_true", help="skip the compiled render timing")
    parser.add_argument("--ddp-configs", default=",".join(CONFIGS),
                        help="configs for the 2-process run C (comma-separated; default: all)")
    parser.add_argument("--threads", type=int, default=None,
                        help="torch threads for the timing (default: torch's own)")
    args = parser.parse_args()
    ddp_configs = [c for c in args.ddp_configs.split(",") if c]
    unknown = sorted(set(ddp_configs) - set(CONFIGS))
    if unknown:
        parser.error(f"--ddp-configs: unknown {unknown}; known: {sorted(CONFIGS)}")
    args.out.mkdir(parents=True, exist_ok=True)

    rows: list[Row] = []
    t0 = time.perf_counter()
    runs = determinism_runs(args.out, args.accelerator, ddp_configs)
    rows += determinism_rows(runs, args.accelerator)
    determinism_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    rows += speed_rows(args)
    rows.append(Row("wall time", f"{time.perf_counter() - t0:.0f} s",
                    f"determinism {determinism_s:.0f} s, speed {time.perf_counter() - t1:.0f} s"))
    print_table(rows)
    failed = [row.check for row in rows if row.required and row.result != "PASS"]
    for run in runs:
        if run.problems:
            print(f"\n--- {run.name} run {run.run} ({run.output}): last lines of its log ---")
            print(run.log[-3000:])
    print(f"\ndevice check: {'FAIL: ' + ', '.join(failed) if failed else 'PASS'}")
    return 1 if failed else 0


# Determinism ---------------------------------------------------------------------------------

def trainer_args(accelerator: str, run: str) -> list[str]:
    if run == "C":  # two tasks: on cuda both share GPU 0 (cuda_shared deals ranks round-robin)
        shared = "cuda_shared" if accelerator == "cuda" else "cpu"
        return ["--trainer.accelerator", shared, "--trainer.devices", "2",
                "--trainer.strategy", "ddp_gloo"]
    return ["--trainer.accelerator", accelerator, "--trainer.devices", "1"]


def determinism_runs(out: Path, accelerator: str, ddp_configs: list[str]) -> list[Run]:
    """Run A, then B, then C; within a run the configs render concurrently."""
    configs = {}
    for name, config in CONFIGS.items():
        config = json.loads(json.dumps(config))
        config["trainer"] = {"enable_progress_bar": False}
        configs[name] = out / f"{name}.yaml"
        configs[name].write_text(yaml.safe_dump(config))
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    if accelerator == "cuda":
        env.setdefault("CUDA_VISIBLE_DEVICES", "0")  # one GPU: run C's two tasks share it
    runs = []
    for run_name in RUNS:
        names = ddp_configs if run_name == "C" else list(CONFIGS)
        started = []
        for name in names:
            run = Run(name, run_name, out / run_name / name)
            cmd = [sys.executable, "-m", "lightpipe.commands.dispatch", "predict",
                   "--config", str(configs[name]), "--settings.output_dir", str(run.output),
                   *trainer_args(accelerator, run_name)]
            log = (out / f"{run_name}_{name}.log").open("w")
            proc = subprocess.Popen(cmd, cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
            started.append((run, proc, log, time.perf_counter()))
        for run, proc, log, start in started:
            try:
                run.returncode = proc.wait(timeout=240)
            except subprocess.TimeoutExpired:
                proc.kill()
                run.returncode = proc.wait()
                run.problems.append("timed out after 240 s")
            run.seconds = time.perf_counter() - start
            log.close()
            run.log = Path(log.name).read_text(errors="replace")
            inspect(run, configs[run.name])
            runs.append(run)
    return runs


def inspect(run: Run, config: Path) -> None:
    """Exit code, every planned video's files present and complete, and the tree's hashes."""
    from lightpipe.commands.parsing import config_parser, parse_config
    from lightpipe.dataset.identity import run_layout
    from lightpipe.dataset.layout import DATASET_FILE
    from lightpipe.dataset.outputs import selected

    if run.returncode != 0:
        run.problems.append(f"exit {run.returncode}")
    _, project, settings = parse_config(config_parser("device_check", "device_check"),
                                  ["--config", str(config), "--settings.output_dir",
                                   str(run.output)])
    layout = run_layout(project, settings)
    if not (layout.root / DATASET_FILE).is_file():
        run.problems.append(f"no {DATASET_FILE}")
    missing = []
    for index in range(settings.num_videos):
        check = layout.check(index, hashes=True)
        extras = [layout.video_file(index, m) for output in selected(settings.outputs)
                  for m in output.modalities]
        if not check.complete or not all(p.is_file() for p in extras):
            missing.append(index)
    if missing:
        run.problems.append(f"{len(missing)}/{settings.num_videos} videos incomplete "
                            f"[{layout.describe(missing)}]")
    if run.output.is_dir():
        run.tree = {p.relative_to(run.output).as_posix(): normalized_sha256(p)
                    for p in sorted(run.output.rglob("*")) if p.is_file()}


def differences(a: dict[str, str], b: dict[str, str]) -> str:
    changed = sorted(f for f in a.keys() & b.keys() if a[f] != b[f])
    only = sorted(a.keys() ^ b.keys())
    parts = []
    if changed:
        parts.append(f"{len(changed)} differ ({', '.join(changed[:3])}"
                     f"{', ...' if len(changed) > 3 else ''})")
    if only:
        parts.append(f"{len(only)} in one tree only ({', '.join(only[:3])}"
                     f"{', ...' if len(only) > 3 else ''})")
    return "; ".join(parts)


def determinism_rows(runs: list[Run], accelerator: str) -> list[Row]:
    golden = json.loads(GOLDEN.read_text())
    import av

    rows = []
    for name in CONFIGS:
        by_run = {run.run: run for run in runs if run.name == name}
        a = by_run["A"]
        for other in ("B", "C"):
            label = f"determinism {name} A==" + other
            if other not in by_run:
                rows.append(Row(label, "SKIP", "not run (--ddp-configs)"))
                continue
            b = by_run[other]
            problems = [f"{r.run}: {p}" for r in (a, b) for p in r.problems]
            diff = differences(a.tree, b.tree)
            ok = not problems and not diff and bool(a.tree)
            detail = "; ".join(problems + ([diff] if diff else [])) or (
                f"{len(a.tree)} files, {a.seconds:.0f} s / {b.seconds:.0f} s"
                + (" (2 processes)" if other == "C" else ""))
            rows.append(Row(label, "PASS" if ok else "FAIL", detail, required=True))
        recorded = golden["trees"].get(name, {})
        parts = [f"A: {p}" for p in a.problems] + [differences(a.tree, recorded)]
        diff = "; ".join(p for p in parts if p) if recorded else f"no record of {name!r}"
        ok = not diff
        note = "" if av.__version__ == golden["av"] else \
            f"; PyAV {av.__version__}, recorded with {golden['av']}"
        if accelerator == "cpu":
            rows.append(Row(f"determinism {name} A==golden(cpu)", "PASS" if ok else "FAIL",
                            (diff or f"{len(recorded)} files as recorded") + note, required=True))
        else:
            rows.append(Row(f"determinism {name} A==golden(cpu)", "same" if ok else "differs",
                            "informational: CUDA bytes may differ from CPU; "
                            + (diff or f"{len(recorded)} files as recorded") + note))
    return rows


# Speed ---------------------------------------------------------------------------------------

def speed_rows(args) -> list[Row]:
    import torch

    from lightpipe.config.settings import SceneSettings, Settings, VideoSettings
    from lightpipe.planning.planner import asset_pools, plan_video
    from lightpipe.render import native
    from lightpipe.render.renderer import RenderOptions, render_video

    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device("cuda", 0) if args.accelerator == "cuda" else torch.device("cpu")
    rows = [Row("torch", torch.__version__,
                f"CUDA {torch.version.cuda}, threads {torch.get_num_threads()}")]
    if device.type == "cuda":
        rows.append(Row("device", torch.cuda.get_device_name(device),
                        f"{torch.cuda.device_count()} visible"))
    else:
        rows.append(Row("device", "cpu", f"{os.cpu_count()} cores"))

    settings = Settings(num_videos=args.scenes + 1,
                        scene=SceneSettings(min_objects=60, max_objects=60),
                        video=VideoSettings(width=832, height=480, num_frames=args.frames,
                                            fps=16))
    pools = asset_pools(42, settings)
    warmup = plan_video(42, settings, args.scenes, pools)  # not one of the timed scenes
    specs = [plan_video(42, settings, index, pools) for index in range(args.scenes)]
    look = RenderOptions.from_settings(settings)
    variants = {"eager": replace(look, native=False)}
    if device.type == "cpu" and native.available():
        variants["native"] = look  # the CPU default: the C kernels, the same bytes
    if not args.no_compile:
        variants["compiled"] = replace(look, compile=True)

    def sync():
        if device.type == "cuda":
            torch.cuda.synchronize(device)

    for name, options in variants.items():
        label = f"render {name} frames/s"
        t0 = time.perf_counter()
        try:
            render_video(warmup, device, options=options)  # warm-up (and compilation): untimed
            sync()
            warm_s = time.perf_counter() - t0
            t1 = time.perf_counter()
            for spec in specs:
                render_video(spec, device, options=options)
            sync()
            seconds = time.perf_counter() - t1
        except Exception as error:  # a broken timing must not hide the determinism table
            rows.append(Row(label, "ERROR", f"{type(error).__name__}: {error}"[:200]))
            continue
        frames = args.frames * len(specs)
        detail = (f"{frames} frames ({len(specs)} scenes x {args.frames}), 832x480, 60 objects, "
                  f"look: shadows {look.shadows}, AO {look.ambient_occlusion}, "
                  f"AA {look.antialias}; warm-up {warm_s:.1f} s untimed")
        if name == "compiled" and device.type == "cuda":
            detail += "; the renderer compiles CPU kernels only: CUDA runs eager"
        rows.append(Row(label, f"{frames / seconds:.2f}", detail))
    if device.type == "cuda":
        rows.append(Row("cuda peak memory", f"{torch.cuda.max_memory_allocated(device) / 2**30:.2f} GiB"))
    return rows


def print_table(rows: list[Row]) -> None:
    widths = [max(len(header), *(len(getattr(r, attr)) for r in rows))
              for header, attr in (("check", "check"), ("result", "result"))]
    print()
    print(f"| {'check':{widths[0]}} | {'result':{widths[1]}} | detail")
    print(f"|-{'-' * widths[0]}-|-{'-' * widths[1]}-|-------")
    for row in rows:
        print(f"| {row.check:{widths[0]}} | {row.result:{widths[1]}} | {row.detail}")


if __name__ == "__main__":
    sys.exit(main())
