"""VACE's control tasks from stored ground truth: each against VACE's format rules, in exact
values (docs/vace.md; the rules from `vace/annotators/*.py`)."""

from __future__ import annotations

import numpy as np
import pytest

from lightpipe.config.settings import SceneSettings, Settings, VideoSettings
from lightpipe.dataset.flow_colors import colour_wheel
from lightpipe.dataset.vace import controls
from lightpipe.dataset.vace.tasks import FIRST_OBJECT_ID, TASKS, make_task, task_rng
from lightpipe.planning.planner import asset_pools, plan_video

T, H, W = 5, 24, 32


@pytest.fixture(scope="module")
def spec():
    settings = Settings(num_videos=2, video=VideoSettings(width=W, height=H, num_frames=T, fps=8),
                        scene=SceneSettings(min_objects=2, max_objects=2))
    return plan_video(7, settings, 0, asset_pools(7, settings))


def _arrays(spec) -> dict:
    """A video of T frames: random colour, a ground, two objects as moving rectangles (the
    second partly over the first), their visible boxes, depth and a uniform flow."""
    rng = np.random.default_rng(0)
    color = rng.integers(0, 256, (T, H, W, 3), dtype=np.uint8)
    ids = np.zeros((T, H, W), np.uint16)
    ids[:, H // 2:] = 1  # ground
    for t in range(T):
        ids[t, 4:14, 3 + t:13 + t] = FIRST_OBJECT_ID
        ids[t, 10:20, 16:26] = FIRST_OBJECT_ID + 1
    boxes = np.full((T, 2, 4), np.nan)
    for t in range(T):
        for k in range(2):
            ys, xs = np.nonzero(ids[t] == FIRST_OBJECT_ID + k)
            boxes[t, k] = [xs.min(), ys.min(), xs.max() + 1, ys.max() + 1]
    depth = np.where(ids > 0, 2.0 + ids.astype(np.float32), 0.0).astype(np.float32)
    flow = np.zeros((T, H, W, 2), np.float32)
    flow[..., 0] = 3.0
    return {"color": color, "segmentation": ids, "boxes_visible": boxes, "depth": depth,
            "flow_forward": flow, "object_ids": np.array([2, 3])}


def test_depth_is_inverse_depth_min_max_near_bright_in_three_equal_channels():
    depth = np.array([[[0.0, 1.0, 2.0, 4.0]], [[0.0, 2.0, 2.0, 8.0]]], np.float32)  # (2,1,4)
    per_frame = controls.depth_control(depth)
    assert per_frame.dtype == np.uint8 and per_frame.shape == (2, 1, 4, 3)
    assert np.array_equal(per_frame[..., 0], per_frame[..., 2])
    assert per_frame[0, 0, :, 0].tolist() == [0, 255, 85, 0]  # 1/z: 1, 0.5, 0.25; sky 0
    assert per_frame[1, 0, :, 0].tolist() == [0, 255, 255, 0]  # each frame its own range
    steady = controls.depth_control(depth, per_frame=False)  # one range: 1/8 .. 1
    assert steady[1, 0, :, 0].tolist() == [0, 109, 109, 0]  # (0.5 - 0.125) / 0.875 * 255


def test_flow_has_a_frame_per_frame_with_the_first_image_repeated_and_white_at_rest():
    flow = np.zeros((4, 2, 2, 2), np.float32)
    flow[0, ..., 0] = 2.0  # 0 -> 1: right
    flow[1, ..., 1] = -5.0  # 1 -> 2: up
    flow[2, 0, 0] = (0.0, 1.0)  # 2 -> 3: one pixel moves down, the rest stays
    images = controls.flow_control(flow)  # flow[3] (past the last frame) is not shown
    assert images.shape == (4, 2, 2, 3) and images.dtype == np.uint8
    assert np.array_equal(images[0], images[1])
    wheel = colour_wheel()
    assert np.all(images[1] == [255, 0, 0]) and np.all(wheel[0] == [255, 0, 0])  # right: red
    # up: atan2(5, -0) = pi / 2, wheel position 40.5: halfway between wheel colours 40 and
    # 41 (blue -> magenta, from 36: R = floor(255 * 4 / 13), floor(255 * 5 / 13) = 78, 98)
    assert wheel[40].tolist() == [78, 0, 255] and wheel[41].tolist() == [98, 0, 255]
    assert np.all(images[2] == [88, 0, 255])
    assert np.all(images[3][1:] == 255) and np.all(images[3][0, 1] == 255)  # at rest: white
    assert not np.all(images[3][0, 0] == 255)


def test_gray_is_opencvs_bgr2gray_on_rgb_frames():
    color = np.array([[[[255, 0, 0], [0, 255, 0], [0, 0, 255], [77, 77, 77]]]], np.uint8)
    gray = controls.gray_control(color)
    assert gray.shape == (1, 1, 4, 3) and np.array_equal(gray[..., 0], gray[..., 1])
    # red weighs 0.114 and blue 0.299 (VACE's swap), OpenCV's rounding: (x + 2^13) >> 14
    assert gray[0, 0, :, 0].tolist() == [29, 150, 76, 77]


def test_layout_bbox_draws_2px_outlines_in_one_colour_per_object_on_white(spec):
    arrays = _arrays(spec)
    frames = make_task("layout_bbox", arrays, spec).control
    assert frames.shape == (T, H, W, 3)
    x0, y0, x1, y1 = (int(v) for v in arrays["boxes_visible"][0, 0])  # 3, 4, 13, 14
    first = np.all(frames[0] == controls.object_colour(0), axis=-1)
    row = first[y0 + 5]
    assert np.flatnonzero(row).tolist() == [x0, x0 + 1, x1 - 2, x1 - 1]  # 2 px each side
    column = first[:, x0 + 5]
    assert np.flatnonzero(column).tolist()[:2] == [y0, y0 + 1]
    assert np.all(frames[0][y0 + 2:y1 - 2, x0 + 2:x1 - 2][:3, :3] == 255)  # inside: white
    assert np.all(frames[0][0] == 255)  # outside: white
    second = np.all(frames[0] == controls.object_colour(1), axis=-1)
    assert second.any() and not np.array_equal(controls.object_colour(0),
                                               controls.object_colour(1))
    arrays["boxes_visible"][2, 1] = np.nan  # not visible: no box
    assert not np.all(make_task("layout_bbox", arrays, spec).control[2] ==
                      controls.object_colour(1), axis=-1).any()


def test_layout_track_draws_3px_mask_contours_on_white(spec):
    arrays = _arrays(spec)
    frames = make_task("layout_track", arrays, spec).control
    first = np.all(frames[0] == controls.object_colour(0), axis=-1)
    # object 0 spans rows 4-13, columns 3-12 in frame 0; row 8 crosses its left and right
    # edges: 1 px outside, the edge pixel and 1 px inside, each side
    assert np.flatnonzero(first[8]).tolist() == [2, 3, 4, 11, 12, 13]
    assert np.all(frames[0][8, 5:11] == 255) and np.all(frames[0][0] == 255)


def test_inpainting_masks_one_object_with_grey_128_and_white_where_it_generates(spec):
    arrays = _arrays(spec)
    sample = make_task("inpainting_masktrack", arrays, spec)
    object_id = sample.choice["object_id"]
    inside = arrays["segmentation"] == object_id
    assert sample.control.shape == (T, H, W, 3) and sample.mask.shape == (T, H, W)
    assert np.all(sample.control[inside] == 128)
    assert np.array_equal(sample.control[~inside], arrays["color"][~inside])
    assert set(np.unique(sample.mask)) == {0, 255}
    assert np.array_equal(sample.mask == 255, inside)
    box = make_task("inpainting_bboxtrack", arrays, spec)
    slot = int(np.flatnonzero(arrays["object_ids"] == box.choice["object_id"])[0])
    x0, y0, x1, y1 = (int(v) for v in arrays["boxes_visible"][1, slot])
    assert np.all(box.mask[1, y0:y1, x0:x1] == 255) and box.mask[1].sum() == \
        255 * (x1 - x0) * (y1 - y0)
    assert np.all(box.control[1, y0:y1, x0:x1] == 128)


def test_the_random_region_is_one_rectangle_in_every_frame_and_drawn_from_the_video(spec):
    arrays = _arrays(spec)
    sample = make_task("inpainting_region", arrays, spec)
    x0, y0, x1, y1 = sample.choice["region"]
    assert 0 <= x0 < x1 <= W and 0 <= y0 < y1 <= H
    assert all(np.array_equal(sample.mask[0], m) for m in sample.mask)
    assert sample.mask[0].sum() == 255 * (x1 - x0) * (y1 - y0)
    again = make_task("inpainting_region", _arrays(spec), spec)
    assert again.choice == sample.choice  # the same seed, the same region


def test_outpainting_greys_a_border_and_keeps_the_frame_size(spec):
    arrays = _arrays(spec)
    sample = make_task("outpainting", arrays, spec)
    left, top, right, bottom = sample.choice["border"]
    assert left + top + right + bottom > 0
    keep = np.zeros((H, W), bool)
    keep[top:H - bottom, left:W - right] = True
    assert sample.control.shape == (T, H, W, 3)
    assert np.all(sample.control[:, ~keep] == 128) and np.all(sample.mask[:, ~keep] == 255)
    assert np.all(sample.mask[:, keep] == 0)
    assert np.array_equal(sample.control[:, keep], arrays["color"][:, keep])


@pytest.mark.parametrize("task, kept", [("firstframe", [0]), ("lastframe", [T - 1]),
                                        ("firstlastframe", [0, T - 1])])
def test_extension_keeps_its_frames_and_greys_the_rest_at_127(spec, task, kept):
    arrays = _arrays(spec)
    sample = make_task(task, arrays, spec)
    assert sample.control.shape == (T, H, W, 3) and sample.mask.shape == (T, H, W)
    for t in range(T):
        if t in kept:
            assert np.array_equal(sample.control[t], arrays["color"][t])
            assert np.all(sample.mask[t] == 0)
        else:
            assert np.all(sample.control[t] == 127) and np.all(sample.mask[t] == 255)


def test_reference_is_an_object_in_view_with_vaces_empty_source(spec):
    """VACE's R2V without a source video: every frame grey 127 (what `vace_video` None is) and
    the mask 255 everywhere; the reference one of the objects drawn in some frame."""
    arrays = _arrays(spec)
    images = np.stack([np.full((H, W, 3), 10 * (k + 1), np.uint8) for k in range(2)])
    drawn = set()
    for frames in ([3, 1], [-1, 4]):
        arrays.update(references=images, reference_frames=np.array(frames))
        for seed in range(12):
            sample = make_task("reference", arrays, spec, np.random.default_rng(seed))
            assert np.all(sample.control == 127) and np.all(sample.mask == 255)
            assert sample.control.shape == (T, H, W, 3) and sample.mask.shape == (T, H, W)
            slot = sample.choice["object_id"] - FIRST_OBJECT_ID
            assert np.array_equal(sample.reference, images[slot])
            assert sample.choice["frame"] == frames[slot] >= 0
            drawn.add((tuple(frames), slot))
    assert drawn == {((3, 1), 0), ((3, 1), 1), ((-1, 4), 1)}  # never the unseen object
    arrays["reference_frames"] = np.array([-1, -1])
    with pytest.raises(ValueError, match="shows none of its 2 objects"):
        make_task("reference", arrays, spec)


def test_each_tasks_choices_come_from_the_videos_own_stream(spec):
    first = [task_rng(spec, name).random() for name in TASKS]
    assert first == [task_rng(spec, name).random() for name in TASKS]
    assert len(set(first)) == len(first)  # each task its own stream
    other = plan_video(8, Settings(num_videos=2, video=VideoSettings(W, H, T, 8)), 0,
                       asset_pools(8, Settings(num_videos=2)))
    assert task_rng(other, "outpainting").random() != task_rng(spec, "outpainting").random()


def test_a_video_that_shows_none_of_its_objects_is_refused_by_object_tasks(spec):
    arrays = _arrays(spec)
    arrays["segmentation"][arrays["segmentation"] >= FIRST_OBJECT_ID] = 1
    with pytest.raises(ValueError, match="shows none of its 2 objects"):
        make_task("inpainting_masktrack", arrays, spec)


def test_scribble_draws_silhouettes_and_creases_black_on_white_two_pixels_wide():
    ids = np.zeros((1, 12, 10), np.uint16)
    ids[0, 7:] = 1  # ground from row 7, sky above
    ids[0, 1:5, 2:7] = 2  # an object in the sky, rows 1-4, columns 2-6
    normals = np.zeros((1, 12, 10, 3), np.float32)
    normals[0, ids[0] > 0] = (0.0, 0.0, -1.0)
    normals[0, 7:, 7:] = (0.0, -1.0, 0.0)  # the ground bends 90 degrees at column 7
    normals[0, 7:, 3] = (0.0, np.sin(0.5), -np.cos(0.5))  # ~29 degrees: below the crease limit
    lines = controls.scribble_control(ids, normals)
    assert lines.shape == (1, 12, 10, 3) and set(np.unique(lines)) == {0, 255}
    black = lines[0, ..., 0] == 0
    assert black[6].all() and black[7].all() and not black[5, 8:].any()  # the horizon: 2 rows
    assert black[8:, 6].all() and black[8:, 7].all() and not black[8:, 8].any()  # the crease
    assert not black[8:, 2:5].any()  # a gentle bend is no line
    # the object's outline: its edge pixels and the sky pixels beside them
    assert black[3, 1] and black[3, 2] and not black[3, 3] and black[3, 6] and black[3, 7]
    assert black[0, 4] and black[1, 4] and not black[2, 4] and black[4, 4] and black[5, 4]


def test_the_tasks_marked_fixed_mask_have_a_mask_of_the_videos_shape_alone(spec):
    """The export encodes a `fixed_mask` task's mask once per process: it must not depend on the
    video's content or stream."""
    other = plan_video(8, Settings(num_videos=2, video=VideoSettings(W, H, T, 8)), 0,
                       asset_pools(8, Settings(num_videos=2)))
    arrays = _arrays(spec)
    changed = dict(arrays, color=255 - arrays["color"], segmentation=arrays["segmentation"][::-1])
    fixed = [name for name, task in TASKS.items() if task.fixed_mask]
    assert fixed == ["firstframe", "lastframe", "firstlastframe"]
    for name in fixed:
        masks = [make_task(name, a, s, np.random.default_rng(seed)).mask
                 for a, s, seed in ((arrays, spec, 0), (changed, other, 1))]
        assert np.array_equal(*masks)


def test_layout_track_worked_out_on_each_objects_box_is_the_whole_frame_contour():
    """The per-box form gives the pixels of the definition on whole frames (boundary pixels
    grown by 3x3), objects at the frame's edges and touching each other included."""
    rng = np.random.default_rng(0)
    for trial in range(24):
        frames, height, width = 3, int(rng.integers(5, 40)), int(rng.integers(5, 40))
        ids = rng.integers(0, 5, (frames, height, width)).astype(np.uint16)
        if trial % 2:  # blobs rather than noise
            ids = np.repeat(np.repeat(ids[:, ::4, ::4], 4, 1), 4, 2)[:, :height, :width]
        expected = np.full((*ids.shape, 3), 255, np.uint8)
        for slot, object_id in enumerate([2, 3, 4]):
            band = controls._dilate(controls._boundary(ids == object_id), 1)
            expected[band] = controls.object_colour(slot)
        assert np.array_equal(controls.layout_track(ids, [2, 3, 4]), expected), trial


def test_scribble_from_the_stored_normal_codes_is_scribble_from_the_decoded_normals():
    from lightpipe.dataset.outputs.labels import decode_normals

    rng = np.random.default_rng(1)
    codes = rng.integers(0, 256, (3, 20, 30, 3), dtype=np.uint8)
    codes[:, :4] = 0  # no surface
    ids = rng.integers(0, 4, (3, 20, 30)).astype(np.uint16)
    ids[:, 5:] = 1  # long runs of one surface: the creases decide
    from_codes = controls.scribble_control(ids, codes)
    assert np.array_equal(from_codes, controls.scribble_control(ids, decode_normals(codes)))
    assert 0 < (from_codes[..., 0] == 0).mean() < 1


def test_flow_from_the_stored_planes_is_flow_from_the_decoded_field():
    from lightpipe.dataset import flow_codes

    rng = np.random.default_rng(2)
    flow = (rng.normal(size=(3, 12, 16, 2)) * 4).astype(np.float32)
    flags = np.full((3, 12, 16), flow_codes.VALID, np.uint8)
    planes, _ = flow_codes.encode_flow(flow, flags)
    decoded, _ = flow_codes.decode_flow(planes)
    assert np.array_equal(controls.flow_control(planes), controls.flow_control(decoded))
