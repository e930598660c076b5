"""`lightpipe assets check --root DIR`: counts, split, categories, notes and problems of a library;
exit code 1 with problems; DIR untouched (only the cache in the cache folder is written)."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from lightpipe.assets.catalog import build_catalog
from lightpipe.assets.file_cache import cache_path, file_cache, forget_caches
from lightpipe.assets.memory import ASSET_MEMORY
from lightpipe.atomic_io import sha256_file
from lightpipe.commands.dispatch import main
from lightpipe.planning.planner import split_asset_ids

from asset_files import make_asset_root, write_image
from conftest import run_lightpipe


def snapshot(root: Path) -> dict:
    """Every path under `root` (files and folders) with its size, mtime_ns and sha256."""
    out = {}
    for path in sorted(root.rglob("*")):
        info = path.stat()
        digest = None if path.is_dir() else sha256_file(path)
        out[path.relative_to(root).as_posix()] = (info.st_size, info.st_mtime_ns, digest)
    return out


def write_sphere(path: Path, radius: float = 1.0) -> Path:
    import trimesh

    path.parent.mkdir(parents=True, exist_ok=True)
    trimesh.creation.icosphere(subdivisions=1, radius=radius).export(path)
    return path


def age(root: Path) -> None:
    """Date everything under `root` 100 s back: files of the last 2 s are never cached."""
    old = time.time() - 100
    for path in root.rglob("*"):
        os.utime(path, (old, old))


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path / "cache"))
    forget_caches()
    ASSET_MEMORY.clear()
    yield
    forget_caches()


def library(root: Path) -> Path:
    make_asset_root(root)  # 5 objects (one in objects/box/), 2 textures, 1 backdrop, 2 maps
    for name in ("chair/a.obj", "chair/b.obj", "chair/c.obj", "mug/a.stl"):
        write_sphere(root / "objects" / name)
    return root


def test_a_library_is_counted_split_and_categorized(tmp_path, capsys):
    root = library(tmp_path / "lib")
    assert main(["assets", "check", "--root", str(root), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    catalog = build_catalog(str(root), builtin=False)
    train, val = split_asset_ids(3, catalog.objects, 0.8)
    assert f"  objects: 9 (train {len(train)}, val {len(val)})" in out
    assert "    categories: (none) 4, chair 3, box 1, mug 1" in out
    train, val = split_asset_ids(3, tuple(catalog.materials), 0.8)
    assert f"  textures: 2 (train {len(train)}, val {len(val)})" in out
    assert "  backgrounds: 1 (train 1, val 0)" in out
    assert "0 problems: the library is ready" in out
    # another seed, another split (of these 9 objects, some seed moves one)
    splits = set()
    for seed in range(6):
        main(["assets", "check", "--root", str(root), "--seed", str(seed),
              "--train-ratio", "0.5"])
        splits.add(next(line for line in capsys.readouterr().out.splitlines()
                        if "objects:" in line))
    assert len(splits) > 1


def test_every_problem_is_listed_and_the_exit_code_says_so(tmp_path, capsys):
    root = library(tmp_path / "lib")
    (root / "objects" / "broken.obj").write_text("v 0 0 0\nf 1 2 3\n")
    (root / "objects" / "flat.obj").write_text("v 0 0 0\nv 1 0 0\nv 0 1 0\nf 1 2 3\n")
    (root / "objects" / "chair.fbx").write_bytes(b"fbx")
    (root / "backgrounds" / "bad.png").write_bytes(b"\x89PNG not really")
    age(root)
    for run in range(2):  # cold, then from the cache (a new process): the same report
        forget_caches()
        ASSET_MEMORY.clear()
        loads = ASSET_MEMORY.loads
        assert main(["assets", "check", "--root", str(root)]) == 1
        out = capsys.readouterr().out
        assert "problems (4):" in out and "4 problems" in out
        assert "unsupported asset file" in out and "chair.fbx" in out
        assert "objects/broken.obj' cannot be loaded" in out
        assert "backgrounds/bad.png' cannot be read" in out
        assert "objects/flat.obj': no collision shape can be built" in out
        assert "(with settings.scene.dynamics physics, the default)" in out
    assert file_cache(root).computed == 0 and ASSET_MEMORY.loads == loads  # nothing loaded


def test_notes_and_a_kind_too_small_to_split(tmp_path, capsys):
    root = tmp_path / "lib"
    write_sphere(root / "objects" / "only.obj")
    assert main(["assets", "check", "--root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "  objects: 1\n" in out and "  textures: 0 (the built-in materials are used)" in out
    assert "notes (1):\n  - objects: only 1, so train and val cannot have their own" in out


def test_bad_arguments_are_refused(tmp_path, capsys):
    assert main(["assets", "check", "--root", str(tmp_path / "nope")]) == 2
    assert "`--root` is" in capsys.readouterr().err
    assert main(["assets", "check", "--root", str(tmp_path), "--train-ratio", "0"]) == 2
    assert "`--train-ratio` is 0.0" in capsys.readouterr().err
    (tmp_path / "empty").mkdir()
    assert main(["assets", "check", "--root", str(tmp_path / "empty")]) == 1
    assert "holds no assets" in capsys.readouterr().out
    assert main(["assets", "check", "--root", str(tmp_path), "--max-triangles", "5"]) == 2
    assert "`--max-triangles` is 5" in capsys.readouterr().err


def test_print_config_shows_the_resolved_arguments_and_checks_nothing(tmp_path, capsys):
    assert main(["assets", "check", "--root", str(tmp_path / "nope"), "--max-triangles", "0",
                 "--print_config"]) == 0
    assert capsys.readouterr().out.splitlines() == [
        f"root: {tmp_path / 'nope'}", "seed: 42", "train_ratio: 0.8", "max_triangles: 0"]


def test_the_real_command_writes_nothing_into_the_library(tmp_path):
    root = library(tmp_path / "lib")
    (root / "objects" / "broken.obj").write_text("v 0 0 0\nf 1 2 3\n")
    write_image(root / "textures" / "extra.jpg", (1, 2, 3))
    age(root)
    before = snapshot(root)
    for _ in range(2):  # cold (fills the cache), then warm
        proc = run_lightpipe("assets", "check", "--root", str(root), check=False)
        assert proc.returncode == 1 and "objects/broken.obj" in proc.stdout
        assert "Traceback" not in proc.stderr
    assert snapshot(root) == before
    assert cache_path(root).is_file()  # what it learnt: in the cache folder
