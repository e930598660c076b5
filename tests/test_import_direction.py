"""The package layers: every import points down (or sideways within a layer), never up.

    base (errors, records, atomic_io, preemption, lightning_compat)
      <- config <- assets <- planning <- dataset <- datamodule <- render <- generation
      <- models <- commands

`datamodule` sits below `render`, so the training reader can never import the renderer.
The one allowed exception is in `ALLOWED_UPWARD`, with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lightpipe

PACKAGE = Path(lightpipe.__file__).parent
LAYERS = [
    {"errors", "records", "atomic_io", "preemption", "lightning_compat", "clock"},
    {"config"}, {"assets"}, {"planning"}, {"dataset"}, {"datamodule"}, {"render"},
    {"generation"}, {"models"}, {"commands"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
# (file, module) -> why the upward import is allowed.
ALLOWED_UPWARD = {
    ("lightpipe/datamodule/__init__.py", "lightpipe.generation"):
        "compatibility: the names that moved to `generation` resolve lazily, in the package's "
        "module `__getattr__`, never on `import lightpipe.datamodule`",
}


def unit_of(module: str) -> str:
    """`lightpipe.dataset.layout` -> `dataset`; `lightpipe.errors` -> `errors`."""
    return module.split(".")[1]


def lightpipe_imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) of every lightpipe import in a file, lazy (in-function) ones included."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("lightpipe.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "lightpipe":
                found += [(node.lineno, f"lightpipe.{a.name}") for a in node.names]
            elif node.module.startswith("lightpipe."):
                found.append((node.lineno, node.module))
    return found


def sources(package: Path = PACKAGE) -> list[Path]:
    return [p for p in sorted(package.rglob("*.py")) if p != package / "__init__.py"]


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """`file:line (unit) imports module (unit)` for every import of a higher layer."""
    upward = []
    for path in sources(package):
        unit = path.relative_to(package).parts[0].removesuffix(".py")
        for line, module in lightpipe_imports(path):
            target = unit_of(module)
            allowed = (str(path.relative_to(package.parent)), module) in ALLOWED_UPWARD
            if RANK[target] > RANK[unit] and not allowed:
                upward.append(f"{path.relative_to(package.parent)}:{line} ({unit}) imports "
                              f"{module} ({target})")
    return upward


def test_every_package_and_top_level_module_has_a_layer():
    units = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in sources()}
    assert units - set(RANK) == set(), "add new packages to LAYERS (and the README's picture)"


def test_no_module_imports_a_layer_above_its_own():
    assert upward_imports() == []


def test_an_upward_import_is_found_also_inside_a_function(tmp_path):
    package = tmp_path / "lightpipe"
    (package / "dataset").mkdir(parents=True)
    (package / "dataset" / "layout.py").write_text(
        "from lightpipe.config.settings import Settings\n\n"
        "def draw():\n    from lightpipe.render import renderer\n")
    assert upward_imports(package) == [
        "lightpipe/dataset/layout.py:4 (dataset) imports lightpipe.render (render)"]
