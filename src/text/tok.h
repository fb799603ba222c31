/* tok.h - tokenizers.  A vocabulary maps token ids (0..size-1) to byte
 * strings; the model code only ever sees ids and the size.  Three kinds:
 *
 *   char  one token per Unicode character (raw bytes for invalid UTF-8)
 *   word  whitespace-separated words, <eos> at each line end, <unk> for
 *         the rest (text/tok_word.c)
 *   bpe   byte-level BPE: 256 byte tokens plus learned merges
 *         (text/tok_bpe.c, learning in text/tok_bpe_learn.c)
 *
 * A vocabulary owns all its memory; the caller frees it with tok_free.
 * Functions returning int return 0, or -1 with a one-line message in err
 * that names the thing and the problem. */
#ifndef TOK_H
#define TOK_H
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>
#include "text/tok_types.h"

/* The defaults: char; word min-count 1, no max-vocab; bpe 1024. */
tok_options tok_options_default(void);
/* "char", "word", "bpe" -> tok_kind, or -1. */
int tok_kind_parse(const char *s);
const char *tok_kind_str(tok_kind k);

/* Builds a vocabulary of o->kind from len bytes of text: char and word
 * take what the text holds, bpe learns merges from it (from a sample of
 * o->bpe_sample bytes when it is longer: tok_sample_spans).  Returns NULL with
 * a message in err (out of memory, a word vocabulary above
 * TOK_MAX_VOCAB). */
tok_vocab *tok_build(const tok_options *o, const uint8_t *data, size_t len,
                     char *err, size_t errlen);

/* Builds a character vocabulary: one token per Unicode code point seen in
 * data, plus one token per byte value that is not part of valid UTF-8.
 * Ids are assigned in ascending order of code point, raw bytes after all
 * code points (ascending).  Returns NULL when out of memory. */
tok_vocab *tok_char_build(const uint8_t *data, size_t len);
void tok_free(tok_vocab *v);
/* Copies a vocabulary; NULL when out of memory. */
tok_vocab *tok_clone(const tok_vocab *v);

tok_kind tok_kind_of(const tok_vocab *v);
const char *tok_kind_name(const tok_vocab *v);   /* "char", "word", "bpe" */
uint32_t tok_size(const tok_vocab *v);
/* The options the vocabulary was built with (kind and its own options). */
tok_options tok_options_of(const tok_vocab *v);
/* The ids of <eos> and <unk>, or TOK_NO_ID for kinds without them. */
uint32_t tok_eos(const tok_vocab *v);
uint32_t tok_unk(const tok_vocab *v);

/* Encodes len bytes of text into ids; out must hold len entries (no kind
 * yields more ids than bytes).  Pieces not in the vocabulary are counted
 * in *unknown (may be NULL): char skips them, word encodes them as <unk>
 * (a "<unk>" in the text is not counted), bpe has none.  When
 * first_unknown is not NULL it receives the first such piece's bytes
 * (NUL-terminated, at most 7 bytes, cut at a character boundary).
 * Returns the number of ids written. */
size_t tok_encode(const tok_vocab *v, const uint8_t *text, size_t len,
                  uint32_t *out, size_t *unknown, char *first_unknown);

/* What tok_encode's n unknown pieces are and became, for messages after
 * the count: "characters not in the vocabulary were skipped" (char),
 * "words not in the vocabulary became <unk>" (word), in the singular when
 * n is 1; bpe has none ("pieces ..."). */
const char *tok_unknown_note(const tok_vocab *v, size_t n);

/* Where to cut text near offset at (at <= len) so that encoding the two
 * parts apart gives the ids of the whole: the first line start at or
 * after at, within 1 MiB and before len; else the first word (piece)
 * boundary within 1 MiB; else at itself.  For the kinds whose corpus is
 * split by bytes (word, bpe); char returns at. */
size_t tok_cut(tok_kind kind, const uint8_t *text, size_t len, size_t at);

/* Where to end a chunk of text that starts before at, for tokenizing a
 * long text piece by piece: the first offset at or after tok_cut's (len at
 * the latest) at which encoding the two parts apart gives exactly the ids
 * of the whole, for every kind (char: not inside a UTF-8 character; word:
 * after whitespace; bpe: at a piece boundary). */
size_t tok_chunk_end(tok_kind kind, const uint8_t *text, size_t len, size_t at);

/* The parts of a training text (len bytes) a vocabulary is built from:
 * the whole text, except that BPE learns from at most o->bpe_sample bytes,
 * up to TOK_SAMPLE_SPANS evenly spaced windows cut at piece boundaries when
 * the text is longer.  Returns the number of spans written to out. */
#define TOK_SAMPLE_SPANS 16
size_t tok_sample_spans(const tok_options *o, const uint8_t *text, size_t len,
                        tok_span out[TOK_SAMPLE_SPANS]);

/* Building a vocabulary from text in parts, so that a caller can stream
 * a long text: tok_build is new, one add per span of tok_sample_spans,
 * finish.  A part must end where tok_chunk_end cuts the text it comes
 * from.  new returns NULL with err (options out of range, out of memory);
 * add 0, or -1 with err (out of memory); finish the vocabulary, or NULL
 * with err as tok_build, and frees the builder either way; free drops an
 * unfinished builder. */
typedef struct tok_builder tok_builder;
tok_builder *tok_builder_new(const tok_options *o, char *err, size_t errlen);
int tok_builder_add(tok_builder *b, const uint8_t *text, size_t len, char *err,
                    size_t errlen);
tok_vocab *tok_builder_finish(tok_builder *b, char *err, size_t errlen);
void tok_builder_free(tok_builder *b);

/* The bytes of token id (not NUL-terminated) and their count; NULL for an
 * id out of range.  A word token's bytes are the word ("<eos>" for the
 * end of line). */
const uint8_t *tok_bytes(const tok_vocab *v, uint32_t id, size_t *len);

/* The text token id adds when it follows token prev (TOK_NO_ID at the
 * start): its bytes for char and bpe; for word a space and the word, the
 * word alone at a line start, and a newline for <eos>.  NULL for an id
 * out of range. */
const uint8_t *tok_piece(const tok_vocab *v, uint32_t prev, uint32_t id,
                         size_t *len);

/* Appends the bytes of token id to buf (a growable buffer); returns 0, or
 * -1 when out of memory. */
int tok_decode_append(const tok_vocab *v, uint32_t id, char **buf,
                      size_t *len, size_t *cap);

/* The length of the well-formed UTF-8 character at p (n > 0 bytes
 * available), or 0 when p[0] starts none. */
size_t tok_utf8_len(const uint8_t *p, size_t n);

/* JSON form for session.json: {"kind":K,...}.  char: "tokens", each a
 * string or {"byte":N} for a raw byte; word: "tokens" (a string, or
 * {"hex":"..."} for bytes that are not UTF-8 text), "unk", "eos" and the
 * options; bpe: "vocab_size", "pretokenizer" and "merges" ([a,b] pairs of
 * ids, the merge's id 256 + its index).  Returns NULL when out of memory. */
cJSON *tok_to_json(const tok_vocab *v);
/* Parses the JSON form; on error returns NULL and writes a one-line message
 * to err. */
tok_vocab *tok_from_json(const cJSON *j, char *err, size_t errlen);

#endif
