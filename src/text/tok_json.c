/* tok_json.c - a vocabulary as JSON (session.json's "tokenizer"): the
 * kind, then the kind's own members, and the readers the kinds share,
 * each of which names the member and the problem when it refuses one. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok.h"
#include "text/tok_int.h"

cJSON *tok_to_json(const tok_vocab *v)
{
    if (!v)
        return NULL;
    cJSON *j = cJSON_CreateObject();
    if (!j || !cJSON_AddStringToObject(j, "kind", v->ops->name) ||
        v->ops->to_json(v, j) != 0) {
        cJSON_Delete(j);
        return NULL;
    }
    return j;
}

static const tok_ops *ops_named(const char *name)
{
    static const tok_ops *const all[] = { &tok_char_ops, &tok_word_ops, &tok_bpe_ops };
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (strcmp(all[i]->name, name) == 0)
            return all[i];
    return NULL;
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
    const tok_ops *ops = ops_named(kind->valuestring);
    if (!ops) {
        char k[32];
        tok_sanitize(kind->valuestring, strlen(kind->valuestring), k, sizeof k);
        snprintf(err, errlen, "vocabulary: unknown kind \"%s\" (expected "
                 "\"char\", \"word\" or \"bpe\")", k);
        return NULL;
    }
    tok_vocab *v = tok_alloc(ops);
    if (!v) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return NULL;
    }
    if (ops->from_json(v, j, err, errlen) != 0 || ops->finish(v, err, errlen) != 0) {
        tok_free(v);
        return NULL;
    }
    return v;
}

int tok_json_tokens(tok_vocab *v, const cJSON *j, size_t max,
                    tok_json_add_fn add, char *err, size_t errlen)
{
    const cJSON *toks = cJSON_GetObjectItemCaseSensitive(j, "tokens"), *t;
    size_t i = 0;
    if (!cJSON_IsArray(toks)) {
        snprintf(err, errlen, "vocabulary: \"tokens\" is missing or not an array");
        return -1;
    }
    cJSON_ArrayForEach(t, toks) {
        if (i >= max) {
            snprintf(err, errlen, "vocabulary: more than %zu tokens", max);
            return -1;
        }
        if (add(v, t, i++, err, errlen) != 0)
            return -1;
    }
    if (i == 0) {
        snprintf(err, errlen, "vocabulary: \"tokens\" is empty");
        return -1;
    }
    return 0;
}

/* ---- token bytes ------------------------------------------------------ */

/* Whether n bytes are UTF-8 text without NUL: what a JSON string holds. */
static int is_text(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        int k = tok_utf8_decode(b + i, n - i, &cp);
        if (k == 0 || cp == 0)
            return 0;
        i += (size_t)k;
    }
    return 1;
}

cJSON *tok_json_bytes(const uint8_t *b, size_t n)
{
    static const char digits[] = "0123456789abcdef";
    if (is_text(b, n)) {
        char *s = malloc(n + 1);
        if (!s)
            return NULL;
        memcpy(s, b, n);
        s[n] = '\0';
        cJSON *t = cJSON_CreateString(s);
        free(s);
        return t;
    }
    char *hex = malloc(2 * n + 1);
    cJSON *t = cJSON_CreateObject();
    for (size_t i = 0; hex && i < n; i++) {
        hex[2 * i] = digits[b[i] >> 4];
        hex[2 * i + 1] = digits[b[i] & 15];
    }
    if (hex)
        hex[2 * n] = '\0';
    if (!hex || !t || !cJSON_AddStringToObject(t, "hex", hex)) {
        cJSON_Delete(t);
        t = NULL;
    }
    free(hex);
    return t;
}

static int hex_digit(char c)
{
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    if (c >= 'A' && c <= 'F') return c - 'A' + 10;
    return -1;
}

/* Decodes {"hex":"..."} into a new allocation; 0 or -1 with err. */
static int read_hex(const cJSON *t, size_t i, uint8_t **out, size_t *n,
                    char *err, size_t errlen)
{
    const cJSON *h = cJSON_GetObjectItemCaseSensitive(t, "hex");
    if (!cJSON_IsString(h) || !h->valuestring || cJSON_GetArraySize(t) != 1) {
        snprintf(err, errlen, "vocabulary: tokens[%zu] is an object but not "
                 "{\"hex\":\"...\"}", i);
        return -1;
    }
    size_t len = strlen(h->valuestring);
    uint8_t *b = malloc(len / 2 + 1);
    if (!b) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return -1;
    }
    for (size_t k = 0; k < len / 2; k++) {
        int hi = hex_digit(h->valuestring[2 * k]), lo = hex_digit(h->valuestring[2 * k + 1]);
        if (hi < 0 || lo < 0) {
            len = 1;                    /* reported below */
            break;
        }
        b[k] = (uint8_t)(hi << 4 | lo);
    }
    if (len % 2) {
        free(b);
        snprintf(err, errlen, "vocabulary: tokens[%zu] hex is not pairs of "
                 "hexadecimal digits", i);
        return -1;
    }
    *out = b;
    *n = len / 2;
    return 0;
}

int tok_json_read_bytes(const cJSON *t, size_t i, uint8_t **out, size_t *n,
                        char *err, size_t errlen)
{
    if (cJSON_IsObject(t))
        return read_hex(t, i, out, n, err, errlen);
    if (!cJSON_IsString(t) || !t->valuestring) {
        snprintf(err, errlen, "vocabulary: tokens[%zu] is neither a string nor "
                 "{\"hex\":\"...\"}", i);
        return -1;
    }
    *n = strlen(t->valuestring);
    if (!(*out = malloc(*n + 1))) {
        snprintf(err, errlen, "vocabulary: out of memory");
        return -1;
    }
    memcpy(*out, t->valuestring, *n);
    return 0;
}

/* ---- numbers and flags ------------------------------------------------ */

int tok_json_uint(const cJSON *j, const char *name, uint64_t lo, uint64_t hi,
                  int optional, uint64_t *v, char *err, size_t errlen)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!x && optional)
        return 0;
    double d = x ? x->valuedouble : NAN;
    if (!cJSON_IsNumber(x) || !(d >= (double)lo && d <= (double)hi) || d != floor(d)) {
        snprintf(err, errlen, "vocabulary: \"%s\" is %s, expected a whole "
                 "number from %llu to %llu", name, x ? "not one" : "missing",
                 (unsigned long long)lo, (unsigned long long)hi);
        return -1;
    }
    *v = (uint64_t)d;
    return 0;
}

int tok_json_bool(const cJSON *j, const char *name, int *v, char *err,
                  size_t errlen)
{
    const cJSON *x = cJSON_GetObjectItemCaseSensitive(j, name);
    if (!x)
        return 0;
    if (!cJSON_IsBool(x)) {
        snprintf(err, errlen, "vocabulary: \"%s\" is not true or false", name);
        return -1;
    }
    *v = cJSON_IsTrue(x);
    return 0;
}
