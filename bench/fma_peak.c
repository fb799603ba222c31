/* fma_peak.c - the AVX-512 single-precision FMA peak of this machine, for
 * 1 thread and for N threads running at once.
 *
 * Usage: fma_peak [THREADS] [REPS]
 *
 * Each thread runs a loop of fused multiply-adds on 16 independent zmm
 * accumulators (more than the FMA latency times the number of FMA ports,
 * so the loop is bound by throughput, not by the dependency chains), with
 * no loads or stores inside it.  A repetition lasts about 100 ms; each
 * figure is the best of REPS (default 5).  The N-thread figure is the total
 * FLOPs of all threads over the wall time of the slowest, the threads
 * released together by a barrier.  Prints one JSON object on stdout:
 *   {"threads":N,"gflops_1":..,"gflops_n":..,"isa":"avx512f"}
 * One FMA on 16 lanes counts 32 FLOPs.  Exits 2 with a message when the
 * CPU lacks AVX-512F.  This is the ceiling the matrix products of
 * bench/train.sh are held against: no product can beat it.
 *
 * Build: cc -O2 -pthread bench/fma_peak.c -o bench/fma_peak
 */
#define _POSIX_C_SOURCE 200809L
#include <immintrin.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define FP_ACC 16
#define FP_MAX_THREADS 256

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* iters x FP_ACC FMAs on 16 lanes; returns a value that depends on every
 * accumulator so the compiler keeps the loop. */
__attribute__((target("avx512f"), noinline)) static float fma_loop(long iters, float seed)
{
    __m512 acc[FP_ACC];
    __m512 a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(seed * 1e-7f);
#pragma GCC unroll 16
    for (int i = 0; i < FP_ACC; i++)
        acc[i] = _mm512_set1_ps(seed + (float)i);
    for (long n = 0; n < iters; n++) {
#pragma GCC unroll 16
        for (int i = 0; i < FP_ACC; i++)
            acc[i] = _mm512_fmadd_ps(acc[i], a, b);
        /* keeps the accumulators in registers without a store per pass */
        __asm__ volatile("" : "+v"(acc[0]), "+v"(acc[1]), "+v"(acc[2]), "+v"(acc[3]),
                         "+v"(acc[4]), "+v"(acc[5]), "+v"(acc[6]), "+v"(acc[7]));
        __asm__ volatile("" : "+v"(acc[8]), "+v"(acc[9]), "+v"(acc[10]), "+v"(acc[11]),
                         "+v"(acc[12]), "+v"(acc[13]), "+v"(acc[14]), "+v"(acc[15]));
    }
    __m512 s = acc[0];
#pragma GCC unroll 16
    for (int i = 1; i < FP_ACC; i++)
        s = _mm512_add_ps(s, acc[i]);
    return _mm512_reduce_add_ps(s);
}

typedef struct fp_thread {
    pthread_t tid;
    pthread_barrier_t *start;
    long iters;
    double seconds;
    float sink;
} fp_thread;

static void *fp_run(void *arg)
{
    fp_thread *t = arg;
    pthread_barrier_wait(t->start);
    double t0 = now_s();
    t->sink = fma_loop(t->iters, 1.0f);
    t->seconds = now_s() - t0;
    return NULL;
}

/* GFLOP/s of n threads each running iters passes at once. */
static double fp_measure(int n, long iters)
{
    fp_thread th[FP_MAX_THREADS];
    pthread_barrier_t start;
    pthread_barrier_init(&start, NULL, (unsigned)n);
    for (int i = 0; i < n; i++) {
        th[i] = (fp_thread){ .start = &start, .iters = iters };
        if (i > 0 && pthread_create(&th[i].tid, NULL, fp_run, &th[i]) != 0) {
            fprintf(stderr, "fma_peak: cannot start thread %d\n", i);
            exit(1);
        }
    }
    fp_run(&th[0]);
    double slowest = th[0].seconds;
    for (int i = 1; i < n; i++) {
        pthread_join(th[i].tid, NULL);
        if (th[i].seconds > slowest)
            slowest = th[i].seconds;
    }
    pthread_barrier_destroy(&start);
    double flops = (double)n * (double)iters * FP_ACC * 32.0;
    return slowest > 0 ? flops / slowest / 1e9 : 0.0;
}

/* Best of reps, passes per thread calibrated to about 100 ms. */
static double fp_best(int n, int reps)
{
    long iters = 1 << 20;
    double t0 = now_s();
    fma_loop(iters, 2.0f);
    double one = now_s() - t0;
    if (one > 0)
        iters = (long)((double)iters * 0.1 / one) + 1;
    double best = 0.0;
    for (int r = 0; r < reps; r++) {
        double g = fp_measure(n, iters);
        if (g > best)
            best = g;
    }
    return best;
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 1;
    int reps = argc > 2 ? atoi(argv[2]) : 5;
    if (threads < 1 || threads > FP_MAX_THREADS || reps < 1) {
        fprintf(stderr, "usage: fma_peak [THREADS 1..%d] [REPS >= 1]\n", FP_MAX_THREADS);
        return 1;
    }
    if (!__builtin_cpu_supports("avx512f")) {
        fprintf(stderr, "fma_peak: this CPU lacks AVX-512F\n");
        return 2;
    }
    double g1 = fp_best(1, reps);
    double gn = threads > 1 ? fp_best(threads, reps) : g1;
    printf("{\"threads\":%d,\"gflops_1\":%.1f,\"gflops_n\":%.1f,\"isa\":\"avx512f\"}\n",
           threads, g1, gn);
    return 0;
}
