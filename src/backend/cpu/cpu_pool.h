/* cpu_pool.h - a small team of worker threads for the CPU backend.  The
 * backend splits each large operation (a GEMM, a batch of cell steps, an
 * optimizer update) into one part per thread and runs the parts at once;
 * OpenBLAS itself runs single-threaded inside each part.  Splitting is by
 * fixed ranges, so results depend only on the thread count, never on
 * timing.  Workers spin briefly between jobs (a training step issues
 * hundreds of small jobs per second) and then sleep. */
#ifndef CPU_POOL_H
#define CPU_POOL_H

typedef struct cpu_pool cpu_pool;

/* Runs part `part` of `parts` of a job. */
typedef void (*cpu_pool_fn)(void *ctx, int part, int parts);

/* Creates a pool of n threads in all (the caller counts as one, so n - 1
 * workers are started); n is clamped to 1..64.  Returns NULL when threads
 * or memory cannot be had. */
cpu_pool *cpu_pool_create(int n);
/* Stops and joins the workers. */
void cpu_pool_free(cpu_pool *p);
/* Threads in the pool, the caller included. */
int cpu_pool_size(const cpu_pool *p);

/* Runs fn(ctx, k, parts) for k = 0..parts-1, parts = min(size, max_parts),
 * part 0 on the caller; returns when all parts are done.  Must not be
 * called from inside a job or from two threads at once. */
void cpu_pool_run(cpu_pool *p, cpu_pool_fn fn, void *ctx, int max_parts);

#endif
