/* cuda_backend.h - the CUDA backend: the be_backend table on an NVIDIA GPU
 * (cuBLAS for the matrix products, own kernels for the rest).  In a build
 * without CUDA the same functions exist (cuda_none.c) and answer
 * that no device is available, so callers need no #ifdef. */
#ifndef BACKEND_CUDA_H
#define BACKEND_CUDA_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include "backend/backend.h"

#ifdef __cplusplus
extern "C" {
#endif

/* How the CUDA backend does its matrix products.  Storage, master weights,
 * optimizer state and every other operation stay float32 in all three. */
typedef enum {
    BE_FP32 = 0,    /* plain float32 */
    BE_TF32 = 1,    /* inputs rounded to TF32 on tensor cores, fp32 sums */
    BE_BF16 = 2     /* inputs rounded to bfloat16 on tensor cores, fp32 sums */
} be_precision;

/* "fp32", "tf32", "bf16". */
static inline const char *be_precision_name(be_precision p)
{
    return p == BE_TF32 ? "tf32" : p == BE_BF16 ? "bf16" : "fp32";
}

/* Returns the precision named s, or -1 when s names none. */
static inline int be_precision_parse(const char *s)
{
    for (int p = BE_FP32; p <= BE_BF16; p++)
        if (strcmp(s, be_precision_name((be_precision)p)) == 0)
            return p;
    return -1;
}

/* Whether this build has the CUDA backend (1) or not (0). */
int be_cuda_built(void);

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
