"""The Middlebury flow colour coding: wheel, direction -> hue, magnitude -> saturation."""

from __future__ import annotations

import numpy as np

from lightpipe.dataset.flow_colors import colour_wheel, flow_to_rgb, wheel_image


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
