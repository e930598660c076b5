"""Builds the renderer's native CPU kernels (`lightpipe.render._native`); everything else is in
pyproject.toml.

The kernels (`lightpipe/render/csrc`) are compiled once per instruction set (each source and
variant a job, as many at once as there are cores): a baseline build, and on x86-64 an AVX2
(x86-64-v3) and an AVX-512 (x86-64-v4, 512-bit vectors) build, each with its symbols suffixed;
`native_library` binds the best the CPU runs. Every build keeps the float32
results identical to the eager PyTorch reference: no FMA (-ffp-contract=off, -mno-fma), no
fast-math (only errno and trap assumptions are dropped, which change no value). Without a C
compiler the extension is skipped and the renderer runs its eager reference (same bytes).
"""

import hashlib
import importlib.util
import os
import platform
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

CSRC = "lightpipe/render/csrc"
DATASET_CSRC = "lightpipe/dataset/csrc"  # the depth and output codes, beside their numpy code
LOOK = "lightpipe/render/look.py"  # the look table: its layout becomes the generated look.h
KERNELS = [f"{CSRC}/shade.c", f"{CSRC}/raster.c", f"{CSRC}/motion.c",
           f"{DATASET_CSRC}/depth_codes.c", f"{DATASET_CSRC}/output_codes.c"]
COMMON = ["-O3", "-std=gnu11", "-fopenmp-simd", "-ffp-contract=off", "-fno-math-errno",
          "-fno-trapping-math",
          # PRE turns a clamped table index into a select of pointers, which stops the
          # vectorizer (the pixel loops must vectorize)
          "-fno-tree-pre"]
VARIANTS = {"base": []}
if platform.machine() in ("x86_64", "AMD64"):
    VARIANTS["v3"] = ["-march=x86-64-v3", "-mtune=intel", "-mno-fma"]
    # Intel tuning: GCC's generic tuning avoids hardware gathers; 512-bit vectors: ~1.5x
    VARIANTS["v4"] = ["-march=x86-64-v4", "-mtune=skylake-avx512", "-mprefer-vector-width=512",
                      "-mno-fma"]


def source_hash() -> str:
    """sha256 (16 hex digits) of the kernel sources and the look table their generated header
    comes from, built into the module; `native_library` compares it with the files in the tree
    and ignores a stale build (same function there)."""
    digest = hashlib.sha256()
    for path in [*sorted([*Path(CSRC).glob("*.[ch]"), *Path(DATASET_CSRC).glob("*.[ch]")]),
                 Path(LOOK)]:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def generate_header(directory: str) -> str:
    """Writes `look.h` (`look.c_header()` of the table, loaded by path: no package import)
    into `directory`; returns the directory, for the include path."""
    spec = importlib.util.spec_from_file_location("_lightpipe_look", LOOK)
    look = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(look)
    os.makedirs(directory, exist_ok=True)
    Path(directory, "look.h").write_text(look.c_header())
    return directory


class BuildNative(build_ext):
    """Compiles the kernel sources once per variant (a variant the compiler refuses is left
    out), then the module with the variants it has, and links them together."""

    def build_extension(self, ext):
        if ext.name != "lightpipe.render._native":
            return super().build_extension(ext)
        objects, macros = [], []
        include = generate_header(os.path.join(self.build_temp, "generated"))
        ext.include_dirs = [*ext.include_dirs, include]
        jobs = {}  # (variant, source) -> its compile, one per core at a time
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 1) as pool:
            for name, flags in VARIANTS.items():
                output_dir = os.path.join(self.build_temp, name)
                for path in self.compiler.object_filenames(KERNELS, output_dir=output_dir):
                    os.makedirs(os.path.dirname(path), exist_ok=True)  # no mkdir races
                for source in KERNELS:
                    jobs[name, source] = pool.submit(
                        self.compiler.compile, [source], output_dir=output_dir,
                        macros=[("LP_SUFFIX", f"_{name}")], include_dirs=[include],
                        extra_postargs=COMMON + flags)
        for name in VARIANTS:
            try:
                built = [path for source in KERNELS for path in jobs[name, source].result()]
            except Exception as error:  # noqa: BLE001 - an old compiler: fewer variants
                if name == "base":
                    raise
                print(f"lightpipe: skipping the {name} kernels: {error}")
                continue
            objects += built
            if name != "base":
                macros.append((f"LP_HAVE_{name.upper()}", "1"))
        ext.extra_objects = objects
        ext.define_macros = [*macros, ("LP_SOURCE_HASH", f'"{source_hash()}"')]
        return super().build_extension(ext)


setup(
    ext_modules=[Extension("lightpipe.render._native", sources=[f"{CSRC}/module.c"],
                           depends=[*KERNELS, f"{CSRC}/common.h", LOOK], extra_compile_args=COMMON,
                           optional=True)],
    cmdclass={"build_ext": BuildNative},
)
