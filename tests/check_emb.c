/* check_emb.c - unit tests for the word-vector reader (text/emb_file.c)
 * and the filling of a vocabulary's rows (text/emb_match.c): the three
 * formats of tests/data/emb-small.*, matching rules, buffer boundaries,
 * the number parser and each kind of hostile file. */
#include <check.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "text/emb_file.h"
#include "text/emb_match.h"
#include "text/tok.h"
#include "util/rng.h"

/* The text the test vocabulary is built from: <unk> <eos> the The cat dog
 * mat on sat. */
static const char words[] = "the cat sat on the mat\nThe dog\n";

static tok_vocab *word_vocab(void)
{
    tok_options o = tok_options_default();
    char err[256];
    o.kind = TOK_WORD;
    tok_vocab *v = tok_build(&o, (const uint8_t *)words, strlen(words), err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    return v;
}

/* The id of word in v (tok_encode of the word alone). */
static uint32_t id_of(const tok_vocab *v, const char *w)
{
    for (uint32_t id = 0; id < tok_size(v); id++) {
        size_t n;
        const uint8_t *b = tok_bytes(v, id, &n);
        if (n == strlen(w) && memcmp(b, w, n) == 0)
            return id;
    }
    ck_abort_msg("no token '%s'", w);
    return 0;
}

/* Opens tests/data/NAME (or a path) and fills rows (set to 42 first) from
 * it for v; returns emb_fill's result, the report and the message. */
static int fill_from(const char *path, emb_format fmt, size_t buffer,
                     const tok_vocab *v, int fold, float **rows, emb_report *rep,
                     char *err, size_t errlen)
{
    emb_file *f = emb_open(path, fmt, buffer, err, errlen);
    if (!f)
        return -2;
    size_t n = (size_t)tok_size(v) * (size_t)emb_dim(f);
    *rows = malloc(n * sizeof(float));
    ck_assert_ptr_nonnull(*rows);
    for (size_t i = 0; i < n; i++)
        (*rows)[i] = 42.0f;
    int rc = emb_fill(f, v, fold, *rows, rep, err, errlen);
    emb_close(f);
    return rc;
}

static void check_row(const float *rows, uint32_t id, const float *want)
{
    for (int k = 0; k < 4; k++)
        ck_assert_msg(rows[id * 4 + k] == want[k], "row %u value %d: %g, not %g",
                      id, k, (double)rows[id * 4 + k], (double)want[k]);
}

START_TEST(test_formats_agree)
{
    static const char *names[] = {"emb-small.vec", "emb-small.glove", "emb-small.bin"};
    static const emb_format want[] = {EMB_VEC, EMB_GLOVE, EMB_BIN};
    static const float the[] = {0.5f, -1.25f, 3, 0.125f}, cat[] = {1, 2, 3, 4},
                       eos[] = {0, 0, 0, 1}, sat[] = {0.1f, 0.2f, 0.3f, 0.4f},
                       untouched[] = {42, 42, 42, 42};
    char path[4096], err[512];
    tok_vocab *v = word_vocab();
    for (int i = 0; i < 3; i++) {
        float *rows;
        emb_report rep;
        fx_data_file(path, sizeof path, names[i]);
        emb_file *f = emb_open(path, EMB_AUTO, 0, err, sizeof err);
        ck_assert_msg(f != NULL, "%s", err);
        ck_assert_int_eq(emb_format_of(f), want[i]);
        ck_assert_int_eq(emb_dim(f), 4);
        ck_assert_int_eq(emb_declared(f), want[i] == EMB_GLOVE ? -1 : 8);
        emb_close(f);
        ck_assert_msg(fill_from(path, EMB_AUTO, 0, v, 0, &rows, &rep, err, sizeof err) == 0,
                      "%s", err);
        ck_assert_uint_eq(rep.tokens, tok_size(v));
        ck_assert_uint_eq(rep.records, 8);
        ck_assert_uint_eq(rep.found, 4);          /* the cat <eos> sat */
        ck_assert_uint_eq(rep.folded, 0);
        ck_assert_uint_eq(rep.duplicates, 1);     /* the second "the" */
        ck_assert_msg(strstr(rep.first_duplicate, "'the'")
                      && strstr(rep.first_duplicate, want[i] == EMB_BIN ? "record 6" : "line"),
                      "%s", rep.first_duplicate);
        check_row(rows, id_of(v, "the"), the);    /* the first "the" wins */
        check_row(rows, id_of(v, "cat"), cat);
        check_row(rows, tok_eos(v), eos);         /* from </s> */
        check_row(rows, id_of(v, "sat"), sat);
        check_row(rows, id_of(v, "The"), untouched);
        check_row(rows, id_of(v, "dog"), untouched);
        check_row(rows, tok_unk(v), untouched);
        free(rows);
    }
    tok_free(v);
}
END_TEST

/* Folding: The and dog take the first word equal but for case. */
START_TEST(test_fold)
{
    static const float the[] = {0.5f, -1.25f, 3, 0.125f}, dog[] = {-1, -2, -3, -4};
    char path[4096], err[512];
    float *rows;
    emb_report rep;
    tok_vocab *v = word_vocab();
    fx_data_file(path, sizeof path, "emb-small.vec");
    ck_assert_msg(fill_from(path, EMB_AUTO, 0, v, 1, &rows, &rep, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(rep.found, 6);
    ck_assert_uint_eq(rep.folded, 2);
    check_row(rows, id_of(v, "The"), the);        /* "the" comes before "THE" */
    check_row(rows, id_of(v, "dog"), dog);
    check_row(rows, id_of(v, "the"), the);        /* exact still wins */
    free(rows);
    tok_free(v);
}
END_TEST

/* Every buffer size from the smallest gives the same rows: records cut
 * by the buffer's end at every offset. */
START_TEST(test_buffer_sizes)
{
    static const char *names[] = {"emb-small.vec", "emb-small.glove", "emb-small.bin"};
    char path[4096], err[512];
    tok_vocab *v = word_vocab();
    for (int i = 0; i < 3; i++) {
        float *ref, *rows;
        emb_report rep;
        fx_data_file(path, sizeof path, names[i]);
        ck_assert_int_eq(fill_from(path, EMB_AUTO, 0, v, 1, &ref, &rep, err, sizeof err), 0);
        for (size_t b = 64; b < 200; b++) {
            ck_assert_msg(fill_from(path, EMB_AUTO, b, v, 1, &rows, &rep, err, sizeof err) == 0,
                          "%s with a buffer of %zu: %s", names[i], b, err);
            ck_assert_uint_eq(rep.found, 6);
            ck_assert(memcmp(rows, ref, (size_t)tok_size(v) * 4 * sizeof(float)) == 0);
            free(rows);
        }
        free(ref);
    }
    tok_free(v);
}
END_TEST

START_TEST(test_parse_float)
{
    static const struct { const char *s; float v; } good[] = {
        {"0.1", 0.1f}, {"-1.5e-3", -1.5e-3f}, {"1.", 1.0f}, {".5", 0.5f},
        {"+00012.50", 12.5f}, {"1E+2", 100.0f}, {"-0", -0.0f}, {"0.000", 0.0f},
        {"3.14159265358979323846264", 3.14159265358979f}, {"1e-50", 0.0f},
        {"123456789012345678901234567890", 1.2345679e29f}, {"0.00123", 0.00123f},
    };
    static const char *bad[] = {"", "-", ".", "1e", "1e+", "0x10", "1,5", "1.2.3", "abc", "1 2"};
    float v;
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        ck_assert_msg(emb_parse_float(good[i].s, strlen(good[i].s), &v) == 0, "%s", good[i].s);
        ck_assert_msg(v == good[i].v, "%s: %.9g, not %.9g", good[i].s, (double)v,
                      (double)good[i].v);
    }
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        ck_assert_msg(emb_parse_float(bad[i], strlen(bad[i]), &v) != 0, "'%s' read", bad[i]);
    ck_assert(emb_parse_float("NaN", 3, &v) == 0 && isnan(v));
    ck_assert(emb_parse_float("-Infinity", 9, &v) == 0 && isinf(v) && v < 0);
    ck_assert(emb_parse_float("1e40", 4, &v) == 0 && isinf(v));
    /* every float printed with 9 digits reads back to the same bits */
    rng_state r;
    rng_seed(&r, 7);
    for (int i = 0; i < 100000; i++) {
        uint32_t u = (uint32_t)(rng_next(&r) >> 32);
        float x, y;
        char s[64];
        memcpy(&x, &u, sizeof x);
        if (!isfinite(x) || fabsf(x) < 1e-30f)
            continue;
        snprintf(s, sizeof s, "%.9g", (double)x);
        ck_assert_int_eq(emb_parse_float(s, strlen(s), &y), 0);
        ck_assert_msg(memcmp(&x, &y, sizeof x) == 0, "%s read as %.9g", s, (double)y);
    }
}
END_TEST

/* ---- hostile files: each a one-line error naming the file and where ---- */

static char tmpdir[4096];

static void setup(void)
{
    ck_assert_ptr_nonnull(fx_temp_dir(tmpdir, sizeof tmpdir, "rnnlab-emb"));
}

static void teardown(void)
{
    fx_remove_tree(tmpdir);
}

/* Writes len bytes to a file in the scratch directory and reads it with
 * format fmt for the test vocabulary; the result must be an error that
 * contains each of the NULL-terminated strings. */
static void refused(const void *data, size_t len, emb_format fmt, ...)
{
    char path[4200], err[512] = "";
    float *rows = NULL;
    emb_report rep;
    va_list ap;
    snprintf(path, sizeof path, "%s/bad.vec", tmpdir);
    fx_write_file(path, data, len);
    tok_vocab *v = word_vocab();
    int rc = fill_from(path, fmt, 0, v, 1, &rows, &rep, err, sizeof err);
    free(rows);
    tok_free(v);
    ck_assert_msg(rc != 0, "accepted: %.*s", (int)(len < 80 ? len : 80), (const char *)data);
    ck_assert_msg(strncmp(err, path, strlen(path)) == 0, "does not name the file: %s", err);
    ck_assert_msg(!strchr(err, '\n'), "more than a line: %s", err);
    va_start(ap, fmt);
    for (const char *s; (s = va_arg(ap, const char *)) != NULL;)
        ck_assert_msg(strstr(err, s), "'%s' not in: %s", s, err);
    va_end(ap);
}

#define REFUSED(text, fmt, ...) refused(text, sizeof text - 1, fmt, __VA_ARGS__, (char *)NULL)

START_TEST(test_hostile_text)
{
    REFUSED("", EMB_AUTO, "is empty");
    REFUSED("3 4\nthe 1.0 2.0 3.0 4.0\ncat 1.0 2.0 3.0 4.0\n", EMB_AUTO, "ends after 2 of the 3");
    REFUSED("1 4\nthe 1 2 3 4\ncat 1 2 3 4\n", EMB_AUTO, "line 3", "more vectors than the 1");
    REFUSED("2 4\nthe 1 2 3 4\ncat 1 2 3\n", EMB_AUTO, "line 3", "3 values after the word 'cat', not 4");
    /* without a header a word ending in a number reads as a value too many
     * (with one it is a word: test_vec_number_word) */
    REFUSED("the 1 2 3 4\ncat 1 2 3 4 5\n", EMB_AUTO, "line 2", "more than 4 values", "'cat'");
    REFUSED("the 1 2 3 4\ncat 1 x 3 4\n", EMB_AUTO, "line 2", "value 2 of 'cat' ('x') is not a number");
    REFUSED("the 1 2 3 4\ncat 1 2 nan 4\n", EMB_AUTO, "line 2", "value 3 of 'cat' is NaN");
    REFUSED("the 1 2 3 -inf\n", EMB_AUTO, "line 1", "value 4 of 'the' is infinite");
    REFUSED("the 1 2 3 1e39\n", EMB_AUTO, "line 1", "infinite");
    REFUSED("the 1 two 3\n", EMB_AUTO, "line 1", "not a header", "'two'");
    REFUSED("2 0\n", EMB_AUTO, "line 1", "out of range");
    REFUSED("2 70000\n", EMB_AUTO, "line 1", "dimension", "out of range");
    REFUSED("99999999999999999999999 4\nthe 1 2 3 4\n", EMB_AUTO, "count", "out of range");
    REFUSED("99999999999 4\nthe 1 2 3 4\n", EMB_AUTO, "declares 99999999999 vectors");
    REFUSED("glove 1 2\n", EMB_VEC, "line 1", "not a header");
    REFUSED("1 3\n0.5 0.5 0.5\n", EMB_AUTO, "line 2", "2 values after the word '0.5', not 3");
}
END_TEST

/* A text line longer than the buffer, and a word longer than the bound. */
START_TEST(test_hostile_long)
{
    char path[4200], err[512];
    size_t n = EMB_MAX_WORD + 100;
    char *line = malloc(n + 16);
    ck_assert_ptr_nonnull(line);
    memset(line, 'w', n);
    memcpy(line + n, " 1 2 3 4\n", 10);
    snprintf(path, sizeof path, "%s/long.txt", tmpdir);
    fx_write_file(path, line, strlen(line));
    emb_file *f = emb_open(path, EMB_AUTO, 64, err, sizeof err);
    ck_assert_ptr_null(f);
    ck_assert_msg(strstr(err, "line 1: longer than 64 bytes"), "%s", err);
    f = emb_open(path, EMB_AUTO, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    const uint8_t *w;
    size_t len;
    ck_assert_int_eq(emb_next(f, &w, &len, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "line 1: a word of") && strstr(err, "at most 4096"), "%s", err);
    emb_close(f);
    free(line);
}
END_TEST

/* A binary record: the word, a space and four floats. */
static size_t bin_record(uint8_t *out, const char *word, const float *v)
{
    size_t n = strlen(word);
    memcpy(out, word, n);
    out[n] = ' ';
    for (int k = 0; k < 4; k++) {
        uint32_t u;
        memcpy(&u, &v[k], 4);
        for (int b = 0; b < 4; b++)
            out[n + 1 + 4 * k + b] = (uint8_t)(u >> (8 * b));
    }
    return n + 17;
}

START_TEST(test_hostile_bin)
{
    static const float ok[] = {1, 2, 3, 4};
    float bad[] = {1, 2, 3, 4};
    uint8_t b[8192];
    size_t n;
    memcpy(b, "2 4\n", 4);
    n = 4 + bin_record(b + 4, "the", ok);
    n += bin_record(b + n, "cat", ok);
    refused(b, n - 2, EMB_AUTO, "record 2", "cut short", (char *)NULL);
    refused(b, n - 2, EMB_BIN, "record 2", "cut short", (char *)NULL);
    memcpy(b + n, "\nxyz", 4);
    refused(b, n + 4, EMB_AUTO, "data after the 2 records", (char *)NULL);
    bad[2] = NAN;
    bin_record(b + 4 + 20, "cat", bad);
    refused(b, n, EMB_AUTO, "record 2", "value 3 of 'cat' is NaN", (char *)NULL);
    bad[2] = INFINITY;
    bin_record(b + 4 + 20, "cat", bad);
    refused(b, n, EMB_BIN, "record 2", "infinite", (char *)NULL);
    memcpy(b, "x 4\n", 4);
    refused(b, n, EMB_BIN, "line 1", "not a header", (char *)NULL);
    refused(b, n, EMB_AUTO, "NUL bytes", (char *)NULL);
    refused(b, n, EMB_VEC, "line 1", "not a header", (char *)NULL);
    memcpy(b, "2 4\n", 4);
    refused(b, n, EMB_VEC, "NUL bytes", (char *)NULL);
    memcpy(b, "9 4\n", 4);                       /* 9 records need 162 bytes */
    refused(b, n, EMB_AUTO, "declares 9 vectors of 4 values", (char *)NULL);
    memcpy(b, "1 4\n", 4);
    memset(b + 4, 'w', EMB_MAX_WORD + 10);
    refused(b, 4 + EMB_MAX_WORD + 30, EMB_BIN, "record 1", "no space within 4096 bytes",
            (char *)NULL);
    memcpy(b, "1 4\n the", 8);
    refused(b, 4 + 20, EMB_BIN, "record 1", "an empty word", (char *)NULL);
}
END_TEST

/* Writes text (len bytes) to tmpdir/name and opens it; it must read as
 * a .vec file. */
static emb_file *open_vec_text(const char *name, const char *text, size_t len)
{
    char path[4200], err[512];
    snprintf(path, sizeof path, "%s/%s", tmpdir, name);
    fx_write_file(path, text, len);
    emb_file *f = emb_open(path, EMB_AUTO, 0, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    ck_assert_int_eq(emb_format_of(f), EMB_VEC);
    return f;
}

/* Line ends in "\r\n", blank lines and tabs are taken. */
START_TEST(test_text_variants)
{
    static const char text[] = "2 4\r\n\r\nthe\t1 2 3 4 \r\n\n. . .  5 6 7 8\r\n";
    char err[512];
    const uint8_t *w;
    size_t len;
    float v[4];
    emb_file *f = open_vec_text("crlf.vec", text, sizeof text - 1);
    ck_assert_int_eq(emb_next(f, &w, &len, err, sizeof err), 1);
    ck_assert(len == 3 && memcmp(w, "the", 3) == 0);
    ck_assert_int_eq(emb_vector(f, v, err, sizeof err), 0);
    ck_assert(v[0] == 1 && v[3] == 4);
    ck_assert_int_eq(emb_next(f, &w, &len, err, sizeof err), 1);
    ck_assert_msg(len == 5 && memcmp(w, ". . .", 5) == 0, "%.*s", (int)len, w);
    ck_assert_int_eq(emb_vector(f, v, err, sizeof err), 0);
    ck_assert(v[0] == 5 && v[3] == 8);
    ck_assert_int_eq(emb_next(f, &w, &len, err, sizeof err), 0);
    emb_close(f);
}
END_TEST

/* A .vec header gives DIM, so a line is split from the right: a word
 * whose last part looks like a number ("page 2", fastText's words with
 * spaces) is a word, and so is a word that is a number alone. */
START_TEST(test_vec_number_word)
{
    static const char text[] = "3 2\npage 2 0.5 1.5\n7 3 4\nx y 1e3 5 6\n";
    static const char *const want[] = {"page 2", "7", "x y 1e3"};
    static const float first[] = {0.5f, 3, 5};
    char err[512];
    const uint8_t *w;
    size_t len;
    float v[2];
    emb_file *f = open_vec_text("numword.vec", text, sizeof text - 1);
    for (int i = 0; i < 3; i++) {
        ck_assert_msg(emb_next(f, &w, &len, err, sizeof err) == 1, "%s", err);
        ck_assert_msg(len == strlen(want[i]) && memcmp(w, want[i], len) == 0,
                      "word %d: '%.*s'", i, (int)len, (const char *)w);
        ck_assert_msg(emb_vector(f, v, err, sizeof err) == 0, "%s", err);
        ck_assert(v[0] == first[i] && v[1] == first[i] + 1);
    }
    ck_assert_int_eq(emb_next(f, &w, &len, err, sizeof err), 0);
    emb_close(f);
}
END_TEST

/* Folding lowers both sides with the word tokenizer's Unicode map: ÉCOLE
 * meets école, Дом meets ДОМ; Georgian, which the map leaves alone, only
 * matches exactly. */
START_TEST(test_fold_unicode)
{
    static const char text[] = "3 4\n\xc3\xa9" "cole 1 2 3 4\n\xd0\x94\xd0\x9e\xd0\x9c 5 6 7 8\n"
                               "\xe1\x82\xa0 9 9 9 9\n";
    static const float ecole[] = {1, 2, 3, 4}, dom[] = {5, 6, 7, 8}, none[] = {42, 42, 42, 42};
    char path[4200], err[512];
    tok_options o = tok_options_default();
    o.kind = TOK_WORD;
    const char *vt = "\xc3\x89" "COLE \xd0\x94\xd0\xbe\xd0\xbc \xe2\xb4\x80\n";
    tok_vocab *v = tok_build(&o, (const uint8_t *)vt, strlen(vt), err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/fold.vec", tmpdir);
    fx_write_file(path, text, sizeof text - 1);
    float *rows;
    emb_report rep;
    ck_assert_msg(fill_from(path, EMB_AUTO, 0, v, 1, &rows, &rep, err, sizeof err) == 0,
                  "%s", err);
    ck_assert_uint_eq(rep.found, 2);
    ck_assert_uint_eq(rep.folded, 2);
    check_row(rows, id_of(v, "\xc3\x89" "COLE"), ecole);
    check_row(rows, id_of(v, "\xd0\x94\xd0\xbe\xd0\xbc"), dom);
    check_row(rows, id_of(v, "\xe2\xb4\x80"), none);
    free(rows);
    tok_free(v);
}
END_TEST

/* A character vocabulary matches characters; a BPE token that starts with
 * a space matches "▁" and the rest. */
START_TEST(test_char_and_bpe)
{
    static const char text[] = "ab ab ab ab ab ab ab ab ab ab \xc3\xa9";
    char path[4200], err[512], line[256];
    float *rows;
    emb_report rep;
    tok_options o = tok_options_default();
    tok_vocab *c = tok_build(&o, (const uint8_t *)text, sizeof text - 1, err, sizeof err);
    ck_assert_msg(c != NULL, "%s", err);
    snprintf(path, sizeof path, "%s/chars.txt", tmpdir);
    fx_write_text(path, "a 1 2 3 4\n\xc3\xa9 5 6 7 8\nz 0 0 0 0\n", 1);
    ck_assert_msg(fill_from(path, EMB_AUTO, 0, c, 0, &rows, &rep, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(rep.found, 2);
    free(rows);
    tok_free(c);

    o.kind = TOK_BPE;
    o.bpe_vocab = 260;
    tok_vocab *b = tok_build(&o, (const uint8_t *)text, sizeof text - 1, err, sizeof err);
    ck_assert_msg(b != NULL, "%s", err);
    uint32_t spaced = TOK_NO_ID;
    for (uint32_t id = 256; id < tok_size(b) && spaced == TOK_NO_ID; id++) {
        size_t n;
        const uint8_t *t = tok_bytes(b, id, &n);
        if (n > 1 && t[0] == ' ')
            spaced = id;
    }
    ck_assert_msg(spaced != TOK_NO_ID, "no merge starts with a space");
    size_t n;
    const uint8_t *t = tok_bytes(b, spaced, &n);
    snprintf(line, sizeof line, "\xe2\x96\x81%.*s 9 9 9 9\n", (int)n - 1, (const char *)t + 1);
    fx_write_text(path, line, 1);
    ck_assert_msg(fill_from(path, EMB_AUTO, 0, b, 0, &rows, &rep, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(rep.found, 1);
    ck_assert(rows[(size_t)spaced * 4] == 9.0f);
    free(rows);
    tok_free(b);
}
END_TEST

/* A stream (a pipe, process substitution) reads as a file does. */
START_TEST(test_stream)
{
    static const char text[] = "the 1 2 3 4\ncat 5 6 7 8\n";
    char err[256];
    FILE *fp = fmemopen((void *)text, sizeof text - 1, "rb");
    ck_assert_ptr_nonnull(fp);
    emb_file *f = emb_open_stream(fp, "<stream>", EMB_AUTO, 64, err, sizeof err);
    ck_assert_msg(f != NULL, "%s", err);
    tok_vocab *v = word_vocab();
    float rows[9 * 4];
    emb_report rep;
    ck_assert_int_eq(emb_fill(f, v, 0, rows, &rep, err, sizeof err), 0);
    ck_assert_uint_eq(rep.found, 2);
    ck_assert_uint_eq(emb_bytes_read(f), sizeof text - 1);
    emb_close(f);
    fclose(fp);
    tok_free(v);
}
END_TEST

static Suite *emb_suite(void)
{
    Suite *s = suite_create("emb");
    TCase *tr = tcase_create("read");
    tcase_add_test(tr, test_formats_agree);
    tcase_add_test(tr, test_fold);
    tcase_add_test(tr, test_buffer_sizes);
    tcase_add_test(tr, test_parse_float);
    tcase_add_test(tr, test_stream);
    suite_add_tcase(s, tr);
    TCase *th = tcase_create("hostile");
    tcase_add_checked_fixture(th, setup, teardown);
    tcase_add_test(th, test_hostile_text);
    tcase_add_test(th, test_hostile_long);
    tcase_add_test(th, test_hostile_bin);
    tcase_add_test(th, test_text_variants);
    tcase_add_test(th, test_vec_number_word);
    tcase_add_test(th, test_fold_unicode);
    tcase_add_test(th, test_char_and_bpe);
    suite_add_tcase(s, th);
    return s;
}

int main(void)
{
    return fx_run_suite(emb_suite());
}
