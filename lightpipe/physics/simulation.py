"""Simulate one video's rigid bodies from its spec alone (`spec.physics`, `ObjectSpec.body`).

1. Resting bodies are dropped, in spec order, 1 cm above the ground at their planned (x, z)
   and rotation; a spot the engine finds closer than `SPAWN_CLEARANCE` to a placed body is
   resampled (a stream seeded by the spec's `video_seed`), and after `SPAWN_TRIES` the body is
   stacked above the others. They settle with damping and no bounce, unseen, until every one
   has been at rest for `REST_HOLD` seconds (at most `settle_seconds`), and are stopped.
2. Thrown bodies appear at their launch points (lifted until clear of the others) with their
   planned velocities, and everything gets its friction and restitution.
3. The video: `substeps` fixed steps per frame; the pose of every body is kept at every step
   (motion blur samples between frames), velocities and contact events per frame.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np

from lightpipe.physics.engine import engine_id, load_model
from lightpipe.physics.records import PHYSICS_CONVENTION, BodyTrack, ContactEvent, PhysicsMeta
from lightpipe.physics.rotations import euler_xyz, quaternion
from lightpipe.physics.shapes import collision_pieces, mass_properties
from lightpipe.planning.specs import VideoSpec

SPAWN_CLEARANCE = 0.005  # metres between a new body and the others
SPAWN_GAP = 0.01  # metres between a resting body's lowest point and the ground at its drop
SPAWN_TRIES = 24
REST_SPEED = 0.003  # m/s: a body slower than this (and REST_SPIN) is at rest
REST_SPIN = 0.03  # rad/s
REST_HOLD = 0.25  # seconds every body must stay at rest to end the settling
SETTLE_DAMPING = 1.0  # 1/s: velocities decay as exp(-t) while settling (bodies still topple)
# Rolling and spinning resistance, times the object's radius (MuJoCo's coefficients are
# lengths): a rolling object slows by about 1 m/s^2, as on a rough floor, and comes to rest.
ROLLING = 0.1
TORSIONAL = 0.05
IMPRATIO = 100.0  # friction stiffer than the normal force: no creep on MuJoCo's soft contacts
CONTACT_STEPS = 3  # the contacts' time constant, in steps (MuJoCo's least stable is 2)
PARK_HEIGHT, PARK_SPACING = 1000.0, 10.0  # metres: where bodies wait before they appear
GROUND_ID, FIRST_OBJECT_ID = 1, 2  # as in segmentation


@dataclass(frozen=True)
class Trajectory:
    """The simulated motion of a video's objects (k: spec.objects[k])."""

    step_hz: int
    substeps: int
    positions: np.ndarray  # (S,N,3) float64 mesh origin per step (step s at t = s / step_hz)
    quaternions: np.ndarray  # (S,N,4) float64 unit [w, x, y, z] per step
    scales: np.ndarray  # (N,)
    velocity: np.ndarray  # (F,N,3) mesh origin's, m/s
    angular_velocity: np.ndarray  # (F,N,3) rad/s
    masses: tuple[float, ...]
    contacts: tuple[ContactEvent, ...]
    settle_steps: int
    spawn_moves: int
    thrown: tuple[bool, ...] = ()
    settled: tuple[bool, ...] = ()  # came to rest in the settling phase (thrown: False)

    def poses_at(self, times: list[float]) -> np.ndarray:
        """(T,N,4,4) mesh -> world at `times` (seconds from the first frame): the stored step
        where a time falls on one (every frame does), else slerp between the two around it;
        clamped to the simulated span."""
        last = self.positions.shape[0] - 1
        out = []
        for t in times:
            s = min(max(t * self.step_hz, 0.0), float(last))
            nearest = round(s)
            if abs(s - nearest) < 1e-6:
                out.append(self._step_poses(nearest))
                continue
            lo = math.floor(s)
            out.append(self._between(lo, s - lo))
        return np.stack(out) if out else np.zeros((0, len(self.scales), 4, 4))

    def frame_poses(self, num_frames: int) -> np.ndarray:
        """(F,N,4,4) at the frames."""
        return np.stack([self._step_poses(f * self.substeps) for f in range(num_frames)])

    def _step_poses(self, step: int) -> np.ndarray:
        return np.stack([body_pose(self.positions[step, k], self.quaternions[step, k],
                                   float(self.scales[k])) for k in range(len(self.scales))]) \
            if len(self.scales) else np.zeros((0, 4, 4))

    def _between(self, lo: int, frac: float) -> np.ndarray:
        poses = []
        for k in range(len(self.scales)):
            p = (1.0 - frac) * self.positions[lo, k] + frac * self.positions[lo + 1, k]
            q = _slerp(self.quaternions[lo, k], self.quaternions[lo + 1, k], frac)
            poses.append(body_pose(p, q, float(self.scales[k])))
        return np.stack(poses) if poses else np.zeros((0, 4, 4))

    def meta(self, num_frames: int) -> PhysicsMeta:
        """The `physics` record of `NNNN.json` (frames only)."""
        steps = [f * self.substeps for f in range(num_frames)]
        bodies = tuple(BodyTrack(
            id=FIRST_OBJECT_ID + k, mass=self.masses[k], thrown=bool(self.thrown[k]),
            settled=bool(self.settled[k]),
            position=tuple(tuple(float(v) for v in self.positions[s, k]) for s in steps),
            quaternion=tuple(tuple(float(v) for v in self.quaternions[s, k]) for s in steps),
            velocity=tuple(tuple(float(v) for v in row) for row in self.velocity[:, k]),
            angular_velocity=tuple(tuple(float(v) for v in row)
                                   for row in self.angular_velocity[:, k]))
            for k in range(len(self.scales)))
        return PhysicsMeta(convention=PHYSICS_CONVENTION, engine=engine_id(),
                           step_hz=self.step_hz, substeps=self.substeps,
                           settle_steps=self.settle_steps, spawn_moves=self.spawn_moves,
                           bodies=bodies, contacts=self.contacts)


def body_pose(position, quaternion, scale: float) -> np.ndarray:
    """Mesh -> world 4x4 of a body: R(quaternion) * scale, then `position` (scalar float64
    math: the same bits everywhere). `NNNN.json`'s physics record rebuilds every pose with it."""
    w, x, y, z = (float(c) for c in quaternion)
    pose = np.eye(4)
    pose[:3, :3] = np.array([
        [1.0 - 2.0 * (y * y + z * z), 2.0 * (x * y - w * z), 2.0 * (x * z + w * y)],
        [2.0 * (x * y + w * z), 1.0 - 2.0 * (x * x + z * z), 2.0 * (y * z - w * x)],
        [2.0 * (x * z - w * y), 2.0 * (y * z + w * x), 1.0 - 2.0 * (x * x + y * y)],
    ]) * scale
    pose[:3, 3] = [float(c) for c in position]
    return pose


@functools.lru_cache(maxsize=4)
def simulate_video(spec: VideoSpec, asset_root: str | None, texture_size: int,
                   max_triangles: int | None = None) -> Trajectory:
    """The trajectory of `spec` (cached: the renderer, the annotations and the writer ask for
    the same video's); meshes as `load_object(asset_root, id, texture_size, max_triangles)`
    gives them (None: the default budget)."""
    from lightpipe.assets.loader import load_object

    budget = {} if max_triangles is None else {"max_triangles": max_triangles}
    meshes = [load_object(asset_root, obj.asset_id, texture_size, **budget).mesh
              for obj in spec.objects]
    return simulate(spec, meshes)


def simulate(spec: VideoSpec, meshes: list) -> Trajectory:
    """Run the simulation of `spec` with each object's mesh (unit space, as rendered)."""
    if spec.physics is None:
        raise ValueError(f"video {spec.index} is kinematic: it has no physics to simulate")
    return _World(spec, meshes).run()


def contact_solref(restitution: float, step_hz: int) -> tuple[float, float]:
    """MuJoCo's contact (time constant, damping ratio) for a coefficient of restitution: a
    damped spring contact of ratio z rebounds with e = exp(-pi z / sqrt(1 - z^2)), so
    z = -ln e / sqrt(pi^2 + ln^2 e) (e = 0: critically damped, no bounce)."""
    e = min(max(restitution, 1e-4), 1.0)
    log = math.log(e)
    return CONTACT_STEPS / step_hz, -log / math.sqrt(math.pi * math.pi + log * log)


class _World:
    def __init__(self, spec: VideoSpec, meshes: list) -> None:
        import mujoco

        self.mj, self.spec, self.physics = mujoco, spec, spec.physics
        self.rng = np.random.default_rng(np.random.SeedSequence([spec.video_seed, 0x5EED]))
        self.masses: list[float] = []
        self.extents: list[np.ndarray] = []  # collision vertices, body frame (scaled)
        pieces_of = []
        for obj, mesh in zip(spec.objects, meshes):
            pieces = collision_pieces(mesh.vertices, mesh.faces, self.physics.collision,
                                      obj.asset_id)
            pieces_of.append(pieces)
            self.extents.append(np.concatenate([p * obj.scale for p in pieces]))
        self.model, self.data = load_model(self._mjcf(pieces_of))
        self.moves = 0
        count = len(spec.objects)
        self.bodies = [self.model.body(f"b{k}").id for k in range(count)]
        self.geoms = [[g for g in range(self.model.ngeom) if self.model.geom_bodyid[g] == b]
                      for b in self.bodies]
        self.ground = self.model.geom("ground").id
        # Free joints: qpos [x y z qw qx qy qz], qvel [v (world), w (body frame)].
        self.qpos = [int(self.model.jnt_qposadr[self.model.body_jntadr[b]]) for b in self.bodies]
        self.qvel = [int(self.model.jnt_dofadr[self.model.body_jntadr[b]]) for b in self.bodies]
        self.pose_index = np.array([[a + i for i in range(7)] for a in self.qpos],
                                   dtype=np.int64).reshape(-1, 7)

    def _mjcf(self, pieces_of: list) -> str:
        """The model: the ground plane, one free body per object (a mesh geom per convex
        piece, the integrated mass and inertia) and an explicit contact pair for every two
        surfaces that may touch, with the pair's friction (the larger, as MuJoCo's default
        rule) and restitution (the product of the two, as Bullet and Kubric combine them)."""
        spec, physics = self.spec, self.physics
        assets, bodies = [], []
        # (geom name, body: -1 the ground, friction, spinning, rolling, restitution)
        surfaces = [("ground", -1, physics.ground_friction, 0.0, 0.0, physics.ground_restitution)]
        for k, (obj, pieces) in enumerate(zip(spec.objects, pieces_of)):
            volume, com, inertia = mass_properties(pieces, obj.scale)
            # A declared mass (`assets.yaml`) fixes the density of the collision shape.
            density, mass = obj.body.density, obj.body.density * volume
            if obj.body.mass is not None:
                density, mass = obj.body.mass / volume, obj.body.mass
            self.masses.append(float(mass))
            full = inertia * density
            geoms = []
            for j, piece in enumerate(pieces):
                assets.append(f'<mesh name="m{k}_{j}" vertex="{_floats(piece * obj.scale)}"/>')
                geoms.append(f'<geom name="g{k}_{j}" type="mesh" mesh="m{k}_{j}"/>')
                surfaces.append((f"g{k}_{j}", k, obj.body.friction, TORSIONAL * obj.scale,
                                 ROLLING * obj.scale, obj.body.restitution))
            park = (0.0, PARK_HEIGHT + PARK_SPACING * k, 0.0)
            bodies.append(
                f'<body name="b{k}" pos="{_floats(park)}"><freejoint/>'
                f'<inertial pos="{_floats(com)}" mass="{mass!r}" fullinertia="'
                f'{_floats([full[0, 0], full[1, 1], full[2, 2], full[0, 1], full[0, 2], full[1, 2]])}"'
                f'/>{"".join(geoms)}</body>')
        pairs, self.pair_restitution = [], []
        for i, (name_a, body_a, friction_a, spin_a, roll_a, e_a) in enumerate(surfaces):
            for name_b, body_b, friction_b, spin_b, roll_b, e_b in surfaces[i + 1:]:
                if body_a == body_b:
                    continue  # two pieces of one body
                friction = max(friction_a, friction_b)
                spin, roll = max(spin_a, spin_b), max(roll_a, roll_b)
                pairs.append(f'<pair geom1="{name_a}" geom2="{name_b}" condim="6" '
                             f'friction="{_floats([friction, friction, spin, roll, roll])}" '
                             f'solref="{_floats(contact_solref(0.0, physics.step_hz))}"/>')
                self.pair_restitution.append(e_a * e_b)
        ground = '<geom name="ground" type="plane" size="0 0 1" zaxis="0 1 0"/>'
        return (f'<mujoco model="lightpipe"><compiler angle="radian"/>'
                f'<option timestep="{1.0 / physics.step_hz!r}" '
                f'gravity="0 {-physics.gravity!r} 0" integrator="implicitfast" '
                f'impratio="{IMPRATIO!r}" cone="elliptic"/>'
                f'<default><geom contype="0" conaffinity="0"/></default>'
                f'<asset>{"".join(assets)}</asset>'
                f'<worldbody>{ground}{"".join(bodies)}</worldbody>'
                f'<contact>{"".join(pairs)}</contact></mujoco>')

    def run(self) -> Trajectory:
        spec = self.spec
        resting = [k for k, obj in enumerate(spec.objects) if not obj.body.thrown]
        thrown = [k for k, obj in enumerate(spec.objects) if obj.body.thrown]
        self.live: list[int] = []
        for k in resting:
            self._spawn_resting(k)
        settle = self._settle(resting, thrown)
        for k in thrown:
            self._spawn_thrown(k)
        for pair, restitution in enumerate(self.pair_restitution):  # the video's bounce
            self.model.pair_solref[pair] = contact_solref(restitution, self.physics.step_hz)
        self.mj.mj_forward(self.model, self.data)
        return self._record(settle)

    def _set(self, k: int, position, quaternion_wxyz, linear=(0.0, 0.0, 0.0),
             angular_world=(0.0, 0.0, 0.0)) -> None:
        a, v = self.qpos[k], self.qvel[k]
        self.data.qpos[a:a + 3] = [float(c) for c in position]
        self.data.qpos[a + 3:a + 7] = [float(c) for c in quaternion_wxyz]
        rotation = body_pose((0.0, 0.0, 0.0), quaternion_wxyz, 1.0)[:3, :3]
        self.data.qvel[v:v + 3] = [float(c) for c in linear]
        self.data.qvel[v + 3:v + 6] = [  # the free joint's angular velocity is in body axes
            sum(rotation[j, i] * angular_world[j] for j in range(3)) for i in range(3)]

    def _orientation(self, k: int) -> tuple[np.ndarray, tuple]:
        rotation = euler_xyz(*(math.radians(a) for a in self.spec.objects[k].rotation_deg))
        return rotation, quaternion(rotation)

    def _clear(self, k: int) -> bool:
        """Whether body k is at least SPAWN_CLEARANCE from every placed body, as the engine
        measures it (its signed geom distance; the ground excepted)."""
        self.mj.mj_forward(self.model, self.data)
        fromto = np.zeros(6)
        for other in self.live:
            for g in self.geoms[k]:
                for h in self.geoms[other]:
                    if self.mj.mj_geomDistance(self.model, self.data, g, h, SPAWN_CLEARANCE,
                                               fromto) < SPAWN_CLEARANCE:
                        return False
        return True

    def _spawn_resting(self, k: int) -> None:
        obj = self.spec.objects[k]
        rotation, q = self._orientation(k)
        rotated = self.extents[k] @ rotation.T
        lift = SPAWN_GAP - float(rotated[:, 1].min())
        x, z = obj.position[0], obj.position[2]
        for attempt in range(SPAWN_TRIES + 1):
            if attempt == SPAWN_TRIES:  # crowded: stack it above everything placed so far
                top = max((self._top(o) for o in self.live), default=0.0)
                self._set(k, (x, top + lift, z), q)
                break
            self._set(k, (x, lift, z), q)
            if self._clear(k):
                break
            self.moves += 1
            radius = 2.0 * math.sqrt(self.rng.random()) + 0.1 * attempt
            angle = self.rng.uniform(0.0, 2.0 * math.pi)
            x, z = radius * math.cos(angle), radius * math.sin(angle)
        self.live.append(k)

    def _top(self, k: int) -> float:
        a = self.qpos[k]
        rotation = body_pose((0.0, 0.0, 0.0), self.data.qpos[a + 3:a + 7], 1.0)[:3, :3]
        return float((self.extents[k] @ rotation.T)[:, 1].max() + self.data.qpos[a + 1])

    def _spawn_thrown(self, k: int) -> None:
        body = self.spec.objects[k].body
        _, q = self._orientation(k)
        x, y, z = body.launch_position
        for _ in range(100):
            self._set(k, (x, y, z), q)
            if self._clear(k):
                break
            self.moves += 1
            y += 0.1
        self._set(k, (x, y, z), q, body.linear_velocity, body.angular_velocity)
        self.live.append(k)

    def _settle(self, resting: list[int], parked: list[int]) -> int:
        """Step the resting bodies (damped, no bounce) until all have been at rest for
        REST_HOLD seconds or `settle_seconds` ran out; the thrown ones wait, parked far
        above. Every body then stops; `self.settled` says which were at rest (one still
        toppling or rolling at the limit goes on in the video)."""
        physics = self.physics
        limit = round(physics.settle_seconds * physics.step_hz)
        hold = max(1, round(REST_HOLD * physics.step_hz))
        keep = math.exp(-SETTLE_DAMPING / physics.step_hz)
        parked_state = [(self.qpos[k], self.data.qpos[self.qpos[k]:self.qpos[k] + 7].copy())
                        for k in parked]
        calm = dict.fromkeys(resting, 0)
        steps = 0
        while steps < limit and resting:
            self.mj.mj_step(self.model, self.data)
            steps += 1
            for k in parked:  # hold still
                self.data.qvel[self.qvel[k]:self.qvel[k] + 6] = 0.0
            for a, state in parked_state:
                self.data.qpos[a:a + 7] = state
            for k in resting:
                v = self.qvel[k]
                self.data.qvel[v:v + 6] *= keep
                linear, angular = self.data.qvel[v:v + 3], self.data.qvel[v + 3:v + 6]
                still = math.sqrt(float(linear @ linear)) < REST_SPEED and \
                    math.sqrt(float(angular @ angular)) < REST_SPIN
                calm[k] = calm[k] + 1 if still else 0
            if min(calm.values()) >= hold:
                break
        self.settled = {k: calm[k] >= hold for k in resting}
        for k in resting:
            self.data.qvel[self.qvel[k]:self.qvel[k] + 6] = 0.0
        self.data.qacc_warmstart[:] = 0.0
        return steps

    def _velocities(self) -> tuple[list, list]:
        linear_out, angular_out = [], []
        for k in range(len(self.bodies)):
            a, v = self.qpos[k], self.qvel[k]
            rotation = body_pose((0.0, 0.0, 0.0), self.data.qpos[a + 3:a + 7], 1.0)[:3, :3]
            local = [float(c) for c in self.data.qvel[v + 3:v + 6]]
            linear_out.append(tuple(float(c) for c in self.data.qvel[v:v + 3]))
            angular_out.append(tuple(rotation[i, 0] * local[0] + rotation[i, 1] * local[1]
                                     + rotation[i, 2] * local[2] for i in range(3)))
        return linear_out, angular_out

    def _record(self, settle_steps: int) -> Trajectory:
        spec, physics = self.spec, self.physics
        sub, frames = physics.substeps, spec.num_frames
        lookup = np.full(self.model.nbody, -1, dtype=np.int64)
        lookup[self.model.geom_bodyid[self.ground]] = GROUND_ID
        for k, b in enumerate(self.bodies):
            lookup[b] = FIRST_OBJECT_ID + k
        geom_ids = lookup[self.model.geom_bodyid]  # each geom's body id (-1: no body of ours)
        dt = 1.0 / physics.step_hz
        states = [self.data.qpos[self.pose_index]]
        lin, ang = self._velocities()
        velocity, angular = [lin], [ang]
        previous = set(self._touching([self._step_contacts(geom_ids)], dt))
        events = []
        for frame in range(1, frames + 1):
            steps = []
            for _ in range(sub):
                self.mj.mj_step(self.model, self.data)
                steps.append(self._step_contacts(geom_ids))
                states.append(self.data.qpos[self.pose_index])
            touching = self._touching(steps, dt)
            if frame < frames:
                lin, ang = self._velocities()
                velocity.append(lin)
                angular.append(ang)
                events += [ContactEvent(frame=frame, a=a, b=b, impulse=impulse, position=point)
                           for (a, b), (impulse, point) in sorted(touching.items())
                           if (a, b) not in previous]
            previous = set(touching)
        count, instants = len(self.bodies), len(states)  # sizes spelled out: count may be 0
        state = np.stack(states).reshape(-1, 7)
        return Trajectory(
            step_hz=physics.step_hz, substeps=sub,
            positions=state[:, :3].reshape(instants, count, 3).copy(),
            quaternions=_canonical_rows(state[:, 3:7]).reshape(instants, count, 4),
            scales=np.array([obj.scale for obj in spec.objects], dtype=np.float64),
            velocity=np.array(velocity, dtype=np.float64).reshape(frames, count, 3),
            angular_velocity=np.array(angular, dtype=np.float64).reshape(frames, count, 3),
            masses=tuple(self.masses), contacts=tuple(events), settle_steps=settle_steps,
            spawn_moves=self.moves, thrown=tuple(obj.body.thrown for obj in spec.objects),
            settled=tuple(self.settled.get(k, False) for k in range(count)))

    def _step_contacts(self, geom_ids: np.ndarray):
        """This step's contacts as the engine lists them: (body ids (n, 2), constraint rows,
        normal forces, points), None when there are none; `_touching` keeps those between two
        different bodies. With elliptic cones a contact's first constraint row is its normal
        force (a row of -1, a contact without constraints, reads any force: dropped there).
        Kept raw: a step costs a few copies, the filtering runs once per frame."""
        count = self.data.ncon
        if count == 0:
            return None
        contacts = self.data.contact
        rows = contacts.efc_address[:count]
        forces = self.data.efc_force
        return (geom_ids[contacts.geom[:count]], rows.copy(),
                forces[rows] if forces.size else np.zeros(count), contacts.pos[:count].copy())

    @staticmethod
    def _touching(steps: list, dt: float) -> dict:
        """(id a, id b) -> (normal impulse summed over `steps`, point of the strongest contact)
        for every pair of different bodies touching in any of them (`_step_contacts`; sums in
        step order: the same bits each run)."""
        steps = [s for s in steps if s is not None]
        if not steps:
            return {}
        ids = np.concatenate([s[0] for s in steps])
        rows = np.concatenate([s[1] for s in steps])
        keep = (ids[:, 0] >= 0) & (ids[:, 1] >= 0) & (ids[:, 0] != ids[:, 1]) & (rows >= 0)
        if not keep.any():
            return {}
        ids = ids[keep]
        keys = ids.min(axis=1) * 4096 + ids.max(axis=1)  # a < b: id a * 4096 + id b
        forces = np.concatenate([s[2] for s in steps])[keep]
        points = np.concatenate([s[3] for s in steps])[keep]
        unique, inverse = np.unique(keys, return_inverse=True)
        impulses = np.zeros(len(unique))
        np.add.at(impulses, inverse, forces * dt)  # unbuffered: one by one, in order
        order = np.lexsort((-forces, inverse))  # per pair, the strongest first
        first = order[np.searchsorted(inverse[order], np.arange(len(unique)))]
        return {(int(key) // 4096, int(key) % 4096):
                (float(impulses[i]), tuple(float(c) for c in points[first[i]]))
                for i, key in enumerate(unique.tolist())}


def _floats(values) -> str:
    """Numbers for MJCF: repr of float64, so the model holds exactly these values."""
    return " ".join(repr(float(v)) for v in np.asarray(values, dtype=np.float64).ravel())


def _canonical_rows(q: np.ndarray) -> np.ndarray:
    """`_canonical` of each row of (N,4) [w, x, y, z]."""
    q = np.asarray(q, dtype=np.float64)
    norm = np.sqrt((q[:, 0] * q[:, 0] + q[:, 1] * q[:, 1]) + (q[:, 2] * q[:, 2] + q[:, 3] * q[:, 3]))
    q = q / norm[:, None]
    return np.where(q[:, :1] < 0, -q, q) + 0.0


def _canonical(q) -> tuple[float, float, float, float]:
    """Unit [w, x, y, z] with w >= 0."""
    w, x, y, z = (float(c) for c in q)
    norm = math.sqrt((w * w + x * x) + (y * y + z * z))
    q = (w / norm, x / norm, y / norm, z / norm)
    return tuple(-c + 0.0 for c in q) if q[0] < 0 else tuple(c + 0.0 for c in q)


def _slerp(a: np.ndarray, b: np.ndarray, t: float) -> tuple[float, ...]:
    a, b = [float(c) for c in a], [float(c) for c in b]
    dot = sum(x * y for x, y in zip(a, b))
    if dot < 0.0:
        b, dot = [-c for c in b], -dot
    if dot > 0.9995:
        out = [x + t * (y - x) for x, y in zip(a, b)]
    else:
        theta = math.acos(min(dot, 1.0))
        sa, sb = math.sin((1.0 - t) * theta), math.sin(t * theta)
        out = [(sa * x + sb * y) / math.sin(theta) for x, y in zip(a, b)]
    return _canonical(out)
