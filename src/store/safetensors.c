/* safetensors.c - reader and writer for the safetensors format.
 *
 * The reader treats every file as hostile: each number in the header is
 * checked before it is used (header length against the file, offsets
 * against the data section, byte counts against dtype and shape with
 * overflow checks), and the tensors must tile the data section exactly, as
 * the format requires, so no two names can alias the same bytes. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "store/safetensors.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "util/buf.h"
#include "util/durable.h"
#include "util/jscan.h"

/* The reference implementation refuses headers above 100 MB; so do we. */
#define ST_MAX_HEADER (100u * 1024u * 1024u)
/* Largest integer a JSON number (a double) represents exactly. */
#define ST_MAX_EXACT 9007199254740992.0

static void st_msg(char *err, size_t errlen, const char *what,
                   const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    int k = snprintf(err, errlen, "%s: ", what ? what : "safetensors");
    if (k < 0 || (size_t)k >= errlen)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err + k, errlen - (size_t)k, fmt, ap);
    va_end(ap);
}

/* A name from the file made fit for a one-line message: control and
 * non-ASCII bytes become '?', long names are cut. */
static const char *st_safe(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    buf[i] = '\0';
    if (s[i] && len > 4)
        memcpy(buf + len - 4, "...", 4);
    return buf;
}

static size_t st_dtype_size(const char *d)
{
    static const struct { const char *name; size_t size; } tab[] = {
        {"F64", 8}, {"F32", 4}, {"F16", 2}, {"BF16", 2}, {"I64", 8},
        {"I32", 4}, {"I16", 2}, {"I8", 1}, {"U64", 8}, {"U32", 4},
        {"U16", 2}, {"U8", 1}, {"BOOL", 1}, {"F8_E5M2", 1}, {"F8_E4M3", 1},
    };
    for (size_t i = 0; i < sizeof tab / sizeof tab[0]; i++)
        if (strcmp(d, tab[i].name) == 0)
            return tab[i].size;
    return 0;
}

/* The JSON must be UTF-8 (the format says so); reject overlong forms,
 * surrogates and code points past U+10FFFF. */
static int st_utf8_ok(const uint8_t *s, size_t n)
{
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        size_t len;
        uint32_t cp, min;
        if (c < 0x80) { i++; continue; }
        if ((c & 0xE0) == 0xC0) { len = 2; cp = c & 0x1F; min = 0x80; }
        else if ((c & 0xF0) == 0xE0) { len = 3; cp = c & 0x0F; min = 0x800; }
        else if ((c & 0xF8) == 0xF0) { len = 4; cp = c & 0x07; min = 0x10000; }
        else return 0;
        if (n - i < len)
            return 0;
        for (size_t k = 1; k < len; k++) {
            if ((s[i + k] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i + k] & 0x3F);
        }
        if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        i += len;
    }
    return 1;
}

/* A JSON number that is an integer in [0, 2^53]. */
static int st_json_uint(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsNumber(j))
        return 0;
    double d = j->valuedouble;
    /* The range test also rejects NaN; the cast round trip, fractions. */
    if (!(d >= 0 && d <= ST_MAX_EXACT) || (double)(uint64_t)d != d)
        return 0;
    *out = (uint64_t)d;
    return 1;
}

void st_close(st_file *f)
{
    if (!f)
        return;
    for (int i = 0; i < f->n; i++)
        free(f->t[i].name);
    free(f->t);
    free(f->data);
    memset(f, 0, sizeof *f);
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->t[i].name, name) == 0)
            return &f->t[i];
    return NULL;
}

/* Element count of shape, or -1 when it overflows 64 bits.  A zero
 * dimension anywhere makes the count zero however large the others are. */
static int st_numel(const int64_t *shape, int ndim, uint64_t *out)
{
    uint64_t n = 1;
    for (int i = 0; i < ndim; i++)
        if (shape[i] == 0) { *out = 0; return 0; }
    for (int i = 0; i < ndim; i++) {
        uint64_t d = (uint64_t)shape[i];
        if (n > UINT64_MAX / d)
            return -1;
        n *= d;
    }
    *out = n;
    return 0;
}

typedef struct st_ctx {
    const char *what;
    char *err;
    size_t errlen;
    size_t data_size;
} st_ctx;

static int st_parse_shape(const st_ctx *c, const char *name, const cJSON *js,
                          st_tensor *t)
{
    if (!cJSON_IsArray(js)) {
        st_msg(c->err, c->errlen, c->what, "%s: shape is missing or not an array", name);
        return -1;
    }
    int nd = cJSON_GetArraySize(js);
    if (nd > ST_MAX_DIMS) {
        st_msg(c->err, c->errlen, c->what, "%s: shape has %d dimensions (at most %d supported)",
               name, nd, ST_MAX_DIMS);
        return -1;
    }
    const cJSON *d;
    int i = 0;
    cJSON_ArrayForEach(d, js) {
        uint64_t v;
        if (!st_json_uint(d, &v)) {
            st_msg(c->err, c->errlen, c->what,
                   "%s: shape entries must be non-negative integers", name);
            return -1;
        }
        t->shape[i++] = (int64_t)v;
    }
    t->ndim = nd;
    return 0;
}

static int st_parse_offsets(const st_ctx *c, const char *name,
                            const cJSON *jo, st_tensor *t)
{
    uint64_t b, e;
    if (!cJSON_IsArray(jo) || cJSON_GetArraySize(jo) != 2 ||
        !st_json_uint(jo->child, &b) || !st_json_uint(jo->child->next, &e)) {
        st_msg(c->err, c->errlen, c->what,
               "%s: data_offsets must be two non-negative integers", name);
        return -1;
    }
    if (b > e) {
        st_msg(c->err, c->errlen, c->what, "%s: data_offsets begin %llu is after end %llu",
               name, (unsigned long long)b, (unsigned long long)e);
        return -1;
    }
    if (e > c->data_size) {
        st_msg(c->err, c->errlen, c->what,
               "%s: data_offsets end %llu is beyond the data section (%zu bytes)",
               name, (unsigned long long)e, c->data_size);
        return -1;
    }
    t->begin = (size_t)b;
    t->end = (size_t)e;
    return 0;
}

/* Fills t from one header entry (name already copied). */
static int st_parse_entry(const st_ctx *c, const cJSON *ent, st_tensor *t)
{
    char shown[64];
    const char *name = st_safe(t->name, shown, sizeof shown);
    if (!cJSON_IsObject(ent)) {
        st_msg(c->err, c->errlen, c->what, "%s: entry is not an object", name);
        return -1;
    }
    const cJSON *jd = cJSON_GetObjectItemCaseSensitive(ent, "dtype");
    if (!cJSON_IsString(jd)) {
        st_msg(c->err, c->errlen, c->what, "%s: dtype is missing or not a string", name);
        return -1;
    }
    size_t dsize = st_dtype_size(jd->valuestring);
    if (dsize == 0) {
        char dt[24];
        st_msg(c->err, c->errlen, c->what, "%s: unknown dtype \"%s\"", name,
               st_safe(jd->valuestring, dt, sizeof dt));
        return -1;
    }
    snprintf(t->dtype, sizeof t->dtype, "%s", jd->valuestring);
    if (st_parse_shape(c, name, cJSON_GetObjectItemCaseSensitive(ent, "shape"), t) ||
        st_parse_offsets(c, name, cJSON_GetObjectItemCaseSensitive(ent, "data_offsets"), t))
        return -1;
    uint64_t numel;
    if (st_numel(t->shape, t->ndim, &numel) || numel > UINT64_MAX / dsize ||
        numel * dsize != (uint64_t)(t->end - t->begin)) {
        st_msg(c->err, c->errlen, c->what,
               "%s: data_offsets span %zu bytes, which does not match its shape and dtype %s",
               name, t->end - t->begin, t->dtype);
        return -1;
    }
    return 0;
}

static int st_check_metadata(const st_ctx *c, const cJSON *meta)
{
    if (!cJSON_IsObject(meta)) {
        st_msg(c->err, c->errlen, c->what, "__metadata__ is not an object");
        return -1;
    }
    const cJSON *m;
    cJSON_ArrayForEach(m, meta) {
        if (!cJSON_IsString(m)) {
            st_msg(c->err, c->errlen, c->what, "__metadata__ values must be strings");
            return -1;
        }
    }
    return 0;
}

static int st_cmp_range(const void *a, const void *b)
{
    const st_tensor *x = *(const st_tensor *const *)a;
    const st_tensor *y = *(const st_tensor *const *)b;
    if (x->begin != y->begin)
        return x->begin < y->begin ? -1 : 1;
    return (x->end > y->end) - (x->end < y->end);
}

/* The tensors must cover the data section exactly: no gaps (hidden
 * payloads), no overlaps (aliasing).  Duplicate names are caught too. */
static int st_check_tiling(const st_ctx *c, st_file *f)
{
    if (f->n == 0) {
        if (c->data_size == 0)
            return 0;
        st_msg(c->err, c->errlen, c->what, "%zu data bytes but no tensors", c->data_size);
        return -1;
    }
    const st_tensor **idx = malloc((size_t)f->n * sizeof *idx);
    if (!idx) {
        st_msg(c->err, c->errlen, c->what, "out of memory");
        return -1;
    }
    for (int i = 0; i < f->n; i++)
        idx[i] = &f->t[i];
    qsort(idx, (size_t)f->n, sizeof *idx, st_cmp_range);
    size_t at = 0;
    int rc = 0;
    for (int i = 0; i < f->n && rc == 0; i++) {
        if (idx[i]->begin != at) {
            char shown[64];
            st_msg(c->err, c->errlen, c->what, "%s: data_offsets [%zu, %zu] %s the previous tensor",
                   st_safe(idx[i]->name, shown, sizeof shown), idx[i]->begin, idx[i]->end,
                   idx[i]->begin > at ? "leave a gap after" : "overlap");
            rc = -1;
        }
        at = idx[i]->end;
    }
    if (rc == 0 && at != c->data_size) {
        st_msg(c->err, c->errlen, c->what, "%zu bytes after the last tensor are not covered",
               c->data_size - at);
        rc = -1;
    }
    free(idx);
    return rc;
}

static int st_cmp_name(const void *a, const void *b)
{
    return strcmp((*(const st_tensor *const *)a)->name,
                  (*(const st_tensor *const *)b)->name);
}

/* Sorting keeps this O(n log n) even for a header with millions of names. */
static int st_check_unique(const st_ctx *c, const st_file *f)
{
    if (f->n < 2)
        return 0;
    const st_tensor **idx = malloc((size_t)f->n * sizeof *idx);
    if (!idx) {
        st_msg(c->err, c->errlen, c->what, "out of memory");
        return -1;
    }
    for (int i = 0; i < f->n; i++)
        idx[i] = &f->t[i];
    qsort(idx, (size_t)f->n, sizeof *idx, st_cmp_name);
    int rc = 0;
    for (int i = 1; i < f->n && rc == 0; i++) {
        if (strcmp(idx[i - 1]->name, idx[i]->name) == 0) {
            char shown[64];
            st_msg(c->err, c->errlen, c->what, "duplicate tensor name \"%s\"",
                   st_safe(idx[i]->name, shown, sizeof shown));
            rc = -1;
        }
    }
    free(idx);
    return rc;
}

static int st_parse_entries(const st_ctx *c, const cJSON *root, st_file *f)
{
    int cap = cJSON_GetArraySize(root);
    f->t = calloc(cap > 0 ? (size_t)cap : 1, sizeof *f->t);
    if (!f->t) {
        st_msg(c->err, c->errlen, c->what, "out of memory");
        return -1;
    }
    const cJSON *ent;
    cJSON_ArrayForEach(ent, root) {
        const char *name = ent->string ? ent->string : "";
        if (strcmp(name, "__metadata__") == 0) {
            if (st_check_metadata(c, ent))
                return -1;
            continue;
        }
        st_tensor *t = &f->t[f->n];
        t->name = strdup(name);
        if (!t->name) {
            st_msg(c->err, c->errlen, c->what, "out of memory");
            return -1;
        }
        f->n++;
        if (st_parse_entry(c, ent, t))
            return -1;
    }
    if (st_check_unique(c, f))
        return -1;
    return st_check_tiling(c, f);
}

static int st_parse_json(const st_ctx *c, const uint8_t *hdr, size_t hlen,
                         st_file *f)
{
    if (hlen == 0 || hdr[0] != '{') {
        st_msg(c->err, c->errlen, c->what, "header does not start with '{'");
        return -1;
    }
    if (!st_utf8_ok(hdr, hlen)) {
        st_msg(c->err, c->errlen, c->what, "header is not valid UTF-8");
        return -1;
    }
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts((const char *)hdr, hlen, &end, 0);
    if (!root && jscan_value((const char *)hdr, hlen, NULL)) {
        st_msg(c->err, c->errlen, c->what, "out of memory reading the header");
        return -1;
    }
    if (!root) {
        size_t at = end ? (size_t)(end - (const char *)hdr) : 0;
        st_msg(c->err, c->errlen, c->what, "header is not valid JSON (near byte %zu)", at);
        return -1;
    }
    /* Only padding may follow the JSON object. */
    for (const char *p = end; p < (const char *)hdr + hlen; p++) {
        if (*p != ' ' && *p != '\t' && *p != '\n' && *p != '\r') {
            st_msg(c->err, c->errlen, c->what, "header has trailing data after the JSON object");
            cJSON_Delete(root);
            return -1;
        }
    }
    int rc = -1;
    if (!cJSON_IsObject(root))
        st_msg(c->err, c->errlen, c->what, "header is not a JSON object");
    else
        rc = st_parse_entries(c, root, f);
    cJSON_Delete(root);
    return rc;
}

/* Parses f->data (owned by f) in place. */
static int st_parse_owned(st_file *f, const char *what, char *err, size_t errlen)
{
    st_ctx c = { what, err, errlen, 0 };
    if (f->size < 8) {
        st_msg(err, errlen, what, "file is %zu bytes, too short for a safetensors header", f->size);
        return -1;
    }
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = (hlen << 8) | f->data[i];
    if (hlen > ST_MAX_HEADER) {
        st_msg(err, errlen, what, "header length %llu is absurd (limit %u)",
               (unsigned long long)hlen, ST_MAX_HEADER);
        return -1;
    }
    if (hlen > f->size - 8) {
        st_msg(err, errlen, what, "header length %llu exceeds the file size %zu",
               (unsigned long long)hlen, f->size);
        return -1;
    }
    f->data_off = 8 + (size_t)hlen;
    c.data_size = f->size - f->data_off;
    return st_parse_json(&c, f->data + 8, (size_t)hlen, f);
}

int st_parse(st_file *f, const uint8_t *buf, size_t len, const char *what,
             char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    f->data = malloc(len ? len : 1);
    if (!f->data) {
        st_msg(err, errlen, what, "out of memory");
        return -1;
    }
    if (len)
        memcpy(f->data, buf, len);
    f->size = len;
    if (st_parse_owned(f, what, err, errlen)) {
        st_close(f);
        return -1;
    }
    return 0;
}

/* Reads a whole regular file into memory. */
static int st_slurp(const char *path, uint8_t **out, size_t *len, char *err,
                    size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        st_msg(err, errlen, path, "%s", strerror(errno));
        return -1;
    }
    struct stat sb;
    int st = fstat(fd, &sb);
    if (st != 0 || !S_ISREG(sb.st_mode)) {
        st_msg(err, errlen, path, "%s", st != 0 ? strerror(errno) : "not a regular file");
        close(fd);
        return -1;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        st_msg(err, errlen, path, "out of memory (%zu bytes)", n);
        close(fd);
        return -1;
    }
    while (got < n) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            st_msg(err, errlen, path, "read failed: %s", r < 0 ? strerror(errno) : "file shrank");
            free(buf);
            close(fd);
            return -1;
        }
        got += (size_t)r;
    }
    close(fd);
    *out = buf;
    *len = n;
    return 0;
}

int st_open(st_file *f, const char *path, char *err, size_t errlen)
{
    memset(f, 0, sizeof *f);
    if (st_slurp(path, &f->data, &f->size, err, errlen))
        return -1;
    if (st_parse_owned(f, path, err, errlen)) {
        st_close(f);
        return -1;
    }
    return 0;
}

static void st_fmt_shape(char *buf, size_t len, int ndim, const int64_t *shape)
{
    size_t k = (size_t)snprintf(buf, len, "[");
    for (int i = 0; i < ndim && k < len; i++)
        k += (size_t)snprintf(buf + k, len - k, "%s%lld", i ? "," : "",
                              (long long)shape[i]);
    if (k < len)
        snprintf(buf + k, len - k, "]");
}

static void st_plain(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

int st_read_f32(const st_file *f, const char *name, int ndim,
                const int64_t *shape, float *dst, char *err, size_t errlen)
{
    const st_tensor *t = st_find(f, name);
    if (!t) {
        st_plain(err, errlen, "tensor %s is missing", name);
        return -1;
    }
    if (strcmp(t->dtype, "F32") != 0) {
        st_plain(err, errlen, "%s has dtype %s, expected F32", name, t->dtype);
        return -1;
    }
    int same = t->ndim == ndim;
    for (int i = 0; same && i < ndim; i++)
        same = t->shape[i] == shape[i];
    if (!same) {
        char got[96], want[96];
        st_fmt_shape(got, sizeof got, t->ndim, t->shape);
        st_fmt_shape(want, sizeof want, ndim, shape);
        st_plain(err, errlen, "%s has shape %s, expected %s", name, got, want);
        return -1;
    }
    if (t->end > t->begin)
        memcpy(dst, f->data + f->data_off + t->begin, t->end - t->begin);
    return 0;
}

/* ---- writing ---- */

/* A JSON string literal: quotes, backslashes and control bytes escaped. */
static int st_put_str(strbuf *b, const char *s)
{
    if (strbuf_puts(b, "\""))
        return -1;
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        int rc;
        if (ch == '"' || ch == '\\')
            rc = strbuf_printf(b, "\\%c", ch);
        else if (ch < 0x20)
            rc = strbuf_printf(b, "\\u%04x", ch);
        else
            rc = strbuf_append(b, &ch, 1);
        if (rc)
            return -1;
    }
    return strbuf_puts(b, "\"");
}

static int st_put_entry(strbuf *b, const st_entry *e, size_t begin, size_t end)
{
    if (strbuf_puts(b, ",") || st_put_str(b, e->name) ||
        strbuf_puts(b, ":{\"dtype\":\"F32\",\"shape\":["))
        return -1;
    for (int d = 0; d < e->ndim; d++)
        if (strbuf_printf(b, "%s%lld", d ? "," : "", (long long)e->shape[d]))
            return -1;
    return strbuf_printf(b, "],\"data_offsets\":[%zu,%zu]}", begin, end);
}

/* Validates the entries and sets sizes[i] (bytes). */
static int st_check_entries(const char *path, const st_entry *e, int n,
                            size_t *sizes, char *err, size_t errlen)
{
    for (int i = 0; i < n; i++) {
        uint64_t numel;
        int bad = !e[i].name || e[i].ndim < 0 || e[i].ndim > ST_MAX_DIMS;
        for (int d = 0; !bad && d < e[i].ndim; d++)
            bad = e[i].shape[d] < 0;
        if (bad || st_numel(e[i].shape, e[i].ndim, &numel) ||
            numel > SIZE_MAX / 8 || (numel && !e[i].data)) {
            st_msg(err, errlen, path, "tensor %d (%s) has an invalid shape", i,
                   e[i].name ? e[i].name : "unnamed");
            return -1;
        }
        if (strcmp(e[i].name, "__metadata__") == 0) {
            st_msg(err, errlen, path, "__metadata__ is not a valid tensor name");
            return -1;
        }
        for (int j = 0; j < i; j++)
            if (strcmp(e[i].name, e[j].name) == 0) {
                st_msg(err, errlen, path, "duplicate tensor name \"%s\"", e[i].name);
                return -1;
            }
        sizes[i] = (size_t)numel * sizeof(float);
    }
    return 0;
}

/* Header JSON, padded with spaces so the data starts 8-byte aligned. */
static int st_build_header(strbuf *b, const st_entry *e, int n,
                           const size_t *sizes)
{
    size_t at = 0;
    if (strbuf_puts(b, "{\"__metadata__\":{\"format\":\"pt\"}"))
        return -1;
    for (int i = 0; i < n; i++) {
        if (st_put_entry(b, &e[i], at, at + sizes[i]))
            return -1;
        at += sizes[i];
    }
    if (strbuf_puts(b, "}"))
        return -1;
    while ((8 + b->len) % 8 != 0)
        if (strbuf_puts(b, " "))
            return -1;
    return 0;
}

static int st_write_stream(FILE *fp, const strbuf *hdr, const st_entry *e,
                           int n, const size_t *sizes)
{
    uint8_t len8[8];
    uint64_t hl = hdr->len;
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)(hl >> (8 * i));
    if (fwrite(len8, 1, 8, fp) != 8 || fwrite(hdr->p, 1, hdr->len, fp) != hdr->len)
        return -1;
    for (int i = 0; i < n; i++)
        if (sizes[i] && fwrite(e[i].data, 1, sizes[i], fp) != sizes[i])
            return -1;
    return durable_sync_file(fp);
}

static int st_write_tmp(const char *path, const char *tmp, const strbuf *hdr,
                        const st_entry *e, int n, const size_t *sizes,
                        char *err, size_t errlen)
{
    FILE *fp = fopen(tmp, "wbe");
    if (!fp) {
        st_msg(err, errlen, tmp, "cannot create: %s", strerror(errno));
        return -1;
    }
    int rc = st_write_stream(fp, hdr, e, n, sizes);
    int saved = errno;
    if (fclose(fp) != 0 && rc == 0) {
        rc = -1;
        saved = errno;
    }
    if (rc == 0 && rename(tmp, path) != 0) {
        rc = -1;
        saved = errno;
    }
    if (rc != 0) {
        st_msg(err, errlen, path, "write failed: %s", strerror(saved));
        unlink(tmp);
        return -1;
    }
    if (durable_sync_parent(path) != 0) {
        st_msg(err, errlen, path, "cannot sync its directory: %s", strerror(errno));
        return -1;
    }
    return 0;
}

int st_write(const char *path, const st_entry *e, int n, char *err, size_t errlen)
{
    if (n < 0 || (n > 0 && !e)) {
        st_msg(err, errlen, path, "invalid tensor list");
        return -1;
    }
    size_t *sizes = calloc(n > 0 ? (size_t)n : 1, sizeof *sizes);
    char *tmp = malloc(strlen(path) + 5);
    strbuf hdr = STRBUF_INIT;
    int rc = -1;
    if (!sizes || !tmp) {
        st_msg(err, errlen, path, "out of memory");
    } else if (st_check_entries(path, e, n, sizes, err, errlen) == 0) {
        if (st_build_header(&hdr, e, n, sizes) != 0) {
            st_msg(err, errlen, path, "out of memory");
        } else {
            snprintf(tmp, strlen(path) + 5, "%s.tmp", path);
            rc = st_write_tmp(path, tmp, &hdr, e, n, sizes, err, errlen);
        }
    }
    strbuf_free(&hdr);
    free(tmp);
    free(sizes);
    return rc;
}
