"""The ground's lobe-integrated reflection table (`render.ground_reflection`)."""

import numpy as np
import torch

from lightpipe.render import environment as env_light
from lightpipe.render import ground_reflection, look
from lightpipe.render.look import ENV_ROTATION, ENV_SIZE, GROUND_TABLE_SIDE, GROUND_TABLE_SLICES


def _levels(radiance_of) -> list[np.ndarray]:
    """A cube of 16 texels a side and its box-filtered levels, radiance_of(d) per texel
    direction d (N, 3) -> (N, 3)."""
    side = 16
    steps = (np.arange(side) + 0.5) / side * 2.0 - 1.0
    t, s = np.meshgrid(steps, steps, indexing="ij")
    one = np.ones_like(s)
    # Faces +X, -X, +Y, -Y, +Z, -Z in `environment._face_coordinates`' convention.
    faces = [(one, -t, -s), (-one, -t, s), (s, one, t), (s, -one, -t), (s, -t, one),
             (-s, -t, -one)]
    level = np.stack([radiance_of(np.stack(f, -1).reshape(-1, 3)).reshape(side, side, 3)
                      for f in faces])
    levels = [level]
    while levels[-1].shape[1] > 1:
        lv = levels[-1]
        levels.append(0.25 * (lv[:, ::2, ::2] + lv[:, 1::2, ::2] + lv[:, ::2, 1::2]
                              + lv[:, 1::2, 1::2]))
    return levels


def _table(levels):
    return ground_reflection.build_table(env_light.float64_lookup(levels), env_light.radiance)


def test_a_constant_sky_gives_its_radiance_everywhere():
    """White furnace: the lobe's average of a constant sky is the sky, at every roughness and
    view (the taps below the ground's horizon weigh nothing: the split-sum's scale and bias
    account for the light the lobe loses)."""
    table = _table(_levels(lambda d: np.full((d.shape[0], 3), 0.7)))
    torch.testing.assert_close(table, torch.full_like(table, 0.7), atol=1e-6, rtol=0)


def test_a_rough_ground_at_a_grazing_angle_sees_the_sky_above_the_horizon():
    """A bright upper sky over a dark lower half: a rough lobe seen at a grazing angle reaches
    up into the sky, so its entry is far brighter than what one lookup along the mirror
    direction (the horizon) reads, half the sky's radiance."""
    levels = _levels(lambda d: np.where(d[:, 1:2] > 0.0, 1.0, 0.0) * np.ones((1, 3)))
    table = _table(levels)
    grid = table.view(3, GROUND_TABLE_SLICES, GROUND_TABLE_SIDE, GROUND_TABLE_SIDE)
    horizon = float(grid[0, -1, 0, GROUND_TABLE_SIDE // 2])  # a = b: R along +x +z, y = 0
    params = torch.zeros(ENV_SIZE, dtype=torch.float64)
    params[ENV_ROTATION + 0] = params[ENV_ROTATION + 4] = params[ENV_ROTATION + 8] = 1.0
    one = torch.ones(1, dtype=torch.float64)
    single = float(env_light.radiance(env_light.float64_lookup(levels), params, one, one * 0.0,
                                      one, 0)[0][0])
    assert abs(single - 0.5) < 1e-9
    assert horizon > 0.85


def test_the_lookup_reads_the_entry_of_a_grid_direction():
    """`reflected` at a grid point's own mirror direction returns the table's entry there
    (the build's grid and the lookup's mapping agree), for a ground pixel of roughness 1."""
    torch.manual_seed(0)
    table = torch.rand(3, GROUND_TABLE_SLICES * GROUND_TABLE_SIDE ** 2)
    directions = torch.from_numpy(ground_reflection._grid_directions()).float()
    frame_env = torch.zeros(ENV_SIZE)
    frame_env[ENV_ROTATION + 0] = frame_env[ENV_ROTATION + 4] = frame_env[ENV_ROTATION + 8] = 1.0
    n = directions.shape[0]
    mirror = [torch.zeros(n) for _ in range(3)]
    out = ground_reflection.reflected(table, frame_env, mirror, torch.ones(n),
                                      torch.ones(n, dtype=torch.bool), *directions.unbind(1))
    last = table.view(3, GROUND_TABLE_SLICES, -1)[:, -1]
    for c in range(3):
        torch.testing.assert_close(out[c], last[c], atol=2e-5, rtol=0)
    # Not the ground: the mirror lookup as it is.
    out = ground_reflection.reflected(table, frame_env, mirror, torch.ones(n),
                                      torch.zeros(n, dtype=torch.bool), *directions.unbind(1))
    assert all(torch.equal(o, m) for o, m in zip(out, mirror))
    assert look.GROUND_TABLE_ROUGHNESS + (GROUND_TABLE_SLICES - 1) * look.GROUND_TABLE_STEP \
        == 1.0


def test_a_map_shared_by_videos_is_integrated_once():
    """The table is kept with the loaded assets by its levels' digest: the same levels (another
    copy) reuse it, other levels get their own."""
    from lightpipe.assets.memory import ASSET_MEMORY

    levels = _levels(lambda d: 0.5 + 0.4 * d[:, [1, 1, 1]])
    first = env_light._ground_table(levels)
    loads = ASSET_MEMORY.loads
    again = env_light._ground_table([level.copy() for level in levels])
    assert ASSET_MEMORY.loads == loads and torch.equal(again, first)
    assert torch.equal(first, _table(levels))
    other = env_light._ground_table([level * 2.0 for level in levels])
    assert ASSET_MEMORY.loads == loads + 1 and not torch.equal(other, first)
