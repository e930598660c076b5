"""`NNNN.json`'s `physics` record: what the simulation did, per frame (numpy-free records)."""

from __future__ import annotations

from dataclasses import dataclass

from lightpipe.records import Record

Vec3 = tuple[float, float, float]

PHYSICS_CONVENTION = (
    "world metres, y up; per frame, each body's mesh origin (`position`), its rotation as a "
    "unit [w, x, y, z] quaternion (the pose is R * scale, position), the linear velocity of the "
    "mesh origin (m/s) and the angular velocity (rad/s), world axes; ids as in segmentation "
    "(1 the ground, 2 + k spec.objects[k]); a contact event is a pair that touches during a "
    "frame interval (frame - 1, frame] and did not in the one before, with the normal impulse "
    "(N s) summed over that interval and the world point of its strongest contact")


@dataclass(frozen=True)
class ContactEvent(Record):
    """Two bodies start touching: `frame` ends the interval it happened in."""

    frame: int
    a: int
    b: int
    impulse: float
    position: Vec3


@dataclass(frozen=True)
class BodyTrack(Record):
    """One object's simulated motion at every frame."""

    id: int
    mass: float  # kg
    thrown: bool
    settled: bool  # at rest when the video starts (a resting body that settled in time)
    position: tuple[Vec3, ...]
    quaternion: tuple[tuple[float, float, float, float], ...]
    velocity: tuple[Vec3, ...]
    angular_velocity: tuple[Vec3, ...]


@dataclass(frozen=True)
class PhysicsMeta(Record):
    """The simulation of one video (`settings.scene.dynamics: physics`)."""

    convention: str
    engine: str  # `mujoco 3.17.0`
    step_hz: int
    substeps: int  # steps per frame
    settle_steps: int  # unseen settling steps before the first frame
    spawn_moves: int  # spawn points moved because the engine found them overlapping
    bodies: tuple[BodyTrack, ...]
    contacts: tuple[ContactEvent, ...]
