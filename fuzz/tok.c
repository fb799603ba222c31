/* tok.c - libFuzzer harness for the word and BPE tokenizers: a vocabulary is learned from any bytes with options taken from the input, the text is encoded and decoded back (exactly for BPE; word by word, as the word rules make them, for words), encoding the two sides of a cut gives the ids of the whole, the vocabulary round-trips through its JSON form, and the input read as JSON (a session.json or its "tokenizer" object) is loaded as a vocabulary. */
#include <stdlib.h>
#include <string.h>
#include <cjson/cJSON.h>

#include "common.h"
#include "text/tok.h"
#include "text/tok_int.h"

/* Inputs past this are cut: learning merges grows with the text. */
#define TEXT_MAX 8192

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    return 0;
}

/* The ids of text, every one in range; the caller frees them. */
static uint32_t *encode(const tok_vocab *v, const uint8_t *text, size_t len, size_t *n,
                        size_t *unknown)
{
    uint32_t *ids = malloc((len ? len : 1) * sizeof *ids);
    if (!ids)
        return NULL;
    *n = tok_encode(v, text, len, ids, unknown, NULL);
    if (*n > len)
        fz_fail("tok_encode: %zu ids from %zu bytes", *n, len);
    for (size_t i = 0; i < *n; i++)
        if (ids[i] >= tok_size(v))
            fz_fail("tok_encode: id %u of a vocabulary of %u", ids[i], tok_size(v));
    return ids;
}

/* BPE: every byte has a token, so the bytes come back exactly. */
static void check_bpe_text(const tok_vocab *v, const uint32_t *ids, size_t n,
                           size_t unknown, const uint8_t *text, size_t len)
{
    char *out = NULL;
    size_t n_out = 0, cap = 0;
    if (unknown != 0)
        fz_fail("bpe: %zu unknown pieces", unknown);
    for (size_t i = 0; i < n; i++)
        if (tok_decode_append(v, ids[i], &out, &n_out, &cap) != 0)
            goto out;
    if (n_out != len || (len && memcmp(out, text, len) != 0))
        fz_fail("bpe: decoding gives %zu bytes back for %zu", n_out, len);
out:
    free(out);
}

static int is_space(uint8_t b)
{
    return b == ' ' || (b >= '\t' && b <= '\r');
}

/* Word: the ids follow the text's words and newlines one for one, as
 * tok_word.c's rules cut them, each word's id the one it has alone (none
 * for a word the letters rule drops); that token is the word (ASCII
 * lowercased when asked) or <unk>, and <unk> only for a word left out
 * (all are kept with min-count 1, no max-vocab and no letters rule). */
static void check_word_text(const tok_vocab *v, const tok_options *o, const uint32_t *ids,
                            size_t n, size_t unknown, const uint8_t *text, size_t len)
{
    int keeps_all = o->min_count <= 1 && o->max_vocab == 0 && !o->letters;
    size_t k = 0, unk_seen = 0;
    uint32_t prev = TOK_NO_ID;
    for (size_t i = 0; i < len;) {
        size_t start = i, wn, tn, pn;
        if (text[i] == '\n' || is_space(text[i])) {
            if (text[i++] != '\n')
                continue;
            if (k >= n || ids[k] != tok_eos(v))
                fz_fail("word: the newline at byte %zu is not <eos>", start);
            prev = ids[k++];
            continue;
        }
        while (i < len && !is_space(text[i]))
            i++;
        wn = i - start;
        uint32_t alone;
        size_t m = tok_encode(v, text + start, wn, &alone, NULL, NULL);
        if (m == 0 && o->letters)
            continue;
        if (m != 1)
            fz_fail("word: the word at byte %zu alone gives %zu ids", start, m);
        if (k >= n || ids[k] != alone)
            fz_fail("word: the word at byte %zu has another id in the text", start);
        const uint8_t *t = tok_bytes(v, ids[k], &tn);
        int same = tn == wn;
        for (size_t j = 0; same && j < wn; j++) {
            uint8_t c = text[start + j];
            if (o->lowercase && c >= 'A' && c <= 'Z')
                c |= 0x20;
            same = t[j] == c;
        }
        if (!same && ids[k] != tok_unk(v))
            fz_fail("word: the word at byte %zu became another one (id %u)", start, ids[k]);
        if (!same)
            unk_seen++;
        if (!same && keeps_all)
            fz_fail("word: the word at byte %zu became <unk> with every word kept", start);
        /* decoding: the word after a space, alone at a line start; the
         * word <eos> is the end of a line */
        const uint8_t *p = tok_piece(v, prev, ids[k], &pn);
        int lead = prev != TOK_NO_ID && prev != tok_eos(v);
        if (ids[k] == tok_eos(v) ? !p || pn != 1 || p[0] != '\n'
                                 : !p || pn != tn + (size_t)lead || (lead && p[0] != ' ') ||
                                       memcmp(p + lead, t, tn))
            fz_fail("word: tok_piece of id %u after %u is not the word", ids[k], prev);
        prev = ids[k++];
    }
    if (k != n)
        fz_fail("word: %zu ids for %zu words and newlines", n, k);
    if (unknown != unk_seen)
        fz_fail("word: %zu words counted unknown, %zu became <unk>", unknown, unk_seen);
}

/* Whether encoding the text cut at `at` in two gives the ids of the
 * whole: where the kind's cut says so (a line start, a boundary). */
static int is_boundary(tok_kind kind, const uint8_t *text, size_t len, size_t at)
{
    if (at == 0 || at >= len || text[at - 1] == '\n')
        return kind == TOK_WORD || tok_bpe_boundary(text, len, at);
    return kind == TOK_WORD ? is_space(text[at - 1]) : tok_bpe_boundary(text, len, at);
}

static void check_cut(const tok_vocab *v, tok_kind kind, const uint8_t *text, size_t len,
                      size_t at, const uint32_t *ids, size_t n)
{
    size_t cut = tok_cut(kind, text, len, at), na, nb, ua, ub;
    if (cut > len)
        fz_fail("tok_cut: %zu past the end %zu", cut, len);
    if (cut == at && !is_boundary(kind, text, len, at))
        return;                         /* no boundary near: cut where asked */
    uint32_t *a = encode(v, text, cut, &na, &ua), *b = encode(v, text + cut, len - cut, &nb, &ub);
    if (a && b && (na + nb != n || memcmp(a, ids, na * sizeof *ids) != 0 ||
                   memcmp(b, ids + na, nb * sizeof *ids) != 0))
        fz_fail("tok_cut: the text cut at %zu (asked %zu) encodes to other ids", cut, at);
    free(a);
    free(b);
}

/* The JSON form, printed and read back, is the same vocabulary with the
 * same options (the word kind's: BPE has none of its own), and encodes
 * the text to the same ids. */
static void check_json(const tok_vocab *v, const uint8_t *text, size_t len, const uint32_t *ids,
                       size_t n)
{
    char err[256] = "";
    cJSON *j = tok_to_json(v);
    char *printed = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON *back = printed ? cJSON_Parse(printed) : NULL;
    tok_vocab *w = back ? tok_from_json(back, err, sizeof err) : NULL;
    if (back && !w && strstr(err, "out of memory") == NULL)
        fz_fail("tok_from_json refuses tok_to_json's form: %s", err);
    if (w) {
        tok_options a = tok_options_of(v), b = tok_options_of(w);
        int word = tok_kind_of(v) == TOK_WORD;
        if (tok_size(w) != tok_size(v) || tok_kind_of(w) != tok_kind_of(v) ||
            (word && (a.lowercase != b.lowercase || a.letters != b.letters ||
                      a.min_count != b.min_count || a.max_vocab != b.max_vocab)))
            fz_fail("the vocabulary differs after JSON (%u tokens, %u before)", tok_size(w),
                    tok_size(v));
        size_t m, u;
        uint32_t *again = encode(w, text, len, &m, &u);
        if (again && (m != n || (n && memcmp(again, ids, n * sizeof *ids) != 0)))
            fz_fail("the vocabulary read back from JSON encodes the text otherwise");
        free(again);
    }
    tok_free(w);
    cJSON_Delete(back);
    cJSON_free(printed);
    cJSON_Delete(j);
}

/* Input: a byte of options (bit 0: bpe, else word; 1: lowercase;
 * 2: letters; 3-4: min-count - 1), a byte of size (word: max-vocab,
 * 0 for none, else 1 + the byte; bpe: 257 + 4 times it), a byte saying
 * where to cut, then the text. */
static void learn_and_check(const uint8_t *data, size_t size)
{
    tok_options o = tok_options_default();
    char err[256] = "";
    const uint8_t *text = data + 3;
    size_t len = size - 3 < TEXT_MAX ? size - 3 : TEXT_MAX, n, unknown;
    o.kind = data[0] & 1 ? TOK_BPE : TOK_WORD;
    o.lowercase = (data[0] >> 1) & 1;
    o.letters = (data[0] >> 2) & 1;
    o.min_count = 1 + ((data[0] >> 3) & 3);
    o.max_vocab = data[1] ? 1u + data[1] : 0;
    o.bpe_vocab = TOK_BPE_MIN + 4u * data[1];
    tok_vocab *v = tok_build(&o, text, len, err, sizeof err);
    if (!v) {
        fz_check_message("tok_build", err);
        return;
    }
    if (tok_kind_of(v) != o.kind)
        fz_fail("tok_build made a %s vocabulary", tok_kind_name(v));
    uint32_t *ids = encode(v, text, len, &n, &unknown);
    if (ids) {
        if (o.kind == TOK_BPE)
            check_bpe_text(v, ids, n, unknown, text, len);
        else
            check_word_text(v, &o, ids, n, unknown, text, len);
        check_cut(v, o.kind, text, len, len * data[2] / 255, ids, n);
        check_json(v, text, len, ids, n);
    }
    free(ids);
    tok_free(v);
}

/* The input as JSON: a session.json's "tokenizer", or a tokenizer alone.
 * A vocabulary it gives encodes its own tokens' bytes. */
static void load_json(const uint8_t *data, size_t size)
{
    char err[256] = "";
    cJSON *j = cJSON_ParseWithLength((const char *)data, size);
    if (!j)
        return;
    const cJSON *t = cJSON_GetObjectItemCaseSensitive(j, "tokenizer");
    tok_vocab *v = tok_from_json(t ? t : j, err, sizeof err);
    if (!v) {
        fz_check_message("tok_from_json", err);
    } else {
        for (uint32_t id = 0; id < tok_size(v) && id < 64; id++) {
            size_t len, n, unknown;
            const uint8_t *b = tok_bytes(v, id, &len);
            uint32_t *ids = b ? encode(v, b, len, &n, &unknown) : NULL;
            if (!b)
                fz_fail("token %u of %u has no bytes", id, tok_size(v));
            free(ids);
        }
    }
    tok_free(v);
    cJSON_Delete(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size >= 3)
        learn_and_check(data, size);
    load_json(data, size);
    return 0;
}
