/* safetensors.h - reading and writing the safetensors format: an 8-byte
 * little-endian header length, a JSON header mapping names to dtype, shape
 * and [begin,end) data offsets, then the raw data.  Only what rnnlab needs:
 * F32 (read and write), other dtypes are rejected with a message. */
#ifndef SAFETENSORS_H
#define SAFETENSORS_H
#include <stddef.h>
#include <stdint.h>

#define ST_MAX_DIMS 4

typedef struct st_tensor {
    char *name;
    char dtype[8];
    int ndim;
    int64_t shape[ST_MAX_DIMS];
    size_t begin, end;       /* relative to the data section */
} st_tensor;

typedef struct st_file {
    uint8_t *data;           /* the whole file, read into memory */
    size_t size;
    size_t data_off;         /* start of the data section */
    st_tensor *t;
    int n;
} st_file;

/* Reads and validates path: header length within the file, valid JSON,
 * every entry with a known dtype, a shape whose element count times the
 * dtype size equals end-begin, offsets within the data section.  Returns 0,
 * or -1 with a one-line message naming the file and the problem. */
int st_open(st_file *f, const char *path, char *err, size_t errlen);
/* Same, from a buffer (copied). */
int st_parse(st_file *f, const uint8_t *buf, size_t len, const char *what,
             char *err, size_t errlen);
void st_close(st_file *f);
const st_tensor *st_find(const st_file *f, const char *name);

/* Copies tensor name into dst (numel floats) after checking it is F32 with
 * exactly the given shape (ndim dims).  Returns 0, or -1 with a message. */
int st_read_f32(const st_file *f, const char *name, int ndim,
                const int64_t *shape, float *dst, char *err, size_t errlen);

typedef struct st_entry {
    const char *name;
    const float *data;       /* host memory */
    int ndim;
    int64_t shape[ST_MAX_DIMS];
} st_entry;

/* Writes entries as F32 to path atomically (path.tmp, fsync, rename).
 * Returns 0, or -1 with a message. */
int st_write(const char *path, const st_entry *e, int n, char *err, size_t errlen);

#endif
