/* cuda_coll.cu - cuda_coll.h on NCCL: one communicator per backend, its
 * sums on a stream of their own that waits (on the device) for the
 * backend's stream through events, so a layer's gradients travel while
 * the layers below compute.  NCCL is opened with dlopen; only its types
 * and constants come from nccl.h.  Host code only: no kernels here. */
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_coll.h"
#include "backend/cuda/cuda_dl.h"

/* The functions used, found by name in libnccl. */
typedef struct coll_api {
    void *lib;
    ncclResult_t (*get_unique_id)(ncclUniqueId *);
    ncclResult_t (*comm_init_rank)(ncclComm_t *, int, ncclUniqueId, int);
    ncclResult_t (*comm_abort)(ncclComm_t);
    ncclResult_t (*all_reduce)(const void *, void *, size_t, ncclDataType_t, ncclRedOp_t,
                               ncclComm_t, cudaStream_t);
    ncclResult_t (*async_error)(ncclComm_t, ncclResult_t *);
    const char *(*error_string)(ncclResult_t);
} coll_api;

struct cu_coll {
    coll_api api;
    ncclComm_t comm;        /* NULL until joined */
    cudaStream_t stream;    /* where the sums run */
    cudaEvent_t ready;      /* recorded on the backend's stream before a sum */
    cudaEvent_t done;       /* recorded on ours after the sums */
};

int cu_coll_built(void)
{
    return 1;
}

/* Finds NCCL's functions; returns 0, or -1 with why. */
static int coll_api_open(coll_api *api, char *why, size_t whylen)
{
    static const char *const names[] = { "libnccl.so.2", "libnccl.so" };
    char err[224];
    const cu_dl_sym want[] = {
        { (void **)&api->get_unique_id, "ncclGetUniqueId" },
        { (void **)&api->comm_init_rank, "ncclCommInitRank" },
        { (void **)&api->comm_abort, "ncclCommAbort" },
        { (void **)&api->all_reduce, "ncclAllReduce" },
        { (void **)&api->async_error, "ncclCommGetAsyncError" },
        { (void **)&api->error_string, "ncclGetErrorString" },
    };
    api->lib = cu_dl_open(names, sizeof names / sizeof names[0], want,
                          sizeof want / sizeof want[0], "NCCL", err, sizeof err);
    if (!api->lib)
        snprintf(why, whylen, "nccl: open: %s", err);
    return api->lib ? 0 : -1;
}

/* Returns 0 when r is success, else -1 with "nccl: WHAT: NCCL's words". */
static int nccl_ok(cu_coll *c, ncclResult_t r, const char *what, char *why, size_t whylen)
{
    if (r == ncclSuccess)
        return 0;
    snprintf(why, whylen, "nccl: %s: %s", what, c->api.error_string(r));
    return -1;
}

/* As nccl_ok for the CUDA runtime's calls made here. */
static int cuda_ok(cudaError_t e, const char *what, char *why, size_t whylen)
{
    if (e == cudaSuccess)
        return 0;
    snprintf(why, whylen, "nccl: %s: %s", what, cudaGetErrorString(e));
    return -1;
}

extern "C" int cu_coll_probe(char *why, size_t whylen)
{
    coll_api api;
    memset(&api, 0, sizeof api);
    if (coll_api_open(&api, why, whylen) != 0)
        return -1;
    dlclose(api.lib);
    return 0;
}

extern "C" cu_coll *cu_coll_open(char *why, size_t whylen)
{
    cu_coll *c = (cu_coll *)calloc(1, sizeof *c);
    if (!c) {
        snprintf(why, whylen, "nccl: open: out of memory");
        return NULL;
    }
    if (coll_api_open(&c->api, why, whylen) != 0
        || cuda_ok(cudaStreamCreateWithFlags(&c->stream, cudaStreamNonBlocking),
                   "stream", why, whylen) != 0
        || cuda_ok(cudaEventCreateWithFlags(&c->ready, cudaEventDisableTiming),
                   "event", why, whylen) != 0
        || cuda_ok(cudaEventCreateWithFlags(&c->done, cudaEventDisableTiming),
                   "event", why, whylen) != 0) {
        cu_coll_free(c);
        return NULL;
    }
    return c;
}

extern "C" void cu_coll_free(cu_coll *c)
{
    if (!c)
        return;
    if (c->comm)
        c->api.comm_abort(c->comm);
    if (c->stream) {
        cudaStreamSynchronize(c->stream);
        cudaStreamDestroy(c->stream);
    }
    if (c->ready)
        cudaEventDestroy(c->ready);
    if (c->done)
        cudaEventDestroy(c->done);
    if (c->api.lib)
        dlclose(c->api.lib);
    free(c);
}

extern "C" int cu_coll_id(cu_coll *c, void *id, size_t bytes, char *why, size_t whylen)
{
    ncclUniqueId u;
    if (bytes != sizeof u) {
        snprintf(why, whylen, "nccl: id: %zu bytes, NCCL's take %zu", bytes, sizeof u);
        return -1;
    }
    if (nccl_ok(c, c->api.get_unique_id(&u), "id", why, whylen) != 0)
        return -1;
    memcpy(id, &u, sizeof u);
    return 0;
}

extern "C" int cu_coll_join(cu_coll *c, const void *id, int rank, int size, char *why,
                            size_t whylen)
{
    ncclUniqueId u;
    memcpy(&u, id, sizeof u);
    if (c->comm) {
        snprintf(why, whylen, "nccl: join: already joined");
        return -1;
    }
    return nccl_ok(c, c->api.comm_init_rank(&c->comm, size, u, rank), "join", why, whylen);
}

extern "C" int cu_coll_sum(cu_coll *c, void *after, float *x, size_t n, char *why,
                           size_t whylen)
{
    if (!c->comm) {
        snprintf(why, whylen, "nccl: all-reduce: not joined");
        return -1;
    }
    if (cuda_ok(cudaEventRecord(c->ready, (cudaStream_t)after), "record", why, whylen) != 0
        || cuda_ok(cudaStreamWaitEvent(c->stream, c->ready, 0), "wait", why, whylen) != 0)
        return -1;
    return nccl_ok(c, c->api.all_reduce(x, x, n, ncclFloat32, ncclSum, c->comm, c->stream),
                   "all-reduce", why, whylen);
}

extern "C" int cu_coll_wait(cu_coll *c, void *on, char *why, size_t whylen)
{
    ncclResult_t async = ncclSuccess;
    if (!c->comm) {
        snprintf(why, whylen, "nccl: wait: not joined");
        return -1;
    }
    if (cuda_ok(cudaEventRecord(c->done, c->stream), "record", why, whylen) != 0
        || cuda_ok(cudaStreamWaitEvent((cudaStream_t)on, c->done, 0), "wait", why, whylen) != 0
        || nccl_ok(c, c->api.async_error(c->comm, &async), "state", why, whylen) != 0)
        return -1;
    return nccl_ok(c, async, "all-reduce", why, whylen);
}
