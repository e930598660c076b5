"""Example models to train on a generated dataset."""

from lightpipe.models.depth_from_color import DepthFromColor

__all__ = ["DepthFromColor"]
