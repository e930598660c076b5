"""The asset error: a file under the assets root (or the root itself) is missing, unsupported or
broken. Its own module, so every asset module can raise it (`catalog` re-exports it)."""

from __future__ import annotations

from lightpipe.errors import LightpipeError


class AssetError(LightpipeError):
    """An asset file is missing, unsupported or broken."""
