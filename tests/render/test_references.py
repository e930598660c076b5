"""The `references` output (`render.references`): each object alone on white, centred at its size
in a planned frame; the frame drawn from the video's stream among those that show it whole."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest

from lightpipe.config.settings import CameraSettings, SceneSettings, Settings, VideoSettings
from lightpipe.dataset.vace.tasks import reference_frames
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render import references
from lightpipe.render.renderer import RenderOptions, render_video


def _scene(offsets_z, width=100, height=80, f=50.0):
    """One frame per z offset of a unit cube (part 1) straight ahead of a pinhole camera."""
    poses = np.repeat(np.eye(4)[None, None], len(offsets_z), axis=0).repeat(2, axis=1)
    for frame, (x, z) in enumerate(offsets_z):
        poses[frame, 1, :3, 3] = (x, 0.0, z)
    bounds = np.array([[[-1.0] * 3, [1.0] * 3]] * 2)
    intrinsics = np.array([[f, 0, width / 2], [0, f, height / 2], [0, 0, 1.0]])
    return SimpleNamespace(part_bounds=bounds, part_to_camera=poses, intrinsics=intrinsics)


def test_in_view_is_the_share_of_the_projected_box_inside_the_image():
    # A cube of side 2 at (x, 0, z): corners x +- 1, y +- 1, z +- 1; u = 50 x / z + 50.
    # (0, 6): inside. (5, 6): u from 50 + 50 * 4/7 (far corner) to 50 + 50 * 6/5 = 110, v
    # inside: cut at u = 100. (20, 6): outside. (0, 0.5): corners behind the near plane.
    scene = _scene([(0.0, 6.0), (5.0, 6.0), (20.0, 6.0), (0.0, 0.5)])
    share = references.in_view(scene, 100, 80, near=0.1)
    assert share.shape == (1, 4)
    assert share[0, 0] == 1.0
    left, right = 50 + 50 * 4 / 7, 50 + 50 * 6 / 5
    assert share[0, 1] == pytest.approx((100 - left) / (right - left), rel=1e-12)
    assert share[0, 2] == 0.0 and share[0, 3] == 0.0


def test_the_frame_is_drawn_among_the_whole_views_else_the_best_else_none():
    spec = SimpleNamespace(video_seed=12345)
    shares = np.array([[0.2, 1.0, 1.0, 0.5], [0.1, 0.7, 0.3, 0.0], [0.0, 0.0, 0.0, 0.0]])
    frames = reference_frames(spec, shares)
    assert frames[0] in (1, 2) and frames[1] == 1 and frames[2] is None
    assert reference_frames(spec, shares) == frames  # the video's own stream
    drawn = {reference_frames(SimpleNamespace(video_seed=s), shares)[0] for s in range(40)}
    assert drawn == {1, 2}  # uniform among the whole views


def test_centred_puts_the_drawn_box_in_the_middle_of_a_white_canvas():
    color = np.full((20, 30, 3), 255, np.uint8)
    ids = np.zeros((20, 30), np.int32)
    color[2:6, 1:4] = 7  # the object
    ids[2:6, 1:4] = 5
    color[6, 4] = 200  # an anti-aliased pixel beside it, not the object's id
    ids[3, 3] = 5  # ...and an object pixel drawn exactly white
    color[3, 3] = 255
    image, box = references.centred(color, ids, 5)
    assert box == (1, 2, 5, 7)
    top, left = (20 - 5) // 2, (30 - 4) // 2
    assert (image[top:top + 5, left:left + 4] == color[2:7, 1:5]).all()
    image[top:top + 5, left:left + 4] = 255
    assert (image == 255).all()
    empty, none = references.centred(np.full((4, 4, 3), 255, np.uint8), np.zeros((4, 4)), 2)
    assert none is None and (empty == 255).all()


@pytest.fixture(scope="module")
def rendered():
    settings = Settings(num_videos=2, video=VideoSettings(96, 64, 6, 8),
                        scene=SceneSettings(min_objects=3, max_objects=3),
                        camera=CameraSettings(shake_probability=0.0))
    videos = []
    for index in range(2):
        spec = plan_video(5, settings, index, asset_pools(5, settings))
        videos.append((spec, render_video(spec, "cpu", options=RenderOptions(
            references=True, segmentation=True, shadows=True, ambient_occlusion=True,
            antialias=3))))
    return videos


def test_each_object_is_drawn_alone_on_white_as_the_video_shows_it(rendered):
    exact = total = 0
    for spec, video in rendered:
        refs = video.references
        assert refs.images.shape == (3, 64, 96, 3) and len(refs.frames) == 3
        for slot, (frame, box) in enumerate(zip(refs.frames, refs.boxes)):
            if frame is None:
                assert box is None and (refs.images[slot] == 255).all()
                continue
            x0, y0, x1, y1 = box
            h, w = y1 - y0, x1 - x0
            top, left = (64 - h) // 2, (96 - w) // 2
            image = refs.images[slot].copy()
            crop = image[top:top + h, left:left + w].copy()
            image[top:top + h, left:left + w] = 255
            assert (image == 255).all()  # white around the box
            assert (crop != 255).any(axis=-1).any(axis=0).all()  # the box is tight: each
            assert (crop != 255).any(axis=-1).any(axis=1).all()  # column and row drawn
            # Pixels inside the object's silhouette in the video (two pixels in from its edge)
            # are the video's own: the same pose, camera, light and look. Other objects may
            # shade it (shadows, occlusion), so not every pixel.
            ids = video.segmentation[frame][y0:y1, x0:x1] == slot + 2
            inner = ids.copy()
            for _ in range(2):
                inner[1:-1, 1:-1] &= inner[:-2, 1:-1] & inner[2:, 1:-1] & inner[1:-1, :-2] & \
                    inner[1:-1, 2:]
                inner[[0, -1]] = False
                inner[:, [0, -1]] = False
            same = np.all(crop == video.color[frame][y0:y1, x0:x1], axis=-1)
            exact += int(same[inner].sum())
            total += int(inner.sum())
    assert total > 50 and exact >= 0.8 * total


def test_references_change_no_other_output(rendered):
    spec, video = rendered[0]
    plain = render_video(spec, "cpu", options=RenderOptions(
        segmentation=True, shadows=True, ambient_occlusion=True, antialias=3))
    assert plain.references is None
    assert np.array_equal(plain.color, video.color) and np.array_equal(plain.depth, video.depth)
    assert np.array_equal(plain.segmentation, video.segmentation)
