/* Native `dataset.depth_codes` of the writer: the per-video depth range, the metric uint16
 * codes and the inverse-depth gray levels, with numpy's float64 operations in numpy's order
 * (rules in shade.c), on a range that Python splits over threads.
 */
#include <math.h>
#include <stdint.h>

#include "../../render/csrc/common.h"

/* `depth_codes._valid_range` of depths [start, stop): out = (min, max) of the positive values,
 * (+inf, -inf) when there are none. */
enum { RANGE_LANES = 16 }; /* independent running minima and maxima: the loop vectorizes */
void LP(lp_depth_range)(const float *depth, int64_t start, int64_t stop, float *out) {
    /* The min and max of a set do not depend on the order it is visited in (NaN and
     * non-positive values are skipped, so no signed zero or NaN reaches them): lanes, then
     * the lanes together, give the sequential loop's values. */
    float low[RANGE_LANES], high[RANGE_LANES];
    for (int j = 0; j < RANGE_LANES; j++) {
        low[j] = INFINITY;
        high[j] = -INFINITY;
    }
    int64_t i = start;
    for (; i + RANGE_LANES <= stop; i += RANGE_LANES) {
#pragma omp simd
        for (int j = 0; j < RANGE_LANES; j++) {
            float z = depth[i + j];
            low[j] = z > 0 && z < low[j] ? z : low[j];
            high[j] = z > 0 && z > high[j] ? z : high[j];
        }
    }
    for (; i < stop; i++) {
        float z = depth[i];
        low[0] = z > 0 && z < low[0] ? z : low[0];
        high[0] = z > 0 && z > high[0] ? z : high[0];
    }
    float lowest = INFINITY, highest = -INFINITY;
    for (int j = 0; j < RANGE_LANES; j++) {
        lowest = low[j] < lowest ? low[j] : lowest;
        highest = high[j] > highest ? high[j] : highest;
    }
    out[0] = lowest;
    out[1] = highest;
}

/* `depth_codes.quantize_metric` of depths [start, stop) (float64 math, as numpy's). */
void LP(lp_quantize_metric)(const float *depth, double near, double scale, int64_t start,
                        int64_t stop, uint16_t *codes) {
    for (int64_t i = start; i < stop; i++) {
        double value = floor(((double)depth[i] - near) * scale + 0.5) + 1.0;
        value = value < 1.0 ? 1.0 : (value > 65535.0 ? 65535.0 : value);
        codes[i] = depth[i] > 0 ? (uint16_t)value : 0;
    }
}

/* `depth_codes.inverse_depth_gray` of depths [start, stop) for one normalization (low, span)
 * (float64 math, as numpy's). */
void LP(lp_inverse_depth_gray)(const float *depth, double low, double span, int64_t start,
                           int64_t stop, uint8_t *gray) {
    for (int64_t i = start; i < stop; i++) {
        float z = depth[i];
        double inverse = 1.0 / (double)(z > 0 ? z : 1.0f);
        double value = floor((inverse - low) / span * 255.0 + 0.5);
        value = value < 0.0 ? 0.0 : (value > 255.0 ? 255.0 : value);
        gray[i] = z > 0 ? (uint8_t)value : 0;
    }
}
