/* sample.c - `rnnlab sample`: text from a saved session, plain, beam or
 * as JSON lines per token. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>
#include <unistd.h>

#include <cjson/cJSON.h>

#include "cli/cli_int.h"
#include "util/buf.h"
#include "util/clock.h"
#include "util/status.h"
#include "backend/backend.h"
#include "text/corpus.h"
#include "text/tok.h"
#include "model/model.h"
#include "train/optim.h"
#include "train/trainer.h"
#include "decode/sample.h"
#include "store/session.h"
#include "engine/settings.h"

enum { SO_PRIME = 256, SO_LENGTH, SO_TEMPERATURE, SO_SEED, SO_JSON,
       SO_TOP_K, SO_TOP_P, SO_BEAM, SO_N_BEST, SO_GREEDY, SO_STOP,
       SO_REP_PENALTY, SO_REP_WINDOW, SO_THREADS, SO_HALF, SO_WEIGHTS, SO_TIMING,
       SO_DEVICE, SO_BEST, SO_STOP_AT_EOS };

static const struct option sample_opts[] = {
    {"prime", required_argument, NULL, SO_PRIME},
    {"length", required_argument, NULL, SO_LENGTH},
    {"temperature", required_argument, NULL, SO_TEMPERATURE},
    {"seed", required_argument, NULL, SO_SEED},
    {"json", no_argument, NULL, SO_JSON},
    {"timing", no_argument, NULL, SO_TIMING},
    {"top-k", required_argument, NULL, SO_TOP_K},
    {"top-p", required_argument, NULL, SO_TOP_P},
    {"beam", required_argument, NULL, SO_BEAM},
    {"n-best", required_argument, NULL, SO_N_BEST},
    {"greedy", no_argument, NULL, SO_GREEDY},
    {"stop", required_argument, NULL, SO_STOP},
    {"repetition-penalty", required_argument, NULL, SO_REP_PENALTY},
    {"repetition-window", required_argument, NULL, SO_REP_WINDOW},
    {"threads", required_argument, NULL, SO_THREADS},
    {"half", no_argument, NULL, SO_HALF},
    {"weights", required_argument, NULL, SO_WEIGHTS},
    {"device", required_argument, NULL, SO_DEVICE},
    {"best", no_argument, NULL, SO_BEST},
    {"stop-at-eos", no_argument, NULL, SO_STOP_AT_EOS},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

/* The options that mirror a setting: the settings table reads them. */
static const struct {
    int id;
    const char *setting;
} sample_mirrors[] = {
    {SO_LENGTH, "sample-length"}, {SO_TEMPERATURE, "temperature"},
    {SO_TOP_K, "top-k"}, {SO_TOP_P, "top-p"}, {SO_BEAM, "beam"},
    {SO_REP_PENALTY, "repetition-penalty"}, {SO_WEIGHTS, "weights"},
    {SO_THREADS, "threads"},
};
#define N_MIRRORS (sizeof sample_mirrors / sizeof sample_mirrors[0])

typedef struct sample_args {
    cli_opt_ctx oc;
    const char *prime;              /* NULL: the session's */
    uint64_t seed;
    int has_seed, json;
    long n_best, rep_window;
    int has_n_best, greedy, has_stop, timing, has_rep_window;
    unsigned char mirrored[N_MIRRORS];  /* given on the command line */
    char stop[sizeof ((sample_config *)0)->stop];
    cli_device dev;
    sample_config saved;            /* the session's sampling settings */
    int best;                       /* --best: the best checkpoint */
    int stop_at_eos;                /* --stop-at-eos */
    setting_values sv;              /* options that mirror settings, as
                                     * the settings table reads them */
} sample_args;

/* --stop's text with \n, \t, \r and \\ turned into the characters they
 * name.  Returns 0, or STATUS_USAGE after a message. */
static int sample_stop_arg(sample_args *a, const char *arg)
{
    size_t n = 0;
    for (const char *p = arg; *p; p++) {
        char ch = *p;
        if (ch == '\\' && p[1]) {
            p++;
            ch = *p == 'n' ? '\n' : *p == 't' ? '\t' : *p == 'r' ? '\r' : *p;
        }
        if (n + 1 >= sizeof a->stop)
            return cli_usage_error(a->oc.cmd, "--stop: longer than %zu bytes",
                               sizeof a->stop - 1);
        a->stop[n++] = ch;
    }
    a->stop[n] = '\0';
    if (n == 0)
        return cli_usage_error(a->oc.cmd, "--stop: empty");
    a->has_stop = 1;
    return 0;
}

static int sample_set(void *args, int id, const char *arg)
{
    sample_args *a = args;
    const cli_opt_ctx *c = &a->oc;
    for (size_t k = 0; k < N_MIRRORS; k++)
        if (sample_mirrors[k].id == id) {
            a->mirrored[k] = 1;
            return cli_opt_setting(c, id, arg, sample_mirrors[k].setting, &a->sv);
        }
    switch (id) {
    case SO_PRIME: a->prime = arg; return 0;
    case SO_BEST: a->best = 1; return 0;
    case SO_STOP_AT_EOS: a->stop_at_eos = 1; return 0;
    case SO_JSON: a->json = 1; return 0;
    case SO_TIMING: a->timing = 1; return 0;
    case SO_GREEDY: a->greedy = 1; return 0;
    case SO_HALF:                   /* --weights fp16 */
        return sample_set(args, SO_WEIGHTS, "fp16");
    case SO_STOP: return sample_stop_arg(a, arg);
    case SO_SEED:
        a->has_seed = 1;
        return cli_opt_u64(c, id, arg, &a->seed);
    case SO_N_BEST:
        a->has_n_best = 1;
        return cli_opt_long(c, id, arg, 1, SAMPLE_MAX_BEAM, &a->n_best);
    case SO_REP_WINDOW:
        a->has_rep_window = 1;
        return cli_opt_long(c, id, arg, 0, INT_MAX, &a->rep_window);
    case SO_DEVICE:
        a->dev.given = 1;
        return cli_opt_choice(c, id, arg, cli_device_parse, "auto, cpu or cuda", &a->dev.device);
    default:
        return 0;
    }
}

static void sample_help(FILE *f)
{
    char len[64], temp[64], k[64], p[64], beam[64], pen[64], thr[64];
    fprintf(f,
"Usage: rnnlab sample DIR [OPTION]...\n"
"Generate text with the model of the session saved in DIR.  Prints the\n"
"prime, then the generated text as it is produced, then a newline.\n"
"Settings not given come from the session.\n"
"\n"
"  --prime TEXT         text to start from (default: the session's prime),\n"
"                       read with the session's tokenizer: characters the\n"
"                       model does not know are skipped, unknown words\n"
"                       become <unk>, with one warning\n"
"  --length N           tokens to generate (characters, words or BPE\n"
"                       tokens, as the session's tokenizer), %s\n"
"                       (default: the session's setting, initially 200)\n"
"  --temperature T      divide the logits by T, %s; lower is more\n"
"                       conservative, 0 takes the most likely token\n"
"                       (default: the session's, initially 1)\n"
"  --top-k K            draw only from the K most likely tokens, %s\n"
"                       (0: off)\n"
"  --top-p P            draw only from the smallest set of most likely\n"
"                       tokens whose probabilities reach P, P %s\n"
"                       (1: off); applied after --top-k\n"
"  --greedy             always take the most likely token\n"
"  --repetition-penalty X\n"
"                       make tokens seen in the last --repetition-window\n"
"                       tokens less likely: a logit z becomes z/X when\n"
"                       positive, z*X otherwise; X %s (1: off)\n"
"  --repetition-window N\n"
"                       tokens the penalty looks back on, prime included\n"
"                       (0: all; initially 64)\n"
"  --beam W             beam search with W beams, %s (1: off): the\n"
"                       continuation with the best mean log-probability per\n"
"                       token; deterministic, ignores temperature, top-k\n"
"                       and top-p\n"
"  --n-best N           with --beam: also print the N best continuations\n"
"                       and their scores (N <= W)\n"
"  --stop STR           stop once the generated text ends with STR (up to\n"
"                       63 bytes; \\n, \\t, \\r and \\\\ are understood)\n"
"  --stop-at-eos        stop after the end-of-line token <eos> (word\n"
"                       tokenizers; a word model's text shows it as a\n"
"                       newline)\n"
"  --seed S             seed the sampler (default: the generator state saved\n"
"                       in the session, so repeated runs agree)\n"
"  --weights W          fp32, fp16 or int8: how the weights are held while\n"
"                       generating (default: the session's, fp32 when new).\n"
"                       fp32 is exact; fp16 reads half the memory, int8 (a\n"
"                       scale per row, inputs rounded to 8 bits each step)\n"
"                       a quarter: about 1.5x and 2.8x as fast; see what\n"
"                       they cost with eval --weights\n"
"  --half               the same as --weights fp16\n"
"  --threads N          threads, %s (default 2, or 1 on one core)\n"
"  --timing             when done, print one JSON object to stderr: tokens,\n"
"                       seconds, tokens_per_s, cpu_seconds, weights\n"
"  --json               print JSON lines: one per generated token (index,\n"
"                       token = its text in the vocabulary, text = what it\n"
"                       adds to the output (a word's space before it), id,\n"
"                       prob = its probability in the distribution\n"
"                       it was drawn from, model_prob = the model's own, top =\n"
"                       the 5 most likely tokens), then one object with\n"
"                       prime, text (the generated part), tokens, stop,\n"
"                       prime_unknown, seconds, tokens_per_s, cpu_seconds\n"
"                       (priming and generation) and, for beam search, beams\n"
"  --device DEV         auto, cpu or cuda (default auto, or $RNNLAB_DEVICE)\n"
"  --best               use the session's best checkpoint (train --keep-best)\n"
"  -h, --help           show this help and exit\n",
            setting_range_of("sample-length", len, sizeof len),
            setting_range_of("temperature", temp, sizeof temp),
            setting_range_of("top-k", k, sizeof k),
            setting_range_of("top-p", p, sizeof p),
            setting_range_of("repetition-penalty", pen, sizeof pen),
            setting_range_of("beam", beam, sizeof beam),
            setting_range_of("threads", thr, sizeof thr));
}

typedef struct emit_ctx {
    int json, failed;
    int write_errno;                /* failed writing (else out of memory) */
    strbuf text;                    /* --json: the generated text */
} emit_ctx;

/* A probability as JSON: 7 significant digits (float precision), null
 * when it is not a number. */
static void put_prob(FILE *f, float p)
{
    if (isfinite(p))
        fprintf(f, "%.7g", (double)p);
    else
        fputs("null", f);
}

/* One --json line for a generated token, written directly: building a
 * cJSON tree per token cost more than generating the token. */
static int print_token_json(const tok_vocab *v, const sample_token *t)
{
    FILE *f = stdout;
    size_t n = 0;
    const uint8_t *tb = tok_bytes(v, t->id, &n);
    fprintf(f, "{\"index\":%zu,\"token\":", t->index);
    cli_put_json_string(f, tb, n);
    fputs(",\"text\":", f);
    cli_put_json_string(f, t->bytes, t->len);
    fprintf(f, ",\"id\":%" PRIu32 ",\"prob\":", t->id);
    put_prob(f, t->prob);
    fputs(",\"model_prob\":", f);
    put_prob(f, t->model_prob);
    fputs(",\"top\":[", f);
    for (int i = 0; i < t->n_alts; i++) {
        size_t len = 0;
        const uint8_t *b = tok_bytes(v, t->alt_id[i], &len);
        fputs(i ? ",{\"token\":" : "{\"token\":", f);
        cli_put_json_string(f, b, len);
        fputs(",\"prob\":", f);
        put_prob(f, t->alt_prob[i]);
        putc('}', f);
    }
    fputs("]}\n", f);
    return fflush(f) == 0 && !ferror(f) ? 0 : -1;
}

typedef struct token_ctx {
    emit_ctx *e;
    const tok_vocab *v;
} token_ctx;

/* sample_decode's callback: write each token as soon as it is known. */
static int emit_token(void *ctx, const sample_token *t)
{
    token_ctx *tc = ctx;
    emit_ctx *e = tc->e;
    if (e->json && strbuf_append(&e->text, t->bytes, t->len) != 0)
        e->failed = 1;
    else if (e->json ? print_token_json(tc->v, t) != 0
                     : fwrite(t->bytes, 1, t->len, stdout) != t->len || fflush(stdout) != 0) {
        e->failed = 1;
        e->write_errno = errno ? errno : EIO;
    }
    return e->failed;
}

/* Warns, before any output, about prime characters the model never saw. */
static int check_prime(const tok_vocab *v, const char *prime)
{
    size_t len = strlen(prime), unknown = 0;
    char first[16] = "";
    uint32_t *ids;
    if (len == 0)
        return STATUS_OK;
    if ((ids = malloc(len * sizeof *ids)) == NULL)
        return cli_fail("out of memory");
    tok_encode(v, (const uint8_t *)prime, len, ids, &unknown, first);
    free(ids);
    if (unknown > 0)
        cli_warn("prime: %zu %s (first: '%s')", unknown, tok_unknown_note(v, unknown),
                 first);
    return STATUS_OK;
}

/* --timing: the run's speed on stderr, apart from the text on stdout. */
static void print_timing(const sample_result *res, const sample_config *sc, double seconds,
                         double cpu)
{
    fprintf(stderr, "{\"tokens\": %zu, \"seconds\": %.6f, \"tokens_per_s\": %.1f, "
            "\"cpu_seconds\": %.6f, \"weights\": \"%s\"}\n", (size_t)res->stats.generated,
            seconds, seconds > 0 ? (double)res->stats.generated / seconds : 0.0, cpu,
            be_weights_name(sc->weights));
}

static int print_sample_json(const char *prime, const emit_ctx *e,
                             const sample_result *res, double seconds,
                             double cpu_seconds)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return cli_fail("out of memory");
    cJSON_AddStringToObject(o, "prime", prime);
    cJSON_AddStringToObject(o, "text", e->text.p ? e->text.p : "");
    cJSON_AddNumberToObject(o, "tokens", (double)res->stats.generated);
    cJSON_AddStringToObject(o, "stop", sample_stop_name(res->stop));
    cJSON_AddNumberToObject(o, "prime_unknown", (double)res->stats.prime_unknown);
    cJSON_AddNumberToObject(o, "seconds", seconds);
    cJSON_AddNumberToObject(o, "tokens_per_s",
                            seconds > 0 ? (double)res->stats.generated / seconds : 0.0);
    cJSON_AddNumberToObject(o, "cpu_seconds", cpu_seconds);
    if (res->n_beams > 0) {
        cJSON *beams = cJSON_AddArrayToObject(o, "beams");
        for (int i = 0; beams && i < res->n_beams; i++) {
            cJSON *b = cJSON_CreateObject();
            if (!b)
                break;
            cJSON_AddStringToObject(b, "text", res->beams[i].text);
            cJSON_AddNumberToObject(b, "score", res->beams[i].score);
            cJSON_AddNumberToObject(b, "logprob", res->beams[i].logprob);
            cJSON_AddNumberToObject(b, "tokens", (double)res->beams[i].n);
            cJSON_AddItemToArray(beams, b);
        }
    }
    return cli_print_json(o);
}

/* Whether --threads was given (else: 2, or 1 on one core). */
static int sample_threads_given(const sample_args *a)
{
    for (size_t k = 0; k < N_MIRRORS; k++)
        if (sample_mirrors[k].id == SO_THREADS)
            return a->mirrored[k];
    return 0;
}

/* The session's sampling settings with the command line's on top; returns
 * 0 or STATUS_USAGE after a message. */
static int sample_settings(const sample_args *a, sample_config *sc)
{
    setting_values v = {.sample = *sc};
    for (size_t k = 0; k < N_MIRRORS; k++)
        if (a->mirrored[k])
            setting_copy(setting_find(sample_mirrors[k].setting), &a->sv, &v);
    *sc = v.sample;
    if (a->has_n_best) sc->n_best = (int)a->n_best;
    if (a->greedy) sc->greedy = 1;
    if (a->has_rep_window) sc->repetition_window = (int)a->rep_window;
    if (a->has_stop) memcpy(sc->stop, a->stop, sizeof sc->stop);
    if (a->has_n_best && sc->n_best > (sc->beam > 1 ? sc->beam : 1))
        return cli_usage_error(a->oc.cmd, "--n-best: %d is more than the beam width %d",
                           sc->n_best, sc->beam > 1 ? sc->beam : 1);
    if (sc->n_best > sc->beam)
        sc->n_best = sc->beam > 1 ? sc->beam : 1;
    return 0;
}

/* Plain output of the 2nd and later beams: a header line, then the text. */
static void print_more_beams(const char *prime, const sample_result *res)
{
    for (int i = 0; i < res->n_beams; i++)
        printf("--- beam %d: score %.4f (mean log-probability per token), "
               "%zu tokens ---\n%s%s\n", i + 1, res->beams[i].score,
               res->beams[i].n, prime, res->beams[i].text);
}

static int sample_run(trainer *t, sample_args *a)
{
    char err[512];
    sample_config sc = a->saved;
    sample_request req;
    sample_result res;
    emit_ctx e = {a->json, 0, 0, STRBUF_INIT};
    token_ctx tc = {&e, t->corp.vocab};
    const char *prime = a->prime ? a->prime : sc.prime;
    int rc;
    if ((rc = sample_settings(a, &sc)) != 0)
        return rc;
    if (a->has_seed) rng_seed(&t->rng, a->seed);
    if ((rc = check_prime(t->corp.vocab, prime)) != STATUS_OK)
        return rc;
    if (a->stop_at_eos && tok_eos(t->corp.vocab) == TOK_NO_ID)
        return cli_fail("--stop-at-eos: the session's %s tokenizer has no <eos> token",
                        tok_kind_name(t->corp.vocab));
    cli_say_device(&a->dev);
    if (!a->json) {
        fputs(prime, stdout);
        fflush(stdout);
    }
    sample_request_init(&req, &sc, &t->rng);
    if (a->stop_at_eos)
        req.eos = tok_eos(t->corp.vocab);
    req.prime = prime;
    req.on_token = emit_token;
    req.ctx = &tc;
    req.n_alts = a->json ? 5 : 0;
    double t0 = clock_now(), c0 = clock_cpu();
    if (sample_decode(t->m, t->corp.vocab, &req, &res, err, sizeof err) != 0)
        rc = cli_fail("%s", err);
    else if (e.failed && cli_output_gone())
        rc = STATUS_OK;             /* the reader has gone: stop quietly */
    else if (e.failed && e.write_errno)
        rc = cli_fail("write error on standard output: %s", strerror(e.write_errno));
    else if (e.failed)
        rc = cli_fail("out of memory");
    else if (a->json)
        rc = print_sample_json(prime, &e, &res, clock_now() - t0, clock_cpu() - c0);
    else {
        putchar('\n');
        if (a->has_n_best && res.n_beams > 1)
            print_more_beams(prime, &res);
    }
    if (rc == STATUS_OK && a->timing)
        print_timing(&res, &sc, clock_now() - t0, clock_cpu() - c0);
    sample_result_free(&res);
    strbuf_free(&e.text);
    return rc;
}

int cli_sample(int argc, char **argv)
{
    char *dir;
    sample_args a;
    be_backend *be;
    trainer *t;
    int n_pos, rc;
    memset(&a, 0, sizeof a);
    a.oc.cmd = "sample";
    a.oc.opts = sample_opts;
    rc = cli_parse_command(&a.oc, argc, argv, sample_set, &a, &dir, 1, &n_pos);
    if (rc == CLI_PARSE_HELP) {
        sample_help(stdout);
        return STATUS_OK;
    }
    if (rc != 0)
        return rc;
    if (n_pos != 1)
        return cli_usage_error(a.oc.cmd, "missing the session directory");
    if ((be = cli_open_backend(&a.dev, !a.json)) == NULL)
        return STATUS_FAIL;
    /* a step streams the weights from memory: a second core adds its
     * bandwidth (about 1.9x here); more rarely pay for the hand-offs */
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    be->set_threads(be, sample_threads_given(&a) ? a.sv.train.threads
                                                  : cores >= 2 ? 2 : 1);
    t = cli_load_session(be, dir, SESSION_NO_CORPUS, &a.saved);
    rc = !t ? STATUS_FAIL : a.best ? cli_use_best(t, dir) : STATUS_OK;
    if (rc == STATUS_OK)
        rc = sample_run(t, &a);
    if (t)
        trainer_free(t);
    be->destroy(be);
    return rc;
}
