/* text.c - libFuzzer harness for the character tokenizer and the corpus: any bytes are built into a vocabulary, encoded and decoded back byte for byte, the vocabulary round-trips through its JSON form, and the bytes become a corpus split by fractions taken from the input. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "common.h"
#include "text/corpus.h"
#include "text/tok.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* Every byte string comes back from its own vocabulary unchanged. */
static void check_round_trip(const tok_vocab *v, const uint8_t *data, size_t len)
{
    uint32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    char *out = NULL;
    size_t n_out = 0, cap = 0, unknown = 1;
    if (!ids)
        return;
    size_t n = tok_encode(v, data, len, ids, &unknown, NULL);
    if (unknown != 0 || n > len)
        fz_fail("tok_encode: %zu ids, %zu unknown, from %zu bytes of its own vocabulary",
                n, unknown, len);
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= tok_size(v))
            fz_fail("tok_encode: id %u of a vocabulary of %u", ids[i], tok_size(v));
        if (tok_decode_append(v, ids[i], &out, &n_out, &cap) != 0)
            goto out;
    }
    if (n_out != len || (len && memcmp(out, data, len) != 0))
        fz_fail("decoding gives %zu bytes back for %zu", n_out, len);
out:
    free(out);
    free(ids);
}

/* The JSON form of a vocabulary, printed and read back, is the same
 * vocabulary (an empty one, of empty text, has no JSON form: a session
 * always holds a token). */
static void check_json(const tok_vocab *v)
{
    char err[256] = "";
    if (tok_size(v) == 0)
        return;
    cJSON *j = tok_to_json(v);
    char *text = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON *back = text ? cJSON_Parse(text) : NULL;
    tok_vocab *w = back ? tok_from_json(back, err, sizeof err) : NULL;
    if (back && !w)
        fz_fail("tok_from_json refuses tok_to_json's form: %s", err);
    if (w) {
        if (tok_size(w) != tok_size(v))
            fz_fail("the vocabulary has %u tokens after JSON, %u before", tok_size(w), tok_size(v));
        for (uint32_t id = 0; id < tok_size(v); id++) {
            size_t a, b;
            const uint8_t *x = tok_bytes(v, id, &a), *y = tok_bytes(w, id, &b);
            if (a != b || memcmp(x, y, a) != 0)
                fz_fail("token %u differs after JSON", id);
        }
    }
    tok_free(w);
    cJSON_Delete(back);
    cJSON_free(text);
    cJSON_Delete(j);
}

/* A corpus is either refused with a message or split into ranges that
 * tile its ids, each id in its vocabulary. */
static void check_corpus(const uint8_t *data, size_t len, const tok_vocab *vocab,
                         double val, double test)
{
    corpus c;
    char err[512] = "";
    if (corpus_from_buffer(&c, data, len, vocab, val, test, err, sizeof err) != 0) {
        fz_check_message("corpus_from_buffer", err);
        return;
    }
    if (c.train_begin != 0 || c.train_end != c.test_begin || c.test_end != c.val_begin ||
        c.val_end != c.n || c.train_end < c.train_begin || c.test_end < c.test_begin ||
        c.val_end < c.val_begin || c.n + c.unknown > len)
        fz_fail("corpus: the splits do not tile %zu ids", c.n);
    for (size_t i = 0; i < c.n; i++)
        if (corpus_id(&c, i) >= tok_size(c.vocab))
            fz_fail("corpus: id %u of a vocabulary of %u", corpus_id(&c, i), tok_size(c.vocab));
    corpus_free(&c);
}

/* Input: a byte of split fractions, a byte saying how much of the text
 * the second vocabulary is built from, then the text. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    double val = (data[0] & 15) / 20.0, test = (data[0] >> 4) / 20.0;
    const uint8_t *text = data + 2;
    size_t len = size - 2, part = len * data[1] / 255;

    tok_vocab *v = tok_char_build(text, len);
    if (!v)
        return 0;
    check_round_trip(v, text, len);
    check_json(v);
    check_corpus(text, len, NULL, val, test);

    /* A vocabulary from the beginning only: the rest may hold pieces it
     * lacks, which encoding skips and counts. */
    tok_vocab *p = tok_char_build(text, part);
    if (p)
        check_corpus(text, len, p, val, test);
    tok_free(p);
    tok_free(v);

    /* The input as JSON, read as a vocabulary. */
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (j) {
        char err[256] = "";
        tok_vocab *w = tok_from_json(j, err, sizeof err);
        if (w)
            check_json(w);
        else
            fz_check_message("tok_from_json", err);
        tok_free(w);
        cJSON_Delete(j);
    }
    return 0;
}
