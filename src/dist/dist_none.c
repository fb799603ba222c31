/* dist_none.c - dist_int.h without MPI: a launcher's several processes are
 * refused, one is a run of one; the collective calls are never reached. */
#include <stdio.h>
#include <stdlib.h>

#include "dist/dist_int.h"

int dist_impl_start(int launched, int *rank, int *size, char *err, size_t errlen)
{
    *rank = 0;
    *size = 1;
    if (launched <= 1)
        return 0;
    snprintf(err, errlen, "this rnnlab was built without MPI, so it cannot train as "
             "one of %d processes; rebuild it with Open MPI (libopenmpi-dev)", launched);
    return -1;
}

void dist_impl_stop(void)
{
}

int dist_impl_sum(void *x, size_t n, int is_double)
{
    (void)x;
    (void)n;
    (void)is_double;
    return -1;
}

size_t dist_impl_req_bytes(void)
{
    return 1;
}

size_t dist_impl_piece(void)
{
    return (size_t)1 << 28;
}

int dist_impl_isum(float *x, size_t n, void *req)
{
    (void)x;
    (void)n;
    (void)req;
    return -1;
}

int dist_impl_test(void *reqs, int n, int *done)
{
    (void)reqs;
    (void)n;
    *done = 1;
    return 0;
}

int dist_impl_wait(void *reqs, int n)
{
    (void)reqs;
    (void)n;
    return 0;
}

int dist_impl_bcast(void *buf, size_t bytes, int root)
{
    (void)buf;
    (void)bytes;
    (void)root;
    return -1;
}

int dist_impl_gather(const void *mine, size_t bytes, void *all, int root)
{
    (void)mine;
    (void)bytes;
    (void)all;
    (void)root;
    return -1;
}

int dist_impl_min(int v, int *out)
{
    *out = v;
    return 0;
}

int dist_impl_built(void)
{
    return 0;
}

_Noreturn void dist_impl_abort(int status)
{
    exit(status);
}
