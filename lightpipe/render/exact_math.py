"""atan2, asin, acos and exp on float64 numpy arrays from +, -, *, /, sqrt, floor and ldexp only.

NumPy dispatches its transcendental functions to CPU-specific SIMD code (SVML on AVX-512, its own
kernels elsewhere), whose last bits may differ between machines. These use only IEEE-exact
operations in a fixed order, so every CPU computes the same bits; accuracy is ~1e-15 relative,
far finer than any texel. Used where per-video tables (environment maps, sky) are built.
"""

from __future__ import annotations

import numpy as np

_TAN_PI_8 = 0.41421356237309503  # tan(pi/8): beyond it, reduce by atan(a) = pi/4 + atan((a-1)/(a+1))
_PI = 3.141592653589793
_LN2_HI, _LN2_LO = 6.93147180369123816490e-01, 1.90821492927058770002e-10
_ATAN_TERMS = 24  # odd Taylor terms of atan on |t| <= tan(pi/8): error < 0.4143**49 / 49
_EXP_TERMS = 16  # Taylor terms of exp on |r| <= ln(2)/2: error < 0.35**17 / 17!


def atan2(y, x) -> np.ndarray:
    """Angle of (x, y) in (-pi, pi], like `numpy.arctan2` (atan2(0, 0) = 0)."""
    y, x = np.asarray(y, np.float64), np.asarray(x, np.float64)
    ay, ax = np.abs(y), np.abs(x)
    big, small = np.maximum(ay, ax), np.minimum(ay, ax)
    ratio = np.where(big > 0, small / np.where(big > 0, big, 1.0), 0.0)  # in [0, 1]
    reduce = ratio > _TAN_PI_8
    t = np.where(reduce, (ratio - 1.0) / (ratio + 1.0), ratio)
    angle = _atan_series(t) + np.where(reduce, _PI / 4.0, 0.0)  # atan(small / big) in [0, pi/4]
    angle = np.where(ay > ax, _PI / 2.0 - angle, angle)  # atan(|y| / |x|) in [0, pi/2]
    angle = np.where(x < 0, _PI - angle, angle)
    return np.where(y < 0, -angle, angle)


def asin(s) -> np.ndarray:
    s = np.clip(np.asarray(s, np.float64), -1.0, 1.0)
    return atan2(s, np.sqrt((1.0 - s) * (1.0 + s)))


def acos(c) -> np.ndarray:
    c = np.clip(np.asarray(c, np.float64), -1.0, 1.0)
    return atan2(np.sqrt((1.0 - c) * (1.0 + c)), c)


def exp(x) -> np.ndarray:
    """e**x for x in about [-700, 700] (beyond: 0 or inf, as float64 can hold)."""
    x = np.clip(np.asarray(x, np.float64), -745.0, 709.0)
    k = np.floor(x / (_LN2_HI + _LN2_LO) + 0.5)
    r = (x - k * _LN2_HI) - k * _LN2_LO
    term, total = np.ones_like(r), np.ones_like(r)
    for n in range(1, _EXP_TERMS + 1):
        term = term * r / n
        total = total + term
    return np.ldexp(total, k.astype(np.int64))


def _atan_series(t: np.ndarray) -> np.ndarray:
    """atan(t) for |t| <= tan(pi/8): t - t^3/3 + t^5/5 - ..., summed from the smallest term."""
    t2 = t * t
    total = np.zeros_like(t)
    for n in reversed(range(_ATAN_TERMS)):
        total = (1.0 if n % 2 == 0 else -1.0) / (2 * n + 1) + t2 * total
    return t * total
