"""Camera response: exposure, a filmic (ACES-fitted) tone curve and sRGB encoding, as one exact
step, and the sRGB decoding of 8-bit textures.

Scene radiance x (linear, per channel) becomes the 8-bit code c for which
    srgb((c - 0.5) / 255) <= aces(exposure * x) < srgb((c + 0.5) / 255),
so the whole response is 255 radiance thresholds per video (the curve's inverse at the code
boundaries, divided by the exposure): comparisons only, the same bits on every device and path.
A value's float32 bits, shifted right by 16 (sign, exponent, 7 mantissa bits), index a table of
the code at the start of that bucket; buckets are at most 2**-7 (0.78%) wide (relative) and the
thresholds at least 1.38% apart (codes 136 and 137), so one comparison with the next threshold
finishes the job (`encode` equals `torch.bucketize(x, thresholds, right=True)`, at a third of
its cost). The inverse curve's constants are computed with Python's `decimal` (correctly
rounded), so no libm is involved.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import torch

from lightpipe.render import exact_math

# Narkowicz's fit of the ACES filmic curve, y = x (a x + b) / (x (c x + d) + e), on 0.6 * x.
_A, _B, _C, _D, _E = (Decimal(v) for v in ("2.51", "0.03", "2.43", "0.59", "0.14"))
_PRESCALE = Decimal("0.6")
# An 18% grey surface lit by the horizontal irradiance E maps to `MIDDLE_GREY` after exposure:
# exposure = MIDDLE_GREY * pi / (0.18 * E); 0.18 is what the fitted curve turns into about
# sRGB code 118 (display 0.46), a photographer's middle grey.
MIDDLE_GREY = 0.18
_LN2 = 0.6931471805599453


def _display_to_linear(y: Decimal) -> Decimal:
    """sRGB EOTF: display value in [0, 1] -> linear."""
    if y <= Decimal("0.04045"):
        return y / Decimal("12.92")
    return ((y + Decimal("0.055")) / Decimal("1.055")) ** Decimal("2.4")


def _aces_inverse(y: Decimal) -> Decimal:
    """The x >= 0 with aces(0.6 x) = y, for y in (0, 1)."""
    a, b, c = _C * y - _A, _D * y - _B, _E * y
    root = (b * b - 4 * a * c).sqrt()
    return (-b - root) / (2 * a) / _PRESCALE


def _response_thresholds() -> tuple[float, ...]:
    getcontext().prec = 40
    return tuple(float(_aces_inverse(_display_to_linear((Decimal(code) - Decimal("0.5"))
                                                        / 255))) for code in range(1, 256))


def _srgb_decode_table() -> tuple[float, ...]:
    getcontext().prec = 40
    return tuple(float(_display_to_linear(Decimal(code) / 255)) for code in range(256))


# Exposed radiance at which each 8-bit code 1..255 starts (before dividing by the exposure).
RESPONSE_THRESHOLDS = _response_thresholds()
# Linear value of each 8-bit sRGB code: textures are decoded with this table.
SRGB_TO_LINEAR = np.array(_srgb_decode_table(), dtype=np.float64)


def exposure_for(horizontal_irradiance: float, bias_ev: float = 0.0) -> float:
    """Exposure that puts an 18% grey ground at middle grey, times 2**bias_ev."""
    irradiance = max(horizontal_irradiance, 1e-6)
    return MIDDLE_GREY * math.pi / (0.18 * irradiance) * float(exact_math.exp(bias_ev * _LN2))


def response_table(exposure: float, device) -> tuple[torch.Tensor, torch.Tensor]:
    """For this exposure: (256,) float32 radiance at which each code 0..255 ends (the threshold
    of the next code; NaN for 255), and the (32768,) int32 code at the start of each bucket of
    non-negative float32 values (bits >> 16; int32 is what the native kernel reads)."""
    thresholds = torch.tensor([t / exposure for t in RESPONSE_THRESHOLDS], dtype=torch.float32)
    starts = (torch.arange(1 << 15, dtype=torch.int32) << 16).view(torch.float32)
    codes = torch.bucketize(starts, thresholds, right=True, out_int32=True)  # NaN buckets: 255
    ends = torch.cat([thresholds, torch.tensor([float("nan")])])  # nothing reaches it
    return ends.to(device), codes.to(device)


def encode(radiance: torch.Tensor, table: tuple[torch.Tensor, torch.Tensor]) -> torch.Tensor:
    """Linear radiance (any shape; negatives count as 0) -> uint8 codes: how many thresholds
    each value reaches."""
    ends, codes = table
    x = radiance.clamp(min=0.0) + 0.0  # + 0.0 turns -0.0 into +0.0
    code = codes.index_select(0, (x.view(torch.int32) >> 16).reshape(-1).long()).view(x.shape)
    step = x >= ends.index_select(0, code.reshape(-1)).view(x.shape)
    return (code + step.to(torch.int64)).to(torch.uint8)
