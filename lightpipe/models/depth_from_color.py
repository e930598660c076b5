"""`DepthFromColor`: a tiny per-frame conv net predicting log depth from color (an example)."""

from __future__ import annotations

import torch
from lightning.pytorch import LightningModule
from torch import nn

from lightpipe.errors import ConfigError


class DepthFromColor(LightningModule):
    """Per-frame 2D convs on (B*T, 3 + 2 coordinate channels, H, W) -> log depth (B*T, 1, H, W).

    Loss: L1 between predicted and true log depth over pixels with a surface (depth > 0). The
    validation loss is exact over the whole val set, whatever the number of processes: per-rank
    sums of |error| and of valid pixels are added across ranks before dividing. When the sanity
    check covers the whole val set (`trainer.num_sanity_val_steps: -1`), its loss is also logged
    as `val_loss` at step 0, so the logs show the untrained model's val loss.

    Args:
        channels: width of the hidden conv layers.
        lr: Adam learning rate.
    """

    def __init__(self, channels: int = 16, lr: float = 3e-3) -> None:
        super().__init__()
        if not isinstance(channels, int) or isinstance(channels, bool) or channels < 1:
            raise ConfigError("model.channels", channels, "an integer >= 1")
        if not isinstance(lr, (int, float)) or not lr > 0:
            raise ConfigError("model.lr", lr, "a number > 0")
        self.save_hyperparameters()
        c = channels
        self.encoder = nn.Sequential(
            nn.Conv2d(5, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, 2 * c, 3, stride=2, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(2 * c, 2 * c, 3, padding=2, dilation=2), nn.ReLU(),
        )
        self.decoder = nn.Sequential(
            nn.Conv2d(2 * c + 5, c, 3, padding=1), nn.ReLU(),
            nn.Conv2d(c, 1, 3, padding=1),
        )
        self._val_sums = torch.zeros(2, dtype=torch.float64)

    def forward(self, color: torch.Tensor) -> torch.Tensor:
        """color (B, T, 3, H, W) in [0, 1] -> log depth (B, T, 1, H, W)."""
        b, t, _, h, w = color.shape
        x = torch.cat([color.reshape(b * t, 3, h, w), _coordinates(b * t, h, w, color)], dim=1)
        features = self.encoder(x)
        features = nn.functional.interpolate(features, size=(h, w), mode="bilinear",
                                             align_corners=False)
        return self.decoder(torch.cat([features, x], dim=1)).reshape(b, t, 1, h, w)

    def training_step(self, batch: dict, batch_idx: int) -> torch.Tensor:
        error_sum, count = self._errors(batch)
        loss = error_sum / count.clamp(min=1)
        self.log("train_loss", loss, on_step=True, on_epoch=False, prog_bar=True,
                 batch_size=batch["color"].shape[0])
        return loss

    def on_validation_epoch_start(self) -> None:
        self._val_sums = torch.zeros(2, dtype=torch.float64, device=self.device)

    def validation_step(self, batch: dict, batch_idx: int) -> None:
        error_sum, count = self._errors(batch)
        self._val_sums += torch.stack([error_sum.double(), count.double()])

    def on_validation_epoch_end(self) -> None:
        sums = self.trainer.strategy.reduce(self._val_sums.clone(), reduce_op="sum")
        loss = (sums[0] / sums[1].clamp(min=1)).float()
        if self.trainer.sanity_checking:
            if self.logger is not None and sum(self.trainer.num_sanity_val_batches) >= sum(
                    self.trainer.num_val_batches):
                self.logger.log_metrics({"val_loss": loss.item()}, step=0)
            return
        self.log("val_loss", loss, prog_bar=True, sync_dist=True)

    def configure_optimizers(self) -> torch.optim.Optimizer:
        return torch.optim.Adam(self.parameters(), lr=self.hparams.lr)

    def _errors(self, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """Sum of |log depth error| over valid pixels, and their count."""
        depth = batch["depth"]
        valid = depth > 0
        target = torch.log(torch.where(valid, depth, torch.ones_like(depth)))
        error = (self(batch["color"]) - target).abs()
        return torch.where(valid, error, torch.zeros_like(error)).sum(), valid.sum()


def _coordinates(n: int, h: int, w: int, like: torch.Tensor) -> torch.Tensor:
    """Pixel-centre coordinates in [-1, 1] (x, y): depth of a ground plane follows the row."""
    ys = (torch.arange(h, device=like.device, dtype=like.dtype) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, device=like.device, dtype=like.dtype) + 0.5) / w * 2 - 1
    grid = torch.stack([xs.expand(h, w), ys.view(h, 1).expand(h, w)])
    return grid.expand(n, 2, h, w)
