"""The look lives once (`render/look.py`) and reaches the C kernels only as data or through the
header generated from it: no copy in csrc, a struct and signatures that match their ctypes
twins, a build that reports the table it was compiled from, and an edit of one constant that
moves both kernel paths together."""

from __future__ import annotations

import ctypes
import dataclasses
import re
import shutil

import numpy as np
import pytest

from lightpipe import native_library
from lightpipe.dataset import native_depth_codes, native_output_codes
from lightpipe.render import look, native
from lightpipe.render.renderer import RenderOptions, render_video

from asset_files import make_asset_root
from conftest import feature_specs

SOURCE_DIRS = (native_library.SOURCES, native_library.DATASET_SOURCES)
needs_native = pytest.mark.skipif(not native.available(), reason="native kernels not built")

# Float literals the kernels may write. Each is part of a formula, not a tunable of the look;
# the eager code writes the same number beside the same operation.
ALLOWED_LITERALS = {
    0.0, 1.0,  # identities; also the ends of every clamp to [0, 1]
    2.0,  # the reflection 2 (n.v) n - v and the half vector's |l + v|^2 = 2 + 2 l.v
    3.0, 4.0, 5.0,  # with 0, 1, 2: the cube's face numbers (`environment._face_coordinates`)
    0.5,  # pixel and texel centres; [-1, 1] -> [0, 1] of cube-face coordinates
    0.125, 0.25,  # Smith-Schlick's k = (r + 1)^2 / 8 and Cook-Torrance's 1 / (4 n.l n.v)
    # numerical guards (a finite division, a non-zero length, an int32-safe coordinate)
    1e-30, 1e-20, 1e-12, 1e-6, 1e-4, 1e-3, 1e6, 2e9,
    255.0, 65535.0,  # the uint8 / uint16 code ranges of dataset.depth_codes
    127.0, 128.0,  # a texel's normal codes: (code - 128) / 127 (`textures`)
    4.6e18, 2.0 ** -24,  # an int64-safe coordinate; a half float's subnormal step
}
_FLOAT = re.compile(r"(?<![\w.])((?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)"
                    r"[fF]?(?![\w.])")


MOTION_DEFINES = {"TRANSFORM_SIZE", "BOX_SIZE", "VALID", "INSIDE", "VISIBLE"}


def _sources() -> dict[str, str]:
    """The kernel sources without their comments."""
    return {path.name: re.sub(r"/\*.*?\*/|//[^\n]*", " ", path.read_text(), flags=re.S)
            for folder in SOURCE_DIRS for path in sorted(folder.glob("*.[ch]"))}


def test_no_look_constant_is_written_in_the_kernels():
    assert _FLOAT.findall("a - (float)0.04 * 1e-3f + 2 * x1.5 + 0.5f") == ["0.04", "1e-3", "0.5"]
    found = {(name, float(match)) for name, text in _sources().items()
             for match in _FLOAT.findall(text)}
    assert {(name, value) for name, value in found if value not in ALLOWED_LITERALS} == set()


def test_the_layout_is_only_generated_and_values_only_passed():
    """A layout constant is compiled in from look.h alone (never #defined by hand in csrc), and
    no constant is both compiled in and passed as data."""
    defined = {m for text in _sources().values()
               for m in re.findall(r"#define\s+(\w+)\s+[-\d(]", text)}
    assert defined & set(look.LAYOUT) == set()
    # work split, key codec, texel index width and code decode (test_textures checks them),
    # motion.c's row sizes and flag bits (test_motion checks them against motion.py): not look
    assert {"BLOCK", "FACE_MASK", "NARROW_TEXELS", "UNIT_HI", "NORMAL_HI",
            *MOTION_DEFINES} >= defined - {"LP_SUFFIX"}
    assert all(isinstance(getattr(look, name), int) for name in look.LAYOUT)
    values = {name.upper() for name in look.kernel_values()}
    assert values & set(look.LAYOUT) == set()
    header = look.c_header()
    assert all(f"#define {name} {getattr(look, name)}\n" in header for name in look.LAYOUT)


@needs_native
def test_the_build_reports_the_layout_of_the_table():
    """The module was compiled with look.h as look.py gives it now: a table edited without a
    rebuild fails here (and makes the build stale, `native_library.source_hash`)."""
    lib = native_library.library()
    lib.lp_layout_names.restype = ctypes.c_char_p
    names = lib.lp_layout_names().decode().split()
    values = (ctypes.c_int64 * len(names))()
    lib.lp_layout.restype = ctypes.c_int64
    assert lib.lp_layout(values) == len(names)
    assert dict(zip(names, values)) == {name: getattr(look, name) for name in look.LAYOUT}


def test_an_edited_look_table_makes_the_build_stale(tmp_path, monkeypatch):
    before = native_library.source_hash()
    edited = tmp_path / "look.py"
    shutil.copy(native_library.LOOK_TABLE, edited)
    edited.write_text(edited.read_text().replace("MAX_MIP_LEVELS = 14", "MAX_MIP_LEVELS = 15"))
    monkeypatch.setattr(native_library, "LOOK_TABLE", edited)
    assert native_library.source_hash() != before


_CTYPES = {"const float *": ctypes.c_void_p, "const int64_t *": ctypes.c_void_p,
           "const uint8_t *": ctypes.c_void_p, "const uint16_t *": ctypes.c_void_p,
           "int64_t": ctypes.c_int64, "float": ctypes.c_float, "Float2": ctypes.c_float * 2,
           "Float4": ctypes.c_float * 4}


@needs_native
@pytest.mark.parametrize("variant", native.runnable_variants())
def test_the_shading_struct_is_the_ctypes_struct(variant):
    fields = getattr(native_library.library(), f"lp_shading_layout_{variant}")
    fields.restype = ctypes.c_char_p
    *described, size = fields().decode().split(";")
    c = [tuple(field.split(":")) for field in described]
    py = [(name, _c_name(kind), str(getattr(native._Shading, name).offset),
           str(getattr(native._Shading, name).size)) for name, kind in native._Shading._fields_]
    assert [(name, _CTYPES[kind], offset, size) for name, kind, offset, size in c] == \
        [(name, _CTYPES[kind], offset, size) for name, kind, offset, size in py]
    assert size == f"sizeof:{ctypes.sizeof(native._Shading)}"
    struct_values = {name for name, _, _, _ in c[[f[0] for f in c].index("min_roughness"):]}
    assert struct_values == set(look.kernel_values())


def _c_name(kind) -> str:
    return next(name for name, t in _CTYPES.items() if t == kind)


_C_TYPES = {"int64_t": ctypes.c_int64, "double": ctypes.c_double, "void": None,
            "const char *": ctypes.c_char_p}


def test_the_ctypes_signatures_are_the_c_prototypes():
    """The ctypes signatures (`native._SIGNATURES`, the depth and output codes') against
    every exported kernel `LP(name)(...)` of the C sources: argument count, pointers where C
    takes pointers, int64 / double where it takes those, results."""
    prototypes = {}
    for text in _sources().values():
        for result, name, args in re.findall(r"^([\w ]+?\s*\*?)\s*LP\((\w+)\)\(([^)]*)\)", text,
                                             flags=re.M):
            params = [a.strip() for a in args.split(",") if a.strip() and a.strip() != "void"]
            prototypes[name] = ([_param_type(p) for p in params], _C_TYPES[result.strip()])
    signatures = {**native._SIGNATURES, **native_depth_codes._LIB._signatures,
                  **native_output_codes._LIB._signatures}
    assert prototypes == {name: ([_plain(t) for t in argtypes], restype)
                          for name, (argtypes, restype) in signatures.items()}


def _param_type(param: str):
    return ctypes.c_void_p if "*" in param else _C_TYPES[param.rsplit(" ", 1)[0]]


def _plain(argtype):
    return ctypes.c_void_p if argtype is native._SHADING else argtype


@pytest.fixture(scope="module")
def spec(tmp_path_factory):
    assets = make_asset_root(tmp_path_factory.mktemp("assets"))
    spec = next(s for s in feature_specs(assets) if s.objects and not s.background.image_id)
    return dataclasses.replace(spec, width=64, height=64, num_frames=2), str(assets)


@needs_native
@pytest.mark.parametrize("name, value", [("SHADOW_BIAS", 0.6), ("AO_STRENGTH", 0.4),
                                          ("MIN_ROUGHNESS", 0.3)])
def test_one_edited_constant_moves_both_kernel_paths_together(spec, monkeypatch, name, value):
    spec, assets = spec
    options = RenderOptions(asset_root=assets, shadows=True, ambient_occlusion=True,
                            native=False)
    default = render_video(spec, options=options).color
    monkeypatch.setattr(look, name, value)
    eager = render_video(spec, options=options).color
    fast = render_video(spec, options=dataclasses.replace(options, native=True)).color
    assert not np.array_equal(eager, default), f"{name} changed nothing in this scene"
    assert np.array_equal(eager, fast)
