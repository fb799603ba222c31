/* emb_match.c - a vocabulary's rows filled from a vector file (emb_match.h):
 * the tokens' keys in hash maps (exact, and lowercased), each key
 * chained to the tokens it stands for, and the file streamed past them. */
#include <stdlib.h>
#include <string.h>

#include "text/emb_match.h"
#include "text/tok_case.h"
#include "text/tok_map.h"
#include "util/buf.h"

/* How a word matched a token: the higher wins. */
enum { MATCH_NONE = 0, MATCH_FOLDED = 1, MATCH_EXACT = 2 };

/* Keys to tokens: key i of map heads a chain of entries, each a token. */
typedef struct key_table {
    tok_map map;
    uint32_t *head;          /* per key: first entry + 1, 0 none */
    size_t cap_head;
} key_table;

typedef struct matcher {
    key_table exact, folded;
    uint32_t *e_id, *e_next; /* entries: token, next entry + 1 */
    size_t n_entries, cap_id, cap_next;
    uint8_t *state;          /* per token: MATCH_* it has */
    float *vec;              /* one record's values */
} matcher;

static void table_free(key_table *t)
{
    tok_map_free(&t->map);
    free(t->head);
}

static void matcher_free(matcher *m)
{
    table_free(&m->exact);
    table_free(&m->folded);
    free(m->e_id);
    free(m->e_next);
    free(m->state);
    free(m->vec);
}

/* Adds key -> token id to t.  Returns 0, or -1 when out of memory. */
static int table_add(matcher *m, key_table *t, const uint8_t *key, size_t n,
                     uint32_t id)
{
    int added;
    uint32_t k = tok_map_add(&t->map, key, n, &added);
    size_t e = m->n_entries;
    if (k == TOK_MAP_NONE || GROW_ARRAY(&t->head, &t->cap_head, (size_t)k + 1, 256) < 0
        || GROW_ARRAY(&m->e_id, &m->cap_id, e + 1, 256) < 0
        || GROW_ARRAY(&m->e_next, &m->cap_next, e + 1, 256) < 0)
        return -1;
    if (added)
        t->head[k] = 0;
    m->e_id[e] = id;
    m->e_next[e] = t->head[k];
    t->head[k] = (uint32_t)e + 1;
    m->n_entries++;
    return 0;
}

/* The longest key: a word, or a BPE token's alias (U+2581 for its space). */
#define KEY_MAX (EMB_MAX_WORD + 8)

/* Adds a key of token id: exact, and lowercased (the word tokenizer's
 * Unicode map, so that a token and a file word meet whatever their case)
 * when fold is on.  scratch holds TOK_LOWER_ROOM(n) bytes. */
static int add_key(matcher *m, const uint8_t *key, size_t n, uint32_t id,
                   int fold, uint8_t *scratch)
{
    if (table_add(m, &m->exact, key, n, id) != 0)
        return -1;
    if (!fold)
        return 0;
    size_t k = tok_lower(TOK_LOWER_UNICODE, key, n, scratch);
    return table_add(m, &m->folded, scratch, k, id);
}

/* The keys of every token (emb_match.h says which). */
static int add_vocab(matcher *m, const tok_vocab *v, int fold)
{
    static const uint8_t start[] = {0xE2, 0x96, 0x81};     /* U+2581 */
    uint8_t scratch[TOK_LOWER_ROOM(KEY_MAX)];
    int bpe = tok_kind_of(v) == TOK_BPE;
    for (uint32_t id = 0; id < tok_size(v); id++) {
        size_t n;
        const uint8_t *b = tok_bytes(v, id, &n);
        if (!b || n == 0 || n > EMB_MAX_WORD)
            continue;            /* no file word can be it */
        if (add_key(m, b, n, id, fold, scratch) != 0)
            return -1;
        if (bpe && b[0] == ' ') {
            uint8_t alias[KEY_MAX];
            memcpy(alias, start, sizeof start);
            memcpy(alias + sizeof start, b + 1, n - 1);
            if (add_key(m, alias, n - 1 + sizeof start, id, fold, scratch) != 0)
                return -1;
        }
        if (id == tok_eos(v) && add_key(m, (const uint8_t *)"</s>", 4, id, fold, scratch) != 0)
            return -1;
    }
    return 0;
}

/* The first entry of word's chain in t + 1, or 0. */
static uint32_t lookup(const key_table *t, const uint8_t *w, size_t n)
{
    uint32_t k = t->map.n ? tok_map_find(&t->map, w, n) : TOK_MAP_NONE;
    return k == TOK_MAP_NONE ? 0 : t->head[k];
}

/* Gives the record's vector to the tokens of chain e that hold less than
 * rank; reads the values once, when first needed.  Returns 0 or -1. */
static int give(matcher *m, emb_file *f, uint32_t e, int rank, float *rows,
                int *have, emb_report *rep, const uint8_t *w, size_t n,
                char *err, size_t errlen)
{
    size_t dim = (size_t)emb_dim(f);
    for (; e; e = m->e_next[e - 1]) {
        uint32_t id = m->e_id[e - 1];
        if (m->state[id] >= rank) {
            if (rank == MATCH_EXACT && ++rep->duplicates == 1) {
                char at[48], shown[64];
                emb_where(f, at, sizeof at);
                snprintf(rep->first_duplicate, sizeof rep->first_duplicate,
                         "'%s' at %s", emb_show_word(w, n, shown, sizeof shown), at);
            }
            continue;
        }
        if (!*have && emb_vector(f, m->vec, err, errlen) != 0)
            return -1;
        *have = 1;
        rep->found += m->state[id] == MATCH_NONE;
        rep->folded += (rank == MATCH_FOLDED) - (m->state[id] == MATCH_FOLDED);
        m->state[id] = (uint8_t)rank;
        memcpy(rows + (size_t)id * dim, m->vec, dim * sizeof(float));
    }
    return 0;
}

static int stream(matcher *m, emb_file *f, int fold, float *rows,
                  emb_report *rep, char *err, size_t errlen)
{
    uint8_t low[TOK_LOWER_ROOM(EMB_MAX_WORD)];
    const uint8_t *w;
    size_t n;
    int r;
    while ((r = emb_next(f, &w, &n, err, errlen)) == 1) {
        int have = 0;
        uint32_t e;
        rep->records++;
        if ((e = lookup(&m->exact, w, n))
            && give(m, f, e, MATCH_EXACT, rows, &have, rep, w, n, err, errlen) != 0)
            return -1;
        if (!fold || n > EMB_MAX_WORD)
            continue;
        size_t k = tok_lower(TOK_LOWER_UNICODE, w, n, low);
        if ((e = lookup(&m->folded, low, k))
            && give(m, f, e, MATCH_FOLDED, rows, &have, rep, w, n, err, errlen) != 0)
            return -1;
    }
    return r < 0 ? -1 : 0;
}

int emb_fill(emb_file *f, const tok_vocab *v, int fold, float *rows,
             emb_report *rep, char *err, size_t errlen)
{
    matcher m;
    int rc = -1;
    memset(&m, 0, sizeof m);
    memset(rep, 0, sizeof *rep);
    rep->tokens = tok_size(v);
    m.state = calloc(tok_size(v) ? tok_size(v) : 1, 1);
    m.vec = malloc((size_t)emb_dim(f) * sizeof(float));
    if (!m.state || !m.vec || add_vocab(&m, v, fold) != 0)
        snprintf(err, errlen, "%s: out of memory for the vocabulary's keys", emb_name(f));
    else
        rc = stream(&m, f, fold, rows, rep, err, errlen);
    matcher_free(&m);
    return rc;
}
