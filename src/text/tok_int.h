/* tok_int.h - PRIVATE to src/text/ (the tokenizer files): the vocabulary
 * every kind shares and the table of operations each kind provides.
 *
 * Storage: token id's bytes are bytes[off[id] + sep .. off[id+1]); sep is
 * 1 for the word kind, whose tokens are each stored after a space so that
 * " word" (the token as it follows another) is one contiguous piece, and 0
 * otherwise.  The kind's lookup structure hangs off index. */
#ifndef TEXT_TOK_INT_H
#define TEXT_TOK_INT_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "text/tok_types.h"

typedef struct tok_ops {
    tok_kind kind;
    const char *name;
    /* Builds v->index from v's storage (and merges); 0 or -1 with err. */
    int (*finish)(tok_vocab *v, char *err, size_t errlen);
    void (*free_index)(tok_vocab *v);
    size_t (*encode)(const tok_vocab *v, const uint8_t *text, size_t len,
                     uint32_t *out, size_t *unknown, char *first_unknown);
    /* Adds the kind's own members to the JSON object j; 0 or -1 (memory). */
    int (*to_json)(const tok_vocab *v, cJSON *j);
    /* Fills v's storage (and options) from j; 0 or -1 with err. */
    int (*from_json)(tok_vocab *v, const cJSON *j, char *err, size_t errlen);
    /* Building from text in parts (tok_builder): the kind's state, NULL
     * when out of memory; a part added, 0 or -1 (memory); the vocabulary
     * (NULL with err), which also frees the state; the state freed. */
    void *(*build_start)(const tok_options *o);
    int (*build_add)(void *st, const uint8_t *text, size_t len);
    tok_vocab *(*build_end)(void *st, char *err, size_t errlen);
    void (*build_free)(void *st);
} tok_ops;

extern const tok_ops tok_char_ops, tok_word_ops, tok_bpe_ops;

struct tok_vocab {
    const tok_ops *ops;
    uint32_t size;
    size_t *off;             /* size + 1 offsets into bytes */
    uint8_t *bytes;          /* every token's bytes (after sep), back to back */
    size_t n_bytes, cap_bytes;
    size_t cap_off;
    int sep;                 /* bytes stored before each token: 0 or 1 */
    uint32_t unk, eos;       /* TOK_NO_ID when the kind has none */
    tok_options opt;         /* the kind and its options */
    uint32_t (*merges)[2];   /* bpe: size - 256 pairs, merge i makes 256+i */
    void *index;             /* the kind's lookup structure */
};

/* A new, empty vocabulary of ops's kind; NULL when out of memory. */
tok_vocab *tok_alloc(const tok_ops *ops);
/* Appends a token of n bytes (after sep's space); returns its id, or
 * TOK_NO_ID when out of memory or the vocabulary is full. */
uint32_t tok_store_add(tok_vocab *v, const uint8_t *bytes, size_t n);
/* The bytes of id without the range check. */
static inline const uint8_t *tok_at(const tok_vocab *v, uint32_t id, size_t *n)
{
    size_t a = v->off[id] + (size_t)v->sep;
    *n = v->off[id + 1] - a;
    return v->bytes + a;
}

/* For the kinds whose index is a tok_map (word, bpe): a new empty map as
 * v->index (NULL with err set when out of memory), and its free_index. */
struct tok_map *tok_map_index(tok_vocab *v, char *err, size_t errlen);
void tok_map_index_free(tok_vocab *v);

/* Decodes one well-formed UTF-8 sequence at p (n bytes available); returns
 * its length with *cp set, or 0 when p[0] does not start one. */
int tok_utf8_decode(const uint8_t *p, size_t n, uint32_t *cp);
/* Copies up to 7 bytes of a piece into out (NUL-terminated), cut at a
 * character boundary: the unknown piece a message shows. */
void tok_note_unknown(const uint8_t *p, size_t n, char *out);
/* Copies s (n bytes) into out for a message: at most 24 characters, the
 * unprintable replaced, "..." when shortened. */
void tok_sanitize(const char *s, size_t n, char *out, size_t outlen);

/* A token as JSON: a string when its bytes are UTF-8 text without NUL,
 * else {"hex":"..."}; NULL when out of memory. */
cJSON *tok_json_bytes(const uint8_t *b, size_t n);
/* Reads j's "tokens" array, which must hold 1 to max elements, calling
 * add(v, element, its index) for each; 0, or -1 with err (add's, or the
 * array's problem). */
typedef int (*tok_json_add_fn)(tok_vocab *v, const cJSON *t, size_t i,
                               char *err, size_t errlen);
int tok_json_tokens(tok_vocab *v, const cJSON *j, size_t max,
                    tok_json_add_fn add, char *err, size_t errlen);
/* Reads tokens[i] written by tok_json_bytes into a new allocation (*out,
 * *n; caller frees).  Returns 0, or -1 with err. */
int tok_json_read_bytes(const cJSON *t, size_t i, uint8_t **out, size_t *n,
                        char *err, size_t errlen);
/* Reads member name of j as a whole number in [lo, hi] (absent: *v keeps
 * its value when optional); 0, or -1 with err. */
int tok_json_uint(const cJSON *j, const char *name, uint64_t lo, uint64_t hi,
                  int optional, uint64_t *v, char *err, size_t errlen);
/* Reads member name of j as a boolean (absent: keeps *v); 0 or -1. */
int tok_json_bool(const cJSON *j, const char *name, int *v, char *err,
                  size_t errlen);

/* The BPE pre-tokenizer (tok_bpe.c): the length of the piece starting at
 * s (n > 0 bytes).  Whether a piece starts at offset i of a text depends
 * only on the bytes at i-1, i and i+1 (tok_bpe_boundary), except inside
 * runs longer than TOK_BPE_PIECE. */
#define TOK_BPE_PIECE 64
size_t tok_bpe_piece(const uint8_t *s, size_t n);
int tok_bpe_boundary(const uint8_t *s, size_t n, size_t i);
/* Appends merge (a, b), both ids of v, as token 256 + its index; v->merges
 * has room for it.  Returns 0, or -1 when out of memory (tok_bpe.c). */
int tok_bpe_add_merge(tok_vocab *v, uint32_t a, uint32_t b);
/* Learning merges (tok_bpe_learn.c): a learner, NULL when out of memory;
 * the pieces of a text added (cut at piece boundaries), 0 or -1 (memory);
 * the merges learned into v (a bpe vocabulary holding the 256 byte
 * tokens) up to v->opt.bpe_vocab tokens, 0 or -1 with err; freed. */
typedef struct bpe_learner bpe_learner;
bpe_learner *tok_bpe_learner_new(void);
int tok_bpe_learner_add(bpe_learner *L, const uint8_t *text, size_t len);
int tok_bpe_learner_run(bpe_learner *L, tok_vocab *v, char *err, size_t errlen);
void tok_bpe_learner_free(bpe_learner *L);
/* The word kind's cut (tok_word.c): the first line start at or after at. */
size_t tok_word_cut(const uint8_t *text, size_t len, size_t at);
size_t tok_bpe_cut(const uint8_t *text, size_t len, size_t at);
/* Whether encoding text cut at at (0 < at < len) in two gives the ids of
 * the whole (tok_word.c): at follows whitespace. */
int tok_word_cut_exact(const uint8_t *text, size_t at);

#endif
