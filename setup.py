"""Builds the renderer's native CPU kernels (`lightpipe.render._native`); everything else is in
pyproject.toml. The flags keep float32 results identical to the eager PyTorch reference: no FMA
contraction, no fast-math (only errno and trap assumptions are dropped, which change no value)."""

from setuptools import Extension, setup

setup(ext_modules=[Extension(
    "lightpipe.render._native",
    sources=["lightpipe/render/csrc/shade.c", "lightpipe/render/csrc/raster.c"],
    extra_compile_args=["-O3", "-std=gnu11", "-fopenmp-simd", "-ffp-contract=off", "-fno-math-errno",
                        "-fno-trapping-math",
                        # PRE turns a clamped table index into a select of pointers, which
                        # stops the vectorizer (shade.c's pixel loops must vectorize)
                        "-fno-tree-pre"],
    optional=True,  # without a C compiler the renderer runs its eager reference (same bytes)
)])
