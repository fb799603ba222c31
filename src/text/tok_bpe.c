/* tok_bpe.c - byte-level BPE: ids 0-255 are the bytes, id 256+i is merge
 * i, the concatenation of the two tokens it joins.  Any bytes encode and
 * decode back exactly, since every byte has a token.
 *
 * Pre-tokenization: text is cut into pieces and merges never cross one.
 * Bytes fall into classes: letters (A-Z, a-z and every byte from 0x80, so
 * UTF-8 characters stay whole), digits (0-9), whitespace (space, \t, \n,
 * \v, \f, \r) and other.  A piece is a run of one class, except that a
 * space just before a letter, digit or other byte starts the run that
 * follows (" the", " 42", " ("), and a whitespace run leaves that space to
 * it.  Runs longer than TOK_BPE_PIECE (64) bytes are cut every 64 bytes.
 * Encoding a piece applies the merges in the order learned: the pair with
 * the lowest merge index first, its leftmost occurrence first. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok.h"
#include "text/tok_int.h"
#include "text/tok_map.h"
#include "util/buf.h"

enum { C_LETTER, C_DIGIT, C_SPACE, C_OTHER };

/* How far tok_bpe_cut looks for a line start, then for a piece boundary. */
#define CUT_WINDOW ((size_t)1 << 20)
/* The pieces one encoding call remembers, and their ids in all. */
#define CACHE_PIECES ((uint32_t)1 << 20)
#define CACHE_IDS ((size_t)1 << 24)

static int cls(uint8_t b)
{
    if (b >= 0x80 || ((b | 0x20) >= 'a' && (b | 0x20) <= 'z'))
        return C_LETTER;
    if (b >= '0' && b <= '9')
        return C_DIGIT;
    if (b == ' ' || (b >= '\t' && b <= '\r'))
        return C_SPACE;
    return C_OTHER;
}

/* A space that starts the piece after it. */
static int space_start(const uint8_t *s, size_t n, size_t i)
{
    return s[i] == ' ' && i + 1 < n && cls(s[i + 1]) != C_SPACE;
}

size_t tok_bpe_piece(const uint8_t *s, size_t n)
{
    size_t cap = n < TOK_BPE_PIECE ? n : TOK_BPE_PIECE, i = 1;
    int c = cls(s[0]);
    if (space_start(s, n, 0)) {
        c = cls(s[1]);
        i = 2;
    }
    if (c == C_SPACE) {
        while (i < cap && cls(s[i]) == C_SPACE && !space_start(s, n, i))
            i++;
        return i;
    }
    while (i < cap && cls(s[i]) == c)
        i++;
    return i;
}

int tok_bpe_boundary(const uint8_t *s, size_t n, size_t i)
{
    if (i == 0 || i >= n)
        return 1;
    if (s[i - 1] == ' ' && cls(s[i]) != C_SPACE)
        return 0;
    return space_start(s, n, i) || cls(s[i]) != cls(s[i - 1]);
}

size_t tok_bpe_cut(const uint8_t *text, size_t len, size_t at)
{
    size_t lim = len - at < CUT_WINDOW ? len : at + CUT_WINDOW;
    for (size_t i = at; i < lim; i++)
        if ((i == 0 || text[i - 1] == '\n') && tok_bpe_boundary(text, len, i))
            return i;
    for (size_t i = at; i < lim; i++)
        if (tok_bpe_boundary(text, len, i))
            return i;
    return at;
}

/* ---- the merge table -------------------------------------------------- */

static void pair_key(uint32_t a, uint32_t b, uint8_t key[8])
{
    memcpy(key, &a, 4);
    memcpy(key + 4, &b, 4);
}

/* The index of the merge joining a and b, or TOK_MAP_NONE. */
static uint32_t merge_rank(const tok_map *m, uint32_t a, uint32_t b)
{
    uint8_t key[8];
    pair_key(a, b, key);
    return tok_map_find(m, key, 8);
}

static int bpe_finish(tok_vocab *v, char *err, size_t errlen)
{
    tok_map *m = tok_map_index(v, err, errlen);
    if (!m)
        return -1;
    for (uint32_t i = 0; i + 256 < v->size; i++) {
        uint8_t key[8];
        int added;
        pair_key(v->merges[i][0], v->merges[i][1], key);
        uint32_t r = tok_map_add(m, key, 8, &added);
        if (r == TOK_MAP_NONE) {
            snprintf(err, errlen, "bpe vocabulary: out of memory");
            return -1;
        }
        if (!added) {
            snprintf(err, errlen, "vocabulary: merges[%u] repeats merges[%u]", i, r);
            return -1;
        }
    }
    return 0;
}

/* ---- encoding --------------------------------------------------------- */

/* Encodes one piece (n <= TOK_BPE_PIECE bytes) into out; returns the ids
 * written.  rank[i] is the merge index of pair (sym[i], sym[i+1]). */
static size_t encode_piece(const tok_vocab *v, const uint8_t *p, size_t n,
                           uint32_t *out)
{
    uint32_t sym[TOK_BPE_PIECE], rank[TOK_BPE_PIECE];
    size_t m = n;
    for (size_t i = 0; i < n; i++)
        sym[i] = p[i];
    for (size_t i = 0; i + 1 < m; i++)
        rank[i] = merge_rank(v->index, sym[i], sym[i + 1]);
    while (m > 1) {
        size_t at = 0;
        for (size_t i = 1; i + 1 < m; i++)
            if (rank[i] < rank[at])
                at = i;
        if (rank[at] == TOK_MAP_NONE)
            break;
        sym[at] = 256 + rank[at];
        memmove(sym + at + 1, sym + at + 2, (m - at - 2) * sizeof *sym);
        memmove(rank + at + 1, rank + at + 2, (m - at - 2) * sizeof *rank);
        m--;
        if (at > 0)
            rank[at - 1] = merge_rank(v->index, sym[at - 1], sym[at]);
        if (at + 1 < m)
            rank[at] = merge_rank(v->index, sym[at], sym[at + 1]);
    }
    memcpy(out, sym, m * sizeof *sym);
    return m;
}

/* Pieces already encoded in this call, and their ids. */
typedef struct piece_cache {
    tok_map pieces;
    size_t *off;             /* per piece + 1: offsets into ids */
    uint32_t *ids;
    size_t n_ids, cap_ids, cap_off;
} piece_cache;

/* Remembers piece p's ids; a full or failing cache just stops growing. */
static void cache_put(piece_cache *c, const uint8_t *p, size_t n,
                      const uint32_t *ids, size_t k)
{
    if (c->pieces.n >= CACHE_PIECES || c->n_ids + k > CACHE_IDS ||
        GROW_ARRAY(&c->off, &c->cap_off, (size_t)c->pieces.n + 2, 1024) < 0 ||
        GROW_ARRAY(&c->ids, &c->cap_ids, c->n_ids + k, 4096) < 0)
        return;
    int added;
    if (tok_map_add(&c->pieces, p, n, &added) == TOK_MAP_NONE || !added)
        return;
    c->off[c->pieces.n - 1] = c->n_ids;
    memcpy(c->ids + c->n_ids, ids, k * sizeof *ids);
    c->n_ids += k;
    c->off[c->pieces.n] = c->n_ids;
}

/* The ids of piece p written to out, from the cache or encoded. */
static size_t encode_cached(const tok_vocab *v, piece_cache *c,
                            const uint8_t *p, size_t n, uint32_t *out)
{
    if (n == 1) {
        out[0] = p[0];
        return 1;
    }
    uint32_t i = tok_map_find(&c->pieces, p, n);
    if (i != TOK_MAP_NONE) {
        size_t k = c->off[i + 1] - c->off[i];
        memcpy(out, c->ids + c->off[i], k * sizeof *out);
        return k;
    }
    size_t k = encode_piece(v, p, n, out);
    cache_put(c, p, n, out, k);
    return k;
}

static size_t bpe_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                         uint32_t *out, size_t *unknown, char *first_unknown)
{
    piece_cache c;
    size_t k = 0;
    (void)first_unknown;
    memset(&c, 0, sizeof c);
    for (size_t pos = 0; pos < len;) {
        size_t n = tok_bpe_piece(text + pos, len - pos);
        k += encode_cached(v, &c, text + pos, n, out + k);
        pos += n;
    }
    tok_map_free(&c.pieces);
    free(c.off);
    free(c.ids);
    if (unknown)
        *unknown = 0;
    return k;
}

/* ---- building --------------------------------------------------------- */

/* Adds the 256 byte tokens to an empty v; 0 or -1 when out of memory. */
static int add_bytes(tok_vocab *v)
{
    for (uint32_t b = 0; b < 256; b++) {
        uint8_t c = (uint8_t)b;
        if (tok_store_add(v, &c, 1) == TOK_NO_ID)
            return -1;
    }
    return 0;
}

/* Room for the merges of a vocabulary of size tokens; 0 or -1. */
static int alloc_merges(tok_vocab *v, uint64_t size)
{
    v->merges = malloc((size_t)(size - 255) * sizeof *v->merges);
    return v->merges ? 0 : -1;
}

int tok_bpe_add_merge(tok_vocab *v, uint32_t a, uint32_t b)
{
    size_t na, nb;
    const uint8_t *pa = tok_at(v, a, &na), *pb = tok_at(v, b, &nb);
    uint8_t *t = malloc(na + nb);
    if (!t)
        return -1;
    memcpy(t, pa, na);
    memcpy(t + na, pb, nb);
    v->merges[v->size - 256][0] = a;
    v->merges[v->size - 256][1] = b;
    uint32_t id = tok_store_add(v, t, na + nb);
    free(t);
    return id == TOK_NO_ID ? -1 : 0;
}

/* Building: the learner and the options, the vocabulary made at the end. */
typedef struct bpe_build {
    tok_options o;
    bpe_learner *L;
} bpe_build;

static void bpe_build_free(void *st)
{
    bpe_build *b = st;
    if (!b)
        return;
    tok_bpe_learner_free(b->L);
    free(b);
}

static void *bpe_build_start(const tok_options *o)
{
    bpe_build *b = calloc(1, sizeof *b);
    if (b && !(b->L = tok_bpe_learner_new())) {
        free(b);
        return NULL;
    }
    if (b)
        b->o = *o;
    return b;
}

static int bpe_build_add(void *st, const uint8_t *text, size_t len)
{
    return tok_bpe_learner_add(((bpe_build *)st)->L, text, len);
}

static tok_vocab *bpe_build_end(void *st, char *err, size_t errlen)
{
    bpe_build *b = st;
    tok_vocab *v = tok_alloc(&tok_bpe_ops);
    if (!v || add_bytes(v) != 0 || alloc_merges(v, b->o.bpe_vocab) != 0) {
        snprintf(err, errlen, "bpe vocabulary: out of memory");
        tok_free(v);
        v = NULL;
    } else {
        v->opt = b->o;
        if (tok_bpe_learner_run(b->L, v, err, errlen) != 0 ||
            bpe_finish(v, err, errlen) != 0) {
            tok_free(v);
            v = NULL;
        }
    }
    bpe_build_free(b);
    return v;
}

/* ---- JSON ------------------------------------------------------------- */

static int bpe_to_json(const tok_vocab *v, cJSON *j)
{
    cJSON *arr;
    if (!cJSON_AddNumberToObject(j, "vocab_size", v->size) ||
        !cJSON_AddStringToObject(j, "pretokenizer", "rnnlab-1") ||
        !(arr = cJSON_AddArrayToObject(j, "merges")))
        return -1;
    for (uint32_t i = 0; i + 256 < v->size; i++) {
        int pair[2] = { (int)v->merges[i][0], (int)v->merges[i][1] };
        cJSON *p = cJSON_CreateIntArray(pair, 2);
        if (!p)
            return -1;
        cJSON_AddItemToArray(arr, p);
    }
    return 0;
}

/* merges[i] as two ids below 256 + i; 0 or -1 with err. */
static int read_merge(const cJSON *p, uint32_t i, uint32_t out[2], char *err,
                      size_t errlen)
{
    const cJSON *x;
    int k = 0;
    if (cJSON_IsArray(p) && cJSON_GetArraySize(p) == 2) {
        cJSON_ArrayForEach(x, p) {
            double d = x->valuedouble;
            if (!cJSON_IsNumber(x) || !(d >= 0 && d < 256.0 + i) || d != (double)(uint32_t)d)
                break;
            out[k++] = (uint32_t)d;
        }
    }
    if (k != 2) {
        snprintf(err, errlen, "vocabulary: merges[%u] is not a pair of token "
                 "ids below %u", i, 256 + i);
        return -1;
    }
    return 0;
}

static int bpe_from_json(tok_vocab *v, const cJSON *j, char *err, size_t errlen)
{
    uint64_t size;
    const cJSON *ms = cJSON_GetObjectItemCaseSensitive(j, "merges"), *p;
    const cJSON *pre = cJSON_GetObjectItemCaseSensitive(j, "pretokenizer");
    /* 256: learning found no pair occurring twice */
    if (tok_json_uint(j, "vocab_size", 256, TOK_BPE_MAX, 0, &size, err, errlen))
        return -1;
    if (!cJSON_IsString(pre) || strcmp(pre->valuestring, "rnnlab-1") != 0) {
        snprintf(err, errlen, "vocabulary: \"pretokenizer\" is not \"rnnlab-1\"");
        return -1;
    }
    if (!cJSON_IsArray(ms) || (uint64_t)cJSON_GetArraySize(ms) != size - 256) {
        snprintf(err, errlen, "vocabulary: \"merges\" is not an array of "
                 "vocab_size - 256 = %u pairs", (unsigned)(size - 256));
        return -1;
    }
    if (add_bytes(v) != 0 || alloc_merges(v, size) != 0) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return -1;
    }
    v->opt.bpe_vocab = (uint32_t)size;
    cJSON_ArrayForEach(p, ms) {
        uint32_t m[2];
        if (read_merge(p, v->size - 256, m, err, errlen) != 0)
            return -1;
        if (tok_bpe_add_merge(v, m[0], m[1]) != 0) {
            snprintf(err, errlen, "vocabulary: out of memory");
            return -1;
        }
    }
    return 0;
}

const tok_ops tok_bpe_ops = {
    TOK_BPE, "bpe", bpe_finish, tok_map_index_free, bpe_encode,
    bpe_to_json, bpe_from_json, bpe_build_start, bpe_build_add, bpe_build_end,
    bpe_build_free
};
