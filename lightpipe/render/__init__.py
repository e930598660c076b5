"""The renderer: a VideoSpec to color, depth and extras, deterministic on CPU and GPU."""

from lightpipe.render.renderer import RenderedVideo, RenderOptions, render_video
from lightpipe.render.scene import Scene, build_scene

__all__ = ["RenderOptions", "RenderedVideo", "Scene", "build_scene", "render_video"]
