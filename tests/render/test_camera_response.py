"""The camera response: exact thresholds, one comparison past a bucket table, sRGB decoding."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from lightpipe.render import camera_response as response


@pytest.mark.parametrize("exposure", [0.37, 1.0, 12.5])
def test_encode_equals_bucketize_over_the_thresholds(exposure):
    table = response.response_table(exposure, "cpu")
    thresholds = table[0][:-1]
    values = torch.cat([
        torch.rand(200_000) * thresholds[-1] * 1.5, thresholds,
        thresholds.nextafter(torch.tensor(0.0)), thresholds.nextafter(torch.tensor(1e9)),
        torch.tensor([0.0, -0.0, -3.0, 1e-42, 3e38, float("inf")])])
    expected = torch.bucketize(values.clamp(min=0.0), thresholds, right=True).to(torch.uint8)
    assert torch.equal(response.encode(values, table), expected)


def test_thresholds_rise_and_are_far_enough_apart_for_one_correction():
    t = np.array(response.RESPONSE_THRESHOLDS)
    assert len(t) == 255 and (np.diff(t) > 0).all()
    assert (t[1:] / t[:-1]).min() > 1 + 2.0 ** -7  # a bucket (bits >> 16) holds at most one


def test_exposure_puts_grey_at_middle_grey_and_stops_double():
    irradiance = 3.0
    exposure = response.exposure_for(irradiance)
    grey = 0.18 * irradiance / np.pi  # an 18% grey lambertian surface
    code = int(response.encode(torch.tensor([grey]), response.response_table(exposure, "cpu"))[0])
    assert 95 <= code <= 125
    assert response.exposure_for(irradiance, 1.0) == pytest.approx(2 * exposure, rel=1e-12)


def test_srgb_decoding_table():
    assert response.SRGB_TO_LINEAR[0] == 0.0 and response.SRGB_TO_LINEAR[255] == 1.0
    assert response.SRGB_TO_LINEAR[128] == pytest.approx(0.2158605, abs=1e-7)
    assert (np.diff(response.SRGB_TO_LINEAR) > 0).all()
