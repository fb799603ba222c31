/* sgemm_peak.c - OpenBLAS single-precision GEMM throughput on this machine.
 *
 * Usage: sgemm_peak [THREADS] [REPS]
 *
 * Times cblas_sgemm (row-major, C = A*B, beta 0) for three shapes, written
 * M x N x K with C[M,N] = A[M,K] * B[K,N]:
 *   square     2048 x 2048 x 2048
 *   projection 3200 x 2048 x 576   (T*B rows x 4H gates x E+H inputs of the
 *                                   LSTM 2x512 benchmark model, T=100 B=32)
 *   recurrent    32 x 2048 x 512   (one time step: B rows x 4H x H)
 * Each figure is the best of REPS repetitions (default 5); a repetition of a
 * small shape runs enough calls back to back to last about 50 ms.  Prints one
 * JSON object on stdout:
 *   {"threads":N,"gflops_square":..,"gflops_projection":..,
 *    "gflops_recurrent":..,"core":"..."}
 * GFLOP/s counts 2*M*N*K floating-point operations per call.  "core" is the
 * kernel set OpenBLAS chose (openblas_get_corename); a DYNAMIC_ARCH build
 * takes it from OPENBLAS_CORETYPE when that is set, and the choice (AVX2
 * Haswell kernels or AVX-512 SkylakeX/Cooperlake ones) can change the
 * figures by 2x.
 *
 * Build: cc -O2 bench/sgemm_peak.c $(pkg-config --cflags --libs openblas) \
 *            -o bench/sgemm_peak
 */
#define _POSIX_C_SOURCE 199309L
#include <cblas.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* OpenBLAS extensions; declared by its cblas.h, repeated here so the file
 * also compiles against headers that leave them out. */
void openblas_set_num_threads(int num_threads);
char *openblas_get_corename(void);

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static float *alloc_filled(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "sgemm_peak: out of memory\n");
        exit(1);
    }
    /* small deterministic values in [-0.5, 0.5): no denormals, no overflow */
    unsigned s = seed * 2654435761u + 1u;
    for (size_t i = 0; i < n; i++) {
        s = s * 1664525u + 1013904223u;
        p[i] = (float)(s >> 8) / 16777216.0f - 0.5f;
    }
    return p;
}

/* Best GFLOP/s of reps repetitions of C[M,N] = A[M,K] B[K,N]. */
static double time_shape(int M, int N, int K, int reps)
{
    float *A = alloc_filled((size_t)M * K, 1);
    float *B = alloc_filled((size_t)K * N, 2);
    float *C = alloc_filled((size_t)M * N, 3);
    double flops = 2.0 * M * N * K;

    /* warm-up, and a calibration of calls per repetition (~50 ms) */
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K,
                B, N, 0.0f, C, N);
    double t0 = now_s();
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, 1.0f, A, K,
                B, N, 0.0f, C, N);
    double one = now_s() - t0;
    int calls = 1;
    if (one > 0 && one < 0.05) calls = (int)(0.05 / one) + 1;

    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        t0 = now_s();
        for (int c = 0; c < calls; c++)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K,
                        1.0f, A, K, B, N, 0.0f, C, N);
        double dt = now_s() - t0;
        double g = flops * calls / dt / 1e9;
        if (g > best) best = g;
    }
    /* keep the result observable */
    volatile float sink = C[(size_t)M * N / 2];
    (void)sink;
    free(A);
    free(B);
    free(C);
    return best;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || reps < 1) {
        fprintf(stderr, "usage: %s [THREADS>=1] [REPS>=1]\n", argv[0]);
        return 2;
    }
    openblas_set_num_threads(threads);

    double sq = time_shape(2048, 2048, 2048, reps);
    double proj = time_shape(3200, 2048, 576, reps);
    double rec = time_shape(32, 2048, 512, reps);

    const char *core = openblas_get_corename();
    printf("{\"threads\":%d,\"gflops_square\":%.2f,\"gflops_projection\":%.2f,"
           "\"gflops_recurrent\":%.2f,\"core\":\"%s\"}\n",
           threads, sq, proj, rec, core ? core : "unknown");
    return 0;
}
