/* tok_opt.h - the tokenizer options by name, as `rnnlab train`,
 * `rnnlab tokenize` (--NAME VALUE) and the load command (NAME=VALUE) take
 * them: one parser, so all three accept the same values and say the same
 * thing about a bad one.  Messages are one line, without the name. */
#ifndef TEXT_TOK_OPT_H
#define TEXT_TOK_OPT_H
#include <stddef.h>
#include "text/tok.h"

enum {
    TOK_OPT_TOKENS = 0,      /* tokens: char, word or bpe */
    TOK_OPT_MIN_COUNT,       /* min-count: 1 to 4294967295 */
    TOK_OPT_MAX_VOCAB,       /* max-vocab: 2 to TOK_MAX_VOCAB */
    TOK_OPT_LOWERCASE,       /* lowercase: a flag */
    TOK_OPT_LETTERS,         /* word-letters: a flag */
    TOK_OPT_BPE_VOCAB,       /* bpe-vocab: TOK_BPE_MIN to TOK_BPE_MAX */
    TOK_OPT_BPE_SAMPLE,      /* bpe-sample: bytes to learn merges from */
    TOK_OPT_COUNT
};

/* The option called name ("tokens", "min-count", ...), or -1. */
int tok_opt_find(const char *name);
const char *tok_opt_name(int opt);
/* Whether the option is a flag (no value on the command line). */
int tok_opt_is_flag(int opt);
/* Its range and default for help texts: "2 to 16777216 (default: no
 * limit)". */
const char *tok_opt_range(int opt);

/* Sets option opt of o from value (a flag takes "on", "off", or NULL for
 * on) and marks it given.  Returns 0, or -1 with why set ("'x' is not a
 * whole number from 257 to 65536"). */
int tok_opt_parse(tok_options *o, int opt, const char *value, char *why,
                  size_t len);
/* The options given must belong to the kind chosen: returns 0, or -1 with
 * why ("min-count applies only to word tokens"). */
int tok_opt_check(const tok_options *o, char *why, size_t len);

#endif
