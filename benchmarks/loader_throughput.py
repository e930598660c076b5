"""Clips/s of GeneratedVideoDataModule's train loader vs raw PyAV decoding of the same clips.

    python benchmarks/loader_throughput.py [--root DATASET] [--videos 8] [--width 256]
        [--height 256] [--frames 33] [--clip-length 16] [--epochs 4] [--workers 0 2]

Without --root, a dataset of --videos videos (--width x --height, --frames frames) is generated
first with `lightpipe predict` into a temp directory. Measured in one run, on the same files:
raw PyAV, no torch, converting only the clip's frames: decoding from frame 0 and dropping
frames up to the clip (what the reader did before format 2), and seeking to the keyframe at or
before the clip first (with PyAV's default RGB conversion and with the reader's exact one);
then the DataModule's train loader (the same clips: same seed and epochs) per worker count,
steady state (persistent workers already started) and first pass (start-up included), as a
ratio to raw seeking with the reader's conversion.
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
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        if args.root:
            root = Path(args.root)
        elif args.keep and (Path(args.keep) / "dataset" / "dataset.json").exists():
            root = Path(args.keep) / "dataset"
        else:
            work = Path(args.keep or tmp)
            work.mkdir(parents=True, exist_ok=True)
            root = _generate(work, args)
        _measure(root, args)


def _measure(root: Path, args) -> None:
    dm = GeneratedVideoDataModule(str(root), clip_length=args.clip_length,
                                  frame_stride=args.frame_stride, batch_size=args.batch_size,
                                  outputs=list(OUTPUTS))
    dm.setup("fit")
    dataset = dm.train_dataset
    clips = [(position, dataset.frame_indices(position, epoch))
             for epoch in range(args.epochs) for position in range(len(dataset))]
    video = dataset.videos[0].meta.video
    print(f"dataset {root}: {len(dataset)} train videos, {video.width}x{video.height}, "
          f"{video.num_frames} frames; clips of {args.clip_length} (stride {args.frame_stride}),"
          f" outputs {', '.join(OUTPUTS)}, {args.epochs} epochs = {len(clips)} clips")
    interval = getattr(video, "keyframe_interval", None)  # absent before format 2
    print(f"keyframes: {f'every {interval} frames' if interval else 'one per file (format 1)'}")
    _raw_pass(dataset, clips[: len(dataset)], {}, seek=False)  # warm the page cache
    exact = {"interpolation": RGB_SCALING}
    for seek in (False, True):
        how = "seek to keyframe" if seek else "decode from 0   "
        raw = len(clips) / _raw_pass(dataset, clips, {}, seek)
        print(f"raw PyAV, {how}, PyAV's conversion:   {raw:8.2f} clips/s")
        raw = len(clips) / _raw_pass(dataset, clips, exact, seek)
        print(f"raw PyAV, {how}, reader's conversion: {raw:8.2f} clips/s "
              "(full-res chroma, accurate rounding)")
    for workers in args.workers:
        dm.num_workers = workers
        loader = dm.train_dataloader()  # persistent workers: started once, kept across epochs
        first = _loader_pass(loader, args.epochs)
        steady = _loader_pass(loader, args.epochs)
        print(f"DataModule train loader, workers {workers}:              {steady:8.2f} clips/s "
              f"({steady / raw:.2f} x raw seeking with the reader's conversion; first pass "
              f"incl. start-up {first:.2f} clips/s)")


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


def _generate(tmp: Path, args) -> Path:
    out = tmp / "dataset"
    config = {
        "project": {"seed": 0, "name": "loader_bench"},
        "settings": {"num_videos": args.videos + 1, "output_dir": str(out),
                     "dataset_split": {"train_ratio": args.videos / (args.videos + 1)},
                     "video": {"width": args.width, "height": args.height,
                               "num_frames": args.frames, "fps": 16},
                     **({"encoder": {"keyframe_interval": args.keyframe_interval}}
                        if args.keyframe_interval else {})},
        "trainer": {"accelerator": "cpu", "devices": 1, "enable_progress_bar": False},
    }
    (tmp / "config.yaml").write_text(yaml.safe_dump(config))
    print(f"generating {args.videos + 1} videos ({args.width}x{args.height}, {args.frames} frames)"
          " with lightpipe predict ...", flush=True)
    start = time.perf_counter()
    subprocess.run([str(Path(sys.executable).with_name("lightpipe")), "predict", "--config",
                    str(tmp / "config.yaml")], cwd=REPO, check=True, capture_output=True)
    print(f"generated in {time.perf_counter() - start:.0f} s", flush=True)
    return out


if __name__ == "__main__":
    main()
