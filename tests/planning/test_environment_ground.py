"""`settings.scene.ground: environment`: which videos stand on the map's own ground, from what
capture height, and that choosing it moves no other draw of the planner."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from lightpipe.config.settings import AssetSettings, DatasetSplit, SceneSettings, Settings
from lightpipe.planning.planner import asset_pools, plan_dataset, plan_video
from lightpipe.planning.specs import GroundSpec, VideoSpec

from asset_files import sky_map, write_environment, write_image

SEED = 13


@pytest.fixture(scope="module")
def root(tmp_path_factory):
    """Two HDR maps and a backdrop photo: videos under the sky, under a map, before a photo."""
    root = tmp_path_factory.mktemp("ground_assets")
    write_environment(root / "environments" / "noon.hdr", sky_map(sun_row=3, height=16))
    write_environment(root / "environments" / "dusk.hdr", sky_map(sun_row=6, height=16))
    write_image(root / "backgrounds" / "wall.png", (90, 90, 90))
    return root


def config(root, num_videos=40, **scene) -> Settings:
    return Settings(num_videos=num_videos, dataset_split=DatasetSplit(rule="interleaved"),
                    assets=AssetSettings(root=str(root), environment_probability=0.6,
                                         background_image_probability=0.25),
                    scene=SceneSettings(dynamics="kinematic", **scene))


def on_map(spec: VideoSpec) -> bool:
    """Lit by an HDR map and shown in front of it: the videos that may get its ground."""
    return bool(spec.environment.image_id) and not spec.background.image_id


def test_the_probability_sets_the_share_of_map_videos_on_the_environment_ground(root):
    shares = {}
    for probability in (0.0, 0.5, 1.0):
        specs = plan_dataset(SEED, config(root, ground="environment",
                                          environment_ground_probability=probability))
        eligible = [s for s in specs if on_map(s)]
        dome = [s for s in specs if s.ground.capture_height is not None]
        # the fixture's mix: sky videos, map videos and backdrop-photo videos all occur
        assert 10 <= len(eligible) < len(specs)
        assert any(not s.environment.image_id for s in specs)
        assert any(s.environment.image_id and s.background.image_id for s in specs)
        assert all(on_map(s) for s in dome)  # never under the sky nor before a photo
        assert all(1.4 <= s.ground.capture_height <= 1.8 for s in dome)
        shares[probability] = {s.index for s in dome}
        if probability == 1.0:
            assert shares[probability] == {s.index for s in eligible}
    assert shares[0.0] == set()
    assert set() < shares[0.5] < shares[1.0]  # some, not all: each video draws on its own


def test_heights_follow_the_range_and_not_the_probability(root):
    def heights(**scene):
        specs = plan_dataset(SEED, config(root, ground="environment", **scene))
        return {s.index: s.ground.capture_height for s in specs
                if s.ground.capture_height is not None}

    every, half = heights(), heights(environment_ground_probability=0.5)
    assert half and all(every[index] == height for index, height in half.items())
    high = heights(capture_height=(20.0, 20.0))
    assert set(high) == set(every) and set(high.values()) == {20.0}
    spread = np.array(list(heights(capture_height=(1.0, 3.0)).values()))
    assert spread.min() < 1.5 and spread.max() > 2.5


def test_the_environment_ground_moves_no_other_draw(root):
    """Planned with either ground, every field of every spec but `capture_height` is equal:
    the same assets, cameras, lights, layout and motions (the height has its own stream)."""
    for dynamics in ("kinematic", "physics"):
        material = plan_dataset(SEED, replace(config(root), scene=replace(
            config(root).scene, dynamics=dynamics)))
        dome = plan_dataset(SEED, replace(config(root), scene=replace(
            config(root).scene, dynamics=dynamics, ground="environment")))
        assert all(s.ground.capture_height is None for s in material)
        assert sum(s.ground.capture_height is not None for s in dome) >= 10
        assert [replace(s, ground=replace(s.ground, capture_height=None)) for s in dome] == material


def test_the_same_seed_gives_the_same_choices_in_any_order_and_dataset_size(root):
    settings = config(root, ground="environment", environment_ground_probability=0.5)
    first, again = plan_dataset(SEED, settings), plan_dataset(SEED, settings)
    assert first == again
    pools = asset_pools(SEED, settings)
    # one task's share, planned backwards, and a grown dataset: a video depends on its index only
    assert [plan_video(SEED, settings, i, pools) for i in reversed(range(40))] == first[::-1]
    grown = plan_dataset(SEED, replace(settings, num_videos=60))
    assert [s.ground for s in grown[:40]] == [s.ground for s in first]
    other = plan_dataset(SEED + 1, settings)
    assert [s.ground.capture_height for s in other] != [s.ground.capture_height for s in first]


def test_capture_height_is_left_out_of_the_spec_when_there_is_none(root):
    specs = plan_dataset(SEED, config(root, ground="environment"))
    dome = next(s for s in specs if s.ground.capture_height is not None)
    material = next(s for s in specs if s.ground.capture_height is None)
    assert "capture_height" not in material.to_dict()["ground"]  # plans made before: same bytes
    assert dome.to_dict()["ground"]["capture_height"] == dome.ground.capture_height
    for spec in (dome, material):
        assert VideoSpec.from_dict(spec.to_dict()) == spec
    assert GroundSpec.from_dict(material.to_dict()["ground"]).capture_height is None


def test_without_maps_no_video_gets_the_environment_ground():
    specs = plan_dataset(SEED, Settings(num_videos=10, scene=SceneSettings(ground="environment")))
    assert all(s.ground.capture_height is None for s in specs)
