"""Typed settings of a Lightpipe config (`project.*`, `settings.*`) and their validation."""

from lightpipe.config.settings import (
    SPLITS,
    AssetSettings,
    CameraSettings,
    DatasetSplit,
    EncoderSettings,
    LightingSettings,
    ProjectSettings,
    RenderSettings,
    SceneSettings,
    Settings,
    VideoSettings,
    split_of,
)
from lightpipe.config.validation import validate_settings

__all__ = ["SPLITS", "AssetSettings", "CameraSettings", "DatasetSplit", "EncoderSettings",
           "LightingSettings", "ProjectSettings", "RenderSettings", "SceneSettings", "Settings",
           "VideoSettings", "split_of", "validate_settings"]
