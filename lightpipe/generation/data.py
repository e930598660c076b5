"""What generation renders: a dataset of pending video specs and the DataModule that shards it
per task. It lives beside the module and the writer it feeds (they share its stop flag), not in
`lightpipe.datamodule`, which holds the DataModules a user imports to train."""

from __future__ import annotations

from collections.abc import Sequence

from lightning.pytorch import LightningDataModule
from torch.utils.data import DataLoader, Dataset

from lightpipe.config.settings import ProjectSettings, Settings
from lightpipe.dataset.identity import run_layout
from lightpipe.dataset.output_dir import prepare_output_dir
from lightpipe.errors import LightpipeError
from lightpipe.generation.sampler import ContiguousDistributedSampler
from lightpipe.lightning_compat import uses_distributed_sampler
from lightpipe.planning.assignment import contiguous_block
from lightpipe.planning.planner import AssetPool, asset_pools, plan_video
from lightpipe.planning.specs import VideoSpec
from lightpipe.preemption import StopFlag


class SpecDataset(Dataset):
    """Item i is the spec of the i-th pending video (planned lazily: planning is cheap and pure)."""

    def __init__(self, seed: int, settings: Settings, indices: Sequence[int],
                 pools: dict[str, AssetPool]) -> None:
        self.seed, self.settings, self.indices, self.pools = seed, settings, list(indices), pools

    def __len__(self) -> int:
        return len(self.indices)

    def __getitem__(self, position: int) -> VideoSpec:
        return plan_video(self.seed, self.settings, self.indices[position], self.pools)


class GenerationDataModule(LightningDataModule):
    """Plans the dataset and hands each task its contiguous block of pending videos.

    `stop` is the task's one stop flag: once set (by the preemption handler), the sampler hands
    out no further videos. `VideoGenerator` shares it with its writer.
    """

    def __init__(self, settings: Settings = Settings(), seed: int = 42,
                 name: str = "lightpipe") -> None:
        super().__init__()
        self.settings = settings
        self.project = ProjectSettings(seed=seed, name=name)
        self.pending: list[int] = []
        self.num_complete = 0
        self.stop = StopFlag()

    def setup(self, stage: str) -> None:
        if stage != "predict":
            raise LightpipeError(f"GenerationDataModule supports only predict, not {stage!r}")
        if uses_distributed_sampler(self.trainer):  # before anything is written
            raise LightpipeError(
                "`trainer.use_distributed_sampler` is true; allowed: false.\n"
                "HINT: Lightpipe shards videos itself; Lightning's sampler would shard them twice "
                "and silently drop videos.")
        trainer = self.trainer
        if trainer.is_global_zero:
            prepare_output_dir(self.project, self.settings)
        trainer.strategy.barrier("lightpipe-output-dir")  # ready before any task reads it
        # Each task checks its own share of the dataset (JSONs, identity and file sizes, no
        # hashing: `lightpipe verify` hashes), then all tasks share the result, so the pending
        # videos (a video recorded for another config or seed included) are spread evenly over
        # the tasks of this run.
        share = contiguous_block(self.settings.num_videos, trainer.global_rank, trainer.world_size)
        mine = run_layout(self.project, self.settings).pending(share, hashes=False)
        self.pending = _gather(mine, trainer.world_size)
        self.num_complete = self.settings.num_videos - len(self.pending)

    def predict_dataloader(self) -> DataLoader:
        dataset = SpecDataset(self.project.seed, self.settings, self.pending,
                              asset_pools(self.project.seed, self.settings))
        sampler = ContiguousDistributedSampler(dataset, num_replicas=self.trainer.world_size,
                                               rank=self.trainer.global_rank,
                                               stop=self.stop)
        return DataLoader(dataset, batch_size=1, sampler=sampler, collate_fn=_single, num_workers=0)


def _gather(items: list[int], world_size: int) -> list[int]:
    """Every task's `items`, in rank order, on every task."""
    if world_size == 1:
        return items
    import torch.distributed

    parts: list[list[int] | None] = [None] * world_size
    torch.distributed.all_gather_object(parts, items)
    return [item for part in parts for item in part]


def _single(batch: list[VideoSpec]) -> VideoSpec:
    return batch[0]
