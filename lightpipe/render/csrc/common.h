/* Shared by the kernel sources. Every exported kernel is named LP(name), i.e. name followed by
 * the build variant's suffix (LP_SUFFIX: _base, _v3 or _v4), because setup.py compiles the
 * kernels once per instruction set and `native_library.py` binds the best one the CPU runs.
 * The variants differ only in vector width and tuning, never in arithmetic (no FMA, no fast-math),
 * so they give the same bits. */
#ifndef LIGHTPIPE_COMMON_H
#define LIGHTPIPE_COMMON_H

#ifndef LP_SUFFIX
#define LP_SUFFIX _base
#endif
#define LP_CONCAT2(a, b) a##b
#define LP_CONCAT(a, b) LP_CONCAT2(a, b)
#define LP(name) LP_CONCAT(name, LP_SUFFIX)
#define INLINE static inline __attribute__((always_inline))
#define FACE_MASK 0xffffffffLL /* the face bits of a z-buffer key */

/* The reference's clamp, clamp(min=), clamp(max=): NaN stays NaN. */
INLINE float clamp_min(float x, float lo) { return x < lo ? lo : x; }
INLINE float clamp_max(float x, float hi) { return x > hi ? hi : x; }
INLINE float clamp2(float x, float lo, float hi) { return clamp_max(clamp_min(x, lo), hi); }
/* torch.minimum / maximum (a, bound) where the bound b is never NaN: NaN if a is NaN (the only
 * NaN that can reach one here; it then makes an index invalid, see shade.c's `checked`). Ties
 * (+0, -0) only feed floor, ceil and indices, where the sign of zero makes no difference. */
INLINE float minimum(float a, float b) { return b < a ? b : a; }
INLINE float maximum(float a, float b) { return b > a ? b : a; }

#endif
