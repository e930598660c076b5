"""The `lightpipe` command line: one module per command, dispatched by `main`."""

from lightpipe.commands.dispatch import main

__all__ = ["main"]
