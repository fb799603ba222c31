/* cpu_small.c - C = alpha * A B^T + beta * C for a few rows of A (1..8):
 * the shape of one generation step, where OpenBLAS's sgemm spends most of
 * its time packing B and its sgemv handles only one row.  Each element of
 * B is read once and multiplied by all rows of A while it sits in a
 * register, so the cost stays close to one pass over B for up to 8 rows. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "backend/cpu/cpu_level.h"
#include "backend/cpu/cpu_small.h"

/* IEEE half <-> float in plain C: exact widening; rounding to nearest
 * even when narrowing, overflow to infinity, NaN kept a NaN. */
float cpu_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16, e = (h >> 10) & 0x1fu, m = h & 0x3ffu, f;
    if (e == 0) {
        /* zero or subnormal: m * 2^-24 is exact in a float */
        float v = (float)m * (1.0f / 16777216.0f);
        return sign ? -v : v;
    }
    if (e == 31)
        f = sign | 0x7f800000u | (m << 13);
    else
        f = sign | ((e + 112u) << 23) | (m << 13);
    float r;
    memcpy(&r, &f, sizeof r);
    return r;
}

uint16_t cpu_float_to_half(float x)
{
    uint32_t f;
    memcpy(&f, &x, sizeof f);
    uint32_t sign = (f >> 16) & 0x8000u, a = f & 0x7fffffffu, q, rem, tie;
    if (a >= 0x7f800000u)                       /* infinity, NaN */
        return (uint16_t)(sign | 0x7c00u | (a > 0x7f800000u ? 0x200u : 0u));
    if (a >= 0x477ff000u)                       /* rounds past 65504 */
        return (uint16_t)(sign | 0x7c00u);
    if (a < 0x38800000u) {                      /* below 2^-14: subnormal */
        if (a < 0x33000000u)                    /* at most 2^-25: zero */
            return (uint16_t)sign;
        uint32_t m = (a & 0x7fffffu) | 0x800000u, shift = 126u - (a >> 23);
        q = m >> shift;
        rem = m & ((1u << shift) - 1u);
        tie = 1u << (shift - 1u);
    } else {
        q = (a >> 13) - (112u << 10);
        rem = a & 0x1fffu;
        tie = 0x1000u;
    }
    if (rem > tie || (rem == tie && (q & 1u)))
        q++;                                    /* may carry into the exponent */
    return (uint16_t)(sign | q);
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define CPU_SMALL_X86 1
#endif

#ifdef CPU_SMALL_X86

/* Writes alpha * s + beta * c to *c; beta 0 ignores the old value (it may
 * be NaN from an uninitialised buffer, as BLAS allows). */
static inline void cs_store(float *c, float s, float alpha, float beta)
{
    *c = beta == 0.0f ? alpha * s : alpha * s + beta * *c;
}

/* AVX-512 body for a compile-time row count M: two rows of B at a time,
 * 2*M accumulators of 16 lanes, a masked load for the tail of K. */
static inline __attribute__((always_inline, target("avx512f"))) void
cs_avx512_body(const int M, int N, int K, float alpha, const float *A, int lda,
               const float *B, int ldb, float beta, float *C, int ldc)
{
    int K16 = K & ~15;
    __mmask16 tail = (__mmask16)((1u << (K - K16)) - 1u);
    int i = 0;
    for (; i + 1 < N; i += 2) {
        const float *b0 = B + (size_t)i * ldb, *b1 = b0 + ldb;
        __m512 s0[CPU_SMALL_MAX_M], s1[CPU_SMALL_MAX_M];
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++)
            s0[m] = s1[m] = _mm512_setzero_ps();
        for (int k = 0; k < K16; k += 16) {
            __m512 w0 = _mm512_loadu_ps(b0 + k), w1 = _mm512_loadu_ps(b1 + k);
            _Pragma("GCC unroll 8")
            for (int m = 0; m < M; m++) {
                __m512 x = _mm512_loadu_ps(A + (size_t)m * lda + k);
                s0[m] = _mm512_fmadd_ps(w0, x, s0[m]);
                s1[m] = _mm512_fmadd_ps(w1, x, s1[m]);
            }
        }
        if (tail) {
            __m512 w0 = _mm512_maskz_loadu_ps(tail, b0 + K16);
            __m512 w1 = _mm512_maskz_loadu_ps(tail, b1 + K16);
            _Pragma("GCC unroll 8")
            for (int m = 0; m < M; m++) {
                __m512 x = _mm512_maskz_loadu_ps(tail, A + (size_t)m * lda + K16);
                s0[m] = _mm512_fmadd_ps(w0, x, s0[m]);
                s1[m] = _mm512_fmadd_ps(w1, x, s1[m]);
            }
        }
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++) {
            float *c = C + (size_t)m * ldc + i;
            cs_store(c, _mm512_reduce_add_ps(s0[m]), alpha, beta);
            cs_store(c + 1, _mm512_reduce_add_ps(s1[m]), alpha, beta);
        }
    }
    if (i < N) {
        const float *b0 = B + (size_t)i * ldb;
        __m512 s0[CPU_SMALL_MAX_M];
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++)
            s0[m] = _mm512_setzero_ps();
        for (int k = 0; k < K16; k += 16) {
            __m512 w0 = _mm512_loadu_ps(b0 + k);
            _Pragma("GCC unroll 8")
            for (int m = 0; m < M; m++)
                s0[m] = _mm512_fmadd_ps(w0, _mm512_loadu_ps(A + (size_t)m * lda + k), s0[m]);
        }
        if (tail) {
            __m512 w0 = _mm512_maskz_loadu_ps(tail, b0 + K16);
            _Pragma("GCC unroll 8")
            for (int m = 0; m < M; m++)
                s0[m] = _mm512_fmadd_ps(w0, _mm512_maskz_loadu_ps(tail, A + (size_t)m * lda + K16),
                                        s0[m]);
        }
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++)
            cs_store(C + (size_t)m * ldc + i, _mm512_reduce_add_ps(s0[m]), alpha, beta);
    }
}

__attribute__((target("avx512f")))
static void cs_avx512(int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    switch (M) {
    case 1: cs_avx512_body(1, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 2: cs_avx512_body(2, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 3: cs_avx512_body(3, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 4: cs_avx512_body(4, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 5: cs_avx512_body(5, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 6: cs_avx512_body(6, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 7: cs_avx512_body(7, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: cs_avx512_body(8, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
}

/* Sum of the 8 lanes. */
static inline __attribute__((always_inline, target("avx2,fma"))) float cs_hsum256(__m256 v)
{
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
}

/* AVX2 body: one row of B at a time (16 registers), M accumulators of 8
 * lanes, the tail of K in scalar code. */
static inline __attribute__((always_inline, target("avx2,fma"))) void
cs_avx2_body(const int M, int N, int K, float alpha, const float *A, int lda,
             const float *B, int ldb, float beta, float *C, int ldc)
{
    int K8 = K & ~7;
    for (int i = 0; i < N; i++) {
        const float *b0 = B + (size_t)i * ldb;
        __m256 s0[CPU_SMALL_MAX_M];
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++)
            s0[m] = _mm256_setzero_ps();
        for (int k = 0; k < K8; k += 8) {
            __m256 w0 = _mm256_loadu_ps(b0 + k);
            _Pragma("GCC unroll 8")
            for (int m = 0; m < M; m++)
                s0[m] = _mm256_fmadd_ps(w0, _mm256_loadu_ps(A + (size_t)m * lda + k), s0[m]);
        }
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++) {
            const float *a = A + (size_t)m * lda;
            float s = cs_hsum256(s0[m]);
            for (int k = K8; k < K; k++)
                s += a[k] * b0[k];
            cs_store(C + (size_t)m * ldc + i, s, alpha, beta);
        }
    }
}

__attribute__((target("avx2,fma")))
static void cs_avx2(int M, int N, int K, float alpha, const float *A, int lda,
                    const float *B, int ldb, float beta, float *C, int ldc)
{
    switch (M) {
    case 1: cs_avx2_body(1, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 2: cs_avx2_body(2, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 3: cs_avx2_body(3, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 4: cs_avx2_body(4, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 5: cs_avx2_body(5, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 6: cs_avx2_body(6, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 7: cs_avx2_body(7, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: cs_avx2_body(8, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
}


/* C[M,N] = alpha * A[M,K] B[K,N] + beta * C for M <= 8, AVX-512: for each
 * block of 32 columns the 8 x 32 result stays in 16 registers while k runs,
 * each row of B's block is loaded once and multiplied by every row of A
 * (broadcast).  No packing: B's rows are read in place. */
static inline __attribute__((always_inline, target("avx512f"))) void
cs_nn_avx512_body(const int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    for (int n = 0; n < N; n += 32) {
        int w = N - n < 32 ? N - n : 32;
        __mmask16 m0 = (__mmask16)(w >= 16 ? 0xffffu : (1u << w) - 1u);
        __mmask16 m1 = (__mmask16)(w >= 32 ? 0xffffu : w > 16 ? (1u << (w - 16)) - 1u : 0u);
        __m512 acc0[CPU_SMALL_MAX_M], acc1[CPU_SMALL_MAX_M];
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++)
            acc0[m] = acc1[m] = _mm512_setzero_ps();
        const float *b = B + n;
        for (int k = 0; k < K; k++, b += ldb) {
            __m512 b0 = _mm512_maskz_loadu_ps(m0, b), b1 = _mm512_maskz_loadu_ps(m1, b + 16);
            _Pragma("GCC unroll 8")
            for (int m = 0; m < M; m++) {
                __m512 a = _mm512_set1_ps(A[(size_t)m * lda + k]);
                acc0[m] = _mm512_fmadd_ps(a, b0, acc0[m]);
                acc1[m] = _mm512_fmadd_ps(a, b1, acc1[m]);
            }
        }
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
        _Pragma("GCC unroll 8")
        for (int m = 0; m < M; m++) {
            float *c = C + (size_t)m * ldc + n;
            __m512 r0 = _mm512_mul_ps(va, acc0[m]), r1 = _mm512_mul_ps(va, acc1[m]);
            if (beta != 0.0f) {    /* beta 0 ignores C, which may hold NaN */
                r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), r0);
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), r1);
            }
            _mm512_mask_storeu_ps(c, m0, r0);
            _mm512_mask_storeu_ps(c + 16, m1, r1);
        }
    }
}

__attribute__((target("avx512f")))
static void cs_nn_avx512(int M, int N, int K, float alpha, const float *A, int lda,
                         const float *B, int ldb, float beta, float *C, int ldc)
{
    switch (M) {
    case 1: cs_nn_avx512_body(1, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 2: cs_nn_avx512_body(2, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 3: cs_nn_avx512_body(3, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 4: cs_nn_avx512_body(4, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 5: cs_nn_avx512_body(5, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 6: cs_nn_avx512_body(6, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    case 7: cs_nn_avx512_body(7, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    default: cs_nn_avx512_body(8, N, K, alpha, A, lda, B, ldb, beta, C, ldc); break;
    }
}

#endif

/* Returns 0 when done, -1 when this CPU or shape is not handled (the
 * caller falls back to BLAS). */
int cpu_small_gemm_nt(int M, int N, int K, float alpha, const float *A, int lda,
                  const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M < 1 || M > CPU_SMALL_MAX_M || N < 1 || K < 1)
        return -1;
#ifdef CPU_SMALL_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        cs_avx512(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return 0;
    }
    if (cpu_level_get() >= CPU_LEVEL_AVX2) {
        cs_avx2(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return 0;
    }
#else
    (void)alpha; (void)A; (void)lda; (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
#endif
    return -1;
}

int cpu_small_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc)
{
    if (M < 1 || M > CPU_SMALL_MAX_M || N < 1 || K < 1)
        return -1;
#ifdef CPU_SMALL_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        cs_nn_avx512(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
        return 0;
    }
#else
    (void)alpha; (void)A; (void)lda; (void)B; (void)ldb; (void)beta; (void)C; (void)ldc;
#endif
    return -1;
}
