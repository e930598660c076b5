"""Rigid-body simulation of `settings.scene.dynamics: physics` (MuJoCo, version pinned).

`simulation.simulate_video(spec, asset_root)` turns a video's spec (start state and physical
properties, planned cheaply) into per-step poses, per-frame velocities and contact events; it
depends on nothing but the spec and the asset files, so every task gets the same trajectory.
"""
