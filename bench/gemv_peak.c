/* gemv_peak.c - how fast this machine streams a weight matrix through a
 * matrix-vector product, the bound of one generation stream.
 *
 * A [ROWS, 512] matrix (13.6 MB in 32 bits, about the size of the
 * benchmark model's weights) times one vector, over and over, split by
 * rows across T threads that meet at a barrier after each pass (as a
 * generation step's threads do).  Kernels: fp32 FMA, fp16 widened with
 * vcvtph2ps, int8 with VNNI (u8 x s8), eight rows at a time.  Needs
 * AVX-512 (with VNNI for int8).
 *
 * Build and run:
 *   cc -O2 -pthread bench/gemv_peak.c -o bench/gemv_peak && bench/gemv_peak 2
 * Prints one JSON object per kind: threads, kind, bytes, us_per_pass, gb_per_s. */
#include <immintrin.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ROWS 6656
#define COLS 512
#define PASSES 3000
#define WARMUP 200
#define SIMD __attribute__((target("avx512f,avx512bw,avx512vnni,f16c,fma")))

typedef struct job {
    int kind, r0, r1;
    const void *w;
    const void *x;
    void *y;
    pthread_barrier_t *bar;
} job;

SIMD static void pass_f32(const float *w, const float *x, float *y, int r0, int r1)
{
    for (int r = r0; r < r1; r += 8) {
        __m512 a[8];
        for (int i = 0; i < 8; i++)
            a[i] = _mm512_setzero_ps();
        for (int k = 0; k < COLS; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                a[i] = _mm512_fmadd_ps(_mm512_loadu_ps(w + (size_t)(r + i) * COLS + k), xv, a[i]);
        }
        for (int i = 0; i < 8; i++)
            y[r + i] = _mm512_reduce_add_ps(a[i]);
    }
}

SIMD static void pass_f16(const uint16_t *w, const float *x, float *y, int r0, int r1)
{
    for (int r = r0; r < r1; r += 8) {
        __m512 a[8];
        for (int i = 0; i < 8; i++)
            a[i] = _mm512_setzero_ps();
        for (int k = 0; k < COLS; k += 16) {
            __m512 xv = _mm512_loadu_ps(x + k);
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++) {
                __m256i h = _mm256_loadu_si256((const __m256i *)(w + (size_t)(r + i) * COLS + k));
                a[i] = _mm512_fmadd_ps(_mm512_cvtph_ps(h), xv, a[i]);
            }
        }
        for (int i = 0; i < 8; i++)
            y[r + i] = _mm512_reduce_add_ps(a[i]);
    }
}

SIMD static void pass_i8(const int8_t *w, const uint8_t *x, int32_t *y, int r0, int r1)
{
    for (int r = r0; r < r1; r += 8) {
        __m512i a[8];
        for (int i = 0; i < 8; i++)
            a[i] = _mm512_setzero_si512();
        for (int k = 0; k < COLS; k += 64) {
            __m512i xv = _mm512_loadu_si512((const void *)(x + k));
#pragma GCC unroll 8
            for (int i = 0; i < 8; i++)
                a[i] = _mm512_dpbusd_epi32(a[i], xv,
                                           _mm512_loadu_si512((const void *)(w + (size_t)(r + i) * COLS + k)));
        }
        for (int i = 0; i < 8; i++)
            y[r + i] = _mm512_reduce_add_epi32(a[i]);
    }
}

static double now(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec + 1e-9 * (double)t.tv_nsec;
}

static void *run(void *arg)
{
    job *j = arg;
    for (int p = 0; p < PASSES + WARMUP; p++) {
        if (j->kind == 0)
            pass_f32(j->w, j->x, j->y, j->r0, j->r1);
        else if (j->kind == 1)
            pass_f16(j->w, j->x, j->y, j->r0, j->r1);
        else
            pass_i8(j->w, j->x, j->y, j->r0, j->r1);
        pthread_barrier_wait(j->bar);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    int T = argc > 1 ? atoi(argv[1]) : 1;
    if (T < 1 || T > 64) {
        fprintf(stderr, "gemv_peak: threads must be 1 to 64\n");
        return 2;
    }
    if (!__builtin_cpu_supports("avx512f") || !__builtin_cpu_supports("avx512vnni")) {
        fprintf(stderr, "gemv_peak: this CPU lacks AVX-512 with VNNI\n");
        return 1;
    }
    static const char *names[] = {"fp32", "fp16", "int8"};
    static const size_t esize[] = {4, 2, 1};
    void *w = aligned_alloc(64, (size_t)ROWS * COLS * 4);
    float *xf = aligned_alloc(64, COLS * 4), *y = aligned_alloc(64, ROWS * 4);
    if (!w || !xf || !y) {
        fprintf(stderr, "gemv_peak: out of memory\n");
        return 1;
    }
    for (int k = 0; k < COLS; k++)
        xf[k] = 0.01f * (float)(k % 7);
    for (int kind = 0; kind < 3; kind++) {
        /* small values in every format: the speed does not depend on them */
        memset(w, kind == 0 ? 0x3c : kind == 1 ? 0x1c : 0x05, (size_t)ROWS * COLS * esize[kind]);
        pthread_barrier_t bar;
        pthread_barrier_init(&bar, NULL, (unsigned)T);
        job jobs[64];
        pthread_t th[64];
        int per = (ROWS / T + 7) / 8 * 8;
        for (int t = 0; t < T; t++) {
            int r0 = t * per, r1 = t == T - 1 ? ROWS : (t + 1) * per;
            jobs[t] = (job){kind, r0 < ROWS ? r0 : ROWS, r1 < ROWS ? r1 : ROWS, w,
                            kind == 2 ? (const void *)w : (const void *)xf, y, &bar};
        }
        double t0 = 0.0;
        for (int t = 1; t < T; t++)
            pthread_create(&th[t], NULL, run, &jobs[t]);
        /* the caller is thread 0; it times the passes after the warm-up */
        for (int p = 0; p < PASSES + WARMUP; p++) {
            if (p == WARMUP)
                t0 = now();
            if (kind == 0)
                pass_f32(w, xf, y, jobs[0].r0, jobs[0].r1);
            else if (kind == 1)
                pass_f16(w, xf, y, jobs[0].r0, jobs[0].r1);
            else
                pass_i8(w, (const uint8_t *)w, (int32_t *)y, jobs[0].r0, jobs[0].r1);
            pthread_barrier_wait(&bar);
        }
        double dt = (now() - t0) / PASSES;
        for (int t = 1; t < T; t++)
            pthread_join(th[t], NULL);
        pthread_barrier_destroy(&bar);
        double bytes = (double)ROWS * COLS * (double)esize[kind];
        printf("{\"threads\": %d, \"kind\": \"%s\", \"bytes\": %.0f, \"us_per_pass\": %.1f, "
               "\"gb_per_s\": %.1f}\n", T, names[kind], bytes, dt * 1e6, bytes / dt / 1e9);
    }
    free(w);
    free(xf);
    free(y);
    return 0;
}
