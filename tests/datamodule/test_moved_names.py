"""The names that moved from `lightpipe.datamodule` to `lightpipe.generation` still resolve from
their old package (the same objects, with a DeprecationWarning naming the new place), and only
on use: importing the training package never loads generation or the renderer."""

from __future__ import annotations

import subprocess
import sys

import pytest

import lightpipe.datamodule
import lightpipe.generation


@pytest.mark.parametrize("name", ["GenerationDataModule", "SpecDataset",
                                  "ContiguousDistributedSampler"])
def test_a_moved_name_resolves_from_the_old_package_with_a_warning(name):
    with pytest.warns(DeprecationWarning, match=f"lightpipe.datamodule.{name} moved to "
                                                f"lightpipe.generation."):
        value = getattr(lightpipe.datamodule, name)
    assert value is getattr(lightpipe.generation, name)
    assert name not in lightpipe.datamodule.__all__  # a star import stays on the training side


def test_other_names_still_raise_attribute_error():
    with pytest.raises(AttributeError, match="'lightpipe.datamodule' has no attribute 'Nope'"):
        lightpipe.datamodule.Nope  # noqa: B018


def test_importing_the_training_package_loads_no_generation_module():
    code = ("import sys, lightpipe.datamodule; from lightpipe.datamodule import *; "
            "print(sorted(m for m in sys.modules "
            "if m.startswith(('lightpipe.generation', 'lightpipe.render'))))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
