"""The Middlebury flow colour coding: wheel, direction -> hue, magnitude -> saturation."""

from __future__ import annotations

import numpy as np

from lightpipe.dataset.flow_colors import colour_wheel, flow_image, flow_to_rgb, wheel_image


def test_the_wheel_has_55_colours_from_red_round_to_red():
    wheel = colour_wheel()
    assert wheel.shape == (55, 3) and wheel.dtype == np.uint8
    assert wheel[[0, 15, 21, 25, 36, 49]].tolist() == [
        [255, 0, 0], [255, 255, 0], [0, 255, 0], [0, 255, 255], [0, 0, 255], [255, 0, 255]]
    assert wheel[54].tolist() == [255, 0, 43]  # magenta -> red: B = 255 - floor(255 * 5 / 6)


def test_direction_gives_the_middlebury_hues():
    flow = np.array([[[1, 0], [0, 1], [-1, 0], [0, -1]]], np.float32)  # right, down, left, up
    right, down, left, up = flow_to_rgb(flow)[0].astype(int).tolist()
    assert right == [255, 0, 0]  # red
    assert down[0] == 255 and 100 < down[1] < 255 and down[2] == 0  # orange-yellow
    assert left[0] == 0 and left[1] > 150 and left[2] == 255  # cyan / light blue
    assert up[2] == 255 and up[1] == 0 and 0 < up[0] < 255  # blue-violet


def test_magnitude_saturation_zero_white_and_invalid_black():
    flow = np.array([[[0, 0], [2, 0], [4, 0], [8, 0], [np.nan, 0], [4, 0]]], np.float32)
    valid = np.array([[True, True, True, True, True, False]])
    rgb = flow_to_rgb(flow, max_radius=4.0, valid=valid)[0].astype(int).tolist()
    assert rgb[0] == [255, 255, 255]  # no motion: white
    assert rgb[1] == [255, 127, 127]  # half the radius: half saturated
    assert rgb[2] == [255, 0, 0]
    assert rgb[3] == [191, 0, 0]  # beyond max_radius: darkened by 0.75
    assert rgb[4] == rgb[5] == [0, 0, 0]  # non-finite and invalid: black
    assert flow_to_rgb(flow, valid=valid)[0, 3].tolist() == [255, 0, 0]  # max of valid = 8
    assert (flow_to_rgb(np.zeros((3, 3, 2), np.float32)) == 255).all()


def test_the_legend_is_a_disc():
    image = wheel_image(33)
    assert image.shape == (33, 33, 3) and image.dtype == np.uint8
    assert image[16, 16].tolist() == [255, 255, 255]
    assert image[0, 0].tolist() == [0, 0, 0]
    assert image[16, 32].tolist()[0] == 255 and image[16, 32, 2] < 60  # right edge: red


def _raft_pixel(u: np.float32, v: np.float32, scale: np.float32) -> list[int]:
    """One pixel of RAFT's `flow_to_image`, scalar by scalar with its dtypes: u, v, the
    normalization, rad and the wheel position in float32; the fraction and colours in float64."""
    u, v = np.float32(u / scale), np.float32(v / scale)
    rad = np.sqrt(np.float32(u * u) + np.float32(v * v), dtype=np.float32)
    fk = np.float32(np.float32(np.arctan2(-v, -u, dtype=np.float32) / np.float32(np.pi)) + 1)
    fk = np.float32(np.float32(fk / np.float32(2)) * np.float32(54))
    k0 = int(np.floor(fk))
    k1 = 0 if k0 + 1 == 55 else k0 + 1
    f = float(fk) - k0
    wheel = colour_wheel().astype(np.float64)
    out = []
    for channel in range(3):
        col = (1 - f) * (wheel[k0, channel] / 255.0) + f * (wheel[k1, channel] / 255.0)
        col = 1 - float(rad) * (1 - col) if rad <= 1 else col * 0.75
        out.append(int(np.floor(255 * col)))
    return out


def test_flow_image_is_raft_flow_to_image_on_known_directions_and_a_ring_of_magnitudes():
    """VACE's flow control is RAFT's `flow_to_image`: every pixel of a field with the four axis
    directions, the diagonals and a ring of magnitudes agrees with RAFT's arithmetic, pixel by
    pixel; the largest flow is fully saturated and rest is white."""
    angles = np.radians(np.arange(0, 360, 7.5))
    magnitudes = np.array([0.0, 0.03125, 0.5, 1.0, 2.75, 5.0, 11.0, 40.0])
    flow = np.stack([np.outer(magnitudes, np.cos(angles)), np.outer(magnitudes, np.sin(angles))],
                    axis=-1).astype(np.float32)  # (8 magnitudes, 48 directions, 2)
    flow[-1, :4] = [(40, 0), (0, 40), (-40, 0), (0, -40)]  # exactly 0, 90, 180, 270 degrees
    image = flow_image(flow)
    assert image.shape == (8, 48, 3) and image.dtype == np.uint8
    rad = np.sqrt(np.square(flow[..., 0]) + np.square(flow[..., 1]))
    scale = np.max(rad) + np.float32(1e-5)
    expected = [[_raft_pixel(u, v, scale) for u, v in row] for row in flow]
    assert image.tolist() == expected
    assert (image[0] == 255).all()  # no motion: white
    right, down, left, up = image[-1, :4].tolist()  # red, orange-yellow, cyan, blue-violet
    assert right == [255, 0, 0] and down[0] == 255 and down[2] == 0 and left[0] == 0 \
        and left[2] == 255 and up[2] == 255 and up[1] == 0
    assert (image[-1].max(axis=-1) == 255).all() and image[-1].min() < 64  # saturated ring
    # the same coding as flow_to_rgb (the float64 Middlebury reference) up to rounding
    assert np.abs(image.astype(int) - flow_to_rgb(flow, float(scale)).astype(int)).max() <= 1
