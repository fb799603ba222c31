/* dist_int.h - private to src/dist/: what an implementation (dist_mpi.c,
 * or dist_none.c without MPI) gives dist.c, which keeps the rank and size
 * and answers alone in a run of one.  dist.c calls the collective ones only
 * when there are several processes.  Each returns 0, or -1 when MPI
 * reported a failure. */
#ifndef DIST_INT_H
#define DIST_INT_H
#include <stddef.h>

/* Starts MPI in a process a launcher started as one of `launched`; sets
 * *rank and *size.  Returns 0, or -1 with a one-line message. */
int dist_impl_start(int launched, int *rank, int *size, char *err, size_t errlen);
void dist_impl_stop(void);
/* x[0..n) summed over the processes, in place: floats, or doubles when
 * is_double. */
int dist_impl_sum(void *x, size_t n, int is_double);
/* Non-blocking sums of floats, each tracked by a request (storage of
 * dist_impl_req_bytes() bytes; n at most dist_impl_piece() floats):
 * started into req; tested (*done: all n finished) or waited for, n
 * requests at reqs. */
size_t dist_impl_req_bytes(void);
size_t dist_impl_piece(void);
int dist_impl_isum(float *x, size_t n, void *req);
int dist_impl_test(void *reqs, int n, int *done);
int dist_impl_wait(void *reqs, int n);
int dist_impl_bcast(void *buf, size_t bytes, int root);
int dist_impl_gather(const void *mine, size_t bytes, void *all, int root);
/* *out = the least v over the processes. */
int dist_impl_min(int v, int *out);
_Noreturn void dist_impl_abort(int status);
/* 1 in the MPI build, 0 without. */
int dist_impl_built(void);

#endif
