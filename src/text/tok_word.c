/* tok_word.c - the word tokenizer, as PyTorch's word_language_model reads
 * text: words are separated by ASCII whitespace (space, \t, \n, \v, \f,
 * \r), and every newline is an <eos> token.  Building counts the words of
 * the text; those seen fewer than min-count times, and past max-vocab
 * tokens, are left out and encode as <unk>.  Ids: 0 <unk>, 1 <eos>, then
 * the words by descending count, ties in byte order (shorter first).  A
 * "<unk>" or "<eos>" in the text is that token (WikiText marks its rare
 * words with <unk>).  Options: lowercase (text/tok_case.h: Unicode's simple
 * lowercase mappings of the scripts it covers; sessions saved before it
 * keep ASCII A-Z to a-z), and letters:
 * words that are not made of letters alone are dropped (<unk> and <eos>
 * stay).  Letters are ASCII A-Z, a-z and the characters from U+00C0 up
 * but for U+00D7, U+00F7, U+2000-U+2BFF (punctuation, symbols),
 * U+3000-U+303F (CJK punctuation), U+FF00-U+FF20 and U+1F000-U+1FAFF
 * (emoji). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok.h"
#include "text/tok_case.h"
#include "text/tok_int.h"
#include "text/tok_map.h"
#include "util/buf.h"

/* How far tok_word_cut looks for a line start, then for a space; past
 * that (or at the text's end) it cuts where it was asked to. */
#define CUT_WINDOW ((size_t)1 << 20)

static int is_space(uint8_t b)
{
    return b == ' ' || (b >= '\t' && b <= '\r');
}

static int is_letter(uint32_t c)
{
    if (c < 0x80)
        return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
    return c >= 0xC0 && c != 0xD7 && c != 0xF7 && !(c >= 0x2000 && c <= 0x2BFF) &&
           !(c >= 0x3000 && c <= 0x303F) && !(c >= 0xFF00 && c <= 0xFF20) &&
           !(c >= 0x1F000 && c <= 0x1FAFF);
}

static int all_letters(const uint8_t *w, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t c;
        int k = tok_utf8_decode(w + i, n - i, &c);
        if (k == 0 || !is_letter(c))
            return 0;
        i += (size_t)k;
    }
    return 1;
}

static int is_special(const uint8_t *w, size_t n, const char *s)
{
    return n == 5 && memcmp(w, s, 5) == 0;
}

/* One word of the text, as the options make it. */
typedef struct word_reader {
    const tok_options *o;
    uint8_t *buf;            /* lowercased copy */
    size_t cap;
} word_reader;

/* The word w (*n bytes) after the options: *out points at it (w itself or
 * r->buf) and *n is its length (lowercasing may change it).  Returns 1 to
 * keep it, 0 when dropped, -1 when out of memory. */
static int word_norm(word_reader *r, const uint8_t *w, size_t *n,
                     const uint8_t **out)
{
    *out = w;
    if (r->o->lowercase) {
        if (GROW_ARRAY(&r->buf, &r->cap, TOK_LOWER_ROOM(*n), 64) < 0)
            return -1;
        *n = tok_lower((tok_lower_map)r->o->lowercase, w, *n, r->buf);
        *out = r->buf;
    }
    if (!r->o->letters || is_special(*out, *n, TOK_UNK_TEXT) ||
        is_special(*out, *n, TOK_EOS_TEXT))
        return 1;
    return all_letters(*out, *n);
}

/* The next word or newline from *pos: returns its length (*start set),
 * 0 for a newline, SIZE_MAX at the end. */
static size_t next_word(const uint8_t *t, size_t len, size_t *pos, size_t *start)
{
    size_t i = *pos;
    while (i < len && is_space(t[i]) && t[i] != '\n')
        i++;
    if (i == len) {
        *pos = i;
        return SIZE_MAX;
    }
    *start = i;
    if (t[i] == '\n') {
        *pos = i + 1;
        return 0;
    }
    while (i < len && !is_space(t[i]))
        i++;
    *pos = i;
    return i - *start;
}

/* ---- building --------------------------------------------------------- */

typedef struct word_count {
    uint64_t count;
    const uint8_t *w;
    size_t n;
} word_count;

/* Counts the words of the text in m (counts per index); 0 or -1. */
static int count_words(const tok_options *o, const uint8_t *t, size_t len,
                       tok_map *m, uint64_t **counts, size_t *cap)
{
    word_reader r = { o, NULL, 0 };
    size_t pos = 0, start, n;
    int rc = 0;
    while (rc == 0 && (n = next_word(t, len, &pos, &start)) != SIZE_MAX) {
        const uint8_t *w;
        int keep = n ? word_norm(&r, t + start, &n, &w) : 0;
        if (keep < 0 || !keep || is_special(w, n, TOK_UNK_TEXT) ||
            is_special(w, n, TOK_EOS_TEXT)) {
            rc = keep < 0 ? -1 : 0;
            continue;
        }
        int added;
        uint32_t i = tok_map_add(m, w, n, &added);
        if (i == TOK_MAP_NONE || GROW_ARRAY(counts, cap, (size_t)i + 1, 1024) < 0) {
            rc = -1;
            break;
        }
        (*counts)[i] = added ? 1 : (*counts)[i] + 1;
    }
    free(r.buf);
    return rc;
}

static int count_cmp(const void *pa, const void *pb)
{
    const word_count *a = pa, *b = pb;
    if (a->count != b->count)
        return a->count > b->count ? -1 : 1;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->w, b->w, n);
    if (c)
        return c;
    return (a->n > b->n) - (a->n < b->n);
}

/* The words kept, most frequent first, in *out (caller frees); their
 * count, or SIZE_MAX when out of memory. */
static size_t rank_words(const tok_options *o, const tok_map *m,
                         const uint64_t *counts, word_count **out)
{
    size_t k = 0;
    *out = malloc(((size_t)m->n + 1) * sizeof **out);
    if (!*out)
        return SIZE_MAX;
    for (uint32_t i = 0; i < m->n; i++) {
        if (counts[i] < o->min_count)
            continue;
        word_count *c = &(*out)[k++];
        c->count = counts[i];
        c->w = tok_map_key(m, i, &c->n);
    }
    qsort(*out, k, sizeof **out, count_cmp);
    return k;
}

/* The vocabulary of the ranked words; NULL with err set. */
static tok_vocab *word_assemble(const tok_options *o, const word_count *wc,
                                size_t k, char *err, size_t errlen)
{
    size_t limit = (o->max_vocab ? o->max_vocab : TOK_MAX_VOCAB) - 2;
    if (k > limit && !o->max_vocab) {
        snprintf(err, errlen, "word vocabulary: %zu distinct words and <unk>, "
                 "<eos> are more than %u tokens; give a max-vocab or a "
                 "min-count", k, TOK_MAX_VOCAB);
        return NULL;
    }
    tok_vocab *v = tok_alloc(&tok_word_ops);
    int bad = !v;
    if (v) {
        v->opt = *o;
        v->unk = tok_store_add(v, (const uint8_t *)TOK_UNK_TEXT, 5);
        v->eos = tok_store_add(v, (const uint8_t *)TOK_EOS_TEXT, 5);
        bad = v->eos == TOK_NO_ID;
    }
    for (size_t i = 0; !bad && i < k && i < limit; i++)
        bad = tok_store_add(v, wc[i].w, wc[i].n) == TOK_NO_ID;
    if (bad || v->ops->finish(v, err, errlen) != 0) {
        if (bad)
            snprintf(err, errlen, "word vocabulary: out of memory");
        tok_free(v);
        return NULL;
    }
    return v;
}

/* Building: the words counted so far. */
typedef struct word_build {
    tok_options o;
    tok_map m;
    uint64_t *counts;        /* per word of m */
    size_t cap;
} word_build;

static void *word_build_start(const tok_options *o)
{
    word_build *b = calloc(1, sizeof *b);
    if (b) {
        b->o = *o;
        tok_map_init(&b->m);
    }
    return b;
}

static int word_build_add(void *st, const uint8_t *text, size_t len)
{
    word_build *b = st;
    return count_words(&b->o, text, len, &b->m, &b->counts, &b->cap);
}

static void word_build_free(void *st)
{
    word_build *b = st;
    if (!b)
        return;
    free(b->counts);
    tok_map_free(&b->m);
    free(b);
}

static tok_vocab *word_build_end(void *st, char *err, size_t errlen)
{
    word_build *b = st;
    word_count *wc = NULL;
    tok_vocab *v = NULL;
    size_t k = rank_words(&b->o, &b->m, b->counts, &wc);
    if (k == SIZE_MAX)
        snprintf(err, errlen, "word vocabulary: out of memory");
    else
        v = word_assemble(&b->o, wc, k, err, errlen);
    free(wc);
    word_build_free(b);
    return v;
}

/* ---- the index and encoding ------------------------------------------- */

/* Files every token in a map whose indices are the ids. */
static int word_finish(tok_vocab *v, char *err, size_t errlen)
{
    tok_map *m = tok_map_index(v, err, errlen);
    if (!m)
        return -1;
    for (uint32_t id = 0; id < v->size; id++) {
        size_t n;
        const uint8_t *b = tok_at(v, id, &n);
        int added;
        uint32_t i = tok_map_add(m, b, n, &added);
        if (i == TOK_MAP_NONE) {
            snprintf(err, errlen, "word vocabulary: out of memory");
            return -1;
        }
        if (!added) {
            snprintf(err, errlen, "vocabulary: tokens[%u] duplicates tokens[%u]",
                     id, i);
            return -1;
        }
    }
    return 0;
}

/* The id of word w (after the options), counting an unknown one. */
static uint32_t word_id(const tok_vocab *v, const uint8_t *w, size_t n,
                        size_t *unk, char *first_unknown)
{
    if (is_special(w, n, TOK_UNK_TEXT))
        return v->unk;
    if (is_special(w, n, TOK_EOS_TEXT))
        return v->eos;
    uint32_t id = tok_map_find(v->index, w, n);
    if (id != TOK_MAP_NONE)
        return id;
    if (*unk == 0 && first_unknown)
        tok_note_unknown(w, n, first_unknown);
    (*unk)++;
    return v->unk;
}

static size_t word_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                          uint32_t *out, size_t *unknown, char *first_unknown)
{
    word_reader r = { &v->opt, NULL, 0 };
    size_t pos = 0, start, n, k = 0, unk = 0;
    while ((n = next_word(text, len, &pos, &start)) != SIZE_MAX) {
        const uint8_t *w;
        int keep = n ? word_norm(&r, text + start, &n, &w) : 1;
        if (keep < 0)
            break;                      /* out of memory: the text so far */
        if (!n)
            out[k++] = v->eos;
        else if (keep)
            out[k++] = word_id(v, w, n, &unk, first_unknown);
    }
    free(r.buf);
    if (unknown)
        *unknown = unk;
    return k;
}

int tok_word_cut_exact(const uint8_t *text, size_t at)
{
    return is_space(text[at - 1]);
}

size_t tok_word_cut(const uint8_t *text, size_t len, size_t at)
{
    size_t lim = len - at < CUT_WINDOW ? len : at + CUT_WINDOW;
    if (at == 0 || text[at - 1] == '\n')
        return at;
    const uint8_t *nl = memchr(text + at, '\n', lim - at);
    if (nl && (size_t)(nl - text) + 1 < len)
        return (size_t)(nl - text) + 1;
    for (size_t i = at; i < lim; i++)
        if (is_space(text[i - 1]))
            return i;
    return at;
}

/* ---- JSON ------------------------------------------------------------- */

static int word_to_json(const tok_vocab *v, cJSON *j)
{
    cJSON *arr = cJSON_AddArrayToObject(j, "tokens");
    if (!arr)
        return -1;
    for (uint32_t id = 0; id < v->size; id++) {
        size_t n;
        const uint8_t *b = tok_at(v, id, &n);
        cJSON *t = tok_json_bytes(b, n);
        if (!t)
            return -1;
        cJSON_AddItemToArray(arr, t);
    }
    return !cJSON_AddNumberToObject(j, "unk", v->unk) ||
           !cJSON_AddNumberToObject(j, "eos", v->eos) ||
           !cJSON_AddBoolToObject(j, "lowercase", v->opt.lowercase != TOK_LOWER_OFF) ||
           (v->opt.lowercase != TOK_LOWER_OFF &&
            !cJSON_AddStringToObject(j, "lowercase_map", v->opt.lowercase == TOK_LOWER_ASCII
                                     ? "ascii" : "unicode")) ||
           !cJSON_AddBoolToObject(j, "word_letters", v->opt.letters) ||
           !cJSON_AddNumberToObject(j, "min_count", (double)v->opt.min_count) ||
           !cJSON_AddNumberToObject(j, "max_vocab", v->opt.max_vocab) ? -1 : 0;
}

/* Adds tokens[i] to v; 0 or -1 with err. */
static int word_add_json(tok_vocab *v, const cJSON *t, size_t i, char *err,
                         size_t errlen)
{
    uint8_t *b;
    size_t n;
    if (tok_json_read_bytes(t, i, &b, &n, err, errlen) != 0)
        return -1;
    uint32_t id = tok_store_add(v, b, n);
    free(b);
    if (id == TOK_NO_ID) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return -1;
    }
    return 0;
}

/* lowercase_map: "unicode", or "ascii", which a session without it (saved
 * before the Unicode map) means.  0 or -1 with err. */
static int lower_from_json(tok_vocab *v, const cJSON *j, char *err, size_t errlen)
{
    const cJSON *m = cJSON_GetObjectItemCaseSensitive(j, "lowercase_map");
    if (!v->opt.lowercase)
        return 0;
    v->opt.lowercase = TOK_LOWER_ASCII;
    if (!m || (cJSON_IsString(m) && strcmp(m->valuestring, "ascii") == 0))
        return 0;
    if (cJSON_IsString(m) && strcmp(m->valuestring, "unicode") == 0) {
        v->opt.lowercase = TOK_LOWER_UNICODE;
        return 0;
    }
    snprintf(err, errlen, "vocabulary: \"lowercase_map\" is not \"ascii\" or \"unicode\"");
    return -1;
}

static int word_from_json(tok_vocab *v, const cJSON *j, char *err, size_t errlen)
{
    uint64_t unk, eos, mc = 1, mv = 0;
    if (tok_json_tokens(v, j, TOK_MAX_VOCAB, word_add_json, err, errlen) != 0)
        return -1;
    if (v->size < 2) {
        snprintf(err, errlen, "vocabulary: a word vocabulary needs <unk> and "
                 "<eos> (it has %u tokens)", v->size);
        return -1;
    }
    if (tok_json_uint(j, "unk", 0, v->size - 1, 0, &unk, err, errlen) ||
        tok_json_uint(j, "eos", 0, v->size - 1, 0, &eos, err, errlen) ||
        tok_json_uint(j, "min_count", 1, 4294967295ull, 1, &mc, err, errlen) ||
        tok_json_uint(j, "max_vocab", 0, TOK_MAX_VOCAB, 1, &mv, err, errlen) ||
        tok_json_bool(j, "lowercase", &v->opt.lowercase, err, errlen) ||
        lower_from_json(v, j, err, errlen) ||
        tok_json_bool(j, "word_letters", &v->opt.letters, err, errlen))
        return -1;
    if (unk == eos) {
        snprintf(err, errlen, "vocabulary: \"unk\" and \"eos\" are the same "
                 "token %u", (unsigned)unk);
        return -1;
    }
    v->unk = (uint32_t)unk;
    v->eos = (uint32_t)eos;
    v->opt.min_count = mc;
    v->opt.max_vocab = (uint32_t)mv;
    return 0;
}

const tok_ops tok_word_ops = {
    TOK_WORD, "word", word_finish, tok_map_index_free, word_encode,
    word_to_json, word_from_json, word_build_start, word_build_add,
    word_build_end, word_build_free
};
