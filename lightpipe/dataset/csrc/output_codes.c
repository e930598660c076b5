/* Native per-video output codes of the writer (`outputs.labels.encode_normals`,
 * `flow_codes.encode_flow`, `flow_codes.encode_object_coordinates`): the numpy definitions'
 * operations in their precision and order (no FMA, no fast-math: setup.py), on a range of pixels
 * that Python splits over threads. The constants of the codes (scales, code ranges, flag bits)
 * come from Python as arguments: they live once, beside the numpy definitions.
 */
#include <math.h>
#include <stdint.h>
#include <string.h>

#include "../../render/csrc/common.h"

/* x where mask is all ones, +0 where it is 0: a select without a branch or a masked load (GCC
 * cannot vectorize masked loads of the interleaved pixels). */
INLINE float keep_if(float x, uint32_t mask) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    bits &= mask;
    memcpy(&x, &bits, sizeof x);
    return x;
}

/* `encode_normals` of pixels [start, stop) of float32 (N, 3) normals -> uint8 (N, 3) codes:
 * floor((n + 1) * scale + 0.5) in float64 (exact for float32 n), clipped to [0, 255]; a pixel
 * whose 3 components are all 0 -> (0, 0, 0). NaN gives 0, as numpy's cast does on x86 (the
 * renderer never writes NaN normals). */
void LP(lp_encode_normals)(const float *normals, double scale, int64_t start, int64_t stop,
                           uint8_t *codes) {
    for (int64_t i = start; i < stop; i++) {
        const float *n = normals + 3 * i;
        int surface = n[0] != 0 || n[1] != 0 || n[2] != 0; /* numpy's any(): NaN is true */
        for (int k = 0; k < 3; k++) {
            double value = floor(((double)n[k] + 1.0) * scale + 0.5);
            value = value > 0.0 ? value : 0.0; /* NaN -> 0 */
            value = value < 255.0 ? value : 255.0;
            codes[3 * i + k] = surface ? (uint8_t)value : 0;
        }
    }
}

/* `encode_flow` of pixels [start, stop) of one frame: flow (N, 2) float32 and flags (N) uint8 ->
 * planes (N, 3) uint16 (dx code, dy code, flags with the saturated bit recomputed). code =
 * clip(rint(flow * scale), code_min, code_max) + offset in float32 (rint: the current rounding
 * mode, half to even as numpy's), 0 + offset on invalid pixels. Returns the number of valid
 * pixels whose dx or dy was clipped, or -1 when a valid pixel has NaN flow (numpy raises). */
int64_t LP(lp_encode_flow)(const float *flow, const uint8_t *flags, double scale, int64_t valid_bit,
                           int64_t saturated_bit, int64_t code_min, int64_t code_max,
                           int64_t offset, int64_t start, int64_t stop, uint16_t *planes) {
    const float s = (float)scale, low = (float)code_min, high = (float)code_max;
    const float shift = (float)offset;
    const uint8_t valid_mask = (uint8_t)valid_bit, keep = (uint8_t)~saturated_bit;
    const uint8_t saturated_mask = (uint8_t)saturated_bit;
    int64_t saturated = 0, nan = 0;
    for (int64_t i = start; i < stop; i++) {
        uint8_t pixel_flags = flags[i];
        uint32_t valid = -(uint32_t)((pixel_flags & valid_mask) != 0);
        int clipped = 0;
        for (int k = 0; k < 2; k++) {
            float code = keep_if(flow[2 * i + k] * s, valid); /* exact, or +-inf past float32 */
            nan += code != code;
            code = rintf(code);
            clipped |= code < low || code > high;
            code = code < low ? low : (code > high ? high : code);
            planes[3 * i + k] = (uint16_t)(int32_t)(code + shift);
        }
        saturated += clipped;
        planes[3 * i + 2] = (uint16_t)((pixel_flags & keep) | (clipped ? saturated_mask : 0));
    }
    return nan ? -1 : saturated;
}

/* `encode_object_coordinates` of pixels [start, stop) of one frame: coords (N, 3) float32 and
 * mask (N) bool -> codes (N, 3) uint16: 1 + rint(clip(c, 0, 1) * levels) in float64 (the product
 * is exact, rint half to even) where mask, 0 elsewhere. Returns 0, or -1 when a masked pixel has
 * a NaN coordinate (numpy raises). */
int64_t LP(lp_encode_object_coordinates)(const float *coords, const uint8_t *mask, double levels,
                                         int64_t start, int64_t stop, uint16_t *codes) {
    int64_t nan = 0;
    for (int64_t i = start; i < stop; i++) {
        int inside = mask[i] != 0;
        for (int k = 0; k < 3; k++) {
            double c = keep_if(coords[3 * i + k], -(uint32_t)inside);
            nan += c != c;
            c = c < 0.0 ? 0.0 : (c > 1.0 ? 1.0 : c);
            double value = rint(c * levels) + 1.0;
            codes[3 * i + k] = inside ? (uint16_t)value : 0;
        }
    }
    return nan ? -1 : 0;
}
