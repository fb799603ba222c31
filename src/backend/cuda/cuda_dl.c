/* cuda_dl.c - cuda_dl.h: a toolkit library opened with dlopen, its
 * functions found by name. */
#include <dlfcn.h>
#include <stdio.h>

#include "backend/cuda/cuda_dl.h"

void *cu_dl_open(const char *const *names, size_t n_names, const cu_dl_sym *want,
                 size_t n_want, const char *what, char *err, size_t errlen)
{
    void *lib = NULL;
    for (size_t i = 0; i < n_names && !lib; i++)
        lib = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
    if (!lib) {
        snprintf(err, errlen, "cannot open %s (%s): %s", what, names[0], dlerror());
        return NULL;
    }
    for (size_t i = 0; i < n_want; i++)
        if ((*want[i].fn = dlsym(lib, want[i].sym)) == NULL) {
            snprintf(err, errlen, "%s lacks %s", what, want[i].sym);
            dlclose(lib);
            return NULL;
        }
    return lib;
}
