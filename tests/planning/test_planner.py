import dataclasses

from lightpipe.assets.builtin_ids import BUILTIN_MATERIAL_IDS, BUILTIN_OBJECT_IDS
from lightpipe.config.settings import DatasetSplit, Settings
from lightpipe.planning.planner import asset_pools, plan_dataset
from lightpipe.planning.specs import VideoSpec


def settings(num_videos=80, ratio=0.8, disjoint=True) -> Settings:
    return Settings(num_videos=num_videos, dataset_split=DatasetSplit(ratio, disjoint))


def test_split_boundaries_80_videos():
    specs = plan_dataset(42, settings())
    assert [s.split for s in specs] == ["train"] * 64 + ["val"] * 16
    assert [s.index for s in specs] == list(range(80))


def test_same_seed_same_specs_other_seed_other_specs():
    a, b = plan_dataset(42, settings(20)), plan_dataset(42, settings(20))
    assert a == b
    c = plan_dataset(43, settings(20))
    assert all(x != y for x, y in zip(a, c))


def test_seed_zero_is_a_real_seed():
    assert plan_dataset(0, settings(5)) != plan_dataset(1, settings(5))
    assert plan_dataset(0, settings(5))[0].master_seed == 0


def test_video_depends_only_on_seed_and_index():
    small, large = plan_dataset(42, settings(10, 1.0, False)), plan_dataset(42, settings(30, 1.0, False))
    assert small == large[:10]


def test_disjoint_assets_between_splits():
    specs = plan_dataset(42, settings())
    train = {a for s in specs if s.split == "train" for a in s.asset_ids}
    val = {a for s in specs if s.split == "val" for a in s.asset_ids}
    assert train and val and not train & val
    pools = asset_pools(42, settings())
    assert set(pools["train"].objects).isdisjoint(pools["val"].objects)
    assert set(pools["train"].objects) | set(pools["val"].objects) == set(BUILTIN_OBJECT_IDS)
    assert set(pools["train"].materials) | set(pools["val"].materials) == set(BUILTIN_MATERIAL_IDS)


def test_overlap_allowed_when_not_disjoint():
    specs = plan_dataset(42, settings(disjoint=False))
    train = {a for s in specs if s.split == "train" for a in s.asset_ids}
    val = {a for s in specs if s.split == "val" for a in s.asset_ids}
    assert train & val
    pools = asset_pools(42, settings(disjoint=False))
    assert pools["train"] == pools["val"]


def test_pools_depend_on_seed_but_not_on_num_videos():
    assert asset_pools(42, settings(80)) == asset_pools(42, settings(200))
    assert asset_pools(42, settings()) != asset_pools(7, settings())


def test_spec_round_trips_through_dict_and_rejects_unknown_keys():
    spec = plan_dataset(5, settings(3))[2]
    assert VideoSpec.from_dict(spec.to_dict()) == spec
    data = spec.to_dict()
    data["camera"]["bogus"] = 1
    try:
        VideoSpec.from_dict(data)
    except ValueError as exc:
        assert "unknown keys ['bogus']" in str(exc)
    else:
        raise AssertionError("unknown key accepted")


def test_object_count_respects_scene_range():
    s = dataclasses.replace(settings(40), scene=dataclasses.replace(Settings().scene, min_objects=1,
                                                                    max_objects=3))
    counts = {len(spec.objects) for spec in plan_dataset(1, s)}
    assert counts == {1, 2, 3}
