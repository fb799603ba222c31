/* cpu_math.h - the CPU backend's gate arithmetic shared by its kernel
 * files: exp, sigmoid and tanh that vectorise (no libm calls), and the
 * attribute that compiles a hot loop for each instruction set. */
#ifndef CPU_MATH_H
#define CPU_MATH_H
#include <math.h>
#include <stdint.h>

/* The hot loops are compiled for AVX-512, AVX2 and baseline x86-64, and
 * the dynamic loader picks the clone for the CPU it runs on (GNU ifunc),
 * so one binary is fast everywhere.  Not under ThreadSanitizer: its
 * instrumented ifunc resolvers run before it is set up, and crash. */
#if defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define CPU_NO_CLONES 1
#endif
#endif
#if defined(__SANITIZE_THREAD__)
#define CPU_NO_CLONES 1
#endif
#if defined(__x86_64__) && defined(__gnu_linux__) && defined(__has_attribute) && \
    !defined(CPU_NO_CLONES)
#if __has_attribute(target_clones)
#define CPU_KERNEL __attribute__((target_clones("avx512f", "avx2", "default")))
#endif
#endif
#ifndef CPU_KERNEL
#define CPU_KERNEL
#endif

/* exp(x) for |x| < 88 to within about 2 ulp: x = n ln2 + r, exp(r) by a
 * degree-6 polynomial, 2^n by building the exponent bits.  libm's expf is
 * a function call per element and does not vectorise; this does. */
static inline float cpu_exp(float x)
{
    /* comparisons, not fminf/fmaxf: those are libm calls unless NaNs may
     * be ignored, and a call stops the loop from vectorising */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* round to nearest by adding 1.5*2^23: floorf would be a libm call
     * without SSE4.1 and stop the loop from vectorising; t then holds n
     * in the low bits of its mantissa */
    float t = x * 1.44269504088896341f + 12582912.0f;
    float n = t - 12582912.0f;
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    /* 2^n from those bits, in unsigned arithmetic: converting n to an
     * integer would be undefined for a NaN (a diverged model), which then
     * gets some power of two here and stays NaN through p */
    union { float f; uint32_t i; } u = { t };
    u.i = (u.i - 0x4B400000u + 127u) << 23;
    return p * u.f;
}

static inline float cpu_sigmoid(float x) { return 1.0f / (1.0f + cpu_exp(-x)); }

/* tanh through exp of a non-positive argument, so no overflow and good
 * relative accuracy for large |x|; near 0 the absolute error is ~1e-7. */
static inline float cpu_tanh(float x)
{
    float e = cpu_exp(-2.0f * fabsf(x));
    float t = (1.0f - e) / (1.0f + e);
    return copysignf(t, x);
}

#endif
