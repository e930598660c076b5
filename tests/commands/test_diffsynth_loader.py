"""DiffSynth-Studio's own dataset loader (`UnifiedDataset` with its default video operator, as
its Wan training script builds it) reads `lightpipe export --format diffsynth --task T` for every
VACE task: the video, the control and the mask as DiffSynth hands them to training.

The loader comes from `make diffsynth-env` (`.venv-diffsynth`, a pip --target folder with
DiffSynth and the few packages its loader imports, never a dependency of Lightpipe); without it
the test skips. Importing the `diffsynth` package runs a heavy `__init__` chain (transformers,
modelscope, ...), so `diffsynth/core/data/operators.py` and `unified_dataset.py` are loaded by
file path under stub parent packages, in a subprocess of this venv's Python with the folder on
its path: this process never imports DiffSynth, pandas or imageio."""

from __future__ import annotations

import csv
import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import av
import numpy as np
import pytest
from PIL import Image

from lightpipe.commands.dispatch import main
from lightpipe.dataset.vace.tasks import TASKS
from lightpipe.dataset.video_reader import read_rgb


REPO = Path(__file__).resolve().parents[2]
DIFFSYNTH_ENV = REPO / ".venv-diffsynth"
SIZE, FRAMES = 64, 5

# Run in the subprocess: argv = [env, dataset root, tasks (JSON: name -> file keys), out .npz].
LOADER = textwrap.dedent('''
    import importlib.util, json, sys, types
    from pathlib import Path

    env, root, tasks, out = Path(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3]), sys.argv[4]
    sys.path.append(str(env))
    data_dir = env / "diffsynth" / "core" / "data"
    for name, folder in (("diffsynth", env / "diffsynth"),
                         ("diffsynth.core", env / "diffsynth" / "core"),
                         ("diffsynth.core.data", data_dir)):
        package = types.ModuleType(name)  # a stub: the package's __init__ never runs
        package.__path__ = [str(folder)]
        sys.modules[name] = package
    for name in ("operators", "unified_dataset"):
        spec = importlib.util.spec_from_file_location(f"diffsynth.core.data.{name}",
                                                      data_dir / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
    UnifiedDataset = sys.modules["diffsynth.core.data.unified_dataset"].UnifiedDataset
    assert "diffsynth.pipelines" not in sys.modules and "transformers" not in sys.modules

    import numpy as np
    arrays, report = {}, {"modules": sorted(m for m in sys.modules if m.startswith("diffsynth"))}
    for task, keys in tasks.items():
        dataset = UnifiedDataset(  # as DiffSynth's examples/wanvideo/model_training/train.py
            base_path=root, metadata_path=f"{root}/metadata_train_{task}.csv", repeat=1,
            data_file_keys=keys,
            main_data_operator=UnifiedDataset.default_video_operator(
                base_path=root, max_pixels=1920 * 1080, height=%(size)d, width=%(size)d,
                height_division_factor=16, width_division_factor=16, num_frames=%(frames)d,
                time_division_factor=4, time_division_remainder=1))
        item = dataset[0]
        entry = {"len": len(dataset), "keys": sorted(item),
                 "prompt": [type(item["prompt"]).__name__, item["prompt"]]}
        for key in keys:
            frames = item[key] if isinstance(item[key], list) else [item[key]]
            entry[key] = {"type": type(item[key]).__name__,
                          "frame_types": sorted({type(f).__module__ + "." + type(f).__name__
                                                 for f in frames}),
                          "sizes": sorted({tuple(f.size) for f in frames}),
                          "modes": sorted({f.mode for f in frames}), "count": len(frames)}
            arrays[f"{task}/{key}"] = np.stack([np.asarray(f) for f in frames])
        report[task] = entry
    np.savez(out, **arrays)
    print(json.dumps(report))
''') % {"size": SIZE, "frames": FRAMES}


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, ground_truth_dataset):
    """The dataset root and what DiffSynth's loader made of item 0 of every task's train list:
    (root, report by task, arrays by 'task/key')."""
    if not (DIFFSYNTH_ENV / "diffsynth" / "core" / "data" / "unified_dataset.py").is_file():
        pytest.skip("DiffSynth-Studio's loader is not installed in .venv-diffsynth: "
                    "run `make diffsynth-env`")
    base = tmp_path_factory.mktemp("diffsynth_loader")
    root = base / "out"
    shutil.copytree(ground_truth_dataset[1], root)  # the export writes into the dataset
    tasks = [arg for name in TASKS for arg in ("--task", name)]
    assert main(["export", "--root", str(root), "--format", "diffsynth", *tasks]) == 0
    out = base / "loaded.npz"
    keys = {name: _keys(task) for name, task in TASKS.items()}
    proc = subprocess.run([sys.executable, "-c", LOADER, str(DIFFSYNTH_ENV), str(root),
                           json.dumps(keys), str(out)],
                          capture_output=True, text=True, timeout=300, cwd=base)
    assert proc.returncode == 0, f"DiffSynth's loader failed:\n{proc.stderr[-4000:]}"
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    with np.load(out) as arrays:
        return root, report, dict(arrays)


def _keys(task) -> list[str]:
    """The metadata CSV's file columns of a task (`vace_export`), in order."""
    source = ["vace_video", *(["vace_video_mask"] if task.masked else [])] if task.source else []
    return ["video", *source, *(["vace_reference_image"] if task.reference else [])]


def test_this_process_never_imports_diffsynth_or_its_packages(loaded):
    _, report, _ = loaded
    assert report["modules"] == ["diffsynth", "diffsynth.core", "diffsynth.core.data",
                                 "diffsynth.core.data.operators",
                                 "diffsynth.core.data.unified_dataset"]
    assert not {"diffsynth", "pandas", "imageio", "einops"} & set(sys.modules)


@pytest.mark.parametrize("name", list(TASKS))
def test_diffsynths_loader_reads_the_exported_task(loaded, name):
    root, report, arrays = loaded
    task, entry = TASKS[name], report[name]
    keys = _keys(task)
    assert entry["len"] == 3  # the train list: 3 of 4 videos
    assert entry["keys"] == sorted([*keys, "prompt"])
    kind, prompt = entry["prompt"]
    assert kind == "str" and prompt.strip()
    with open(root / f"metadata_train_{name}.csv") as handle:
        row = next(csv.DictReader(handle))
    assert prompt == row["prompt"]
    if task.reference:  # a PNG: DiffSynth reads it as one RGB image, exactly
        reference = arrays[f"{name}/vace_reference_image"]
        assert entry["vace_reference_image"]["sizes"] == [[SIZE, SIZE]]
        assert entry["vace_reference_image"]["modes"] == ["RGB"]
        written = np.asarray(Image.open(root / row["vace_reference_image"]).convert("RGB"))
        assert np.array_equal(reference.reshape(written.shape), written)
        assert written[0, 0].tolist() == [255, 255, 255] and (written != 255).any()
    for key in (k for k in keys if k != "vace_reference_image"):
        # a list of PIL RGB images, all 5 frames (5 % 4 == 1: DiffSynth's time rule keeps them)
        assert entry[key] == {"type": "list", "frame_types": ["PIL.Image.Image"],
                              "sizes": [[SIZE, SIZE]], "modes": ["RGB"], "count": FRAMES}, key
        frames = arrays[f"{name}/{key}"].astype(int)
        assert frames.shape == (FRAMES, SIZE, SIZE, 3)
        # The file's frames, in order, as FFmpeg converts them with swscale's default flags
        # (imageio's ffmpeg command; bit-identical to PyAV's default conversion here, observed
        # max difference 0). DiffSynth's crop-and-resize to the same size is a copy.
        with av.open(str(root / row[key])) as container:
            plain = np.stack([f.to_ndarray(format="rgb24") for f in container.decode(video=0)])
        assert np.abs(frames - plain).max() <= 2, key
        # Lightpipe's own reader upsamples chroma exactly (video_reader.RGB_SCALING): DiffSynth's
        # frames differ from it at colour edges only (observed: mean 0.03 to 2.1, max 37 to 90).
        error = np.abs(frames - read_rgb(root / row[key]).astype(int))
        assert error.mean() < 4 and np.median(error) <= 1, (key, error.mean())
    if "vace_video_mask" in keys:
        mask = arrays[f"{name}/vace_video_mask"]
        # lossless H.264, decoded to 3-channel RGB frames (mode RGB, not L), no resampling at
        # the same size: exactly 0 and 255 in every channel, both present
        assert set(np.unique(mask).tolist()) == {0, 255}
        written = read_rgb(root / row["vace_video_mask"])
        assert abs(np.mean(mask == 255) - np.mean(written == 255)) <= 0.01
        # stronger, and what is observed: the very mask Lightpipe wrote, pixel for pixel (a
        # flat 0/255 grey has constant chroma, so both conversions agree exactly)
        assert np.array_equal(mask, written)
