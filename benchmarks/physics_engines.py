"""Physics engines for Lightpipe's object drops: PyBullet against MuJoCo, measured.

    python benchmarks/physics_engines.py [--videos 20] [--configs ...]        # Lightpipe scenes
    python benchmarks/physics_engines.py --synthetic [--objects 6] [--repeats 3] [--seed 0]
                                         [--engines ...] [--check-wheels]

Default (`--lightpipe`): Lightpipe's own planned videos 0..N-1 (`plan_video(42, Settings(), i,
...)`, default settings: 2-5 objects of bounding radius 0.4-0.9 m, densities 200-2900 kg/m^3,
about a third thrown in from 0.7-1.6 m), each object's collision hull from its mesh, run in four
configurations: PyBullet 3.2.7 at 240 Hz (Kubric's flags, hard contacts, native restitution) and
at 960 Hz, MuJoCo at 240 Hz with the contact time constant 0.02 s, and MuJoCo at 960 Hz with 3
steps (3.1 ms), which is Lightpipe's `lightpipe.physics.simulation.simulate` unchanged (the 240
Hz row is the same code with the step rate and the time constant replaced). The PyBullet runner
follows the same protocol as `simulate` (see `lp_pybullet`): resting objects dropped 1 cm above
the ground at their planned (x, z) and rotation and settled (damped, no bounce, until at rest or
settle_seconds), thrown ones launched with their planned velocities, then 81 frames at 16 fps.
Measured per configuration: the deepest hull vertex below the ground and inside another object's
hull (both ways) at the frames, and at every step (ground) or every 1/240 s (object-object);
unstable videos (a body faster than 20 m/s or higher than 10 m at any step); whether the sha256
of every video's frame poses is the same from 2 fresh processes and this one; time per video
(model build + settle + 81 frames); the ground gap at rest; the speeds at the last step.

`--synthetic`: the first comparison's scene, the same in every engine that is installed (an
engine that is missing gets a "not installed" row): a ground
plane (y = 0, Y-up as in Lightpipe's outputs, friction 0.5), N convex objects made from trimesh
primitives (box, icosphere, cylinder, cone, capsule, convex hull of 40 random points; each
scaled to a bounding-sphere radius of 0.3-0.6 m, density 1000) dropped from random
non-overlapping poses 0.2-1.5 m above the ground, two of them thrown at 2 m/s horizontally
with a spin; 240 Hz fixed step, 2 s of settling, then 81 frames at 16 fps (15 steps a frame).
Collision shapes are the convex hulls of the mesh vertices in both engines; mass and the
principal inertia are computed once here and given to both.

Measured per engine (`--synthetic`):

- determinism: sha256 of the float64 trajectory (position + quaternion of every object at
  every step) from 3 separate processes, and from two runs in one process (PyBullet:
  resetSimulation between); for PyBullet also deterministicOverlappingPairs 0 against 1;
- collision quality, measured outside the engine: the deepest vertex of any object inside
  another's convex hull (scipy ConvexHull planes, both ways) and below the ground, in mm, over
  the 81 frames and over every step; the largest speed at the last frame (comes to rest);
- time per video: settle + 81 frames, wall seconds, median of --repeats (setup apart);
- install weight: the installed files of the engine's distribution and its dependencies;
  --check-wheels asks pip for manylinux x86_64 wheels for CPython 3.10-3.13 (network, slow).
"""

from __future__ import annotations

import argparse
import hashlib
import importlib.metadata
import importlib.util
import json
import math
import os
import platform
import re
import shlex
import statistics
import subprocess
import sys
import tempfile
import time

import numpy as np
import trimesh
from scipy.spatial import ConvexHull
from scipy.spatial.transform import Rotation

DT = 1.0 / 240.0
GRAVITY = 9.81
FRICTION = 0.5
DENSITY = 1000.0
SETTLE_STEPS = 480  # 2 s at 240 Hz
FRAMES = 81
STEPS_PER_FRAME = 15  # 240 Hz / 16 fps
TOTAL_STEPS = SETTLE_STEPS + FRAMES * STEPS_PER_FRAME
SHAPES = ("box", "icosphere", "cylinder", "cone", "capsule", "hull40")
# engine -> distribution; mujoco-stiff: MuJoCo with stiffer contacts than its default
# solref="0.02 1" (a 20 ms time constant; 2 steps = 8.3 ms is the least it accepts at 240 Hz)
ENGINES = {"pybullet": "pybullet", "mujoco": "mujoco", "mujoco-stiff": "mujoco"}
STIFF_SOLREF = "0.01 1"
PYTHONS = ("3.10", "3.11", "3.12", "3.13")


# --------------------------------------------------------------------------------------------
# Scene


def _primitive(kind: str, rng: np.random.Generator) -> trimesh.Trimesh:
    if kind == "box":
        return trimesh.creation.box(extents=rng.uniform(0.6, 1.4, 3))
    if kind == "icosphere":
        return trimesh.creation.icosphere(subdivisions=2)
    if kind == "cylinder":
        return trimesh.creation.cylinder(radius=0.5, height=rng.uniform(0.6, 1.4), sections=24)
    if kind == "cone":
        return trimesh.creation.cone(radius=0.5, height=rng.uniform(0.8, 1.4), sections=24)
    if kind == "capsule":
        return trimesh.creation.capsule(height=rng.uniform(0.4, 1.0), radius=0.3, count=[12, 12])
    if kind == "hull40":
        return trimesh.convex.convex_hull(rng.normal(size=(40, 3)))
    raise ValueError(kind)


def _body(kind: str, rng: np.random.Generator) -> dict:
    """Convex hull of a primitive in its principal frame, scaled to a bounding radius."""
    hull = trimesh.convex.convex_hull(_primitive(kind, rng).vertices)
    verts = hull.vertices - hull.center_mass
    radius = rng.uniform(0.3, 0.6)
    verts *= radius / np.linalg.norm(verts, axis=1).max()
    hull = trimesh.Trimesh(verts, trimesh.convex.convex_hull(verts).faces)
    hull.density = DENSITY
    com = hull.center_mass
    inertia, axes = np.linalg.eigh(hull.moment_inertia)
    if np.linalg.det(axes) < 0:
        axes[:, 2] *= -1
    verts = (hull.vertices - com) @ axes  # body frame: origin at the centre of mass, principal
    return {
        "kind": kind,
        "verts": np.ascontiguousarray(verts),
        "radius": float(np.linalg.norm(verts, axis=1).max()),
        "mass": float(hull.mass),
        "inertia": [float(v) for v in inertia],
    }


def make_scene(n_objects: int, seed: int) -> list[dict]:
    rng = np.random.default_rng(seed)
    bodies = [_body(SHAPES[i % len(SHAPES)], rng) for i in range(n_objects)]
    half = max(1.5, 0.7 * math.sqrt(n_objects))
    placed: list[tuple[np.ndarray, float]] = []
    for body in bodies:
        r = body["radius"]
        for _ in range(10000):
            pos = np.array(
                [rng.uniform(-half, half), r + rng.uniform(0.2, 1.5), rng.uniform(-half, half)]
            )
            if all(np.linalg.norm(pos - p) > r + q + 0.02 for p, q in placed):
                break
        else:
            raise RuntimeError("could not place the objects without overlap")
        placed.append((pos, r))
        body["pos"] = pos
        body["quat"] = Rotation.random(random_state=rng).as_quat()  # x, y, z, w
        body["vel"] = np.zeros(3)
        body["omega"] = np.zeros(3)
    for body in bodies[:2]:  # thrown towards the middle, spinning
        direction = -body["pos"][[0, 2]]
        direction /= np.linalg.norm(direction)
        body["vel"] = 2.0 * np.array([direction[0], 0.0, direction[1]])
        spin = rng.normal(size=3)
        body["omega"] = 4.0 * spin / np.linalg.norm(spin)
    return bodies


# --------------------------------------------------------------------------------------------
# Engines. Each run returns the pose of every object, (steps, N, 7) as x y z qx qy qz qw,
# at every step (record="steps") or at the 81 frames (record="frames"), and the final speeds.


def _record_rows(record: str) -> tuple[int, set[int]]:
    if record == "steps":
        return TOTAL_STEPS, set(range(TOTAL_STEPS))
    ends = {SETTLE_STEPS + (f + 1) * STEPS_PER_FRAME - 1 for f in range(FRAMES)}
    return FRAMES, ends


def run_pybullet(scene, record="steps", client=None, overlapping_pairs=1):
    import pybullet as pb

    own = client is None
    if own:
        client = pb.connect(pb.DIRECT)
    kw = {"physicsClientId": client}
    t0 = time.perf_counter()
    pb.resetSimulation(**kw)
    pb.setPhysicsEngineParameter(
        fixedTimeStep=DT,
        numSubSteps=0,
        deterministicOverlappingPairs=overlapping_pairs,
        warmStartingFactor=0,
        useSplitImpulse=1,
        restitutionVelocityThreshold=0,
        contactSlop=0,
        enableConeFriction=0,
        **kw,
    )
    pb.setGravity(0, -GRAVITY, 0, **kw)
    # Bullet multiplies the two frictions of a contact: sqrt(0.5) each gives 0.5 everywhere.
    mu = math.sqrt(FRICTION)
    plane = pb.createMultiBody(
        0, pb.createCollisionShape(pb.GEOM_PLANE, planeNormal=[0, 1, 0], **kw), **kw
    )
    pb.changeDynamics(plane, -1, lateralFriction=mu, restitution=0, **kw)
    ids = []
    for body in scene:
        shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=body["verts"].tolist(), **kw)
        uid = pb.createMultiBody(
            body["mass"],
            shape,
            basePosition=body["pos"].tolist(),
            baseOrientation=body["quat"].tolist(),
            **kw,
        )
        pb.changeDynamics(
            uid,
            -1,
            lateralFriction=mu,
            restitution=0,
            linearDamping=0,
            angularDamping=0,
            localInertiaDiagonal=body["inertia"],
            **kw,
        )
        pb.resetBaseVelocity(uid, body["vel"].tolist(), body["omega"].tolist(), **kw)
        ids.append(uid)
    setup = time.perf_counter() - t0

    rows, at = _record_rows(record)
    traj = np.empty((rows, len(ids), 7))
    row = 0
    t0 = time.perf_counter()
    for step in range(TOTAL_STEPS):
        pb.stepSimulation(**kw)
        if step in at:
            for i, uid in enumerate(ids):
                pos, quat = pb.getBasePositionAndOrientation(uid, **kw)
                traj[row, i, :3] = pos
                traj[row, i, 3:] = quat
            row += 1
    sim = time.perf_counter() - t0
    speeds = [float(np.linalg.norm(pb.getBaseVelocity(uid, **kw)[0])) for uid in ids]
    if own:
        pb.disconnect(client)
    return traj, speeds, setup, sim


def mjcf(scene, solref: str | None = None) -> str:
    def floats(values) -> str:
        return " ".join(repr(float(v)) for v in np.ravel(values))

    assets = "\n".join(
        f'    <mesh name="m{i}" vertex="{floats(b["verts"])}"/>' for i, b in enumerate(scene)
    )
    bodies = "\n".join(
        f'    <body name="b{i}">\n      <freejoint/>\n'
        f'      <inertial pos="0 0 0" mass="{b["mass"]!r}" diaginertia="{floats(b["inertia"])}"/>\n'
        f'      <geom type="mesh" mesh="m{i}"/>\n    </body>'
        for i, b in enumerate(scene)
    )
    solref_attr = f' solref="{solref}"' if solref else ""
    return f"""<mujoco model="drop">
  <option timestep="{DT!r}" gravity="0 {-GRAVITY!r} 0"/>
  <default><geom friction="{FRICTION} 0.005 0.0001" condim="3"{solref_attr}/></default>
  <asset>
{assets}
  </asset>
  <worldbody>
    <geom name="ground" type="plane" size="0 0 1" zaxis="0 1 0"/>
{bodies}
  </worldbody>
</mujoco>
"""


def run_mujoco(scene, record="steps", solref=None):
    import mujoco

    t0 = time.perf_counter()
    model = mujoco.MjModel.from_xml_string(mjcf(scene, solref))
    data = mujoco.MjData(model)
    n = len(scene)
    qpos = data.qpos.reshape(n, 7)
    qvel = data.qvel.reshape(n, 6)
    for i, body in enumerate(scene):
        qpos[i, :3] = body["pos"]
        qpos[i, 3:] = np.roll(body["quat"], 1)  # MuJoCo: w x y z
        rot = Rotation.from_quat(body["quat"]).as_matrix()
        qvel[i, :3] = body["vel"]  # free joint: linear velocity in the world frame,
        qvel[i, 3:] = rot.T @ body["omega"]  # angular velocity in the body frame
    mujoco.mj_forward(model, data)
    setup = time.perf_counter() - t0

    rows, at = _record_rows(record)
    traj = np.empty((rows, n, 7))
    row = 0
    t0 = time.perf_counter()
    for step in range(TOTAL_STEPS):
        mujoco.mj_step(model, data)
        if step in at:  # qpos is the state after the step (xpos would be the one before it)
            traj[row, :, :3] = qpos[:, :3]
            traj[row, :, 3:6] = qpos[:, 4:]
            traj[row, :, 6] = qpos[:, 3]
            row += 1
    sim = time.perf_counter() - t0
    speeds = [float(v) for v in np.linalg.norm(qvel[:, :3], axis=1)]
    return traj, speeds, setup, sim


def run(engine: str, scene, **kw):
    if engine == "mujoco-stiff":
        return run_mujoco(scene, solref=STIFF_SOLREF, **kw)
    return {"pybullet": run_pybullet, "mujoco": run_mujoco}[engine](scene, **kw)


def digest(traj: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(traj, dtype=np.float64).tobytes()).hexdigest()


def engine_version(engine: str) -> str | None:
    if importlib.util.find_spec(ENGINES[engine]) is None:
        return None
    try:
        return importlib.metadata.version(ENGINES[engine])
    except importlib.metadata.PackageNotFoundError:
        return "?"


# --------------------------------------------------------------------------------------------
# Measurements outside the engines


def penetration(scene, traj: np.ndarray) -> tuple[float, float]:
    """Deepest vertex inside another object's hull and below the ground over all rows, in m."""
    verts = [b["verts"] for b in scene]
    planes = [ConvexHull(v).equations for v in verts]  # n . x + d <= 0 inside
    radii = [b["radius"] for b in scene]
    rots = Rotation.from_quat(traj[..., 3:].reshape(-1, 4)).as_matrix()
    rots = rots.reshape(traj.shape[0], traj.shape[1], 3, 3)
    pos = traj[..., :3]
    ground = pair = 0.0
    for t in range(traj.shape[0]):
        world = [verts[i] @ rots[t, i].T + pos[t, i] for i in range(len(verts))]
        ground = max(ground, -min(w[:, 1].min() for w in world))
        for a in range(len(verts)):
            for b in range(len(verts)):
                if a == b or np.linalg.norm(pos[t, a] - pos[t, b]) > radii[a] + radii[b]:
                    continue
                local = (world[a] - pos[t, b]) @ rots[t, b]  # A's vertices in B's frame
                signed = local @ planes[b][:, :3].T + planes[b][:, 3]
                pair = max(pair, float(-signed.max(axis=1).min()))
    return pair, ground


def rest_gap(scene, pose: np.ndarray) -> float | None:
    """Mean height of the lowest vertex of the objects that lie on the ground (within 5 mm)."""
    lows = []
    for body, (x, y, z, *quat) in zip(scene, pose):
        low = (body["verts"] @ Rotation.from_quat(quat).as_matrix().T)[:, 1].min() + y
        if abs(low) < 0.005:
            lows.append(low)
    return float(np.mean(lows)) if lows else None


def _dist_files(name: str) -> tuple[int, list[str]]:
    dist = importlib.metadata.distribution(name)
    size = 0
    for f in dist.files or []:
        path = dist.locate_file(f)
        if os.path.isfile(path):
            size += os.path.getsize(path)
    requires = []
    for req in dist.requires or []:
        if "extra ==" in req:
            continue
        requires.append(re.match(r"[A-Za-z0-9._-]+", req).group(0))
    return size, requires


def install_size(dist: str) -> tuple[float, float, list[str]]:
    """MB of the distribution's installed files, MB of its dependencies (numpy apart)."""
    own, requires = _dist_files(dist)
    seen, todo, deps = {dist.lower(), "numpy"}, list(requires), 0
    names = []
    while todo:
        name = todo.pop()
        if name.lower() in seen:
            continue
        seen.add(name.lower())
        try:
            size, more = _dist_files(name)
        except importlib.metadata.PackageNotFoundError:
            continue
        deps += size
        names.append(name)
        todo += more
    return own / 1e6, deps / 1e6, sorted(names)


def check_wheels(spec: str) -> str:
    found = []
    for py in PYTHONS:
        with tempfile.TemporaryDirectory() as tmp:
            cmd = [
                sys.executable,
                "-m",
                "pip",
                "download",
                "-q",
                "--no-deps",
                "--only-binary=:all:",
                "--python-version",
                py,
                "--platform",
                "manylinux2014_x86_64",
                "--platform",
                "manylinux_2_28_x86_64",
                "-d",
                tmp,
                spec,
            ]
            ok = subprocess.run(cmd, capture_output=True, timeout=600).returncode == 0
        found.append(f"{py} {'yes' if ok else 'NO'}")
    return ", ".join(found)


# --------------------------------------------------------------------------------------------
# Lightpipe's own planned scenes (the default mode). Each configuration simulates the same
# planned videos: resting objects dropped and settled, thrown ones launched, 81 frames.

LP_SEED = 42
LP_CONFIGS = {  # name -> (engine, step Hz, MuJoCo contact time constant in s or None)
    "pybullet-240": ("pybullet", 240, None),
    "pybullet-960": ("pybullet", 960, None),
    "mujoco-240": ("mujoco", 240, 0.02),
    "mujoco-960": ("mujoco", 960, None),  # None: Lightpipe's own, CONTACT_STEPS steps
}
LP_LABELS = {
    "pybullet-240": "pybullet 240 Hz (Kubric flags)",
    "pybullet-960": "pybullet 960 Hz (same flags)",
    "mujoco-240": "mujoco 240 Hz, timeconst 0.02 s",
    "mujoco-960": "mujoco 960 Hz, timeconst 3 steps = 3.1 ms (Lightpipe's `simulate`)",
}
MAX_SPEED, MAX_HEIGHT = 20.0, 10.0  # a run is unstable if any body exceeds either


def _repo_on_path() -> None:
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    if root not in sys.path:
        sys.path.insert(0, root)


def lp_scenes(videos: int) -> list[tuple]:
    """(spec, meshes, hulls) of Lightpipe videos 0..videos-1 (seed 42, default settings);
    hulls: each object's collision hull vertices in its mesh frame, scaled (metres)."""
    _repo_on_path()
    from lightpipe.assets.loader import load_object
    from lightpipe.config.settings import Settings
    from lightpipe.physics.shapes import collision_pieces
    from lightpipe.planning.planner import asset_pools, plan_video

    settings = Settings()
    pools = asset_pools(LP_SEED, settings)
    out = []
    for i in range(videos):
        spec = plan_video(LP_SEED, settings, i, pools)
        meshes = [load_object(None, obj.asset_id, 128).mesh for obj in spec.objects]
        hulls = [np.concatenate(collision_pieces(m.vertices, m.faces, spec.physics.collision,
                                                 obj.asset_id)) * obj.scale
                 for obj, m in zip(spec.objects, meshes)]
        out.append((spec, meshes, hulls))
    return out


def _rotations(q: np.ndarray) -> np.ndarray:
    """(..., 3, 3) from unit quaternions (..., 4) [w, x, y, z]."""
    w, x, y, z = (q[..., i] for i in range(4))
    return np.stack([
        np.stack([1 - 2 * (y * y + z * z), 2 * (x * y - w * z), 2 * (x * z + w * y)], -1),
        np.stack([2 * (x * y + w * z), 1 - 2 * (x * x + z * z), 2 * (y * z - w * x)], -1),
        np.stack([2 * (x * z - w * y), 2 * (y * z + w * x), 1 - 2 * (x * x + y * y)], -1),
    ], -2)


def lp_mujoco(spec, meshes, hz: int, timeconst: float | None):
    """Lightpipe's shipped simulation (`lightpipe.physics.simulation.simulate`); at another
    step rate with the planned spec's step_hz/substeps replaced and, with `timeconst`, the
    contact time constant set to it (CONTACT_STEPS = timeconst * hz)."""
    from dataclasses import replace

    from lightpipe.physics import simulation

    if hz != spec.physics.step_hz:
        spec = replace(spec, physics=replace(spec.physics, step_hz=hz, substeps=hz // spec.fps))
    default = simulation.CONTACT_STEPS
    if timeconst is not None:
        simulation.CONTACT_STEPS = timeconst * hz
    try:
        traj = simulation.simulate(spec, meshes)
    finally:
        simulation.CONTACT_STEPS = default
    return traj.positions, traj.quaternions, traj.substeps


def lp_pybullet(spec, meshes, hz: int):
    """The same protocol as Lightpipe's `simulate`, in PyBullet: resting bodies dropped in spec
    order 1 cm above the ground at their planned (x, z) and rotation (a spot closer than 5 mm
    to a placed body is resampled from the same seeded stream), settled with velocities
    decaying as exp(-t) and no bounce until all have been at rest for 0.25 s (at most
    settle_seconds), stopped; thrown bodies appear at their launch points (lifted 10 cm at a
    time until clear) with their velocities; every body gets its friction and restitution;
    81 frames. Returns mesh-origin positions (S,N,3) and [w,x,y,z] quaternions (S,N,4) at every
    step, and the steps per frame."""
    import pybullet as pb

    from lightpipe.physics import simulation as lp
    from lightpipe.physics.rotations import euler_xyz, quaternion
    from lightpipe.physics.shapes import collision_pieces, mass_properties

    physics = spec.physics
    sub = hz // spec.fps
    client = pb.connect(pb.DIRECT)
    kw = {"physicsClientId": client}
    pb.setPhysicsEngineParameter(
        fixedTimeStep=1.0 / hz, numSubSteps=0, deterministicOverlappingPairs=1,
        warmStartingFactor=0, useSplitImpulse=1, restitutionVelocityThreshold=0,
        contactSlop=0, enableConeFriction=0, **kw)
    pb.setGravity(0, -physics.gravity, 0, **kw)
    # Bullet multiplies the two bodies' frictions and restitutions: each body gets the square
    # root (a contact has the geometric mean; MuJoCo's has the larger friction and the mean
    # damping ratio). Rolling/spinning: Bullet combines r_a f_b + r_b f_a, so an object gets
    # Lightpipe's coefficient / sqrt(ground friction) and meets the ground with exactly it.
    ground_mu = math.sqrt(physics.ground_friction)
    plane = pb.createMultiBody(
        0, pb.createCollisionShape(pb.GEOM_PLANE, planeNormal=[0, 1, 0], **kw), **kw)
    pb.changeDynamics(plane, -1, lateralFriction=ground_mu,
                      restitution=math.sqrt(physics.ground_restitution), **kw)
    rng = np.random.default_rng(np.random.SeedSequence([spec.video_seed, 0x5EED]))
    n = len(spec.objects)
    frames_of = []  # (com (3,), axes (3,3)): body frame = principal frame at the centre of mass
    extents, ids = [], [None] * n
    for obj, mesh in zip(spec.objects, meshes):
        pieces = collision_pieces(mesh.vertices, mesh.faces, physics.collision, obj.asset_id)
        volume, com, inertia = mass_properties(pieces, obj.scale)
        moments, axes = np.linalg.eigh(inertia * obj.body.density)
        if np.linalg.det(axes) < 0:
            axes[:, 2] *= -1
        verts = np.concatenate(pieces) * obj.scale
        extents.append(verts)
        frames_of.append((com, axes, float(volume * obj.body.density), moments, verts))

    def to_body(k, position, rotation):
        com, axes = frames_of[k][:2]
        return (np.asarray(position, float) + rotation @ com).tolist(), \
            _xyzw(rotation @ axes)

    def create(k, position, rotation):
        com, axes, mass, moments, verts = frames_of[k]
        shape = pb.createCollisionShape(pb.GEOM_MESH, vertices=((verts - com) @ axes).tolist(),
                                        **kw)
        pos, orn = to_body(k, position, rotation)
        uid = pb.createMultiBody(mass, shape, basePosition=pos, baseOrientation=orn, **kw)
        obj = spec.objects[k]
        pb.changeDynamics(uid, -1, lateralFriction=math.sqrt(obj.body.friction), restitution=0,
                          localInertiaDiagonal=moments.tolist(),
                          rollingFriction=lp.ROLLING * obj.scale / ground_mu,
                          spinningFriction=lp.TORSIONAL * obj.scale / ground_mu,
                          linearDamping=0, angularDamping=0, **kw)
        ids[k] = uid
        return uid

    def move(k, position, rotation):
        pb.resetBasePositionAndOrientation(ids[k], *to_body(k, position, rotation), **kw)

    def clear(k, live):
        return not any(pb.getClosestPoints(ids[k], ids[o], lp.SPAWN_CLEARANCE, **kw)
                       for o in live)

    def rotation_of(k):
        return euler_xyz(*(math.radians(a) for a in spec.objects[k].rotation_deg))

    resting = [k for k, obj in enumerate(spec.objects) if not obj.body.thrown]
    thrown = [k for k, obj in enumerate(spec.objects) if obj.body.thrown]
    live: list[int] = []
    for k in resting:
        obj, rot = spec.objects[k], rotation_of(k)
        lift = lp.SPAWN_GAP - float((extents[k] @ rot.T)[:, 1].min())
        x, z = obj.position[0], obj.position[2]
        create(k, (x, lift, z), rot)
        for attempt in range(lp.SPAWN_TRIES + 1):
            if attempt == lp.SPAWN_TRIES:
                top = max(_top(pb, ids[o], extents[o], frames_of[o], kw) for o in live) \
                    if live else 0.0
                move(k, (x, top + lift, z), rot)
                break
            move(k, (x, lift, z), rot)
            if clear(k, live):
                break
            radius = 2.0 * math.sqrt(rng.random()) + 0.1 * attempt
            angle = rng.uniform(0.0, 2.0 * math.pi)
            x, z = radius * math.cos(angle), radius * math.sin(angle)
        live.append(k)
    # Settle: v *= (1 - d)^dt per step in Bullet, so d = 1 - exp(-1) gives exp(-t).
    damping = 1.0 - math.exp(-lp.SETTLE_DAMPING)
    for k in resting:
        pb.changeDynamics(ids[k], -1, linearDamping=damping, angularDamping=damping, **kw)
    limit = round(physics.settle_seconds * hz)
    hold = max(1, round(lp.REST_HOLD * hz))
    calm = dict.fromkeys(resting, 0)
    for _ in range(limit if resting else 0):
        pb.stepSimulation(**kw)
        for k in resting:
            v, w = pb.getBaseVelocity(ids[k], **kw)
            still = math.hypot(*v) < lp.REST_SPEED and math.hypot(*w) < lp.REST_SPIN
            calm[k] = calm[k] + 1 if still else 0
        if min(calm.values()) >= hold:
            break
    for k in resting:
        pb.resetBaseVelocity(ids[k], [0, 0, 0], [0, 0, 0], **kw)
        pb.changeDynamics(ids[k], -1, linearDamping=0, angularDamping=0, **kw)
    for k in thrown:
        body, rot = spec.objects[k].body, rotation_of(k)
        x, y, z = body.launch_position
        create(k, (x, y, z), rot)
        for _ in range(100):
            move(k, (x, y, z), rot)
            if clear(k, live):
                break
            y += 0.1
        # The planned velocity is the mesh origin's; Bullet's is the centre of mass's.
        omega = np.asarray(body.angular_velocity, float)
        v = np.asarray(body.linear_velocity, float) + np.cross(omega, rot @ frames_of[k][0])
        pb.resetBaseVelocity(ids[k], v.tolist(), omega.tolist(), **kw)
        live.append(k)
    for k, obj in enumerate(spec.objects):
        pb.changeDynamics(ids[k], -1, restitution=math.sqrt(obj.body.restitution), **kw)
    steps = (spec.num_frames - 1) * sub + 1
    positions, quats = np.empty((steps, n, 3)), np.empty((steps, n, 4))
    coms = np.array([f[0] for f in frames_of]).reshape(n, 3)
    axes_t = np.array([f[1].T for f in frames_of]).reshape(n, 3, 3)
    for s in range(steps):
        if s:
            pb.stepSimulation(**kw)
        for k in range(n):
            pos, (qx, qy, qz, qw) = pb.getBasePositionAndOrientation(ids[k], **kw)
            positions[s, k] = pos
            quats[s, k] = (qw, qx, qy, qz)
    pb.disconnect(client)
    # Body (principal, centre-of-mass) frame -> mesh frame: R_mesh = R_body A^T,
    # p_mesh = p_body - R_mesh com.
    rot_mesh = _rotations(quats) @ axes_t
    positions -= np.einsum("snij,nj->sni", rot_mesh, coms)
    quats = Rotation.from_matrix(rot_mesh.reshape(-1, 3, 3)).as_quat().reshape(steps, n, 4)
    quats = np.concatenate([quats[..., 3:], quats[..., :3]], axis=-1)
    return positions, quats, sub


def _xyzw(rotation: np.ndarray) -> list[float]:
    return Rotation.from_matrix(rotation).as_quat().tolist()


def _top(pb, uid, verts, frame, kw) -> float:
    com, axes = frame[:2]
    pos, orn = pb.getBasePositionAndOrientation(uid, **kw)
    rot = Rotation.from_quat(orn).as_matrix()
    return float((((verts - com) @ axes) @ rot.T)[:, 1].max() + pos[1])


def lp_run(config: str, spec, meshes):
    engine, hz, timeconst = LP_CONFIGS[config]
    if engine == "pybullet":
        return lp_pybullet(spec, meshes, hz)
    return lp_mujoco(spec, meshes, hz, timeconst)


def lp_digest(results) -> str:
    """sha256 of the frame poses (mesh-origin position + quaternion) of every video."""
    h = hashlib.sha256()
    for positions, quats, sub in results:
        h.update(np.ascontiguousarray(positions[::sub], dtype=np.float64).tobytes())
        h.update(np.ascontiguousarray(quats[::sub], dtype=np.float64).tobytes())
    return h.hexdigest()


def lp_penetration(hulls, positions, quats, rows) -> tuple[float, float]:
    """Deepest vertex inside another object's hull (both ways) and below the ground, in m,
    over `rows` of the per-step poses."""
    pos, rot = positions[rows], _rotations(quats[rows])
    ground = pair = 0.0
    world = []
    for k, verts in enumerate(hulls):
        w = np.einsum("tij,vj->tvi", rot[:, k], verts) + pos[:, k, None]
        world.append(w)
        ground = max(ground, -float(w[..., 1].min()))
    radii = [float(np.linalg.norm(v, axis=1).max()) for v in hulls]
    planes = []
    for verts in hulls:
        eq = ConvexHull(verts).equations
        planes.append(np.unique(np.round(eq, 12), axis=0))
    for a in range(len(hulls)):
        for b in range(len(hulls)):
            if a == b:
                continue
            close = np.linalg.norm(pos[:, a] - pos[:, b], axis=1) <= radii[a] + radii[b]
            idx = np.flatnonzero(close)
            low, high = hulls[b].min(axis=0), hulls[b].max(axis=0)
            for start in range(0, len(idx), 512):
                t = idx[start:start + 512]
                local = np.einsum("tvi,tij->tvj", world[a][t] - pos[t, b, None], rot[t, b])
                local = local[((local > low) & (local < high)).all(axis=2)]  # in B's box
                if len(local):
                    signed = local @ planes[b][:, :3].T + planes[b][:, 3]
                    pair = max(pair, float(-signed.max(axis=1).min()))
    return pair, ground


def lp_measure_video(hulls, positions, quats, sub, hz) -> dict:
    frames = np.arange(0, positions.shape[0], sub)
    pair_f, ground_f = lp_penetration(hulls, positions, quats, frames)
    # Every step on a 240 Hz grid (all steps at 240 Hz, every 4th at 960 Hz): one time grid
    # for every configuration; the ground also at every step (cheap).
    grid = np.arange(0, positions.shape[0], max(1, hz // 240))
    pair_s, _ = lp_penetration(hulls, positions, quats, grid)
    ground_s = 0.0
    for k, verts in enumerate(hulls):
        rot = _rotations(quats[:, k])
        low = np.einsum("ti,vi->tv", rot[:, 1], verts).min(axis=1) + positions[:, k, 1]
        ground_s = max(ground_s, -float(low.min()))
    gaps = []  # lowest vertex of each object lying on the ground (within 5 mm) at the end
    for k, verts in enumerate(hulls):
        low = (verts @ _rotations(quats[-1, k])[1]).min() + positions[-1, k, 1]
        if abs(low) < 0.005:
            gaps.append(float(low))
    speeds = np.linalg.norm(np.diff(positions, axis=0), axis=2) * hz  # (S-1,N) m/s
    unstable = bool(speeds.max() > MAX_SPEED or positions[..., 1].max() > MAX_HEIGHT)
    return {"pair_f": pair_f, "ground_f": ground_f, "pair_s": pair_s,
            "ground_s": max(ground_s, ground_f), "unstable": unstable,
            "final": speeds[-1].tolist(), "gaps": gaps}


def lp_worker(config: str, videos: int) -> None:
    scenes = lp_scenes(videos)
    print(json.dumps({"sha256": lp_digest([lp_run(config, s, m) for s, m, _ in scenes])}))


def lp_measure(config: str, scenes, args) -> dict:
    engine, hz, _ = LP_CONFIGS[config]
    row = {"config": config, "version": engine_version(engine)}
    if row["version"] is None:
        return row
    cmd = [sys.executable, os.path.abspath(__file__), "--lp-worker", config,
           "--videos", str(args.videos)]
    results, times = [], []
    for spec, meshes, _ in scenes:
        t0 = time.perf_counter()
        results.append(lp_run(config, spec, meshes))
        times.append(time.perf_counter() - t0)
    # Determinism: two fresh processes, in parallel (after the timed runs).
    procs = [subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True) for _ in range(2)]
    digests = [json.loads(p.communicate(timeout=600)[0].strip().splitlines()[-1])["sha256"]
               for p in procs]
    row["procs"] = len(set(digests)) == 1
    row["same_here"] = lp_digest(results) == digests[0]
    measured = [lp_measure_video(hulls, pos, q, sub, hz)
                for (_, _, hulls), (pos, q, sub) in zip(scenes, results)]
    for key in ("pair_f", "ground_f", "pair_s", "ground_s"):
        row[key] = max(m[key] for m in measured)
    row["ground_f_p95"] = float(np.percentile([m["ground_f"] for m in measured], 95))
    row["unstable"] = sum(m["unstable"] for m in measured)
    finals = [v for m in measured for v in m["final"]]
    row["final_mean"], row["final_max"] = float(np.mean(finals)), float(np.max(finals))
    row["gap"] = float(np.mean([g for m in measured for g in m["gaps"]]))
    row["time"] = statistics.median(times)
    row["time_max"] = max(times)
    return row


def lp_table(rows: list[dict], scenes, command: str) -> str:
    objects = sum(len(s.objects) for s, _, _ in scenes)
    thrown = sum(o.body.thrown for s, _, _ in scenes for o in s.objects)
    lines = [
        f"### `{command}`",
        "",
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"Lightpipe videos 0-{len(scenes) - 1} (seed {LP_SEED}, default settings): "
        f"{objects} objects, {thrown} thrown; 81 frames at 16 fps after the settling. "
        "Penetration in mm at the 81 frames, and in brackets at every 1/240 s "
        "(object-object) and every step (ground).",
        "",
        "Ground gap: mean lowest point of the objects lying on the ground at the last frame "
        "(+ floats, - sinks); final speed: every object at the last step.",
        "",
        "| configuration | version | max ground penetration at frames (mm) "
        "| 95th pct. of per-video max, frames (mm) | max object-object penetration at frames (mm) "
        "| unstable videos (> 20 m/s or > 10 m) | bit-identical, 2 processes "
        "| ground gap at rest (mm) | time per video (s, median / max) "
        "| final speed (m/s, mean / max) |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        label = LP_LABELS[r["config"]]
        if r["version"] is None:
            lines.append(f"| {label} | not installed |" + "  |" * 8)
            continue
        lines.append(
            f"| {label} | {r['version']} "
            f"| {r['ground_f'] * 1e3:.2f} ({r['ground_s'] * 1e3:.2f}) "
            f"| {r['ground_f_p95'] * 1e3:.2f} "
            f"| {r['pair_f'] * 1e3:.2f} ({r['pair_s'] * 1e3:.2f}) "
            f"| {r['unstable']} / {len(scenes)} | {yes(r['procs'] and r['same_here'])} "
            f"| {r['gap'] * 1e3:+.3f} "
            f"| {r['time']:.3f} / {r['time_max']:.3f} "
            f"| {r['final_mean']:.3f} / {r['final_max']:.2f} |")
    return "\n".join(lines)


def lightpipe_main(args, command: str) -> None:
    scenes = lp_scenes(args.videos)
    rows = [lp_measure(config, scenes, args) for config in args.configs]
    print(lp_table(rows, scenes, command))


# --------------------------------------------------------------------------------------------


def worker(args) -> None:
    scene = make_scene(args.objects, args.seed)
    traj, *_ = run(args.worker, scene, record="steps")
    print(json.dumps({"sha256": digest(traj)}))


def subprocess_digests(engine: str, args, n: int = 3) -> list[str]:
    out = []
    for _ in range(n):
        cmd = [
            sys.executable,
            os.path.abspath(__file__),
            "--worker",
            engine,
            "--objects",
            str(args.objects),
            "--seed",
            str(args.seed),
        ]
        res = subprocess.run(cmd, capture_output=True, text=True, timeout=300, check=True)
        out.append(json.loads(res.stdout.strip().splitlines()[-1])["sha256"])
    return out


def measure(engine: str, args) -> dict:
    scene = make_scene(args.objects, args.seed)
    row = {"engine": engine, "version": engine_version(engine)}
    if row["version"] is None:
        return row
    # Determinism: 3 processes, and twice in this one.
    procs = subprocess_digests(engine, args)
    row["procs"] = len(set(procs)) == 1
    if engine == "pybullet":
        import pybullet as pb

        client = pb.connect(pb.DIRECT)
        first, _, _, _ = run_pybullet(scene, client=client)
        second, speeds, _, _ = run_pybullet(scene, client=client)
        other, _, _, _ = run_pybullet(scene, client=client, overlapping_pairs=0)
        pb.disconnect(client)
        row["pairs_differ"] = digest(other) != digest(first)
        row["pairs_delta"] = float(np.abs(other[..., :3] - first[..., :3]).max())
    else:
        first, _, _, _ = run(engine, scene)
        second, speeds, _, _ = run(engine, scene)
    row["in_process"] = digest(first) == digest(second)
    row["same_as_procs"] = digest(first) == procs[0]
    # Collision quality.
    frames = first[[SETTLE_STEPS + (f + 1) * STEPS_PER_FRAME - 1 for f in range(FRAMES)]]
    row["pen_pair"], row["pen_ground"] = penetration(scene, frames)
    row["pen_pair_steps"], row["pen_ground_steps"] = penetration(scene, first)
    row["gap"] = rest_gap(scene, first[-1])
    row["speed"] = max(speeds)
    row["moving"] = sum(v > 0.01 for v in speeds)
    # Time per video: poses read at the frames only, as a renderer would.
    sims, setups = [], []
    for _ in range(args.repeats):
        _, _, setup, sim = run(engine, scene, record="frames")
        sims.append(sim)
        setups.append(setup)
    row["sim"] = statistics.median(sims)
    row["setup"] = statistics.median(setups)
    row["own_mb"], row["deps_mb"], row["deps"] = install_size(ENGINES[engine])
    if args.check_wheels:
        row["wheels"] = check_wheels(f"{ENGINES[engine]}=={row['version']}")
    return row


def yes(flag: bool) -> str:
    return "yes" if flag else "**NO**"


def table(rows: list[dict], args, command: str) -> str:
    lines = [
        f"### `{command}`",
        "",
        f"Python {platform.python_version()}, {platform.machine()}, {os.cpu_count()} CPUs; "
        f"{args.objects} objects, seed {args.seed}, {TOTAL_STEPS} steps "
        f"({SETTLE_STEPS} settling + {FRAMES} frames x {STEPS_PER_FRAME}); "
        f"penetration over the {FRAMES} frames (over every step in brackets); "
        "ground gap: lowest vertex of the objects on the ground at the end (+ floats, - sinks).",
        "",
        "| engine | version | bit-identical, 3 processes | bit-identical, 2 runs in 1 process "
        "| max object-object penetration (mm) | max ground penetration (mm) "
        "| ground gap at rest (mm) | final max speed (m/s) "
        f"| time per video (s, median of {args.repeats}) | setup (s) "
        "| installed (MB, + deps) |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r["version"] is None:
            lines.append(f"| {r['engine']} | not installed |" + "  |" * 9)
            continue
        gap = "-" if r["gap"] is None else f"{r['gap'] * 1e3:+.2f}"
        deps = f" + {r['deps_mb']:.1f} ({', '.join(r['deps'])})" if r["deps"] else ""
        lines.append(
            f"| {r['engine']} | {r['version']} | {yes(r['procs'])} "
            f"| {yes(r['in_process'] and r['same_as_procs'])} "
            f"| {r['pen_pair'] * 1e3:.2f} ({r['pen_pair_steps'] * 1e3:.2f}) "
            f"| {r['pen_ground'] * 1e3:.2f} ({r['pen_ground_steps'] * 1e3:.2f}) "
            f"| {gap} | {r['speed']:.2g} ({r['moving']} > 1 cm/s) | {r['sim']:.3f} | {r['setup']:.3f} "
            f"| {r['own_mb']:.1f}{deps} |"
        )
    notes = []
    for r in rows:
        if r.get("version") and "pairs_differ" in r:
            notes.append(
                f"- pybullet deterministicOverlappingPairs=0 vs 1: trajectories "
                f"{'differ' if r['pairs_differ'] else 'are identical'} "
                f"(max position difference {r['pairs_delta'] * 1e3:.3g} mm)."
            )
        if r.get("wheels"):
            notes.append(f"- {r['engine']} {r['version']} manylinux x86_64 wheels: {r['wheels']}")
    return "\n".join(lines + ([""] + notes if notes else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--lightpipe", dest="scene", action="store_const", const="lightpipe",
                      help="Lightpipe's own planned videos (the default)")
    mode.add_argument("--synthetic", dest="scene", action="store_const", const="synthetic",
                      help="the synthetic 6-object scene at 240 Hz")
    parser.set_defaults(scene="lightpipe")
    parser.add_argument("--videos", type=int, default=20, help="--lightpipe: videos 0..N-1")
    parser.add_argument("--configs", nargs="+", default=list(LP_CONFIGS),
                        choices=list(LP_CONFIGS), help="--lightpipe: engine configurations")
    parser.add_argument("--objects", type=int, default=6)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--engines", nargs="+", default=list(ENGINES), choices=list(ENGINES))
    parser.add_argument(
        "--check-wheels",
        action="store_true",
        help="ask pip for wheels for CPython 3.10-3.13 (network, slow)",
    )
    parser.add_argument("--worker", choices=list(ENGINES), help=argparse.SUPPRESS)
    parser.add_argument("--lp-worker", choices=list(LP_CONFIGS), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        worker(args)
        return
    if args.lp_worker:
        lp_worker(args.lp_worker, args.videos)
        return
    command = " ".join(shlex.quote(a) for a in [sys.executable] + sys.argv)
    if args.scene == "lightpipe":
        lightpipe_main(args, command)
        return
    rows = [measure(engine, args) for engine in args.engines]
    print(table(rows, args, command))


if __name__ == "__main__":
    main()
