/* tok_map.h - byte strings interned to dense indices 0, 1, 2, ... in the
 * order they were first added: a hash table (open addressing, linear
 * probing) over keys the map copies and owns.  The tokenizers use it for
 * words, BPE pieces and BPE pairs (8-byte keys).  Not thread-safe; lookups
 * (tok_map_find) only read. */
#ifndef TEXT_TOK_MAP_H
#define TEXT_TOK_MAP_H
#include <stddef.h>
#include <stdint.h>

typedef struct tok_map {
    uint32_t *slots;         /* cap entries: index + 1, 0 when empty */
    size_t cap;              /* a power of two */
    uint32_t n;              /* keys */
    uint64_t *hash;          /* per key */
    size_t *off;             /* per key + 1: offsets into keys */
    uint8_t *keys;
    size_t n_keys, cap_keys, cap_n;
} tok_map;

#define TOK_MAP_NONE UINT32_MAX

/* An empty map (all zero is one too). */
void tok_map_init(tok_map *m);
void tok_map_free(tok_map *m);

/* The 64-bit hash the map uses (FNV-1a). */
uint64_t tok_map_hash(const uint8_t *key, size_t n);

/* The index of key, adding it when new (*added set to 1, else 0; added
 * may be NULL).  Returns TOK_MAP_NONE when out of memory or when the map
 * already holds UINT32_MAX - 1 keys. */
uint32_t tok_map_add(tok_map *m, const uint8_t *key, size_t n, int *added);
/* The index of key, or TOK_MAP_NONE. */
uint32_t tok_map_find(const tok_map *m, const uint8_t *key, size_t n);
/* The same with its hash already computed. */
uint32_t tok_map_find_h(const tok_map *m, const uint8_t *key, size_t n,
                        uint64_t h);
/* The bytes of key i (i < m->n) and their count. */
const uint8_t *tok_map_key(const tok_map *m, uint32_t i, size_t *n);

#endif
