/* tok.c - the character tokenizer, and the vocabulary storage any later
 * kind (word, BPE) shares: every token is a byte string kept in one
 * contiguous block with offsets, and each kind adds its own lookup index
 * and its own encode function, dispatched on v->kind.
 *
 * Character tokens are identified internally by a key: the code point for
 * a Unicode character, TOK_RAW_BASE + b for a raw byte b that is not part of
 * valid UTF-8.  Keys order exactly as the ids of a built vocabulary do. */
#include "text/tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

#define TOK_MAX_CP 0x10FFFFu
#define TOK_RAW_BASE 0x110000u          /* keys of raw bytes start here */
#define TOK_NKEYS (TOK_RAW_BASE + 256u)
#define TOK_BMP 65536u
#define TOK_NONE UINT32_MAX             /* "no id" in lookup tables */

/* Index of a char vocabulary: direct tables for the common cases and a
 * sorted array for characters beyond the BMP, which are rare in text. */
typedef struct tok_char_index {
    uint32_t *bmp;                      /* TOK_BMP entries: id or TOK_NONE */
    uint32_t raw[256];                  /* id of raw byte b, or TOK_NONE */
    uint32_t (*astral)[2];              /* (code point, id), sorted by cp */
    size_t n_astral;
} tok_char_index;

struct tok_vocab {
    tok_kind kind;
    uint32_t size;
    uint32_t *off;                      /* size+1 offsets into bytes */
    uint8_t *bytes;                     /* all token bytes, back to back */
    uint32_t *keys;                     /* char kind: key of each id */
    tok_char_index chr;                 /* char kind: key -> id */
};

/* ---- UTF-8 ------------------------------------------------------------ */

/* Decodes one well-formed UTF-8 sequence (Unicode table 3-7) at p, with n
 * bytes available.  Returns its length and sets *cp, or 0 when p[0] does not
 * start one; the caller then takes p[0] alone as a raw byte and resumes at
 * p[1], which is what makes every invalid input round-trip byte-exactly.
 * The narrowed second-byte ranges reject overlongs (E0, F0), surrogates (ED)
 * and code points above U+10FFFF (F4). */
static int utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0];
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    int need;
    uint8_t lo = 0x80, hi = 0xBF;
    uint32_t c;
    if (b < 0xC2) {                     /* continuation, or overlong C0/C1 */
        return 0;
    } else if (b < 0xE0) {
        need = 1;
        c = b & 0x1Fu;
    } else if (b < 0xF0) {
        need = 2;
        c = b & 0x0Fu;
        if (b == 0xE0) lo = 0xA0;
        if (b == 0xED) hi = 0x9F;
    } else if (b < 0xF5) {
        need = 3;
        c = b & 0x07u;
        if (b == 0xF0) lo = 0x90;
        if (b == 0xF4) hi = 0x8F;
    } else {
        return 0;
    }
    if (n < (size_t)need + 1) return 0;
    if (p[1] < lo || p[1] > hi) return 0;
    c = (c << 6) | (p[1] & 0x3Fu);
    for (int k = 2; k <= need; k++) {
        if (p[k] < 0x80 || p[k] > 0xBF) return 0;
        c = (c << 6) | (p[k] & 0x3Fu);
    }
    *cp = c;
    return need + 1;
}

/* Writes the UTF-8 form of a valid code point; returns its length. */
static int utf8_encode(uint32_t cp, uint8_t *out)
{
    if (cp < 0x80) {
        out[0] = (uint8_t)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (uint8_t)(0xC0 | (cp >> 6));
        out[1] = (uint8_t)(0x80 | (cp & 0x3F));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (uint8_t)(0xE0 | (cp >> 12));
        out[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
        out[2] = (uint8_t)(0x80 | (cp & 0x3F));
        return 3;
    }
    out[0] = (uint8_t)(0xF0 | (cp >> 18));
    out[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3F));
    out[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3F));
    out[3] = (uint8_t)(0x80 | (cp & 0x3F));
    return 4;
}

/* ---- char vocabulary construction ------------------------------------- */

static int astral_cmp(const void *a, const void *b)
{
    uint32_t x = ((const uint32_t *)a)[0], y = ((const uint32_t *)b)[0];
    return (x > y) - (x < y);
}

/* Builds the key -> id index from v->keys.  Returns 0, -1 when out of
 * memory, or -2 for a key appearing twice, with the two ids in dup[] (so
 * tok_from_json can name both; built vocabularies never have duplicates). */
static int char_index_build(tok_vocab *v, uint32_t dup[2])
{
    tok_char_index *ix = &v->chr;
    ix->bmp = malloc(TOK_BMP * sizeof *ix->bmp);
    if (!ix->bmp) return -1;
    memset(ix->bmp, 0xFF, TOK_BMP * sizeof *ix->bmp);
    memset(ix->raw, 0xFF, sizeof ix->raw);
    size_t na = 0;
    for (uint32_t id = 0; id < v->size; id++) {
        uint32_t k = v->keys[id], *slot = NULL;
        if (k < TOK_BMP) slot = &ix->bmp[k];
        else if (k >= TOK_RAW_BASE) slot = &ix->raw[k - TOK_RAW_BASE];
        else na++;
        if (slot) {
            if (*slot != TOK_NONE) {
                dup[0] = *slot;
                dup[1] = id;
                return -2;
            }
            *slot = id;
        }
    }
    if (na) {
        ix->astral = malloc(na * sizeof *ix->astral);
        if (!ix->astral) return -1;
        for (uint32_t id = 0; id < v->size; id++) {
            uint32_t k = v->keys[id];
            if (k >= TOK_BMP && k < TOK_RAW_BASE) {
                ix->astral[ix->n_astral][0] = k;
                ix->astral[ix->n_astral][1] = id;
                ix->n_astral++;
            }
        }
        qsort(ix->astral, na, sizeof *ix->astral, astral_cmp);
        for (size_t i = 1; i < na; i++) {
            if (ix->astral[i][0] == ix->astral[i - 1][0]) {
                uint32_t a = ix->astral[i - 1][1], b = ix->astral[i][1];
                dup[0] = a < b ? a : b;
                dup[1] = a < b ? b : a;
                return -2;
            }
        }
    }
    return 0;
}

/* Fills the byte storage from v->keys (v->size set, keys filled).
 * Returns 0, or -1 when out of memory. */
static int char_bytes_build(tok_vocab *v)
{
    v->off = malloc(((size_t)v->size + 1) * sizeof *v->off);
    v->bytes = malloc((size_t)v->size * 4 + 1);
    if (!v->off || !v->bytes) return -1;
    uint32_t pos = 0;
    for (uint32_t id = 0; id < v->size; id++) {
        uint32_t k = v->keys[id];
        v->off[id] = pos;
        if (k >= TOK_RAW_BASE) v->bytes[pos++] = (uint8_t)(k - TOK_RAW_BASE);
        else pos += (uint32_t)utf8_encode(k, v->bytes + pos);
    }
    v->off[v->size] = pos;
    return 0;
}

/* Allocates an empty char vocabulary with room for n keys. */
static tok_vocab *char_alloc(uint32_t n)
{
    tok_vocab *v = calloc(1, sizeof *v);
    if (!v) return NULL;
    v->kind = TOK_CHAR;
    v->size = n;
    v->keys = malloc(((size_t)n + 1) * sizeof *v->keys);
    if (!v->keys) {
        free(v);
        return NULL;
    }
    return v;
}

tok_vocab *tok_char_build(const uint8_t *data, size_t len)
{
    /* A bitmap over all keys: 139 KB, independent of the text length. */
    uint8_t *seen = calloc(TOK_NKEYS / 8, 1);
    if (!seen) return NULL;
    size_t i = 0;
    while (i < len) {
        uint32_t cp;
        int k = data[i] < 0x80 ? (cp = data[i], 1) : utf8_decode(data + i, len - i, &cp);
        if (k == 0) {
            cp = TOK_RAW_BASE + data[i];
            k = 1;
        }
        seen[cp >> 3] |= (uint8_t)(1u << (cp & 7));
        i += (size_t)k;
    }
    /* Two passes over the bitmap, skipping empty bytes: count, then list
     * the keys in ascending order, which is the id order. */
    uint32_t n = 0;
    for (uint32_t i8 = 0; i8 < TOK_NKEYS / 8; i8++)
        for (uint8_t m = seen[i8]; m; m &= (uint8_t)(m - 1)) n++;
    tok_vocab *v = char_alloc(n);
    if (!v) {
        free(seen);
        return NULL;
    }
    n = 0;
    for (uint32_t i8 = 0; i8 < TOK_NKEYS / 8; i8++) {
        if (!seen[i8]) continue;
        for (uint32_t b = 0; b < 8; b++)
            if ((seen[i8] >> b) & 1u) v->keys[n++] = i8 * 8 + b;
    }
    free(seen);
    uint32_t dup[2] = { 0, 0 };
    if (char_bytes_build(v) != 0 || char_index_build(v, dup) != 0) {
        tok_free(v);
        return NULL;
    }
    return v;
}

void tok_free(tok_vocab *v)
{
    if (!v) return;
    free(v->off);
    free(v->bytes);
    free(v->keys);
    free(v->chr.bmp);
    free(v->chr.astral);
    free(v);
}

tok_vocab *tok_clone(const tok_vocab *v)
{
    if (!v) return NULL;
    tok_vocab *c = char_alloc(v->size);
    if (!c) return NULL;
    memcpy(c->keys, v->keys, (size_t)v->size * sizeof *v->keys);
    uint32_t dup[2] = { 0, 0 };
    if (char_bytes_build(c) != 0 || char_index_build(c, dup) != 0) {
        tok_free(c);
        return NULL;
    }
    return c;
}

tok_kind tok_kind_of(const tok_vocab *v)
{
    return v ? v->kind : TOK_CHAR;
}

const char *tok_kind_name(const tok_vocab *v)
{
    switch (tok_kind_of(v)) {
    case TOK_CHAR: return "char";
    }
    return "unknown";
}

uint32_t tok_size(const tok_vocab *v)
{
    return v ? v->size : 0;
}

/* ---- encoding --------------------------------------------------------- */

static uint32_t char_lookup(const tok_char_index *ix, uint32_t key)
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
    return TOK_NONE;
}

static size_t char_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                          uint32_t *out, size_t *unknown, char *first_unknown)
{
    const tok_char_index *ix = &v->chr;
    size_t n = 0, unk = 0, i = 0;
    while (i < len) {
        uint8_t b = text[i];
        uint32_t key, id;
        int k;
        if (b < 0x80) {                 /* the ASCII fast path */
            key = b;
            k = 1;
            id = ix->bmp[b];
        } else {
            k = utf8_decode(text + i, len - i, &key);
            if (k == 0) {
                key = TOK_RAW_BASE + b;
                k = 1;
            }
            id = char_lookup(ix, key);
        }
        if (id != TOK_NONE) {
            out[n++] = id;
        } else {
            if (unk == 0 && first_unknown) {
                memcpy(first_unknown, text + i, (size_t)k);
                first_unknown[k] = '\0';
            }
            unk++;
        }
        i += (size_t)k;
    }
    if (unknown) *unknown = unk;
    return n;
}

size_t tok_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                  uint32_t *out, size_t *unknown, char *first_unknown)
{
    if (unknown) *unknown = 0;
    if (!v || !text || len == 0) return 0;
    switch (v->kind) {
    case TOK_CHAR: return char_encode(v, text, len, out, unknown, first_unknown);
    }
    return 0;
}

/* ---- decoding --------------------------------------------------------- */

const uint8_t *tok_bytes(const tok_vocab *v, uint32_t id, size_t *len)
{
    if (!v || id >= v->size) {
        if (len) *len = 0;
        return NULL;
    }
    if (len) *len = v->off[id + 1] - v->off[id];
    return v->bytes + v->off[id];
}

/* The buffer is kept NUL-terminated (cap > len) so callers can print it. */
int tok_decode_append(const tok_vocab *v, uint32_t id, char **buf,
                      size_t *len, size_t *cap)
{
    size_t n;
    const uint8_t *p = tok_bytes(v, id, &n);
    if (!p) return 0;                   /* out of range: nothing to append */
    if (!*buf) *cap = 0;                /* nothing allocated yet */
    if (GROW_ARRAY(buf, cap, *len + n + 1, 64) < 0) return -1;
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- JSON ------------------------------------------------------------- */

/* A JSON string cannot carry U+0000 through cJSON (C strings), so that code
 * point is written as {"byte":0}; on reading, {"byte":N} with N < 0x80 means
 * code point N, since such a byte is always valid UTF-8 on its own. */
cJSON *tok_to_json(const tok_vocab *v)
{
    if (!v) return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j) return NULL;
    cJSON *arr = cJSON_CreateArray();
    if (!cJSON_AddStringToObject(j, "kind", tok_kind_name(v)) || !arr) {
        cJSON_Delete(arr);
        cJSON_Delete(j);
        return NULL;
    }
    cJSON_AddItemToObject(j, "tokens", arr);
    for (uint32_t id = 0; id < v->size; id++) {
        uint32_t k = v->keys[id];
        cJSON *t;
        if (k == 0 || k >= TOK_RAW_BASE) {
            t = cJSON_CreateObject();
            if (t && !cJSON_AddNumberToObject(t, "byte", k ? k - TOK_RAW_BASE : 0)) {
                cJSON_Delete(t);
                t = NULL;
            }
        } else {
            char s[5];
            int n = utf8_encode(k, (uint8_t *)s);
            s[n] = '\0';
            t = cJSON_CreateString(s);
        }
        if (!t) {
            cJSON_Delete(j);
            return NULL;
        }
        cJSON_AddItemToArray(arr, t);
    }
    return j;
}

/* Copies s into out for an error message, at most 24 characters, with
 * anything unprintable replaced: the message must stay one line whatever a
 * hostile file contains. */
static void sanitize(const char *s, char *out, size_t outlen)
{
    size_t i = 0;
    for (; s[i] && i + 4 < outlen && i < 24; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    if (s[i] && i + 4 < outlen) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}

/* The key of tokens[i], or TOK_NONE with err set. */
static uint32_t json_token_key(const cJSON *t, size_t i, char *err, size_t errlen)
{
    if (cJSON_IsString(t) && t->valuestring) {
        const uint8_t *s = (const uint8_t *)t->valuestring;
        size_t n = strlen(t->valuestring);
        uint32_t cp;
        int k = n ? utf8_decode(s, n, &cp) : 0;
        if (n == 0 || k == 0 || (size_t)k != n) {
            snprintf(err, errlen, "vocabulary: tokens[%zu] is not exactly one "
                     "valid UTF-8 character (%zu bytes)", i, n);
            return TOK_NONE;
        }
        return cp;
    }
    if (cJSON_IsObject(t)) {
        const cJSON *b = cJSON_GetObjectItemCaseSensitive(t, "byte");
        if (!b || cJSON_GetArraySize(t) != 1) {
            snprintf(err, errlen, "vocabulary: tokens[%zu] is an object but not "
                     "{\"byte\":N}", i);
            return TOK_NONE;
        }
        double d = b->valuedouble;
        if (!cJSON_IsNumber(b) || !(d >= 0 && d <= 255) || d != (double)(int)d) {
            snprintf(err, errlen, "vocabulary: tokens[%zu] byte is not an "
                     "integer in 0..255", i);
            return TOK_NONE;
        }
        int v = (int)d;
        return v < 0x80 ? (uint32_t)v : TOK_RAW_BASE + (uint32_t)v;
    }
    snprintf(err, errlen, "vocabulary: tokens[%zu] is neither a string nor "
             "{\"byte\":N}", i);
    return TOK_NONE;
}

tok_vocab *tok_from_json(const cJSON *j, char *err, size_t errlen)
{
    if (!cJSON_IsObject(j)) {
        snprintf(err, errlen, "vocabulary: not a JSON object");
        return NULL;
    }
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(j, "kind");
    if (!cJSON_IsString(kind) || !kind->valuestring) {
        snprintf(err, errlen, "vocabulary: \"kind\" is missing or not a string");
        return NULL;
    }
    if (strcmp(kind->valuestring, "char") != 0) {
        char k[32];
        sanitize(kind->valuestring, k, sizeof k);
        snprintf(err, errlen, "vocabulary: unknown kind \"%s\" (expected \"char\")", k);
        return NULL;
    }
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(j, "tokens");
    if (!cJSON_IsArray(toks)) {
        snprintf(err, errlen, "vocabulary: \"tokens\" is missing or not an array");
        return NULL;
    }
    /* Count by walking: cJSON_GetArraySize returns int, and walking once
     * also bounds the work before anything is allocated. */
    size_t n = 0;
    const cJSON *t;
    cJSON_ArrayForEach(t, toks) {
        if (++n > TOK_NKEYS) {
            snprintf(err, errlen, "vocabulary: more than %u tokens: there are "
                     "not that many distinct characters", TOK_NKEYS);
            return NULL;
        }
    }
    if (n == 0) {
        snprintf(err, errlen, "vocabulary: \"tokens\" is empty");
        return NULL;
    }
    tok_vocab *v = char_alloc((uint32_t)n);
    if (!v) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return NULL;
    }
    size_t i = 0;
    cJSON_ArrayForEach(t, toks) {
        uint32_t key = json_token_key(t, i, err, errlen);
        if (key == TOK_NONE) {
            tok_free(v);
            return NULL;
        }
        v->keys[i++] = key;
    }
    uint32_t dup[2] = { 0, 0 };
    int rc = char_bytes_build(v);
    if (rc == 0) rc = char_index_build(v, dup);
    if (rc == -2) {
        snprintf(err, errlen, "vocabulary: tokens[%u] duplicates tokens[%u]",
                 dup[1], dup[0]);
    } else if (rc != 0) {
        snprintf(err, errlen, "vocabulary: out of memory");
    }
    if (rc != 0) {
        tok_free(v);
        return NULL;
    }
    return v;
}
