/* cuda_dl.h - private to src/backend/cuda/: opening a library of the
 * toolkit with dlopen and finding its functions, as the backend does for
 * cuBLAS and NCCL (linking them would map hundreds of megabytes into every
 * run, CPU-only ones included). */
#ifndef BACKEND_CUDA_DL_H
#define BACKEND_CUDA_DL_H
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

/* A function wanted: where its address goes, and its name. */
typedef struct cu_dl_sym {
    void **fn;
    const char *sym;
} cu_dl_sym;

/* Opens the first of n_names names that loads and fills every one of the
 * n_want functions.  Returns the library's handle (for dlclose), or NULL
 * with one line in err: "cannot open WHAT (NAMES[0]): dlerror's words"
 * or "WHAT lacks SYMBOL". */
void *cu_dl_open(const char *const *names, size_t n_names, const cu_dl_sym *want,
                 size_t n_want, const char *what, char *err, size_t errlen);

#ifdef __cplusplus
}
#endif

#endif
