/* tok_types.h - the tokenizer's types and bounds, apart from its functions
 * (text/tok.h) so that the tokenizer's private header can share them: the
 * kinds, the id bounds, the special tokens and the build options. */
#ifndef TEXT_TOK_TYPES_H
#define TEXT_TOK_TYPES_H
#include <stddef.h>
#include <stdint.h>

typedef enum { TOK_CHAR = 0, TOK_WORD, TOK_BPE } tok_kind;

/* Token ids are uint32_t; a vocabulary holds at most this many tokens, so
 * every id, and "no id" (TOK_NO_ID), fits with room to spare. */
#define TOK_MAX_VOCAB (1u << 24)
#define TOK_NO_ID UINT32_MAX

/* BPE vocabulary sizes: the 256 byte tokens plus at least one merge. */
#define TOK_BPE_MIN 257u
#define TOK_BPE_MAX 65536u
#define TOK_BPE_DEFAULT 1024u
/* The training text BPE learns its merges from: at most this many bytes,
 * taken as evenly spaced windows when the text is longer (the learner's
 * memory grows with the distinct pieces it has seen). */
#define TOK_BPE_SAMPLE_MIN ((uint64_t)1 << 16)
#define TOK_BPE_SAMPLE_MAX ((uint64_t)1 << 40)
#define TOK_BPE_SAMPLE_DEFAULT ((uint64_t)1 << 30)

/* The special tokens of the word kind. */
#define TOK_UNK_TEXT "<unk>"
#define TOK_EOS_TEXT "<eos>"

/* How to build a vocabulary (text/tok_opt.c parses these).  Options of
 * another kind than kind are ignored. */
typedef struct tok_options {
    tok_kind kind;           /* default char */
    uint64_t min_count;      /* word: rarer words become <unk> (default 1) */
    uint32_t max_vocab;      /* word: at most this many tokens, <unk> and
                              * <eos> included; 0: up to TOK_MAX_VOCAB */
    int lowercase;           /* word: a tok_lower_map (text/tok_case.h):
                              * off, ascii (older sessions) or unicode */
    int letters;             /* word: only words made of letters are kept */
    uint32_t bpe_vocab;      /* bpe: 256 + merges (default 1024) */
    uint64_t bpe_sample;     /* bpe: learn from at most this many bytes
                              * (default TOK_BPE_SAMPLE_DEFAULT) */
    unsigned given;          /* bit (1 << TOK_OPT_*) per option set */
} tok_options;

typedef struct tok_vocab tok_vocab;

/* A part of a text (BPE learns from a sample of spans). */
typedef struct tok_span {
    const uint8_t *text;
    size_t len;
} tok_span;

#endif
