/* check_corpus.c - unit tests for corpus loading and splitting (corpus.c):
 * char corpora by tokens, word and BPE corpora by bytes, bits per byte. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fixture.h"
#include "text/corpus.h"

/* One temporary directory for the whole run, made by main before the tests
 * and removed by main after them, so a failing test (Check ends its forked
 * process at the first failed assertion) still leaves nothing behind. */
static char tmpdir[64];

/* Writes len bytes to tmpdir/name; the full path goes to path. */
static void write_file(const char *name, const void *data, size_t len,
                       char *path, size_t pathlen)
{
    snprintf(path, pathlen, "%s/%s", tmpdir, name);
    fx_write_file(path, data, len);
}

/* n bytes of letters and spaces. */
static char *make_text(size_t n)
{
    char *s = malloc(n + 1);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < n; i++)
        s[i] = (i % 7 == 6) ? ' ' : (char)('a' + (i * 5) % 26);
    s[n] = '\0';
    return s;
}

/* Loads path expecting failure; checks the message names the path and
 * contains want, and that the corpus is left empty. */
static void expect_load_error(const char *path, double vf, double tf, const char *want)
{
    corpus c;
    char err[512] = "";
    int rc = corpus_load(&c, path, NULL, vf, tf, err, sizeof err);
    ck_assert_msg(rc == -1, "loaded %s", path);
    ck_assert_msg(strstr(err, path) != NULL, "message does not name the path: %s", err);
    ck_assert_msg(strstr(err, want) != NULL, "message \"%s\" lacks \"%s\"", err, want);
    ck_assert_msg(strchr(err, '\n') == NULL, "multi-line message: %s", err);
    ck_assert_ptr_null(c.ids);
    ck_assert_ptr_null(c.vocab);
    corpus_free(&c);                    /* safe after a failure */
}

/* ---- splits ---- */

START_TEST(test_split_sizes)
{
    char *s = make_text(1000);
    corpus c;
    char err[256] = "";
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)s, 1000, NULL, 0.1, 0.05,
                                     err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.n, 1000);
    ck_assert_uint_eq(c.unknown, 0);
    size_t b, e;
    corpus_range(&c, SPLIT_TRAIN, &b, &e);
    ck_assert_uint_eq(b, 0);
    ck_assert_uint_eq(e, 850);
    corpus_range(&c, SPLIT_TEST, &b, &e);
    ck_assert_uint_eq(b, 850);
    ck_assert_uint_eq(e, 900);
    corpus_range(&c, SPLIT_VAL, &b, &e);
    ck_assert_uint_eq(b, 900);
    ck_assert_uint_eq(e, 1000);
    corpus_range(&c, SPLIT_ALL, &b, &e);
    ck_assert_uint_eq(b, 0);
    ck_assert_uint_eq(e, 1000);
    ck_assert_ptr_nonnull(c.path);
    /* ids decode back to the text */
    for (size_t i = 0; i < c.n; i++) {
        size_t len;
        const uint8_t *p = tok_bytes(c.vocab, corpus_id(&c, i), &len);
        ck_assert_ptr_nonnull(p);
        ck_assert_uint_eq(len, 1);
        ck_assert_int_eq(p[0], (uint8_t)s[i]);
    }
    corpus_free(&c);
    corpus_free(&c);                    /* idempotent */
    free(s);
}
END_TEST

START_TEST(test_split_rounding)
{
    /* 25 tokens: val round(2.5) = 3, test round(1.25) = 1 -> too few; with
     * test 0.1 -> round(2.5) = 3, train 19. */
    char *s = make_text(25);
    corpus c;
    char err[256] = "";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)s, 25, NULL, 0.1, 0.05,
                                        err, sizeof err), -1);
    ck_assert_msg(strstr(err, "too few tokens") != NULL, "%s", err);
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)s, 25, NULL, 0.1, 0.1,
                                        err, sizeof err), 0);
    ck_assert_uint_eq(c.train_end - c.train_begin, 19);
    ck_assert_uint_eq(c.test_end - c.test_begin, 3);
    ck_assert_uint_eq(c.val_end - c.val_begin, 3);
    corpus_free(&c);
    free(s);
}
END_TEST

START_TEST(test_split_no_val_test)
{
    corpus c;
    char err[256] = "";
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)"ab", 2, NULL, 0, 0,
                                     err, sizeof err) == 0, "%s", err);
    size_t b, e;
    corpus_range(&c, SPLIT_TRAIN, &b, &e);
    ck_assert_uint_eq(e - b, 2);
    corpus_range(&c, SPLIT_VAL, &b, &e);
    ck_assert_uint_eq(e - b, 0);
    corpus_range(&c, SPLIT_TEST, &b, &e);
    ck_assert_uint_eq(e - b, 0);
    corpus_free(&c);
    /* One token is too few even for train alone. */
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)"a", 1, NULL, 0, 0,
                                        err, sizeof err), -1);
    ck_assert_msg(strstr(err, "too few tokens") != NULL, "%s", err);
}
END_TEST

START_TEST(test_split_parse)
{
    ck_assert_int_eq(corpus_split_parse("train"), SPLIT_TRAIN);
    ck_assert_int_eq(corpus_split_parse("val"), SPLIT_VAL);
    ck_assert_int_eq(corpus_split_parse("test"), SPLIT_TEST);
    ck_assert_int_eq(corpus_split_parse("all"), SPLIT_ALL);
    ck_assert_int_eq(corpus_split_parse("Train"), -1);
    ck_assert_int_eq(corpus_split_parse(""), -1);
    ck_assert_int_eq(corpus_split_parse("validation"), -1);
    ck_assert_int_eq(corpus_split_parse(NULL), -1);
}
END_TEST

/* ---- files ---- */

START_TEST(test_load_file)
{
    char *s = make_text(5000);
    char path[128];
    write_file("text.txt", s, 5000, path, sizeof path);
    corpus c, d;
    char err[256] = "";
    ck_assert_msg(corpus_load(&c, path, NULL, 0.1, 0.1, err, sizeof err) == 0, "%s", err);
    ck_assert_str_eq(c.path, path);
    ck_assert_msg(corpus_from_buffer(&d, (const uint8_t *)s, 5000, NULL, 0.1, 0.1,
                                     err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.n, d.n);
    ck_assert_uint_eq(c.id_width, d.id_width);
    ck_assert(memcmp(c.ids, d.ids, c.n * c.id_width) == 0);
    ck_assert_uint_eq(c.val_begin, d.val_begin);
    ck_assert_uint_eq(c.test_begin, d.test_begin);
    corpus_free(&c);
    corpus_free(&d);
    free(s);
}
END_TEST

START_TEST(test_load_utf8_counts_chars)
{
    /* 100 x "e-acute + euro": 500 bytes, 200 tokens. */
    char s[500];
    for (int i = 0; i < 100; i++) memcpy(s + 5 * i, "\xc3\xa9\xe2\x82\xac", 5);
    char path[128];
    write_file("utf8.txt", s, sizeof s, path, sizeof path);
    corpus c;
    char err[256] = "";
    ck_assert_msg(corpus_load(&c, path, NULL, 0.1, 0, err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.n, 200);
    ck_assert_uint_eq(tok_size(c.vocab), 2);
    ck_assert_uint_eq(c.val_end - c.val_begin, 20);
    corpus_free(&c);
}
END_TEST

START_TEST(test_given_vocab)
{
    tok_vocab *v = tok_char_build((const uint8_t *)"abc ", 4);
    ck_assert_ptr_nonnull(v);
    const char *text = "abc xyz cab bad";
    corpus c;
    char err[256] = "";
    ck_assert_msg(corpus_from_buffer(&c, (const uint8_t *)text, strlen(text), v, 0, 0,
                                     err, sizeof err) == 0, "%s", err);
    ck_assert_uint_eq(c.unknown, 4);    /* x y z d */
    ck_assert_uint_eq(c.n, strlen(text) - 4);
    ck_assert_ptr_ne(c.vocab, v);       /* a copy, owned by the corpus */
    ck_assert_uint_eq(tok_size(c.vocab), 4);
    tok_free(v);                        /* the corpus vocabulary survives */
    ck_assert_uint_eq(corpus_id(&c, 0), 1);     /* ' ' = 0, a = 1 */
    size_t len;
    ck_assert_ptr_nonnull(tok_bytes(c.vocab, 3, &len));
    corpus_free(&c);

    /* All unknown: nothing left to train on. */
    v = tok_char_build((const uint8_t *)"q", 1);
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)text, strlen(text), v,
                                        0, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "too few tokens") != NULL, "%s", err);
    ck_assert_msg(strstr(err, "unknown") != NULL, "%s", err);
    tok_free(v);
}
END_TEST

START_TEST(test_missing_file)
{
    char path[128];
    snprintf(path, sizeof path, "%s/no-such-file.txt", tmpdir);
    expect_load_error(path, 0.1, 0, "no such file");
}
END_TEST

START_TEST(test_empty_file)
{
    char path[128];
    write_file("empty.txt", "", 0, path, sizeof path);
    expect_load_error(path, 0.1, 0, "empty");
}
END_TEST

START_TEST(test_directory)
{
    char path[128];
    snprintf(path, sizeof path, "%s/sub", tmpdir);
    ck_assert_int_eq(mkdir(path, 0700), 0);
    expect_load_error(path, 0.1, 0, "directory");
}
END_TEST

START_TEST(test_unreadable)
{
    char path[128];
    char *s = make_text(100);
    write_file("locked.txt", s, 100, path, sizeof path);
    free(s);
    ck_assert_int_eq(chmod(path, 0), 0);
    if (access(path, R_OK) == 0) {
        /* root (or CAP_DAC_OVERRIDE) reads through mode 000. */
        printf("check_corpus: unreadable file: skipped: running as root, "
               "chmod 000 does not stop reads\n");
    } else {
        expect_load_error(path, 0.1, 0, "permission denied");
    }
}
END_TEST

START_TEST(test_binary)
{
    char path[128];
    char s[200];
    memset(s, 'x', sizeof s);
    s[150] = '\0';
    write_file("binary.bin", s, sizeof s, path, sizeof path);
    expect_load_error(path, 0.1, 0, "looks binary (NUL bytes)");
    corpus c;
    char err[256];
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)s, sizeof s, NULL, 0, 0,
                                        err, sizeof err), -1);
    ck_assert_msg(strstr(err, "looks binary (NUL bytes)") != NULL, "%s", err);
}
END_TEST

START_TEST(test_too_short)
{
    char path[128];
    write_file("short.txt", "hello", 5, path, sizeof path);
    expect_load_error(path, 0.1, 0, "too few tokens");   /* val 1 token */
    expect_load_error(path, 0, 0.2, "too few tokens");   /* test 1 token */
    expect_load_error(path, 0.4, 0.4, "too few tokens"); /* train 1 token */
}
END_TEST

START_TEST(test_fifo)
{
    /* Not a regular file: refused without blocking on open. */
    char path[128];
    snprintf(path, sizeof path, "%s/fifo", tmpdir);
    ck_assert_int_eq(mkfifo(path, 0600), 0);
    expect_load_error(path, 0.1, 0, "not a regular file");
}
END_TEST

/* Each bad pair of fractions. */
static const struct { double val, test; const char *want; } bad_fracs[] = {
    { 1.0, 0.0, "val fraction" },
    { -0.1, 0.0, "val fraction" },
    { 1.5, 0.0, "val fraction" },
    { 0.1, 1.0, "test fraction" },
    { 0.1, -0.5, "test fraction" },
    { 0.5, 0.5, "nothing to train" },
    { 0.7, 0.6, "nothing to train" },
};

START_TEST(test_bad_fractions)
{
    char *s = make_text(1000);
    corpus c;
    char err[256] = "";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)s, 1000, NULL,
                                        bad_fracs[_i].val, bad_fracs[_i].test,
                                        err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad split") != NULL && strstr(err, bad_fracs[_i].want),
                  "val %g test %g: \"%s\"", bad_fracs[_i].val, bad_fracs[_i].test, err);
    free(s);

    /* The same for a file, whose message names it. */
    char path[128];
    write_file("text.txt", "abcdefghijklmnopqrstuvwxyz", 26, path, sizeof path);
    expect_load_error(path, bad_fracs[_i].val, bad_fracs[_i].test, "bad split");
}
END_TEST

START_TEST(test_nan_fraction)
{
    corpus c;
    char err[256] = "";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)"abcdefgh", 8, NULL,
                                        NAN, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad split") != NULL, "%s", err);
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)"abcdefgh", 8, NULL,
                                        0, NAN, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "bad split") != NULL, "%s", err);
}
END_TEST

START_TEST(test_empty_buffer)
{
    corpus c;
    char err[256] = "";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)"", 0, NULL, 0, 0,
                                        err, sizeof err), -1);
    ck_assert_msg(strstr(err, "empty") != NULL, "%s", err);
    ck_assert_int_eq(corpus_from_buffer(&c, NULL, 10, NULL, 0, 0, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "empty") != NULL, "%s", err);
}
END_TEST

/* ---- word and BPE corpora ---- */

/* Lines "line N: the fox and the dog" up to about n bytes. */
static char *make_lines(size_t n, size_t *len)
{
    char *s = malloc(n + 64);
    size_t o = 0;
    ck_assert_ptr_nonnull(s);
    for (int i = 0; o < n; i++)
        o += (size_t)sprintf(s + o, "line %d: the fox and the dog\n", i % 50);
    *len = o;
    return s;
}

/* A corpus of kind built from text with val 0.1, test 0.1. */
static void learn(corpus *c, const char *text, size_t len, tok_kind kind)
{
    tok_options o = tok_options_default();
    char err[256] = "";
    o.kind = kind;
    o.bpe_vocab = 300;
    ck_assert_msg(corpus_learn_buffer(c, (const uint8_t *)text, len, &o, 0.1, 0.1,
                                      err, sizeof err) == 0, "%s", err);
}

START_TEST(test_bytes_split)
{
    size_t len;
    char *s = make_lines(5000, &len);
    for (tok_kind kind = TOK_WORD; kind <= TOK_BPE; kind++) {
        corpus c;
        learn(&c, s, len, kind);
        ck_assert_int_eq(tok_kind_of(c.vocab), kind);
        /* Cut at line starts near 80% and 90% of the bytes. */
        ck_assert_uint_eq(corpus_bytes(&c, SPLIT_ALL), len);
        ck_assert(c.train_bytes >= len * 8 / 10 && c.train_bytes < len * 8 / 10 + 40);
        ck_assert(s[c.train_bytes - 1] == '\n');
        ck_assert(s[c.train_bytes + c.test_bytes - 1] == '\n');
        /* The ids are those of the whole text. */
        uint32_t *ids = malloc((len + 1) * sizeof *ids);
        size_t n = tok_encode(c.vocab, (const uint8_t *)s, len, ids, NULL, NULL);
        ck_assert_uint_eq(n, c.n);
        for (size_t i = 0; i < n; i++)
            ck_assert_uint_eq(ids[i], corpus_id(&c, i));
        free(ids);
        corpus_free(&c);
    }
    free(s);
}
END_TEST

START_TEST(test_word_vocab_from_train)
{
    /* A word only in the validation part is not in the vocabulary. */
    size_t len;
    char *s = make_lines(3000, &len);
    char *t = malloc(len + 64);
    memcpy(t, s, len);
    len += (size_t)sprintf(t + len, "zebra zebra\n");
    corpus c;
    learn(&c, t, len, TOK_WORD);
    ck_assert_uint_eq(c.unknown, 2);
    ck_assert_uint_eq(corpus_id(&c, c.n - 2), tok_unk(c.vocab));
    ck_assert_uint_eq(corpus_id(&c, c.n - 1), tok_eos(c.vocab));
    corpus_free(&c);
    /* A last line without a newline still ends with <eos>. */
    learn(&c, t, len - 1, TOK_WORD);
    ck_assert_uint_eq(corpus_id(&c, c.n - 1), tok_eos(c.vocab));
    corpus_free(&c);
    free(t);
    free(s);
}
END_TEST

START_TEST(test_bits_per_byte)
{
    char *s = make_text(1000);
    corpus c;
    char err[256] = "";
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)s, 1000, NULL, 0.1, 0,
                                        err, sizeof err), 0);
    /* ASCII char text: bits per byte is bits per character. */
    ck_assert_uint_eq(corpus_bytes(&c, SPLIT_VAL), 100);
    ck_assert(fabs(corpus_bits_per_byte(&c, SPLIT_VAL, 1.5) - 1.5 / M_LN2) < 1e-12);
    corpus_free(&c);
    /* Two-byte characters: half a bit per byte for each bit per token. */
    char u[400];
    for (int i = 0; i < 200; i++)
        memcpy(u + 2 * i, i % 3 ? "\xc3\xa9" : "\xc3\xa8", 2);
    ck_assert_int_eq(corpus_from_buffer(&c, (const uint8_t *)u, sizeof u, NULL, 0.5, 0,
                                        err, sizeof err), 0);
    ck_assert_uint_eq(corpus_bytes(&c, SPLIT_VAL), 200);
    ck_assert(fabs(corpus_bits_per_byte(&c, SPLIT_VAL, M_LN2) - 0.5) < 1e-12);
    ck_assert(isnan(corpus_bits_per_byte(&c, SPLIT_TEST, 1.0)));
    corpus_free(&c);
    free(s);
}
END_TEST

START_TEST(test_bytes_split_one_line)
{
    /* No newline at all: cut at a space (word) or piece boundary (bpe). */
    char *s = make_text(2000);
    for (tok_kind kind = TOK_WORD; kind <= TOK_BPE; kind++) {
        corpus c;
        learn(&c, s, 2000, kind);
        ck_assert_uint_eq(corpus_bytes(&c, SPLIT_ALL), 2000);
        ck_assert(c.train_bytes >= 1600 && c.train_bytes < 1610);
        corpus_free(&c);
    }
    free(s);
}
END_TEST

static Suite *corpus_suite(void)
{
    Suite *s = suite_create("corpus");
    TCase *tc = tcase_create("split");
    tcase_add_test(tc, test_split_sizes);
    tcase_add_test(tc, test_split_rounding);
    tcase_add_test(tc, test_split_no_val_test);
    tcase_add_test(tc, test_split_parse);
    tcase_add_test(tc, test_given_vocab);
    tcase_add_loop_test(tc, test_bad_fractions, 0,
                        (int)(sizeof bad_fracs / sizeof bad_fracs[0]));
    tcase_add_test(tc, test_nan_fraction);
    tcase_add_test(tc, test_empty_buffer);
    suite_add_tcase(s, tc);

    TCase *tf = tcase_create("files");
    tcase_add_test(tf, test_load_file);
    tcase_add_test(tf, test_load_utf8_counts_chars);
    tcase_add_test(tf, test_missing_file);
    tcase_add_test(tf, test_empty_file);
    tcase_add_test(tf, test_directory);
    tcase_add_test(tf, test_unreadable);
    tcase_add_test(tf, test_binary);
    tcase_add_test(tf, test_too_short);
    tcase_add_test(tf, test_fifo);
    suite_add_tcase(s, tf);

    TCase *tk = tcase_create("kinds");
    tcase_add_test(tk, test_bytes_split);
    tcase_add_test(tk, test_word_vocab_from_train);
    tcase_add_test(tk, test_bits_per_byte);
    tcase_add_test(tk, test_bytes_split_one_line);
    suite_add_tcase(s, tk);
    return s;
}

int main(void)
{
    if (!fx_temp_dir(tmpdir, sizeof tmpdir, "check_corpus")) {
        perror("check_corpus: mkdtemp");
        return EXIT_FAILURE;
    }
    int status = fx_run_suite(corpus_suite());
    fx_remove_tree(tmpdir);
    return status;
}
