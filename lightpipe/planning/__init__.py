"""Pure planning: (settings, master seed, global index) -> VideoSpec, asset pools, task blocks."""

from lightpipe.planning.assignment import assign_tasks, contiguous_block
from lightpipe.planning.planner import AssetPool, asset_pools, plan_dataset, plan_video, video_rng
from lightpipe.planning.specs import (
    BackgroundSpec,
    CameraSpec,
    GroundSpec,
    LightSpec,
    Motion,
    ObjectSpec,
    Trajectory,
    VideoSpec,
)

__all__ = ["AssetPool", "BackgroundSpec", "CameraSpec", "GroundSpec", "LightSpec", "Motion",
           "ObjectSpec", "Trajectory", "VideoSpec", "asset_pools", "assign_tasks",
           "contiguous_block", "plan_dataset", "plan_video", "video_rng"]
