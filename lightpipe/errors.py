"""User-facing errors: printed as one clear message, never as a traceback."""

from __future__ import annotations


class LightpipeError(Exception):
    """An error caused by the user's input or environment; the CLI prints it without a traceback."""


class ConfigError(LightpipeError):
    """A configuration value is not allowed."""

    def __init__(self, key: str, value: object, allowed: str, hint: str = "") -> None:
        self.key, self.value, self.allowed, self.hint = key, value, allowed, hint
        message = f"`{key}` is {value!r}; allowed: {allowed}."
        if hint:
            message += f"\nHINT: {hint}"
        super().__init__(message)


class OutputDirError(LightpipeError):
    """The output directory cannot be used for this run."""
