/* tok_map.c - byte strings interned to dense indices (tok_map.h). */
#include "text/tok_map.h"

#include <stdlib.h>
#include <string.h>

#include "util/buf.h"

void tok_map_init(tok_map *m)
{
    memset(m, 0, sizeof *m);
}

void tok_map_free(tok_map *m)
{
    free(m->slots);
    free(m->hash);
    free(m->off);
    free(m->keys);
    tok_map_init(m);
}

uint64_t tok_map_hash(const uint8_t *key, size_t n)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ key[i]) * 1099511628211ull;
    return h ^ (h >> 29);
}

const uint8_t *tok_map_key(const tok_map *m, uint32_t i, size_t *n)
{
    *n = m->off[i + 1] - m->off[i];
    return m->keys + m->off[i];
}

uint32_t tok_map_find_h(const tok_map *m, const uint8_t *key, size_t n,
                        uint64_t h)
{
    if (m->cap == 0)
        return TOK_MAP_NONE;
    for (size_t s = (size_t)h & (m->cap - 1);; s = (s + 1) & (m->cap - 1)) {
        uint32_t e = m->slots[s];
        if (e == 0)
            return TOK_MAP_NONE;
        size_t kn;
        const uint8_t *k = tok_map_key(m, e - 1, &kn);
        if (m->hash[e - 1] == h && kn == n && memcmp(k, key, n) == 0)
            return e - 1;
    }
}

uint32_t tok_map_find(const tok_map *m, const uint8_t *key, size_t n)
{
    return tok_map_find_h(m, key, n, tok_map_hash(key, n));
}

/* Doubles the slot table (kept at most half full) and re-files every key.
 * Returns 0 or -1. */
static int grow_slots(tok_map *m)
{
    size_t cap = m->cap ? 2 * m->cap : 64;
    uint32_t *s = calloc(cap, sizeof *s);
    if (!s)
        return -1;
    for (uint32_t i = 0; i < m->n; i++) {
        size_t j = (size_t)m->hash[i] & (cap - 1);
        while (s[j])
            j = (j + 1) & (cap - 1);
        s[j] = i + 1;
    }
    free(m->slots);
    m->slots = s;
    m->cap = cap;
    return 0;
}

/* Stores key as index m->n; 0 or -1 when out of memory. */
static int store_key(tok_map *m, const uint8_t *key, size_t n, uint64_t h)
{
    size_t need = (size_t)m->n + 2, cap = m->cap_n;
    if (GROW_ARRAY(&m->off, &cap, need, 64) < 0)
        return -1;
    cap = m->cap_n;
    if (GROW_ARRAY(&m->hash, &cap, need, 64) < 0)
        return -1;
    m->cap_n = cap;
    if (n > SIZE_MAX / 2 - m->n_keys ||
        GROW_ARRAY(&m->keys, &m->cap_keys, m->n_keys + n + 1, 256) < 0)
        return -1;
    if (m->n == 0)
        m->off[0] = 0;
    memcpy(m->keys + m->n_keys, key, n);
    m->n_keys += n;
    m->hash[m->n] = h;
    m->off[m->n + 1] = m->n_keys;
    return 0;
}

uint32_t tok_map_add(tok_map *m, const uint8_t *key, size_t n, int *added)
{
    uint64_t h = tok_map_hash(key, n);
    uint32_t i = tok_map_find_h(m, key, n, h);
    if (added)
        *added = 0;
    if (i != TOK_MAP_NONE)
        return i;
    if (m->n >= UINT32_MAX - 2)
        return TOK_MAP_NONE;
    if ((2 * ((size_t)m->n + 1) > m->cap && grow_slots(m) != 0) ||
        store_key(m, key, n, h) != 0)
        return TOK_MAP_NONE;
    size_t s = (size_t)h & (m->cap - 1);
    while (m->slots[s])
        s = (s + 1) & (m->cap - 1);
    m->slots[s] = ++m->n;
    if (added)
        *added = 1;
    return m->n - 1;
}
