/* tok.h - tokenizers.  A vocabulary maps token ids (0..size-1) to byte
 * strings.  The model code only ever sees ids and the size, so word and BPE
 * tokenizers plug in here by adding a kind. */
#ifndef TOK_H
#define TOK_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

typedef enum { TOK_CHAR = 0 } tok_kind;

typedef struct tok_vocab tok_vocab;

/* Builds a character vocabulary: one token per Unicode code point seen in
 * data, plus one token per byte value that is not part of valid UTF-8.
 * Ids are assigned in ascending order of code point, raw bytes after all
 * code points (ascending).  Returns NULL when out of memory. */
tok_vocab *tok_char_build(const uint8_t *data, size_t len);
void tok_free(tok_vocab *v);
/* Copies a vocabulary; NULL when out of memory. */
tok_vocab *tok_clone(const tok_vocab *v);

tok_kind tok_kind_of(const tok_vocab *v);
const char *tok_kind_name(const tok_vocab *v);   /* "char" */
uint32_t tok_size(const tok_vocab *v);

/* Encodes len bytes of text into ids (out must hold len entries: a char
 * tokenizer never yields more ids than bytes).  Pieces not in the vocabulary
 * are skipped; their count goes to *unknown (may be NULL).  When
 * first_unknown is not NULL it receives the first skipped piece's bytes
 * (NUL-terminated, at most 8 bytes).  Returns the number of ids written. */
size_t tok_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                  uint32_t *out, size_t *unknown, char *first_unknown);

/* The bytes of token id (not NUL-terminated) and their count; NULL for an
 * id out of range. */
const uint8_t *tok_bytes(const tok_vocab *v, uint32_t id, size_t *len);

/* Appends the bytes of token id to buf (a growable buffer); returns 0, or
 * -1 when out of memory. */
int tok_decode_append(const tok_vocab *v, uint32_t id, char **buf,
                      size_t *len, size_t *cap);

/* JSON form for session.json: {"kind":"char","tokens":[...]} where each
 * token is a string, or {"byte":N} for a raw (non-UTF-8) byte.  Returns NULL
 * when out of memory. */
cJSON *tok_to_json(const tok_vocab *v);
/* Parses the JSON form; on error returns NULL and writes a one-line message
 * to err. */
tok_vocab *tok_from_json(const cJSON *j, char *err, size_t errlen);

#endif
