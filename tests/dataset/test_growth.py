"""Growing a dataset: under the interleaved split an index's split never depends on num_videos,
so a finished dataset grows without re-rendering; the contiguous split (the default) refuses
and says why and what to do."""

from __future__ import annotations

import dataclasses

import pytest

from lightpipe.config.settings import DatasetSplit, split_of, train_count
from lightpipe.dataset.identity import dataset_identity
from lightpipe.dataset.output_dir import check_output_dir, prepare_output_dir
from lightpipe.errors import OutputDirError

from conftest import run_lightpipe, settings_of, tree_hashes, write_dataset


def with_split(settings, **changes):
    split = dataclasses.replace(settings.dataset_split, **changes)
    return dataclasses.replace(settings, dataset_split=split)


@pytest.mark.parametrize("ratio", [0.8, 0.5, 0.9, 0.75, 1.0, 0.3])
def test_interleaved_split_of_an_index_never_depends_on_num_videos(ratio):
    splits = [split_of(i, 0, "interleaved", ratio) for i in range(500)]
    for total in (1, 7, 10, 99, 500):
        assert train_count(total, ratio, "interleaved") == splits[:total].count("train")
        assert abs(train_count(total, ratio, "interleaved") - total * ratio) <= 0.5
    if ratio == 0.8:  # one val video in every five, evenly spread
        assert [i for i, s in enumerate(splits[:20]) if s == "val"] == [2, 7, 12, 17]


def test_the_contiguous_rule_is_left_out_of_the_identity(config_factory):
    """Datasets made before the rule was a key keep their identity, so they resume."""
    config, _ = config_factory()
    project, settings = settings_of(config)
    assert "rule" not in dataset_identity(project, settings)["settings"]["dataset_split"]
    interleaved = with_split(settings, rule="interleaved")
    assert dataset_identity(project, interleaved)["settings"]["dataset_split"]["rule"] == \
        "interleaved"
    assert DatasetSplit().rule == "contiguous"


def test_growing_a_contiguous_dataset_is_refused_saying_why_and_how(config_factory):
    config, out = config_factory()
    project, settings = settings_of(config)
    prepare_output_dir(project, settings)  # dataset.json of 10 videos: train 0-7, val 8-9
    grown = dataclasses.replace(settings, num_videos=20)
    with pytest.raises(OutputDirError) as refused:
        check_output_dir(project, grown)
    message = str(refused.value)
    assert "holds this dataset with 10 videos" in message
    assert "moves videos 0008-0009 between train and val" in message
    assert "--settings.dataset_split.rule interleaved" in message


def test_an_interleaved_dataset_grows_but_does_not_shrink_or_change_digits(config_factory):
    config, out = config_factory()
    project, settings = settings_of(config)
    settings = with_split(settings, rule="interleaved")
    prepare_output_dir(project, settings)
    check_output_dir(project, dataclasses.replace(settings, num_videos=25))  # grows: allowed
    with pytest.raises(OutputDirError, match="does not shrink"):
        check_output_dir(project, dataclasses.replace(settings, num_videos=9))
    with pytest.raises(OutputDirError, match="videos need 5"):
        check_output_dir(project, dataclasses.replace(settings, num_videos=10001))
    with pytest.raises(OutputDirError, match="another configuration"):  # anything else: refused
        check_output_dir(dataclasses.replace(project, seed=8),
                         dataclasses.replace(settings, num_videos=25))


@pytest.mark.e2e
def test_a_grown_dataset_equals_one_rendered_at_its_size(config_factory):
    """4 videos, then the same config with 7: only 0004-0006 are rendered, the first four are
    untouched, and the tree is byte for byte a fresh 7-video run's."""
    split = ["--settings.dataset_split.rule", "interleaved"]
    config, out = config_factory("grow", num_videos=4, video={"num_frames": 3})
    run_lightpipe("predict", "--config", str(config), *split)
    before = {name: digest for name, digest in tree_hashes(out).items() if name != "dataset.json"}
    proc = run_lightpipe("predict", "--config", str(config), *split, "--settings.num_videos", "7")
    assert "rendered 3 [0004-0006]" in proc.stdout and "skipped as complete 4" in proc.stdout
    after = tree_hashes(out)
    assert all(after[name] == digest for name, digest in before.items())
    fresh_config, fresh = config_factory("fresh", num_videos=7, video={"num_frames": 3},
                                         dataset_split={"rule": "interleaved"})
    write_dataset(fresh_config)
    assert after == tree_hashes(fresh)
    plan = run_lightpipe("plan", "--config", str(config), *split, "--settings.num_videos", "9",
                         "--tasks", "1")
    assert "pending: 2 of 9 (7 complete" in plan.stdout and "grows the dataset from 7" in plan.stdout
