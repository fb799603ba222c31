/* cpu_pack.c - packed weight matrices and their products for generation.
 *
 * Layout: rows padded to a multiple of CPU_PACK_BLOCK (zero rows), each
 * part of a row padded to a multiple of CPU_PACK_ALIGN elements (zeros),
 * so a row is Kp = P1 + P2 contiguous elements.  Weight rows and inputs
 * alike are first laid out in that shape as floats (gather_row), zeros in
 * the padding, so a padded weight always meets a zero input (never a NaN
 * from stale memory) and every later loop runs over whole vectors.
 *
 * 8-bit: q = round(w / s) with s = max|w_row| / 127, inputs quantised the
 * same way per input row (scale t) and offset by 128 to make them unsigned
 * (what VNNI's u8 x s8 product wants); the offset's contribution, 128 *
 * sum(q), is stored per row and taken back out.  Sums are exact in 32-bit
 * integers (|255 * 127 * Kp| < 2^31 for Kp <= 65536), so the SIMD and the
 * plain paths give identical results. */
#include <assert.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cpu/cpu_level.h"
#include "backend/cpu/cpu_pack.h"
#include "backend/cpu/cpu_small.h"

#define CPU_PACK_ALIGN 64
#define CPU_PACK_I8_MAX_K 65536

struct cpu_pack {
    cpu_pack_kind kind;
    int N, Np, K1, K2, P1, Kp;
    int max_rows, M;
    int simd;                 /* use the AVX-512 kernels */
    void *w;                  /* [Np, Kp] of the kind's element */
    float *scale;             /* I8: per weight row */
    int32_t *offset;          /* I8: 128 * sum of the row's q */
    float *xf;                /* input rows as floats [max_rows, Kp] */
    uint8_t *xq;              /* I8: input rows quantised [max_rows, Kp] */
    float *xs;                /* I8: per input row scale */
};

static int round_up(int n, int a) { return (n + a - 1) / a * a; }

static size_t elem_size(cpu_pack_kind k)
{
    return k == CPU_PACK_F32 ? 4 : k == CPU_PACK_F16 ? 2 : 1;
}

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define CPU_PACK_X86 1
#define PACK_SIMD __attribute__((target("avx512f,avx512bw,avx512vl,avx512vnni,avx2,fma,f16c")))
#endif

/* Whether this CPU runs the SIMD kernels for kind. */
static int pack_cpu_has(cpu_pack_kind kind)
{
#ifdef CPU_PACK_X86
    if (kind == CPU_PACK_I8)
        return cpu_level_get() >= CPU_LEVEL_AVX512VNNI;
    return cpu_level_get() >= CPU_LEVEL_AVX512;
#else
    (void)kind;
    return 0;
#endif
}

/* Quantises n values of src (max magnitude amax) to dst; returns the scale. */
static float quantise_row(int8_t *dst, const float *src, int n, float amax)
{
    if (!(amax > 0.0f) || !isfinite(amax)) {
        memset(dst, 0, (size_t)n);
        return amax == 0.0f ? 0.0f : NAN;     /* a broken row stays visibly broken */
    }
    float inv = 127.0f / amax;
    for (int k = 0; k < n; k++) {
        long q = lrintf(src[k] * inv);
        dst[k] = (int8_t)(q > 127 ? 127 : q < -127 ? -127 : q);
    }
    return amax / 127.0f;
}

static float max_abs(const float *x, int n, float m)
{
    for (int k = 0; k < n; k++) {
        float a = fabsf(x[k]);
        if (a > m || isnan(a))
            m = a;                      /* once NaN, stays NaN */
    }
    return m;
}

/* Lays [a | b] out as one row of Kp floats, zeros in the padding (b is
 * ignored when K2 = 0). */
static void gather_row(const cpu_pack *p, float *d, const float *a, const float *b)
{
    memset(d, 0, sizeof(float) * (size_t)p->Kp);
    memcpy(d, a, sizeof(float) * (size_t)p->K1);
    if (p->K2)
        memcpy(d + p->P1, b, sizeof(float) * (size_t)p->K2);
}

/* Fills packed row r from the two sources (the input scratch serves as
 * the float row: no product runs while packing). */
static void pack_row(cpu_pack *p, int r, const float *w1, const float *w2)
{
    size_t at = (size_t)r * p->Kp;
    if (p->kind == CPU_PACK_F32) {
        gather_row(p, (float *)p->w + at, w1, w2);
        return;
    }
    float *row = p->xf;
    gather_row(p, row, w1, w2);
    if (p->kind == CPU_PACK_F16) {
        uint16_t *d = (uint16_t *)p->w + at;
        for (int k = 0; k < p->Kp; k++)
            d[k] = cpu_float_to_half(row[k]);
        return;
    }
    int8_t *d = (int8_t *)p->w + at;
    int32_t sum = 0;
    p->scale[r] = quantise_row(d, row, p->Kp, max_abs(row, p->Kp, 0.0f));
    for (int k = 0; k < p->Kp; k++)
        sum += d[k];
    p->offset[r] = 128 * sum;
}

cpu_pack *cpu_pack_new(cpu_pack_kind kind, int N, const float *W1, int K1,
                       const float *W2, int K2, int max_rows)
{
    if (N < 1 || K1 < 1 || K2 < 0 || (K2 > 0 && !W2) || max_rows < 1 ||
        (unsigned)kind > CPU_PACK_I8)
        return NULL;
    cpu_pack *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->kind = kind;
    p->N = N;
    p->Np = round_up(N, CPU_PACK_BLOCK);
    p->K1 = K1;
    p->K2 = K2;
    p->P1 = round_up(K1, CPU_PACK_ALIGN);
    p->Kp = p->P1 + round_up(K2, CPU_PACK_ALIGN);
    p->max_rows = max_rows;
    p->simd = pack_cpu_has(kind);
    if (kind == CPU_PACK_I8 && p->Kp > CPU_PACK_I8_MAX_K)
        goto fail;
    size_t wbytes = (size_t)p->Np * p->Kp * elem_size(kind);
    if (!(p->w = aligned_alloc(64, (wbytes + 63) / 64 * 64)))
        goto fail;
    memset(p->w, 0, wbytes);
    if (!(p->xf = aligned_alloc(64, sizeof(float) * (size_t)max_rows * p->Kp)))
        goto fail;
    if (kind == CPU_PACK_I8) {
        p->scale = calloc((size_t)p->Np, sizeof *p->scale);
        p->offset = calloc((size_t)p->Np, sizeof *p->offset);
        p->xq = aligned_alloc(64, (size_t)max_rows * p->Kp);
        p->xs = calloc((size_t)max_rows, sizeof *p->xs);
        if (!p->scale || !p->offset || !p->xq || !p->xs)
            goto fail;
    }
    for (int r = 0; r < N; r++)
        pack_row(p, r, W1 + (size_t)r * K1, K2 ? W2 + (size_t)r * K2 : NULL);
    return p;
fail:
    cpu_pack_free(p);
    return NULL;
}

void cpu_pack_free(cpu_pack *p)
{
    if (!p)
        return;
    free(p->w);
    free(p->scale);
    free(p->offset);
    free(p->xf);
    free(p->xq);
    free(p->xs);
    free(p);
}

size_t cpu_pack_bytes(const cpu_pack *p)
{
    return (size_t)p->Np * p->Kp * elem_size(p->kind) +
           (p->kind == CPU_PACK_I8 ? (size_t)p->Np * 8 : 0);
}

int cpu_pack_rows(const cpu_pack *p) { return p->N; }

int cpu_pack_set_simd(cpu_pack *p, int on)
{
    p->simd = on && pack_cpu_has(p->kind);
    return p->simd;
}

/* Quantises one padded input row x to unsigned bytes (offset 128) in
 * dst; returns its scale. */
static float quantise_input(const cpu_pack *p, uint8_t *dst, const float *x)
{
    float t = quantise_row((int8_t *)dst, x, p->Kp, max_abs(x, p->Kp, 0.0f));
    for (int k = 0; k < p->Kp; k++)
        dst[k] = (uint8_t)((int8_t)dst[k] + 128);
    return t;
}

#ifdef CPU_PACK_X86
/* quantise_input with AVX-512: the same rounding (to nearest even, as
 * lrintf in the default mode), so both paths quantise identically. */
PACK_SIMD static float quantise_input_simd(const cpu_pack *p, uint8_t *dst, const float *x)
{
    __m512 mx = _mm512_setzero_ps();
    __mmask16 nan = 0;
    for (int k = 0; k < p->Kp; k += 16) {
        __m512 v = _mm512_load_ps(x + k);
        nan |= _mm512_cmp_ps_mask(v, v, _CMP_UNORD_Q);
        mx = _mm512_max_ps(mx, _mm512_abs_ps(v));
    }
    float amax = nan ? NAN : _mm512_reduce_max_ps(mx);
    if (!(amax > 0.0f) || !isfinite(amax)) {
        memset(dst, 128, (size_t)p->Kp);
        return amax == 0.0f ? 0.0f : NAN;
    }
    __m512 inv = _mm512_set1_ps(127.0f / amax);
    __m512i lo = _mm512_set1_epi32(-127), hi = _mm512_set1_epi32(127);
    __m512i off = _mm512_set1_epi32(128);
    for (int k = 0; k < p->Kp; k += 16) {
        __m512i q = _mm512_cvtps_epi32(_mm512_mul_ps(_mm512_load_ps(x + k), inv));
        q = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(q, lo), hi), off);
        _mm_store_si128((__m128i *)(dst + k), _mm512_cvtepi32_epi8(q));
    }
    return amax / 127.0f;
}
#endif

void cpu_pack_load(cpu_pack *p, int M, const float *x1, int ld1, const float *x2, int ld2)
{
    /* more rows than the scratch holds is a caller's bug, not bad input */
    assert(M >= 1 && M <= p->max_rows);
    p->M = M;
    for (int m = 0; m < M; m++) {
        float *x = p->xf + (size_t)m * p->Kp;
        gather_row(p, x, x1 + (size_t)m * ld1, p->K2 ? x2 + (size_t)m * ld2 : NULL);
        if (p->kind != CPU_PACK_I8)
            continue;
        uint8_t *d = p->xq + (size_t)m * p->Kp;
#ifdef CPU_PACK_X86
        if (p->simd) {
            p->xs[m] = quantise_input_simd(p, d, x);
            continue;
        }
#endif
        p->xs[m] = quantise_input(p, d, x);
    }
}

/* ---- plain C: any CPU; also the reference the SIMD paths are tested against */

static void rows_plain(const cpu_pack *p, float *y, int ldy, int r0, int r1)
{
    for (int r = r0; r < r1 && r < p->N; r++) {
        size_t at = (size_t)r * p->Kp;
        for (int m = 0; m < p->M; m++) {
            float *out = y + (size_t)m * ldy + r;
            if (p->kind == CPU_PACK_I8) {
                const int8_t *w = (const int8_t *)p->w + at;
                const uint8_t *x = p->xq + (size_t)m * p->Kp;
                int32_t acc = 0;
                for (int k = 0; k < p->Kp; k++)
                    acc += (int32_t)x[k] * w[k];
                *out += p->scale[r] * p->xs[m] * (float)(acc - p->offset[r]);
                continue;
            }
            const float *x = p->xf + (size_t)m * p->Kp;
            float acc = 0.0f;
            if (p->kind == CPU_PACK_F32) {
                const float *w = (const float *)p->w + at;
                for (int k = 0; k < p->Kp; k++)
                    acc += x[k] * w[k];
            } else {
                const uint16_t *w = (const uint16_t *)p->w + at;
                for (int k = 0; k < p->Kp; k++)
                    acc += x[k] * cpu_half_to_float(w[k]);
            }
            *out += acc;
        }
    }
}

#ifdef CPU_PACK_X86
/* Sums each of 8 vectors across its lanes: lane i of the result is the sum
 * of the 16 lanes of a[i]. */
static inline PACK_SIMD __attribute__((always_inline)) __m256 hsum8_ps(const __m512 *a)
{
    __m256 b[8];
    #pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_add_ps(_mm512_castps512_ps256(a[i]),
                             _mm256_castpd_ps(_mm512_extractf64x4_pd(_mm512_castps_pd(a[i]), 1)));
    __m256 q0 = _mm256_hadd_ps(_mm256_hadd_ps(b[0], b[1]), _mm256_hadd_ps(b[2], b[3]));
    __m256 q1 = _mm256_hadd_ps(_mm256_hadd_ps(b[4], b[5]), _mm256_hadd_ps(b[6], b[7]));
    return _mm256_add_ps(_mm256_permute2f128_ps(q0, q1, 0x20),
                         _mm256_permute2f128_ps(q0, q1, 0x31));
}

static inline PACK_SIMD __attribute__((always_inline)) __m256i hsum8_epi32(const __m512i *a)
{
    __m256i b[8];
    #pragma GCC unroll 8
    for (int i = 0; i < 8; i++)
        b[i] = _mm256_add_epi32(_mm512_castsi512_si256(a[i]), _mm512_extracti64x4_epi64(a[i], 1));
    __m256i q0 = _mm256_hadd_epi32(_mm256_hadd_epi32(b[0], b[1]), _mm256_hadd_epi32(b[2], b[3]));
    __m256i q1 = _mm256_hadd_epi32(_mm256_hadd_epi32(b[4], b[5]), _mm256_hadd_epi32(b[6], b[7]));
    return _mm256_add_epi32(_mm256_permute2x128_si256(q0, q1, 0x20),
                            _mm256_permute2x128_si256(q0, q1, 0x31));
}

/* Adds the 8 sums to y[r .. r+8), only those below N. */
static inline PACK_SIMD __attribute__((always_inline)) void
store8(float *y, int r, int N, __m256 s)
{
    int n = N - r < 8 ? N - r : 8;
    __mmask8 k = (__mmask8)((1u << n) - 1u);
    _mm256_mask_storeu_ps(y + r, k, _mm256_add_ps(_mm256_maskz_loadu_ps(k, y + r), s));
}

/* 16 weights from element i on, widened to floats. */
static inline PACK_SIMD __attribute__((always_inline)) __m512
load16(const cpu_pack *p, size_t i, const int half)
{
    if (half)
        return _mm512_cvtph_ps(_mm256_load_si256((const __m256i *)((const uint16_t *)p->w + i)));
    return _mm512_load_ps((const float *)p->w + i);
}

/* fp32 and fp16 rows: the same loop, half a compile-time constant. */
static inline PACK_SIMD __attribute__((always_inline)) void
rows_float(const cpu_pack *p, float *y, int ldy, int r0, int r1, const int half)
{
    const int Kp = p->Kp;
    for (int r = r0; r < r1; r += 8) {
        for (int m = 0; m < p->M; m++) {
            const float *x = p->xf + (size_t)m * Kp;
            __m512 a[8];
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                a[i] = _mm512_setzero_ps();
            for (int k = 0; k < Kp; k += 16) {
                __m512 xv = _mm512_load_ps(x + k);
#pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    a[i] = _mm512_fmadd_ps(load16(p, (size_t)(r + i) * Kp + k, half), xv, a[i]);
            }
            store8(y + (size_t)m * ldy, r, p->N, hsum8_ps(a));
        }
    }
}

PACK_SIMD static void rows_f32(const cpu_pack *p, float *y, int ldy, int r0, int r1)
{
    rows_float(p, y, ldy, r0, r1, 0);
}

PACK_SIMD static void rows_f16(const cpu_pack *p, float *y, int ldy, int r0, int r1)
{
    rows_float(p, y, ldy, r0, r1, 1);
}

PACK_SIMD static void rows_i8(const cpu_pack *p, float *y, int ldy, int r0, int r1)
{
    const int Kp = p->Kp;
    for (int r = r0; r < r1; r += 8) {
        const int8_t *w = (const int8_t *)p->w + (size_t)r * Kp;
        __m256 sc = _mm256_loadu_ps(p->scale + r);
        __m256i off = _mm256_loadu_si256((const __m256i *)(p->offset + r));
        for (int m = 0; m < p->M; m++) {
            const uint8_t *x = p->xq + (size_t)m * Kp;
            __m512i a[8];
            #pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                a[i] = _mm512_setzero_si512();
            for (int k = 0; k < Kp; k += 64) {
                __m512i xv = _mm512_load_si512((const void *)(x + k));
                #pragma GCC unroll 8
                for (int i = 0; i < 8; i++)
                    a[i] = _mm512_dpbusd_epi32(a[i], xv,
                                               _mm512_load_si512((const void *)(w + (size_t)i * Kp + k)));
            }
            __m256 d = _mm256_cvtepi32_ps(_mm256_sub_epi32(hsum8_epi32(a), off));
            __m256 s = _mm256_mul_ps(_mm256_mul_ps(sc, _mm256_set1_ps(p->xs[m])), d);
            store8(y + (size_t)m * ldy, r, p->N, s);
        }
    }
}
#endif

void cpu_pack_gemm_rows(const cpu_pack *p, float *y, int ldy, int r0, int r1)
{
    if (r1 > p->Np)
        r1 = p->Np;
    if (r0 >= r1)
        return;
#ifdef CPU_PACK_X86
    if (p->simd) {
        if (p->kind == CPU_PACK_F32)
            rows_f32(p, y, ldy, r0, r1);
        else if (p->kind == CPU_PACK_F16)
            rows_f16(p, y, ldy, r0, r1);
        else
            rows_i8(p, y, ldy, r0, r1);
        return;
    }
#endif
    rows_plain(p, y, ldy, r0, r1);
}
