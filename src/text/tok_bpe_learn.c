/* tok_bpe_learn.c - learning BPE merges from a text.
 *
 * The text is cut into pieces (tok_bpe_piece) and each distinct piece is
 * kept once with its count, as a linked list of symbols (its bytes at the
 * start).  Every adjacent pair of symbols is counted, weighted by its
 * piece's count, with the list of the positions where it occurs.  Each
 * round merges the pair with the highest count; ties go to the pair whose
 * first id is smallest, then whose second id is smallest, so the result
 * depends on the text alone.  A merge visits only the positions of its
 * pair, left to right, and updates the counts of the pairs around them;
 * a max-heap with lazy deletion (an entry whose count is no longer the
 * pair's is dropped when it surfaces) finds the next pair.  Learning
 * stops at the vocabulary size asked for, or when no pair occurs twice. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok.h"
#include "text/tok_int.h"
#include "text/tok_map.h"
#include "util/buf.h"

#define NONE UINT32_MAX

typedef struct bl_pair {
    uint32_t a, b;
    int64_t count;
    uint32_t *occ;           /* positions of a (the pair's left symbol) */
    size_t n_occ, cap_occ;
    int touched;             /* changed in this round */
} bl_pair;

typedef struct bl_entry {
    int64_t count;
    uint32_t pair;
} bl_entry;

struct bpe_learner {
    tok_map pieces;
    uint64_t *weight;        /* per piece: its count in the text */
    size_t cap_weight;
    uint32_t *sym, *prev, *next, *piece;   /* per position */
    size_t n_pos;
    tok_map pair_ix;         /* (a, b) -> index into pairs */
    bl_pair *pairs;
    size_t n_pairs, cap_pairs;
    bl_entry *heap;
    size_t n_heap, cap_heap;
    uint32_t *touched;       /* pairs changed in this round */
    size_t n_touched, cap_touched;
    size_t bytes;            /* text added, for messages */
};

/* ---- the heap --------------------------------------------------------- */

/* Whether entry x comes out of the heap before y. */
static int before(const bpe_learner *L, bl_entry x, bl_entry y)
{
    if (x.count != y.count)
        return x.count > y.count;
    const bl_pair *p = &L->pairs[x.pair], *q = &L->pairs[y.pair];
    return p->a != q->a ? p->a < q->a : p->b < q->b;
}

static int heap_push(bpe_learner *L, int64_t count, uint32_t pair)
{
    if (GROW_ARRAY(&L->heap, &L->cap_heap, L->n_heap + 1, 1024) < 0)
        return -1;
    bl_entry e = { count, pair };
    size_t i = L->n_heap++;
    while (i > 0 && before(L, e, L->heap[(i - 1) / 2])) {
        L->heap[i] = L->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    L->heap[i] = e;
    return 0;
}

static bl_entry heap_pop(bpe_learner *L)
{
    bl_entry top = L->heap[0], e = L->heap[--L->n_heap];
    size_t i = 0, n = L->n_heap;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= n)
            break;
        if (c + 1 < n && before(L, L->heap[c + 1], L->heap[c]))
            c++;
        if (!before(L, L->heap[c], e))
            break;
        L->heap[i] = L->heap[c];
        i = c;
    }
    if (n)
        L->heap[i] = e;
    return top;
}

/* The pair to merge next, or NONE when no pair occurs twice. */
static uint32_t best_pair(bpe_learner *L)
{
    while (L->n_heap > 0) {
        bl_entry e = heap_pop(L);
        if (e.count == L->pairs[e.pair].count)
            return e.count >= 2 ? e.pair : NONE;
    }
    return NONE;
}

/* ---- pairs ------------------------------------------------------------ */

/* The index of pair (a, b), created with count 0 when new; NONE when out
 * of memory. */
static uint32_t pair_of(bpe_learner *L, uint32_t a, uint32_t b)
{
    uint8_t key[8];
    int added;
    memcpy(key, &a, 4);
    memcpy(key + 4, &b, 4);
    uint32_t i = tok_map_add(&L->pair_ix, key, 8, &added);
    if (i == TOK_MAP_NONE)
        return NONE;
    if (added) {
        if (GROW_ARRAY(&L->pairs, &L->cap_pairs, (size_t)i + 1, 1024) < 0)
            return NONE;
        memset(&L->pairs[i], 0, sizeof L->pairs[i]);
        L->pairs[i].a = a;
        L->pairs[i].b = b;
        L->n_pairs = (size_t)i + 1;
    }
    return i;
}

static int touch(bpe_learner *L, uint32_t i)
{
    if (L->pairs[i].touched)
        return 0;
    if (GROW_ARRAY(&L->touched, &L->cap_touched, L->n_touched + 1, 256) < 0)
        return -1;
    L->pairs[i].touched = 1;
    L->touched[L->n_touched++] = i;
    return 0;
}

/* Adds w to pair (a, b), occurring at position pos.  0 or -1. */
static int pair_add(bpe_learner *L, uint32_t a, uint32_t b, int64_t w, uint32_t pos)
{
    uint32_t i = pair_of(L, a, b);
    if (i == NONE)
        return -1;
    bl_pair *p = &L->pairs[i];
    if (GROW_ARRAY(&p->occ, &p->cap_occ, (size_t)p->n_occ + 1, 4) < 0)
        return -1;
    p->occ[p->n_occ++] = pos;
    p->count += w;
    return touch(L, i);
}

/* Takes w from pair (a, b); its stale position stays listed. */
static int pair_sub(bpe_learner *L, uint32_t a, uint32_t b, int64_t w)
{
    uint32_t i = pair_of(L, a, b);
    if (i == NONE)
        return -1;
    L->pairs[i].count -= w;
    return touch(L, i);
}

/* Queues every pair changed this round at its new count.  0 or -1. */
static int flush_touched(bpe_learner *L)
{
    for (size_t k = 0; k < L->n_touched; k++) {
        bl_pair *p = &L->pairs[L->touched[k]];
        p->touched = 0;
        if (p->count > 0 && heap_push(L, p->count, L->touched[k]) != 0)
            return -1;
    }
    L->n_touched = 0;
    return 0;
}

/* ---- the text --------------------------------------------------------- */

/* Counts the distinct pieces of the text.  0 or -1. */
static int count_pieces(bpe_learner *L, const uint8_t *t, size_t len)
{
    for (size_t pos = 0; pos < len;) {
        size_t n = tok_bpe_piece(t + pos, len - pos);
        int added;
        uint32_t i = tok_map_add(&L->pieces, t + pos, n, &added);
        if (i == TOK_MAP_NONE ||
            GROW_ARRAY(&L->weight, &L->cap_weight, (size_t)i + 1, 1024) < 0)
            return -1;
        L->weight[i] = added ? 1 : L->weight[i] + 1;
        pos += n;
    }
    return 0;
}

/* Lays out every piece's bytes as linked symbols.  0 or -1. */
static int layout(bpe_learner *L)
{
    size_t n = L->pieces.n_keys;
    if (n >= NONE)
        return -1;
    L->sym = malloc((n + 1) * sizeof *L->sym);
    L->prev = malloc((n + 1) * sizeof *L->prev);
    L->next = malloc((n + 1) * sizeof *L->next);
    L->piece = malloc((n + 1) * sizeof *L->piece);
    if (!L->sym || !L->prev || !L->next || !L->piece)
        return -1;
    for (uint32_t i = 0; i < L->pieces.n; i++) {
        size_t len;
        const uint8_t *k = tok_map_key(&L->pieces, i, &len);
        size_t base = (size_t)(k - L->pieces.keys);
        for (size_t j = 0; j < len; j++) {
            L->sym[base + j] = k[j];
            L->piece[base + j] = i;
            L->prev[base + j] = j ? (uint32_t)(base + j - 1) : NONE;
            L->next[base + j] = j + 1 < len ? (uint32_t)(base + j + 1) : NONE;
        }
    }
    L->n_pos = n;
    return 0;
}

/* Counts every adjacent pair and queues them all.  0 or -1. */
static int count_pairs(bpe_learner *L)
{
    for (size_t p = 0; p < L->n_pos; p++) {
        uint32_t q = L->next[p];
        if (q != NONE && pair_add(L, L->sym[p], L->sym[q],
                                  (int64_t)L->weight[L->piece[p]], (uint32_t)p) != 0)
            return -1;
    }
    return flush_touched(L);
}

/* ---- merging ---------------------------------------------------------- */

/* Merges a and b into id at position p, when they are still there.
 * 0 or -1. */
static int merge_at(bpe_learner *L, uint32_t p, uint32_t a, uint32_t b, uint32_t id)
{
    uint32_t q = L->next[p];
    if (L->sym[p] != a || q == NONE || L->sym[q] != b)
        return 0;                       /* stale: merged away since */
    int64_t w = (int64_t)L->weight[L->piece[p]];
    uint32_t o = L->prev[p], r = L->next[q];
    if ((o != NONE && pair_sub(L, L->sym[o], a, w) != 0) ||
        (r != NONE && pair_sub(L, b, L->sym[r], w) != 0))
        return -1;
    L->sym[p] = id;
    L->sym[q] = NONE;
    L->next[p] = r;
    if (r != NONE)
        L->prev[r] = p;
    if ((o != NONE && pair_add(L, L->sym[o], id, w, o) != 0) ||
        (r != NONE && pair_add(L, id, L->sym[r], w, p) != 0))
        return -1;
    return 0;
}

static int pos_cmp(const void *x, const void *y)
{
    uint32_t a = *(const uint32_t *)x, b = *(const uint32_t *)y;
    return (a > b) - (a < b);
}

/* One round: pair i becomes token v->size.  0 or -1 (memory). */
static int merge_pair(bpe_learner *L, tok_vocab *v, uint32_t i)
{
    bl_pair *p = &L->pairs[i];
    uint32_t a = p->a, b = p->b, id = v->size, *occ = p->occ;
    size_t n = p->n_occ;
    p->occ = NULL;
    p->n_occ = p->cap_occ = 0;
    p->count = 0;
    int rc = tok_bpe_add_merge(v, a, b);
    qsort(occ, n, sizeof *occ, pos_cmp);
    for (size_t k = 0; rc == 0 && k < n; k++)
        rc = merge_at(L, occ[k], a, b, id);
    free(occ);
    L->pairs[i].count = 0;
    return rc == 0 ? flush_touched(L) : -1;
}

bpe_learner *tok_bpe_learner_new(void)
{
    return calloc(1, sizeof(bpe_learner));
}

int tok_bpe_learner_add(bpe_learner *L, const uint8_t *text, size_t len)
{
    L->bytes += len;
    return count_pieces(L, text, len);
}

void tok_bpe_learner_free(bpe_learner *L)
{
    if (!L)
        return;
    for (size_t i = 0; i < L->n_pairs; i++)
        free(L->pairs[i].occ);
    tok_map_free(&L->pieces);
    tok_map_free(&L->pair_ix);
    free(L->weight);
    free(L->sym);
    free(L->prev);
    free(L->next);
    free(L->piece);
    free(L->pairs);
    free(L->heap);
    free(L->touched);
    free(L);
}

int tok_bpe_learner_run(bpe_learner *L, tok_vocab *v, char *err, size_t errlen)
{
    int rc = layout(L);
    if (rc == 0)
        rc = count_pairs(L);
    while (rc == 0 && v->size < v->opt.bpe_vocab) {
        uint32_t i = best_pair(L);
        if (i == NONE)
            break;
        rc = merge_pair(L, v, i);
    }
    if (rc != 0)
        snprintf(err, errlen, "bpe vocabulary: out of memory while learning "
                 "merges from %zu bytes", L->bytes);
    return rc;
}
