/* emb_file.c - the streaming reader of word-vector files (emb_file.h): one
 * fixed buffer refilled as the file is consumed, records found in it
 * without copying, values parsed on request by a locale-free parser. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "text/emb_file.h"
#include "text/tok.h"
#include "util/compat.h"

struct emb_file {
    FILE *fp;
    int own;                 /* fp was opened here */
    char name[512];
    emb_format fmt;
    int dim;
    int64_t declared;        /* the header's count; -1: none */
    uint8_t *buf;
    size_t cap, beg, end;    /* unread bytes are buf[beg..end) */
    int eof;
    uint64_t pos;            /* file offset of buf[beg] */
    uint64_t line;           /* text: the line last read */
    uint64_t records;        /* records returned */
    const uint8_t *word, *vals;
    size_t wlen, vlen;
};

static const char *const format_names[] = {"auto", "bin", "vec", "glove"};

int emb_format_parse(const char *s)
{
    for (int i = 0; i < 4; i++)
        if (strcmp(s, format_names[i]) == 0)
            return i;
    return -1;
}

const char *emb_format_name(emb_format f)
{
    return (unsigned)f < 4 ? format_names[f] : "?";
}

emb_format emb_format_of(const emb_file *f) { return f->fmt; }
int emb_dim(const emb_file *f) { return f->dim; }
int64_t emb_declared(const emb_file *f) { return f->declared; }
const char *emb_name(const emb_file *f) { return f->name; }
uint64_t emb_bytes_read(const emb_file *f) { return f->pos; }

void emb_where(const emb_file *f, char *buf, size_t len)
{
    if (f->fmt == EMB_BIN)
        snprintf(buf, len, "record %llu", (unsigned long long)f->records);
    else
        snprintf(buf, len, "line %llu", (unsigned long long)f->line);
}

/* "FILE: WHERE: " and the message, into err; returns -1. */
static int fail(const emb_file *f, int where, char *err, size_t errlen,
                const char *fmt, ...) PRINTF_LIKE(5, 6);
static int fail(const emb_file *f, int where, char *err, size_t errlen,
                const char *fmt, ...)
{
    char at[48] = "", msg[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (where)
        emb_where(f, at, sizeof at);
    snprintf(err, errlen, "%s: %s%s%s", f->name, at, where ? ": " : "", msg);
    return -1;
}

/* A word for a message: printable ASCII and well-formed UTF-8 (C1
 * controls excepted) as they are, other bytes as \xHH, at most about 40
 * bytes. */
const char *emb_show_word(const uint8_t *w, size_t n, char *buf, size_t len)
{
    size_t o = 0, i = 0;
    while (i < n && o + 8 < len && o < 40) {
        size_t u = w[i] >= 0x80 ? tok_utf8_len(w + i, n - i) : 0;
        int c1 = u == 2 && w[i] == 0xC2 && w[i + 1] < 0xA0;
        if (w[i] >= 0x20 && w[i] < 0x7F)
            buf[o++] = (char)w[i++];
        else if (u > 0 && !c1) {
            memcpy(buf + o, w + i, u);
            o += u;
            i += u;
        } else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", w[i++]);
    }
    snprintf(buf + o, len - o, "%s", i < n ? "..." : "");
    return buf;
}

/* ---- the buffer ---- */

/* Reads more bytes after moving the unread ones to the front.  Returns 0
 * (f->eof set when nothing more came), or -1 on a read error. */
static int fill(emb_file *f, char *err, size_t errlen)
{
    if (f->beg > 0) {
        memmove(f->buf, f->buf + f->beg, f->end - f->beg);
        f->end -= f->beg;
        f->beg = 0;
    }
    if (f->end == f->cap || f->eof)
        return 0;
    size_t got = fread(f->buf + f->end, 1, f->cap - f->end, f->fp);
    if (got == 0 && ferror(f->fp))
        return fail(f, 0, err, errlen, "cannot read: %s", strerror(errno ? errno : EIO));
    if (got == 0)
        f->eof = 1;
    f->end += got;
    return 0;
}

/* Makes at least n bytes available (fewer at the end of the file or when
 * n exceeds the buffer).  Returns 0, or -1 on a read error. */
static int ensure(emb_file *f, size_t n, char *err, size_t errlen)
{
    while (f->end - f->beg < n && !f->eof && !(f->beg == 0 && f->end == f->cap))
        if (fill(f, err, errlen) != 0)
            return -1;
    return 0;
}

static void consume(emb_file *f, size_t n)
{
    f->beg += n;
    f->pos += n;
}

/* The next line (without its newline) into *p, *n.  Returns 1, 0 at the
 * end of the file, or -1 (a line longer than the buffer, a read error). */
static int next_line(emb_file *f, const uint8_t **p, size_t *n, char *err,
                     size_t errlen)
{
    size_t scanned = 0;
    for (;;) {
        const uint8_t *s = f->buf + f->beg;
        const uint8_t *nl = memchr(s + scanned, '\n', f->end - f->beg - scanned);
        if (nl || (f->eof && f->end > f->beg)) {
            *p = s;
            *n = nl ? (size_t)(nl - s) : f->end - f->beg;
            consume(f, *n + (nl != NULL));
            f->line++;
            return 1;
        }
        if (f->eof)
            return 0;
        if (f->beg == 0 && f->end == f->cap) {
            f->line++;
            return fail(f, 1, err, errlen, "longer than %zu bytes", f->cap);
        }
        scanned = f->end - f->beg;
        if (fill(f, err, errlen) != 0)
            return -1;
    }
}

/* ---- numbers ---- */

static int lower_is(const char *s, size_t n, const char *word)
{
    size_t k = strlen(word);
    if (n != k)
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((s[i] | 0x20) != word[i])
            return 0;
    return 1;
}

/* 10^e for 0 <= e <= 22, exact in a double. */
static double pow10_exact(int e)
{
    static const double p[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8,
                               1e9, 1e10, 1e11, 1e12, 1e13, 1e14, 1e15, 1e16,
                               1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    return p[e];
}

/* Up to 19 significant digits in a uint64 and the power of ten they are
 * scaled by: one rounding to double when exact powers do, so the float
 * that follows is the nearest one but in rare halfway cases. */
int emb_parse_float(const char *s, size_t n, float *out)
{
    size_t i = 0;
    int neg = 0, digits = 0, sig = 0;
    long e10 = 0, ex = 0;
    uint64_t m = 0;
    if (i < n && (s[i] == '+' || s[i] == '-'))
        neg = s[i++] == '-';
    if (lower_is(s + i, n - i, "nan") || lower_is(s + i, n - i, "inf")
        || lower_is(s + i, n - i, "infinity")) {
        *out = (s[i] | 0x20) == 'n' ? NAN : neg ? -INFINITY : INFINITY;
        return 0;
    }
    for (int frac = 0; i < n; i++) {
        if (s[i] == '.' && !frac) {
            frac = 1;
            continue;
        }
        if (s[i] < '0' || s[i] > '9')
            break;
        digits++;
        if (m == 0 && s[i] == '0') {
            e10 -= frac;         /* 0.00d: the zeros scale what follows */
            continue;
        }
        if (sig < 19) {
            m = m * 10 + (uint64_t)(s[i] - '0');
            sig++;
            e10 -= frac;
        } else {
            e10 += !frac;        /* a digit past the 19th: only its place */
        }
    }
    if (digits == 0)
        return -1;
    if (i < n && (s[i] == 'e' || s[i] == 'E')) {
        int eneg = 0, ed = 0;
        i++;
        if (i < n && (s[i] == '+' || s[i] == '-'))
            eneg = s[i++] == '-';
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++, ed++)
            if (ex < 100000)
                ex = ex * 10 + (s[i] - '0');
        if (ed == 0)
            return -1;
        e10 += eneg ? -ex : ex;
    }
    if (i != n)
        return -1;
    double v = (double)m;
    if (m == 0)
        v = 0;
    else if (e10 >= 0 && e10 <= 22)
        v *= pow10_exact((int)e10);
    else if (e10 < 0 && e10 >= -22)
        v /= pow10_exact((int)-e10);
    else
        v *= pow(10.0, (double)e10);
    *out = (float)(neg ? -v : v);
    return 0;
}

/* ---- headers and detection ---- */

static int is_sep(uint8_t c) { return c == ' ' || c == '\t'; }

static size_t trim_end(const uint8_t *p, size_t n)
{
    while (n > 0 && (is_sep(p[n - 1]) || p[n - 1] == '\r'))
        n--;
    return n;
}

/* A whole number at p[*i..n) (moving *i past it) into *v, without
 * overflow.  Returns 0, or -1 when there is none or it passes max. */
static int read_count(const uint8_t *p, size_t n, size_t *i, uint64_t max,
                      uint64_t *v)
{
    size_t start = *i;
    *v = 0;
    for (; *i < n && p[*i] >= '0' && p[*i] <= '9'; (*i)++) {
        unsigned d = (unsigned)(p[*i] - '0');
        if (*v > (max - d) / 10)
            return -1;
        *v = *v * 10 + d;
    }
    return *i > start ? 0 : -1;
}

/* Whether the line p[0..n) is a header "COUNT DIM": two whole numbers,
 * separated and surrounded by spaces or tabs.  *big: a header whose
 * numbers are too large. */
static int parse_header(const uint8_t *p, size_t n, uint64_t *count,
                        uint64_t *dim, int *big)
{
    size_t i = 0;
    n = trim_end(p, n);
    *big = 0;
    while (i < n && is_sep(p[i]))
        i++;
    size_t a = i;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    size_t b = i;
    while (i < n && is_sep(p[i]))
        i++;
    size_t c = i;
    while (i < n && p[i] >= '0' && p[i] <= '9')
        i++;
    if (b == a || c == b || i == c || i != n)
        return 0;
    i = a;
    *big = read_count(p, b, &i, INT64_MAX, count) != 0;
    i = c;
    *big |= read_count(p, n, &i, UINT64_MAX, dim) != 0;
    return 1;
}

/* Refuses a header whose count could not fit in what is left of a regular
 * file: each record takes at least min_record bytes. */
static int check_size(emb_file *f, uint64_t min_record, char *err, size_t errlen)
{
    struct stat st;
    int fd = fileno(f->fp);
    if (fd < 0 || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || f->declared <= 0)
        return 0;
    uint64_t left = (uint64_t)st.st_size > f->pos ? (uint64_t)st.st_size - f->pos : 0;
    if ((uint64_t)f->declared <= left / min_record)
        return 0;
    return fail(f, 0, err, errlen, "the header declares %lld vectors of %d values, "
                "at least %.0f bytes, but %llu bytes follow it",
                (long long)f->declared, f->dim, (double)f->declared * (double)min_record,
                (unsigned long long)left);
}

/* After a header: whether the first record's values are text (vec) or
 * float32 (bin).  Text values are made of the characters of decimal
 * numbers and of nan / inf up to the line's end; 4 * DIM bytes of floats
 * almost never are.  An empty file after the header reads as text. */
static int detect_bin(emb_file *f, char *err, size_t errlen)
{
    static const char text[] = "0123456789.+-eE \t\rnNaAiIfFtTyY";
    if (ensure(f, f->cap, err, errlen) != 0)
        return -1;
    const uint8_t *p = f->buf + f->beg, *end = f->buf + f->end;
    while (p < end && (*p == '\n' || *p == '\r'))
        p++;
    const uint8_t *sp = memchr(p, ' ', (size_t)(end - p));
    if (!sp)
        return p < end;          /* no space at all: not a text line */
    size_t look = (size_t)(end - sp - 1);
    if (look > 64)
        look = 64;
    for (size_t i = 1; i <= look && sp[i] != '\n'; i++)
        if (!memchr(text, sp[i], sizeof text - 1) || sp[i] == '\0')
            return 1;
    return 0;
}

/* GloVe: the dimension is the count of fields after the first on the
 * first line p[0..n), which must all be numbers (a file that is none of
 * the formats fails here). */
static int detect_glove(emb_file *f, const uint8_t *p, size_t n, char *err,
                        size_t errlen)
{
    size_t i = 0, fields = 0;
    float v;
    n = trim_end(p, n);
    while (i < n) {
        while (i < n && is_sep(p[i]))
            i++;
        size_t s = i;
        while (i < n && !is_sep(p[i]))
            i++;
        if (i > s && fields++ > 0 && emb_parse_float((const char *)p + s, i - s, &v) != 0) {
            char w[64];
            return fail(f, 1, err, errlen, "not a header \"COUNT DIM\" nor a word and "
                        "its values ('%s' is not a number)",
                        emb_show_word(p + s, i - s, w, sizeof w));
        }
    }
    if (fields < 2)
        return fail(f, 1, err, errlen, "not a header \"COUNT DIM\" nor a word and "
                    "its values (%zu field%s)", fields, fields == 1 ? "" : "s");
    if (fields - 1 > EMB_MAX_DIM)
        return fail(f, 1, err, errlen, "%zu values; at most %d are allowed",
                    fields - 1, EMB_MAX_DIM);
    f->dim = (int)(fields - 1);
    return 0;
}

/* A text file holds no NUL byte: one in the buffer's first 64 KiB past
 * from means binary data, as after a word2vec binary file's bad header. */
static int no_nul(emb_file *f, size_t from, char *err, size_t errlen)
{
    size_t n = f->end > from ? f->end - from : 0;
    if (!memchr(f->buf + from, '\0', n < 65536 ? n : 65536))
        return 0;
    return fail(f, 0, err, errlen, "holds NUL bytes near its start: not a text "
                "vector file (a word2vec binary file starts with a header "
                "\"COUNT DIM\")");
}

/* Reads the header (or detects GloVe) and settles the format. */
static int read_start(emb_file *f, emb_format want, char *err, size_t errlen)
{
    const uint8_t *p;
    size_t n;
    uint64_t count, dim;
    int big, r;
    if (ensure(f, f->cap, err, errlen) != 0)
        return -1;
    uint64_t at = f->pos;
    size_t at_beg = f->beg;
    if ((r = next_line(f, &p, &n, err, errlen)) < 0)
        return -1;
    if (r == 0)
        return fail(f, 0, err, errlen, "is empty");
    int header = parse_header(p, n, &count, &dim, &big);
    if (want == EMB_GLOVE || (want == EMB_AUTO && !header)) {
        f->fmt = EMB_GLOVE;
        if (detect_glove(f, p, n, err, errlen) != 0 || no_nul(f, at_beg, err, errlen) != 0)
            return -1;
        /* the first line is the first record: read it again (the buffer,
         * filled above, still holds it) */
        f->beg = at_beg;
        f->pos = at;
        f->line = 0;
        return 0;
    }
    if (!header) {
        char w[64];
        return fail(f, 1, err, errlen, "not a header \"COUNT DIM\" ('%s'), as the %s "
                    "format starts with", emb_show_word(p, trim_end(p, n), w, sizeof w),
                    emb_format_name(want));
    }
    if (big || dim == 0 || dim > EMB_MAX_DIM)
        return fail(f, 1, err, errlen, "the header's %s is out of range (count up "
                    "to %lld, dimension 1 to %d)", big && dim <= EMB_MAX_DIM
                    ? "count" : "dimension", (long long)INT64_MAX, EMB_MAX_DIM);
    f->declared = (int64_t)count;
    f->dim = (int)dim;
    f->fmt = want;
    if (want == EMB_AUTO) {
        if ((r = detect_bin(f, err, errlen)) < 0)
            return -1;
        f->fmt = r ? EMB_BIN : EMB_VEC;
    }
    if (f->fmt == EMB_VEC && no_nul(f, f->beg, err, errlen) != 0)
        return -1;
    /* a record takes a byte of word, a space and its values: 4 bytes each
     * in binary, a digit and a space each in text */
    return check_size(f, f->fmt == EMB_BIN ? 2 + 4 * dim : 2 + 2 * dim, err, errlen);
}

emb_file *emb_open_stream(FILE *fp, const char *name, emb_format format,
                          size_t buffer, char *err, size_t errlen)
{
    emb_file *f = calloc(1, sizeof *f);
    if (buffer == 0)
        buffer = EMB_BUFFER;
    if (buffer < 64)
        buffer = 64;
    if (!f || !(f->buf = malloc(buffer))) {
        free(f);
        snprintf(err, errlen, "%s: out of memory for its buffer", name);
        return NULL;
    }
    f->fp = fp;
    f->cap = buffer;
    f->declared = -1;
    snprintf(f->name, sizeof f->name, "%s", name);
    if ((unsigned)format > EMB_GLOVE) {
        snprintf(err, errlen, "%s: unknown format %d", name, (int)format);
        emb_close(f);
        return NULL;
    }
    if (read_start(f, format, err, errlen) != 0) {
        emb_close(f);
        return NULL;
    }
    return f;
}

emb_file *emb_open(const char *path, emb_format format, size_t buffer,
                   char *err, size_t errlen)
{
    struct stat st;
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) == 0 && S_ISDIR(st.st_mode)) {
        fclose(fp);
        snprintf(err, errlen, "%s: is a directory", path);
        return NULL;
    }
    emb_file *f = emb_open_stream(fp, path, format, buffer, err, errlen);
    if (!f) {
        fclose(fp);
        return NULL;
    }
    f->own = 1;
    return f;
}

void emb_close(emb_file *f)
{
    if (!f)
        return;
    if (f->own)
        fclose(f->fp);
    free(f->buf);
    free(f);
}

/* ---- records ---- */

/* The fields of p[0..n): the bytes that follow a separator (or start the
 * line) and are none.  Written without a carried state so that the
 * compiler vectorises it: this runs over every byte of every line. */
static size_t count_fields(const uint8_t *p, size_t n)
{
    size_t c = n > 0 && !is_sep(p[0]);
    for (size_t i = 1; i < n; i++)
        c += !(p[i] == ' ' || p[i] == '\t') & (p[i - 1] == ' ' || p[i - 1] == '\t');
    return c;
}

/* Splits a text line into the word and the last DIM fields. */
static int split_line(emb_file *f, const uint8_t *p, size_t n, char *err,
                      size_t errlen)
{
    size_t e = n, s = n;
    if (count_fields(p, n) == (size_t)f->dim + 1) {
        /* the common line: a word without spaces, then DIM values */
        size_t w0 = 0, w1, v0;
        while (is_sep(p[w0]))
            w0++;
        for (w1 = w0; !is_sep(p[w1]); w1++)
            ;
        for (v0 = w1; is_sep(p[v0]); v0++)
            ;
        f->word = p + w0;
        f->wlen = w1 - w0;
        f->vals = p + v0;
        f->vlen = n - v0;
        return 0;
    }
    for (int k = 0; k < f->dim; k++) {
        s = e;
        while (s > 0 && !is_sep(p[s - 1]))
            s--;
        e = s;
        while (e > 0 && is_sep(p[e - 1]))
            e--;
        if (e == 0) {            /* the first field was taken for a value */
            char w[64];
            size_t first = 0;
            while (first < n && !is_sep(p[first]))
                first++;
            return fail(f, 1, err, errlen, "%d value%s after the word '%s', not %d",
                        k, k == 1 ? "" : "s", emb_show_word(p, first, w, sizeof w),
                        f->dim);
        }
    }
    size_t w0 = 0;
    while (w0 < e && is_sep(p[w0]))
        w0++;
    if (w0 == e)
        return fail(f, 1, err, errlen, "%d values and no word", f->dim);
    /* With a header (vec) DIM is given, so the last DIM fields are the
     * values and all before them the word, even one whose last part is a
     * number ("page 2").  Without one (GloVe) DIM came from the first line,
     * and a line whose word ends in a number reads as one with more values
     * than that: refused, as the likelier fault. */
    size_t last = e, before;
    while (last > w0 && !is_sep(p[last - 1]))
        last--;
    for (before = last; before > w0 && is_sep(p[before - 1]);)
        before--;
    float v;
    if (f->declared < 0 && last > w0 &&
        emb_parse_float((const char *)p + last, e - last, &v) == 0) {
        char w[64];
        return fail(f, 1, err, errlen, "more than %d values after the word '%s'",
                    f->dim, emb_show_word(p + w0, before - w0, w, sizeof w));
    }
    f->word = p + w0;
    f->wlen = e - w0;
    f->vals = p + s;
    f->vlen = n - s;
    return 0;
}

static int next_text(emb_file *f, char *err, size_t errlen)
{
    const uint8_t *p;
    size_t n;
    int r;
    while ((r = next_line(f, &p, &n, err, errlen)) == 1 && (n = trim_end(p, n)) == 0)
        ;
    if (r < 0)
        return -1;
    if (r == 0) {
        if (f->declared >= 0 && f->records < (uint64_t)f->declared)
            return fail(f, 0, err, errlen, "ends after %llu of the %lld vectors its "
                        "header declares (cut short?)", (unsigned long long)f->records,
                        (long long)f->declared);
        return 0;
    }
    if (f->declared >= 0 && f->records >= (uint64_t)f->declared)
        return fail(f, 1, err, errlen, "more vectors than the %lld the header declares",
                    (long long)f->declared);
    if (split_line(f, p, n, err, errlen) != 0)
        return -1;
    if (f->wlen > EMB_MAX_WORD)
        return fail(f, 1, err, errlen, "a word of %zu bytes; at most %d are allowed",
                    f->wlen, EMB_MAX_WORD);
    f->records++;
    return 1;
}

/* Past the last record: only whitespace may follow. */
static int bin_end(emb_file *f, char *err, size_t errlen)
{
    for (;;) {
        for (; f->beg < f->end; consume(f, 1))
            if (!strchr(" \t\r\n", f->buf[f->beg]) || f->buf[f->beg] == '\0')
                return fail(f, 0, err, errlen, "data after the %lld records the "
                            "header declares (at byte %llu)", (long long)f->declared,
                            (unsigned long long)f->pos);
        if (f->eof)
            return 0;
        if (fill(f, err, errlen) != 0)
            return -1;
    }
}

static int cut_short(emb_file *f, char *err, size_t errlen)
{
    f->records++;
    return fail(f, 1, err, errlen, "cut short: the file ends at byte %llu, in "
                "record %llu of the %lld the header declares",
                (unsigned long long)(f->pos + (f->end - f->beg)),
                (unsigned long long)f->records, (long long)f->declared);
}

static int next_bin(emb_file *f, char *err, size_t errlen)
{
    if (f->records >= (uint64_t)f->declared)
        return bin_end(f, err, errlen);
    for (;;) {                   /* newlines between records */
        while (f->beg < f->end && (f->buf[f->beg] == '\n' || f->buf[f->beg] == '\r'))
            consume(f, 1);
        if (f->beg < f->end || f->eof)
            break;
        if (fill(f, err, errlen) != 0)
            return -1;
    }
    if (ensure(f, EMB_MAX_WORD + 1, err, errlen) != 0)
        return -1;
    size_t have = f->end - f->beg, look = have < EMB_MAX_WORD + 1 ? have : EMB_MAX_WORD + 1;
    const uint8_t *sp = memchr(f->buf + f->beg, ' ', look);
    if (!sp && have > EMB_MAX_WORD) {
        f->records++;
        return fail(f, 1, err, errlen, "no space within %d bytes: a word is longer "
                    "than that, or the file is not word2vec binary", EMB_MAX_WORD);
    }
    if (!sp)
        return cut_short(f, err, errlen);
    size_t wlen = (size_t)(sp - (f->buf + f->beg));
    size_t need = wlen + 1 + 4 * (size_t)f->dim;
    if (wlen == 0) {
        f->records++;
        return fail(f, 1, err, errlen, "an empty word");
    }
    if (need > f->cap) {
        f->records++;
        return fail(f, 1, err, errlen, "%zu bytes do not fit the buffer of %zu",
                    need, f->cap);
    }
    if (ensure(f, need, err, errlen) != 0)
        return -1;
    if (f->end - f->beg < need)
        return cut_short(f, err, errlen);
    f->word = f->buf + f->beg;
    f->wlen = wlen;
    f->vals = f->word + wlen + 1;
    f->vlen = 4 * (size_t)f->dim;
    consume(f, need);
    f->records++;
    return 1;
}

int emb_next(emb_file *f, const uint8_t **word, size_t *len, char *err,
             size_t errlen)
{
    int r = f->fmt == EMB_BIN ? next_bin(f, err, errlen) : next_text(f, err, errlen);
    if (r == 1) {
        *word = f->word;
        *len = f->wlen;
    }
    return r;
}

static int bad_value(const emb_file *f, int k, float v, const uint8_t *s,
                     size_t n, char *err, size_t errlen)
{
    char w[64], t[64];
    emb_show_word(f->word, f->wlen, w, sizeof w);
    if (s && !isnan(v) && !isinf(v))
        return fail(f, 1, err, errlen, "value %d of '%s' ('%s') is not a number",
                    k + 1, w, emb_show_word(s, n, t, sizeof t));
    return fail(f, 1, err, errlen, "value %d of '%s' is %s", k + 1, w,
                isnan(v) ? "NaN" : "infinite (or beyond the float range)");
}

int emb_vector(emb_file *f, float *out, char *err, size_t errlen)
{
    if (f->fmt == EMB_BIN) {
        for (int k = 0; k < f->dim; k++) {
            const uint8_t *b = f->vals + 4 * (size_t)k;
            uint32_t u = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16
                         | (uint32_t)b[3] << 24;
            memcpy(&out[k], &u, sizeof u);
            if (!isfinite(out[k]))
                return bad_value(f, k, out[k], NULL, 0, err, errlen);
        }
        return 0;
    }
    const uint8_t *p = f->vals, *end = f->vals + f->vlen;
    for (int k = 0; k < f->dim; k++) {
        while (p < end && is_sep(*p))
            p++;
        const uint8_t *s = p;
        while (p < end && !is_sep(*p))
            p++;
        float v = 0;
        if (emb_parse_float((const char *)s, (size_t)(p - s), &v) != 0 || !isfinite(v))
            return bad_value(f, k, v, s, (size_t)(p - s), err, errlen);
        out[k] = v;
    }
    return 0;
}
