"""How `lightpipe fit` ends when the user stops it: Ctrl-C exits 130 and SIGTERM 143 (as a
shell reports a command the signal stopped), each with a last checkpoint when checkpointing is
on, and no traceback.

Lightning catches the KeyboardInterrupt of Ctrl-C in `trainer.fit` and exits 1; on SIGTERM its
loops raise `SIGTERMException`, a `SystemExit` with no code, so the command exited 0. Both pass
through the callbacks' `on_exception`, where this callback saves and remembers the exit code.
"""

from __future__ import annotations

import sys
from pathlib import Path

from lightning.pytorch import Callback
from lightning.pytorch.utilities.exceptions import SIGTERMException

INTERRUPT_EXIT = 130  # 128 + SIGINT
TERMINATED_EXIT = 143  # 128 + SIGTERM


class SaveOnStop(Callback):
    """On Ctrl-C or SIGTERM: save `last.ckpt` beside the ModelCheckpoint's checkpoints (when
    there is one) and set `exit_code`."""

    def __init__(self) -> None:
        self.exit_code: int | None = None

    def on_exception(self, trainer, pl_module, exception: BaseException) -> None:
        if isinstance(exception, KeyboardInterrupt):
            self.exit_code, name = INTERRUPT_EXIT, "Ctrl-C"
        elif isinstance(exception, SIGTERMException):
            self.exit_code, name = TERMINATED_EXIT, "SIGTERM"
        else:
            return
        where = f"stopped by {name} at epoch {trainer.current_epoch}, step {trainer.global_step}"
        checkpoint = trainer.checkpoint_callback
        if checkpoint is None or checkpoint.dirpath is None:
            note = "no checkpoint saved (checkpointing is off)"
        elif trainer.world_size > 1 and self.exit_code == INTERRUPT_EXIT:
            # Ctrl-C reaches each process at a different point: a save, which ends in a
            # barrier, could wait forever for a process that is still training.
            note = "no checkpoint saved (Ctrl-C with several processes; SIGTERM saves one)"
        else:
            path = Path(checkpoint.dirpath) / (checkpoint.CHECKPOINT_NAME_LAST
                                               + checkpoint.FILE_EXTENSION)
            trainer.save_checkpoint(path)
            note = f"last checkpoint saved to {path} (resume with --ckpt_path {path})"
        if trainer.is_global_zero:
            print(f"lightpipe fit: {where}; {note}", file=sys.stderr, flush=True)
