"""VACE's control videos, masks and edits, drawn exactly from a video's stored ground truth.

Each function makes what one of VACE's annotators (`vace/annotators/*.py` in ali-vilab/VACE)
makes from an estimate, in the same format: uint8 RGB frames (T, H, W, 3) at the video's size
and frame count, masks (T, H, W) uint8 with 255 where the model generates and 0 where it keeps
(VACE's and DiffSynth-Studio's polarity). docs/vace.md lists each next to VACE's own; the values
that matter (grey levels, line widths, frame counts) are constants here.

Pure numpy, no randomness: which object, region or border a task uses is chosen by
`dataset.vace.tasks` from the video's own stream and passed in.
"""

from __future__ import annotations

import numpy as np

from lightpipe.dataset.depth_codes import inverse_depth_gray
from lightpipe.dataset.flow_colors import flow_image

GENERATE, KEEP = 255, 0  # mask values (VACE: white = generate, black = keep)
MASKED_GREY = 128  # inpainting and outpainting fill (`InpaintingVideoAnnotator.mask_color`,
#                     PIL's 'gray' in `OutpaintingVideoAnnotator`)
MISSING_GREY = 127  # extension's generated frames (`FrameRefExpandAnnotator`: 127.5, which
#                      imageio writes as 127)
WHITE = 255  # the layouts' and the references' background
BOX_LINE = 2  # layout_bbox: `cv2.rectangle(..., thickness=2)`
TRACK_LINE = 3  # layout_track: `cv2.drawContours(..., thickness=3)`
FLOW_EPSILON = 1e-5  # RAFT's `flow_to_image`: u / (max |flow| + 1e-5)
CREASE_DEGREES = 40.0  # scribble: a surface bent more than this between two pixels is a line
SCRIBBLE_LINE = 2  # scribble: the pixels either side of a boundary
# One colour per object slot in the layouts (never white, apart from each other): hues around
# the wheel at full saturation, then darker.
PALETTE = np.array([
    (230, 25, 75), (60, 180, 75), (0, 130, 200), (245, 130, 48), (145, 30, 180),
    (70, 200, 200), (240, 50, 230), (150, 150, 20), (0, 0, 128), (128, 0, 0),
    (0, 128, 128), (128, 0, 128), (170, 110, 40), (0, 0, 0), (100, 100, 100),
    (0, 90, 0)], dtype=np.uint8)


def object_colour(slot: int) -> np.ndarray:
    """The layouts' colour of the object in slot `slot` (0 = the first object)."""
    return PALETTE[slot % len(PALETTE)]


def depth_control(depth: np.ndarray, per_frame: bool = True) -> np.ndarray:
    """`depth`: inverse depth, near bright, 3 equal channels; normalized per frame by its own
    range as VACE's `DepthVideoAnnotator` (MiDaS, min-max per frame) or, `per_frame=False`, by
    the video's (steady: no flicker, the `depth_vis` video's coding). Sky / no surface: 0. A
    read-only view of one channel."""
    from lightpipe.dataset.native_depth_codes import fast_depth_codes

    gray, _ = inverse_depth_gray(np.asarray(depth, np.float32), per_frame=per_frame,
                                 fast=fast_depth_codes())  # the native kernels: the same bits
    return _three_channels(gray)


def flow_control(flow_forward: np.ndarray) -> np.ndarray:
    """`flow`: VACE's `FlowVisAnnotator` on our exact forward flow (T, H, W, 2): image i shows
    the flow from frame i - 1 to i drawn by RAFT's `flow_to_image` (`flow_colors.flow_image`:
    the Middlebury colours, normalized by that field's largest magnitude + 1e-5, RAFT's float32
    arithmetic), and image 0 repeats image 1 (RAFT gives T - 1 fields, VACE repeats the first),
    so T frames give T images. No motion is white. `flow_forward` may also be the stored
    planes (T, H, W, 3) uint16 (`flow_codes.decode_flow`, applied here a field at a time)."""
    from lightpipe.dataset.flow_codes import decode_flow

    flow = np.asarray(flow_forward)
    codes = flow.dtype == np.uint16
    if flow.ndim != 4 or flow.shape[-1] != (3 if codes else 2) or flow.shape[0] < 2:
        raise ValueError(f"flow_forward must be (T >= 2, H, W, 2), got {flow.shape}")
    images = np.empty((*flow.shape[:3], 3), np.uint8)
    for t in range(1, flow.shape[0]):  # a field at a time
        field = decode_flow(flow[t - 1])[0] if codes else flow[t - 1]
        images[t] = flow_image(field, FLOW_EPSILON)
    images[0] = images[1]
    return images


def gray_control(color: np.ndarray) -> np.ndarray:
    """`gray`: VACE's `GrayVideoAnnotator`, which applies OpenCV's BGR2GRAY to RGB frames, so
    its luma weighs red 0.114 and blue 0.299 (swapped): OpenCV's fixed-point formula
    (ch0 * 1868 + ch1 * 9617 + ch2 * 4899 + 2^13) >> 14, written out. 3 equal channels (a
    read-only view of one).

    Computed in float32, exactly: every product and sum is an integer below 2^24 (at most
    255 * 2^14 + 2^13), so it is exact in any summation order, and the shift is a division by
    a power of two and a floor."""
    rgb = np.asarray(color, np.uint8)
    weights = np.array([1868, 9617, 4899], np.float32)
    luma = np.empty(rgb.shape[:-1], np.uint8)
    for t in range(rgb.shape[0]):  # a frame at a time: the float32 temporaries stay small
        total = rgb[t].astype(np.float32) @ weights
        total += np.float32(1 << 13)
        total *= np.float32(1.0 / (1 << 14))
        luma[t] = np.floor(total, out=total)
    return _three_channels(luma)


def scribble_control(segmentation: np.ndarray, normals: np.ndarray) -> np.ndarray:
    """`scribble`: exact line drawing, black lines on white (VACE's scribble network draws dark
    strokes on white and is not inverted). A line runs between two 4-neighbours that show
    different surfaces (silhouettes: object, ground, sky) or one surface bent by more than
    CREASE_DEGREES (creases, from the normals); both pixels are drawn, so lines are SCRIBBLE_LINE
    px wide across a boundary. 3 equal channels (a read-only view of one). `normals`: float
    unit normals, or their stored uint8 codes (`outputs.labels.decode_normals`, applied here a
    frame at a time)."""
    from lightpipe.dataset.outputs.labels import decode_normals

    ids = np.asarray(segmentation)
    cos_limit = np.float32(np.cos(np.radians(CREASE_DEGREES)))
    gray = np.empty(ids.shape, np.uint8)
    for t in range(ids.shape[0]):  # a frame at a time: the temporaries stay in cache
        n = normals[t] if normals.dtype != np.uint8 else decode_normals(normals[t])
        n = np.ascontiguousarray(np.moveaxis(np.asarray(n, np.float32), -1, 0))
        edge = np.zeros(ids.shape[1:], bool)
        for axis in (0, 1):
            a = [slice(None)] * 2
            b = [slice(None)] * 2
            a[axis], b[axis] = slice(None, -1), slice(1, None)
            a, b = tuple(a), tuple(b)
            dot = n[0][a] * n[0][b]  # (x + y) + z, as np.sum over the 3 channels adds them
            dot += n[1][a] * n[1][b]
            dot += n[2][a] * n[2][b]
            bent = dot < cos_limit
            cut = (ids[t][a] != ids[t][b]) | ((ids[t][a] > 0) & bent)
            edge[a] |= cut
            edge[b] |= cut
        gray[t] = np.where(edge, 0, WHITE)
    return _three_channels(gray)


def layout_bbox(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """`layout_bbox`: each object's box (T, K, 4: x0, y0, x1, y1 pixel edges, x1 and y1
    exclusive; NaN where it shows no pixel) as a BOX_LINE px outline in its slot's colour on
    white (VACE: `cv2.rectangle(..., thickness=2)`): the box's outermost pixel rows and columns
    and the ones inside them, so the outline stays inside the frame and the box."""
    boxes = np.asarray(boxes, np.float64)
    frames = np.full((boxes.shape[0], height, width, 3), WHITE, np.uint8)
    for t, frame in enumerate(frames):
        for slot, box in enumerate(boxes[t]):
            if not np.all(np.isfinite(box)):
                continue
            x0, y0, x1, y1 = (int(v) for v in box)
            band = _box_outline(height, width, x0, y0, x1 - 1, y1 - 1, BOX_LINE)
            frame[band] = object_colour(slot)
    return frames


def layout_track(segmentation: np.ndarray, object_ids: list[int]) -> np.ndarray:
    """`layout_track`: each object's exact mask contour, TRACK_LINE px wide, in its slot's colour
    on white: the mask's boundary pixels (a 4-neighbour outside the mask or the frame) and the
    pixels around them (3x3), as `cv2.drawContours` with thickness 3 draws on the contour
    `cv2.findContours` traces through them. Objects in slot order, later ones on top. Worked
    out per frame on the object's box grown by the line (the same pixels, far less work)."""
    ids = np.asarray(segmentation)
    frames = np.full((*ids.shape, 3), WHITE, np.uint8)
    radius = TRACK_LINE // 2
    for t in range(ids.shape[0]):
        for slot, object_id in enumerate(object_ids):
            mask = ids[t] == object_id
            box = _mask_box(mask, radius)
            if box is None:
                continue
            band = _dilate(_boundary(mask[None][(slice(None), *box)]), radius)[0]
            np.copyto(frames[t][box], object_colour(slot), where=band[..., None])
    return frames


def masked_video(color: np.ndarray, mask: np.ndarray, fill: int = MASKED_GREY
                 ) -> tuple[np.ndarray, np.ndarray]:
    """`inpainting` / `outpainting`: the video with the masked pixels (mask True) set to grey
    `fill` on all channels, and the mask as VACE writes it (255 generate, 0 keep)."""
    mask = np.asarray(mask, bool)
    video = np.array(color, np.uint8, copy=True)
    for frame, covered in zip(video, mask):  # per frame on the mask's box, channel by channel:
        box = _mask_box(covered)  # ~5x faster than one broadcast copyto
        if box is None:
            continue
        for channel in range(frame.shape[-1]):
            np.copyto(frame[box][..., channel], np.uint8(fill), where=covered[box])
    return video, np.where(mask, np.uint8(GENERATE), np.uint8(KEEP))


def box_masks(boxes: np.ndarray, height: int, width: int) -> np.ndarray:
    """(T, H, W) bool: each frame's box (T, 4: x0, y0, x1, y1, exclusive ends; NaN = none)
    filled, clipped to the frame (`inpainting` bboxtrack)."""
    boxes = np.asarray(boxes, np.float64)
    masks = np.zeros((boxes.shape[0], height, width), bool)
    for mask, box in zip(masks, boxes):
        if np.all(np.isfinite(box)):
            x0, y0, x1, y1 = (int(v) for v in box)
            mask[max(y0, 0):max(y1, 0), max(x0, 0):max(x1, 0)] = True
    return masks


def border_mask(frames: int, height: int, width: int, border: tuple[int, int, int, int]
                ) -> np.ndarray:
    """(T, H, W) bool: True outside the kept inner rectangle, `border` = (left, top, right,
    bottom) pixels (`outpainting`, as VACE's `outpainting_inner` keeps the frame size)."""
    left, top, right, bottom = border
    mask = np.ones((frames, height, width), bool)
    mask[:, top:height - bottom, left:width - right] = False
    return mask


def extension(color: np.ndarray, keep: str) -> tuple[np.ndarray, np.ndarray]:
    """`firstframe` / `lastframe` / `firstlastframe` (and `none`, the reference task's empty
    source): the kept frames as they are, every other frame MISSING_GREY; the mask 0 on kept
    frames and 255 on the others. The video keeps its length (VACE's firstlastframe adds a
    frame: 1 + 80 + 1)."""
    color = np.asarray(color, np.uint8)
    count = color.shape[0]
    kept = {"first": [0], "last": [count - 1], "firstlast": [0, count - 1], "none": []}.get(keep)
    if kept is None:
        raise ValueError(f"keep must be first, last, firstlast or none, got {keep!r}")
    video = np.full_like(color, MISSING_GREY)
    mask = np.full(color.shape[:3], GENERATE, np.uint8)
    for t in kept:
        video[t] = color[t]
        mask[t] = KEEP
    return video, mask


def _three_channels(gray: np.ndarray) -> np.ndarray:
    """(..., 3) read-only view of one channel (..., ): no copy; `np.ascontiguousarray` makes
    one where a writable array is needed."""
    return np.broadcast_to(gray[..., None], (*gray.shape, 3))


def _box_outline(height: int, width: int, x0: int, y0: int, x1: int, y1: int,
                 thickness: int) -> np.ndarray:
    """(H, W) bool: a `thickness` px band along the rectangle of pixels (x0, y0)-(x1, y1)
    (inclusive), (thickness - 1) // 2 px of it outside, the rest inside; clipped to the frame."""
    below, above = (thickness - 1) // 2, thickness // 2  # 2 px: the edge's pixel and the next
    ys, xs = np.arange(height)[:, None], np.arange(width)[None, :]
    across_x = (xs >= x0 - below) & (xs <= x1 + above)
    across_y = (ys >= y0 - below) & (ys <= y1 + above)
    near_left = (xs >= x0 - below) & (xs <= x0 + above)
    near_right = (xs >= x1 - above) & (xs <= x1 + below)
    near_top = (ys >= y0 - below) & (ys <= y0 + above)
    near_bottom = (ys >= y1 - above) & (ys <= y1 + below)
    return ((near_left | near_right) & across_y) | ((near_top | near_bottom) & across_x)


def _mask_box(mask: np.ndarray, grow: int = 0) -> tuple[slice, slice] | None:
    """The rows and columns of a (H, W) mask's True pixels, grown by `grow` on each side and
    clipped to the frame; None for an empty mask."""
    rows = np.flatnonzero(mask.any(axis=1))
    if rows.size == 0:
        return None
    cols = np.flatnonzero(mask.any(axis=0))
    height, width = mask.shape
    return (slice(max(rows[0] - grow, 0), min(rows[-1] + grow + 1, height)),
            slice(max(cols[0] - grow, 0), min(cols[-1] + grow + 1, width)))


def _boundary(mask: np.ndarray) -> np.ndarray:
    """(T, H, W) bool: the mask pixels with a 4-neighbour outside the mask or the frame."""
    padded = np.pad(mask, ((0, 0), (1, 1), (1, 1)), constant_values=False)
    inner = (padded[:, :-2, 1:-1] & padded[:, 2:, 1:-1] & padded[:, 1:-1, :-2]
             & padded[:, 1:-1, 2:])
    return mask & ~inner


def _dilate(mask: np.ndarray, radius: int) -> np.ndarray:
    """(T, H, W) bool: the mask grown by a (2 radius + 1)^2 square (separably: along rows, then
    along columns, which is the same set)."""
    rows = mask.copy()
    for d in range(1, radius + 1):
        rows[:, :, d:] |= mask[:, :, :-d]
        rows[:, :, :-d] |= mask[:, :, d:]
    out = rows.copy()
    for d in range(1, radius + 1):
        out[:, d:] |= rows[:, :-d]
        out[:, :-d] |= rows[:, d:]
    return out
