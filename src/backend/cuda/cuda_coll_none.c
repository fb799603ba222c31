/* cuda_coll_none.c - cuda_coll.h in a CUDA build without NCCL: nothing
 * opens, so the backend leaves its coll_* operations out and processes
 * on GPUs sum through host memory. */
#include <stdio.h>

#include "backend/cuda/cuda_coll.h"

int cu_coll_built(void)
{
    return 0;
}

int cu_coll_probe(char *why, size_t whylen)
{
    return cu_coll_open(why, whylen) ? 0 : -1;
}

cu_coll *cu_coll_open(char *why, size_t whylen)
{
    snprintf(why, whylen, "nccl: open: built without NCCL (configure --with-nccl)");
    return NULL;
}

void cu_coll_free(cu_coll *c)
{
    (void)c;
}

int cu_coll_id(cu_coll *c, void *id, size_t bytes, char *why, size_t whylen)
{
    (void)c;
    (void)id;
    (void)bytes;
    return cu_coll_open(why, whylen) ? 0 : -1;
}

int cu_coll_join(cu_coll *c, const void *id, int rank, int size, char *why,
                 size_t whylen)
{
    (void)c;
    (void)id;
    (void)rank;
    (void)size;
    return cu_coll_open(why, whylen) ? 0 : -1;
}

int cu_coll_sum(cu_coll *c, void *after, float *x, size_t n, char *why, size_t whylen)
{
    (void)c;
    (void)after;
    (void)x;
    (void)n;
    return cu_coll_open(why, whylen) ? 0 : -1;
}

int cu_coll_wait(cu_coll *c, void *on, char *why, size_t whylen)
{
    (void)c;
    (void)on;
    return cu_coll_open(why, whylen) ? 0 : -1;
}
