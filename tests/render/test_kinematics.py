
import numpy as np
import pytest

from lightpipe.config.settings import CameraSettings, Settings, VideoSettings
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.planning.specs import Trajectory
from lightpipe.render.kinematics import camera_extrinsics


def spec_with(trajectory: str, shake: float = 0.0, frames: int = 17):
    settings = Settings(num_videos=1, video=VideoSettings(64, 64, frames, 8),
                        camera=CameraSettings(trajectories=(trajectory,), shake_probability=shake))
    return plan_video(5, settings, 0, asset_pools(5, settings))


def centre_of(pose: np.ndarray) -> np.ndarray:
    return -pose[:3, :3].T @ pose[:3, 3]


@pytest.mark.parametrize("trajectory", ["orbit", "dolly", "pan", "crane", "static"])
def test_poses_are_rigid(trajectory):
    poses = camera_extrinsics(spec_with(trajectory, shake=1.0))
    rotations = poses[:, :3, :3]
    assert np.allclose(rotations @ rotations.transpose(0, 2, 1), np.eye(3), atol=1e-9)
    assert np.allclose(np.linalg.det(rotations), 1.0)


@pytest.mark.parametrize("trajectory", ["orbit", "dolly", "crane", "static"])
def test_camera_looks_at_its_target_without_shake(trajectory):
    spec = spec_with(trajectory)
    for pose in camera_extrinsics(spec):
        target = pose[:3, :3] @ np.array(spec.camera.target) + pose[:3, 3]
        assert target[0] == pytest.approx(0, abs=1e-9) and target[1] == pytest.approx(0, abs=1e-9)
        assert target[2] > 0


def test_each_trajectory_moves_as_named():
    centres = {t: np.stack([centre_of(p) for p in camera_extrinsics(spec_with(t))])
               for t in ("orbit", "dolly", "pan", "crane", "static")}
    assert np.allclose(centres["static"], centres["static"][0])
    assert np.allclose(centres["pan"], centres["pan"][0])  # pan/tilt turns, does not move
    crane = centres["crane"]
    assert abs(crane[-1, 1] - crane[0, 1]) > 0.05 and np.allclose(crane[:, [0, 2]], crane[0, [0, 2]])
    orbit = centres["orbit"]
    assert np.allclose(orbit[:, 1], orbit[0, 1]) and not np.allclose(orbit, orbit[0])
    pan_rot = camera_extrinsics(spec_with("pan"))[:, :3, :3]
    assert not np.allclose(pan_rot[0], pan_rot[-1])


def test_handheld_shake_is_small_and_only_when_planned():
    steady, shaky = spec_with("static"), spec_with("static", shake=1.0)
    assert steady.camera.shake_amplitude_deg == 0.0 and shaky.camera.shake_amplitude_deg > 0.0
    poses = camera_extrinsics(shaky)
    forward = poses[:, 2, :3]
    angles = np.degrees(np.arccos(np.clip(forward @ forward[0], -1, 1)))
    assert 0 < angles.max() < 4 * shaky.camera.shake_amplitude_deg
    still = camera_extrinsics(steady)
    assert np.allclose(still, still[0])


def test_trajectory_choice_respects_config():
    settings = Settings(num_videos=30, camera=CameraSettings(trajectories=("crane", "static")))
    pools = asset_pools(1, settings)
    seen = {plan_video(1, settings, i, pools).camera.trajectory for i in range(30)}
    assert seen == {Trajectory.CRANE, Trajectory.STATIC}
