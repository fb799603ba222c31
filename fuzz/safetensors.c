/* safetensors.c - libFuzzer harness for the safetensors reader: any bytes as a file, every tensor of an accepted one read back. */
#include <stdlib.h>
#include <string.h>

#include "common.h"
#include "store/safetensors.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* The checks of an accepted file: every tensor inside the data section
 * and found by its name; an F32 one reads back with its own shape and is
 * refused with another. */
static void check_file(const st_file *f, size_t size)
{
    size_t data_size = size - f->data_off;
    for (int i = 0; i < f->n; i++) {
        const st_tensor *t = &f->t[i];
        if (t->begin > t->end || t->end > data_size || f->data_off > size)
            fz_fail("tensor %d lies outside the data section", i);
        if (st_find(f, t->name) != t)
            fz_fail("tensor %d is not found by its name", i);
        if (strcmp(t->dtype, "F32") != 0)
            continue;
        char err[256] = "";
        size_t bytes = t->end - t->begin;
        float *dst = malloc(bytes ? bytes : 1);
        if (!dst)
            continue;
        if (st_read_f32(f, t->name, t->ndim, t->shape, dst, err, sizeof err) != 0)
            fz_fail("tensor %d does not read with its own shape: %s", i, err);
        int64_t other[ST_MAX_DIMS];
        memcpy(other, t->shape, sizeof t->shape);
        other[0] = t->ndim ? t->shape[0] + 1 : 1;
        err[0] = '\0';
        if (st_read_f32(f, t->name, t->ndim ? t->ndim : 1, other, dst, err, sizeof err) == 0)
            fz_fail("tensor %d reads with a shape it does not have", i);
        /* The message names the tensor as the caller asked for it (the
         * program asks only for names of its own), so only its presence
         * is checked. */
        if (!err[0])
            fz_fail("st_read_f32 refused tensor %d without a message", i);
        free(dst);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    char err[512] = "";
    if (st_parse(&f, data, size, "fuzz.safetensors", err, sizeof err) != 0) {
        fz_check_message("st_parse", err);
        return 0;
    }
    check_file(&f, size);
    st_close(&f);
    return 0;
}
