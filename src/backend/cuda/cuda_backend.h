/* cuda_backend.h - the CUDA backend: the be_backend table on an NVIDIA GPU
 * (cuBLAS for the matrix products, own kernels for the rest).  In a build
 * without CUDA the same functions exist (cuda_none.c) and answer
 * that no device is available, so callers need no #ifdef. */
#ifndef BACKEND_CUDA_H
#define BACKEND_CUDA_H
#include <stddef.h>
#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Whether this build has the CUDA backend (1) or not (0). */
int be_cuda_built(void);
/* Whether its processes of a data-parallel run sum on the GPUs with NCCL
 * (1: the backend has the coll_* operations) or through host memory (0). */
int be_cuda_nccl_built(void);

/* Returns the number of CUDA devices that answer (0 when none does).  With
 * one, msg receives device 0's name; with none, the reason, e.g. "built
 * without CUDA support" or the driver's error. */
int be_cuda_available(char *msg, size_t len);

/* Creates the CUDA backend on device (0-based) with precision p.  Returns
 * NULL with a one-line reason in err when there is no such device, the
 * driver or cuBLAS fails, or the build has no CUDA support. */
be_backend *be_cuda_create(int device, be_precision p, char *err, size_t errlen);

/* Writes "NAME, USED/TOTAL GiB" for a status line (memory as the driver
 * reports it for the whole device).  Returns 0, or -1 (buf empty) when be
 * is not a CUDA backend. */
int be_cuda_describe(be_backend *be, char *buf, size_t len);

#ifdef __cplusplus
}
#endif

#endif
