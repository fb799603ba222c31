/* tokenize.c - `rnnlab tokenize`: how a tokenizer (a new one learned from
 * a corpus, or a session's) splits a text: its tokens and ids, or
 * statistics (vocabulary size, tokens per byte, <unk> rate, the most
 * frequent tokens). */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "cli/cli_int.h"
#include "util/buf.h"
#include "util/status.h"
#include "text/corpus.h"
#include "text/tok.h"
#include "text/tok_opt.h"
#include "store/session.h"

/* KO_TOKENS and the tokenizer's options after it come last (TOK_OPT_*). */
enum { KO_CORPUS = 256, KO_TEXT, KO_JSON, KO_STATS, KO_TOP, KO_VAL_FRAC,
       KO_TEST_FRAC, KO_TOKENS };

static const struct option tokenize_opts[] = {
    {"corpus", required_argument, NULL, KO_CORPUS},
    {"text", required_argument, NULL, KO_TEXT},
    {"json", no_argument, NULL, KO_JSON},
    {"stats", no_argument, NULL, KO_STATS},
    {"top", required_argument, NULL, KO_TOP},
    {"val-frac", required_argument, NULL, KO_VAL_FRAC},
    {"test-frac", required_argument, NULL, KO_TEST_FRAC},
    CLI_TOK_OPTIONS(KO_TOKENS),
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct tokenize_args {
    cli_opt_ctx oc;
    const char *corpus, *text;
    int json, stats;
    long top;
    double val_frac, test_frac;
    tok_options tok;
} tokenize_args;

static int tokenize_set(void *args, int id, const char *arg)
{
    tokenize_args *a = args;
    switch (id) {
    case KO_CORPUS: a->corpus = arg; return 0;
    case KO_TEXT: a->text = arg; return 0;
    case KO_JSON: a->json = 1; return 0;
    case KO_STATS: a->stats = 1; return 0;
    case KO_TOP: return cli_opt_long(&a->oc, id, arg, 0, 1000, &a->top);
    case KO_VAL_FRAC:
        return cli_opt_double(&a->oc, id, arg, 0, 1, CLI_HI_OPEN, &a->val_frac);
    case KO_TEST_FRAC:
        return cli_opt_double(&a->oc, id, arg, 0, 1, CLI_HI_OPEN, &a->test_frac);
    default:
        return cli_opt_tok(&a->oc, id, arg, &a->tok);
    }
}

static void tokenize_help(FILE *f)
{
    fputs(
"Usage: rnnlab tokenize --corpus FILE [OPTION]... [--text TEXT]\n"
"       rnnlab tokenize DIR [OPTION]... [--text TEXT]\n"
"Show how a tokenizer splits a text (--text, else standard input): a new\n"
"tokenizer built from FILE as train builds it (word and bpe from the\n"
"training part), or the tokenizer of the session saved in DIR.  Prints\n"
"each token's id and text (a JSON string), one a line.\n"
"\n"
"  --corpus FILE        the text to build the tokenizer from\n"
"  --val-frac F, --test-frac F\n"
"                       the split of FILE, as train's (default 0.1, 0)\n", f);
    cli_tok_help(f);
    fputs(
"  --text TEXT          the text to tokenize (default: standard input)\n"
"  --stats              print statistics instead: vocabulary size, bytes,\n"
"                       tokens, tokens per byte, unknown pieces, <unk>\n"
"                       tokens and their rate, the most frequent tokens\n"
"  --top N              how many frequent tokens --stats lists, 0 to 1000\n"
"                       (default 10)\n"
"  --json               one JSON object: kind, vocab_size, bytes, ids and\n"
"                       tokens; with --stats the statistics\n"
"  -h, --help           show this help and exit\n", f);
}

/* ---- the tokenizer and the text ---------------------------------------- */

/* The tokenizer: learned from --corpus or read from the session. */
static tok_vocab *get_tokenizer(const tokenize_args *a, const char *dir)
{
    char err[1024];
    tok_vocab *v;
    if (dir) {
        if (!(v = session_tokenizer(dir, err, sizeof err)))
            cli_fail("%s", err);
        return v;
    }
    corpus c;
    cli_prep prep;
    cli_prep_init(&prep, 1, 0);
    if (corpus_open(&c, a->corpus, NULL, &a->tok, a->val_frac, a->test_frac, &prep.p,
                    err, sizeof err) != 0) {
        cli_fail("%s", err);
        return NULL;
    }
    v = c.vocab;
    c.vocab = NULL;
    corpus_free(&c);
    return v;
}

/* The text to tokenize into *b: --text, else all of standard input.
 * Returns STATUS_OK, or STATUS_FAIL after a message. */
static int get_text(const tokenize_args *a, strbuf *b)
{
    char chunk[65536];
    size_t n;
    if (a->text)
        return strbuf_puts(b, a->text) == 0 ? STATUS_OK : cli_fail("out of memory");
    while ((n = fread(chunk, 1, sizeof chunk, stdin)) > 0)
        if (strbuf_append(b, chunk, n) != 0)
            return cli_fail("standard input: out of memory");
    if (ferror(stdin))
        return cli_fail("standard input: read error");
    return STATUS_OK;
}

/* ---- output ------------------------------------------------------------ */

static void print_tokens(const tok_vocab *v, const uint32_t *ids, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *b = tok_bytes(v, ids[i], &len);
        printf("%" PRIu32 "\t", ids[i]);
        cli_put_json_string(stdout, b, len);
        putchar('\n');
    }
}

static int print_tokens_json(const tok_vocab *v, const uint32_t *ids, size_t n,
                             size_t bytes)
{
    printf("{\"kind\":\"%s\",\"vocab_size\":%" PRIu32 ",\"bytes\":%zu,\"ids\":[",
           tok_kind_name(v), tok_size(v), bytes);
    for (size_t i = 0; i < n; i++)
        printf(i ? ",%" PRIu32 : "%" PRIu32, ids[i]);
    fputs("],\"tokens\":[", stdout);
    for (size_t i = 0; i < n; i++) {
        size_t len;
        const uint8_t *b = tok_bytes(v, ids[i], &len);
        if (i)
            putchar(',');
        cli_put_json_string(stdout, b, len);
    }
    puts("]}");
    return STATUS_OK;
}

/* ---- statistics -------------------------------------------------------- */

typedef struct tok_stats {
    size_t bytes, tokens, unknown, unk_tokens;
    uint64_t *count;         /* per id */
    uint32_t *top;           /* the most frequent ids, most frequent first */
    size_t n_top;
} tok_stats;

/* Picks the k most frequent ids (ties: the smaller id) by k passes of
 * selection over the counts: k is at most 1000. */
static void pick_top(tok_stats *s, uint32_t V, size_t k)
{
    uint8_t *taken = calloc(V ? V : 1, 1);
    s->n_top = 0;
    for (size_t r = 0; taken && r < k; r++) {
        uint32_t best = TOK_NO_ID;
        for (uint32_t id = 0; id < V; id++)
            if (!taken[id] && s->count[id] > 0 &&
                (best == TOK_NO_ID || s->count[id] > s->count[best]))
                best = id;
        if (best == TOK_NO_ID)
            break;
        taken[best] = 1;
        s->top[s->n_top++] = best;
    }
    free(taken);
}

/* Counts the ids; 0, or -1 when out of memory. */
static int stats_build(tok_stats *s, const tok_vocab *v, const uint32_t *ids,
                       size_t n, size_t k)
{
    uint32_t V = tok_size(v), unk = tok_unk(v);
    s->count = calloc(V ? V : 1, sizeof *s->count);
    s->top = malloc((k ? k : 1) * sizeof *s->top);
    if (!s->count || !s->top)
        return -1;
    for (size_t i = 0; i < n; i++) {
        s->count[ids[i]]++;
        s->unk_tokens += ids[i] == unk;
    }
    s->tokens = n;
    pick_top(s, V, k);
    return 0;
}

static double share(size_t part, size_t whole)
{
    return whole ? (double)part / (double)whole : 0.0;
}

static void print_stats(const tok_vocab *v, const tok_stats *s)
{
    char g1[32], g2[32];
    printf("tokenizer %s, vocabulary %" PRIu32 "\n", tok_kind_name(v), tok_size(v));
    printf("text: %s bytes, %s tokens, %.4f tokens per byte\n",
           cli_grouped(g1, (double)s->bytes), cli_grouped(g2, (double)s->tokens),
           share(s->tokens, s->bytes));
    if (s->unknown)
        printf("unknown: %s %s\n", cli_grouped(g1, (double)s->unknown),
               tok_unknown_note(v, s->unknown));
    if (tok_unk(v) != TOK_NO_ID)
        printf("<unk>: %s tokens, %.2f%%\n", cli_grouped(g1, (double)s->unk_tokens),
               100.0 * share(s->unk_tokens, s->tokens));
    if (s->n_top)
        printf("most frequent:\n");
    for (size_t i = 0; i < s->n_top; i++) {
        size_t len;
        const uint8_t *b = tok_bytes(v, s->top[i], &len);
        printf("%6" PRIu32 "  ", s->top[i]);
        cli_put_json_string(stdout, b, len);
        printf("  %s  %.2f%%\n", cli_grouped(g1, (double)s->count[s->top[i]]),
               100.0 * share(s->count[s->top[i]], s->tokens));
    }
}

static int print_stats_json(const tok_vocab *v, const tok_stats *s)
{
    printf("{\"kind\":\"%s\",\"vocab_size\":%" PRIu32 ",\"bytes\":%zu,\"tokens\":%zu,"
           "\"tokens_per_byte\":%.6g,\"unknown\":%zu,\"unk_tokens\":%zu,"
           "\"unk_rate\":%.6g,\"top\":[", tok_kind_name(v), tok_size(v), s->bytes,
           s->tokens, share(s->tokens, s->bytes), s->unknown, s->unk_tokens,
           share(s->unk_tokens, s->tokens));
    for (size_t i = 0; i < s->n_top; i++) {
        size_t len;
        const uint8_t *b = tok_bytes(v, s->top[i], &len);
        printf(i ? ",{\"id\":%" PRIu32 ",\"token\":" : "{\"id\":%" PRIu32 ",\"token\":",
               s->top[i]);
        cli_put_json_string(stdout, b, len);
        printf(",\"count\":%" PRIu64 "}", s->count[s->top[i]]);
    }
    puts("]}");
    return STATUS_OK;
}

/* ---- the command ------------------------------------------------------- */

static int tokenize_run(const tokenize_args *a, const tok_vocab *v, const strbuf *text)
{
    size_t len = text->len, unknown = 0;
    uint32_t *ids = malloc((len + 1) * sizeof *ids);
    tok_stats s;
    int rc;
    if (!ids)
        return cli_fail("out of memory for %zu bytes of text", len);
    size_t n = tok_encode(v, (const uint8_t *)text->p, len, ids, &unknown, NULL);
    memset(&s, 0, sizeof s);
    s.bytes = len;
    s.unknown = unknown;
    if (!a->stats)
        rc = a->json ? print_tokens_json(v, ids, n, len) : (print_tokens(v, ids, n), STATUS_OK);
    else if (stats_build(&s, v, ids, n, (size_t)a->top) != 0)
        rc = cli_fail("out of memory");
    else
        rc = a->json ? print_stats_json(v, &s) : (print_stats(v, &s), STATUS_OK);
    free(s.count);
    free(s.top);
    free(ids);
    return rc;
}

/* The first tokenizer option given (o->given is not 0). */
static int first_given(const tok_options *o)
{
    int i = 0;
    while (i < TOK_OPT_COUNT && !(o->given & (1u << i)))
        i++;
    return i;
}

/* Parses the command line; returns 0, CLI_PARSE_HELP or STATUS_USAGE. */
static int tokenize_parse(tokenize_args *a, int argc, char **argv, char **dir)
{
    char why[200];
    int n_pos;
    memset(a, 0, sizeof *a);
    a->oc.cmd = "tokenize";
    a->oc.opts = tokenize_opts;
    a->top = 10;
    a->val_frac = 0.1;
    a->tok = tok_options_default();
    *dir = NULL;
    int rc = cli_parse_command(&a->oc, argc, argv, tokenize_set, a, dir, 1, &n_pos);
    if (rc != 0)
        return rc;
    if (!*dir == !a->corpus)
        return cli_usage_error(a->oc.cmd, "give either --corpus FILE (a new "
                               "tokenizer) or a session DIR");
    if (*dir && a->tok.given)
        return cli_usage_error(a->oc.cmd, "--%s: a session's tokenizer is fixed; "
                               "leave the tokenizer options out",
                               tok_opt_name(first_given(&a->tok)));
    if (a->val_frac + a->test_frac >= 1)
        return cli_usage_error(a->oc.cmd, "--val-frac and --test-frac together must "
                               "be below 1");
    if (tok_opt_check(&a->tok, why, sizeof why) != 0)
        return cli_usage_error(a->oc.cmd, "--%s", why);
    return 0;
}

int cli_tokenize(int argc, char **argv)
{
    tokenize_args a;
    char *dir;
    strbuf text = STRBUF_INIT;
    int rc = tokenize_parse(&a, argc, argv, &dir);
    if (rc == CLI_PARSE_HELP) {
        tokenize_help(stdout);
        return STATUS_OK;
    }
    if (rc != 0)
        return rc;
    tok_vocab *v = get_tokenizer(&a, dir);
    if (!v)
        return STATUS_FAIL;
    rc = get_text(&a, &text);
    if (rc == STATUS_OK)
        rc = tokenize_run(&a, v, &text);
    strbuf_free(&text);
    tok_free(v);
    return rc;
}
