/* dist_device.c - the choice between summing a backend's buffers through
 * host memory (MPI) or on the devices (the backend's coll_* operations,
 * NCCL), and the start of the latter: MPI hands rank 0's communicator id
 * to the others, every backend joins. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dist/dist.h"

/* Whether the backend can sum device to device. */
static int has_coll(const be_backend *be)
{
    return be && be->coll_id && be->coll_join && be->coll_sum && be->coll_wait;
}

int dist_sum_wish(const be_backend *be, const char *env, int *forced, char *err,
                  size_t errlen)
{
    *forced = 0;
    if (env && strcmp(env, "0") == 0)
        return DIST_SUM_HOST;
    if (env && *env && strcmp(env, "auto") != 0 && strcmp(env, "1") != 0) {
        snprintf(err, errlen, "%s must be auto, 0 or 1, not '%.40s'", DIST_NCCL_ENV, env);
        return -1;
    }
    *forced = env && strcmp(env, "1") == 0;
    if (has_coll(be))
        return DIST_SUM_DEVICE;
    if (*forced) {
        snprintf(err, errlen, "%s=1, but the %s backend has no NCCL sums (%s)",
                 DIST_NCCL_ENV, be ? be->name : "no",
                 be && strcmp(be->name, "cuda") == 0 ? "this build has no NCCL"
                 : "only CUDA builds with NCCL have them");
        return -1;
    }
    return DIST_SUM_HOST;
}

int dist_sum_settle(int any_host, int any_forced, char *err, size_t errlen)
{
    if (!any_host)
        return DIST_SUM_DEVICE;
    if (any_forced) {
        snprintf(err, errlen, "%s=1, but a process cannot sum with NCCL (a CPU "
                 "backend, a build without NCCL, or %s=0 there)", DIST_NCCL_ENV,
                 DIST_NCCL_ENV);
        return -1;
    }
    return DIST_SUM_HOST;
}

/* Collective: every process's wish settled, as dist_sum_start's path (the
 * same on every process: it follows from agreed facts). */
static int settle_all(be_backend *be, char *err, size_t errlen)
{
    int forced = 0;
    int wish = dist_sum_wish(be, getenv(DIST_NCCL_ENV), &forced, err, errlen);
    if (dist_agree(wish < 0, err, errlen) != 0)
        return -1;
    int any_host = dist_lowest(wish == DIST_SUM_HOST) >= 0;
    int any_forced = dist_lowest(forced) >= 0;
    return dist_sum_settle(any_host, any_forced, err, errlen);
}

int dist_sum_start(be_backend *be, char *err, size_t errlen)
{
    unsigned char id[BE_COLL_ID_BYTES] = {0};
    int path;
    if (dist_size() < 2)
        return DIST_SUM_HOST;
    if ((path = settle_all(be, err, errlen)) != DIST_SUM_DEVICE)
        return path;
    /* every process opens NCCL, rank 0 making the id, so that a library
     * missing anywhere is agreed on before any waits inside NCCL for the
     * others (an id is a listening socket: only rank 0 makes one) */
    if (dist_agree(be->coll_id(be, dist_rank() == 0 ? id : NULL, err, errlen) != 0, err,
                   errlen) != 0)
        return -1;
    if (dist_bcast(id, sizeof id, 0) != 0) {
        snprintf(err, errlen, "MPI failed to hand out the NCCL id");
        return -2;
    }
    if (be->coll_join(be, id, dist_rank(), dist_size(), err, errlen) != 0)
        return -2;
    return DIST_SUM_DEVICE;
}
