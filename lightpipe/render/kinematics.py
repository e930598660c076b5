"""Camera and object poses per frame, in float64 from scalar `math` (same bits on every CPU)."""

from __future__ import annotations

import math

import numpy as np

from lightpipe.physics.rotations import euler_xyz
from lightpipe.planning.specs import CameraSpec, Motion, ObjectSpec, Trajectory, VideoSpec

WORLD_UP = (0.0, 1.0, 0.0)
MIN_DOLLY_DISTANCE = 1.5
MIN_CRANE_HEIGHT = 0.3


def intrinsics(spec: VideoSpec) -> np.ndarray:
    """Pinhole K (3x3, pixels; pixel i spans [i, i+1), so the image centre is (W/2, H/2))."""
    focal = (spec.height / 2.0) / math.tan(math.radians(spec.camera.fov_y_deg) / 2.0)
    return np.array([[focal, 0.0, spec.width / 2.0],
                     [0.0, focal, spec.height / 2.0],
                     [0.0, 0.0, 1.0]])


def frame_times(spec: VideoSpec) -> list[float]:
    return [frame / spec.fps for frame in range(spec.num_frames)]


def shutter_times(spec: VideoSpec, samples: int) -> list[float]:
    """`samples` instants per frame, evenly over the open shutter centred on the frame's time
    (frame-major): motion blur averages the colour over them."""
    shutter = spec.camera.shutter / spec.fps
    return [frame / spec.fps + ((k + 0.5) / samples - 0.5) * shutter
            for frame in range(spec.num_frames) for k in range(samples)]


def camera_extrinsics(spec: VideoSpec, times: list[float] | None = None) -> np.ndarray:
    """World-to-camera matrices (F,4,4), OpenCV convention: x right, y down, z forward; at the
    frames' times, or at `times`."""
    return np.stack([_camera_pose(spec.camera, t) for t in (times or frame_times(spec))])


def object_poses(obj: ObjectSpec, spec: VideoSpec, times: list[float] | None = None
                 ) -> np.ndarray:
    """Object-to-world matrices (F,4,4), scale included; the mesh is unit-radius at its origin."""
    return np.stack([_object_pose(obj, t) for t in (times or frame_times(spec))])


def object_velocities(obj: ObjectSpec, spec: VideoSpec, times: list[float] | None = None
                      ) -> tuple[np.ndarray, np.ndarray]:
    """(linear (F,3) m/s, angular (F,3) rad/s), float64, world axes: the exact time derivatives
    of `object_poses` (the ground-resting shift is constant, so they hold for `scene.part_poses`
    too), at the frames' times or at `times`.

    BOUNCE's height h |sin(pi f t)| has a kink at each bounce (f t an integer, t = 0 included):
    there the derivative is the right-hand one in the phase f t (rising, +pi f h); elsewhere the
    phase's fractional part decides, so a phase a rounding short of an integer reads as falling.
    The angular velocity of R = Rz(az) Ry(ay) Rx(ax) with constant rates is
    az' z + ay' Rz y + ax' Rz Ry x; the linear one is the position's (ORBIT turns the position
    about the world y axis, not the object)."""
    pairs = [_object_velocity(obj, t) for t in (times or frame_times(spec))]
    return (np.array([p[0] for p in pairs], dtype=np.float64).reshape(-1, 3),
            np.array([p[1] for p in pairs], dtype=np.float64).reshape(-1, 3))


def compose(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """a @ b for (..., 4, 4) float64 matrices (broadcast) by explicit elementwise sums: no BLAS,
    the same bits everywhere and for any batch shape."""
    col = [a[..., :, k:k + 1] * b[..., k:k + 1, :] for k in range(4)]
    return (col[0] + col[1]) + (col[2] + col[3])


def _camera_pose(cam: CameraSpec, t: float) -> np.ndarray:
    tx, _, tz = cam.target
    moving = cam.trajectory is not Trajectory.PAN
    azimuth = math.radians(cam.azimuth_deg + (cam.orbit_speed_deg_s * t if moving else 0.0))
    distance = max(MIN_DOLLY_DISTANCE, cam.distance + cam.dolly_speed * t)
    height = max(MIN_CRANE_HEIGHT, cam.height + cam.crane_speed * t)
    position = (tx + distance * math.cos(azimuth), height, tz + distance * math.sin(azimuth))
    forward = normalize(tuple(c - p for c, p in zip(cam.target, position)))
    yaw = math.atan2(forward[0], forward[2]) + math.radians(cam.pan_speed_deg_s[0] * t)
    pitch = math.asin(forward[1]) + math.radians(cam.pan_speed_deg_s[1] * t)
    roll = 0.0
    if cam.shake_amplitude_deg:
        shake = [math.radians(cam.shake_amplitude_deg) * math.sin(2 * math.pi * hz * t + phase)
                 for hz, phase in zip(cam.shake_hz, cam.shake_phase)]
        yaw, pitch, roll = yaw + shake[0], pitch + shake[1], roll + 0.5 * shake[2]
    forward = (math.cos(pitch) * math.sin(yaw), math.sin(pitch), math.cos(pitch) * math.cos(yaw))
    right = normalize(cross(forward, WORLD_UP))
    down = cross(forward, right)
    if roll:
        c, s = math.cos(roll), math.sin(roll)
        right, down = (tuple(c * r + s * d for r, d in zip(right, down)),
                       tuple(c * d - s * r for r, d in zip(right, down)))
    return pose_from_axes(right, down, forward, position)


def pose_from_axes(right, down, forward, position) -> np.ndarray:
    """World-to-camera (4x4) of a camera at `position` with these unit axes (OpenCV)."""
    pose = np.eye(4)
    for i, row in enumerate((right, down, forward)):
        pose[i, :3] = row
        pose[i, 3] = -(row[0] * position[0] + row[1] * position[1] + row[2] * position[2])
    return pose


def _object_pose(obj: ObjectSpec, t: float) -> np.ndarray:
    x, y, z = obj.position
    if obj.motion is Motion.LINEAR:
        x, y, z = x + obj.velocity[0] * t, y + obj.velocity[1] * t, z + obj.velocity[2] * t
    elif obj.motion is Motion.ORBIT:
        angle = math.radians(obj.orbit_speed_deg_s * t)
        x, z = x * math.cos(angle) - z * math.sin(angle), x * math.sin(angle) + z * math.cos(angle)
    elif obj.motion is Motion.BOUNCE:
        y = y + obj.bounce_height * abs(math.sin(math.pi * obj.bounce_hz * t))
    angles = [math.radians(r + s * t) for r, s in zip(obj.rotation_deg, obj.spin_deg_s)]
    rotation = euler_xyz(*angles)
    pose = np.eye(4)
    pose[:3, :3] = rotation * obj.scale
    pose[:3, 3] = (x, y, z)
    return pose


def _object_velocity(obj: ObjectSpec, t: float) -> tuple[tuple, tuple]:
    """d/dt of `_object_pose`'s position and the angular velocity of its rotation, at `t`."""
    vx = vy = vz = 0.0
    if obj.motion is Motion.LINEAR:
        vx, vy, vz = obj.velocity
    elif obj.motion is Motion.ORBIT:
        x, _, z = obj.position
        rate = math.radians(obj.orbit_speed_deg_s)
        angle = math.radians(obj.orbit_speed_deg_s * t)
        c, s = math.cos(angle), math.sin(angle)
        vx, vz = -rate * (x * s + z * c), rate * (x * c - z * s)
    elif obj.motion is Motion.BOUNCE:
        phase = obj.bounce_hz * t
        vy = obj.bounce_height * math.pi * obj.bounce_hz * math.cos(
            math.pi * (phase - math.floor(phase)))
    _, ay, az = (math.radians(r + s * t) for r, s in zip(obj.rotation_deg, obj.spin_deg_s))
    wx, wy, wz = (math.radians(s) for s in obj.spin_deg_s)
    cy, sy, cz, sz = math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    angular = (wx * cz * cy - wy * sz, wx * sz * cy + wy * cz, wz - wx * sy)
    return (vx, vy, vz), angular




def cross(a, b) -> tuple[float, float, float]:
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def normalize(v) -> tuple[float, float, float]:
    norm = math.sqrt(v[0] * v[0] + v[1] * v[1] + v[2] * v[2])
    return (v[0] / norm, v[1] / norm, v[2] / norm)
