/* tok.c - the tokenizer interface: the vocabulary storage every kind
 * shares (tok_int.h), dispatch to the kind's operations, and the helpers
 * the kinds share (UTF-8, messages). */
#include "text/tok.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok_int.h"
#include "text/tok_map.h"
#include "util/buf.h"

/* ---- storage ---------------------------------------------------------- */

tok_vocab *tok_alloc(const tok_ops *ops)
{
    tok_vocab *v = calloc(1, sizeof *v);
    if (!v)
        return NULL;
    v->ops = ops;
    v->sep = ops->kind == TOK_WORD;
    v->unk = v->eos = TOK_NO_ID;
    v->opt = tok_options_default();
    v->opt.kind = ops->kind;
    if (GROW_ARRAY(&v->off, &v->cap_off, 1, 64) < 0) {
        free(v);
        return NULL;
    }
    v->off[0] = 0;
    return v;
}

uint32_t tok_store_add(tok_vocab *v, const uint8_t *bytes, size_t n)
{
    size_t sep = (size_t)v->sep;
    if (v->size >= TOK_MAX_VOCAB || n > SIZE_MAX / 2 - v->n_bytes)
        return TOK_NO_ID;
    if (GROW_ARRAY(&v->off, &v->cap_off, (size_t)v->size + 2, 64) < 0 ||
        GROW_ARRAY(&v->bytes, &v->cap_bytes, v->n_bytes + sep + n + 1, 256) < 0)
        return TOK_NO_ID;
    if (sep)
        v->bytes[v->n_bytes] = ' ';
    if (n)
        memcpy(v->bytes + v->n_bytes + sep, bytes, n);
    v->n_bytes += sep + n;
    v->off[++v->size] = v->n_bytes;
    return v->size - 1;
}

void tok_free(tok_vocab *v)
{
    if (!v)
        return;
    if (v->index)
        v->ops->free_index(v);
    free(v->off);
    free(v->bytes);
    free(v->merges);
    free(v);
}

/* Copies v's storage into c (same kind, empty).  Returns 0 or -1. */
static int copy_storage(tok_vocab *c, const tok_vocab *v)
{
    size_t nm = v->size > 256 && v->merges ? v->size - 256 : 0;
    if (GROW_ARRAY(&c->off, &c->cap_off, (size_t)v->size + 1, 64) < 0 ||
        GROW_ARRAY(&c->bytes, &c->cap_bytes, v->n_bytes + 1, 256) < 0)
        return -1;
    memcpy(c->off, v->off, ((size_t)v->size + 1) * sizeof *c->off);
    if (v->n_bytes)                 /* an empty vocabulary has no bytes */
        memcpy(c->bytes, v->bytes, v->n_bytes);
    if (nm) {
        if (!(c->merges = malloc(nm * sizeof *c->merges)))
            return -1;
        memcpy(c->merges, v->merges, nm * sizeof *c->merges);
    }
    c->size = v->size;
    c->n_bytes = v->n_bytes;
    c->unk = v->unk;
    c->eos = v->eos;
    c->opt = v->opt;
    return 0;
}

tok_vocab *tok_clone(const tok_vocab *v)
{
    char err[64];
    if (!v)
        return NULL;
    tok_vocab *c = tok_alloc(v->ops);
    if (!c || copy_storage(c, v) != 0 || v->ops->finish(c, err, sizeof err) != 0) {
        tok_free(c);
        return NULL;
    }
    return c;
}

tok_map *tok_map_index(tok_vocab *v, char *err, size_t errlen)
{
    tok_map *m = calloc(1, sizeof *m);
    if (!m)
        snprintf(err, errlen, "%s vocabulary: out of memory", v->ops->name);
    v->index = m;
    return m;
}

void tok_map_index_free(tok_vocab *v)
{
    tok_map_free(v->index);
    free(v->index);
    v->index = NULL;
}

/* ---- building --------------------------------------------------------- */

struct tok_builder {
    const tok_ops *ops;
    void *st;
};

/* The kind's operations for o, or NULL with err when o is out of range. */
static const tok_ops *build_ops(const tok_options *o, char *err, size_t errlen)
{
    switch (o->kind) {
    case TOK_CHAR:
        return &tok_char_ops;
    case TOK_WORD:
        if (o->max_vocab == 1 || o->max_vocab > TOK_MAX_VOCAB || o->min_count == 0) {
            snprintf(err, errlen, "word vocabulary: max-vocab %u or min-count %llu "
                     "out of range", o->max_vocab, (unsigned long long)o->min_count);
            return NULL;
        }
        return &tok_word_ops;
    case TOK_BPE:
        if (o->bpe_vocab < TOK_BPE_MIN || o->bpe_vocab > TOK_BPE_MAX) {
            snprintf(err, errlen, "bpe vocabulary: size %u is not from %u to %u",
                     o->bpe_vocab, TOK_BPE_MIN, TOK_BPE_MAX);
            return NULL;
        }
        return &tok_bpe_ops;
    }
    snprintf(err, errlen, "vocabulary: unknown kind %d", (int)o->kind);
    return NULL;
}

tok_builder *tok_builder_new(const tok_options *o, char *err, size_t errlen)
{
    const tok_ops *ops = build_ops(o, err, errlen);
    tok_builder *b = ops ? calloc(1, sizeof *b) : NULL;
    if (!ops)
        return NULL;
    if (b && !(b->st = ops->build_start(o))) {
        free(b);
        b = NULL;
    }
    if (!b) {
        snprintf(err, errlen, "%s vocabulary: out of memory", ops->name);
        return NULL;
    }
    b->ops = ops;
    return b;
}

int tok_builder_add(tok_builder *b, const uint8_t *text, size_t len, char *err,
                    size_t errlen)
{
    if (b->ops->build_add(b->st, text, len) == 0)
        return 0;
    snprintf(err, errlen, "%s vocabulary: out of memory", b->ops->name);
    return -1;
}

tok_vocab *tok_builder_finish(tok_builder *b, char *err, size_t errlen)
{
    tok_vocab *v = b->ops->build_end(b->st, err, errlen);
    free(b);
    return v;
}

void tok_builder_free(tok_builder *b)
{
    if (!b)
        return;
    b->ops->build_free(b->st);
    free(b);
}

/* The sample's windows are at least this long, so that the cuts at piece
 * boundaries take little of each. */
#define SAMPLE_WINDOW_MIN ((size_t)1 << 20)

size_t tok_sample_spans(const tok_options *o, const uint8_t *text, size_t len,
                        tok_span out[TOK_SAMPLE_SPANS])
{
    uint64_t want = o->bpe_sample ? o->bpe_sample : TOK_BPE_SAMPLE_DEFAULT;
    if (o->kind != TOK_BPE || len <= want) {
        out[0] = (tok_span){ text, len };
        return 1;
    }
    size_t k = TOK_SAMPLE_SPANS, n = 0;
    while (k > 1 && want / k < SAMPLE_WINDOW_MIN)
        k--;
    for (size_t i = 0; i < k; i++) {
        size_t at = (size_t)((double)len * (double)i / (double)k);
        size_t b = tok_chunk_end(TOK_BPE, text, len, at);
        size_t e = tok_chunk_end(TOK_BPE, text, len, b + (size_t)(want / k));
        if (e > b)
            out[n++] = (tok_span){ text + b, e - b };
    }
    return n;
}

tok_vocab *tok_build(const tok_options *o, const uint8_t *data, size_t len,
                     char *err, size_t errlen)
{
    tok_span spans[TOK_SAMPLE_SPANS];
    size_t n = tok_sample_spans(o, data, len, spans);
    tok_builder *b = tok_builder_new(o, err, errlen);
    for (size_t i = 0; b && i < n; i++)
        if (tok_builder_add(b, spans[i].text, spans[i].len, err, errlen) != 0) {
            tok_builder_free(b);
            return NULL;
        }
    return b ? tok_builder_finish(b, err, errlen) : NULL;
}

/* ---- what a vocabulary is --------------------------------------------- */

tok_kind tok_kind_of(const tok_vocab *v)
{
    return v ? v->ops->kind : TOK_CHAR;
}

const char *tok_kind_name(const tok_vocab *v)
{
    return tok_kind_str(tok_kind_of(v));
}

uint32_t tok_size(const tok_vocab *v)
{
    return v ? v->size : 0;
}

tok_options tok_options_of(const tok_vocab *v)
{
    return v ? v->opt : tok_options_default();
}

uint32_t tok_eos(const tok_vocab *v)
{
    return v ? v->eos : TOK_NO_ID;
}

uint32_t tok_unk(const tok_vocab *v)
{
    return v ? v->unk : TOK_NO_ID;
}

/* ---- encoding and decoding -------------------------------------------- */

size_t tok_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                  uint32_t *out, size_t *unknown, char *first_unknown)
{
    if (unknown)
        *unknown = 0;
    if (first_unknown)
        first_unknown[0] = '\0';
    if (!v || !text || len == 0)
        return 0;
    return v->ops->encode(v, text, len, out, unknown, first_unknown);
}

const char *tok_unknown_note(const tok_vocab *v, size_t n)
{
    int one = n == 1;
    switch (tok_kind_of(v)) {
    case TOK_CHAR:
        return one ? "character not in the vocabulary was skipped"
                   : "characters not in the vocabulary were skipped";
    case TOK_WORD:
        return one ? "word not in the vocabulary became <unk>"
                   : "words not in the vocabulary became <unk>";
    case TOK_BPE: break;
    }
    return one ? "piece not in the vocabulary was skipped"
               : "pieces not in the vocabulary were skipped";
}

size_t tok_cut(tok_kind kind, const uint8_t *text, size_t len, size_t at)
{
    if (at >= len)
        return len;
    switch (kind) {
    case TOK_WORD: return tok_word_cut(text, len, at);
    case TOK_BPE: return tok_bpe_cut(text, len, at);
    case TOK_CHAR: break;
    }
    return at;
}

/* Whether a cut at 0 < at < len is exact for kind (tok_chunk_end). */
static int cut_exact(tok_kind kind, const uint8_t *text, size_t len, size_t at)
{
    switch (kind) {
    case TOK_WORD: return tok_word_cut_exact(text, at);
    case TOK_BPE: return tok_bpe_boundary(text, len, at);
    case TOK_CHAR: break;
    }
    /* No well-formed character spans a byte that is not a continuation
     * byte, nor one after three continuation bytes (a character has at
     * most four bytes, its first not a continuation byte). */
    if ((text[at] & 0xC0) != 0x80 || at < 3)
        return (text[at] & 0xC0) != 0x80;
    return (text[at - 1] & 0xC0) == 0x80 && (text[at - 2] & 0xC0) == 0x80 &&
           (text[at - 3] & 0xC0) == 0x80;
}

size_t tok_chunk_end(tok_kind kind, const uint8_t *text, size_t len, size_t at)
{
    size_t i = tok_cut(kind, text, len, at);
    while (i > 0 && i < len && !cut_exact(kind, text, len, i))
        i++;
    return i;
}

const uint8_t *tok_bytes(const tok_vocab *v, uint32_t id, size_t *len)
{
    if (!v || id >= v->size) {
        if (len)
            *len = 0;
        return NULL;
    }
    size_t n;
    const uint8_t *p = tok_at(v, id, &n);
    if (len)
        *len = n;
    return p;
}

const uint8_t *tok_piece(const tok_vocab *v, uint32_t prev, uint32_t id,
                         size_t *len)
{
    const uint8_t *p = tok_bytes(v, id, len);
    if (!p || !v->sep)
        return p;
    if (id == v->eos) {
        *len = 1;
        return (const uint8_t *)"\n";
    }
    if (prev == TOK_NO_ID || prev == v->eos)
        return p;
    *len += 1;                          /* the stored space before it */
    return p - 1;
}

/* The buffer is kept NUL-terminated (cap > len) so callers can print it. */
int tok_decode_append(const tok_vocab *v, uint32_t id, char **buf,
                      size_t *len, size_t *cap)
{
    size_t n;
    const uint8_t *p = tok_bytes(v, id, &n);
    if (!p)
        return 0;                       /* out of range: nothing to append */
    if (!*buf)
        *cap = 0;                       /* nothing allocated yet */
    if (GROW_ARRAY(buf, cap, *len + n + 1, 64) < 0)
        return -1;
    memcpy(*buf + *len, p, n);
    *len += n;
    (*buf)[*len] = '\0';
    return 0;
}

/* ---- shared helpers --------------------------------------------------- */

/* Unicode table 3-7: the narrowed second-byte ranges reject overlongs
 * (E0, F0), surrogates (ED) and code points above U+10FFFF (F4).  A byte
 * that starts no sequence is taken alone as a raw byte by the callers,
 * which is what makes every invalid input round-trip byte-exactly. */
int tok_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp)
{
    uint8_t b = p[0], lo = 0x80, hi = 0xBF;
    int need;
    uint32_t c;
    if (b < 0x80) {
        *cp = b;
        return 1;
    }
    if (b < 0xC2 || b > 0xF4)           /* continuation, overlong, too big */
        return 0;
    need = b < 0xE0 ? 1 : b < 0xF0 ? 2 : 3;
    c = b & (0x3Fu >> need);
    if (b == 0xE0) lo = 0xA0;
    if (b == 0xED) hi = 0x9F;
    if (b == 0xF0) lo = 0x90;
    if (b == 0xF4) hi = 0x8F;
    if (n < (size_t)need + 1 || p[1] < lo || p[1] > hi)
        return 0;
    for (int k = 1; k <= need; k++) {
        if (p[k] < 0x80 || p[k] > 0xBF)
            return 0;
        c = (c << 6) | (p[k] & 0x3Fu);
    }
    *cp = c;
    return need + 1;
}

size_t tok_utf8_len(const uint8_t *p, size_t n)
{
    uint32_t cp;
    return n ? (size_t)tok_utf8_decode(p, n, &cp) : 0;
}

void tok_note_unknown(const uint8_t *p, size_t n, char *out)
{
    size_t k = 0;
    while (k < n) {
        uint32_t cp;
        int w = tok_utf8_decode(p + k, n - k, &cp);
        if (w == 0)
            w = 1;
        if (k + (size_t)w > 7)
            break;
        k += (size_t)w;
    }
    memcpy(out, p, k);
    out[k] = '\0';
}

void tok_sanitize(const char *s, size_t n, char *out, size_t outlen)
{
    size_t i = 0;
    for (; i < n && i + 4 < outlen && i < 24; i++)
        out[i] = (s[i] >= 0x20 && s[i] < 0x7F) ? s[i] : '?';
    if (i < n && i + 4 < outlen) {
        memcpy(out + i, "...", 3);
        i += 3;
    }
    out[i] = '\0';
}
