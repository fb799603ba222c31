/* check_tok.c - unit tests for the tokenizers: char (tok_char.c), word
 * (tok_word.c), byte-level BPE (tok_bpe.c, tok_bpe_learn.c), their JSON
 * forms and options (tok_opt.c), and lowercasing (tok_case.c). */
#include <check.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fixture.h"
#include "text/tok.h"
#include "text/tok_case.h"
#include "text/tok_opt.h"
#include "util/buf.h"

/* Encodes len bytes with v and returns the decoded bytes (NUL-terminated,
 * caller frees); *n_ids and *unk receive the id and unknown counts. */
static char *roundtrip(const tok_vocab *v, const uint8_t *s, size_t len,
                       size_t *out_len, size_t *n_ids, size_t *unk)
{
    uint32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    size_t u = 99;
    size_t n = tok_encode(v, s, len, ids, &u, NULL);
    char *buf = NULL;
    size_t blen = 0, cap = 0;
    for (size_t i = 0; i < n; i++)
        ck_assert_int_eq(tok_decode_append(v, ids[i], &buf, &blen, &cap), 0);
    free(ids);
    if (n_ids) *n_ids = n;
    if (unk) *unk = u;
    *out_len = blen;
    return buf;
}

/* Builds a vocabulary from s, round-trips s through it and checks the bytes
 * come back unchanged with no unknowns; returns the id count. */
static size_t check_exact(const uint8_t *s, size_t len)
{
    tok_vocab *v = tok_char_build(s, len);
    ck_assert_ptr_nonnull(v);
    size_t out_len, n, unk;
    char *out = roundtrip(v, s, len, &out_len, &n, &unk);
    ck_assert_uint_eq(unk, 0);
    ck_assert_uint_eq(out_len, len);
    ck_assert(len == 0 || memcmp(out, s, len) == 0);
    free(out);
    tok_free(v);
    return n;
}

static tok_vocab *from_json_text(const char *text, char *err, size_t errlen)
{
    cJSON *j = cJSON_Parse(text);
    ck_assert_msg(j != NULL, "test JSON does not parse: %s", text);
    tok_vocab *v = tok_from_json(j, err, errlen);
    cJSON_Delete(j);
    return v;
}

/* ---- round trips ---- */

START_TEST(test_ascii_roundtrip)
{
    const char *s = "Hello, world!\nThe quick brown fox.\t~";
    size_t n = check_exact((const uint8_t *)s, strlen(s));
    ck_assert_uint_eq(n, strlen(s));
}
END_TEST

START_TEST(test_multibyte_roundtrip)
{
    /* 2-, 3- and 4-byte characters: e-acute, euro sign, CJK, emoji. */
    const char *s = "caf\xc3\xa9 \xe2\x82\xac 5 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x98\x80!";
    size_t n = check_exact((const uint8_t *)s, strlen(s));
    ck_assert_uint_eq(n, 14);           /* one id per code point */
    tok_vocab *v = tok_char_build((const uint8_t *)s, strlen(s));
    ck_assert_ptr_nonnull(v);
    /* c a f e-acute sp euro 5 ! two CJK emoji: 11 distinct (space once). */
    ck_assert_uint_eq(tok_size(v), 11);
    tok_free(v);
}
END_TEST

START_TEST(test_empty_input)
{
    tok_vocab *v = tok_char_build((const uint8_t *)"", 0);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(tok_size(v), 0);
    uint32_t id;
    size_t unk = 7;
    ck_assert_uint_eq(tok_encode(v, (const uint8_t *)"", 0, &id, &unk, NULL), 0);
    ck_assert_uint_eq(unk, 0);
    /* a clone of the empty vocabulary (a corpus clones the one it is
     * given) copies no bytes from none; found by fuzz/text.c */
    tok_vocab *c = tok_clone(v);
    ck_assert_ptr_nonnull(c);
    ck_assert_uint_eq(tok_size(c), 0);
    tok_free(c);
    tok_free(v);
}
END_TEST

/* Each invalid input, and the number of raw-byte tokens it must yield. */
static const struct { const char *name, *s; size_t len, raw; } invalid[] = {
    { "lone continuation", "a\x80z", 3, 1 },
    { "truncated 3-byte", "a\xe2\x82z", 4, 2 },
    { "truncated at end", "ab\xf0\x9f\x98", 5, 3 },
    { "overlong 2-byte slash", "\xc0\xaf", 2, 2 },
    { "overlong 3-byte", "\xe0\x80\xaf", 3, 3 },
    { "overlong 4-byte", "\xf0\x80\x80\xaf", 4, 4 },
    { "surrogate D800", "x\xed\xa0\x80y", 5, 3 },
    { "surrogate DFFF", "\xed\xbf\xbf", 3, 3 },
    { "above U+10FFFF", "\xf4\x90\x80\x80", 4, 4 },
    { "byte FF", "\xff", 1, 1 },
    { "byte FE then text", "\xfe" "abc", 4, 1 },
    { "bytes F5..F7", "\xf5\xf6\xf7", 3, 3 },
};

START_TEST(test_invalid_roundtrip)
{
    const uint8_t *s = (const uint8_t *)invalid[_i].s;
    size_t len = invalid[_i].len;
    tok_vocab *v = tok_char_build(s, len);
    ck_assert_ptr_nonnull(v);
    size_t out_len, n, unk;
    char *out = roundtrip(v, s, len, &out_len, &n, &unk);
    ck_assert_msg(out_len == len && memcmp(out, s, len) == 0,
                  "%s: bytes differ after round trip", invalid[_i].name);
    ck_assert_uint_eq(unk, 0);
    /* Count the raw-byte ids in the encoding: one per offending byte. */
    uint32_t ids[8];
    ck_assert_uint_eq(tok_encode(v, s, len, ids, NULL, NULL), n);
    size_t raw = 0;
    for (size_t i = 0; i < n; i++) {
        size_t bl;
        const uint8_t *b = tok_bytes(v, ids[i], &bl);
        ck_assert_ptr_nonnull(b);
        if (bl == 1 && b[0] >= 0x80) raw++;
    }
    ck_assert_msg(raw == invalid[_i].raw, "%s: %zu raw-byte ids, expected %zu",
                  invalid[_i].name, raw, invalid[_i].raw);
    free(out);
    tok_free(v);
}
END_TEST

START_TEST(test_invalid_id_count)
{
    /* A truncated 3-byte sequence then ASCII: E2 and 82 are raw, 'z' is a
     * character -- three ids for the four bytes "a E2 82 z" minus none. */
    const uint8_t s[] = { 'a', 0xE2, 0x82, 'z' };
    tok_vocab *v = tok_char_build(s, sizeof s);
    ck_assert_ptr_nonnull(v);
    uint32_t ids[4];
    ck_assert_uint_eq(tok_encode(v, s, sizeof s, ids, NULL, NULL), 4);
    ck_assert_uint_eq(tok_size(v), 4);
    /* ids: 'a'=0 'z'=1, raw 0x82=2, raw 0xE2=3 */
    ck_assert_uint_eq(ids[0], 0);
    ck_assert_uint_eq(ids[1], 3);
    ck_assert_uint_eq(ids[2], 2);
    ck_assert_uint_eq(ids[3], 1);
    tok_free(v);
}
END_TEST

START_TEST(test_all_bytes_roundtrip)
{
    /* Every byte value, and some random garbage, survive a round trip. */
    uint8_t s[256 + 4096];
    for (int i = 0; i < 256; i++) s[i] = (uint8_t)i;
    uint32_t x = 12345;
    for (size_t i = 256; i < sizeof s; i++) {
        x = x * 1103515245u + 12345u;
        s[i] = (uint8_t)(x >> 16);
    }
    check_exact(s, sizeof s);
}
END_TEST

/* ---- vocabulary order ---- */

START_TEST(test_vocab_order)
{
    /* raw FF, emoji (U+1F600), e-acute (U+E9), 'b', 'a', raw 80, '\n' */
    const uint8_t s[] = { 0xFF, 0xF0, 0x9F, 0x98, 0x80, 0xC3, 0xA9, 'b', 'a',
                          0x80, '\n', 'a' };
    tok_vocab *v = tok_char_build(s, sizeof s);
    ck_assert_ptr_nonnull(v);
    ck_assert_uint_eq(tok_size(v), 7);
    ck_assert_int_eq(tok_kind_of(v), TOK_CHAR);
    ck_assert_str_eq(tok_kind_name(v), "char");
    static const struct { const char *b; size_t n; } want[] = {
        { "\n", 1 }, { "a", 1 }, { "b", 1 }, { "\xc3\xa9", 2 },
        { "\xf0\x9f\x98\x80", 4 }, { "\x80", 1 }, { "\xff", 1 },
    };
    for (uint32_t id = 0; id < 7; id++) {
        size_t n;
        const uint8_t *b = tok_bytes(v, id, &n);
        ck_assert_ptr_nonnull(b);
        ck_assert_uint_eq(n, want[id].n);
        ck_assert(memcmp(b, want[id].b, n) == 0);
    }
    size_t n = 5;
    ck_assert_ptr_null(tok_bytes(v, 7, &n));
    ck_assert_uint_eq(n, 0);
    ck_assert_ptr_null(tok_bytes(v, UINT32_MAX, NULL));
    tok_free(v);
}
END_TEST

/* ---- unknown pieces ---- */

START_TEST(test_unknown_skipped)
{
    tok_vocab *v = tok_char_build((const uint8_t *)"abc", 3);
    ck_assert_ptr_nonnull(v);
    const char *t = "axb\xc3\xa9" "c\xff" "yy";
    uint32_t ids[16];
    size_t unk = 0;
    char first[8] = "zzzzzzz";
    size_t n = tok_encode(v, (const uint8_t *)t, strlen(t), ids, &unk, first);
    ck_assert_uint_eq(n, 3);
    ck_assert_uint_eq(unk, 5);          /* x, e-acute, FF, y, y */
    ck_assert_str_eq(first, "x");
    ck_assert_uint_eq(ids[0], 0);
    ck_assert_uint_eq(ids[1], 1);
    ck_assert_uint_eq(ids[2], 2);

    /* The first unknown piece is reported whole when it is multibyte. */
    n = tok_encode(v, (const uint8_t *)"a\xe2\x82\xac", 4, ids, &unk, first);
    ck_assert_uint_eq(n, 1);
    ck_assert_uint_eq(unk, 1);
    ck_assert_str_eq(first, "\xe2\x82\xac");

    /* NULL counters are allowed. */
    ck_assert_uint_eq(tok_encode(v, (const uint8_t *)"zz", 2, ids, NULL, NULL), 0);
    tok_free(v);
}
END_TEST

START_TEST(test_clone)
{
    const char *s = "clone \xe2\x98\x83 me\xff";
    tok_vocab *v = tok_char_build((const uint8_t *)s, strlen(s));
    ck_assert_ptr_nonnull(v);
    tok_vocab *c = tok_clone(v);
    ck_assert_ptr_nonnull(c);
    tok_free(v);                        /* the clone must not share storage */
    size_t out_len, n, unk;
    char *out = roundtrip(c, (const uint8_t *)s, strlen(s), &out_len, &n, &unk);
    ck_assert_uint_eq(out_len, strlen(s));
    ck_assert(memcmp(out, s, out_len) == 0);
    free(out);
    tok_free(c);
}
END_TEST

START_TEST(test_decode_append_growth)
{
    tok_vocab *v = tok_char_build((const uint8_t *)"\xe2\x82\xac", 3);
    ck_assert_ptr_nonnull(v);
    char *buf = NULL;
    size_t len = 0, cap = 0;
    for (int i = 0; i < 1000; i++)
        ck_assert_int_eq(tok_decode_append(v, 0, &buf, &len, &cap), 0);
    ck_assert_uint_eq(len, 3000);
    ck_assert(cap > len);
    ck_assert(buf[len] == '\0');
    ck_assert(memcmp(buf + 2997, "\xe2\x82\xac", 3) == 0);
    free(buf);
    tok_free(v);
}
END_TEST

/* ---- JSON ---- */

START_TEST(test_json_roundtrip)
{
    /* U+0000, ASCII, quote and backslash, 2-4 byte characters, raw bytes. */
    const uint8_t s[] = { 0x00, 'A', '"', '\\', 0xC3, 0xA9, 0xE2, 0x82, 0xAC,
                          0xF0, 0x9F, 0x98, 0x80, 0x80, 0xFF, 0xC0 };
    tok_vocab *v = tok_char_build(s, sizeof s);
    ck_assert_ptr_nonnull(v);
    cJSON *j = tok_to_json(v);
    ck_assert_ptr_nonnull(j);
    char *text = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    ck_assert_ptr_nonnull(text);
    ck_assert_msg(strstr(text, "\"kind\":\"char\"") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "{\"byte\":255}") != NULL, "%s", text);
    ck_assert_msg(strstr(text, "{\"byte\":128}") != NULL, "%s", text);

    char err[256] = "";
    tok_vocab *w = from_json_text(text, err, sizeof err);
    free(text);
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_uint_eq(tok_size(w), tok_size(v));
    for (uint32_t id = 0; id < tok_size(v); id++) {
        size_t a, b;
        const uint8_t *pa = tok_bytes(v, id, &a), *pb = tok_bytes(w, id, &b);
        ck_assert_uint_eq(a, b);
        ck_assert(memcmp(pa, pb, a) == 0);
    }
    size_t out_len, n, unk;
    char *out = roundtrip(w, s, sizeof s, &out_len, &n, &unk);
    ck_assert_uint_eq(unk, 0);
    ck_assert_uint_eq(out_len, sizeof s);
    ck_assert(memcmp(out, s, sizeof s) == 0);
    free(out);
    tok_free(v);
    tok_free(w);
}
END_TEST

START_TEST(test_json_order_kept)
{
    /* Ids follow the array order, whatever it is. */
    char err[256];
    tok_vocab *v = from_json_text("{\"kind\":\"char\",\"tokens\":[\"z\",{\"byte\":200},\"a\"]}",
                                  err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    uint32_t ids[3];
    const uint8_t t[] = { 'a', 0xC8, 'z' };
    ck_assert_uint_eq(tok_encode(v, t, 3, ids, NULL, NULL), 3);
    ck_assert_uint_eq(ids[0], 2);
    ck_assert_uint_eq(ids[1], 1);
    ck_assert_uint_eq(ids[2], 0);
    tok_free(v);
}
END_TEST

/* Each malformed vocabulary and a word its error message must contain. */
static const struct { const char *json, *want; } bad_json[] = {
    { "[]", "not a JSON object" },
    { "\"char\"", "not a JSON object" },
    { "{\"tokens\":[\"a\"]}", "kind" },
    { "{\"kind\":3,\"tokens\":[\"a\"]}", "kind" },
    { "{\"kind\":\"bytes\",\"tokens\":[\"a\"]}", "unknown kind \"bytes\"" },
    { "{\"kind\":\"x\\ny\",\"tokens\":[\"a\"]}", "unknown kind \"x?y\"" },
    { "{\"kind\":\"char\"}", "\"tokens\" is missing" },
    { "{\"kind\":\"char\",\"tokens\":{}}", "not an array" },
    { "{\"kind\":\"char\",\"tokens\":\"abc\"}", "not an array" },
    { "{\"kind\":\"char\",\"tokens\":[]}", "empty" },
    { "{\"kind\":\"char\",\"tokens\":[\"\"]}", "tokens[0] is not exactly one" },
    { "{\"kind\":\"char\",\"tokens\":[\"a\",\"ab\"]}", "tokens[1] is not exactly one" },
    { "{\"kind\":\"char\",\"tokens\":[\"\\u00e9x\"]}", "tokens[0] is not exactly one" },
    { "{\"kind\":\"char\",\"tokens\":[\"\xc3\"]}", "tokens[0] is not exactly one" },
    { "{\"kind\":\"char\",\"tokens\":[\"\xed\xa0\x80\"]}", "tokens[0] is not exactly one" },
    { "{\"kind\":\"char\",\"tokens\":[\"\xc0\xaf\"]}", "tokens[0] is not exactly one" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":256}]}", "0..255" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":-1}]}", "0..255" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":1.5}]}", "0..255" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":1e300}]}", "0..255" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":\"7\"}]}", "0..255" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":null}]}", "0..255" },
    { "{\"kind\":\"char\",\"tokens\":[{}]}", "{\"byte\":N}" },
    { "{\"kind\":\"char\",\"tokens\":[{\"b\":1}]}", "{\"byte\":N}" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":1,\"x\":2}]}", "{\"byte\":N}" },
    { "{\"kind\":\"char\",\"tokens\":[5]}", "neither a string" },
    { "{\"kind\":\"char\",\"tokens\":[null]}", "neither a string" },
    { "{\"kind\":\"char\",\"tokens\":[[\"a\"]]}", "neither a string" },
    { "{\"kind\":\"char\",\"tokens\":[\"a\",\"b\",\"a\"]}", "tokens[2] duplicates tokens[0]" },
    { "{\"kind\":\"char\",\"tokens\":[{\"byte\":200},\"x\",{\"byte\":200}]}",
      "tokens[2] duplicates tokens[0]" },
    { "{\"kind\":\"char\",\"tokens\":[\"A\",{\"byte\":65}]}", "tokens[1] duplicates tokens[0]" },
    { "{\"kind\":\"char\",\"tokens\":[\"\\ud83d\\ude00\",\"x\",\"\xf0\x9f\x98\x80\"]}",
      "tokens[2] duplicates tokens[0]" },
    { "{\"kind\":\"word\",\"tokens\":[\"<unk>\"],\"unk\":0,\"eos\":0}", "needs <unk> and <eos>" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",\"b\"],\"unk\":0,\"eos\":0}", "the same token" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",\"b\"],\"unk\":0,\"eos\":2}", "\"eos\"" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",\"b\"],\"unk\":0}", "\"eos\" is missing" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",\"b\",\"a\"],\"unk\":0,\"eos\":1}",
      "tokens[2] duplicates tokens[0]" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",{\"hex\":\"6\"}],\"unk\":0,\"eos\":1}", "hex" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",{\"hex\":\"zz\"}],\"unk\":0,\"eos\":1}", "hex" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",7],\"unk\":0,\"eos\":1}", "tokens[1]" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",\"b\"],\"unk\":0,\"eos\":1,\"lowercase\":1}",
      "\"lowercase\" is not true or false" },
    { "{\"kind\":\"word\",\"tokens\":[\"a\",\"b\"],\"unk\":0.5,\"eos\":1}", "\"unk\"" },
    { "{\"kind\":\"bpe\",\"vocab_size\":257,\"pretokenizer\":\"rnnlab-1\",\"merges\":[]}",
      "\"merges\" is not an array of vocab_size - 256 = 1 pairs" },
    { "{\"kind\":\"bpe\",\"vocab_size\":257,\"pretokenizer\":\"gpt2\",\"merges\":[[1,2]]}",
      "pretokenizer" },
    { "{\"kind\":\"bpe\",\"vocab_size\":70000,\"pretokenizer\":\"rnnlab-1\",\"merges\":[]}",
      "\"vocab_size\"" },
    { "{\"kind\":\"bpe\",\"vocab_size\":257,\"pretokenizer\":\"rnnlab-1\",\"merges\":[[1,256]]}",
      "merges[0] is not a pair of token ids below 256" },
    { "{\"kind\":\"bpe\",\"vocab_size\":257,\"pretokenizer\":\"rnnlab-1\",\"merges\":[[1]]}",
      "merges[0]" },
    { "{\"kind\":\"bpe\",\"vocab_size\":257,\"pretokenizer\":\"rnnlab-1\",\"merges\":[[-1,2]]}",
      "merges[0]" },
    { "{\"kind\":\"bpe\",\"vocab_size\":258,\"pretokenizer\":\"rnnlab-1\",\"merges\":[[1,2],[1,2]]}",
      "merges[1] repeats merges[0]" },
    { "{\"kind\":\"bpe\",\"vocab_size\":258,\"pretokenizer\":\"rnnlab-1\",\"merges\":[[1,2],[\"a\",2]]}",
      "merges[1]" },
};

START_TEST(test_json_errors)
{
    char err[256] = "";
    tok_vocab *v = from_json_text(bad_json[_i].json, err, sizeof err);
    ck_assert_msg(v == NULL, "accepted: %s", bad_json[_i].json);
    ck_assert_msg(strstr(err, bad_json[_i].want) != NULL,
                  "error for %s is \"%s\", expected to contain \"%s\"",
                  bad_json[_i].json, err, bad_json[_i].want);
    ck_assert_msg(strchr(err, '\n') == NULL, "multi-line error: %s", err);
    ck_assert_msg(strncmp(err, "vocabulary: ", 12) == 0, "unprefixed: %s", err);
}
END_TEST

START_TEST(test_json_null)
{
    char err[128] = "";
    ck_assert_ptr_null(tok_from_json(NULL, err, sizeof err));
    ck_assert_str_eq(err, "vocabulary: not a JSON object");
    /* A small err buffer truncates without overflowing. */
    char small[8];
    memset(small, 'x', sizeof small);
    ck_assert_ptr_null(tok_from_json(NULL, small, sizeof small));
    ck_assert_uint_eq(strlen(small), 7);
}
END_TEST

START_TEST(test_json_accepts_ascii_byte)
{
    /* {"byte":N} below 0x80 is the character N (how U+0000 is stored). */
    char err[256];
    tok_vocab *v = from_json_text("{\"kind\":\"char\",\"tokens\":[{\"byte\":0},{\"byte\":66}]}",
                                  err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    uint32_t ids[2];
    const uint8_t t[] = { 'B', 0 };
    ck_assert_uint_eq(tok_encode(v, t, 2, ids, NULL, NULL), 2);
    ck_assert_uint_eq(ids[0], 1);
    ck_assert_uint_eq(ids[1], 0);
    tok_free(v);
}
END_TEST

START_TEST(test_json_hostile)
{
    /* Deep nesting, huge numbers, odd members: errors, never crashes. */
    static const char *const docs[] = {
        "{\"kind\":\"char\",\"tokens\":[[[[[[[[[[[[[[[[\"a\"]]]]]]]]]]]]]]]]}",
        "{\"kind\":\"char\",\"tokens\":[{\"byte\":{\"byte\":1}}]}",
        "{\"kind\":\"char\",\"tokens\":[{\"byte\":-1e308}]}",
        "{\"kind\":\"char\",\"tokens\":[true,false]}",
        "{\"kind\":null,\"tokens\":null}",
        "{\"kind\":\"\",\"tokens\":[\"a\"]}",
    };
    for (size_t i = 0; i < sizeof docs / sizeof docs[0]; i++) {
        char err[256] = "";
        tok_vocab *v = from_json_text(docs[i], err, sizeof err);
        ck_assert_msg(v == NULL, "accepted: %s", docs[i]);
        ck_assert_msg(err[0] != '\0', "no message for %s", docs[i]);
    }
    /* A very long kind is shortened in the message. */
    char doc[4200];
    snprintf(doc, sizeof doc, "{\"kind\":\"%04000d\",\"tokens\":[\"a\"]}", 7);
    char err[256] = "";
    ck_assert_ptr_null(from_json_text(doc, err, sizeof err));
    ck_assert_msg(strlen(err) < 120, "long message: %s", err);
}
END_TEST

/* ---- speed ---- */

START_TEST(test_encode_large)
{
    /* 8 MB of mixed text encodes quickly and exactly (a linear search over
     * the vocabulary would make this crawl under valgrind and in CI). */
    const char *unit = "The cat sat. \xc3\xa9t\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\n";
    size_t ul = strlen(unit), reps = (8u << 20) / ul, len = ul * reps;
    uint8_t *s = malloc(len);
    ck_assert_ptr_nonnull(s);
    for (size_t i = 0; i < reps; i++) memcpy(s + i * ul, unit, ul);
    tok_vocab *v = tok_char_build(s, len);
    ck_assert_ptr_nonnull(v);
    uint32_t *ids = malloc(len * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    size_t unk = 1;
    size_t n = tok_encode(v, s, len, ids, &unk, NULL);
    ck_assert_uint_eq(unk, 0);
    ck_assert_uint_eq(n, reps * 21);    /* 21 characters per unit */
    free(ids);
    free(s);
    tok_free(v);
}
END_TEST

/* ---- shared helpers for word and BPE ---- */

static tok_vocab *build_kind(tok_kind kind, const char *text, tok_options *o)
{
    tok_options d = tok_options_default();
    char err[256] = "";
    if (!o)
        o = &d;
    o->kind = kind;
    tok_vocab *v = tok_build(o, (const uint8_t *)text, strlen(text), err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    return v;
}

/* Encodes s (NUL-terminated) into ids (at least strlen(s) entries). */
static size_t enc(const tok_vocab *v, const char *s, uint32_t *ids, size_t *unk)
{
    return tok_encode(v, (const uint8_t *)s, strlen(s), ids, unk, NULL);
}

/* The id of a token by its text, or TOK_NO_ID. */
static uint32_t id_of(const tok_vocab *v, const char *t)
{
    for (uint32_t id = 0; id < tok_size(v); id++) {
        size_t n;
        const uint8_t *b = tok_bytes(v, id, &n);
        if (n == strlen(t) && memcmp(b, t, n) == 0)
            return id;
    }
    return TOK_NO_ID;
}

/* The text of ids as tok_piece joins them (what sampling prints). */
static char *pieces_text(const tok_vocab *v, const uint32_t *ids, size_t n)
{
    strbuf out = STRBUF_INIT;
    ck_assert_int_eq(strbuf_puts(&out, ""), 0);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        const uint8_t *p = tok_piece(v, i ? ids[i - 1] : TOK_NO_ID, ids[i], &k);
        ck_assert_ptr_nonnull(p);
        ck_assert_int_eq(strbuf_append(&out, p, k), 0);
    }
    return out.p;
}

/* Encodes len bytes with v into a new array (count in *n). */
static uint32_t *enc_all(const tok_vocab *v, const uint8_t *s, size_t len, size_t *n)
{
    uint32_t *ids = malloc((len + 1) * sizeof *ids);
    ck_assert_ptr_nonnull(ids);
    *n = tok_encode(v, s, len, ids, NULL, NULL);
    ck_assert_uint_le(*n, len);
    return ids;
}

/* A JSON round trip: the copy must be of the same kind and size and encode
 * text to the same ids. */
static tok_vocab *json_copy(const tok_vocab *v, const uint8_t *text, size_t len)
{
    char err[256] = "";
    cJSON *j = tok_to_json(v);
    ck_assert_ptr_nonnull(j);
    char *doc = cJSON_PrintUnformatted(j);
    cJSON_Delete(j);
    tok_vocab *w = from_json_text(doc, err, sizeof err);
    free(doc);
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_int_eq(tok_kind_of(w), tok_kind_of(v));
    ck_assert_uint_eq(tok_size(w), tok_size(v));
    size_t na, nb;
    uint32_t *a = enc_all(v, text, len, &na), *b = enc_all(w, text, len, &nb);
    ck_assert_uint_eq(na, nb);
    ck_assert(na == 0 || memcmp(a, b, na * sizeof *a) == 0);
    free(a);
    free(b);
    return w;
}

/* Deterministic pseudo-random bytes. */
static void fill_random(uint8_t *s, size_t n, uint32_t seed)
{
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1103515245u + 12345u;
        s[i] = (uint8_t)(seed >> 16);
    }
}

/* A vocabulary of kind learned from len random bytes of seed; the bytes
 * stay in s. */
static tok_vocab *build_random(tok_kind kind, uint8_t *s, size_t len,
                               uint32_t seed, uint32_t bpe_vocab)
{
    tok_options o = tok_options_default();
    char err[128] = "";
    fill_random(s, len, seed);
    o.kind = kind;
    o.bpe_vocab = bpe_vocab;
    tok_vocab *v = tok_build(&o, s, len, err, sizeof err);
    ck_assert_msg(v != NULL, "%s", err);
    return v;
}

/* ---- word ---- */

START_TEST(test_word_basic)
{
    tok_vocab *v = build_kind(TOK_WORD, "the cat\nthe  dog\r\n", NULL);
    ck_assert_str_eq(tok_kind_name(v), "word");
    ck_assert_uint_eq(tok_size(v), 5);     /* <unk> <eos> the cat dog */
    ck_assert_uint_eq(tok_unk(v), 0);
    ck_assert_uint_eq(tok_eos(v), 1);
    ck_assert_uint_eq(id_of(v, "the"), 2);  /* most frequent first */
    ck_assert_uint_eq(id_of(v, "cat"), 3);  /* then in byte order */
    ck_assert_uint_eq(id_of(v, "dog"), 4);
    uint32_t ids[32];
    size_t unk = 9, n = enc(v, "the cat\nthe  dog\r\n", ids, &unk);
    ck_assert_uint_eq(n, 6);
    ck_assert_uint_eq(unk, 0);
    static const uint32_t want[] = { 2, 3, 1, 2, 4, 1 };
    ck_assert(memcmp(ids, want, sizeof want) == 0);
    char *t = pieces_text(v, ids, n);
    ck_assert_str_eq(t, "the cat\nthe dog\n");
    free(t);
    tok_free(v);
}
END_TEST

START_TEST(test_word_unknown)
{
    tok_vocab *v = build_kind(TOK_WORD, "a b a <unk> b\n", NULL);
    ck_assert_uint_eq(tok_size(v), 4);     /* "<unk>" in the text is the token */
    uint32_t ids[32];
    size_t unk = 0;
    char first[8] = "x";
    size_t n = tok_encode(v, (const uint8_t *)"a zebra <unk> b quagga", 22, ids, &unk,
                          first);
    ck_assert_uint_eq(n, 5);
    ck_assert_uint_eq(unk, 2);             /* zebra, quagga: not the literal */
    ck_assert_str_eq(first, "zebra");
    ck_assert_uint_eq(ids[1], tok_unk(v));
    ck_assert_uint_eq(ids[2], tok_unk(v));
    ck_assert_uint_eq(ids[4], tok_unk(v));
    /* A long unknown word is shown by its first 7 bytes. */
    tok_encode(v, (const uint8_t *)"abcdefghijk", 11, ids, &unk, first);
    ck_assert_uint_eq(unk, 1);
    ck_assert_str_eq(first, "abcdefg");
    tok_free(v);
}
END_TEST

START_TEST(test_word_min_count_max_vocab)
{
    const char *text = "a a a a b b b c c d\n";
    tok_options o = tok_options_default();
    o.min_count = 2;
    tok_vocab *v = build_kind(TOK_WORD, text, &o);
    ck_assert_uint_eq(tok_size(v), 5);     /* <unk> <eos> a b c */
    ck_assert_uint_eq(id_of(v, "d"), TOK_NO_ID);
    tok_free(v);
    o = tok_options_default();
    o.max_vocab = 4;
    v = build_kind(TOK_WORD, text, &o);
    ck_assert_uint_eq(tok_size(v), 4);     /* <unk> <eos> a b */
    uint32_t ids[16];
    size_t unk;
    ck_assert_uint_eq(enc(v, "c a d", ids, &unk), 3);
    ck_assert_uint_eq(unk, 2);
    ck_assert_uint_eq(ids[0], tok_unk(v));
    ck_assert_uint_eq(ids[1], id_of(v, "a"));
    tok_free(v);
}
END_TEST

START_TEST(test_word_lowercase)
{
    tok_options o = tok_options_default();
    char why[64];
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_LOWERCASE, "on", why, sizeof why), 0);
    tok_vocab *v = build_kind(TOK_WORD, "The THE the <UNK>\n", &o);
    ck_assert_uint_eq(tok_size(v), 3);     /* <unk> <eos> the */
    uint32_t ids[16];
    size_t unk;
    ck_assert_uint_eq(enc(v, "tHe", ids, &unk), 1);
    ck_assert_uint_eq(ids[0], 2);
    ck_assert_uint_eq(unk, 0);
    tok_free(v);
}
END_TEST

/* The code point of the well-formed UTF-8 at p; its length to *w. */
static uint32_t utf8_at(const uint8_t *p, int *w)
{
    *w = p[0] < 0x80 ? 1 : p[0] < 0xE0 ? 2 : p[0] < 0xF0 ? 3 : 4;
    uint32_t c = *w == 1 ? p[0] : p[0] & (0x3Fu >> (*w - 1));
    for (int k = 1; k < *w; k++)
        c = c << 6 | (p[k] & 0x3Fu);
    return c;
}

/* tests/data/case.txt: line 6 lowers to line 7 (every mapping of the
 * table, against Python's str.lower), and no other code point changes. */
START_TEST(test_lower_table)
{
    char path[4096];
    size_t len;
    char *text = fx_read_file(fx_data_file(path, sizeof path, "case.txt"), &len);
    char *line[8] = {0};
    int n = 0;
    for (char *p = text; n < 8 && p && *p; n++) {
        line[n] = p;
        if ((p = strchr(p, '\n')) != NULL)
            *p++ = 0;
    }
    ck_assert_int_ge(n, 7);
    const uint8_t *up = (const uint8_t *)line[5], *low = (const uint8_t *)line[6];
    size_t nu = strlen(line[5]), nl = strlen(line[6]);
    uint8_t *out = malloc(TOK_LOWER_ROOM(nu));
    ck_assert_ptr_nonnull(out);
    size_t k = tok_lower(TOK_LOWER_UNICODE, up, nu, out);
    ck_assert_msg(k == nl && memcmp(out, low, nl) == 0, "line 6 lowered differs from line 7");
    /* the capitals of line 6, as a bitmap of code points */
    uint8_t *cap = calloc(0x110000 / 8, 1);
    ck_assert_ptr_nonnull(cap);
    size_t count = 0;
    for (size_t i = 0; i < nu; count++) {
        int w;
        uint32_t c = utf8_at(up + i, &w);
        cap[c / 8] |= (uint8_t)(1u << (c % 8));
        i += (size_t)w;
    }
    ck_assert_uint_gt(count, 700);
    /* (ck_assert marks a point per call, too slow for a million) */
    for (uint32_t c = 0; c < 0x110000; c++)
        if (!(cap[c / 8] >> (c % 8) & 1) && tok_lower_cp(c) != c)
            ck_abort_msg("U+%04X changes to U+%04X", c, tok_lower_cp(c));
    free(cap);
    free(out);
    free(text);
}
END_TEST

/* A vocabulary says which map it lowers with: "unicode" for new ones; a
 * session saved before the map (no "lowercase_map") keeps ASCII, so it
 * encodes its texts as it did. */
START_TEST(test_lower_json)
{
    tok_options o = tok_options_default();
    o.lowercase = TOK_LOWER_UNICODE;
    const char *text = "\xc3\xa9" "cole cat\n";
    tok_vocab *v = build_kind(TOK_WORD, text, &o);
    cJSON *j = tok_to_json(v);
    ck_assert_ptr_nonnull(j);
    ck_assert_str_eq(cJSON_GetStringValue(cJSON_GetObjectItem(j, "lowercase_map")), "unicode");
    tok_vocab *w = json_copy(v, (const uint8_t *)text, strlen(text));
    ck_assert_int_eq(tok_options_of(w).lowercase, TOK_LOWER_UNICODE);
    uint32_t ids[4];
    size_t unk;
    ck_assert_uint_eq(enc(w, "\xc3\x89" "COLE", ids, &unk), 1);
    ck_assert_uint_eq(unk, 0);
    tok_free(w);
    cJSON_DeleteItemFromObject(j, "lowercase_map");
    char err[256] = "", *doc = cJSON_PrintUnformatted(j);
    w = from_json_text(doc, err, sizeof err);
    ck_assert_msg(w != NULL, "%s", err);
    ck_assert_int_eq(tok_options_of(w).lowercase, TOK_LOWER_ASCII);
    ck_assert_uint_eq(enc(w, "\xc3\x89" "COLE", ids, &unk), 1);
    ck_assert_uint_eq(unk, 1);            /* "École" is no token */
    tok_free(w);
    free(doc);
    cJSON_AddStringToObject(j, "lowercase_map", "turkish");
    doc = cJSON_PrintUnformatted(j);
    ck_assert_ptr_null(from_json_text(doc, err, sizeof err));
    ck_assert_msg(strstr(err, "\"lowercase_map\" is not"), "%s", err);
    free(doc);
    cJSON_Delete(j);
    tok_free(v);
}
END_TEST

/* Words of several scripts meet whatever their case; invalid UTF-8 passes
 * through byte by byte; the result may be longer or shorter. */
START_TEST(test_lower_words)
{
    static const struct { const char *in, *want; } cases[] = {
        {"\xc3\x89" "COLE", "\xc3\xa9" "cole"},                         /* ÉCOLE */
        {"\xce\xa3\xce\x9f\xce\xa6\xce\x8a\xce\x91", "\xcf\x83\xce\xbf\xcf\x86\xce\xaf\xce\xb1"}, /* ΣΟΦΊΑ */
        {"\xd0\x94\xd0\x9e\xd0\x9c", "\xd0\xb4\xd0\xbe\xd0\xbc"},   /* ДОМ */
        {"A\xff\xc3" "B\xe2\x82", "a\xff\xc3" "b\xe2\x82"},          /* bad bytes kept */
        {"\xc8\xba\xc8\xbe", "\xe2\xb1\xa5\xe2\xb1\xa6"},         /* 2 bytes to 3 */
        {"\xe2\x84\xaa\xe2\x84\xa6", "k\xcf\x89"},                /* Kelvin, Ohm */
        {"\xe1\x83\x90\xe4\xb8\xad", "\xe1\x83\x90\xe4\xb8\xad"},   /* not covered */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        size_t n = strlen(cases[i].in);
        uint8_t out[64];
        size_t k = tok_lower(TOK_LOWER_UNICODE, (const uint8_t *)cases[i].in, n, out);
        ck_assert_msg(k == strlen(cases[i].want) && memcmp(out, cases[i].want, k) == 0,
                      "case %zu: '%.*s'", i, (int)k, (const char *)out);
        k = tok_lower(TOK_LOWER_ASCII, (const uint8_t *)cases[i].in, n, out);
        ck_assert_uint_eq(k, n);          /* ASCII only: non-ASCII bytes kept */
        for (size_t j = 0; j < n; j++)
            ck_assert(out[j] == (cases[i].in[j] >= 'A' && cases[i].in[j] <= 'Z'
                                 ? cases[i].in[j] + 32 : (uint8_t)cases[i].in[j]));
    }
    tok_options o = tok_options_default();
    o.lowercase = TOK_LOWER_UNICODE;
    tok_vocab *v = build_kind(TOK_WORD, "\xc3\x89" "cole \xc3\x89" "COLE \xc3\xa9" "cole A\xff" "B\n", &o);
    ck_assert_uint_eq(tok_size(v), 4);     /* <unk> <eos> école a\xffb */
    ck_assert(id_of(v, "\xc3\xa9" "cole") != TOK_NO_ID && id_of(v, "a\xff" "b") != TOK_NO_ID);
    tok_free(v);
}
END_TEST

START_TEST(test_word_letters)
{
    tok_options o = tok_options_default();
    o.letters = 1;
    tok_vocab *v = build_kind(TOK_WORD, "it's 42 cat, <unk> caf\xc3\xa9 \xe2\x82\xac dog\n", &o);
    ck_assert_uint_eq(tok_size(v), 4);     /* <unk> <eos> caf\xc3\xa9 dog */
    ck_assert(id_of(v, "it's") == TOK_NO_ID && id_of(v, "42") == TOK_NO_ID);
    ck_assert(id_of(v, "cat,") == TOK_NO_ID && id_of(v, "\xe2\x82\xac") == TOK_NO_ID);
    ck_assert(id_of(v, "caf\xc3\xa9") != TOK_NO_ID && id_of(v, "dog") != TOK_NO_ID);
    /* Dropped words are no tokens at all; <unk> and <eos> stay. */
    uint32_t ids[16];
    size_t unk;
    ck_assert_uint_eq(enc(v, "12 dog <unk> !!\n", ids, &unk), 3);
    ck_assert_uint_eq(ids[0], id_of(v, "dog"));
    ck_assert_uint_eq(ids[1], tok_unk(v));
    ck_assert_uint_eq(ids[2], tok_eos(v));
    ck_assert_uint_eq(unk, 0);
    tok_free(v);
}
END_TEST

START_TEST(test_word_json)
{
    tok_options o = tok_options_default();
    o.lowercase = TOK_LOWER_ASCII;
    o.max_vocab = 100;
    const char *text = "Hello w\xff rld \"q\" back\\slash\nhello\n";
    tok_vocab *v = build_kind(TOK_WORD, text, &o);
    tok_vocab *w = json_copy(v, (const uint8_t *)text, strlen(text));
    tok_options p = tok_options_of(w);
    ck_assert_int_eq(p.lowercase, TOK_LOWER_ASCII);
    ck_assert_int_eq(p.letters, 0);
    ck_assert_uint_eq(p.max_vocab, 100);
    ck_assert_uint_eq(tok_eos(w), tok_eos(v));
    ck_assert(id_of(w, "w\xff") != TOK_NO_ID);
    tok_vocab *c = tok_clone(w);
    ck_assert_ptr_nonnull(c);
    tok_free(w);
    ck_assert_uint_eq(id_of(c, "hello"), 2);
    tok_free(v);
    tok_free(c);
}
END_TEST

START_TEST(test_word_random_bytes)
{
    /* Any bytes: never more ids than bytes, every id in range. */
    uint8_t s[8192];
    tok_vocab *v = build_random(TOK_WORD, s, sizeof s, 7, 0);
    size_t n;
    uint32_t *ids = enc_all(v, s, sizeof s, &n);
    for (size_t i = 0; i < n; i++)
        ck_assert_uint_lt(ids[i], tok_size(v));
    free(ids);
    tok_vocab *w = json_copy(v, s, sizeof s);
    tok_free(w);
    tok_free(v);
}
END_TEST

/* ---- BPE ---- */

static const char english[] =
    "The quick brown fox jumps over the lazy dog. The dog sleeps; the fox\n"
    "runs away. In 1984, 42 foxes and 7 dogs met in the forest near the\n"
    "river, where the water was cold and the night was long.\n\n"
    "  Indented line with   several spaces\tand a tab.\r\n";

START_TEST(test_bpe_learns)
{
    tok_options o = tok_options_default();
    o.bpe_vocab = 300;
    tok_vocab *v = build_kind(TOK_BPE, english, &o);
    ck_assert_str_eq(tok_kind_name(v), "bpe");
    ck_assert_uint_gt(tok_size(v), 256);
    ck_assert_uint_le(tok_size(v), 300);
    ck_assert_uint_eq(tok_eos(v), TOK_NO_ID);
    ck_assert(id_of(v, " the") != TOK_NO_ID);
    size_t n;
    uint32_t *ids = enc_all(v, (const uint8_t *)english, strlen(english), &n);
    ck_assert_uint_lt(n, strlen(english) * 2 / 3);
    char *t = pieces_text(v, ids, n);
    ck_assert_str_eq(t, english);
    free(t);
    free(ids);
    tok_free(v);
}
END_TEST

START_TEST(test_bpe_roundtrip_random)
{
    /* Learned from English, any bytes (NUL, CR, invalid UTF-8) come back. */
    tok_options o = tok_options_default();
    tok_vocab *v = build_kind(TOK_BPE, english, &o);
    uint8_t s[20000];
    for (uint32_t seed = 1; seed <= 4; seed++) {
        fill_random(s, sizeof s, seed);
        if (seed == 2)
            memset(s, 'a', sizeof s / 2);          /* a run far past 64 */
        size_t n, len;
        uint32_t *ids = enc_all(v, s, sizeof s, &n);
        char *buf = NULL;
        size_t cap = 0;
        len = 0;
        for (size_t i = 0; i < n; i++)
            ck_assert_int_eq(tok_decode_append(v, ids[i], &buf, &len, &cap), 0);
        ck_assert_uint_eq(len, sizeof s);
        ck_assert(memcmp(buf, s, len) == 0);
        free(buf);
        free(ids);
    }
    tok_free(v);
}
END_TEST

START_TEST(test_bpe_learn_random)
{
    /* Learned from random bytes: still exact, and deterministic. */
    uint8_t s[30000];
    tok_vocab *a = build_random(TOK_BPE, s, sizeof s, 99, 600);
    tok_vocab *b = build_random(TOK_BPE, s, sizeof s, 99, 600);
    ck_assert_uint_eq(tok_size(a), tok_size(b));
    for (uint32_t id = 0; id < tok_size(a); id++) {
        size_t na, nb;
        const uint8_t *pa = tok_bytes(a, id, &na), *pb = tok_bytes(b, id, &nb);
        ck_assert(na == nb && memcmp(pa, pb, na) == 0);
    }
    tok_vocab *w = json_copy(a, s, sizeof s);
    tok_free(w);
    tok_free(a);
    tok_free(b);
}
END_TEST

START_TEST(test_bpe_tie_break)
{
    /* Pieces "cd", " cd", " ab", " ab": (' ','a'), ('a','b') and ('c','d')
     * all occur twice; the smallest first id wins, then the second. */
    tok_options o = tok_options_default();
    o.bpe_vocab = 258;
    tok_vocab *v = build_kind(TOK_BPE, "cd cd ab ab", &o);
    size_t n;
    const uint8_t *b = tok_bytes(v, 256, &n);
    ck_assert_uint_eq(n, 2);
    ck_assert(memcmp(b, " a", 2) == 0);
    /* then ("cd": 99, 100) before (" a": 256, 'b'), both twice */
    b = tok_bytes(v, 257, &n);
    ck_assert(n == 2 && memcmp(b, "cd", 2) == 0);
    tok_free(v);
    /* No pair twice: no merge at all. */
    o.bpe_vocab = 1000;
    v = build_kind(TOK_BPE, "abcdefg", &o);
    ck_assert_uint_eq(tok_size(v), 256);
    tok_vocab *w = json_copy(v, (const uint8_t *)"abc", 3);
    tok_free(w);
    tok_free(v);
}
END_TEST

START_TEST(test_bpe_pieces)
{
    /* Merges never cross a piece: with every pair of the text merged, the
     * ids are the pieces of the pre-tokenization rule. */
    const char *text = "Hello world  42x\n\n foo(bar)";
    static const char *const want[] = {
        "Hello", " world", " ", " 42", "x", "\n\n", " foo", "(", "bar", ")"
    };
    char big[4096] = "";
    for (int i = 0; i < 40; i++)
        strcat(big, text);
    tok_options o = tok_options_default();
    o.bpe_vocab = 4000;
    tok_vocab *v = build_kind(TOK_BPE, big, &o);
    uint32_t ids[64];
    size_t n = enc(v, text, ids, NULL);
    ck_assert_uint_eq(n, sizeof want / sizeof want[0]);
    for (size_t i = 0; i < n; i++) {
        size_t k;
        const uint8_t *b = tok_bytes(v, ids[i], &k);
        ck_assert_msg(k == strlen(want[i]) && memcmp(b, want[i], k) == 0,
                      "piece %zu is '%.*s', expected '%s'", i, (int)k, b, want[i]);
    }
    tok_free(v);
}
END_TEST

/* Cutting at tok_cut leaves the ids of the whole text. */
static void check_cuts(const tok_vocab *v, const uint8_t *s, size_t len)
{
    size_t n, na, nb;
    uint32_t *all = enc_all(v, s, len, &n);
    for (size_t at = 0; at <= len; at += 37) {
        size_t c = tok_cut(tok_kind_of(v), s, len, at);
        ck_assert_uint_ge(c, at);
        ck_assert_uint_le(c, len);
        uint32_t *a = enc_all(v, s, c, &na), *b = enc_all(v, s + c, len - c, &nb);
        ck_assert_msg(na + nb == n && memcmp(a, all, na * sizeof *a) == 0 &&
                      memcmp(b, all + na, nb * sizeof *b) == 0,
                      "%s: cut at %zu (asked %zu) changes the ids",
                      tok_kind_name(v), c, at);
        free(a);
        free(b);
    }
    free(all);
}

START_TEST(test_cut_keeps_ids)
{
    char text[8192] = "";
    while (strlen(text) + sizeof english < sizeof text)
        strcat(text, english);
    tok_options o = tok_options_default();
    o.bpe_vocab = 400;
    tok_vocab *b = build_kind(TOK_BPE, text, &o);
    tok_vocab *w = build_kind(TOK_WORD, text, NULL);
    check_cuts(b, (const uint8_t *)text, strlen(text));
    check_cuts(w, (const uint8_t *)text, strlen(text));
    uint8_t s[3000];
    fill_random(s, sizeof s, 5);
    check_cuts(b, s, sizeof s);
    tok_free(b);
    tok_free(w);
}
END_TEST

/* ---- options ---- */

START_TEST(test_options)
{
    tok_options o = tok_options_default();
    char why[128];
    ck_assert_int_eq(o.kind, TOK_CHAR);
    ck_assert_uint_eq(o.bpe_vocab, 1024);
    ck_assert_int_eq(tok_opt_parse(&o, tok_opt_find("tokens"), "bpe", why, sizeof why), 0);
    ck_assert_int_eq(o.kind, TOK_BPE);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_BPE_VOCAB, "256", why, sizeof why), -1);
    ck_assert_str_eq(why, "'256' is not a whole number from 257 to 65536");
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_BPE_VOCAB, "65537", why, sizeof why), -1);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_BPE_VOCAB, "512", why, sizeof why), 0);
    ck_assert_uint_eq(o.bpe_vocab, 512);
    ck_assert_int_eq(tok_opt_check(&o, why, sizeof why), 0);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_MAX_VOCAB, "16777217", why, sizeof why), -1);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_MIN_COUNT, "3", why, sizeof why), 0);
    ck_assert_int_eq(tok_opt_check(&o, why, sizeof why), -1);
    ck_assert_str_eq(why, "min-count applies only to word tokens (tokens is bpe)");
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_TOKENS, "words", why, sizeof why), -1);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_LOWERCASE, NULL, why, sizeof why), 0);
    ck_assert_int_eq(o.lowercase, TOK_LOWER_UNICODE);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_LOWERCASE, "off", why, sizeof why), 0);
    ck_assert_int_eq(o.lowercase, 0);
    ck_assert_int_eq(tok_opt_parse(&o, TOK_OPT_LETTERS, "yes", why, sizeof why), -1);
    ck_assert_int_eq(tok_opt_find("nope"), -1);
}
END_TEST


static Suite *tok_suite(void)
{
    Suite *s = suite_create("tok");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_ascii_roundtrip);
    tcase_add_test(tc, test_lower_table);
    tcase_add_test(tc, test_lower_words);
    tcase_add_test(tc, test_lower_json);
    tcase_add_test(tc, test_multibyte_roundtrip);
    tcase_add_test(tc, test_empty_input);
    tcase_add_loop_test(tc, test_invalid_roundtrip, 0,
                        (int)(sizeof invalid / sizeof invalid[0]));
    tcase_add_test(tc, test_invalid_id_count);
    tcase_add_test(tc, test_all_bytes_roundtrip);
    tcase_add_test(tc, test_vocab_order);
    tcase_add_test(tc, test_unknown_skipped);
    tcase_add_test(tc, test_clone);
    tcase_add_test(tc, test_decode_append_growth);
    tcase_add_test(tc, test_encode_large);
    suite_add_tcase(s, tc);

    TCase *tj = tcase_create("json");
    tcase_add_test(tj, test_json_roundtrip);
    tcase_add_test(tj, test_json_order_kept);
    tcase_add_loop_test(tj, test_json_errors, 0,
                        (int)(sizeof bad_json / sizeof bad_json[0]));
    tcase_add_test(tj, test_json_null);
    tcase_add_test(tj, test_json_accepts_ascii_byte);
    tcase_add_test(tj, test_json_hostile);
    suite_add_tcase(s, tj);

    TCase *tw = tcase_create("word");
    tcase_add_test(tw, test_word_basic);
    tcase_add_test(tw, test_word_unknown);
    tcase_add_test(tw, test_word_min_count_max_vocab);
    tcase_add_test(tw, test_word_lowercase);
    tcase_add_test(tw, test_word_letters);
    tcase_add_test(tw, test_word_json);
    tcase_add_test(tw, test_word_random_bytes);
    suite_add_tcase(s, tw);

    TCase *tb = tcase_create("bpe");
    tcase_set_timeout(tb, 60);
    tcase_add_test(tb, test_bpe_learns);
    tcase_add_test(tb, test_bpe_roundtrip_random);
    tcase_add_test(tb, test_bpe_learn_random);
    tcase_add_test(tb, test_bpe_tie_break);
    tcase_add_test(tb, test_bpe_pieces);
    tcase_add_test(tb, test_cut_keeps_ids);
    tcase_add_test(tb, test_options);
    suite_add_tcase(s, tb);
    return s;
}

int main(void)
{
    return fx_run_suite(tok_suite());
}
