"""`lightpipe fit`: the front door (`preflight`), then LightningCLI (`fit_cli`) over a model and
the training DataModule of a generated dataset."""

from __future__ import annotations

from lightpipe.commands.parsing import new_parser
from lightpipe.commands.preflight import check_config_files, check_trainer
from lightpipe.config.validation import MAX_SEED
from lightpipe.dataset.clip_span import (
    DEFAULT_CLIP_LENGTH,
    DEFAULT_FRAME_STRIDE,
    check_clip_span,
)
from lightpipe.errors import ConfigError


def run_fit(args: list[str]) -> int:
    if not {"-h", "--help", "--print_config"} & {a.split("=")[0] for a in args}:
        preflight(args)  # before Lightning is imported: bad input is refused in a second
    from lightpipe.commands.fit_cli import run_fit_cli

    return run_fit_cli(args)


def preflight(args: list[str]) -> None:
    """The config files, the dataset at `data.root`, the seed and the trainer's device keys.
    Anything this light parser does not know is left to LightningCLI (checked after import)."""
    from jsonargparse import ActionConfigFile, ArgumentError

    from lightpipe.dataset.index import DatasetIndex

    check_config_files(args)
    parser = new_parser("lightpipe fit", "Train a model on a generated dataset.")
    parser.add_argument("--config", action=ActionConfigFile)
    for group in ("model", "data", "trainer", "optimizer", "lr_scheduler"):
        parser.add_argument(f"--{group}", type=dict, default={})
    for key in ("seed_everything", "ckpt_path"):
        parser.add_argument(f"--{key}", type=object, default=None)
    try:
        namespace = parser.parse_args(args)
    except ArgumentError:
        return  # a key this parser does not know: LightningCLI says what is wrong
    seed = namespace.seed_everything
    if isinstance(seed, str) and seed.lstrip("-").isdigit():
        seed = int(seed)
    if seed is not None and not isinstance(seed, bool) and (
            not isinstance(seed, int) or not 0 <= seed <= MAX_SEED):
        raise ConfigError("seed_everything", seed, f"an integer in [0, {MAX_SEED}]",
                          "one seed fixes the weights, the batch order and the clip offsets")
    check_trainer(namespace.trainer, generation=False)
    data = namespace.data or {}
    if data.get("root") is None:
        return
    index = DatasetIndex.open(data["root"])  # not a directory, no dataset.json...: one message
    clip_length = data.get("clip_length", DEFAULT_CLIP_LENGTH)
    frame_stride = data.get("frame_stride", DEFAULT_FRAME_STRIDE)
    if index.num_frames is not None and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1
            for v in (clip_length, frame_stride)):  # other values: the DataModule says why
        check_clip_span(str(data["root"]), clip_length, frame_stride, index.num_frames)
