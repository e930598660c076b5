"""The public API: every name the README documents and every `__all__` imports; `import
lightpipe` itself stays light (no torch, no Lightning) so the command line starts fast."""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

import lightpipe

README = Path(__file__).resolve().parents[1] / "README.md"
SUBPACKAGES = ["config", "assets", "planning", "dataset", "render", "datamodule", "generation",
               "models", "commands"]


def documented_imports() -> list[str]:
    """Every `from lightpipe... import ...` line in the code blocks of the README and docs/."""
    pages = [README, *sorted((README.parent / "docs").glob("*.md"))]
    return [line for page in pages for line in
            re.findall(r"^\s*(from lightpipe[\w.]* import [\w, ]+)$", page.read_text(), re.M)]


def test_the_readme_documents_the_public_api():
    lines = documented_imports()
    assert any(line.startswith("from lightpipe import ") for line in lines)
    names = {n.strip() for line in lines if line.startswith("from lightpipe import ")
             for n in line.split(" import ")[1].split(",")}
    assert {"GeneratedVideoDataModule", "GenerationDataModule", "VideoGenerator", "Settings",
            "plan_video"} <= names


@pytest.mark.parametrize("line", documented_imports())
def test_every_documented_import_works(line):
    exec(line, {})


@pytest.mark.parametrize("name", lightpipe.__all__)
def test_every_top_level_name_resolves(name):
    value = getattr(lightpipe, name)
    assert getattr(value, "__name__", name) == name or name == "__version__"


@pytest.mark.parametrize("package", SUBPACKAGES)
def test_every_subpackage_exports_its_public_names(package):
    module = importlib.import_module(f"lightpipe.{package}")
    assert module.__all__, f"lightpipe.{package} exports nothing"
    for name in module.__all__:
        assert getattr(module, name) is not None, f"lightpipe.{package}.{name}"


def test_unknown_names_raise_attribute_error():
    with pytest.raises(AttributeError, match="module 'lightpipe' has no attribute 'Nope'"):
        lightpipe.Nope  # noqa: B018


def test_import_lightpipe_loads_neither_torch_nor_lightning():
    code = ("import sys, lightpipe, lightpipe.commands; "
            "print(sorted(m for m in ('torch', 'lightning', 'av', 'numpy') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_help_and_a_refused_config_import_nothing_heavy(tmp_path):
    """`lightpipe --help` and validation (a predict refused before anything is written) load
    neither torch, Lightning nor PyAV (numpy, ~0.3 s, plans the asset pools): start-up and
    rejection stay fast."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("settings:\n  video:\n    fps: 0\n  output_dir: " + str(tmp_path / "out") + "\n")
    code = ("import sys, contextlib, io\n"
            "from lightpipe.commands.dispatch import main\n"
            "with contextlib.redirect_stdout(io.StringIO()), "
            "contextlib.redirect_stderr(io.StringIO()):\n"
            f"    codes = main(['--help']), main(['predict', '--config', {str(bad)!r}])\n"
            "print(codes, sorted(m for m in ('torch', 'lightning', 'av') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "(0, 2) []"
    assert not (tmp_path / "out").exists()
