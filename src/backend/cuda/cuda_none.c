/* cuda_none.c - the CUDA backend's entry points in a build without
 * CUDA: every one answers that there is no device, so the command line
 * and the tests need no conditional compilation. */
#include <stdio.h>

#include "backend/cuda/cuda_backend.h"

int be_cuda_built(void) { return 0; }

int be_cuda_nccl_built(void) { return 0; }

/* Returns 0: no device, with the reason in msg. */
int be_cuda_available(char *msg, size_t len)
{
    if (len)
        snprintf(msg, len, "built without CUDA support (configure --with-cuda)");
    return 0;
}

/* Returns NULL with the reason in err, worded as the CUDA build's. */
be_backend *be_cuda_create(int device, be_precision p, char *err, size_t errlen)
{
    char why[128];
    (void)device;
    (void)p;
    be_cuda_available(why, sizeof why);
    snprintf(err, errlen, "no CUDA device: %s", why);
    return NULL;
}

/* Returns -1: nothing here is a CUDA backend. */
int be_cuda_describe(be_backend *be, char *buf, size_t len)
{
    (void)be;
    if (len)
        buf[0] = '\0';
    return -1;
}
