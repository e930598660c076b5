/* Native CPU kernels of `motion.py`: optical flow with its flags, and object coordinates, with
 * the same float32 operations in the same order as the eager reference (`motion.flow_block`,
 * `motion.coordinates_block`), no FMA (setup.py), so the same bits. One branch-free loop per
 * pixel range; a pixel's result never depends on the range split. */
#include <math.h>
#include <stdint.h>

#include "common.h"

#define TRANSFORM_SIZE 13 /* motion.TRANSFORM_SIZE: 3x4 rows, then the z' threshold */
#define BOX_SIZE 12       /* motion.BOX_SIZE */
#define VALID 1
#define INSIDE 2
#define VISIBLE 4

/* Flow (2 per pixel) and flags of pixels [start, stop) of a frame: depth, ids (int32), rays
 * (3, hw), the target frame's depth, the pair's `flow_transforms` (rows by id) and
 * `flow_params` (fx, fy, cx, cy, tolerance, backdrop). */
void LP(lp_flow)(const float *depth, const int32_t *ids, const float *rays,
                 const float *target_depth, const float *transforms, const float *params,
                 int64_t width, int64_t height, int64_t start, int64_t stop, float *flow,
                 uint8_t *flags) {
    const int64_t hw = width * height;
    const float *rxs = rays, *rys = rays + hw;
    const float fx = params[0], fy = params[1], cx = params[2], cy = params[3];
    const float tolerance = params[4];
    const int backdrop = params[5] > 0.0f;
    const float fw = (float)width, fh = (float)height;
#pragma omp simd
    for (int64_t i = start; i < stop; i++) {
        const int32_t id = ids[i];
        const float *m = transforms + (int64_t)id * TRANSFORM_SIZE;
        const int sky = id == 0;
        const float z = sky ? 1.0f : depth[i];
        const float px = rxs[i] * z, py = rys[i] * z;
        const float xp = ((m[0] * px + m[1] * py) + m[2] * z) + m[3];
        const float yp = ((m[4] * px + m[5] * py) + m[6] * z) + m[7];
        const float zp = ((m[8] * px + m[9] * py) + m[10] * z) + m[11];
        const float cu = (float)(i % width) + 0.5f, cv = (float)(i / width) + 0.5f;
        float up = (xp / zp) * fx + cx;
        float vp = (yp / zp) * fy + cy;
        const int still = sky && backdrop;
        up = still ? cu : up;
        vp = still ? cv : vp;
        const int valid = (zp > m[12]) || still;
        const int inside = valid && up >= 0.0f && up < fw && vp >= 0.0f && vp < fh;
        const int64_t u0 = (int64_t)floorf((inside ? up : 0.0f) - 0.5f);
        const int64_t v0 = (int64_t)floorf((inside ? vp : 0.0f) - 0.5f);
        const float limit = zp * tolerance;
        int visible = 0;
        for (int dv = 0; dv < 2; dv++) {
            for (int du = 0; du < 2; du++) {
                const int64_t u = u0 + du, v = v0 + dv;
                const int there = u >= 0 && u < width && v >= 0 && v < height;
                const float found = target_depth[there ? v * width + u : 0];
                const int surface = found > 0.0f && fabsf(found - zp) <= limit;
                visible |= there && (sky ? found == 0.0f : surface);
            }
        }
        visible = inside && visible;
        flow[2 * i] = valid ? up - cu : 0.0f;
        flow[2 * i + 1] = valid ? vp - cv : 0.0f;
        flags[i] = (uint8_t)((valid ? VALID : 0) | (inside ? INSIDE : 0) |
                             (visible ? VISIBLE : 0));
    }
}

/* Object coordinates (3 per pixel) of pixels [start, stop): depth, ids (int32), rays (3, hw),
 * the frame's `box_transforms` (rows by id); 0 where the id is not an object's (< 2). */
void LP(lp_object_coordinates)(const float *depth, const int32_t *ids, const float *rays,
                               const float *boxes, int64_t hw, int64_t start, int64_t stop,
                               float *out) {
    const float *rxs = rays, *rys = rays + hw;
#pragma omp simd
    for (int64_t i = start; i < stop; i++) {
        const int32_t id = ids[i];
        const float *m = boxes + (int64_t)id * BOX_SIZE;
        const float z = depth[i];
        const float px = rxs[i] * z, py = rys[i] * z;
        const int object = id >= 2;
        for (int k = 0; k < 3; k++) {
            const float c = ((m[4 * k] * px + m[4 * k + 1] * py) + m[4 * k + 2] * z) + m[4 * k + 3];
            out[3 * i + k] = object ? clamp2(c, 0.0f, 1.0f) : 0.0f;
        }
    }
}
