/* Shared by the kernel sources: every exported kernel is named LP(name), i.e. name followed by
 * the build variant's suffix (LP_SUFFIX: _base, _v3 or _v4), because setup.py compiles the
 * kernels once per instruction set and `native.py` binds the best one the CPU runs. The
 * variants differ only in vector width and tuning, never in arithmetic (no FMA, no fast-math),
 * so they give the same bits. */
#ifndef LIGHTPIPE_VARIANT_H
#define LIGHTPIPE_VARIANT_H

#ifndef LP_SUFFIX
#define LP_SUFFIX _base
#endif
#define LP_CONCAT2(a, b) a##b
#define LP_CONCAT(a, b) LP_CONCAT2(a, b)
#define LP(name) LP_CONCAT(name, LP_SUFFIX)
#define INLINE static inline __attribute__((always_inline))

#endif
