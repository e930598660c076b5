/* Native CPU kernels of the renderer: per-pixel shading and the camera response with the same
 * float32 operations, in the same order, as the eager PyTorch reference (`shading.py`,
 * `environment.py`, `occlusion.py`, `camera_response.py`), fused into one loop per pixel.
 *
 * Bit-identity with the reference rests on three rules:
 *  - every operation is an IEEE-754 single-precision +, -, *, /, sqrt, floor, comparison,
 *    select or integer op, each rounded once, written in the reference's order and grouping;
 *  - the build never contracts a * b + c into an FMA (-ffp-contract=off) and never uses
 *    fast-math (setup.py);
 *  - a Python scalar of the reference is the float32 nearest its double: an inexact constant is
 *    written `(float)0.04` (one rounding from the double, as PyTorch casts it), and `0.25 / x`
 *    is `(1 / x) * 0.25`, as `Tensor.__rtruediv__` computes it.
 * Indices the reference computes in int64 fit in int32 here (all are < 2**31).
 *
 * Speed: pixels are listed in blocks (covered / uncovered), and each list is shaded by one
 * branch-free loop over independent lanes (`omp simd`) that GCC vectorizes, with hardware
 * gathers in the AVX2 and AVX-512 builds (common.h; no build uses FMA, so all give the same
 * bits).
 * Values pass between the helpers as small structs, never as arrays, so they stay in vector
 * registers. The kernels take a share of the pixels (a range, or every n-th block) so Python
 * can split a frame over threads; a pixel's result never depends on the split.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/* Rows of `surface_planes` (see shading.py). */
#define NUM_PLANES 31
#define DET 0
#define DEPTH 3
#define NORMAL 4
#define TEXEL_S 13
#define TEXEL_T 16
#define TANGENT 19
#define BITANGENT 22
#define TINT 25
#define ROUGHNESS_SCALE 28
#define METAL_OVERRIDE 29
#define FIRST_TEXEL 30
#define CHANNELS 8
#define TEXTURE_SIZE 128
#define EXP_TABLE_SIZE 64
#define AO_SAMPLES 6
#define BLOCK 512 /* pixels listed at once: the per-block buffers stay in L1/L2 */

/* Everything one frame's shading reads (layouts as in `shading.py`, "rows" variants). */
typedef struct {
    const float *planes;        /* (T, NUM_PLANES) `surface_planes` of the frame */
    const float *texels;        /* (M*S*S, 4*CHANNELS) `bilinear_texels`, transposed */
    const float *light;         /* (8,) `frame_light` */
    const float *env_texels;    /* (3, N) `EnvironmentLookup.texels` */
    int64_t env_count;          /* N */
    const float *env_sizes;     /* (levels,) */
    const float *env_offsets;   /* (levels,) */
    int64_t env_levels;
    const float *env;           /* (39,) `environment.frame_parameters` */
    const float *brdf;          /* (2, 64) `environment_brdf_table` */
    const float *shadow;        /* (2, S*S) moments, or NULL */
    int64_t shadow_count;       /* S*S */
    const float *shadow_params; /* (18,) */
    const float *occ_depth;     /* (H*W,) the frame's inverse depth for occlusion, or NULL */
    int64_t occ_count;          /* H*W */
    const float *occ_params;    /* (6,) fx, fy, cx, cy, width, height */
    const float *occ_kernel;    /* (AO_SAMPLES, 3) hemisphere samples */
    const float *backdrop;      /* (3, H*W) backdrop image radiance, or NULL: the environment */
    const int64_t *face_part;   /* (T,) part of each face (segmentation) */
} Shading;

typedef struct { float x, y, z; } Vec3;
typedef struct { float r, g, b, depth, nx, ny, nz, bad; } Shaded;

/* An index into a table of `count` entries; out of range (a NaN or infinite coordinate, which
 * makes the reference's gather raise) it reads entry 0 and counts in `bad`, and the caller
 * reports the pixel's failure. */
INLINE int32_t checked(int32_t index, int32_t count, float *bad) {
    int32_t inside = (uint32_t)index < (uint32_t)count;
    *bad = *bad + (float)(1 - inside);
    return index & -inside; /* a mask, not a select: GCC would turn that into a pointer select */
}
INLINE float rsqrt(float x) { return 1.0f / sqrtf(x); }

/* `environment._bilinear`: one level (face size, first texel) of the cube map. */
INLINE Vec3 env_bilinear(const Shading s, float size, float offset, float face, float sc,
                         float tc, float *bad) {
    float last = size - 1.0f;
    float x = minimum(clamp_min(((sc + 1.0f) * 0.5f) * size - 0.5f, 0.0f), last);
    float y = minimum(clamp_min(((tc + 1.0f) * 0.5f) * size - 0.5f, 0.0f), last);
    float x0 = floorf(x), y0 = floorf(y);
    float fx = x - x0, fy = y - y0;
    float x1 = minimum(x0 + 1.0f, last), y1 = minimum(y0 + 1.0f, last);
    float base = offset + face * (size * size);
    float row0 = base + y0 * size, row1 = base + y1 * size;
    int32_t n = (int32_t)s.env_count;
    int32_t i00 = checked((int32_t)(row0 + x0), n, bad), i01 = checked((int32_t)(row0 + x1), n, bad);
    int32_t i10 = checked((int32_t)(row1 + x0), n, bad), i11 = checked((int32_t)(row1 + x1), n, bad);
    const float *t = s.env_texels;
#define CHANNEL(c) ({                                                                   \
        float q0 = t[(c) * n + i00], q1 = t[(c) * n + i01];                             \
        float q2 = t[(c) * n + i10], q3 = t[(c) * n + i11];                             \
        float top = q0 + (q1 - q0) * fx, bottom = q2 + (q3 - q2) * fx;                   \
        top + (bottom - top) * fy; })
    Vec3 out = {CHANNEL(0), CHANNEL(1), CHANNEL(2)};
#undef CHANNEL
    return out;
}

/* `environment.radiance` along camera-space (dx, dy, dz): at level `level`, or (level < 0) at
 * the level nearest `lod`. */
INLINE Vec3 env_radiance(const Shading s, float dx, float dy, float dz, int level, float lod,
                         float *bad) {
    const float *r = s.env;
    float ex = (r[0] * dx + r[1] * dy) + r[2] * dz;
    float ey = (r[3] * dx + r[4] * dy) + r[5] * dz;
    float ez = (r[6] * dx + r[7] * dy) + r[8] * dz;
    float ax = fabsf(ex), ay = fabsf(ey), az = fabsf(ez);
    int major_x = (ax >= ay) & (ax >= az);
    int major_y = !major_x & (ay >= az);
    float ma = clamp_min(major_x ? ax : (major_y ? ay : az), (float)1e-30);
    float face = major_x ? (ex >= 0 ? 0.0f : 1.0f)
                         : (major_y ? (ey >= 0 ? 2.0f : 3.0f) : (ez >= 0 ? 4.0f : 5.0f));
    float sc = major_x ? (ex >= 0 ? -ez : ez) : (major_y ? ex : (ez >= 0 ? ex : -ex));
    float tc = major_x ? -ey : (major_y ? (ey >= 0 ? ez : -ez) : -ey);
    int32_t index = level;
    if (level < 0)
        index = checked(
            (int32_t)floorf(clamp2(lod, 0.0f, (float)((double)s.env_levels - 1.0)) + 0.5f),
            (int32_t)s.env_levels, bad);
    return env_bilinear(s, s.env_sizes[index], s.env_offsets[index], face, sc / ma, tc / ma, bad);
}

/* `environment.irradiance` at a unit camera-space normal. */
INLINE Vec3 env_irradiance(const Shading s, float nx, float ny, float nz) {
#define CHANNEL(c) ({                                                                   \
        const float *t = s.env + 9 + 10 * (c);                                          \
        float quadratic = ((t[0] * nx * nx + t[1] * ny * ny) + t[2] * nz * nz)          \
                          + ((t[3] * nx * ny + t[4] * nx * nz) + t[5] * ny * nz);       \
        float linear = (t[6] * nx + t[7] * ny) + t[8] * nz;                             \
        clamp_min((quadratic + linear) + t[9], 0.0f); })
    Vec3 out = {CHANNEL(0), CHANNEL(1), CHANNEL(2)};
#undef CHANNEL
    return out;
}

/* `occlusion.ambient_occlusion` of camera-space point P = (px, py, pz), unit normal n. */
INLINE float ambient_occlusion(const Shading s, float px, float py, float pz, float nx, float ny,
                               float nz, float *bad) {
    const float *q = s.occ_params;
    float fx = q[0], fy = q[1], cx = q[2], cy = q[3], width = q[4], height = q[5];
    const float radius = 0.5f;
    int use_x = fabsf(ny) > (float)0.9;
    float ax = use_x ? 1.0f : 0.0f, ay = use_x ? 0.0f : 1.0f;
    float tx = ay * nz, ty = -ax * nz, tz = ax * ny - ay * nx;
    float inv_t = rsqrt(clamp_min((tx * tx + ty * ty) + tz * tz, (float)1e-20));
    tx = tx * (inv_t * radius);
    ty = ty * (inv_t * radius);
    tz = tz * (inv_t * radius);
    float bx = ny * tz - nz * ty, by = nz * tx - nx * tz, bz = nx * ty - ny * tx;
    float rx = nx * radius, ry = ny * radius, rz = nz * radius;
    float qx = px * fx, qy = py * fy;
    float blocked = 0.0f;
    float width_last = width - 1.0f, height_last = height - 1.0f;
    const float keep = (float)(1.0 - 0.02);
#pragma GCC unroll 8
    for (int i = 0; i < AO_SAMPLES; i++) {
        float kx = s.occ_kernel[3 * i], ky = s.occ_kernel[3 * i + 1];
        float kz = s.occ_kernel[3 * i + 2];
        float sz = (pz + (tz * kx + bz * ky)) + rz * kz;
        float inv_sz = 1.0f / clamp_min(sz, (float)1e-3);
        float u = minimum(floorf(clamp2((qx + ((tx * kx + bx * ky) + rx * kz) * fx) * inv_sz + cx,
                                        0.0f, 1e6f)), width_last);
        float v = minimum(floorf(clamp2((qy + ((ty * kx + by * ky) + ry * kz) * fy) * inv_sz + cy,
                                        0.0f, 1e6f)), height_last);
        float scene = s.occ_depth[checked((int32_t)(u + v * width), (int32_t)s.occ_count, bad)];
        int hit = (scene * (sz * keep) > 1.0f) & (scene * (sz - radius) < 1.0f);
        blocked = blocked + (hit ? 1.0f : 0.0f);
    }
    return clamp2(1.0f - blocked * (float)(1.0 / AO_SAMPLES), 0.0f, 1.0f);
}

/* `shading.sun_visibility` at camera-space point (rx d, ry d, d). */
INLINE float sun_visibility(const Shading s, float rx, float ry, float depth, float *bad) {
    const float *m = s.shadow_params;
    float px = rx * depth, py = ry * depth, pz = depth;
    float qx = ((m[0] * px + m[1] * py) + m[2] * pz) + m[3];
    float qy = ((m[4] * px + m[5] * py) + m[6] * pz) + m[7];
    float qz = ((m[8] * px + m[9] * py) + m[10] * pz) + m[11];
    float fx = m[12], fy = m[13], cx = m[14], cy = m[15], size = m[16], offset = m[17];
    float last = size - 1.0f;
    float u = qx / qz * fx + cx, v = qy / qz * fy + cy;
    int inside = (u >= 0) & (u < size) & (v >= 0) & (v < size);
    float x = minimum(clamp_min(u - 0.5f, 0.0f), last);
    float y = minimum(clamp_min(v - 0.5f, 0.0f), last);
    float x0 = floorf(x), y0 = floorf(y);
    float wx = x - x0, wy = y - y0;
    float x1 = minimum(x0 + 1.0f, last), y1 = minimum(y0 + 1.0f, last);
    int32_t n = (int32_t)s.shadow_count;
    int32_t i0 = checked((int32_t)(x0 + y0 * size), n, bad);
    int32_t i1 = checked((int32_t)(x1 + y0 * size), n, bad);
    int32_t i2 = checked((int32_t)(x0 + y1 * size), n, bad);
    int32_t i3 = checked((int32_t)(x1 + y1 * size), n, bad);
    const float *t = s.shadow;
#define MOMENT(c) ({                                                                    \
        float q0 = t[(c) * n + i0], q1 = t[(c) * n + i1];                               \
        float q2 = t[(c) * n + i2], q3 = t[(c) * n + i3];                               \
        float a = q0 + (q1 - q0) * wx;                                                  \
        a + ((q2 + (q3 - q2) * wx) - a) * wy; })
    float mean = MOMENT(0), square = MOMENT(1);
#undef MOMENT
    float receiver = qz - offset - (float)0.04;
    float variance = clamp_min(square - mean * mean, (float)1e-4);
    float gap = receiver - mean;
    float bound = variance / (variance + gap * gap);
    float trimmed = clamp2((bound - (float)0.3) * (float)(1.0 / 0.7), 0.0f, 1.0f);
    return ((gap <= 0) | !inside) ? 1.0f : trimmed;
}

/* One colour channel of `shade_faces`' final sum (everything but the per-channel inputs is
 * shared by the three). */
INLINE float channel_radiance(float f0, float base, float reflected, float irradiance,
                              float sun_rgb, float metal, float env_a, float env_b,
                              float fresnel_weight, float distribution, float visibility,
                              float sun, float ambient_weight) {
    const float inv_pi = (float)(1.0 / M_PI);
    float split = f0 * env_a + env_b;
    float compensation = f0 * (1.0f / clamp_min(env_a + env_b, (float)1e-3) - 1.0f) + 1.0f;
    float specular_env = reflected * split * compensation;
    float diffuse_colour = base * (-metal + 1.0f);
    float ambient = (irradiance * (diffuse_colour * inv_pi) * (-split + 1.0f) + specular_env)
                    * ambient_weight;
    float fresnel = f0 + (-f0 + 1.0f) * fresnel_weight;
    float direct = diffuse_colour * inv_pi * (-fresnel + 1.0f) + distribution * visibility * fresnel;
    return ambient + direct * (sun * sun_rgb);
}

/* `shading.shade_faces` of one pixel: radiance, depth and geometric normal. */
INLINE Shaded shade_one(const Shading s, int64_t face, float rx, float ry, float inv_len,
                        const int has_shadow, const int has_occlusion) {
    float bad = 0.0f;
    const float *planes = s.planes;
    int32_t row = (int32_t)face * NUM_PLANES;
#define P(i) planes[row + (i)]
#define DOT(i) ((rx * P(i) + ry * P((i) + 1)) + P((i) + 2))
    float det = DOT(DET);
    det = det + copysignf((float)1e-30, det);
    float inv_det = 1.0f / det;
    float depth = clamp_min(P(DEPTH) * inv_det, (float)1e-6);

    /* `_sample`: bilinear, wrapping texture lookup of every channel. */
    float tx_ = clamp2(DOT(TEXEL_S) * inv_det, -1e6f, 1e6f);
    float ty_ = clamp2(DOT(TEXEL_T) * inv_det, -1e6f, 1e6f);
    float x0 = floorf(tx_), y0 = floorf(ty_);
    float fx = tx_ - x0, fy = ty_ - y0;
    const int32_t mask = TEXTURE_SIZE - 1;
    int32_t texel = ((((int32_t)x0 & mask) + ((int32_t)y0 & mask) * TEXTURE_SIZE)
                     + (int32_t)P(FIRST_TEXEL)) * (4 * CHANNELS);
    const float *q = s.texels;
#define MAP(i) ((q[texel + (i)] + q[texel + CHANNELS + (i)] * fx)                        \
                + (q[texel + 2 * CHANNELS + (i)] + q[texel + 3 * CHANNELS + (i)] * fx) * fy)
    float albedo_r = MAP(0), albedo_g = MAP(1), albedo_b = MAP(2), map_roughness = MAP(3);
    float map_metal = MAP(4), tx = MAP(5), ty = MAP(6), tz = MAP(7);
#undef MAP

    /* Geometric normal towards the eye, then the normal map in the tangent frame. */
    float nx = DOT(NORMAL), ny = DOT(NORMAL + 3), nz = DOT(NORMAL + 6);
    float n_ray = (rx * nx + ry * ny) + nz;
    float facing = -copysignf(rsqrt((nx * nx + ny * ny) + nz * nz), n_ray);
    float gx = nx * facing, gy = ny * facing, gz = nz * facing;
    float sx = (P(TANGENT) * tx + P(BITANGENT) * ty) + gx * tz;
    float sy = (P(TANGENT + 1) * tx + P(BITANGENT + 1) * ty) + gy * tz;
    float sz = (P(TANGENT + 2) * tx + P(BITANGENT + 2) * ty) + gz * tz;
    float inv_s = rsqrt(clamp_min((sx * sx + sy * sy) + sz * sz, (float)1e-20));
    sx = sx * inv_s;
    sy = sy * inv_s;
    sz = sz * inv_s;

    float vx = -rx * inv_len, vy = -ry * inv_len, vz = -inv_len;
    float n_v = clamp2((sx * vx + sy * vy) + sz * vz, (float)1e-4, 1.0f);
    float roughness = clamp2(map_roughness * P(ROUGHNESS_SCALE), (float)0.045, 1.0f);
    float metal = P(METAL_OVERRIDE) + (-P(METAL_OVERRIDE) + 1.0f) * clamp2(map_metal, 0.0f, 1.0f);
    float base_r = clamp_min(albedo_r, 0.0f) * P(TINT);
    float base_g = clamp_min(albedo_g, 0.0f) * P(TINT + 1);
    float base_b = clamp_min(albedo_b, 0.0f) * P(TINT + 2);
    float f0_r = (base_r - (float)0.04) * metal + (float)0.04;
    float f0_g = (base_g - (float)0.04) * metal + (float)0.04;
    float f0_b = (base_b - (float)0.04) * metal + (float)0.04;
    float alpha = roughness * roughness;
    float alpha2 = alpha * alpha;
#undef DOT
#undef P

    /* Environment: split-sum weights (exp2 by table), multiple-scattering compensation. */
    float r0 = roughness * -1.0f + 1.0f;
    float r1 = roughness * -(float)0.0275 + (float)0.0425;
    float r2 = roughness * -(float)0.572 + (float)1.04;
    float r3 = roughness * (float)0.022 - (float)0.04;
    float position = n_v * (float)(EXP_TABLE_SIZE - 1);
    float i_pos = floorf(position);
    int32_t entry = checked((int32_t)i_pos, EXP_TABLE_SIZE, &bad);
    float table = s.brdf[entry] + s.brdf[EXP_TABLE_SIZE + entry] * (position - i_pos);
    float a004 = minimum(r0 * r0, table) * r0 + r1;
    float env_a = clamp_min(a004 * -(float)1.04 + r2, 0.0f);
    float env_b = clamp_min(a004 * (float)1.04 + r3, 0.0f);
    float ao = has_occlusion
        ? ambient_occlusion(s, rx * depth, ry * depth, depth, gx, gy, gz, &bad) : 1.0f;
    float two_nv = 2.0f * n_v;
    Vec3 reflected = env_radiance(s, two_nv * sx - vx, two_nv * sy - vy, two_nv * sz - vz, -1,
                                  roughness * rsqrt(roughness) * s.light[7], &bad);
    Vec3 irradiance = env_irradiance(s, sx, sy, sz);

    /* Sun: Cook-Torrance GGX. */
    float lx = s.light[0], ly = s.light[1], lz = s.light[2];
    float n_l = (sx * lx + sy * ly) + sz * lz;
    float geometric_l = (gx * lx + gy * ly) + gz * lz;
    int lit_side = (n_l > 0) & (geometric_l > -(float)0.05);
    n_l = clamp_min(n_l, 0.0f);
    float l_v = (lx * vx + ly * vy) + lz * vz;
    float inv_h = rsqrt(clamp_min(2.0f * l_v + 2.0f, (float)1e-12));
    float n_h = clamp2((n_l + n_v) * inv_h, 0.0f, 1.0f);
    float v_h = clamp2((l_v + 1.0f) * inv_h, 0.0f, 1.0f);
    float d_denominator = (n_h * n_h) * (alpha2 - 1.0f) + 1.0f;
    float distribution = alpha2 / ((float)M_PI * d_denominator * d_denominator);
    float k = (roughness + 1.0f) * (roughness + 1.0f) * 0.125f;
    float visibility = (1.0f / ((n_v * (-k + 1.0f) + k) * (n_l * (-k + 1.0f) + k))) * 0.25f;
    float one_minus = -v_h + 1.0f;
    float x2 = one_minus * one_minus;
    float fresnel_weight = x2 * x2 * one_minus;
    float sun = n_l * (lit_side ? 1.0f : 0.0f);
    if (has_shadow)
        sun = sun * sun_visibility(s, rx, ry, depth, &bad);

    float ambient_weight = ao * s.light[6];
#define CHANNEL(f0, base, c, rgb) channel_radiance(                                     \
        f0, base, reflected.rgb, irradiance.rgb, s.light[3 + (c)], metal, env_a, env_b,  \
        fresnel_weight, distribution, visibility, sun, ambient_weight)
    Shaded out = {CHANNEL(f0_r, base_r, 0, x), CHANNEL(f0_g, base_g, 1, y),
                  CHANNEL(f0_b, base_b, 2, z), depth, gx, gy, gz, bad};
#undef CHANNEL
    return out;
}

/* Shading of the pixels `list[0..n)` (rays rx, ry, 1; `inv_len` = 1/|ray|, or computed) into
 * the contiguous `out` (8, BLOCK): radiance rgb, depth, normal, bad. Branch-free (the flags
 * are constants after inlining) with contiguous stores, so `omp simd` vectorizes it. */
INLINE void shade_list(const Shading s, const int64_t *keys, const float *rx, const float *ry,
                       const float *inv_len, const int32_t *list, int64_t n,
                       float (*restrict out)[BLOCK], const int has_shadow,
                       const int has_occlusion, const int has_len) {
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        int32_t i = list[j];
        float x = rx[i], y = ry[i];
        float len = has_len ? inv_len[i] : rsqrt((x * x + y * y) + 1.0f);
        Shaded v = shade_one(s, keys[i] & FACE_MASK, x, y, len, has_shadow, has_occlusion);
        out[0][j] = v.r;
        out[1][j] = v.g;
        out[2][j] = v.b;
        out[3][j] = v.depth;
        out[4][j] = v.nx;
        out[5][j] = v.ny;
        out[6][j] = v.nz;
        out[7][j] = v.bad;
    }
}

INLINE void shade_list_any(const Shading s, const int64_t *keys, const float *rx,
                           const float *ry, const float *inv_len, const int32_t *list, int64_t n,
                           float (*restrict out)[BLOCK]) {
#define LIST(shadow, occlusion, len) \
    shade_list(s, keys, rx, ry, inv_len, list, n, out, shadow, occlusion, len)
    switch ((s.shadow ? 4 : 0) | (s.occ_depth ? 2 : 0) | (inv_len ? 1 : 0)) {
        case 0: LIST(0, 0, 0); break;
        case 1: LIST(0, 0, 1); break;
        case 2: LIST(0, 1, 0); break;
        case 3: LIST(0, 1, 1); break;
        case 4: LIST(1, 0, 0); break;
        case 5: LIST(1, 0, 1); break;
        case 6: LIST(1, 1, 0); break;
        default: LIST(1, 1, 1); break;
    }
#undef LIST
}

/* The environment along rays (x, y, 1) of `list[0..n)` into `out` (rows 0-2 and 7, BLOCK). */
INLINE void backdrop_list(const Shading s, const float *rx, const float *ry,
                          const int32_t *list, int64_t n, float (*restrict out)[BLOCK]) {
#pragma omp simd
    for (int64_t j = 0; j < n; j++) {
        int32_t i = list[j];
        float bad = 0.0f;
        Vec3 v = env_radiance(s, rx[i], ry[i], 1.0f, 0, 0.0f, &bad);
        out[0][j] = v.x;
        out[1][j] = v.y;
        out[2][j] = v.z;
        out[7][j] = bad;
    }
}

/* Splits [start, stop) into the indices whose key is >= 0 (`covered`) and < 0 (`empty`). */
INLINE void split_keys(const int64_t *keys, int64_t start, int64_t stop, int32_t *covered,
                       int64_t *num_covered, int32_t *empty, int64_t *num_empty) {
    int64_t a = 0, b = 0;
    for (int64_t i = start; i < stop; i++) {
        if (keys[i] >= 0) covered[a++] = (int32_t)i;
        else empty[b++] = (int32_t)i;
    }
    *num_covered = a;
    *num_empty = b;
}

/* One frame's pixels [start, stop) from its z-buffer keys (H*W,) and `pixel_rays` (3, H*W):
 * linear radiance (3, H*W), planar depth (0: no surface), and optionally normals (H*W, 3)
 * (left as they are where no surface: the caller zeroes them) and segmentation ids (1 + part).
 * This call takes every `parts`-th block of BLOCK pixels from block `part` on (interleaved, so
 * threads get alike mixes of sky and ground). Returns the number of pixels whose shading read
 * out of range (see `checked`): 0 normally. */
int64_t LP(lp_shade_frame)(const Shading *shading, const int64_t *keys, const float *rays,
                       int64_t hw, int64_t part, int64_t parts, float *radiance, float *depth,
                       float *normals, int32_t *segmentation) {
    const Shading s = *shading; /* by value: its fields are loop invariants in registers */
    const float *rx = rays, *ry = rays + hw, *inv_len = rays + 2 * hw;
    int32_t covered[BLOCK], empty[BLOCK];
    float out[8][BLOCK];
    int64_t bad = 0;
    for (int64_t block = part * BLOCK; block < hw; block += parts * BLOCK) {
        int64_t end = block + BLOCK < hw ? block + BLOCK : hw, n, m;
        split_keys(keys, block, end, covered, &n, empty, &m);
        shade_list_any(s, keys, rx, ry, inv_len, covered, n, out);
        for (int64_t j = 0; j < n; j++) {
            int32_t i = covered[j];
            for (int c = 0; c < 3; c++) radiance[c * hw + i] = out[c][j];
            depth[i] = out[3][j];
            if (normals)
                for (int c = 0; c < 3; c++) normals[3 * i + c] = out[4 + c][j];
            if (segmentation) segmentation[i] = (int32_t)(s.face_part[keys[i] & FACE_MASK] + 1);
            bad += out[7][j] != 0.0f;
        }
        if (!s.backdrop) backdrop_list(s, rx, ry, empty, m, out);
        for (int64_t j = 0; j < m; j++) {
            int32_t i = empty[j];
            for (int c = 0; c < 3; c++)
                radiance[c * hw + i] = s.backdrop ? s.backdrop[c * hw + i] : out[c][j];
            depth[i] = 0.0f;
            bad += !s.backdrop && out[7][j] != 0.0f;
        }
    }
    return bad;
}

/* Radiance (3, n) of the sample rays (rx, ry, 1) (anti-aliasing; blocks as `lp_shade_frame`):
 * a sample with a key >= 0 sees face `key & FACE_MASK`, the others the backdrop (the image at pixel
 * `backdrop_pixel` of an image `backdrop_hw` pixels large, or the environment). Returns the
 * number of samples whose shading read out of range. */
int64_t LP(lp_shade_samples)(const Shading *shading, const int64_t *keys, const float *rx,
                         const float *ry, const int64_t *backdrop_pixel, int64_t backdrop_hw,
                         int64_t n, int64_t part, int64_t parts, float *radiance) {
    const Shading s = *shading;
    int32_t covered[BLOCK], empty[BLOCK];
    float out[8][BLOCK];
    int64_t bad = 0;
    for (int64_t block = part * BLOCK; block < n; block += parts * BLOCK) {
        int64_t end = block + BLOCK < n ? block + BLOCK : n, a, b;
        split_keys(keys, block, end, covered, &a, empty, &b);
        shade_list_any(s, keys, rx, ry, NULL, covered, a, out);
        for (int64_t j = 0; j < a; j++) {
            for (int c = 0; c < 3; c++) radiance[c * n + covered[j]] = out[c][j];
            bad += out[7][j] != 0.0f;
        }
        if (!s.backdrop) backdrop_list(s, rx, ry, empty, b, out);
        for (int64_t j = 0; j < b; j++) {
            int32_t i = empty[j];
            for (int c = 0; c < 3; c++)
                radiance[c * n + i] = s.backdrop ? s.backdrop[c * backdrop_hw + backdrop_pixel[i]]
                                                 : out[c][j];
            bad += !s.backdrop && out[7][j] != 0.0f;
        }
    }
    return bad;
}

/* `camera_response.encode` of planar radiance (3, hw) [start, stop) into RGB bytes (hw, 3):
 * the code at the start of the value's bucket (bits >> 16), plus one if it reaches the next
 * threshold. codes: (32768,) int32. */
INLINE int32_t response_code(float radiance, const float *ends, const int32_t *codes) {
    float x = clamp_min(radiance, 0.0f) + 0.0f;
    int32_t bits;
    memcpy(&bits, &x, sizeof bits);
    int32_t code = codes[bits >> 16];
    return code + (x >= ends[code] ? 1 : 0);
}

void LP(lp_encode_response)(const float *radiance, int64_t hw, const float *ends,
                            const int32_t *codes, int64_t start, int64_t stop, uint8_t *rgb) {
    const float *r = radiance, *g = radiance + hw, *b = radiance + 2 * hw;
#pragma omp simd
    for (int64_t i = start; i < stop; i++) {
        int32_t cr = response_code(r[i], ends, codes), cg = response_code(g[i], ends, codes);
        int32_t cb = response_code(b[i], ends, codes);
        rgb[3 * i] = (uint8_t)cr;
        rgb[3 * i + 1] = (uint8_t)cg;
        rgb[3 * i + 2] = (uint8_t)cb;
    }
}
