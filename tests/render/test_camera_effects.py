"""Motion blur and depth of field: the colour only; depth, segmentation and normals stay sharp."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from lightpipe.config.settings import CameraSettings, SceneSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Motion
from lightpipe.render.renderer import RenderOptions, render_video

OPTIONS = RenderOptions(shadows=True, antialias=2, segmentation=True, normals=True,
                        motion_blur_samples=4)


def planned(trajectory: str = "orbit", motions=("linear",)):
    settings = Settings(num_videos=2, video=VideoSettings(96, 64, 3, 8),
                        scene=SceneSettings(dynamics="kinematic", min_objects=2, max_objects=2,
                                            motions=motions),  # scripted motions
                        camera=CameraSettings(trajectories=(trajectory,), shake_probability=0.0))
    return plan_video(4, settings, 0, asset_pools(4, settings))


def with_lens(spec, shutter=0.0, f_number=0.0):
    return dataclasses.replace(spec, camera=dataclasses.replace(spec.camera, shutter=shutter,
                                                                 f_number=f_number))


@pytest.mark.parametrize("native", [True, False])
def test_motion_blur_changes_colour_only(native):
    """With a shutter the frame pass draws depth, segmentation and normals without shading
    (`surface`): the same bits as the shading path draws them, on each backend."""
    spec, options = planned(), dataclasses.replace(OPTIONS, native=native)
    sharp = render_video(spec, options=options)
    blurred = render_video(with_lens(spec, shutter=1.0), options=options)
    assert not np.array_equal(sharp.color, blurred.color)
    for name in ("depth", "segmentation", "normals"):
        assert np.array_equal(getattr(sharp, name), getattr(blurred, name)), name


def test_a_still_scene_is_not_blurred():
    """Nothing moves: the 4 instants are the same, and their mean (x4 / 4: exact) too."""
    spec = planned(trajectory="static", motions=("static",))
    spec = dataclasses.replace(spec, objects=tuple(
        dataclasses.replace(o, spin_deg_s=(0.0, 0.0, 0.0), motion=Motion.STATIC)
        for o in spec.objects))
    sharp = render_video(spec, options=OPTIONS)
    blurred = render_video(with_lens(spec, shutter=0.5), options=OPTIONS)
    assert np.array_equal(sharp.color, blurred.color)


def test_depth_of_field_blurs_away_from_focus_and_keeps_the_truth():
    """A long lens (20 degrees) wide open: a few pixels of blur at this small size."""
    spec = planned(trajectory="static", motions=("static",))
    spec = dataclasses.replace(spec, width=160, height=96,
                               camera=dataclasses.replace(spec.camera, fov_y_deg=20.0))
    sharp = render_video(spec, options=OPTIONS)
    lens = render_video(with_lens(spec, f_number=0.7), options=OPTIONS)
    for name in ("depth", "segmentation", "normals"):
        assert np.array_equal(getattr(sharp, name), getattr(lens, name)), name
    depth = sharp.depth[0]
    focus = spec.camera.distance
    far = (depth > 3 * focus) | (depth == 0)
    near_focus = (depth > 0.8 * focus) & (depth < 1.25 * focus)

    def detail(image, mask):  # the steepest gradients along both axes (edges: the horizon's)
        grey = image.astype(float).mean(-1)
        across = np.abs(np.diff(grey, axis=1))[mask[:, 1:] & mask[:, :-1]]
        down = np.abs(np.diff(grey, axis=0))[mask[1:] & mask[:-1]]
        return np.percentile(np.concatenate([across, down]), 99)

    assert far.sum() > 100 and near_focus.sum() > 50
    assert detail(lens.color[0], far) < 0.8 * detail(sharp.color[0], far)
    assert detail(lens.color[0], near_focus) > 0.8 * detail(sharp.color[0], near_focus)
