/* gemm_shapes.c - rnnlab's AVX-512 sgemm (src/backend/cpu/cpu_gemm512.c)
 * against OpenBLAS's cblas_sgemm on the large products of a training step
 * of the benchmark model (LSTM 2x512, embedding 64, T=100, B=32, vocab 65),
 * and its per-step recurrent products (32 rows, op(B) packed once a chunk).
 *
 * Usage: gemm_shapes [THREADS] [REPS]
 *
 * Both run the way the CPU backend runs them: C split into THREADS blocks
 * (columns when N >= M, else rows, as cpu_gemm does), each block one
 * single-threaded call on its own thread, threads released together.  Each
 * figure is the best of REPS (default 5) repetitions of about 50 ms, by
 * wall time and (the _cpu figures) by the busiest thread's CPU time times
 * THREADS, which a shared machine distorts less.  Prints a table on
 * stderr and one JSON object on stdout:
 *   {"threads":N,"shapes":[{"name","op","M","N","K","gflops_openblas",
 *    "gflops_gemm512","gflops_openblas_cpu","gflops_gemm512_cpu",
 *    "max_rel_diff"},...]}
 * max_rel_diff compares the two results (a sanity check: the Check suite
 * holds the kernel against a double-precision reference).
 *
 * Build (from the repository root):
 *   cc -O2 -std=c11 -pthread -Isrc bench/gemm_shapes.c \
 *      src/backend/cpu/cpu_gemm512.c $(pkg-config --cflags --libs openblas) -lm \
 *      -o bench/gemm_shapes
 */
#define _POSIX_C_SOURCE 200809L
#include <cblas.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "backend/cpu/cpu_gemm512.h"

void openblas_set_num_threads(int num_threads);

#define GS_MAX_THREADS 64

typedef struct gs_shape {
    const char *name;
    int ta, tb, M, N, K;
    int prep;          /* op(B) packed once beforehand (cpu_gemm512_pack), as
                        * the trainer does for a chunk's recurrent products */
} gs_shape;

/* The products of one training step of the benchmark model (R = T*B = 3200
 * rows, 4H = 2048 gates, E = 64, H = 512, V = 65). */
static const gs_shape gs_shapes[] = {
    { .name = "projection layer 0", .ta = 0, .tb = 1, .M = 3200, .N = 2048, .K = 64 },
    { .name = "projection layer 1", .ta = 0, .tb = 1, .M = 3200, .N = 2048, .K = 512 },
    { .name = "dW_ih layer 0", .ta = 1, .tb = 0, .M = 2048, .N = 64, .K = 3200 },
    { .name = "dW_ih/dW_hh 512", .ta = 1, .tb = 0, .M = 2048, .N = 512, .K = 3200 },
    { .name = "dX layer 0", .ta = 0, .tb = 0, .M = 3200, .N = 64, .K = 2048 },
    { .name = "dX layer 1", .ta = 0, .tb = 0, .M = 3200, .N = 512, .K = 2048 },
    { .name = "decoder", .ta = 0, .tb = 1, .M = 3200, .N = 65, .K = 512 },
    { .name = "decoder dW", .ta = 1, .tb = 0, .M = 65, .N = 512, .K = 3200 },
    { .name = "decoder dH", .ta = 0, .tb = 0, .M = 3200, .N = 512, .K = 65 },
    { .name = "recurrent fwd", .ta = 0, .tb = 1, .M = 32, .N = 2048, .K = 512, .prep = 1 },
    { .name = "recurrent bwd", .ta = 0, .tb = 0, .M = 32, .N = 512, .K = 2048, .prep = 1 },
    { .name = "rec bwd, B in place", .ta = 0, .tb = 0, .M = 32, .N = 512, .K = 2048 },
};

typedef struct gs_job {
    const gs_shape *s;
    const float *A, *B;
    const float *P;              /* op(B) packed, for shapes with prep */
    float *C;
    int use512, part, parts, calls;
    float *work;                 /* cpu_gemm512's packing space, this thread's */
    double cpu;                  /* this thread's CPU seconds */
    pthread_t tid;
    pthread_barrier_t *start;
} gs_job;

static double clock_s(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* n values in [-0.5, 0.5) from a multiplicative hash of the index: no
 * denormals, no overflow, different per seed. */
static float *gs_filled(size_t n, unsigned seed)
{
    float *p = malloc(n * sizeof *p);
    if (!p) {
        fprintf(stderr, "gemm_shapes: out of memory\n");
        exit(1);
    }
    for (size_t i = 0; i < n; i++) {
        unsigned h = ((unsigned)i + seed * 40503u) * 2654435761u;
        p[i] = (float)(h >> 9) * (1.0f / 8388608.0f) - 0.5f;
    }
    return p;
}

/* This part's block of C, split as cpu_gemm splits it, and the product. */
static void gs_block(const gs_job *j)
{
    const gs_shape *s = j->s;
    int lda = s->ta ? s->M : s->K, ldb = s->tb ? s->K : s->N, ldc = s->N;
    int split_n = s->N >= s->M, n = split_n ? s->N : s->M, align = split_n ? 64 : 16;
    int chunk = (n + j->parts - 1) / j->parts;
    chunk = (chunk + align - 1) / align * align;
    int i0 = j->part * chunk < n ? j->part * chunk : n;
    int i1 = i0 + chunk < n ? i0 + chunk : n;
    if (i0 >= i1)
        return;
    int M = split_n ? s->M : i1 - i0, N = split_n ? i1 - i0 : s->N;
    const float *A = split_n ? j->A : s->ta ? j->A + i0 : j->A + (size_t)i0 * lda;
    const float *B = !split_n ? j->B : s->tb ? j->B + (size_t)i0 * ldb : j->B + i0;
    float *C = split_n ? j->C + i0 : j->C + (size_t)i0 * ldc;
    if (j->use512 && j->P && split_n &&
        cpu_gemm512_packed(M, N, s->K, 1.0f, A, lda, j->P + (size_t)i0 * s->K, 0.0f, C,
                           ldc, j->work) == 0)
        return;
    if (j->use512 && cpu_gemm512(s->ta, s->tb, M, N, s->K, 1.0f, A, lda, B, ldb, 0.0f,
                                 C, ldc, j->work) == 0)
        return;
    cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                s->tb ? CblasTrans : CblasNoTrans, M, N, s->K, 1.0f, A, lda, B, ldb,
                0.0f, C, ldc);
}

static void *gs_thread(void *arg)
{
    gs_job *j = arg;
    pthread_barrier_wait(j->start);
    double t0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    for (int c = 0; c < j->calls; c++)
        gs_block(j);
    j->cpu = clock_s(CLOCK_THREAD_CPUTIME_ID) - t0;
    return NULL;
}

/* Wall seconds for `calls` products on `parts` threads; *cpu gets the
 * busiest thread's CPU seconds. */
static double gs_time(const gs_shape *s, const float *A, const float *B, float *C,
                      int use512, int parts, int calls, double *cpu)
{
    gs_job jobs[GS_MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)parts);
    size_t wbytes = (cpu_gemm512_work_floats() * sizeof(float) + 63) & ~(size_t)63;
    size_t pbytes = (cpu_gemm512_packed_floats(s->N, s->K) * sizeof(float) + 63) & ~(size_t)63;
    float *P = use512 && s->prep && pbytes ? aligned_alloc(64, pbytes) : NULL;
    if (P && cpu_gemm512_pack(s->tb, s->K, B, s->tb ? s->K : s->N, 0, s->N, P) != 0) {
        free(P);
        P = NULL;
    }
    for (int p = 0; p < parts; p++)
        jobs[p] = (gs_job){ .s = s, .A = A, .B = B, .C = C, .use512 = use512, .P = P, .part = p,
                            .parts = parts, .calls = calls, .start = &start,
                            .work = wbytes ? aligned_alloc(64, wbytes) : NULL };
    for (int p = 1; p < parts; p++)
        pthread_create(&jobs[p].tid, NULL, gs_thread, &jobs[p]);
    double t0 = clock_s(CLOCK_MONOTONIC);
    gs_thread(&jobs[0]);
    *cpu = jobs[0].cpu;
    for (int p = 1; p < parts; p++) {
        pthread_join(jobs[p].tid, NULL);
        if (jobs[p].cpu > *cpu)
            *cpu = jobs[p].cpu;
    }
    double t = clock_s(CLOCK_MONOTONIC) - t0;
    for (int p = 0; p < parts; p++)
        free(jobs[p].work);
    free(P);
    pthread_barrier_destroy(&start);
    return t;
}

/* Best GFLOP/s over reps, by wall time; *by_cpu gets the best by the
 * busiest thread's CPU time (what the threads would reach with the cores
 * to themselves: on a shared machine it moves less than the wall rate). */
static double gs_best(const gs_shape *s, const float *A, const float *B, float *C,
                      int use512, int parts, int reps, double *by_cpu)
{
    double flops = 2.0 * s->M * s->N * s->K, cpu;
    double one = gs_time(s, A, B, C, use512, parts, 1, &cpu);
    int calls = one > 0 && one < 0.05 ? (int)(0.05 / one) + 1 : 1;
    double best = 0.0;
    *by_cpu = 0.0;
    for (int r = 0; r < reps; r++) {
        double g = flops * calls / gs_time(s, A, B, C, use512, parts, calls, &cpu) / 1e9;
        double gc = cpu > 0 ? flops * calls / cpu / 1e9 : 0.0;
        best = g > best ? g : best;
        *by_cpu = gc > *by_cpu ? gc : *by_cpu;
    }
    return best;
}

static double gs_rel_diff(const float *x, const float *y, size_t n)
{
    double num = 0.0, den = 0.0;
    for (size_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)x[i] - y[i]));
        den = fmax(den, fabs((double)y[i]));
    }
    return den > 0 ? num / den : num;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || threads > GS_MAX_THREADS || reps < 1) {
        fprintf(stderr, "usage: gemm_shapes [THREADS 1..%d] [REPS >= 1]\n", GS_MAX_THREADS);
        return 1;
    }
    openblas_set_num_threads(1);
    int n = (int)(sizeof gs_shapes / sizeof gs_shapes[0]);
    fprintf(stderr, "GFLOP/s by wall time (by the busiest thread's CPU time)\n");
    fprintf(stderr, "%-20s %2s %5s %5s %5s %17s %17s %6s %9s\n", "shape", "op", "M", "N",
            "K", "OpenBLAS", "gemm512", "ratio", "rel diff");
    printf("{\"threads\":%d,\"shapes\":[", threads);
    for (int i = 0; i < n; i++) {
        const gs_shape *s = &gs_shapes[i];
        float *A = gs_filled((size_t)s->M * s->K, 1), *B = gs_filled((size_t)s->K * s->N, 2);
        float *C1 = gs_filled((size_t)s->M * s->N, 3), *C2 = gs_filled((size_t)s->M * s->N, 3);
        double cb, c5;
        double gb = gs_best(s, A, B, C1, 0, threads, reps, &cb);
        double g5 = gs_best(s, A, B, C2, 1, threads, reps, &c5);
        double d = gs_rel_diff(C2, C1, (size_t)s->M * s->N);
        const char *op = s->ta ? "TN" : s->tb ? "NT" : "NN";
        fprintf(stderr, "%-20s %2s %5d %5d %5d %7.1f (%7.1f) %7.1f (%7.1f) %6.2f %9.2e\n",
                s->name, op, s->M, s->N, s->K, gb, cb * threads, g5, c5 * threads, g5 / gb, d);
        printf("%s{\"name\":\"%s\",\"op\":\"%s\",\"M\":%d,\"N\":%d,\"K\":%d,"
               "\"gflops_openblas\":%.1f,\"gflops_gemm512\":%.1f,"
               "\"gflops_openblas_cpu\":%.1f,\"gflops_gemm512_cpu\":%.1f,"
               "\"max_rel_diff\":%.2e}",
               i ? "," : "", s->name, op, s->M, s->N, s->K, gb, g5, cb * threads,
               c5 * threads, d);
        free(A); free(B); free(C1); free(C2);
    }
    printf("]}\n");
    return 0;
}
