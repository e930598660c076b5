"""Gray YUV frames to RGB through a 256-entry table equal to swscale's exact conversion.

`encode_gray_h264` writes gray videos (depth_vis) with U = V = 128, and H.264 keeps constant
chroma planes exactly (every decoded frame of them has U = V = 128). With chroma constant, the
reader's conversion (`video_reader.RGB_SCALING`: same size, full horizontal chroma
interpolation, accurate rounding, bit-exact) makes each pixel's RGB a function of its Y code
alone, so a table of the 256 codes gives the same bytes as swscale for a fraction of its cost.

The table is not derived by hand: `GrayTable.build` converts probe frames of the decoded frame's
own size, colour space and range through the reader's swscale conversion, Y codes scattered over
every position, and keeps the table only if every code gave one RGB triple everywhere (else the
reader keeps swscale for that stream). A frame goes through the table only when its chroma
planes are all exactly 128; any other frame is converted by swscale.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import av
import numpy as np

GRAY_CHROMA = 128


@dataclass(frozen=True)
class GrayTable:
    """RGB of each Y code, (256, 3) uint8, for frames of one size, colour space and range."""

    rgb: np.ndarray

    @classmethod
    def build(cls, frame: av.VideoFrame, convert: Callable[[av.VideoFrame], np.ndarray]
              ) -> GrayTable | None:
        """The table of `convert` (a frame -> (H, W, 3) uint8 conversion) for frames like
        `frame` (yuv420p, its size, colour space and range), or None when `convert` does not
        give each Y code one RGB triple at every position of the probes."""
        height, width = frame.height, frame.width
        if frame.format.name != "yuv420p" or height * width < 256:
            return None  # (a frame smaller than 256 pixels cannot show every code)
        codes = (np.arange(height * width) % 256).astype(np.uint8)
        tables = []
        for flat in (codes, np.random.default_rng(0).permutation(codes)):
            rgb = convert(gray_frame(frame, flat.reshape(height, width))).reshape(-1, 3)
            table = np.zeros((256, 3), np.uint8)
            table[flat] = rgb  # the triple of each code at one of its positions
            if not np.array_equal(table[flat], rgb):
                return None  # a code gave two triples: not a function of Y alone
            tables.append(table)
        if not np.array_equal(tables[0], tables[1]):
            return None
        return cls(tables[0])

    def convert(self, frame: av.VideoFrame, out: np.ndarray | None = None) -> np.ndarray:
        """(H, W, 3) uint8 of a gray frame (`is_gray(frame)`), into `out` if given."""
        return np.take(self.rgb, luma(frame), axis=0, out=out, mode="clip")  # codes < 256


def is_gray(frame: av.VideoFrame) -> bool:
    """A yuv420p frame whose chroma planes are all exactly 128."""
    if frame.format.name != "yuv420p":
        return False
    planes = (_plane(frame, 1), _plane(frame, 2))
    return all(p[0, 0] == GRAY_CHROMA for p in planes) and all(  # colour frames leave early
        bool((p == GRAY_CHROMA).all()) for p in planes)


def luma(frame: av.VideoFrame) -> np.ndarray:
    """The Y plane, (H, W) uint8 (a view of the frame's buffer, its line padding dropped)."""
    return _plane(frame, 0)


def _plane(frame: av.VideoFrame, index: int) -> np.ndarray:
    plane = frame.planes[index]
    rows = np.frombuffer(plane, np.uint8).reshape(plane.height, plane.line_size)
    return rows[:, : plane.width]


def gray_frame(like: av.VideoFrame, y: np.ndarray) -> av.VideoFrame:
    """A yuv420p frame with `like`'s size, colour space and range, luma `y`, chroma 128."""
    height, width = y.shape
    frame = av.VideoFrame(width, height, "yuv420p")
    frame.colorspace, frame.color_range = like.colorspace, like.color_range
    for index, values in enumerate((y, None, None)):
        plane = frame.planes[index]
        rows = np.full((plane.height, plane.line_size), GRAY_CHROMA, np.uint8)
        if values is not None:
            rows[:, :width] = values
        plane.update(rows.tobytes())
    return frame
