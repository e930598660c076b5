"""Render vs H.264 encode of the same frames, measured in one run, plus `lightpipe predict` wall time.

    python benchmarks/render_vs_encode.py [--frames 24] [--videos 3] [--predict-videos 2]

Prints ms/frame for rendering and for encoding (color H.264, depth H.264, depth FFV1) at
832x480, their ratio, peak RSS, and the wall time of a real `lightpipe predict` run.
"""

from __future__ import annotations

import argparse
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

from lightpipe.datamodule.depth_format import inverse_depth_gray, quantize_metric
from lightpipe.datamodule.planner import asset_pools, plan_video
from lightpipe.datamodule.settings import SceneSettings, Settings, VideoSettings
from lightpipe.generation.module import render_options
from lightpipe.generation.renderer import render_video
from lightpipe.generation.video_codec import (
    H264Options,
    encode_gray16_ffv1,
    encode_gray_h264,
    encode_rgb_h264,
)

REPO = Path(__file__).resolve().parents[1]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=24)
    parser.add_argument("--videos", type=int, default=3, help="scenes to average over")
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--objects", type=int, default=None,
                        help="objects per scene (e.g. 60 for the ~60k-triangle goal scene)")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--predict-videos", type=int, default=2,
                        help="full-size videos for the `lightpipe predict` timing (0: skip)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    scene = SceneSettings() if args.objects is None else SceneSettings(
        min_objects=args.objects, max_objects=args.objects)
    settings = Settings(num_videos=max(args.videos, 1), scene=scene,
                        video=VideoSettings(width=832, height=480, num_frames=args.frames, fps=16))
    pools = asset_pools(42, settings)
    options = H264Options(preset="veryfast", crf=18, threads=2)
    render_s = encode_color_s = encode_depth_s = plain_s = 0.0
    triangles = []
    look = render_options(settings)  # the configured look: shadows, anti-aliasing
    render_video(plan_video(42, settings, 0, pools), args.device, options=look)  # warm-up
    with tempfile.TemporaryDirectory() as tmp:
        for index in range(args.videos):
            spec = plan_video(42, settings, index, pools)
            t0 = time.perf_counter()
            render_video(spec, args.device)
            plain_s += time.perf_counter() - t0
            t0 = time.perf_counter()
            video = render_video(spec, args.device, options=look)
            t1 = time.perf_counter()
            encode_rgb_h264(Path(tmp) / "c.mp4", video.color, 16, options)
            t2 = time.perf_counter()
            gray, _ = inverse_depth_gray(video.depth)
            encode_gray_h264(Path(tmp) / "d.mp4", gray, 16, options)
            codes, _ = quantize_metric(video.depth)
            encode_gray16_ffv1(Path(tmp) / "d.mkv", codes, 16)
            t3 = time.perf_counter()
            render_s, encode_color_s, encode_depth_s = (
                render_s + t1 - t0, encode_color_s + t2 - t1, encode_depth_s + t3 - t2)
            triangles.append(_triangles(spec))
    frames = args.frames * args.videos
    render_ms, color_ms = 1000 * render_s / frames, 1000 * encode_color_s / frames
    depth_ms = 1000 * encode_depth_s / frames
    rss_mib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"scene: 832x480, {args.videos} videos x {args.frames} frames, "
          f"{min(triangles)}-{max(triangles)} triangles, torch threads {args.threads}, "
          f"device {args.device}")
    print(f"render (plain):      {1000 * plain_s / frames:8.1f} ms/frame (no shadows, no AA)")
    print(f"render:              {render_ms:8.1f} ms/frame (shadows {look.shadows}, "
          f"antialias {look.antialias})")
    print(f"encode color H.264:  {color_ms:8.1f} ms/frame (veryfast, x264 threads 2)")
    print(f"encode depth (mp4+mkv): {depth_ms:5.1f} ms/frame")
    print(f"render / color encode ratio: {render_ms / color_ms:.2f}")
    print(f"render / all encodes ratio:  {render_ms / (color_ms + depth_ms):.2f}")
    print(f"peak RSS: {rss_mib:.0f} MiB")
    if args.predict_videos:
        _time_predict(args.predict_videos)


def _time_predict(videos: int) -> None:
    lightpipe = Path(sys.executable).with_name("lightpipe")
    with tempfile.TemporaryDirectory() as tmp:
        cmd = [str(lightpipe), "predict", "--config", str(REPO / "configs/configv1.yaml"),
               "--settings.num_videos", str(videos), "--settings.output_dir", tmp,
               "--settings.dataset_split.ensure_disjoint_assets", "false",
               "--trainer.accelerator", "cpu", "--trainer.devices", "1",
               "--trainer.enable_progress_bar", "false"]
        t0 = time.perf_counter()
        subprocess.run(cmd, check=True, capture_output=True)
        wall = time.perf_counter() - t0
    print(f"lightpipe predict: {videos} videos x 81 frames at 832x480 in {wall:.1f} s "
          f"({wall / videos:.1f} s/video, {1000 * wall / (videos * 81):.0f} ms/frame end to end)")


def _triangles(spec) -> int:
    from lightpipe.generation.scene import build_scene

    return int(build_scene(spec, "cpu").faces.shape[0])


if __name__ == "__main__":
    main()
