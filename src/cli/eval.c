/* eval.c - `rnnlab eval`: a saved session's loss, perplexity and
 * accuracy on a split of its corpus. */
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

enum { EO_CORPUS = 256, EO_SPLIT, EO_STREAMS, EO_JSON, EO_DEVICE, EO_WEIGHTS,
       EO_BEST, EO_NO_CACHE };

static const struct option eval_opts[] = {
    {"corpus", required_argument, NULL, EO_CORPUS},
    {"split", required_argument, NULL, EO_SPLIT},
    {"streams", required_argument, NULL, EO_STREAMS},
    {"json", no_argument, NULL, EO_JSON},
    {"device", required_argument, NULL, EO_DEVICE},
    {"weights", required_argument, NULL, EO_WEIGHTS},
    {"best", no_argument, NULL, EO_BEST},
    {"no-cache", no_argument, NULL, EO_NO_CACHE},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct eval_args {
    cli_opt_ctx oc;
    const char *corpus;             /* NULL: the session's */
    const char *split_name;
    int split, json;
    long streams;
    int has_streams, weights;       /* weights: -1 = the training path */
    int best;                       /* --best: the best checkpoint */
    int no_cache;                   /* --no-cache */
    cli_device dev;
} eval_args;

static int eval_set(void *args, int id, const char *arg)
{
    eval_args *a = args;
    switch (id) {
    case EO_CORPUS: a->corpus = arg; return 0;
    case EO_JSON: a->json = 1; return 0;
    case EO_BEST: a->best = 1; return 0;
    case EO_NO_CACHE: a->no_cache = 1; return 0;
    case EO_SPLIT:
        a->split_name = arg;
        return cli_opt_choice(&a->oc, id, arg, corpus_split_parse,
                          "train, val, test or all", &a->split);
    case EO_STREAMS:
        a->has_streams = 1;
        return cli_opt_long(&a->oc, id, arg, 1, 65536, &a->streams);
    case EO_WEIGHTS:
        return cli_opt_choice(&a->oc, id, arg, be_weights_parse, "fp32, fp16 or int8",
                          &a->weights);
    case EO_DEVICE:
        a->dev.given = 1;
        return cli_opt_choice(&a->oc, id, arg, cli_device_parse, "auto, cpu or cuda",
                          &a->dev.device);
    default:
        return 0;
    }
}

static void eval_help(FILE *f)
{
    fputs(
"Usage: rnnlab eval DIR [OPTION]...\n"
"Measure the model of the session saved in DIR on a part of its corpus:\n"
"mean cross-entropy per token, perplexity, bits per token (bpc), bits per\n"
"byte of the text (bpb: the same for char, word and BPE models) and\n"
"accuracy.\n"
"\n"
"  --corpus FILE        text to measure, read with the session's tokenizer\n"
"                       (unknown characters are skipped, unknown words\n"
"                       become <unk>) and split as the session's corpus\n"
"                       (default: the session's corpus)\n"
"  --split NAME         train, val, test or all (default val)\n"
"  --streams N          cut the split into N parts evaluated side by side,\n"
"                       each from a zero state, 1 to 65536; 1 is exact, more\n"
"                       is faster (default 1)\n"
"  --weights W          score through the generation path instead, one\n"
"                       token at a time from a zero state, the weights held\n"
"                       as W (fp32, fp16 or int8, as sample --weights): what\n"
"                       sampling with W sees; not with --streams\n"
"  --json               print one JSON object: loss, perplexity, bpc, bpb,\n"
"                       accuracy, tokens (and weights with --weights)\n"
"  --device DEV         auto, cpu or cuda (default auto, or $RNNLAB_DEVICE)\n"
"  --best               measure the session's best checkpoint (train\n"
"                       --keep-best) instead of its last weights\n"
"  --no-cache           tokenize a large corpus into memory, without the\n"
"                       token cache train made (README \"Large corpora\")\n"
"  -h, --help           show this help and exit\n", f);
}

static int print_eval(const eval_args *a, const eval_result *ev, double bpb)
{
    char n[32];
    cJSON *o;
    if (!a->json) {
        printf("%s: loss %.4f nats  ppl %.2f  bpc %.3f  bpb %.3f  acc %.3f  "
               "(%s predictions)\n", a->split_name, ev->loss, ev->ppl, ev->bpt,
               bpb, ev->acc, cli_grouped(n, (double)ev->tokens));
        return STATUS_OK;
    }
    if ((o = cJSON_CreateObject()) == NULL)
        return cli_fail("out of memory");
    cJSON_AddNumberToObject(o, "loss", cli_tidy(ev->loss));
    cJSON_AddNumberToObject(o, "perplexity", cli_tidy(ev->ppl));
    cJSON_AddNumberToObject(o, "bpc", cli_tidy(ev->bpt));
    cJSON_AddNumberToObject(o, "bpb", cli_tidy(bpb));
    cJSON_AddNumberToObject(o, "accuracy", cli_tidy(ev->acc));
    cJSON_AddNumberToObject(o, "tokens", (double)ev->tokens);
    if (a->weights >= 0)
        cJSON_AddStringToObject(o, "weights", be_weights_name(a->weights));
    return cli_print_json(o);
}

static int eval_run(trainer *t, eval_args *a)
{
    char err[512];
    eval_result ev;
    if (a->corpus)
        cli_warn_unknown_corpus(t);
    if (a->weights >= 0) {
        size_t b, e;
        corpus_range(&t->corp, (corpus_split)a->split, &b, &e);
        if (sample_eval(t->m, &t->corp, b, e - b, (be_weights)a->weights, &ev, err,
                        sizeof err) != 0)
            return cli_fail("%s split: %s", a->split_name, err);
    } else if (trainer_eval(t, (corpus_split)a->split, (int)a->streams, &ev, err,
                            sizeof err) != 0) {
        return cli_fail("%s", err);
    }
    cli_say_device(&a->dev);
    return print_eval(a, &ev, corpus_bits_per_byte(&t->corp, (corpus_split)a->split,
                                                   ev.loss));
}

int cli_eval(int argc, char **argv)
{
    char *dir;
    eval_args a;
    be_backend *be;
    trainer *t;
    int n_pos, rc;
    memset(&a, 0, sizeof a);
    a.oc.cmd = "eval";
    a.oc.opts = eval_opts;
    a.split = SPLIT_VAL;
    a.split_name = "val";
    a.streams = 1;
    a.weights = -1;
    rc = cli_parse_command(&a.oc, argc, argv, eval_set, &a, &dir, 1, &n_pos);
    if (rc == CLI_PARSE_HELP) {
        eval_help(stdout);
        return STATUS_OK;
    }
    if (rc != 0)
        return rc;
    if (n_pos != 1)
        return cli_usage_error(a.oc.cmd, "missing the session directory");
    if (a.weights >= 0 && a.has_streams)
        return cli_usage_error(a.oc.cmd, "--weights scores one stream: leave out --streams");
    if ((be = cli_open_backend(&a.dev, !a.json)) == NULL)
        return STATUS_FAIL;
    cli_prep prep;
    cli_prep_init(&prep, !a.no_cache, 0);
    t = cli_load_session_prep(be, dir, a.corpus, NULL, &prep.p);
    rc = !t ? STATUS_FAIL : a.best ? cli_use_best(t, dir) : STATUS_OK;
    if (rc == STATUS_OK)
        rc = eval_run(t, &a);
    if (t)
        trainer_free(t);
    be->destroy(be);
    return rc;
}
