"""Test-only callback for `lightpipe fit` runs: records which videos each rank loads.

Loaded by the CLI via `--trainer.callbacks` with `tests/` on PYTHONPATH; one file per rank,
lines `<phase> <global video index>`, phase = `sanity`, `val@<global step>` or `train@<epoch>`.
"""

from __future__ import annotations

from pathlib import Path

from lightning.pytorch import Callback


class RecordSeenVideos(Callback):
    def __init__(self, out_dir: str) -> None:
        self.out_dir = Path(out_dir)

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx) -> None:
        self._record(trainer, f"train@{trainer.current_epoch}", batch)

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx,
                                dataloader_idx=0) -> None:
        phase = "sanity" if trainer.sanity_checking else f"val@{trainer.global_step}"
        self._record(trainer, phase, batch)

    def _record(self, trainer, phase: str, batch: dict) -> None:
        self.out_dir.mkdir(parents=True, exist_ok=True)
        with open(self.out_dir / f"rank{trainer.global_rank}.txt", "a") as handle:
            handle.writelines(f"{phase} {int(i)}\n" for i in batch["index"])
