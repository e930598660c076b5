"""The look: every constant that shapes a shaded pixel, in one table that both kernel paths read.

The eager PyTorch reference (`shading`, `occlusion`, `environment`) reads these names at call
time. The native C kernels (`csrc/shade.c`) get them one of two ways, never both:
- VALUES (floats the arithmetic uses) travel as data: `native.FrameKernels` puts
  `kernel_values()` into the `Shading` struct as float32, each the float32 nearest the double
  the eager path computes (PyTorch casts a Python scalar that way), so a changed value needs no
  rebuild and both paths follow it at once;
- LAYOUT (sizes and row indices the compiler needs to index, unroll and vectorize) is compiled
  in: setup.py loads this file by path and writes `c_header()` as `look.h`, and the build's
  source hash covers this file, so an edited layout makes the old build stale.
Pure Python (no torch): setup.py reads it without importing the package.

Numerical guards (the 1e-30 that keeps a division finite, ...) are not look: they stay beside
the operation in both languages (the literal scan in tests/render/test_look.py lists them).
"""

from __future__ import annotations

# ---- LAYOUT: compiled into the kernels (`c_header`) ----
# Material texels (`textures`): 8 bytes each, sRGB base colour rgb, roughness, metalness and the
# tangent-space normal xyz ((code - 128) / 127), in mip chains of up to MAX_MIP_LEVELS levels
# (8192 texels per side at most). Per material a row of MIP_ROW int64: its level-0 side, its
# last level, then the first texel of each level.
CHANNELS = 8
MAX_MIP_LEVELS = 14
MIP_SIZE, MIP_LAST, MIP_OFFSETS = 0, 1, 2
MIP_ROW = MIP_OFFSETS + MAX_MIP_LEVELS
EXP_TABLE_SIZE = 64  # entries of `shading.environment_brdf_table` over NoV in [0, 1]
AO_SAMPLES = 6  # hemisphere samples of the ambient occlusion (`occlusion.KERNEL`)
# The ground's reflection table (`ground_reflection`): per roughness slice a GROUND_TABLE_SIDE^2
# grid over the upper hemisphere of mirror directions (hemi-octahedral), rgb.
GROUND_TABLE_SIDE = 32
GROUND_TABLE_SLICES = 8
# `face_info` rows (per face, from the scene): tint rgb, roughness scale, metal override, material
# (its row of the mip table), projected (1: the environment ground, 0: a material surface),
# ground (1: the ground plane, whose environment light comes from `ground_reflection`'s table);
# `surface_planes` ends with them.
FACE_TINT, FACE_ROUGHNESS_SCALE, FACE_METAL_OVERRIDE, FACE_MATERIAL, FACE_PROJECTED = 0, 3, 4, 5, 6
FACE_GROUND = 7
FACE_INFO_ROWS = 8
# Rows of `surface_planes`; a vector X takes 3 rows (x, y, z).
DET, DEPTH, NORMAL, TEXEL_S, TEXEL_T, TANGENT, BITANGENT = 0, 3, 4, 13, 16, 19, 22
FACE_INFO = 25  # first `face_info` row
TINT = FACE_INFO + FACE_TINT
ROUGHNESS_SCALE = FACE_INFO + FACE_ROUGHNESS_SCALE
METAL_OVERRIDE = FACE_INFO + FACE_METAL_OVERRIDE
MATERIAL = FACE_INFO + FACE_MATERIAL
PROJECTED = FACE_INFO + FACE_PROJECTED
GROUND = FACE_INFO + FACE_GROUND
NUM_PLANES = FACE_INFO + FACE_INFO_ROWS
# Entries of the per-frame light vector (`shading.frame_light`): the sun, the environment's
# scale, the mip level of roughness 1, and 1/fx, 1/fy (ray units per pixel: texture footprints).
SUN_DIR, SUN_RGB, AMBIENT_SCALE, LOD_SCALE, INV_FX, INV_FY = 0, 3, 6, 7, 8, 9
LIGHT_SIZE = 10
# Entries of the per-frame environment vector (`environment.frame_parameters`): the camera ->
# environment rotation (3x3, row-major) from ENV_ROTATION, then per channel ENV_TERMS terms of
# the irradiance's quadratic form from ENV_IRRADIANCE, the environment ground's projection
# centre (camera space) from ENV_CAPTURE, and the backdrop's footprint scale (its level-0 face
# side / (2 fx): cube texels per pixel along the face's axis).
ENV_ROTATION, ENV_IRRADIANCE, ENV_TERMS = 0, 9, 10
ENV_CAPTURE = ENV_IRRADIANCE + 3 * ENV_TERMS
ENV_BACKDROP_SCALE = ENV_CAPTURE + 3
ENV_SIZE = ENV_BACKDROP_SCALE + 1
# Entries of a frame's shadow lookup parameters (`shadows.ShadowCaster.lookup`): the camera ->
# light transform (3x4, row-major) from SHADOW_TO_LIGHT, the light camera's fx, fy, cx, cy from
# SHADOW_INTRINSICS, the map's side in texels and the depth offset of its moments.
SHADOW_TO_LIGHT, SHADOW_INTRINSICS, SHADOW_MAP_SIZE, SHADOW_DEPTH_OFFSET = 0, 12, 16, 17
SHADOW_PARAMS = 18
# Entries of the occlusion parameters (`occlusion.occlusion_parameters`): the frame's fx, fy,
# cx, cy from OCC_INTRINSICS, then its width and height in pixels.
OCC_INTRINSICS, OCC_WIDTH, OCC_HEIGHT = 0, 4, 5
OCC_PARAMS = 6

LAYOUT = ("CHANNELS", "MAX_MIP_LEVELS", "MIP_SIZE", "MIP_LAST", "MIP_OFFSETS", "MIP_ROW",
          "EXP_TABLE_SIZE", "AO_SAMPLES", "FACE_TINT",
          "FACE_ROUGHNESS_SCALE", "FACE_METAL_OVERRIDE", "FACE_MATERIAL", "FACE_PROJECTED",
          "FACE_GROUND", "FACE_INFO_ROWS", "GROUND_TABLE_SIDE", "GROUND_TABLE_SLICES",
          "DET", "DEPTH", "NORMAL", "TEXEL_S", "TEXEL_T", "TANGENT", "BITANGENT", "FACE_INFO",
          "TINT", "ROUGHNESS_SCALE", "METAL_OVERRIDE", "MATERIAL", "PROJECTED", "GROUND", "NUM_PLANES",
          "SUN_DIR", "SUN_RGB", "AMBIENT_SCALE", "LOD_SCALE", "INV_FX", "INV_FY", "LIGHT_SIZE",
          "ENV_ROTATION", "ENV_IRRADIANCE", "ENV_TERMS", "ENV_CAPTURE", "ENV_BACKDROP_SCALE",
          "ENV_SIZE", "SHADOW_TO_LIGHT", "SHADOW_INTRINSICS",
          "SHADOW_MAP_SIZE", "SHADOW_DEPTH_OFFSET", "SHADOW_PARAMS", "OCC_INTRINSICS",
          "OCC_WIDTH", "OCC_HEIGHT", "OCC_PARAMS")

# ---- VALUES: passed to the kernels as data (`kernel_values`) ----
# Material.
MIN_ROUGHNESS = 0.045  # keeps the GGX lobe finite on mirror-like maps
DIELECTRIC_F0 = 0.04  # Fresnel reflectance at normal incidence of non-metals
# Karis' analytic environment BRDF (mobile split-sum fit):
#   r = roughness * C0 + C1; a004 = min(r0^2, exp2(EXP2 NoV)) r0 + r1; (A, B) = a004 AB + r23.
KARIS_C0 = (-1.0, -0.0275, -0.572, 0.022)
KARIS_C1 = (1.0, 0.0425, 1.04, -0.04)
KARIS_AB = (-1.04, 1.04)
KARIS_EXP2 = -9.28  # tabulated (`shading.environment_brdf_table`), not computed per pixel
# Sun.
LIT_SIDE_MIN = -0.05  # the sun lights a pixel whose geometric n.l exceeds this (normal maps)
SHADOW_BIAS = 0.04  # metres: keeps lit surfaces from shadowing themselves
SHADOW_MIN_VARIANCE = 1e-4  # of the variance shadow map's depth (Chebyshev's bound)
LIGHT_BLEEDING = 0.3  # Chebyshev bounds below this count as full shadow, the rest rescaled
# Ambient occlusion (`occlusion`).
AO_RADIUS = 0.5  # metres
AO_BIAS = 0.02  # relative depth tolerance: a surface does not occlude itself
AO_STRENGTH = 1.0  # blocked fraction -> occlusion (1 = as measured)
AO_AXIS = 0.9  # |n.y| above which the tangent frame starts from x instead of y
# The ground's environment light (`ground_reflection`): the table's first slice's roughness and
# the step between slices (the last is 1); below GROUND_BLEND_START the ground reads the single
# mirror lookup as other surfaces do, above GROUND_BLEND_START + GROUND_BLEND_WIDTH the table,
# blended linearly between (a table of 32^2 directions cannot hold a sharp reflection).
GROUND_TABLE_ROUGHNESS = 0.3
GROUND_TABLE_STEP = 0.1
GROUND_BLEND_START = 0.25
GROUND_BLEND_WIDTH = 0.25
GROUND_TABLE_TAPS = 16  # lobe samples an entry: a power of two >= 4 (16: as good as 32 or 64)


def kernel_values() -> dict[str, float | tuple[float, ...]]:
    """The `Shading` struct's float fields (shade.c), as the eager path computes them in
    double precision before PyTorch rounds them once to float32."""
    return {"min_roughness": MIN_ROUGHNESS, "dielectric_f0": DIELECTRIC_F0,
            "karis_c0": KARIS_C0, "karis_c1": KARIS_C1, "karis_ab": KARIS_AB,
            "lit_side_min": LIT_SIDE_MIN, "shadow_bias": SHADOW_BIAS,
            "shadow_min_variance": SHADOW_MIN_VARIANCE, "bleeding_cut": LIGHT_BLEEDING,
            "bleeding_scale": bleeding_scale(), "ao_radius": AO_RADIUS, "ao_keep": ao_keep(),
            "ao_scale": ao_scale(), "ao_axis": AO_AXIS,
            "ground_roughness": GROUND_TABLE_ROUGHNESS, "ground_inv_step": 1.0 / GROUND_TABLE_STEP,
            "ground_blend_start": GROUND_BLEND_START,
            "ground_inv_blend": 1.0 / GROUND_BLEND_WIDTH}


def bleeding_scale() -> float:
    """1 / (1 - LIGHT_BLEEDING): maps the bounds above the cut onto [0, 1]."""
    return 1.0 / (1.0 - LIGHT_BLEEDING)


def ao_keep() -> float:
    """A sample is blocked by a surface nearer than this fraction of its depth."""
    return 1.0 - AO_BIAS


def ao_scale() -> float:
    """Occlusion per blocked sample."""
    return AO_STRENGTH / AO_SAMPLES


def c_header() -> str:
    """`look.h`, generated by setup.py at build time: the LAYOUT as macros, and `LP_LAYOUT`,
    their names and values, which the built module reports (`lp_layout`) so a test sees a
    table edited since the build."""
    values = {name: globals()[name] for name in LAYOUT}
    lines = ["/* Generated by setup.py from lightpipe/render/look.py: do not edit. */",
             "#ifndef LIGHTPIPE_LOOK_H", "#define LIGHTPIPE_LOOK_H", ""]
    lines += [f"#define {name} {value}" for name, value in values.items()]
    lines += ["", f"#define LP_LAYOUT_COUNT {len(values)}",
              f"#define LP_LAYOUT_NAMES \"{' '.join(values)}\"",
              f"#define LP_LAYOUT_VALUES {{{', '.join(values)}}}",
              "", "#endif", ""]
    return "\n".join(lines)
