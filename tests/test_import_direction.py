"""The package layers: every import points down (or sideways within a layer), never up; and no
modules import each other in a cycle.

    base (errors, records, atomic_io, preemption, lightning_compat, clock, native_library)
      <- config <- assets <- planning <- physics <- dataset <- datamodule <- render <- generation
      <- models <- commands

`datamodule` sits below `render`, so the training reader can never import the renderer.
Imports inside functions count (they run too); imports under `if TYPE_CHECKING:` (annotations
only, never run) count for the layers but not for cycles. The one allowed exception to the
layers is in `ALLOWED_UPWARD`, with its reason.
"""

from __future__ import annotations

import ast
from pathlib import Path

import lightpipe

PACKAGE = Path(lightpipe.__file__).parent
LAYERS = [
    {"errors", "records", "atomic_io", "preemption", "lightning_compat", "clock",
     "native_library"},
    {"config"}, {"assets"}, {"planning"}, {"physics"}, {"dataset"}, {"datamodule"}, {"render"},
    {"generation"}, {"models"}, {"commands"},
]
RANK = {unit: rank for rank, units in enumerate(LAYERS) for unit in units}
# (file, module) -> why the upward import is allowed.
ALLOWED_UPWARD = {
    ("lightpipe/config/validation.py", "lightpipe.dataset.outputs"):
        "settings.outputs names the output registry's outputs, and a video's memory depends on "
        "them: validation asks the registry (numpy only, imported when validating)",
    ("lightpipe/datamodule/__init__.py", "lightpipe.generation"):
        "compatibility: the names that moved to `generation` resolve lazily, in the package's "
        "module `__getattr__`, never on `import lightpipe.datamodule`",
}


def unit_of(module: str) -> str:
    """`lightpipe.dataset.layout` -> `dataset`; `lightpipe.errors` -> `errors`."""
    return module.split(".")[1]


def module_of(path: Path, package: Path) -> str:
    """`<package>/dataset/layout.py` -> `lightpipe.dataset.layout`; a package's __init__.py
    -> the package."""
    parts = path.relative_to(package.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def lightpipe_imports(path: Path, package: Path = PACKAGE, run_only: bool = False
                      ) -> list[tuple[int, str]]:
    """(line, module) of every lightpipe import in a file, lazy (in-function) ones included;
    with `run_only`, not those under `if TYPE_CHECKING:`. `from package import name` gives
    `package.name` where that is a module of the package (a file or a folder beside it)."""
    tree = ast.parse(path.read_text(), str(path))
    skipped = set()
    if run_only:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skipped |= {id(n) for child in node.body for n in ast.walk(child)}
    found = []
    for node in ast.walk(tree):
        if id(node) in skipped:
            continue
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith("lightpipe.")]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "lightpipe" or node.module.startswith("lightpipe."):
                folder = package.parent.joinpath(*node.module.split("."))
                names = [a.name for a in node.names]
                submodules = [n for n in names if (folder / f"{n}.py").exists()
                              or (folder / n).is_dir()]
                found += [(node.lineno, f"{node.module}.{n}") for n in submodules]
                if len(submodules) < len(names):
                    found.append((node.lineno, node.module))
    return found


def sources(package: Path = PACKAGE) -> list[Path]:
    return [p for p in sorted(package.rglob("*.py")) if p != package / "__init__.py"]


def upward_imports(package: Path = PACKAGE) -> list[str]:
    """`file:line (unit) imports module (unit)` for every import of a higher layer."""
    upward = []
    for path in sources(package):
        unit = path.relative_to(package).parts[0].removesuffix(".py")
        for line, module in lightpipe_imports(path, package):
            target = unit_of(module)
            allowed = (str(path.relative_to(package.parent)), module) in ALLOWED_UPWARD
            if RANK[target] > RANK[unit] and not allowed:
                upward.append(f"{path.relative_to(package.parent)}:{line} ({unit}) imports "
                              f"{module} ({target})")
    return upward


def import_cycles(package: Path = PACKAGE) -> list[str]:
    """`a -> b -> ... -> a` for each cycle of imports among the package's modules (lazy ones
    included): one cycle per strongly connected group."""
    graph = {module_of(p, package): {m for _, m in lightpipe_imports(p, package, run_only=True)}
             for p in sorted(package.rglob("*.py")) if p != package / "__init__.py"}
    cycles, done = [], set()
    for start in sorted(graph):
        path = _path_back(graph, start, start, [start], set())
        if path and not set(path) & done:
            cycles.append(" -> ".join(path))
            done |= set(path)
    return cycles


def _path_back(graph, start: str, node: str, path: list[str], seen: set) -> list[str] | None:
    """A path of imports from `node` back to `start` (depth first), or None."""
    for target in sorted(graph.get(node, ())):
        if target == start:
            return [*path, start]
        if target in graph and target not in seen:
            seen.add(target)
            found = _path_back(graph, start, target, [*path, target], seen)
            if found:
                return found
    return None


def test_every_package_and_top_level_module_has_a_layer():
    units = {p.relative_to(PACKAGE).parts[0].removesuffix(".py") for p in sources()}
    assert units - set(RANK) == set(), \
        "add new packages to LAYERS (and docs/architecture.md's picture)"


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


def test_no_modules_import_each_other_in_a_cycle():
    assert import_cycles() == []


def test_a_cycle_is_found_also_through_a_lazy_import(tmp_path):
    package = tmp_path / "lightpipe"
    (package / "render").mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "render" / "__init__.py").write_text("")
    (package / "render" / "native.py").write_text("from lightpipe.render.occlusion import KERNEL\n")
    (package / "render" / "occlusion.py").write_text(
        "from lightpipe.render import rasterizer\nKERNEL = 1\n")
    (package / "render" / "rasterizer.py").write_text(
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from lightpipe.render.native import KERNEL\n\n"
        "def fill():\n    from lightpipe.render import native\n")
    assert import_cycles(package) == [
        "lightpipe.render.native -> lightpipe.render.occlusion -> lightpipe.render.rasterizer"
        " -> lightpipe.render.native"]
    (package / "render" / "rasterizer.py").write_text(  # only for annotations: no cycle
        "from typing import TYPE_CHECKING\n\nif TYPE_CHECKING:\n"
        "    from lightpipe.render.native import KERNEL\n")
    assert import_cycles(package) == []
