/* tok_char.c - the character tokenizer: one token per Unicode code point,
 * one per raw byte that is not part of valid UTF-8.
 *
 * Character tokens are identified internally by a key: the code point for
 * a Unicode character, TOK_RAW_BASE + b for a raw byte b that is not part
 * of valid UTF-8.  Keys order exactly as the ids of a built vocabulary do;
 * they are derived from the tokens' bytes, which is all the storage holds. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok.h"
#include "text/tok_int.h"

#define TOK_RAW_BASE 0x110000u          /* keys of raw bytes start here */
#define TOK_NKEYS (TOK_RAW_BASE + 256u)
#define TOK_BMP 65536u

/* The index: the key of each id, and key -> id through direct tables for
 * the common cases and a sorted array for characters beyond the BMP. */
typedef struct char_index {
    uint32_t *keys;                     /* size entries */
    uint32_t *bmp;                      /* TOK_BMP entries: id or TOK_NO_ID */
    uint32_t raw[256];                  /* id of raw byte b, or TOK_NO_ID */
    uint32_t (*astral)[2];              /* (code point, id), sorted by cp */
    size_t n_astral;
} char_index;

/* Writes the UTF-8 form of a valid code point; returns its length. */
static int utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    int n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    static const uint8_t lead[5] = { 0, 0, 0xC0, 0xE0, 0xF0 };
    for (int k = n - 1; k > 0; k--) {
        out[k] = (uint8_t)(0x80 | (cp & 0x3F));
        cp >>= 6;
    }
    out[0] = (uint8_t)(lead[n] | cp);
    return n;
}

/* The key of one token's bytes, or TOK_NO_ID when they are not exactly
 * one character or one raw byte. */
static uint32_t bytes_key(const uint8_t *b, size_t n)
{
    uint32_t cp;
    if (n == 1 && b[0] >= 0x80)
        return TOK_RAW_BASE + b[0];
    if (n == 0 || (size_t)tok_utf8_decode(b, n, &cp) != n)
        return TOK_NO_ID;
    return cp;
}

static void char_free_index(tok_vocab *v)
{
    char_index *ix = v->index;
    free(ix->keys);
    free(ix->bmp);
    free(ix->astral);
    free(ix);
    v->index = NULL;
}

static int astral_cmp(const void *a, const void *b)
{
    uint32_t x = ((const uint32_t *)a)[0], y = ((const uint32_t *)b)[0];
    return (x > y) - (x < y);
}

/* Files each id under its key; -2 with dup[] set when a key repeats. */
static int char_fill(const tok_vocab *v, char_index *ix, uint32_t dup[2])
{
    size_t na = 0;
    for (uint32_t id = 0; id < v->size; id++) {
        uint32_t k = ix->keys[id], *slot = NULL;
        if (k < TOK_BMP) slot = &ix->bmp[k];
        else if (k >= TOK_RAW_BASE) slot = &ix->raw[k - TOK_RAW_BASE];
        else {
            ix->astral[na][0] = k;
            ix->astral[na++][1] = id;
        }
        if (slot && *slot != TOK_NO_ID) {
            dup[0] = *slot;
            dup[1] = id;
            return -2;
        }
        if (slot)
            *slot = id;
    }
    ix->n_astral = na;
    qsort(ix->astral, na, sizeof *ix->astral, astral_cmp);
    for (size_t i = 1; i < na; i++) {
        if (ix->astral[i][0] == ix->astral[i - 1][0]) {
            uint32_t a = ix->astral[i - 1][1], b = ix->astral[i][1];
            dup[0] = a < b ? a : b;
            dup[1] = a < b ? b : a;
            return -2;
        }
    }
    return 0;
}

/* Builds the index from the storage; -1 when out of memory, -2 for a key
 * appearing twice (its two ids in dup). */
static int char_index_build(tok_vocab *v, uint32_t dup[2])
{
    char_index *ix = calloc(1, sizeof *ix);
    if (!ix)
        return -1;
    v->index = ix;
    ix->keys = malloc(((size_t)v->size + 1) * sizeof *ix->keys);
    ix->bmp = malloc(TOK_BMP * sizeof *ix->bmp);
    ix->astral = malloc(((size_t)v->size + 1) * sizeof *ix->astral);
    if (!ix->keys || !ix->bmp || !ix->astral)
        return -1;
    memset(ix->bmp, 0xFF, TOK_BMP * sizeof *ix->bmp);
    memset(ix->raw, 0xFF, sizeof ix->raw);
    for (uint32_t id = 0; id < v->size; id++) {
        size_t n;
        const uint8_t *b = tok_at(v, id, &n);
        if ((ix->keys[id] = bytes_key(b, n)) == TOK_NO_ID)
            return -1;                  /* tok_from_json checked each */
    }
    return char_fill(v, ix, dup);
}

static int char_finish(tok_vocab *v, char *err, size_t errlen)
{
    uint32_t dup[2] = { 0, 0 };
    int rc = char_index_build(v, dup);
    if (rc == -2)
        snprintf(err, errlen, "vocabulary: tokens[%u] duplicates tokens[%u]",
                 dup[1], dup[0]);
    else if (rc != 0)
        snprintf(err, errlen, "vocabulary: out of memory");
    return rc ? -1 : 0;
}

/* Adds the token of key k to the storage; 0 or -1 when out of memory. */
static int char_add_key(tok_vocab *v, uint32_t k)
{
    uint8_t b[4];
    size_t n = 1;
    if (k >= TOK_RAW_BASE)
        b[0] = (uint8_t)(k - TOK_RAW_BASE);
    else
        n = (size_t)utf8_encode(k, b);
    return tok_store_add(v, b, n) == TOK_NO_ID ? -1 : 0;
}

/* One character at p (n bytes left): its key and length. */
static uint32_t next_key(const uint8_t *p, size_t n, int *len)
{
    uint32_t cp;
    *len = tok_utf8_decode(p, n, &cp);
    if (*len == 0) {
        *len = 1;
        return TOK_RAW_BASE + p[0];
    }
    return cp;
}

/* Building: a bitmap of the keys seen, 139 KB whatever the text. */
static void *char_build_start(const tok_options *o)
{
    (void)o;
    return calloc(TOK_NKEYS / 8, 1);
}

static int char_build_add(void *st, const uint8_t *text, size_t len)
{
    uint8_t *seen = st;
    for (size_t i = 0; i < len;) {
        int k;
        uint32_t key = next_key(text + i, len - i, &k);
        seen[key >> 3] |= (uint8_t)(1u << (key & 7));
        i += (size_t)k;
    }
    return 0;
}

static void char_build_free(void *st)
{
    free(st);
}

static tok_vocab *char_build_end(void *st, char *err, size_t errlen)
{
    uint8_t *seen = st;
    tok_vocab *v = tok_alloc(&tok_char_ops);
    int bad = !v;
    /* The keys in ascending order are the ids. */
    for (uint32_t i8 = 0; !bad && i8 < TOK_NKEYS / 8; i8++)
        for (uint32_t b = 0; !bad && seen[i8] && b < 8; b++)
            bad = ((seen[i8] >> b) & 1u) && char_add_key(v, i8 * 8 + b) != 0;
    free(seen);
    if (bad)
        snprintf(err, errlen, "char vocabulary: out of memory");
    if (bad || char_finish(v, err, errlen) != 0) {
        tok_free(v);
        return NULL;
    }
    return v;
}

tok_vocab *tok_char_build(const uint8_t *data, size_t len)
{
    char err[64];
    void *st = char_build_start(NULL);
    if (!st)
        return NULL;
    char_build_add(st, data, len);
    return char_build_end(st, err, sizeof err);
}

static uint32_t char_lookup(const char_index *ix, uint32_t key)
{
    if (key < TOK_BMP) return ix->bmp[key];
    if (key >= TOK_RAW_BASE) return ix->raw[key - TOK_RAW_BASE];
    size_t lo = 0, hi = ix->n_astral;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ix->astral[mid][0] < key) lo = mid + 1;
        else hi = mid;
    }
    if (lo < ix->n_astral && ix->astral[lo][0] == key) return ix->astral[lo][1];
    return TOK_NO_ID;
}

static size_t char_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                          uint32_t *out, size_t *unknown, char *first_unknown)
{
    const char_index *ix = v->index;
    size_t n = 0, unk = 0, i = 0;
    while (i < len) {
        uint8_t b = text[i];
        uint32_t id;
        int k = 1;
        if (b < 0x80)                   /* the ASCII fast path */
            id = ix->bmp[b];
        else
            id = char_lookup(ix, next_key(text + i, len - i, &k));
        if (id != TOK_NO_ID) {
            out[n++] = id;
        } else {
            if (unk == 0 && first_unknown)
                tok_note_unknown(text + i, (size_t)k, first_unknown);
            unk++;
        }
        i += (size_t)k;
    }
    if (unknown)
        *unknown = unk;
    return n;
}

/* ---- JSON ------------------------------------------------------------- */

/* A JSON string cannot carry U+0000 through cJSON (C strings), so that code
 * point is written as {"byte":0}; on reading, {"byte":N} with N < 0x80 means
 * code point N, since such a byte is always valid UTF-8 on its own. */
static cJSON *char_token_json(uint32_t k)
{
    if (k == 0 || k >= TOK_RAW_BASE) {
        cJSON *t = cJSON_CreateObject();
        if (t && !cJSON_AddNumberToObject(t, "byte", k ? k - TOK_RAW_BASE : 0)) {
            cJSON_Delete(t);
            t = NULL;
        }
        return t;
    }
    char s[5];
    int n = utf8_encode(k, (uint8_t *)s);
    s[n] = '\0';
    return cJSON_CreateString(s);
}

static int char_to_json(const tok_vocab *v, cJSON *j)
{
    const char_index *ix = v->index;
    cJSON *arr = cJSON_AddArrayToObject(j, "tokens");
    if (!arr)
        return -1;
    for (uint32_t id = 0; id < v->size; id++) {
        cJSON *t = char_token_json(ix->keys[id]);
        if (!t)
            return -1;
        cJSON_AddItemToArray(arr, t);
    }
    return 0;
}

/* The key of tokens[i], or TOK_NO_ID with err set. */
static uint32_t json_token_key(const cJSON *t, size_t i, char *err, size_t errlen)
{
    if (cJSON_IsString(t) && t->valuestring) {
        size_t n = strlen(t->valuestring);
        uint32_t k = bytes_key((const uint8_t *)t->valuestring, n);
        if (k == TOK_NO_ID || k >= TOK_RAW_BASE)
            snprintf(err, errlen, "vocabulary: tokens[%zu] is not exactly one "
                     "valid UTF-8 character (%zu bytes)", i, n);
        return k >= TOK_RAW_BASE ? TOK_NO_ID : k;
    }
    if (cJSON_IsObject(t)) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(t, "byte");
        if (!b || cJSON_GetArraySize(t) != 1) {
            snprintf(err, errlen, "vocabulary: tokens[%zu] is an object but not "
                     "{\"byte\":N}", i);
            return TOK_NO_ID;
        }
        double d = b->valuedouble;
        if (!cJSON_IsNumber(b) || !(d >= 0 && d <= 255) || d != (double)(int)d) {
            snprintf(err, errlen, "vocabulary: tokens[%zu] byte is not an "
                     "integer in 0..255", i);
            return TOK_NO_ID;
        }
        int x = (int)d;
        return x < 0x80 ? (uint32_t)x : TOK_RAW_BASE + (uint32_t)x;
    }
    snprintf(err, errlen, "vocabulary: tokens[%zu] is neither a string nor "
             "{\"byte\":N}", i);
    return TOK_NO_ID;
}

/* Adds tokens[i] to v; 0 or -1 with err. */
static int char_add_json(tok_vocab *v, const cJSON *t, size_t i, char *err,
                         size_t errlen)
{
    uint32_t key = json_token_key(t, i, err, errlen);
    if (key == TOK_NO_ID)
        return -1;
    if (char_add_key(v, key) != 0) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return -1;
    }
    return 0;
}

/* At most one token per key: more than TOK_NKEYS is refused before the
 * duplicate check would find it. */
static int char_from_json(tok_vocab *v, const cJSON *j, char *err, size_t errlen)
{
    return tok_json_tokens(v, j, TOK_NKEYS, char_add_json, err, errlen);
}

const tok_ops tok_char_ops = {
    TOK_CHAR, "char", char_finish, char_free_index, char_encode,
    char_to_json, char_from_json, char_build_start, char_build_add,
    char_build_end, char_build_free
};
