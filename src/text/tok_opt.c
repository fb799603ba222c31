/* tok_opt.c - the tokenizer options: defaults, names, ranges and parsing
 * (tok_opt.h). */
#include "text/tok_opt.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "text/tok.h"
#include "text/tok_case.h"

#define MIN_COUNT_MAX 4294967295ull

typedef struct opt_def {
    const char *name;
    int flag;
    tok_kind kind;           /* the kind it belongs to */
    unsigned long long lo, hi;
    const char *range;       /* for help texts */
} opt_def;

static const opt_def defs[TOK_OPT_COUNT] = {
    {"tokens", 0, TOK_CHAR, 0, 0, "char, word or bpe (default char)"},
    {"min-count", 0, TOK_WORD, 1, MIN_COUNT_MAX, "1 to 4294967295 (default 1)"},
    {"max-vocab", 0, TOK_WORD, 2, TOK_MAX_VOCAB, "2 to 16777216 (default: no limit)"},
    {"lowercase", 1, TOK_WORD, 0, 1, "on or off (default off)"},
    {"word-letters", 1, TOK_WORD, 0, 1, "on or off (default off)"},
    {"bpe-vocab", 0, TOK_BPE, TOK_BPE_MIN, TOK_BPE_MAX, "257 to 65536 (default 1024)"},
    {"bpe-sample", 0, TOK_BPE, TOK_BPE_SAMPLE_MIN, TOK_BPE_SAMPLE_MAX,
     "65536 to 1099511627776 bytes (default 1073741824, 1 GiB)"},
};

tok_options tok_options_default(void)
{
    tok_options o;
    memset(&o, 0, sizeof o);
    o.kind = TOK_CHAR;
    o.min_count = 1;
    o.bpe_vocab = TOK_BPE_DEFAULT;
    o.bpe_sample = TOK_BPE_SAMPLE_DEFAULT;
    return o;
}

int tok_kind_parse(const char *s)
{
    static const char *const names[] = {"char", "word", "bpe"};
    for (int k = 0; s && k < 3; k++)
        if (strcmp(s, names[k]) == 0)
            return k;
    return -1;
}

const char *tok_kind_str(tok_kind k)
{
    switch (k) {
    case TOK_CHAR: return "char";
    case TOK_WORD: return "word";
    case TOK_BPE: return "bpe";
    }
    return "unknown";
}

int tok_opt_find(const char *name)
{
    for (int i = 0; name && i < TOK_OPT_COUNT; i++)
        if (strcmp(defs[i].name, name) == 0)
            return i;
    return -1;
}

const char *tok_opt_name(int opt)
{
    return opt >= 0 && opt < TOK_OPT_COUNT ? defs[opt].name : "?";
}

int tok_opt_is_flag(int opt)
{
    return opt >= 0 && opt < TOK_OPT_COUNT && defs[opt].flag;
}

const char *tok_opt_range(int opt)
{
    return opt >= 0 && opt < TOK_OPT_COUNT ? defs[opt].range : "";
}

/* A whole number in the option's range; 0 or -1 with why. */
static int parse_count(const opt_def *d, const char *s, unsigned long long *v,
                       char *why, size_t len)
{
    char *end;
    errno = 0;
    unsigned long long x = strtoull(s, &end, 10);
    if (*s < '0' || *s > '9' || *end || errno == ERANGE || x < d->lo || x > d->hi) {
        snprintf(why, len, "'%s' is not a whole number from %llu to %llu", s,
                 d->lo, d->hi);
        return -1;
    }
    *v = x;
    return 0;
}

static int parse_flag(const char *s, int *v, char *why, size_t len)
{
    if (!s || strcmp(s, "on") == 0) {
        *v = 1;
        return 0;
    }
    if (strcmp(s, "off") == 0) {
        *v = 0;
        return 0;
    }
    snprintf(why, len, "'%s' is not on or off", s);
    return -1;
}

/* Stores a parsed number in its field. */
static void put_count(tok_options *o, int opt, unsigned long long v)
{
    if (opt == TOK_OPT_MIN_COUNT)
        o->min_count = v;
    else if (opt == TOK_OPT_MAX_VOCAB)
        o->max_vocab = (uint32_t)v;
    else if (opt == TOK_OPT_BPE_VOCAB)
        o->bpe_vocab = (uint32_t)v;
    else
        o->bpe_sample = v;
}

int tok_opt_parse(tok_options *o, int opt, const char *value, char *why,
                  size_t len)
{
    unsigned long long v;
    int k;
    if (opt < 0 || opt >= TOK_OPT_COUNT) {
        snprintf(why, len, "no such tokenizer option");
        return -1;
    }
    if (opt == TOK_OPT_TOKENS) {
        if ((k = tok_kind_parse(value)) < 0) {
            snprintf(why, len, "unknown value '%s' (choose char, word or bpe)",
                     value ? value : "");
            return -1;
        }
        o->kind = (tok_kind)k;
    } else if (defs[opt].flag) {
        if (parse_flag(value, opt == TOK_OPT_LOWERCASE ? &o->lowercase
                                                       : &o->letters, why, len))
            return -1;
        if (opt == TOK_OPT_LOWERCASE && o->lowercase)
            o->lowercase = TOK_LOWER_UNICODE;      /* new vocabularies */
    } else {
        if (!value || parse_count(&defs[opt], value, &v, why, len) != 0) {
            if (!value)
                snprintf(why, len, "needs a value");
            return -1;
        }
        put_count(o, opt, v);
    }
    o->given |= 1u << opt;
    return 0;
}

int tok_opt_check(const tok_options *o, char *why, size_t len)
{
    for (int i = 1; i < TOK_OPT_COUNT; i++) {
        if ((o->given & (1u << i)) && defs[i].kind != o->kind) {
            snprintf(why, len, "%s applies only to %s tokens (tokens is %s)",
                     defs[i].name, tok_kind_str(defs[i].kind),
                     tok_kind_str(o->kind));
            return -1;
        }
    }
    return 0;
}
