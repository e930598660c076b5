"""The asset cache (hashes and check outcomes keyed by (size, mtime_ns)), the identity over every
file of an asset, and the byte-bounded memory of loaded assets.

A "new process" is simulated by `forget_caches()` plus an empty asset memory: the cache file
is then read again, as a fresh run would. Files are dated 100 s back, as a library is: a file
changed in the last 2 s is never taken from the cache (see `RACY_SECONDS`).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from lightpipe.assets import catalog as catalog_module
from lightpipe.assets.catalog import AssetError, Catalog, build_catalog
from lightpipe.assets.file_cache import VERSION, cache_path, file_cache, forget_caches
from lightpipe.assets.loader import asset_facts, load_object, mesh_facts, validate_catalog
from lightpipe.assets.memory import ASSET_MEMORY, ByteLRU, nbytes, set_asset_memory_mb
from lightpipe.atomic_io import sha256_file

from asset_files import write_image, write_textured_obj
from conftest import REPO, tiny_config


def write_obj(path: Path, scale: float = 1.0, subdivisions: int = 1) -> Path:
    import trimesh

    path.parent.mkdir(parents=True, exist_ok=True)
    mesh = trimesh.creation.icosphere(subdivisions=subdivisions, radius=scale)
    lines = [f"v {x:.6f} {y:.6f} {z:.6f}" for x, y, z in mesh.vertices]
    lines += [f"f {a + 1} {b + 1} {c + 1}" for a, b, c in mesh.faces]
    path.write_text("\n".join(lines) + "\n")
    return path


def age(root: Path, seconds: float = 100.0) -> None:
    """Date the file `root`, or every file under it, `seconds` back (a library downloaded
    earlier)."""
    import time

    when = time.time() - seconds
    for path in [root] if root.is_file() else root.rglob("*"):
        if path.is_file():
            os.utime(path, (when, when))


def library(root: Path, count: int = 3) -> Path:
    for i in range(count):
        write_obj(root / "objects" / f"ball{i}.obj", scale=1.0 + i)
    write_image(root / "textures" / "red.png", (200, 20, 20))
    age(root)
    return root


def new_process() -> None:
    forget_caches()
    ASSET_MEMORY.clear()


def start(root: Path):
    """What a run's start does with the assets: scan, fingerprint, check."""
    catalog = build_catalog(str(root), builtin=True)
    fingerprint = catalog.fingerprint()
    validate_catalog(catalog)
    return catalog, fingerprint, file_cache(root)


@pytest.fixture(autouse=True)
def own_cache_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("LIGHTPIPE_CACHE_DIR", str(tmp_path / "cache"))
    new_process()
    yield
    new_process()


def test_a_warm_start_hashes_and_loads_nothing(tmp_path):
    root = library(tmp_path / "lib")
    _, cold, cache = start(root)
    assert cache.hashed == 4 and cache.computed == 4
    assert cache_path(root).parent == tmp_path / "cache" / "assets"
    new_process()
    loads = ASSET_MEMORY.loads
    _, warm, cache = start(root)
    assert (cache.hashed, cache.computed, ASSET_MEMORY.loads - loads) == (0, 0, 0)
    assert warm == cold
    # a single file's asset is identified by the file's own sha256 (identities kept)
    assert warm["user_files"]["user:objects/ball0.obj"] == \
        sha256_file(root / "objects" / "ball0.obj")
    assert not list(root.rglob("*cache*"))  # nothing written into the library


def test_facts_and_radius_come_from_the_cache(tmp_path):
    root = library(tmp_path / "lib")
    catalog, _, _ = start(root)
    facts = asset_facts(catalog, "user:objects/ball2.obj")
    assert facts["triangles"] == 80 and facts["vertices"] == 42
    assert facts["radius"] == pytest.approx(3.0, rel=1e-5)
    assert asset_facts(catalog, "user:textures/red.png") == {"width": 32, "height": 16}
    new_process()
    loads = ASSET_MEMORY.loads
    assert mesh_facts(str(root), "user:objects/ball1.obj")["radius"] == pytest.approx(2.0, rel=1e-5)
    assert ASSET_MEMORY.loads == loads  # read from the cache, not the mesh


def test_a_changed_file_is_hashed_and_checked_again(tmp_path):
    root = library(tmp_path / "lib")
    _, before, _ = start(root)
    new_process()
    ball = root / "objects" / "ball1.obj"
    os.utime(ball, ns=(os.stat(ball).st_atime_ns, os.stat(ball).st_mtime_ns + 1))  # touched
    _, touched, cache = start(root)
    assert (cache.hashed, cache.computed) == (1, 1) and touched == before  # same bytes
    new_process()
    write_obj(ball, scale=5.0)  # other bytes (other size)
    age(ball, 50)
    catalog, after, cache = start(root)
    assert (cache.hashed, cache.computed) == (1, 1)
    assert after["user_files"]["user:objects/ball1.obj"] == sha256_file(ball) != \
        before["user_files"]["user:objects/ball1.obj"]
    assert asset_facts(catalog, "user:objects/ball1.obj")["radius"] == pytest.approx(5.0, 1e-5)


def test_a_broken_file_stays_reported_until_it_changes(tmp_path):
    root = library(tmp_path / "lib")
    (root / "objects" / "broken.obj").write_text("v 0 0 0\nf 1 2 3\n")
    age(root)
    for _ in range(2):  # cold, then warm: the cached outcome is the same problem
        new_process()
        with pytest.raises(AssetError, match=r"objects/broken.obj' cannot be loaded"):
            start(root)
    assert file_cache(root).computed == 0
    new_process()
    age(write_obj(root / "objects" / "broken.obj"), 50)
    start(root)  # fixed: checked again, fine


def test_a_deleted_file_is_noticed_and_dropped(tmp_path):
    root = library(tmp_path / "lib")
    start(root)
    new_process()
    (root / "objects" / "ball0.obj").unlink()
    catalog, fingerprint, cache = start(root)
    assert "user:objects/ball0.obj" not in fingerprint["user_files"]
    cache.flush()
    stored = json.loads(cache_path(root).read_text())
    assert "objects/ball0.obj" not in stored["files"]
    assert not any(f[0] == "objects/ball0.obj" for r in stored["records"].values()
                   for f in r["files"])
    assert len(stored["files"]) == 3


@pytest.mark.parametrize("damage", ["garbage", "truncated", "other version", "malformed"])
def test_a_damaged_cache_is_named_and_rebuilt_not_trusted(tmp_path, capfd, damage):
    root = library(tmp_path / "lib")
    _, fingerprint, _ = start(root)
    path = cache_path(root)
    text = path.read_text()
    data = json.loads(text)
    liar = "0" * 64  # a plausible, wrong hash: must not be believed
    data["files"]["objects/ball0.obj"][2] = liar
    damaged = {"garbage": "\x00\x01 not json",
               "truncated": text[: len(text) // 2],
               "other version": json.dumps({**data, "version": VERSION + 1}),
               "malformed": json.dumps({**data, "files": {"objects/ball0.obj": [1, "x"]}}),
               }[damage]
    path.write_text(damaged)
    new_process()
    capfd.readouterr()
    _, again, cache = start(root)
    err = capfd.readouterr().err
    assert str(path) in err and "rebuilding" in err and err.count("rebuilding") == 1
    assert again == fingerprint and cache.hashed == 4  # recomputed, nothing trusted
    json.loads(path.read_text())  # replaced by a valid one
    new_process()
    start(root)
    assert "rebuilding" not in capfd.readouterr().err


WRITER = textwrap.dedent("""
    import sys
    from lightpipe.assets.file_cache import file_cache
    root, first = sys.argv[1], int(sys.argv[2])
    cache = file_cache(root)
    for round in range(15):
        for i in range(first, first + 10):
            cache.sha256(f"f{i:03d}.bin")
            cache.record("test", [f"f{i:03d}.bin"], {"round": 0}, lambda: {"i": i})
        cache._dirty = True
        cache.flush()
""")


def test_processes_writing_at_once_leave_a_valid_cache(tmp_path):
    root = tmp_path / "lib"
    root.mkdir()
    for i in range(40):
        (root / f"f{i:03d}.bin").write_bytes(bytes([i]) * (i + 1))
    age(root)
    env = {**os.environ, "PYTHONPATH": f"{REPO}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"}
    procs = [subprocess.Popen([sys.executable, "-c", WRITER, str(root), str(first)], env=env,
                              stderr=subprocess.PIPE, text=True) for first in (0, 10, 20, 30)]
    for proc in procs:
        assert proc.wait(timeout=120) == 0, proc.stderr.read()
        assert "rebuilding" not in proc.stderr.read()
    data = json.loads(cache_path(root).read_text())
    assert data["version"] == VERSION and data["files"]  # whole, and valid
    for name, (size, _, digest) in data["files"].items():
        assert digest == sha256_file(root / name) and size == (root / name).stat().st_size
    assert not [p for p in cache_path(root).parent.iterdir() if p.name.startswith(".")]
    new_process()
    cache = file_cache(root)
    assert [cache.sha256(f"f{i:03d}.bin") for i in range(40)] == \
        [sha256_file(root / f"f{i:03d}.bin") for i in range(40)]


def test_every_file_of_an_asset_is_in_its_identity(tmp_path):
    root = tmp_path / "lib"
    write_textured_obj(root / "objects" / "box")
    age(root)
    files = ("objects/box/box.obj", "objects/box/box.mtl", "objects/box/box.png")
    catalog = Catalog(("user:objects/box/box.obj",), ("builtin:x",), (), str(root), (),
                      {"user:objects/box/box.obj": files})
    before = catalog.fingerprint()["user_files"]["user:objects/box/box.obj"]
    assert catalog.file_hashes("user:objects/box/box.obj") == \
        {f: sha256_file(root / f) for f in files}
    write_image(root / "objects" / "box" / "box.png", (1, 2, 3), size=(16, 16))
    edited = Catalog(catalog.objects, catalog.materials, (), str(root), (), catalog.files)
    after = edited.fingerprint()["user_files"]["user:objects/box/box.obj"]
    assert len(after) == 64 and after != before


def test_the_memory_of_loaded_assets_stays_under_its_bound(tmp_path):
    lru = ByteLRU(10_000)
    for i in range(20):
        lru.get(i, lambda: np.zeros(3000, np.uint8))
        assert lru.current_bytes <= 10_000
    assert len(lru) == 3 and lru.get(19, lambda: None) is not None
    assert lru.get(0, lambda: "computed again") == "computed again"
    root = tmp_path / "lib"
    for i in range(12):
        write_obj(root / "objects" / f"ball{i}.obj", subdivisions=3)
    one = nbytes(load_object(str(root), "user:objects/ball0.obj", 16))
    try:
        set_asset_memory_mb(4.5 * one / 2**20)
        for i in range(12):
            load_object(str(root), f"user:objects/ball{i}.obj", 16)
            assert ASSET_MEMORY.current_bytes <= ASSET_MEMORY.max_bytes
        assert len(ASSET_MEMORY) == 4
    finally:
        set_asset_memory_mb(1024)


def test_a_resume_after_a_companion_edit_is_refused_naming_the_file(tmp_path, capsys):
    from lightpipe.commands.dispatch import main
    from lightpipe.commands.parsing import config_parser, parse_config
    from lightpipe.dataset.output_dir import prepare_output_dir

    root = tmp_path / "lib"
    write_textured_obj(root / "objects" / "box")
    write_obj(root / "objects" / "ball.obj")
    age(root)
    files = build_catalog(str(root), True).files["user:objects/box/box.obj"]
    assert files == ("objects/box/box.obj", "objects/box/box.mtl", "objects/box/box.png")
    catalog_module._cached_catalog.cache_clear()
    config = tiny_config(tmp_path / "c.yaml", tmp_path / "out", num_videos=2,
                         assets={"root": str(root)}, scene={"dynamics": "kinematic"})
    _, project, settings = parse_config(config_parser("t", "t"), ["--config", str(config)])
    prepare_output_dir(project, settings)  # an existing output of this library
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    box = next(a for a, fs in dataset["asset_files"].items() if "objects/box/box.png" in fs)
    write_image(root / "objects" / "box" / "box.png", (1, 2, 3), size=(16, 16))  # edited
    catalog_module._cached_catalog.cache_clear()  # a new run scans again
    capsys.readouterr()
    assert main(["predict", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert "holds a dataset made with another configuration" in err
    assert f"asset file 'objects/box/box.png' of {box} changed" in err
    assert "Traceback" not in err
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["dataset.json", "train",
                                                                     "val"]
    catalog_module._cached_catalog.cache_clear()


def test_a_refusal_names_changed_added_and_gone_assets(tmp_path):
    from dataclasses import replace

    from lightpipe.config.settings import AssetSettings, ProjectSettings, Settings, VideoSettings
    from lightpipe.dataset.output_dir import check_output_dir, prepare_output_dir
    from lightpipe.errors import OutputDirError

    root = library(tmp_path / "lib")
    settings = Settings(num_videos=2, output_dir=str(tmp_path / "out"),
                        video=VideoSettings(64, 64, 2, 8), assets=AssetSettings(root=str(root)))
    project = ProjectSettings(seed=3)
    catalog_module._cached_catalog.cache_clear()
    prepare_output_dir(project, settings)
    dataset = json.loads((tmp_path / "out" / "dataset.json").read_text())
    assert "asset_files" not in dataset  # single-file assets: dataset.json as before
    check_output_dir(project, settings)  # the same: resumes
    write_obj(root / "objects" / "ball0.obj", scale=9.0)
    (root / "objects" / "ball1.obj").unlink()
    write_obj(root / "objects" / "ball9.obj")
    catalog_module._cached_catalog.cache_clear()
    with pytest.raises(OutputDirError) as refused:
        check_output_dir(project, settings)
    message = str(refused.value)
    assert "asset file 'objects/ball0.obj' of user:objects/ball0.obj changed" in message
    assert "asset user:objects/ball1.obj gone" in message
    assert "asset user:objects/ball9.obj added" in message
    assert "assets.user_files" not in message
    check_output_dir(project, replace(settings, overwrite=True))
    catalog_module._cached_catalog.cache_clear()
