/* Native CPU kernels of the renderer's geometry: scanline fill of the z-buffer (`rasterizer`),
 * silhouette detection and sub-pixel sample keys (`antialias`), and the shadow map's depth and
 * blurred moments (`shadows`). Same float32 operations in the same order as the eager PyTorch
 * reference (rules in shade.c); z-buffer keys are merged by max, so the fill order does not
 * matter, and each kernel works on a range that Python splits over threads.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "common.h"

/* `(float32 bits of inverse_depth) << 32 | face` as the reference builds it (bits sign-extended). */
INLINE int64_t make_key(float inverse_depth, int64_t face) {
    int32_t bits;
    memcpy(&bits, &inverse_depth, sizeof bits);
    return (int64_t)((uint64_t)(int64_t)bits << 32) | face;
}

/* Scanline fill (`rasterizer._span_runs` and `_run_fragments`) of triangles [0, n) into the
 * z-buffer `zbuf` (frames * height * width int64, max-merged), only for the global rows
 * (frame * height + y) in [row_start, row_stop), which it first sets to EMPTY (-1), so threads
 * on disjoint row bands never touch the same pixel.
 *
 * coef: (10, n) x0 y0 x1 y1 s01 s12 s02 z0 dzdx dzdy; first_row, num_rows: (n,) int64;
 * face: (n,) int32. Returns the number of rows skipped for a NaN crossing (0 normally). */
int64_t LP(lp_fill_spans)(const float *coef, const int64_t *first_row, const int64_t *num_rows,
                      const int32_t *face, int64_t n, int64_t width, int64_t height,
                      int64_t row_start, int64_t row_stop, int64_t *zbuf) {
    const float w = (float)width;
    int64_t bad = 0;
    for (int64_t i = row_start * width; i < row_stop * width; i++) zbuf[i] = -1; /* EMPTY */
    for (int64_t t = 0; t < n; t++) {
        int64_t first = first_row[t], stop = first + num_rows[t];
        if (first < row_start) first = row_start;
        if (stop > row_stop) stop = row_stop;
        if (first >= stop) continue;
        float x0 = coef[t], y0 = coef[n + t], x1 = coef[2 * n + t], y1 = coef[3 * n + t];
        float s01 = coef[4 * n + t], s12 = coef[5 * n + t], s02 = coef[6 * n + t];
        float z0 = coef[7 * n + t], dzdx = coef[8 * n + t], dzdy = coef[9 * n + t];
        int64_t f = face[t];
        for (int64_t row = first; row < stop; row++) {
            float cy = (float)(row % height) + 0.5f;
            float dy = cy - y0;
            float x_long = x0 + dy * s02;
            float x_short = cy < y1 ? x0 + dy * s01 : x1 + (cy - y1) * s12;
            float lo = clamp2(ceilf(minimum(x_long, x_short) - 0.5f), 0.0f, w);
            float hi = clamp2(ceilf(maximum(x_long, x_short) - 0.5f), 0.0f, w);
            if (!(lo >= 0.0f && hi <= w)) { /* NaN: the reference's scatter would raise */
                bad++;
                continue;
            }
            float inv_z = (z0 + dzdy * dy) + dzdx * ((lo + 0.5f) - x0);
            float span = hi - lo;
            int64_t count = span > 0.0f ? (int64_t)span : 0;
            int64_t *out = zbuf + row * width + (int64_t)lo;
            for (int64_t o = 0; o < count; o++) {
                int64_t key = make_key(inv_z + dzdx * (float)o, f);
                out[o] = key > out[o] ? key : out[o];
            }
        }
    }
    return bad;
}

/* The part seen at pixels [start, stop) of a frame (`face_part` of the key's face, -1 where
 * none), for `lp_silhouette`. */
void LP(lp_part_map)(const int64_t *keys, const int64_t *face_part, int64_t start, int64_t stop,
                 int32_t *part) {
    for (int64_t i = start; i < stop; i++) {
        int64_t key = keys[i];
        part[i] = key >= 0 ? (int32_t)face_part[key & FACE_MASK] : -1;
    }
}

/* `antialias._silhouette` of rows [row_start, row_stop) of one frame from its `lp_part_map`: 1
 * where the 3x3 neighbourhood (border replicated) sees another part. */
void LP(lp_silhouette)(const int32_t *part, int64_t height, int64_t width, int64_t row_start,
                   int64_t row_stop, uint8_t *mixed) {
    for (int64_t y = row_start; y < row_stop; y++) {
        const int32_t *up = part + (y > 0 ? y - 1 : 0) * width, *row = part + y * width;
        const int32_t *down = part + (y + 1 < height ? y + 1 : height - 1) * width;
        uint8_t *out = mixed + y * width;
        for (int64_t x = 0; x < width; x++) {
            int64_t left = x > 0 ? x - 1 : 0, right = x + 1 < width ? x + 1 : width - 1;
            int32_t centre = row[x];
            out[x] = (up[left] != centre) | (up[x] != centre) | (up[right] != centre)
                     | (row[left] != centre) | (row[right] != centre)
                     | (down[left] != centre) | (down[x] != centre) | (down[right] != centre);
        }
    }
}

/* `antialias._sample_key`: the key of face `cand` at sample ray (rx, ry, 1), or -1 when the
 * face does not contain the sample (planes: (T, 10) n', a, b, c of `shading.ray_planes`). */
INLINE int64_t sample_key(const float *planes, int64_t cand, float rx, float ry) {
    if (cand < 0) return -1;
    int64_t face = cand & FACE_MASK;
    const float *p = planes + face * 10;
    float det = (rx * p[0] + ry * p[1]) + p[2];
    float u = (rx * p[3] + ry * p[4]) + p[5];
    float v = (rx * p[6] + ry * p[7]) + p[8];
    int inside = det > 0 ? (u >= 0) & (v >= 0) & (u + v <= det)
                         : (u <= 0) & (v <= 0) & (u + v >= det);
    float inverse_depth = det / p[9];
    int ok = inside & (det != 0) & (inverse_depth > 0);
    return ok ? make_key(inverse_depth, face) : -1;
}

/* `antialias._sample_keys` for edge pixels [start, stop): per pixel k x k samples (row-major),
 * their rays and the key of the nearest face of the 3x3 neighbourhood containing each (else the
 * pixel's own key). intr: fx, fy, cx, cy. Outputs are indexed (pixel * k * k + sample). */
void LP(lp_sample_keys)(const float *planes, const int64_t *keys, const int64_t *edge,
                    const float *intr, int64_t k, int64_t height, int64_t width, int64_t start,
                    int64_t stop, int64_t *best, float *rx, float *ry) {
    const float fx = intr[0], fy = intr[1], cx = intr[2], cy = intr[3];
    const int64_t count = k * k;
    for (int64_t e = start; e < stop; e++) {
        int64_t pixel = edge[e];
        int64_t ey = pixel / width, ex = pixel - ey * width;
        int64_t cand[9];
        int c = 0;
        for (int dy = -1; dy <= 1; dy++)
            for (int dx = -1; dx <= 1; dx++) {
                int64_t ny = ey + dy, nx = ex + dx;
                ny = ny < 0 ? 0 : (ny > height - 1 ? height - 1 : ny);
                nx = nx < 0 ? 0 : (nx > width - 1 ? width - 1 : nx);
                cand[c++] = keys[ny * width + nx];
            }
        for (int64_t row = 0; row < k; row++)
            for (int64_t col = 0; col < k; col++) {
                int64_t i = e * count + row * k + col;
                float sx = (float)ex + ((float)col + 0.5f) / (float)k;
                float sy = (float)ey + ((float)row + 0.5f) / (float)k;
                float x = (sx - cx) / fx, y = (sy - cy) / fy;
                int64_t b = -1;
                for (int j = 0; j < 9; j++) {
                    int64_t key = sample_key(planes, cand[j], x, y);
                    b = key > b ? key : b;
                }
                best[i] = b >= 0 ? b : keys[pixel];
                rx[i] = x;
                ry[i] = y;
            }
    }
}

/* `zbuffer.key_inverse_depth`: the 1/depth a z-buffer key holds, 0 where empty. */
INLINE float key_inverse_depth(int64_t key) {
    int32_t bits = (int32_t)(key >> 32);
    float inverse;
    memcpy(&inverse, &bits, sizeof inverse);
    return key == -1 ? 0.0f : inverse;
}

/* 1/depth of z-buffer keys [start, stop) (0 where empty): `occlusion.frame_inverse_depth`. */
void LP(lp_inverse_depth)(const int64_t *keys, int64_t start, int64_t stop, float *out) {
    for (int64_t i = start; i < stop; i++) out[i] = key_inverse_depth(keys[i]);
}

/* `shadows.offset_depth`: light-space depth minus depths[0] where a caster is (keys [start,
 * stop)), else depths[1]. */
void LP(lp_offset_depth)(const int64_t *keys, const float *depths, int64_t start, int64_t stop,
                     float *out) {
    for (int64_t i = start; i < stop; i++) {
        float inverse = key_inverse_depth(keys[i]);
        float clamped = clamp_min(inverse, (float)1e-30);
        out[i] = inverse > 0 ? 1.0f / clamped - depths[0] : depths[1];
    }
}

/* `shadows.blurred_moments` of maps [start, stop) (each size x size): box means of depth and
 * depth^2 over (2 radius + 1)^2 texels, edges clamped, first down the columns then along the
 * rows, each sum taken in the reference's order (tap 0, then + tap 1, ...). scratch: (size + 2
 * radius) floats. out: (maps, 2, size, size); its second moment plane is the first pass's
 * buffer. The inner loops run along x over contiguous rows, so they vectorize. */
void LP(lp_blurred_moments)(const float *depth, int64_t size, int64_t radius, int64_t start,
                        int64_t stop, float *scratch, float *out) {
    const float scale = (float)(1.0 / (double)(2 * radius + 1));
    const int64_t area = size * size, taps = 2 * radius + 1;
    for (int64_t m = start; m < stop; m++) {
        const float *d = depth + m * area;
        float *mean = out + m * 2 * area, *square = mean + area;
        /* Down the columns: out row y = sum of clamped rows y - radius .. y + radius. */
        for (int64_t y = 0; y < size; y++) {
            float *a = mean + y * size, *b = square + y * size;
            for (int64_t s = 0; s < taps; s++) {
                int64_t yy = y + s - radius;
                yy = yy < 0 ? 0 : (yy > size - 1 ? size - 1 : yy);
                const float *row = d + yy * size;
                if (s == 0) {
                    for (int64_t x = 0; x < size; x++) {
                        a[x] = row[x];
                        b[x] = row[x] * row[x];
                    }
                } else {
                    for (int64_t x = 0; x < size; x++) {
                        a[x] = a[x] + row[x];
                        b[x] = b[x] + row[x] * row[x];
                    }
                }
            }
            for (int64_t x = 0; x < size; x++) {
                a[x] = a[x] * scale;
                b[x] = b[x] * scale;
            }
        }
        /* Along the rows, in place through a padded copy of each row. */
        float *padded = scratch + radius;
        for (int64_t plane = 0; plane < 2; plane++)
            for (int64_t y = 0; y < size; y++) {
                float *row = mean + plane * area + y * size;
                for (int64_t x = -radius; x < size + radius; x++)
                    padded[x] = row[x < 0 ? 0 : (x > size - 1 ? size - 1 : x)];
                for (int64_t x = 0; x < size; x++) row[x] = padded[x - radius];
                for (int64_t s = 1; s < taps; s++)
                    for (int64_t x = 0; x < size; x++) row[x] = row[x] + padded[x - radius + s];
                for (int64_t x = 0; x < size; x++) row[x] = row[x] * scale;
            }
    }
}
