"""`lightpipe preview`: a PNG contact sheet of one video, from the files or rendered on the fly."""

from __future__ import annotations

import numpy as np
from PIL import Image

from lightpipe.commands import preview as preview_command
from lightpipe.commands.dispatch import main
from lightpipe.dataset.video_reader import read_rgb
from lightpipe.planning.planner import asset_pools, plan_video
from lightpipe.render.renderer import RenderOptions, render_video

from conftest import settings_of, tiny_config

SCALE = preview_command.MIN_PANEL // 64  # 64x64 panels are enlarged 4x


def sheet_size(columns: int, rows: int) -> tuple[int, int]:
    panel = 64 * SCALE
    return (preview_command.ROW_LABEL_W + columns * (panel + preview_command.GAP),
            preview_command.CAPTION_H + rows * (panel + preview_command.GAP))


def panel(image: np.ndarray, row: int, column: int) -> np.ndarray:
    """The panel at (row, column) of a sheet of 64x64 videos, back at its original size."""
    size = 64 * SCALE
    y = preview_command.CAPTION_H + row * (size + preview_command.GAP)
    x = preview_command.ROW_LABEL_W + column * (size + preview_command.GAP)
    return image[y:y + size:SCALE, x:x + size:SCALE]


def test_on_the_fly_preview_of_a_tiny_config(tmp_path, capsys):
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "no_output")
    out = tmp_path / "sheet.png"
    assert main(["preview", "--config", str(config), "--index", "3", "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "rendered on the fly" in printed and str(out) in printed
    assert "frames 0, 1, 3, 4;" in printed  # 4 of 5 frames, first and last included
    image = Image.open(out)
    assert image.format == "PNG" and image.mode == "RGB"
    assert image.size == sheet_size(columns=2, rows=4)
    pixels = np.asarray(image)
    color, depth = panel(pixels, 0, 0), panel(pixels, 0, 1)
    assert color.std() > 10 and len(np.unique(color.reshape(-1, 3), axis=0)) > 50
    assert depth.max() > 200 and (depth == 0).any()  # near = bright (per video), sky = black
    assert (depth[..., 0] == depth[..., 1]).all()  # gray
    assert not (tmp_path / "no_output").exists()  # nothing written besides the PNG
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp left


def test_preview_from_the_files_of_a_complete_dataset(tiny_dataset, tmp_path, capsys):
    config, out_dir = tiny_dataset
    out = tmp_path / "p.png"
    assert main(["preview", "--config", str(config), "--index", "0", "--frames", "2",
                 "--out", str(out)]) == 0
    printed = capsys.readouterr().out
    assert "from files" in printed and "frames 0, 4;" in printed
    pixels = np.asarray(Image.open(out))
    assert pixels.shape[1::-1] == sheet_size(columns=2, rows=2)
    frames = read_rgb(out_dir / "train" / "0000_color.mp4")
    np.testing.assert_array_equal(panel(pixels, 0, 0), frames[0])
    np.testing.assert_array_equal(panel(pixels, 1, 0), frames[-1])


def test_default_output_name(tmp_path, capsys, monkeypatch):
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "none", video={"num_frames": 1})
    monkeypatch.chdir(tmp_path)
    assert main(["preview", "--config", str(config), "--index", "7", "--frames", "3"]) == 0
    assert "wrote preview_0007.png" in capsys.readouterr().out
    assert Image.open(tmp_path / "preview_0007.png").size == sheet_size(columns=2, rows=1)


def test_bad_index_is_a_config_error(tmp_path, capsys):
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "none")
    for index in ("10", "-1"):
        assert main(["preview", "--config", str(config), "--index", index,
                     "--out", str(tmp_path / "x.png")]) == 2
        err = capsys.readouterr().err
        assert f"lightpipe preview: error: `--index` is {index}; allowed: an integer in " \
               "[0, num_videos)." in err
        assert "Traceback" not in err
    assert not (tmp_path / "x.png").exists()


def test_extra_outputs_become_columns(tmp_path, capsys):
    """Segmentation and normals, rendered for real, are shown after color and depth."""
    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "none",
                         outputs=["color", "depth", "segmentation", "normals"])
    out = tmp_path / "p.png"
    assert main(["preview", "--config", str(config), "--index", "0", "--frames", "1",
                 "--out", str(out)]) == 0
    assert "columns color, depth, segmentation, normals" in capsys.readouterr().out
    pixels = np.asarray(Image.open(out))
    assert pixels.shape[1::-1] == sheet_size(columns=4, rows=1)
    depth, seg, nrm = panel(pixels, 0, 1), panel(pixels, 0, 2), panel(pixels, 0, 3)

    project, settings = settings_of(config)
    spec = plan_video(project.seed, settings, 0, asset_pools(project.seed, settings))
    video = render_video(spec, options=RenderOptions.from_settings(settings))
    ids = video.segmentation[0].astype(int)
    expected = preview_command.PALETTE[(np.maximum(ids, 1) - 1) % len(preview_command.PALETTE)]
    expected[ids == 0] = 0
    np.testing.assert_array_equal(seg, expected)  # id k > 0 -> PALETTE[k - 1], 0 -> black
    sky = video.depth[0] == 0
    assert sky.any() and (~sky).any()
    assert (nrm[sky] == 0).all() and (depth[sky] == 0).all()  # no surface: black
    assert (nrm[~sky].max(axis=-1) > 0).all()
    ground = ids == 1  # the ground faces up: camera-space y < 0 (OpenCV y down) -> green < 128
    assert (nrm[ground][:, 1] < 128).mean() > 0.95


def test_references_show_as_one_grid_in_every_row(tmp_path, capsys):
    """The references output's images (one per object) make one column: the same grid of every
    object's image in each row, as `reference_grid` lays them out."""
    from lightpipe.dataset.outputs.references import reference_grid

    config = tiny_config(tmp_path / "tiny.yaml", tmp_path / "none",
                         outputs=["color", "depth", "references"])
    out = tmp_path / "p.png"
    assert main(["preview", "--config", str(config), "--index", "0", "--frames", "2",
                 "--out", str(out)]) == 0
    assert "columns color, depth, references" in capsys.readouterr().out
    pixels = np.asarray(Image.open(out))
    project, settings = settings_of(config)
    spec = plan_video(project.seed, settings, 0, asset_pools(project.seed, settings))
    video = render_video(spec, options=RenderOptions.from_settings(settings))
    expected = reference_grid(video.references.images[:len(spec.objects)])
    assert len(spec.objects) >= 2 and (expected != 255).any()
    for row in (0, 1):
        np.testing.assert_array_equal(panel(pixels, row, 2), expected)


def test_reference_grid_places_each_image_shrunk_in_its_cell():
    from lightpipe.dataset.outputs.references import reference_grid

    images = np.full((5, 12, 18, 3), 255, np.uint8)  # 5 images: a 3 x 2 grid, each shrunk 3x
    for k in range(5):
        images[k, 3:6, 6:12] = 40 * k  # a 3x6 block: one 1x2 cell block after a 3x box average
    images[4, 0, 0] = 0  # one dark texel of 9: its cell pixel averages to round(8 * 255 / 9)
    grid = reference_grid(images)
    assert grid.shape == (12, 18, 3)
    top, left = (12 - 2 * 4) // 2, 0  # rows of 4, columns of 6 pixels, the grid centred
    for k in range(5):
        y, x = top + (k // 3) * 4, left + (k % 3) * 6
        np.testing.assert_array_equal(grid[y + 1, x + 2:x + 4], 40 * k)
    assert (grid[top + 4, 6] == round(8 * 255 / 9)).all()
    assert (grid[:top] == 255).all() and (grid[top + 8:] == 255).all()
    assert (grid[top + 4:top + 8, 12:] == 255).all()  # the sixth cell is empty
    assert (reference_grid(images[:0]) == 255).all()
