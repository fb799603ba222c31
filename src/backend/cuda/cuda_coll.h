/* cuda_coll.h - private to src/backend/cuda/: the CUDA backend's sums
 * across the processes of a data-parallel run, device buffer to device
 * buffer, with NCCL (cuda_coll.cu), or none in a build without NCCL
 * (cuda_coll_none.c).  The backend owns one cu_coll and wraps these in its
 * coll_* operations (backend.h); nothing here prints.  Every failure comes
 * back as one line "nccl: WHAT: WHY" in why (whylen bytes). */
#ifndef BACKEND_CUDA_COLL_H
#define BACKEND_CUDA_COLL_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cu_coll cu_coll;

/* Whether this build has NCCL (1) or not (0). */
int cu_coll_built(void);

/* Opens NCCL and finds every function used, then closes it, touching no
 * GPU: whether a run could sum with NCCL as far as the library goes.
 * Returns 0, or -1 with why. */
int cu_coll_probe(char *why, size_t whylen);

/* Opens NCCL (dlopen: libnccl.so.2 is 200 MB, mapped only by runs that
 * sum on GPUs) and makes the stream the sums run on, on the current
 * device.  Returns NULL with the reason in why. */
cu_coll *cu_coll_open(char *why, size_t whylen);
/* Frees c; a communicator still joined is aborted, not waited for (a
 * failed peer would make it wait forever), and the sums in flight with
 * it.  NULL is ignored. */
void cu_coll_free(cu_coll *c);

/* A new id for a communicator (id: bytes bytes, NCCL_UNIQUE_ID_BYTES).
 * Returns 0, or -1 with why. */
int cu_coll_id(cu_coll *c, void *id, size_t bytes, char *why, size_t whylen);
/* Collective over the size processes: joins the communicator of id as
 * rank on the current device; blocks until every process has.  Returns 0,
 * or -1 with why. */
int cu_coll_join(cu_coll *c, const void *id, int rank, int size, char *why,
                 size_t whylen);

/* Starts x[0..n) (floats on the device) becoming the sum over the
 * processes, in place, once every operation the stream `after` (a
 * cudaStream_t) holds now is done; the sum runs on c's own stream, so
 * `after` goes on meanwhile.  Returns 0, or -1 with why. */
int cu_coll_sum(cu_coll *c, void *after, float *x, size_t n, char *why, size_t whylen);
/* Makes operations issued on stream `on` later wait (on the device) for
 * every sum started; the host does not wait.  Also reports a failure NCCL
 * noticed since.  Returns 0, or -1 with why. */
int cu_coll_wait(cu_coll *c, void *on, char *why, size_t whylen);

#ifdef __cplusplus
}
#endif

#endif
