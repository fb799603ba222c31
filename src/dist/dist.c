/* dist.c - dist.h's side common to both builds: the launcher's
 * environment, the rank and size, a run of one answered without MPI, and
 * the agreement on a failure. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"
#include "dist/dist_int.h"

/* The run this process belongs to, set once by dist_init (a process is in
 * at most one run, and MPI itself is process-wide). */
static struct {
    int started;            /* MPI is running: dist_finalize stops it */
    int rank, size;
} run_of = {0, 0, 1};

/* The number >= lo in environment variable name, or -1. */
static int env_count(const char *name, int lo)
{
    const char *s = getenv(name);
    char *end;
    long n;
    if (!s || !*s)
        return -1;
    n = strtol(s, &end, 10);
    return *end == '\0' && n >= lo && n < 1L << 30 ? (int)n : -1;
}

int dist_launched(void)
{
    int n = env_count("OMPI_COMM_WORLD_SIZE", 1);
    n = n > 0 ? n : env_count("PMI_SIZE", 1);
    return n > 0 ? n : 0;
}

int dist_launched_rank(void)
{
    int r = env_count("OMPI_COMM_WORLD_RANK", 0);
    r = r >= 0 ? r : env_count("PMI_RANK", 0);
    return r >= 0 ? r : 0;
}

int dist_built(void)
{
    return dist_impl_built();
}

int dist_init(char *err, size_t errlen)
{
    int n = dist_launched();
    if (run_of.started || n == 0)
        return 0;
    if (dist_impl_start(n, &run_of.rank, &run_of.size, err, errlen) != 0)
        return -1;
    run_of.started = 1;
    return 0;
}

void dist_finalize(void)
{
    if (!run_of.started)
        return;
    dist_impl_stop();
    run_of.started = 0;
    run_of.rank = 0;
    run_of.size = 1;
}

int dist_rank(void)
{
    return run_of.rank;
}

int dist_size(void)
{
    return run_of.size;
}

int dist_sum_float(float *x, size_t n)
{
    return run_of.size > 1 ? dist_impl_sum(x, n, 0) : 0;
}

int dist_sum_double(double *x, size_t n)
{
    return run_of.size > 1 ? dist_impl_sum(x, n, 1) : 0;
}

/* The most sums in flight at once; one more waits for those first. */
#define FLIGHT_MAX 64

struct dist_flight {
    unsigned char *reqs;    /* FLIGHT_MAX requests of the implementation's */
    int n;                  /* started and not known to be finished */
};

dist_flight *dist_flight_new(void)
{
    dist_flight *f = calloc(1, sizeof *f);
    if (f && !(f->reqs = calloc(FLIGHT_MAX, dist_impl_req_bytes()))) {
        free(f);
        return NULL;
    }
    return f;
}

void dist_flight_free(dist_flight *f)
{
    if (!f)
        return;
    free(f->reqs);
    free(f);
}

int dist_flight_sum(dist_flight *f, float *x, size_t n)
{
    size_t piece = dist_impl_piece(), width = dist_impl_req_bytes();
    if (run_of.size < 2)
        return 0;
    for (size_t at = 0; at < n; at += piece) {
        size_t k = n - at < piece ? n - at : piece;
        if (f->n == FLIGHT_MAX && dist_flight_wait(f) != 0)
            return -1;
        if (dist_impl_isum(x + at, k, f->reqs + (size_t)f->n * width) != 0)
            return -1;
        f->n++;
    }
    return 0;
}

int dist_flight_poke(dist_flight *f)
{
    int done = 0;
    if (run_of.size < 2 || f->n == 0)
        return 0;
    if (dist_impl_test(f->reqs, f->n, &done) != 0)
        return -1;
    if (done)
        f->n = 0;
    return 0;
}

int dist_flight_wait(dist_flight *f)
{
    int n = f->n;
    if (run_of.size < 2 || n == 0)
        return 0;
    f->n = 0;
    return dist_impl_wait(f->reqs, n);
}

int dist_bcast(void *buf, size_t bytes, int root)
{
    if (root < 0 || root >= run_of.size)
        return -1;
    return run_of.size > 1 ? dist_impl_bcast(buf, bytes, root) : 0;
}

int dist_gather(const void *mine, size_t bytes, void *all, int root)
{
    if (root < 0 || root >= run_of.size)
        return -1;
    if (run_of.size > 1)
        return dist_impl_gather(mine, bytes, all, root);
    if (bytes)
        memmove(all, mine, bytes);
    return 0;
}

int dist_lowest(int yes)
{
    int v = yes ? run_of.rank : run_of.size, low = v;
    /* when MPI cannot even agree, nothing collective can go on */
    if (run_of.size > 1 && dist_impl_min(v, &low) != 0)
        dist_abort(1);
    return low < run_of.size ? low : -1;
}

int dist_agree(int failed, char *err, size_t errlen)
{
    int first = dist_lowest(failed);
    char *msg;
    if (first < 0)
        return 0;
    if (run_of.size == 1 || errlen == 0)
        return -1;
    if (dist_bcast(err, errlen, first) != 0) {
        snprintf(err, errlen, "rank %d failed", first);
        return -1;
    }
    err[errlen - 1] = '\0';
    if (first > 0 && (msg = strdup(err)) != NULL) {
        snprintf(err, errlen, "rank %d: %s", first, msg);
        free(msg);
    }
    return -1;
}

int dist_sum_agree(double *x, int n, int failed, char *err, size_t errlen)
{
    double v[DIST_SUM_MAX + 1];
    if (n < 0 || n > DIST_SUM_MAX)
        return -1;
    memcpy(v, x, (size_t)n * sizeof *v);
    v[n] = failed != 0;
    if (dist_sum_double(v, (size_t)n + 1) != 0)
        dist_abort(1);              /* as dist_lowest: nothing can go on */
    memcpy(x, v, (size_t)n * sizeof *v);
    return v[n] > 0 ? dist_agree(failed, err, errlen) : 0;
}

void dist_part(long count, int rank, int size, long *first, long *n)
{
    long base = count / size, extra = count % size;
    *n = base + (rank < extra);
    *first = rank * base + (rank < extra ? rank : extra);
}

_Noreturn void dist_abort(int status)
{
    if (run_of.started)
        dist_impl_abort(status);
    exit(status);
}
