"""Flow, object coordinates and boxes agree with each other and with colour and depth, on videos
of the default config (its scene, camera and look; 192x112, 8 frames), read back from the
written files: what a researcher training on the dataset gets."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lightpipe.config.settings import ProjectSettings, Settings, VideoSettings
from lightpipe.dataset.flow_codes import VALID, VISIBLE
from lightpipe.dataset.identity import run_layout
from lightpipe.dataset.outputs import selected
from lightpipe.generation.writer import VideoResult, VideoWriter
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.preemption import StopFlag
from lightpipe.render.renderer import RenderOptions, render_video

pytestmark = pytest.mark.slow

OUTPUTS = ("color", "depth", "segmentation", "flow", "object_coordinates", "objects")
VIDEOS = 3


@pytest.fixture(scope="module")
def decoded(tmp_path_factory):
    """[(arrays decoded from the files, objects record)] of the default config's first videos."""
    root = tmp_path_factory.mktemp("consistency")
    defaults = Settings()
    settings = dataclasses.replace(
        defaults, num_videos=VIDEOS, output_dir=str(root), outputs=OUTPUTS,
        video=dataclasses.replace(defaults.video, width=192, height=112, num_frames=8))
    project = ProjectSettings(seed=3)
    writer = VideoWriter(run_layout(project, settings), settings.encoder, StopFlag(), OUTPUTS)
    pools = asset_pools(project.seed, settings)
    videos = []
    for index in range(VIDEOS):
        spec = plan_video(project.seed, settings, index, pools)
        meta = writer.write_video(VideoResult(spec, render_video(
            spec, options=RenderOptions.from_settings(settings))))
        files = meta.modality_files(writer.layout.video_dir(index))
        arrays = {}
        for output in selected(OUTPUTS):
            arrays.update(output.read(files, meta))
        videos.append((arrays, meta.outputs["objects"]))
    return videos


def bilinear(image: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """`image` (H,W[,C]) at continuous pixel-index positions (centre of pixel i at i)."""
    h, w = image.shape[:2]
    x0 = np.clip(np.floor(x).astype(int), 0, w - 2)
    y0 = np.clip(np.floor(y).astype(int), 0, h - 2)
    fx, fy = x - x0, y - y0
    if image.ndim == 3:
        fx, fy = fx[:, None], fy[:, None]
    image = image.astype(np.float64)
    top = image[y0, x0] * (1 - fx) + image[y0, x0 + 1] * fx
    bottom = image[y0 + 1, x0] * (1 - fx) + image[y0 + 1, x0 + 1] * fx
    return top * (1 - fy) + bottom * fy


def tracked(arrays: dict, t: int, margin: int = 0):
    """Pixels of frame t whose forward flow is valid and visible, landing where the
    neighbouring pixels of frame t+1 (the 2x2 around the target, `margin` more on each side)
    show the same id as the source pixel and one continuous surface (depths within 2% of each
    other: no silhouette, also none of an object in front of itself): (ys, xs, target x,
    target y)."""
    ids, flags, flow = arrays["segmentation"], arrays["flow_forward_flags"], arrays["flow_forward"]
    h, w = ids.shape[1:]
    ys, xs = np.nonzero(((flags[t] & VALID) > 0) & ((flags[t] & VISIBLE) > 0))
    tx, ty = xs + flow[t, ys, xs, 0], ys + flow[t, ys, xs, 1]
    keep = (tx >= margin) & (ty >= margin) & (tx <= w - 1 - margin) & (ty <= h - 1 - margin)
    ys, xs, tx, ty = ys[keep], xs[keep], tx[keep], ty[keep]
    source = ids[t, ys, xs]
    same = np.ones(len(ys), bool)
    near, far = np.full(len(ys), np.inf), np.zeros(len(ys))
    for dy in range(-margin, margin + 2):
        for dx in range(-margin, margin + 2):
            yy = np.clip(np.floor(ty).astype(int) + dy, 0, h - 1)
            xx = np.clip(np.floor(tx).astype(int) + dx, 0, w - 1)
            same &= ids[t + 1, yy, xx] == source
            depth = arrays["depth"][t + 1, yy, xx]
            near, far = np.minimum(near, depth), np.maximum(far, depth)
    same &= far <= near * 1.02
    return ys[same], xs[same], tx[same], ty[same]


def test_warping_the_next_frame_by_the_flow_reproduces_this_frame(decoded):
    """Colour within 3 codes (median) / 16 codes (95%): lighting and specular highlights move
    with the view, and textures alias at this size; depth within 1% (median) / 3% (95%): the
    camera and objects move between frames."""
    colour_errors, depth_errors = [], []
    for arrays, _ in decoded:
        for t in range(arrays["color"].shape[0] - 1):
            ys, xs, tx, ty = tracked(arrays, t)
            warped = bilinear(arrays["color"][t + 1], tx, ty)
            colour_errors.append(np.abs(warped - arrays["color"][t, ys, xs]).mean(axis=1))
            depth = arrays["depth"][t, ys, xs]
            surface = depth > 0  # the sky's depth is 0 in both
            warped_depth = bilinear(arrays["depth"][t + 1], tx, ty)
            assert (warped_depth[~surface] == 0).all()
            depth_errors.append(np.abs(warped_depth - depth)[surface] / depth[surface])
    colour, depth = np.concatenate(colour_errors), np.concatenate(depth_errors)
    assert colour.size > 10_000
    assert np.median(colour) <= 3 and np.percentile(colour, 95) <= 16, \
        (np.median(colour), np.percentile(colour, 95))
    assert np.median(depth) <= 0.01 and np.percentile(depth, 95) <= 0.03, \
        (np.median(depth), np.percentile(depth, 95))


def test_forward_then_backward_returns_to_the_start(decoded):
    """Within 0.05 px on pixels tracked away from silhouettes (the backward flow is sampled
    bilinearly, which mixes faces within a pixel of an edge)."""
    errors = []
    for arrays, _ in decoded:
        for t in range(arrays["color"].shape[0] - 1):
            ys, xs, tx, ty = tracked(arrays, t, margin=1)
            back = bilinear(arrays["flow_backward"][t + 1], tx, ty)
            errors.append(np.hypot(tx + back[:, 0] - xs, ty + back[:, 1] - ys))
    errors = np.concatenate(errors)
    assert errors.size > 10_000
    assert errors.max() <= 0.05, np.sort(errors)[-5:]


def test_every_visible_box_holds_exactly_its_objects_pixels(decoded):
    checked = 0
    for arrays, objects in decoded:
        ids = arrays["segmentation"]
        for track in objects.objects:
            for t, box in enumerate(track.box_visible):
                mine = ids[t] == track.id
                assert mine.sum() == track.visible_pixels[t]
                if box is None:
                    assert not mine.any()
                    continue
                x0, y0, x1, y1 = box
                assert mine[y0:y1, x0:x1].sum() == mine.sum()  # all of them inside
                assert mine[y0].any() and mine[y1 - 1].any()  # tight
                assert mine[:, x0].any() and mine[:, x1 - 1].any()
                checked += 1
    assert checked >= 10


def test_object_coordinates_are_constant_along_the_flow(decoded):
    """Within 0.01 of the box (median 0.002): the 16-bit codes, bilinear sampling inside a face."""
    errors = []
    for arrays, _ in decoded:
        coordinates = arrays["object_coordinates"]
        for t in range(coordinates.shape[0] - 1):
            ys, xs, tx, ty = tracked(arrays, t, margin=1)
            on_object = arrays["segmentation"][t, ys, xs] >= 2
            ys, xs, tx, ty = ys[on_object], xs[on_object], tx[on_object], ty[on_object]
            moved = bilinear(coordinates[t + 1], tx, ty)
            errors.append(np.abs(moved - coordinates[t, ys, xs]).max(axis=1))
    errors = np.concatenate(errors)
    assert errors.size > 500
    assert np.median(errors) <= 0.002 and np.percentile(errors, 99) <= 0.01, \
        (np.median(errors), np.percentile(errors, 99), errors.max())
