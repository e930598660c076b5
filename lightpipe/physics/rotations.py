"""Rotation matrices <-> Euler angles and quaternions, in scalar float64 math (the same bits on
every CPU)."""

from __future__ import annotations

import math

import numpy as np


def euler_xyz(ax: float, ay: float, az: float) -> np.ndarray:
    """R = Rz @ Ry @ Rx, written out."""
    cx, sx, cy, sy, cz, sz = math.cos(ax), math.sin(ax), math.cos(ay), math.sin(ay), math.cos(az), math.sin(az)
    return np.array([
        [cz * cy, cz * sy * sx - sz * cx, cz * sy * cx + sz * sx],
        [sz * cy, sz * sy * sx + cz * cx, sz * sy * cx - cz * sx],
        [-sy, cy * sx, cy * cx],
    ])


def quaternion(rotation: np.ndarray) -> tuple[float, float, float, float]:
    """Unit [w, x, y, z] of a rotation matrix (Shepperd's method, scalar math), w >= 0 (where
    w is 0, the first non-zero of x, y, z is positive)."""
    m = [[float(rotation[i, j]) for j in range(3)] for i in range(3)]
    trace = m[0][0] + m[1][1] + m[2][2]
    largest = max(range(4), key=lambda i: (trace, m[0][0], m[1][1], m[2][2])[i])
    if largest == 0:
        s = 2.0 * math.sqrt(max(1.0 + trace, 0.0))
        q = (0.25 * s, (m[2][1] - m[1][2]) / s, (m[0][2] - m[2][0]) / s, (m[1][0] - m[0][1]) / s)
    elif largest == 1:
        s = 2.0 * math.sqrt(max(1.0 + m[0][0] - m[1][1] - m[2][2], 0.0))
        q = ((m[2][1] - m[1][2]) / s, 0.25 * s, (m[0][1] + m[1][0]) / s, (m[0][2] + m[2][0]) / s)
    elif largest == 2:
        s = 2.0 * math.sqrt(max(1.0 + m[1][1] - m[0][0] - m[2][2], 0.0))
        q = ((m[0][2] - m[2][0]) / s, (m[0][1] + m[1][0]) / s, 0.25 * s, (m[1][2] + m[2][1]) / s)
    else:
        s = 2.0 * math.sqrt(max(1.0 + m[2][2] - m[0][0] - m[1][1], 0.0))
        q = ((m[1][0] - m[0][1]) / s, (m[0][2] + m[2][0]) / s, (m[1][2] + m[2][1]) / s, 0.25 * s)
    norm = math.sqrt((q[0] * q[0] + q[1] * q[1]) + (q[2] * q[2] + q[3] * q[3]))
    q = tuple(c / norm + 0.0 for c in q)  # + 0.0: no -0.0
    first = next((c for c in q if c != 0.0), 1.0)
    return tuple(-c for c in q) if first < 0 else q
