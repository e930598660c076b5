/* The `lightpipe.render._native` extension module: kernels are called through ctypes, so the
 * module only exists to be found and loaded; `lp_variants` says which instruction-set builds of
 * the kernels (setup.py) this CPU can run. */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

/* Bit 0: the baseline build (always); bit 1: x86-64-v3 (AVX2); bit 2: x86-64-v4 (AVX-512),
 * each only when it was built (LP_HAVE_V3/V4) and the CPU has its features. */
int lp_variants(void) {
    int variants = 1;
#if defined(__x86_64__) && defined(__GNUC__)
    __builtin_cpu_init();
#ifdef LP_HAVE_V3
    if (__builtin_cpu_supports("x86-64-v3")) variants |= 2;
#endif
#ifdef LP_HAVE_V4
    if (__builtin_cpu_supports("x86-64-v4")) variants |= 4;
#endif
#endif
    return variants;
}

/* sha256 prefix of the kernel sources this module was built from (setup.py). */
const char *lp_source_hash(void) { return LP_SOURCE_HASH; }

static struct PyModuleDef module = {PyModuleDef_HEAD_INIT, "_native",
                                    "Native CPU kernels of the renderer (called through ctypes).",
                                    -1, NULL};

PyMODINIT_FUNC PyInit__native(void) { return PyModule_Create(&module); }
