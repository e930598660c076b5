"""Clips/s of GeneratedVideoDataModule's train loader vs raw PyAV decoding of the same clips.

    python benchmarks/loader_throughput.py [--root DATASET] [--keep DIR] [--videos 4]
        [--width 832] [--height 480] [--frames 81] [--clip-length 16] [--epochs 8]
        [--workers 0 2] [--repeats 3] [--format1 | --format1-root DATASET]

Without --root, a dataset of --videos videos (--width x --height, --frames frames) is generated
first with `lightpipe predict` into a temp directory. Measured in one run, on the same files:
raw PyAV, no torch, converting only the clip's frames: decoding from frame 0 and dropping
frames up to the clip (what the reader did before format 2), and seeking to the keyframe at or
before the clip first (with PyAV's default RGB conversion and with the reader's exact one);
then the DataModule's train loader (the same clips: same seed and epochs) per worker count,
steady state (persistent workers already started) and first pass (start-up included), as a
ratio to raw seeking with the reader's conversion.

With --format1 (or --format1-root), a second dataset with one keyframe per file (format 1:
--keyframe-interval = --frames, otherwise the same config, so the same rendered frames) is read
by the same DataModule in the same run, the two loaders' passes alternated (best of --repeats),
and the ratio format 2 / format 1 is printed per worker count. The raw passes run once per
--repeats too (best kept); with 0 workers the DataModule reads a clip's outputs side by side
on the cores it has (`datamodule.side_by_side`) while the raw passes use one thread.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import av
import yaml

from lightpipe.datamodule.training import GeneratedVideoDataModule
from lightpipe.dataset.video_reader import RGB_SCALING

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("color", "depth", "depth_vis")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", help="an existing dataset (default: generate one)")
    parser.add_argument("--keep", help="generate into this directory and keep it (reused by "
                        "a later run with the same --keep)")
    parser.add_argument("--videos", type=int, default=4)
    parser.add_argument("--width", type=int, default=832)
    parser.add_argument("--height", type=int, default=480)
    parser.add_argument("--frames", type=int, default=81)
    parser.add_argument("--clip-length", type=int, default=16)
    parser.add_argument("--keyframe-interval", type=int, default=None,
                        help="settings.encoder.keyframe_interval of a generated dataset")
    parser.add_argument("--frame-stride", type=int, default=1)
    parser.add_argument("--batch-size", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=8, help="passes over the train videos")
    parser.add_argument("--workers", type=int, nargs="+", default=[0, 2])
    parser.add_argument("--repeats", type=int, default=3,
                        help="passes of each measurement, alternated; the best is printed")
    parser.add_argument("--format1", action="store_true",
                        help="also generate (or reuse, with --keep) a format-1 dataset and "
                        "print the DataModule's speed-up over it")
    parser.add_argument("--format1-root", help="an existing format-1 dataset to compare with")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = _dataset(args.root, args.keep, tmp, args, "dataset", args.keyframe_interval)
        format1 = None
        if args.format1_root or args.format1:
            format1 = _dataset(args.format1_root, args.keep, tmp, args, "format1", args.frames)
        _measure(root, format1, args)


def _dataset(given, keep, tmp, args, name: str, keyframe_interval: int | None) -> Path:
    if given:
        return Path(given)
    work = Path(keep or tmp) / ("" if name == "dataset" else name)  # format 1 in a subfolder
    if (work / "dataset" / "dataset.json").exists():
        return work / "dataset"
    work.mkdir(parents=True, exist_ok=True)
    return _generate(work, args, keyframe_interval)


def _measure(root: Path, format1: Path | None, args) -> None:
    dm = _module(root, args)
    dataset = dm.train_dataset
    clips = [(position, dataset.frame_indices(position, epoch))
             for epoch in range(args.epochs) for position in range(len(dataset))]
    video = dataset.videos[0].meta.video
    print(f"dataset {root}: {len(dataset)} train videos, {video.width}x{video.height}, "
          f"{video.num_frames} frames; clips of {args.clip_length} (stride {args.frame_stride}),"
          f" outputs {', '.join(OUTPUTS)}, {args.epochs} epochs = {len(clips)} clips; best of "
          f"{args.repeats} passes, alternated")
    interval = getattr(video, "keyframe_interval", None)  # absent before format 2
    print(f"keyframes: {f'every {interval} frames' if interval else 'one per file (format 1)'}")
    _raw_pass(dataset, clips[: len(dataset)], {}, seek=False)  # warm the page cache
    exact = {"interpolation": RGB_SCALING}
    runs = {(seek, conversion): [] for seek in (False, True) for conversion in ("pyav", "exact")}
    for _ in range(args.repeats):
        for seek, conversion in runs:
            options = exact if conversion == "exact" else {}
            runs[seek, conversion].append(len(clips) / _raw_pass(dataset, clips, options, seek))
    for (seek, conversion), rates in runs.items():
        how = "seek to keyframe" if seek else "decode from 0   "
        what = ("reader's conversion: " if conversion == "exact" else "PyAV's conversion:   ")
        print(f"raw PyAV, {how}, {what}{_spread(rates)} clips/s"
              + (" (full-res chroma, accurate rounding)" if conversion == "exact" else ""))
    raw = max(runs[True, "exact"])
    other = None if format1 is None else _module(format1, args)
    if other is not None:
        video1 = other.train_dataset.videos[0].meta.video
        print(f"format 1: {format1} (keyframes "
              f"{getattr(video1, 'keyframe_interval', None) or 'one per file'})")
    for workers in args.workers:
        loaders = {}
        for name, module in (("format 2", dm), ("format 1", other)):
            if module is not None:
                module.num_workers = workers
                loaders[name] = module.train_dataloader()  # persistent workers: started once
        first = {name: _loader_pass(loader, args.epochs) for name, loader in loaders.items()}
        steady = {name: [] for name in loaders}
        for _ in range(args.repeats):
            for name, loader in loaders.items():
                steady[name].append(_loader_pass(loader, args.epochs))
        best = max(steady["format 2"])
        print(f"DataModule train loader, workers {workers}:              "
              f"{_spread(steady['format 2'])} clips/s ({best / raw:.2f} x raw seeking with the "
              f"reader's conversion; first pass incl. start-up {first['format 2']:.2f} clips/s)")
        if "format 1" in steady:
            best1 = max(steady["format 1"])
            print(f"DataModule train loader, workers {workers}, format 1:    "
                  f"{_spread(steady['format 1'])} clips/s (format 2 / format 1: "
                  f"{best / best1:.2f}x)")
        del loaders  # the workers stop


def _module(root: Path, args) -> GeneratedVideoDataModule:
    dm = GeneratedVideoDataModule(str(root), clip_length=args.clip_length,
                                  frame_stride=args.frame_stride, batch_size=args.batch_size,
                                  outputs=list(OUTPUTS))
    dm.setup("fit")
    return dm


def _spread(rates: list[float]) -> str:
    """The best rate, then the range of all passes."""
    return f"{max(rates):8.2f} ({min(rates):.2f}-{max(rates):.2f})"


def _loader_pass(loader, epochs: int) -> float:
    start, count = time.perf_counter(), 0
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        count += sum(len(batch["index"]) for batch in loader)
    return count / (time.perf_counter() - start)


def _raw_pass(dataset, clips, rgb_options: dict, seek: bool) -> float:
    """Seconds to decode the clips' frames of every modality with PyAV alone."""
    start = time.perf_counter()
    for position, frames in clips:
        files = dataset.videos[position].modalities
        wanted, first, last = set(frames.tolist()), int(frames.min()), int(frames.max())
        for name in OUTPUTS:
            with av.open(str(files[name])) as container:
                stream = container.streams.video[0]
                stream.codec_context.thread_count = 1
                options = {"format": "gray16le"} if name == "depth" else {
                    "format": "rgb24", **rgb_options}
                rate = stream.time_base * stream.average_rate  # frames per pts unit
                if seek and first:
                    container.seek(round(first / rate), stream=stream, backward=True)
                for frame in container.decode(stream):
                    index = round(frame.pts * rate)
                    if index in wanted:
                        frame.to_ndarray(**options)
                    if index >= last:
                        break
    return time.perf_counter() - start


def _generate(tmp: Path, args, keyframe_interval: int | None) -> Path:
    out = tmp / "dataset"
    config = {
        "project": {"seed": 0, "name": "loader_bench"},
        "settings": {"num_videos": args.videos + 1, "output_dir": str(out),
                     "dataset_split": {"train_ratio": args.videos / (args.videos + 1)},
                     "video": {"width": args.width, "height": args.height,
                               "num_frames": args.frames, "fps": 16},
                     **({"encoder": {"keyframe_interval": keyframe_interval}}
                        if keyframe_interval else {})},
        "trainer": {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    print(f"generating {args.videos + 1} videos ({args.width}x{args.height}, {args.frames} frames,"
          f" keyframe interval {keyframe_interval or 'default'}) with lightpipe predict ...",
          flush=True)
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("lightpipe")), "predict", "--config",
                    str(tmp / "config.yaml")], cwd=REPO, check=True, capture_output=True)
    print(f"generated in {time.perf_counter() - start:.0f} s", flush=True)
    return out


if __name__ == "__main__":
    main()
