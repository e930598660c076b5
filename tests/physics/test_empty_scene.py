"""The simulation of a physics video (`physics.simulation`): edge cases of the spec."""

from __future__ import annotations

import dataclasses

from lightpipe.config.settings import SceneSettings, Settings, VideoSettings
from lightpipe.physics.simulation import simulate
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render.renderer import render_video


def test_a_video_without_objects_simulates_to_an_empty_trajectory():
    """`scene.min_objects` may be 0: the trajectory then holds every step and frame for no
    body (it used to fail reshaping (S, 0, 7) with an inferred size)."""
    settings = Settings(num_videos=1, video=VideoSettings(32, 24, 3, 8),
                        scene=SceneSettings(min_objects=0, max_objects=0))
    spec = plan_video(2, settings, 0, asset_pools(2, settings))
    assert spec.physics is not None and spec.objects == ()
    trajectory = simulate(spec, [])
    steps = spec.num_frames * spec.physics.substeps + 1  # the start and every step after
    assert trajectory.positions.shape == (steps, 0, 3)
    assert trajectory.quaternions.shape == (steps, 0, 4)
    assert trajectory.velocity.shape == trajectory.angular_velocity.shape == (3, 0, 3)
    assert trajectory.frame_poses(spec.num_frames).shape == (3, 0, 4, 4)
    assert trajectory.poses_at([0.0, 0.01]).shape == (2, 0, 4, 4)
    meta = trajectory.meta(spec.num_frames)
    assert meta.bodies == () and meta.contacts == ()
    video = render_video(dataclasses.replace(spec, num_frames=1))
    assert video.physics is not None and video.physics.bodies == ()
    assert (video.depth[0] > 0).any()  # the ground
