# Quickstart on a fresh machine: `make run` renders configs/configv1.yaml; `make test` runs the suite.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
CONFIG ?= configs/configv1.yaml
ARGS ?=

.PHONY: install run test test-fast bench bpy-venv diffsynth-env bench-realism demo-assets clean

$(BIN)/lightpipe: pyproject.toml setup.py ci/constraints.txt \
		$(wildcard lightpipe/render/csrc/* lightpipe/dataset/csrc/*) lightpipe/render/look.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade --quiet pip
	$(BIN)/pip install --quiet "torch==2.14.1" "torchvision==0.29.1"
	$(BIN)/pip install --quiet -c ci/constraints.txt -e ".[test]"
	touch $@

install: $(BIN)/lightpipe

run: install
	$(BIN)/lightpipe predict --config $(CONFIG) $(ARGS)

test: install
	$(BIN)/python -m pytest -q tests $(ARGS)

# The unit tier: no subprocess CLI runs (e2e), no torch.compile (slow), no SLURM cluster.
test-fast: install
	$(BIN)/python -m pytest -q tests -m "not e2e and not slow and not slurm" $(ARGS)

bench: install
	$(BIN)/python benchmarks/render_vs_encode.py $(ARGS)

# Blender as a Python module, for benchmarks/realism_vs_cycles.py only (never a dependency).
bpy-venv:
	test -x .venv-bpy/bin/python || $(PYTHON) -m venv .venv-bpy
	.venv-bpy/bin/pip install --quiet "bpy==4.5.*"

# DiffSynth-Studio's own dataset loader (diffsynth/core/data), for
# tests/commands/test_diffsynth_loader.py only (never a dependency): the packages it imports, in
# a --target folder beside .venv (torch, torchvision, numpy, Pillow come from .venv), without
# DiffSynth's heavy dependencies. Installed into a .partial folder and moved into place whole, so
# a failed download leaves no half-installed folder; reinstalled when the list changes.
DIFFSYNTH_ENV := .venv-diffsynth
DIFFSYNTH_PACKAGES := diffsynth==2.1.12 imageio==2.38.2 imageio-ffmpeg==0.8.1 pandas==3.1.1 \
	einops==0.8.2 python-dateutil==4.0.0 tzdata==2026.6
diffsynth-env: install
	@if [ "$$(cat $(DIFFSYNTH_ENV)/.packages 2>/dev/null)" != "$(DIFFSYNTH_PACKAGES)" ]; then \
	  rm -rf $(DIFFSYNTH_ENV).partial && \
	  $(BIN)/pip install --quiet --no-deps --target $(DIFFSYNTH_ENV).partial \
	    $(DIFFSYNTH_PACKAGES) && \
	  echo "$(DIFFSYNTH_PACKAGES)" > $(DIFFSYNTH_ENV).partial/.packages && \
	  rm -rf $(DIFFSYNTH_ENV) && mv $(DIFFSYNTH_ENV).partial $(DIFFSYNTH_ENV) && \
	  echo "installed DiffSynth-Studio's loader in $(DIFFSYNTH_ENV)"; \
	else echo "$(DIFFSYNTH_ENV) is up to date"; fi

bench-realism: install bpy-venv
	$(BIN)/python benchmarks/realism_vs_cycles.py $(ARGS)

# Real openly licensed assets shipped inside installed packages (Blender's eight CC0 Poly Haven
# HDRIs; pybullet_data's Panda arm meshes, Apache-2.0, when pybullet is installed), copied into
# demo_assets/ (git-ignored, never committed); render them with configs/demo_assets.yaml.
demo-assets: install bpy-venv
	$(BIN)/python scripts/demo_assets.py --out demo_assets --bpy .venv-bpy/bin/python $(ARGS)

clean:
	rm -rf output output_tiny build *.egg-info
