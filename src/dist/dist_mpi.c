/* dist_mpi.c - dist_int.h on MPI (Open MPI): MPI_COMM_WORLD, called from
 * the thread that started it; large buffers go in pieces, since MPI counts
 * are ints. */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

#include "dist/dist_int.h"

/* Elements per MPI call: well inside an int, and a size MPI moves at full
 * speed. */
#define PIECE ((size_t)1 << 28)

int dist_impl_start(int launched, int *rank, int *size, char *err, size_t errlen)
{
    int provided = 0, rc;
    (void)launched;
    rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    if (rc != MPI_SUCCESS) {
        snprintf(err, errlen, "MPI could not start (MPI_Init_thread error %d)", rc);
        return -1;
    }
    if (MPI_Comm_rank(MPI_COMM_WORLD, rank) != MPI_SUCCESS ||
        MPI_Comm_size(MPI_COMM_WORLD, size) != MPI_SUCCESS) {
        snprintf(err, errlen, "MPI could not tell this process's rank");
        MPI_Finalize();
        return -1;
    }
    return 0;
}

void dist_impl_stop(void)
{
    MPI_Finalize();
}

int dist_impl_sum(void *x, size_t n, int is_double)
{
    size_t width = is_double ? sizeof(double) : sizeof(float);
    MPI_Datatype type = is_double ? MPI_DOUBLE : MPI_FLOAT;
    for (size_t at = 0; at < n; at += PIECE) {
        size_t k = n - at < PIECE ? n - at : PIECE;
        if (MPI_Allreduce(MPI_IN_PLACE, (char *)x + at * width, (int)k, type, MPI_SUM,
                          MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

size_t dist_impl_req_bytes(void)
{
    return sizeof(MPI_Request);
}

size_t dist_impl_piece(void)
{
    return PIECE;
}

int dist_impl_isum(float *x, size_t n, void *req)
{
    return MPI_Iallreduce(MPI_IN_PLACE, x, (int)n, MPI_FLOAT, MPI_SUM, MPI_COMM_WORLD,
                          (MPI_Request *)req) == MPI_SUCCESS ? 0 : -1;
}

int dist_impl_test(void *reqs, int n, int *done)
{
    return MPI_Testall(n, (MPI_Request *)reqs, done, MPI_STATUSES_IGNORE) == MPI_SUCCESS
           ? 0 : -1;
}

int dist_impl_wait(void *reqs, int n)
{
    return MPI_Waitall(n, (MPI_Request *)reqs, MPI_STATUSES_IGNORE) == MPI_SUCCESS ? 0 : -1;
}

int dist_impl_bcast(void *buf, size_t bytes, int root)
{
    for (size_t at = 0; at < bytes; at += PIECE) {
        size_t k = bytes - at < PIECE ? bytes - at : PIECE;
        if (MPI_Bcast((char *)buf + at, (int)k, MPI_BYTE, root, MPI_COMM_WORLD) != MPI_SUCCESS)
            return -1;
    }
    return 0;
}

/* Every process learns every size, so all agree when the whole is too
 * large for MPI_Gatherv's int displacements. */
int dist_impl_gather(const void *mine, size_t bytes, void *all, int root)
{
    int n = 0, rc = -1;
    unsigned long long own = bytes, total = 0;
    MPI_Comm_size(MPI_COMM_WORLD, &n);
    unsigned long long *sizes = malloc((size_t)n * sizeof *sizes);
    int *counts = malloc((size_t)n * sizeof *counts), *displs = malloc((size_t)n * sizeof *displs);
    if (!sizes || !counts || !displs)       /* the others would wait forever */
        dist_impl_abort(1);
    if (MPI_Allgather(&own, 1, MPI_UNSIGNED_LONG_LONG, sizes, 1, MPI_UNSIGNED_LONG_LONG,
                      MPI_COMM_WORLD) != MPI_SUCCESS)
        goto out;
    for (int i = 0; i < n; i++) {
        counts[i] = (int)sizes[i];
        displs[i] = (int)total;
        total += sizes[i];
    }
    if (total <= INT_MAX
        && MPI_Gatherv(mine, (int)bytes, MPI_BYTE, all, counts, displs, MPI_BYTE, root,
                       MPI_COMM_WORLD) == MPI_SUCCESS)
        rc = 0;
out:
    free(sizes);
    free(counts);
    free(displs);
    return rc;
}

int dist_impl_min(int v, int *out)
{
    return MPI_Allreduce(&v, out, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD) == MPI_SUCCESS ? 0 : -1;
}

int dist_impl_built(void)
{
    return 1;
}

_Noreturn void dist_impl_abort(int status)
{
    MPI_Abort(MPI_COMM_WORLD, status);
    exit(status);
}
