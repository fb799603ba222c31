/* train.c - `rnnlab train`: a new model or a saved session trained from
 * the shell, printing progress, validating and saving on stop. */
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
#include "util/num.h"
#include "util/status.h"
#include "dist/dist.h"
#include "train/auto.h"
#include "backend/backend.h"
#include "text/corpus.h"
#include "text/tok.h"
#include "text/tok_opt.h"
#include "model/model.h"
#include "train/optim.h"
#include "train/trainer.h"
#include "train/auto.h"
#include "train/run.h"
#include "decode/sample.h"
#include "store/session.h"
#include "engine/settings.h"

/* The one piece of mutable file-scope state.  A signal handler cannot be
 * handed a context pointer, so the train command's request to stop
 * (SIGINT, SIGTERM) reaches its loop through this flag.  Only the train
 * command installs the handler. */
static volatile sig_atomic_t stop_requested;

enum {
    TO_FIRST = 256,
    TO_CORPUS = TO_FIRST, TO_MODEL, TO_LAYERS, TO_HIDDEN, TO_EMBED,
    TO_DROPOUT, TO_TIE, TO_NO_FORGET_BIAS, TO_LAYER_NORM, TO_SEQ_LEN, TO_BATCH,
    TO_OPTIMIZER, TO_LR, TO_MOMENTUM, TO_WEIGHT_DECAY, TO_CLIP,
    TO_CLIP_VALUE, TO_LR_DECAY, TO_LR_DECAY_EVERY, TO_WARMUP, TO_STEPS,
    TO_SCHEDULE, TO_MIN_LR, TO_PLATEAU_FACTOR, TO_PLATEAU_PATIENCE,
    TO_EPOCHS, TO_TIME, TO_EVAL_EVERY, TO_EVAL_STREAMS, TO_VAL_FRAC,
    TO_TEST_FRAC, TO_SEED, TO_THREADS, TO_SAVE, TO_RESUME, TO_JSON,
    TO_QUIET,
    TO_DEVICE, TO_PRECISION, TO_PATIENCE, TO_MIN_DELTA, TO_SAVE_EVERY,
    TO_KEEP_BEST, TO_LABEL_SMOOTHING, TO_NO_CACHE,
    TO_DROPOUT_EMBED, TO_LOCKED_DROPOUT, TO_WEIGHT_DROP, TO_AR, TO_TAR,
    TO_BPTT_JITTER, TO_NONMONO, TO_AWD,
    TO_DROPOUT_INPUT, TO_DROPOUT_HIDDEN, TO_DROPOUT_OUTPUT,     /* MODEL_DROP_* */
    TO_EMBED_INIT, TO_EMBED_FORMAT, TO_EMBED_LOWER, TO_FREEZE_EMBED,
    TO_SOFTMAX, TO_CUTOFFS, TO_DIV_VALUE, TO_HEAD_BIAS,
    TO_TOKENS,                  /* then the tokenizer's, in TOK_OPT_* order */
    TO_MIN_COUNT, TO_MAX_VOCAB, TO_LOWERCASE, TO_WORD_LETTERS, TO_BPE_VOCAB,
    TO_BPE_SAMPLE,
    TO_END
};

static const struct option train_opts[] = {
    {"corpus", required_argument, NULL, TO_CORPUS},
    {"model", required_argument, NULL, TO_MODEL},
    {"layers", required_argument, NULL, TO_LAYERS},
    {"hidden", required_argument, NULL, TO_HIDDEN},
    {"embed", required_argument, NULL, TO_EMBED},
    {"dropout", required_argument, NULL, TO_DROPOUT},
    {"tie", no_argument, NULL, TO_TIE},
    {"no-forget-bias", no_argument, NULL, TO_NO_FORGET_BIAS},
    {"layer-norm", optional_argument, NULL, TO_LAYER_NORM},
    {"seq-len", required_argument, NULL, TO_SEQ_LEN},
    {"batch", required_argument, NULL, TO_BATCH},
    {"optimizer", required_argument, NULL, TO_OPTIMIZER},
    {"lr", required_argument, NULL, TO_LR},
    {"momentum", required_argument, NULL, TO_MOMENTUM},
    {"weight-decay", required_argument, NULL, TO_WEIGHT_DECAY},
    {"clip", required_argument, NULL, TO_CLIP},
    {"clip-value", required_argument, NULL, TO_CLIP_VALUE},
    {"lr-decay", required_argument, NULL, TO_LR_DECAY},
    {"lr-decay-every", required_argument, NULL, TO_LR_DECAY_EVERY},
    {"warmup", required_argument, NULL, TO_WARMUP},
    {"schedule", required_argument, NULL, TO_SCHEDULE},
    {"min-lr", required_argument, NULL, TO_MIN_LR},
    {"plateau-factor", required_argument, NULL, TO_PLATEAU_FACTOR},
    {"plateau-patience", required_argument, NULL, TO_PLATEAU_PATIENCE},
    {"steps", required_argument, NULL, TO_STEPS},
    {"epochs", required_argument, NULL, TO_EPOCHS},
    {"time", required_argument, NULL, TO_TIME},
    {"eval-every", required_argument, NULL, TO_EVAL_EVERY},
    {"eval-streams", required_argument, NULL, TO_EVAL_STREAMS},
    {"val-frac", required_argument, NULL, TO_VAL_FRAC},
    {"test-frac", required_argument, NULL, TO_TEST_FRAC},
    {"seed", required_argument, NULL, TO_SEED},
    {"threads", required_argument, NULL, TO_THREADS},
    {"save", required_argument, NULL, TO_SAVE},
    {"resume", required_argument, NULL, TO_RESUME},
    {"json", no_argument, NULL, TO_JSON},
    {"quiet", no_argument, NULL, TO_QUIET},
    {"device", required_argument, NULL, TO_DEVICE},
    {"precision", required_argument, NULL, TO_PRECISION},
    {"patience", required_argument, NULL, TO_PATIENCE},
    {"min-delta", required_argument, NULL, TO_MIN_DELTA},
    {"save-every", required_argument, NULL, TO_SAVE_EVERY},
    {"keep-best", no_argument, NULL, TO_KEEP_BEST},
    {"label-smoothing", required_argument, NULL, TO_LABEL_SMOOTHING},
    {"dropout-embed", required_argument, NULL, TO_DROPOUT_EMBED},
    {"locked-dropout", optional_argument, NULL, TO_LOCKED_DROPOUT},
    {"weight-drop", required_argument, NULL, TO_WEIGHT_DROP},
    {"ar", required_argument, NULL, TO_AR},
    {"tar", required_argument, NULL, TO_TAR},
    {"bptt-jitter", optional_argument, NULL, TO_BPTT_JITTER},
    {"nonmono", required_argument, NULL, TO_NONMONO},
    {"awd", no_argument, NULL, TO_AWD},
    {"dropout-input", required_argument, NULL, TO_DROPOUT_INPUT},
    {"dropout-hidden", required_argument, NULL, TO_DROPOUT_HIDDEN},
    {"dropout-output", required_argument, NULL, TO_DROPOUT_OUTPUT},
    {"embed-init", required_argument, NULL, TO_EMBED_INIT},
    {"embed-format", required_argument, NULL, TO_EMBED_FORMAT},
    {"embed-init-lower", optional_argument, NULL, TO_EMBED_LOWER},
    {"freeze-embed", optional_argument, NULL, TO_FREEZE_EMBED},
    {"no-cache", no_argument, NULL, TO_NO_CACHE},
    {"softmax", required_argument, NULL, TO_SOFTMAX},
    {"cutoffs", required_argument, NULL, TO_CUTOFFS},
    {"div-value", required_argument, NULL, TO_DIV_VALUE},
    {"head-bias", optional_argument, NULL, TO_HEAD_BIAS},
    CLI_TOK_OPTIONS(TO_TOKENS),
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

/* Options fixed by a saved session: the model, the data split and what the
 * optimizer's saved state depends on. */
static const int fixed_when_resuming[] = {
    TO_MODEL, TO_LAYERS, TO_HIDDEN, TO_EMBED, TO_DROPOUT, TO_TIE,
    TO_NO_FORGET_BIAS, TO_LAYER_NORM, TO_SEQ_LEN, TO_BATCH, TO_OPTIMIZER, TO_MOMENTUM,
    TO_WEIGHT_DECAY, TO_VAL_FRAC, TO_TEST_FRAC, TO_SEED, TO_EMBED_INIT,
    TO_EMBED_FORMAT, TO_EMBED_LOWER, TO_TOKENS, TO_AWD,
    TO_SOFTMAX, TO_CUTOFFS, TO_DIV_VALUE, TO_HEAD_BIAS,
    TO_MIN_COUNT, TO_MAX_VOCAB, TO_LOWERCASE, TO_WORD_LETTERS, TO_BPE_VOCAB,
    TO_BPE_SAMPLE
};

typedef struct train_args {
    cli_opt_ctx oc;
    unsigned char given[TO_END - TO_FIRST];   /* options on the command line */
    const char *corpus, *save, *resume;
    int cell, optimizer;
    long layers, hidden, embed, seq_len, batch;
    long eval_every, eval_streams, threads, steps, patience;
    double dropout, lr, momentum, weight_decay, clip, clip_value;
    double min_delta;
    double epochs, seconds, val_frac, test_frac;
    uint64_t seed;
    cli_device dev;
    sample_config sample;           /* the session's, kept as it was */
    setting_values sv;              /* options that mirror settings, as
                                     * the settings table reads them */
    tok_options tok;                /* --tokens and its options */
    cli_train_result *result;       /* a run for another command (compare):
                                     * nothing printed, the figures here */
} train_args;

#define GIVEN(a, id) ((a)->given[(id) - TO_FIRST])
/* No progress output: --quiet, --json or a run for another command. */
#define QUIET(a) (GIVEN(a, TO_QUIET) || GIVEN(a, TO_JSON) || (a)->result)
/* JSON lines on standard output. */
#define JSON_OUT(a) (GIVEN(a, TO_JSON) && !(a)->result)

static int train_set_number(train_args *a, int id, const char *arg)
{
    const cli_opt_ctx *c = &a->oc;
    switch (id) {
    case TO_LAYERS: return cli_opt_long(c, id, arg, 1, MODEL_MAX_LAYERS, &a->layers);
    case TO_HIDDEN: return cli_opt_long(c, id, arg, 1, 65536, &a->hidden);
    case TO_EMBED: return cli_opt_long(c, id, arg, 1, 65536, &a->embed);
    case TO_EVAL_STREAMS: return cli_opt_long(c, id, arg, 1, 65536, &a->eval_streams);
    case TO_STEPS: return cli_opt_long(c, id, arg, 1, LONG_MAX, &a->steps);
    case TO_PATIENCE: return cli_opt_long(c, id, arg, 0, 1000000, &a->patience);
    case TO_MIN_DELTA: return cli_opt_double(c, id, arg, 0, INFINITY, 0, &a->min_delta);
    case TO_MOMENTUM: return cli_opt_double(c, id, arg, 0, 1, CLI_HI_OPEN, &a->momentum);
    case TO_WEIGHT_DECAY: return cli_opt_double(c, id, arg, 0, INFINITY, 0, &a->weight_decay);
    case TO_CLIP_VALUE: return cli_opt_double(c, id, arg, 0, INFINITY, 0, &a->clip_value);
    case TO_EPOCHS: return cli_opt_double(c, id, arg, 0, INFINITY, CLI_LO_OPEN, &a->epochs);
    case TO_TIME: return cli_opt_double(c, id, arg, 0, INFINITY, CLI_LO_OPEN, &a->seconds);
    case TO_VAL_FRAC: return cli_opt_double(c, id, arg, 0, 1, CLI_HI_OPEN, &a->val_frac);
    case TO_TEST_FRAC: return cli_opt_double(c, id, arg, 0, 1, CLI_HI_OPEN, &a->test_frac);
    default: return 0;      /* flags: nothing to read */
    }
}

/* An option that mirrors a setting: the settings table checks it. */
static int train_set_setting(train_args *a, int id, const char *arg)
{
    const train_config *v = &a->sv.train;
    int rc = cli_opt_setting(&a->oc, id, arg, cli_opt_name(&a->oc, id), &a->sv);
    switch (id) {
    case TO_OPTIMIZER: a->optimizer = (int)v->optim.kind; break;
    case TO_LR: a->lr = v->optim.lr; break;
    case TO_BATCH: a->batch = v->batch; break;
    case TO_SEQ_LEN: a->seq_len = v->seq_len; break;
    case TO_CLIP: a->clip = v->clip_norm; break;
    case TO_DROPOUT: a->dropout = v->model.dropout; break;
    case TO_SEED: a->seed = v->seed; break;
    case TO_EVAL_EVERY: a->eval_every = v->eval_every; break;
    case TO_THREADS: a->threads = v->threads; break;
    }
    return rc;
}

static int train_set(void *args, int id, const char *arg)
{
    train_args *a = args;
    a->given[id - TO_FIRST] = 1;
    switch (id) {
    case TO_CORPUS: a->corpus = arg; return 0;
    case TO_SAVE: a->save = arg; return 0;
    case TO_RESUME: a->resume = arg; return 0;
    case TO_MODEL:
        return cli_opt_choice(&a->oc, id, arg, model_cell_parse, "lstm, gru or rnn",
                          &a->cell);
    case TO_OPTIMIZER:
    case TO_LR: case TO_BATCH: case TO_SEQ_LEN: case TO_CLIP: case TO_DROPOUT:
    case TO_SEED: case TO_EVAL_EVERY: case TO_THREADS: case TO_SAVE_EVERY:
    case TO_LABEL_SMOOTHING:
    case TO_DROPOUT_EMBED: case TO_WEIGHT_DROP: case TO_AR: case TO_TAR: case TO_NONMONO:
    case TO_DROPOUT_INPUT: case TO_DROPOUT_HIDDEN: case TO_DROPOUT_OUTPUT:
    case TO_EMBED_INIT: case TO_EMBED_FORMAT:
    case TO_SOFTMAX: case TO_CUTOFFS: case TO_DIV_VALUE:
    case TO_SCHEDULE: case TO_WARMUP: case TO_MIN_LR: case TO_LR_DECAY:
    case TO_LR_DECAY_EVERY: case TO_PLATEAU_FACTOR: case TO_PLATEAU_PATIENCE:
        return train_set_setting(a, id, arg);
    case TO_EMBED_LOWER: case TO_FREEZE_EMBED:   /* --flag or --flag=on|off */
    case TO_LOCKED_DROPOUT: case TO_BPTT_JITTER: case TO_LAYER_NORM: case TO_HEAD_BIAS:
        return train_set_setting(a, id, arg ? arg : "on");
    case TO_DEVICE:
        a->dev.given = 1;
        return cli_opt_choice(&a->oc, id, arg, cli_device_parse, "auto, cpu or cuda",
                          &a->dev.device);
    case TO_PRECISION:
        return cli_opt_choice(&a->oc, id, arg, be_precision_parse, "fp32, tf32 or bf16",
                          &a->dev.precision);
    case TO_TOKENS: case TO_MIN_COUNT: case TO_MAX_VOCAB: case TO_LOWERCASE:
    case TO_WORD_LETTERS: case TO_BPE_VOCAB: case TO_BPE_SAMPLE:
        return cli_opt_tok(&a->oc, id, arg, &a->tok);
    case TO_NO_CACHE:
        return 0;                       /* GIVEN says it */
    default:
        return train_set_number(a, id, arg);
    }
}

/* "--lr X ... with another --optimizer, its own: sgd 0.1, ..." */
static void lr_defaults_text(char *buf, size_t n, optim_kind except)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int k = OPT_SGD; k <= OPT_LAST && o < n; k++) {
        if (k == (int)except)
            continue;
        o += (size_t)snprintf(buf + o, n - o, "%s%s %g", o ? ", " : "",
                              optim_name((optim_kind)k), optim_defaults((optim_kind)k).lr);
    }
}

static void train_help_embed(FILE *f)
{
    char r1[96];
    fprintf(f,
"  --embed-init FILE    start the embedding from pretrained vectors: word2vec\n"
"                       binary (.bin), word2vec / fastText text (.vec) or\n"
"                       GloVe text, read as it streams by; FILE is\n"
"                       %s;\n"
"                       --embed defaults to the vectors' size and must\n"
"                       equal it; prints how many tokens were found\n"
"  --embed-format F     auto, bin, vec or glove (default auto: a header\n"
"                       \"COUNT DIM\" then text values is vec, then float32\n"
"                       is bin; no header is glove)\n"
"  --embed-init-lower   also give a token without an exact match the first\n"
"                       word equal to it once both are lowercased as\n"
"                       --lowercase does (=off: not)\n"
"  --freeze-embed       keep the embedding as it is: no gradient, optimizer\n"
"                       state or weight decay for it (with --tie the\n"
"                       decoder's weight too); kept in the session, and\n"
"                       --freeze-embed=off on --resume undoes it\n",
            setting_range_of("embed-init", r1, sizeof r1));
}

static void train_help_softmax(FILE *f, const train_config *d)
{
    char r1[96], r2[64];
    fprintf(f,
"  --softmax KIND       the output layer: full (a softmax over every token) or\n"
"                       adaptive (Grave et al. 2017, as PyTorch's\n"
"                       AdaptiveLogSoftmaxWithLoss: a head over the ids below\n"
"                       the first cutoff plus one logit per cluster, a small\n"
"                       tail per cluster; much faster for large vocabularies\n"
"                       whose ids go by frequency, as --tokens word's do)\n"
"                       (default full)\n"
"  --cutoffs A,B,...    adaptive: the ids where clusters start, each below the\n"
"                       vocabulary size:\n"
"                       %s\n"
"                       (default none; adaptive needs them)\n"
"  --div-value D        adaptive: cluster i's projection has hidden / D^(i+1)\n"
"                       units, rounded down; D %s (default %g)\n"
"  --head-bias          adaptive: a bias on the head (=off: none, the default)\n",
            setting_range_of("cutoffs", r1, sizeof r1),
            setting_range_of("div-value", r2, sizeof r2), (double)d->model.div_value);
}

static void train_help_data_model(FILE *f, const train_config *d)
{
    char r1[64], r2[64];
    fprintf(f,
"Usage: rnnlab train [OPTION]...\n"
"Train a recurrent language model on a text file, printing progress.\n"
"\n"
"Training runs for --steps, --epochs or --time, or, with none of them,\n"
"until interrupted (Ctrl-C or SIGTERM): the current step finishes, the\n"
"model is validated and the session saved when --save or --resume was\n"
"given.  A second Ctrl-C quits at once.\n"
"\n"
"Data:\n"
"  --corpus FILE        text to learn (default: the bundled " CORPUS_BUNDLED_NAME ",\n"
"                       from ./data/ or else " RNNLAB_DATADIR "/)\n"
"  --val-frac F         share of the text, at its end, held out for\n"
"                       validation; 0 <= F < 1 (default %g); a share of\n"
"                       the tokens for char, of the bytes (cut at a line\n"
"                       start) for word and bpe\n"
"  --test-frac F        share held out for testing, just before the\n"
"                       validation part; 0 <= F < 1 (default %g)\n"
"  --no-cache           tokenize a large corpus into memory, without the\n"
"                       token cache (README \"Large corpora\")\n",
            d->val_frac, d->test_frac);
    cli_tok_help(f);
    fprintf(f,
"\n"
"Model:\n"
"  --model CELL         lstm, gru or rnn (tanh) (default %s)\n"
"  --layers N           recurrent layers, 1 to %d (default %d)\n"
"  --hidden N           units per layer, 1 to 65536 (default: with --steps,\n"
"                       --epochs or --time sized for the run, 64 to 1024,\n"
"                       see README \"train\"; else %d)\n"
"  --embed N            embedding size, 1 to 65536 (default %d)\n"
"  --dropout P          dropout probability at the places below that have no\n"
"                       rate of their own, P %s (default %g)\n"
"  --dropout-input P    dropout on the embedding output (awd-lstm-lm's\n"
"                       dropouti)\n"
"  --dropout-hidden P   dropout between layers, on each layer's output that\n"
"                       feeds the next (dropouth)\n"
"  --dropout-output P   dropout on the last layer's output, the decoder's\n"
"                       input (awd-lstm-lm's dropout); for these three P is\n"
"                       %s (default " SETTING_UNSET ":\n"
"                       --dropout's rate); a resumed run may change them\n"
"  --tie                use the embedding as the decoder's weight; needs\n"
"                       --embed equal to --hidden (set so when --embed is\n"
"                       not given)\n"
"  --no-forget-bias     LSTM: start the forget-gate bias at 0 instead of 1\n"
"  --layer-norm[=off]   LSTM: a LayerNorm LSTM (Ba et al. 2016): the input and\n"
"                       recurrent gate sums and the cell normalised per step\n"
"                       (see the README for the equations); the default for\n"
"                       an LSTM sized for its run (--hidden not given)\n",
            model_cell_name(d->model.cell),
            MODEL_MAX_LAYERS, d->model.layers, d->model.hidden,
            d->model.embed, setting_range_of("dropout", r1, sizeof r1),
            (double)d->model.dropout, setting_range_of("dropout-input", r2, sizeof r2));
    train_help_softmax(f, d);
    train_help_embed(f);
}

static void train_help_optim(FILE *f, const train_config *d)
{
    char others[256], r1[64], r2[64], r3[64], r4[64], r5[64];
    lr_defaults_text(others, sizeof others, d->optim.kind);
    fprintf(f,
"\n"
"Optimisation:\n"
"  --seq-len T          time steps per chunk of back-propagation through\n"
"                       time, %s (default %d)\n"
"  --batch B            parallel streams through the text, %s\n"
"                       (default %d)\n"
"  --optimizer NAME     sgd, adam, adamw, nadam, rmsprop or ntasgd (default\n"
"                       %s); ntasgd: SGD until a validation is worse than\n"
"                       the best before the last --nonmono N (default 5),\n"
"                       then the weights evaluated, sampled and saved are\n"
"                       the average of the SGD steps since (awd-lstm-lm)\n"
"  --lr X               learning rate, X %s (default %g, 0.005 for a\n"
"                       model sized for its run; another\n"
"                       --optimizer brings its own default:\n"
"                       %s)\n"
"  --momentum X         momentum of sgd and rmsprop, 0 <= X < 1 (default %g)\n"
"  --weight-decay X     L2 penalty, decoupled for adamw, X >= 0 (default %g;\n"
"                       adamw %g)\n"
"  --clip X             scale gradients down to a global norm of X, X %s;\n"
"                       0: off (default %g)\n"
"  --clip-value X       clip each gradient to [-X, X]; 0: off (default %g)\n"
"  --label-smoothing E  train toward 1-E on the next token and E spread\n"
"                       over the vocabulary, E %s (default 0: off); the\n"
"                       losses printed stay plain cross-entropy, --json\n"
"                       adds \"objective\"\n",
            setting_range_of("seq-len", r1, sizeof r1), d->seq_len,
            setting_range_of("batch", r2, sizeof r2), d->batch,
            optim_name(d->optim.kind),
            setting_range_of("lr", r3, sizeof r3), (double)d->optim.lr, others,
            (double)optim_defaults(OPT_SGD).momentum,
            (double)d->optim.weight_decay,
            (double)optim_defaults(OPT_ADAMW).weight_decay,
            setting_range_of("clip", r4, sizeof r4),
            (double)d->clip_norm, (double)d->clip_value,
            setting_range_of("label-smoothing", r5, sizeof r5));
}

static void train_help_schedule(FILE *f, const train_config *d)
{
    char r[6][64];
    fprintf(f,
"\n"
"Learning-rate schedule (as PyTorch's schedulers give it: the rate of step\n"
"i, counted from 0, is the scheduler's after i calls of its step()):\n"
"  --schedule NAME      constant, step, cosine, onecycle or plateau\n"
"                       (default %s, cosine for a model sized for its\n"
"                       run; step when --lr-decay or\n"
"                       --lr-decay-every is given, plateau when\n"
"                       --plateau-factor or --plateau-patience is)\n"
"  --warmup N           raise the rate linearly first: --lr x (i+1)/N at\n"
"                       step i < N, N %s (default %d;\n"
"                       cosine: the first N steps of its run; not onecycle)\n"
"  --min-lr X           where cosine ends and plateau stops, X %s\n"
"                       (default %g)\n"
"  --lr-decay X         step: multiply the rate by X, X %s, ...\n"
"                       (default %g)\n"
"  --lr-decay-every N   ... every N steps, %s; 0: never\n"
"                       (default %d)\n"
"  --plateau-factor X   plateau: multiply the rate by X, X %s, ...\n"
"                       (default %g)\n"
"  --plateau-patience N ... once more than N validations in a row have not\n"
"                       beaten the best loss by 1e-4 of it, N %s\n"
"                       (default %d)\n"
"Schedules: step is StepLR (gamma --lr-decay, step_size --lr-decay-every);\n"
"cosine is CosineAnnealingLR (eta_min --min-lr) over the run after the\n"
"warm-up: T_max is --steps, or --epochs in steps, less the warm-up, or with\n"
"--time the fraction of the time spent; onecycle is OneCycleLR (max_lr\n"
"--lr, total_steps the run's, PyTorch's defaults: up from --lr/25 over 30%%,\n"
"then down to --lr/25e4); plateau is ReduceLROnPlateau stepped on each\n"
"validation loss (min_lr --min-lr).  Cosine and onecycle need a run length.\n"
"A resumed session goes on with its plan until that ends; --schedule plans\n"
"anew over the new run.\n",
            sched_name(d->schedule),
            setting_range_of("warmup", r[0], sizeof r[0]), d->warmup,
            setting_range_of("min-lr", r[1], sizeof r[1]), (double)d->min_lr,
            setting_range_of("lr-decay", r[2], sizeof r[2]), (double)d->lr_decay,
            setting_range_of("lr-decay-every", r[3], sizeof r[3]), d->lr_decay_every,
            setting_range_of("plateau-factor", r[4], sizeof r[4]),
            (double)d->plateau_factor,
            setting_range_of("plateau-patience", r[5], sizeof r[5]),
            d->plateau_patience);
}

static void train_help_run(FILE *f, const train_config *d)
{
    char threads[32], r1[64], r2[64], r3[64], r4[128];
    size_t n;
    if (d->threads > 0)
        snprintf(threads, sizeof threads, "%d", d->threads);
    else
        snprintf(threads, sizeof threads, "all cores");
    fprintf(f,
"\n"
"Stopping (at most one; each counts from the start of this run):\n"
"  --steps N            stop after N steps\n"
"  --epochs N           stop after N passes over the training text (may be\n"
"                       fractional)\n"
"  --time SECONDS       stop after SECONDS of wall-clock time\n"
"  --patience N         also stop once N validations in a row have not\n"
"                       improved on the run's best validation loss by more\n"
"                       than --min-delta (default 0: never)\n"
"  --min-delta X        the improvement that counts, X >= 0 (default 0)\n"
"\n"
"Run:\n"
"  --eval-every N       validate every N steps, %s;\n"
"                       0: only at the end (default %d)\n"
"  --eval-streams N     parts the validation text is cut into, 1 to 65536;\n"
"                       1 is exact, more is faster (default %d)\n"
"  --seed S             random seed, %s (default %llu)\n"
"  --threads N          threads of the CPU backend, %s (default %s)\n"
"  --device DEV         auto, cpu or cuda: where to train; auto takes the\n"
"                       GPU when one answers and says so (default auto,\n"
"                       or $RNNLAB_DEVICE)\n"
"  --precision P        fp32, tf32 or bf16: how the GPU multiplies\n"
"                       matrices (fp32 sums, fp32 weights in all three);\n"
"                       the CPU does fp32 only (default fp32)\n"
"\n"
"Session:\n"
"  --save DIR           save the session to DIR when training stops\n"
"  --save-every E       while training, also save every E of training:\n"
"                       %s\n"
"                       (0: only at the end; default %s)\n"
"  --keep-best          also keep the weights of the best validation in the\n"
"                       session (best.safetensors; sample --best and\n"
"                       eval --best use them)\n"
"  --resume DIR         continue the session in DIR, saving back to it\n"
"                       unless --save is given; only --corpus, --lr, --clip,\n"
"                       --clip-value, the schedule's options,\n"
"                       --eval-every, --eval-streams, --threads, --device,\n"
"                       --precision, --save-every, --keep-best, the\n"
"                       stopping and the output options may go with it\n"
"\n"
"Output:\n"
"  --json               one JSON object per line: step, epoch, loss, lr,\n"
"                       grad_norm, tokens_per_s, and val_loss, val_ppl,\n"
"                       val_bpc after a validation\n"
"  --quiet              print only the final validation and the save\n"
"  -h, --help           show this help and exit\n",
            setting_range_of("eval-every", r1, sizeof r1), d->eval_every,
            d->eval_streams, setting_range_of("seed", r3, sizeof r3),
            (unsigned long long)d->seed,
            setting_range_of("threads", r2, sizeof r2), threads,
            setting_range_of("save-every", r4, sizeof r4),
            setting_table(&n)[setting_find("save-every")].def);
}

static void train_help_mpi(FILE *f)
{
    fputs("\n"
"Several processes (mpirun -np N rnnlab train ..., a build with Open MPI):\n"
"  each trains a share of the --batch streams (the batch stays the whole\n"
"  one) with --threads threads; the gradients are summed over them every\n"
"  step, so the run is one process's; rank 0 prints and saves (a session\n"
"  any number of processes resumes).  SIGUSR1 to mpirun or SIGTERM to\n"
"  rank 0 stops all after the current step; a failure anywhere stops all\n"
"  with one line.  On GPUs of a build with NCCL (rnnlab --version) the\n"
"  sums go GPU to GPU; RNNLAB_NCCL=0 sends them through host memory.\n"
"  See \"Scaling out\" in the README.\n", f);
}

static void train_help_awd(FILE *f)
{
    char r1[64], r2[64], r3[64];
    fprintf(f,
"\n"
"AWD-LSTM regularisers (Merity et al. 2017; training chunks only, masks\n"
"drawn once per chunk; a resumed run may change them):\n"
"  --dropout-embed P    drop whole rows of the embedding matrix, the others\n"
"                       scaled by 1/(1-P), P %s (default 0: off)\n"
"  --locked-dropout     the dropout masks (embedding output, between layers,\n"
"                       decoder input) drawn once per stream and shared by\n"
"                       the chunk's time steps; needs a rate above 0 at one\n"
"                       of those places\n"
"                       (--locked-dropout=off on --resume undoes it)\n"
"  --weight-drop P      DropConnect on each layer's weight_hh: one mask per\n"
"                       chunk, kept weights scaled by 1/(1-P), P %s\n"
"                       (default 0: off)\n"
"  --ar A               add A * mean(y^2) of the last layer's output after\n"
"                       dropout to the objective, A %s (default 0)\n"
"  --tar B              add B * mean((h_t - h_t-1)^2) of the last layer's\n"
"                       output before dropout (default 0); the losses printed\n"
"                       stay cross-entropy, --json adds \"objective\"\n"
"  --awd                awd-lstm-lm's word-level settings (its main.py's\n"
"                       defaults, the paper's WikiText-2 run) as the starting\n"
"                       point; options given override them: --model lstm\n"
"                       --layers 3 --hidden 1150 --embed 400 --seq-len 70\n"
"                       --batch 80 --optimizer ntasgd --lr 30 --nonmono 5\n"
"                       --weight-decay 1.2e-6 --clip 0.25 --dropout 0.4\n"
"                       --dropout-input 0.65 --dropout-hidden 0.3\n"
"                       --dropout-output 0.4 --locked-dropout --dropout-embed\n"
"                       0.1 --weight-drop 0.5 --ar 2 --tar 1 --bptt-jitter\n"
"                       (use it with --tokens word; not tied: the layers\n"
"                       share one size here; for the paper's Penn Treebank\n"
"                       run add --dropout-input 0.4 --batch 40)\n"
"  --bptt-jitter        each chunk's length drawn as awd-lstm-lm does: T\n"
"                       (--seq-len), one time in 20 T/2, plus normal noise\n"
"                       of deviation 5, kept within 5 and T+20; the step's\n"
"                       learning rate scaled by length/T; needs T >= 10\n",
            setting_range_of("dropout-embed", r1, sizeof r1),
            setting_range_of("weight-drop", r2, sizeof r2),
            setting_range_of("ar", r3, sizeof r3));
}

static void train_help(FILE *f)
{
    train_config d = train_defaults();
    train_help_data_model(f, &d);
    train_help_awd(f);
    train_help_optim(f, &d);
    train_help_schedule(f, &d);
    train_help_run(f, &d);
    train_help_mpi(f);
}

/* The schedule the command line names: --schedule, else step for the
 * --lr-decay options, plateau for the --plateau- ones; -1: none. */
static int train_schedule_named(const train_args *a)
{
    if (GIVEN(a, TO_SCHEDULE))
        return (int)a->sv.train.schedule;
    if (GIVEN(a, TO_LR_DECAY) || GIVEN(a, TO_LR_DECAY_EVERY))
        return SCHED_STEP;
    if (GIVEN(a, TO_PLATEAU_FACTOR) || GIVEN(a, TO_PLATEAU_PATIENCE))
        return SCHED_PLATEAU;
    return -1;
}

/* The schedule's options, each to the schedules it applies to. */
static const struct {
    int id;
    unsigned fits;           /* 1 << sched_kind */
} sched_opts[] = {
    {TO_LR_DECAY, 1u << SCHED_STEP}, {TO_LR_DECAY_EVERY, 1u << SCHED_STEP},
    {TO_PLATEAU_FACTOR, 1u << SCHED_PLATEAU},
    {TO_PLATEAU_PATIENCE, 1u << SCHED_PLATEAU},
    {TO_MIN_LR, 1u << SCHED_COSINE | 1u << SCHED_PLATEAU},
    {TO_WARMUP, ~(1u << SCHED_ONECYCLE)},
};

/* A schedule's option given with a schedule it does not apply to. */
static int train_check_schedule(const train_args *a)
{
    int k = train_schedule_named(a);
    if (k < 0)               /* none named: the session's, or constant */
        return 0;
    for (size_t i = 0; i < sizeof sched_opts / sizeof sched_opts[0]; i++)
        if (GIVEN(a, sched_opts[i].id) && !(sched_opts[i].fits & 1u << k))
            return cli_usage_error(a->oc.cmd, "--%s does not apply to the %s "
                                   "schedule", cli_opt_name(&a->oc, sched_opts[i].id),
                                   sched_name((sched_kind)k));
    return 0;
}

static void train_apply_schedule(const train_args *a, train_config *c)
{
    const train_config *v = &a->sv.train;
    if (GIVEN(a, TO_LR_DECAY)) c->lr_decay = v->lr_decay;
    if (GIVEN(a, TO_LR_DECAY_EVERY)) c->lr_decay_every = v->lr_decay_every;
    if (GIVEN(a, TO_WARMUP)) c->warmup = v->warmup;
    if (GIVEN(a, TO_MIN_LR)) c->min_lr = v->min_lr;
    if (GIVEN(a, TO_PLATEAU_FACTOR)) c->plateau_factor = v->plateau_factor;
    if (GIVEN(a, TO_PLATEAU_PATIENCE)) c->plateau_patience = v->plateau_patience;
    if (train_schedule_named(a) >= 0)
        c->schedule = (sched_kind)train_schedule_named(a);
}

/* Cross-option checks that need no defaults. */
static int train_check_args(const train_args *a)
{
    const char *cmd = a->oc.cmd;
    size_t n = sizeof fixed_when_resuming / sizeof fixed_when_resuming[0];
    char why[160];
    if (GIVEN(a, TO_STEPS) + GIVEN(a, TO_EPOCHS) + GIVEN(a, TO_TIME) > 1)
        return cli_usage_error(cmd, "--steps, --epochs and --time exclude each "
                                "other; give one");
    if (train_check_schedule(a) != 0)
        return STATUS_USAGE;
    if (tok_opt_check(&a->tok, why, sizeof why) != 0)
        return cli_usage_error(cmd, "--%s", why);
    if ((GIVEN(a, TO_EMBED_FORMAT) || GIVEN(a, TO_EMBED_LOWER))
        && !a->sv.train.embed_init[0] && !a->resume)
        cli_warn("--embed-format and --embed-init-lower do nothing without "
                 "--embed-init");
    if ((GIVEN(a, TO_CUTOFFS) || GIVEN(a, TO_DIV_VALUE) || GIVEN(a, TO_HEAD_BIAS))
        && a->sv.train.model.softmax != SOFTMAX_ADAPTIVE && !a->resume)
        cli_warn("--cutoffs, --div-value and --head-bias do nothing without "
                 "--softmax adaptive");
    if (!a->resume)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (GIVEN(a, fixed_when_resuming[i]))
            return cli_usage_error(cmd, "--%s cannot change when resuming",
                               cli_opt_name(&a->oc, fixed_when_resuming[i]));
    return 0;
}

/* The AWD-LSTM regularisers given (a resumed session may change them). */
static void train_apply_awd(const train_args *a, train_config *c)
{
    const train_config *v = &a->sv.train;
    if (GIVEN(a, TO_DROPOUT_EMBED)) c->model.dropout_embed = v->model.dropout_embed;
    if (GIVEN(a, TO_LOCKED_DROPOUT)) c->model.locked = v->model.locked;
    if (GIVEN(a, TO_WEIGHT_DROP)) c->model.weight_drop = v->model.weight_drop;
    if (GIVEN(a, TO_AR)) c->ar = v->ar;
    if (GIVEN(a, TO_TAR)) c->tar = v->tar;
    if (GIVEN(a, TO_BPTT_JITTER)) c->bptt_jitter = v->bptt_jitter;
    if (GIVEN(a, TO_NONMONO)) c->optim.nonmono = v->optim.nonmono;
    for (int k = 0; k < MODEL_DROP_PLACES; k++)
        if (GIVEN(a, TO_DROPOUT_INPUT + k))
            c->model.drop[k] = v->model.drop[k];
}

/* A between-layers rate given for a model without such a place. */
static void train_warn_places(const train_args *a, const train_config *c)
{
    if (GIVEN(a, TO_DROPOUT_HIDDEN) && c->model.layers == 1)
        cli_warn("--dropout-hidden does nothing with one layer (there is no "
                 "place between layers)");
}

/* Settings a resumed session may take from the command line too. */
static void train_apply_run_settings(const train_args *a, train_config *c)
{
    if (GIVEN(a, TO_LR)) c->optim.lr = (float)a->lr;
    if (GIVEN(a, TO_CLIP)) c->clip_norm = (float)a->clip;
    if (GIVEN(a, TO_CLIP_VALUE)) c->clip_value = (float)a->clip_value;
    train_apply_schedule(a, c);
    if (GIVEN(a, TO_EVAL_EVERY)) c->eval_every = (int)a->eval_every;
    if (GIVEN(a, TO_LABEL_SMOOTHING))
        c->label_smoothing = a->sv.train.label_smoothing;
    train_apply_awd(a, c);
    if (GIVEN(a, TO_EVAL_STREAMS)) c->eval_streams = (int)a->eval_streams;
    if (GIVEN(a, TO_THREADS)) c->threads = (int)a->threads;
    if (GIVEN(a, TO_FREEZE_EMBED)) c->freeze_embed = a->sv.train.freeze_embed;
}

/* The output layer's options given. */
static void train_apply_softmax(const train_args *a, train_config *c)
{
    const model_config *v = &a->sv.train.model;
    if (GIVEN(a, TO_SOFTMAX)) c->model.softmax = v->softmax;
    if (GIVEN(a, TO_CUTOFFS)) c->model.cutoffs = v->cutoffs;
    if (GIVEN(a, TO_DIV_VALUE)) c->model.div_value = v->div_value;
    if (GIVEN(a, TO_HEAD_BIAS)) c->model.head_bias = v->head_bias;
}

static void train_apply_new_settings(const train_args *a, train_config *c)
{
    if (GIVEN(a, TO_OPTIMIZER) && a->optimizer != (int)c->optim.kind)
        c->optim = optim_defaults((optim_kind)a->optimizer);
    if (GIVEN(a, TO_MODEL)) c->model.cell = (model_cell)a->cell;
    if (GIVEN(a, TO_LAYERS)) c->model.layers = (int)a->layers;
    if (GIVEN(a, TO_HIDDEN)) c->model.hidden = (int)a->hidden;
    if (GIVEN(a, TO_EMBED)) c->model.embed = (int)a->embed;
    if (GIVEN(a, TO_DROPOUT)) c->model.dropout = (float)a->dropout;
    if (GIVEN(a, TO_TIE)) c->model.tie = 1;
    if (GIVEN(a, TO_TIE) && !GIVEN(a, TO_EMBED)) c->model.embed = c->model.hidden;
    if (GIVEN(a, TO_NO_FORGET_BIAS)) c->model.forget_bias = 0;
    if (GIVEN(a, TO_LAYER_NORM)) c->model.layer_norm = a->sv.train.model.layer_norm;
    train_apply_softmax(a, c);
    if (GIVEN(a, TO_SEQ_LEN)) c->seq_len = (int)a->seq_len;
    if (GIVEN(a, TO_BATCH)) c->batch = (int)a->batch;
    if (GIVEN(a, TO_MOMENTUM)) c->optim.momentum = (float)a->momentum;
    if (GIVEN(a, TO_WEIGHT_DECAY)) c->optim.weight_decay = (float)a->weight_decay;
    if (GIVEN(a, TO_VAL_FRAC)) c->val_frac = a->val_frac;
    if (GIVEN(a, TO_TEST_FRAC)) c->test_frac = a->test_frac;
    if (GIVEN(a, TO_SEED)) c->seed = a->seed;
    memcpy(c->embed_init, a->sv.train.embed_init, sizeof c->embed_init);
    c->embed_format = a->sv.train.embed_format;
    c->embed_lower = a->sv.train.embed_lower;
}

/* The configuration of a new run: defaults, then the command line. */
static int train_build_config(const train_args *a, train_config *out)
{
    const char *cmd = a->oc.cmd;
    /* the options given override the preset */
    train_config c = GIVEN(a, TO_AWD) ? train_awd_preset() : train_defaults();
    train_apply_new_settings(a, &c);
    train_apply_run_settings(a, &c);
    if (c.model.tie && c.model.embed != c.model.hidden)
        return cli_usage_error(cmd, "--tie needs --embed equal to --hidden "
                           "(they are %d and %d)", c.model.embed, c.model.hidden);
    if (c.model.layer_norm && c.model.cell != CELL_LSTM)
        return cli_usage_error(cmd, "--layer-norm is for --model lstm only (the "
                               "model is %s)", model_cell_name(c.model.cell));
    char err[256];
    if (train_config_check(&c, err, sizeof err) < 0)       /* combinations */
        return cli_usage_error(cmd, "%s", err);
    train_warn_places(a, &c);
    if (GIVEN(a, TO_MOMENTUM) && c.optim.kind != OPT_SGD
        && c.optim.kind != OPT_RMSPROP)
        return cli_usage_error(cmd, "--momentum applies only to sgd and rmsprop "
                           "(the optimizer is %s)", optim_name(c.optim.kind));
    if (c.val_frac + c.test_frac >= 1)
        return cli_usage_error(cmd, "--val-frac and --test-frac together must be "
                           "below 1 (they are %g and %g)", c.val_frac,
                           c.test_frac);
    *out = c;
    return 0;
}

static int dir_is_empty(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int empty = 1;
    if (!d)
        return 0;
    while (empty && (e = readdir(d)) != NULL)
        empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
    closedir(d);
    return empty;
}

/* A save replaces the whole directory (creating missing parents), so
 * session_save refuses one that holds something other than a session.
 * The same check runs here, before training rather than after it. */
static int check_save_dir(const char *dir)
{
    char marker[4096];
    struct stat st;
    if (lstat(dir, &st) != 0) {
        if (errno != ENOENT)
            return cli_fail("--save %s: %s", dir, strerror(errno));
        return STATUS_OK;
    }
    if (!S_ISDIR(st.st_mode))
        return cli_fail("--save %s: exists and is not a session directory", dir);
    snprintf(marker, sizeof marker, "%s/session.json", dir);
    if ((stat(marker, &st) == 0 && S_ISREG(st.st_mode)) || dir_is_empty(dir))
        return 0;
    return cli_fail("--save %s: the directory holds something other than a "
                "session; refusing to replace it", dir);
}

/* The embedding size from the vector file f: --embed must equal it, and
 * is it when not given (--tie: --hidden must be it). */
static int embed_from_file(const train_args *a, const emb_file *f, train_config *c)
{
    if (GIVEN(a, TO_EMBED) && a->embed != emb_dim(f))
        return cli_fail("--embed %ld does not match the %d values of each vector "
                        "in %s (leave --embed out to take them)", a->embed,
                        emb_dim(f), emb_name(f));
    if (c->model.tie && c->model.hidden != emb_dim(f))
        return cli_fail("--tie needs --hidden equal to the %d values of each vector "
                        "in %s (it is %d)", emb_dim(f), emb_name(f), c->model.hidden);
    c->model.embed = emb_dim(f);
    return STATUS_OK;
}

/* Puts the vectors of f into t's embedding and says how many tokens had
 * one (on standard error with --json, where standard output is JSON). */
static int embed_init(trainer *t, emb_file *f, const train_args *a)
{
    char err[1024], line[TRAIN_PATH_MAX + 256];
    emb_report rep;
    if (trainer_embed_init(t, f, &rep, err, sizeof err) != 0)
        return cli_fail("%s", err);
    trainer_embed_summary(&rep, emb_name(f), line, sizeof line);
    if (JSON_OUT(a) || a->result)
        cli_warn("%s", line);
    else if (dist_rank() == 0)
        printf("%s\n", line);
    return STATUS_OK;
}

static void catch_stop_signals(void (*handler)(int));
static void on_prep_signal(int sig);

/* A new model whose width was not given is sized for the run (train/auto.h);
 * an embedding not given follows a tied decoder's width. */
static int train_sizes_model(const train_args *a)
{
    /* a tied decoder takes the width of an embedding that is given */
    int tied_width = GIVEN(a, TO_TIE) && (GIVEN(a, TO_EMBED) || a->sv.train.embed_init[0]);
    return !a->resume && !GIVEN(a, TO_HIDDEN) && !GIVEN(a, TO_AWD) && !tied_width
           && (GIVEN(a, TO_STEPS) || GIVEN(a, TO_EPOCHS) || GIVEN(a, TO_TIME));
}

static void train_size_model(const train_args *a, const be_backend *be,
                             const corpus *corp, train_config *cfg)
{
    if (!train_sizes_model(a))
        return;
    train_budget b = {
        .steps = GIVEN(a, TO_STEPS) ? a->steps : 0,
        .epochs = GIVEN(a, TO_EPOCHS) ? a->epochs : 0,
        .seconds = GIVEN(a, TO_TIME) ? a->seconds : 0,
        .corpus_tokens = (double)(corp->train_end - corp->train_begin),
        .threads = cfg->threads,
        .gpu = strcmp(be->name, "cpu") != 0,
    };
    /* LayerNorm learns several times faster per step than the plain LSTM
     * early on, for a quarter more time per step (README "train") */
    if (cfg->model.cell == CELL_LSTM && !GIVEN(a, TO_LAYER_NORM))
        cfg->model.layer_norm = 1;
    int h = train_auto_hidden(cfg, &b);
    if (h <= 0)
        return;
    cfg->model.hidden = h;
    if (cfg->optim.kind == OPT_ADAM && !GIVEN(a, TO_LR))
        cfg->optim.lr = TRAIN_AUTO_ADAM_LR;
    /* annealed over the run: what lets a model settle on what it learned */
    if (train_schedule_named(a) < 0 && !GIVEN(a, TO_WARMUP) && !GIVEN(a, TO_MIN_LR))
        cfg->schedule = SCHED_COSINE;
    if (cfg->model.tie && !GIVEN(a, TO_EMBED))
        cfg->model.embed = h;
}

static int train_new(be_backend *be, const train_config *cfg_in,
                     const train_args *a, trainer **out)
{
    char err[1024];
    train_config cfg = *cfg_in;
    emb_file *ef = NULL;
    corpus corp;
    const char *path = a->corpus ? a->corpus : corpus_bundled();
    if (!path)
        return cli_fail("no --corpus given and the bundled corpus is missing "
                    "(looked for ./%s and %s)", CORPUS_BUNDLED_LOCAL, CORPUS_BUNDLED_INSTALLED);
    if (cfg.embed_init[0]) {
        if ((ef = trainer_embed_open(&cfg, err, sizeof err)) == NULL)
            return cli_fail("%s", err);
        if (embed_from_file(a, ef, &cfg) != STATUS_OK) {
            emb_close(ef);
            return STATUS_FAIL;
        }
    }
    cli_prep prep;
    cli_prep_init(&prep, !GIVEN(a, TO_NO_CACHE), GIVEN(a, TO_QUIET) || a->result);
    /* Ctrl-C while preparing stops it, leaving no cache file behind */
    prep.p.cancel = &stop_requested;
    catch_stop_signals(on_prep_signal);
    memset(&corp, 0, sizeof corp);
    int rc = corpus_open(&corp, path, NULL, &a->tok, cfg.val_frac, cfg.test_frac,
                         &prep.p, err, sizeof err);
    catch_stop_signals(NULL);
    if (rc != 0) {
        emb_close(ef);
        return cli_fail("%s", err);
    }
    cfg.model.vocab = (int)tok_size(corp.vocab);
    train_size_model(a, be, &corp, &cfg);
    *out = trainer_create(be, &cfg, &corp, err, sizeof err);
    corpus_free(&corp);         /* empty when the trainer took it */
    rc = *out ? STATUS_OK : cli_fail("%s", err);
    if (rc == STATUS_OK && ef && (rc = embed_init(*out, ef, a)) != STATUS_OK) {
        trainer_free(*out);
        *out = NULL;
    }
    emb_close(ef);
    return rc;
}

static int train_resume(be_backend *be, train_args *a, trainer **out)
{
    cli_prep prep;
    cli_prep_init(&prep, !GIVEN(a, TO_NO_CACHE), GIVEN(a, TO_QUIET) || a->result);
    trainer *t = cli_load_session_prep(be, a->resume, a->corpus, &a->sample, &prep.p);
    if (!t)
        return STATUS_FAIL;
    if (a->corpus)
        cli_warn_unknown_corpus(t);
    sched_kind was = t->cfg.schedule;
    train_apply_run_settings(a, &t->cfg);
    char err[256];
    if (train_config_check(&t->cfg, err, sizeof err) < 0) {
        trainer_free(t);
        return cli_usage_error(a->oc.cmd, "%s", err);
    }
    train_warn_places(a, &t->cfg);
    trainer_apply_live(t);
    if (GIVEN(a, TO_SCHEDULE) || t->cfg.schedule != was)
        trainer_sched_reset(t);      /* planned afresh over this run */
    *out = t;
    return STATUS_OK;
}

/* A schedule that runs over a length has one: the run's, or the plan it
 * goes on with.  needs: whether the run needs one (run_needs_length) for
 * schedule k. */
static int train_check_length(const train_args *a, int needs, sched_kind k)
{
    if (GIVEN(a, TO_STEPS) || GIVEN(a, TO_EPOCHS) || GIVEN(a, TO_TIME) || !needs)
        return STATUS_OK;
    return cli_usage_error(a->oc.cmd, "the %s schedule needs the run's length: "
                           "give --steps, --epochs or --time", sched_name(k));
}

/* --- the training loop: train/run.c's policy, printed --- */

typedef struct train_out {
    trainer *t;
    const train_args *a;
    const char *save;        /* where the session goes; NULL: nowhere */
    int json, quiet;
    double last_print;       /* monotonic seconds */
    long steps;              /* steps reported */
    double tokens;           /* targets trained on in this run */
    run r;
} train_out;

static void say_from_handler(const char *msg, size_t len)
{
    if (dist_rank() > 0)        /* rank 0 speaks for a data-parallel run */
        return;
    if (write(STDERR_FILENO, msg, len) < 0) {
        /* nothing to do about it in a signal handler */
    }
}

/* While training: stop after the current step. */
static void on_stop_signal(int sig)
{
    static const char msg[] =
        "\nrnnlab: stopping after this step (interrupt again to quit now)\n";
    (void)sig;
    stop_requested = 1;
    say_from_handler(msg, sizeof msg - 1);
}

/* While preparing the corpus: stop it (no cache file is left). */
static void on_prep_signal(int sig)
{
    static const char msg[] = "\nrnnlab: stopping (interrupt again to quit now)\n";
    (void)sig;
    stop_requested = 1;
    say_from_handler(msg, sizeof msg - 1);
}

/* After the last step: its validation and the save go on. */
static void on_late_signal(int sig)
{
    static const char msg[] =
        "\nrnnlab: finishing the last validation and save "
        "(interrupt again to quit now)\n";
    (void)sig;
    stop_requested = 1;
    say_from_handler(msg, sizeof msg - 1);
}

/* The adaptive softmax's shape, in one line (nothing for the full one). */
static void print_softmax(const model_config *m)
{
    adaptive_dims d;
    adaptive_config ac = model_adaptive_config(m);
    if (m->softmax != SOFTMAX_ADAPTIVE)
        return;
    adaptive_dims_of(&ac, &d);
    printf("adaptive softmax: head %d (shortlist %d + %d clusters)", d.head, d.cut[0], d.K);
    for (int i = 0; i < d.K; i++)
        printf("%s %d tokens via %d", i ? "," : ";", d.size[i], d.proj[i]);
    printf("%s\n", m->head_bias ? "; head bias" : "");
}

/* The AWD-LSTM regularisers that are on, in one line. */
static void print_awd(const train_config *c)
{
    const model_config *m = &c->model;
    if (!m->locked && !(m->dropout_embed > 0) && !(m->weight_drop > 0) && !(c->ar > 0)
        && !(c->tar > 0) && !c->bptt_jitter)
        return;
    printf("regularisers:%s", m->locked ? " locked dropout" : "");
    if (m->dropout_embed > 0)
        printf(" dropout-embed %g", (double)m->dropout_embed);
    if (m->weight_drop > 0)
        printf(" weight-drop %g", (double)m->weight_drop);
    if (c->ar > 0 || c->tar > 0)
        printf(" ar %g tar %g", (double)c->ar, (double)c->tar);
    printf("%s\n", c->bptt_jitter ? " bptt-jitter" : "");
}

/* Installs handler for SIGINT and SIGTERM (NULL: the default action).
 * SA_RESETHAND: the first signal asks for a clean stop, a second one gets
 * the default action. */
static void catch_stop_signals(void (*handler)(int))
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sigemptyset(&sa.sa_mask);
    sa.sa_handler = handler ? handler : SIG_DFL;
    sa.sa_flags = handler ? SA_RESETHAND | SA_RESTART : 0;
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    if (dist_size() > 1)        /* mpirun forwards it to every process */
        sigaction(SIGUSR1, &sa, NULL);
}

static void print_header(const trainer *t, int sized)
{
    const train_config *c = &t->cfg;
    char n1[32], n2[32], n3[32], n4[32], drops[96];
    size_t tb, te, vb, ve, sb, se;
    corpus_range(&t->corp, SPLIT_TRAIN, &tb, &te);
    corpus_range(&t->corp, SPLIT_VAL, &vb, &ve);
    corpus_range(&t->corp, SPLIT_TEST, &sb, &se);
    printf("corpus %s: %s %s tokens, vocabulary %u (train %s, val %s",
           t->corp.path ? t->corp.path : "?", cli_grouped(n1, (double)t->corp.n),
           tok_kind_name(t->corp.vocab),
           (unsigned)tok_size(t->corp.vocab), cli_grouped(n2, (double)(te - tb)),
           cli_grouped(n3, (double)(ve - vb)));
    if (se > sb)
        printf(", test %s", cli_grouped(n4, (double)(se - sb)));
    model_drop_desc(&c->model, drops, sizeof drops);
    printf(")\nmodel %s%s %dx%d, embed %d%s, %s%s: %s parameters%s\n",
           model_cell_name(c->model.cell), c->model.layer_norm ? " (layer norm)" : "",
           c->model.layers, c->model.hidden,
           c->model.embed, c->freeze_embed ? " (frozen)" : "", drops,
           c->model.tie ? ", tied" : "",
           cli_grouped(n1, (double)model_param_count(t->m)),
           sized ? " (sized for this run; --hidden sets it)" : "");
    print_softmax(&c->model);
    printf("optimizer %s, lr %.1e, batch %d x %d, clip %g\n",
           optim_name(c->optim.kind), (double)c->optim.lr, c->batch,
           c->seq_len, (double)c->clip_norm);
    print_awd(c);
}

/* The schedule, when it is more than a constant rate. */
static void print_schedule(const trainer *t)
{
    const train_config *c = &t->cfg;
    const sched_plan *p = &t->sched.plan;
    if (c->schedule == SCHED_CONSTANT && c->warmup == 0)
        return;
    printf("schedule %s", sched_name(c->schedule));
    if (c->warmup > 0 && c->schedule != SCHED_ONECYCLE)
        printf(", warm-up %d steps", c->warmup);
    if (c->schedule == SCHED_STEP && c->lr_decay_every > 0)
        printf(", x%g every %d steps", (double)c->lr_decay, c->lr_decay_every);
    if (c->schedule == SCHED_PLATEAU)
        printf(", x%g after %d validations without a better loss",
               (double)c->plateau_factor, c->plateau_patience + 1);
    if (sched_needs_plan(c->schedule) && p->unit == SCHED_PLAN_STEPS)
        printf(", over steps %ld to %.0f", p->start + 1, (double)p->start + p->length);
    if (sched_needs_plan(c->schedule) && p->unit == SCHED_PLAN_SECONDS)
        printf(", over %.0f s of training (%.0f s done)", p->length, p->done);
    if (c->schedule == SCHED_COSINE || c->schedule == SCHED_PLATEAU)
        printf(", down to %g", (double)c->min_lr);
    printf("\n");
}

static void print_plan(const train_out *o)
{
    const train_args *a = o->a;
    if (a->resume)
        printf("resumed %s at step %ld\n", a->resume, o->t->step);
    if (GIVEN(a, TO_STEPS))
        printf("training for %ld step%s", a->steps, a->steps == 1 ? "" : "s");
    else if (GIVEN(a, TO_EPOCHS))
        printf("training for %g epochs", a->epochs);
    else if (GIVEN(a, TO_TIME))
        printf("training for %g s", a->seconds);
    else
        printf("training until interrupted (Ctrl-C)");
    if (o->save)
        printf("; the session is saved to %s at the end", o->save);
    printf("\n");
    print_schedule(o->t);
    fflush(stdout);
}

/* bpc: bits per token (character); bpb: bits per byte of the text */
static void print_step_line(const train_out *o, const train_info *in)
{
    char tok[32];
    double bpb = corpus_bits_per_byte(&o->t->corp, SPLIT_TRAIN, in->loss);
    printf("step %ld  epoch %.2f  loss %.4f  ppl %.2f  bpc %.3f  bpb %.3f  acc %.2f  "
           "|g| %.2f  lr %.1e  %s tok/s\n",
           in->step, in->epoch, (double)in->loss, (double)in->ppl,
           (double)in->bpt, bpb, (double)in->acc, (double)in->grad_norm,
           (double)in->lr, cli_grouped(tok, in->tokens_per_s));
    fflush(stdout);
}

static void print_val_line(const train_out *o, const eval_result *ev)
{
    printf("val loss %.4f  ppl %.2f  bpc %.3f  bpb %.3f\n", ev->loss, ev->ppl, ev->bpt,
           corpus_bits_per_byte(&o->t->corp, SPLIT_VAL, ev->loss));
    fflush(stdout);
}

static int print_json_step(const train_out *t, const train_info *in,
                           const eval_result *ev)
{
    cJSON *o = cJSON_CreateObject();
    if (!o)
        return cli_fail("out of memory");
    cJSON_AddNumberToObject(o, "step", (double)in->step);
    cJSON_AddNumberToObject(o, "epoch", cli_tidy(in->epoch));
    cJSON_AddNumberToObject(o, "loss", cli_tidy(in->loss));
    cJSON_AddNumberToObject(o, "lr", num_float_shortest(in->lr));
    cJSON_AddNumberToObject(o, "grad_norm", cli_tidy(in->grad_norm));
    cJSON_AddNumberToObject(o, "tokens_per_s", cli_tidy(round(in->tokens_per_s)));
    if (in->objective != in->loss)      /* label smoothing: what was trained on */
        cJSON_AddNumberToObject(o, "objective", cli_tidy(in->objective));
    if (in->averaging)                  /* ntasgd has switched */
        cJSON_AddTrueToObject(o, "averaging");
    if (in->reduce_s > 0)               /* several processes: the all-reduce */
        cJSON_AddNumberToObject(o, "allreduce_s", cli_tidy(in->reduce_s));
    if (ev) {
        cJSON_AddNumberToObject(o, "val_loss", cli_tidy(ev->loss));
        cJSON_AddNumberToObject(o, "val_ppl", cli_tidy(ev->ppl));
        cJSON_AddNumberToObject(o, "val_bpc", cli_tidy(ev->bpt));
        cJSON_AddNumberToObject(o, "val_bpb", cli_tidy(corpus_bits_per_byte(
                                    &t->t->corp, SPLIT_VAL, ev->loss)));
    }
    return cli_print_json(o);
}

/* The run's hooks.  A failure was already printed, so err stays empty. */

/* From the last step on, a first signal no longer stops anything: the
 * validation and the save finish. */
static void on_ending(void *ctx, const char *why)
{
    (void)ctx;
    (void)why;
    if (!stop_requested)
        catch_stop_signals(on_late_signal);
}

/* Prints the step: every step with --json, about once a second otherwise,
 * and always the first, the validated and the last. */
static int on_step(void *ctx, const train_info *in, const eval_result *val,
                   int last, char *err, size_t len)
{
    train_out *o = ctx;
    double now;
    (void)err;
    (void)len;
    o->steps++;
    o->tokens += (double)in->tokens;
    if (cli_output_gone())
        stop_requested = 1;     /* stdout's reader has gone: stop, as on Ctrl-C */
    if (o->quiet)
        return 0;
    if (o->json)
        return print_json_step(o, in, val) == STATUS_OK ? 0 : -1;
    now = clock_now();
    if (val || last || o->steps == 1 || now - o->last_print >= 1.0) {
        print_step_line(o, in);
        o->last_print = now;
    }
    if (val)
        print_val_line(o, val);
    return 0;
}

/* What a run for another command measured: its last validation (val,
 * NULL: none), its speed and a copy of the loss history.  Returns 0, or -1
 * with err set when out of memory. */
static int fill_result(const train_out *o, const eval_result *val, char *err,
                       size_t len)
{
    cli_train_result *r = o->a->result;
    const trainer *t = o->t;
    r->val_loss = r->val_bpt = r->val_bpb = NAN;
    if (val) {
        r->val_loss = val->loss;
        r->val_bpt = val->bpt;
        r->val_bpb = corpus_bits_per_byte(&t->corp, SPLIT_VAL, val->loss);
    }
    r->seconds = run_seconds(&o->r);
    r->tokens_per_s = r->seconds > 0 ? o->tokens / r->seconds : 0;
    r->steps = o->steps;
    r->params = (long)model_param_count(t->m);
    r->tokens = tok_kind_name(t->corp.vocab);
    snprintf(r->why, sizeof r->why, "%s", run_why(&o->r) ? run_why(&o->r) : "");
    r->interrupted = stop_requested != 0;
    r->hist = malloc((t->n_hist ? t->n_hist : 1) * sizeof *r->hist);
    if (!r->hist) {
        snprintf(err, len, "out of memory for the loss history");
        return -1;
    }
    if (t->n_hist)
        memcpy(r->hist, t->hist, t->n_hist * sizeof *t->hist);
    r->n_hist = t->n_hist;
    return 0;
}

/* The summary; with --quiet the last step (and its validation) too. */
static int on_end(void *ctx, const eval_result *val, int fresh, char *err,
                  size_t len)
{
    train_out *o = ctx;
    int human = !o->json && !o->quiet;
    if (o->a->result)
        return fill_result(o, val, err, len);
    (void)err;
    (void)len;
    if (human)
        printf("stopped at step %ld (%s) after %.1f s\n", o->t->step,
               run_why(&o->r), run_seconds(&o->r));
    if (o->json && (fresh || o->quiet)
        && print_json_step(o, &o->r.last, val) != STATUS_OK)
        return -1;
    if (!o->json && val && (fresh || o->quiet))
        print_val_line(o, val);
    if (!o->save && human)
        printf("not saved (give --save DIR to keep the model)\n");
    return 0;
}

/* The save at the end, and the periodic ones (quiet but for --json's
 * line, so a long run's output stays its steps). */
static int on_save(void *ctx, char *err, size_t len)
{
    train_out *o = ctx;
    int final = run_why(&o->r) != NULL;
    if (cli_dist_save(o->t, &o->a->sample, o->save, err, len) != 0)
        return -1;
    if (final && !o->json && !o->a->result)
        printf("saved session to %s\n", o->save);
    return 0;
}

static void on_warn(void *ctx, const char *msg)
{
    (void)ctx;
    cli_warn("%s", msg);
}

static void train_out_init(train_out *o, trainer *t, const train_args *a,
                           const char *save)
{
    run_goal goal = {0};
    run_hooks hooks = {.ctx = o, .ending = on_ending, .step = on_step,
                       .end = on_end, .save = save ? on_save : NULL,
                       .warn = on_warn};
    memset(o, 0, sizeof *o);
    o->t = t;
    o->a = a;
    o->save = save;
    o->json = JSON_OUT(a);
    o->quiet = GIVEN(a, TO_QUIET) || a->result;
    o->last_print = -1e30;
    if (GIVEN(a, TO_STEPS))
        goal.steps = a->steps;
    if (GIVEN(a, TO_EPOCHS))
        goal.epochs = a->epochs;
    if (GIVEN(a, TO_TIME))
        goal.seconds = a->seconds;
    goal.patience = (int)a->patience;
    goal.keep_best = GIVEN(a, TO_KEEP_BEST);
    goal.min_delta = a->min_delta;
    if (save)       /* --save-every, else the setting's default */
        goal.save_every = (run_cadence){a->sv.save_every.steps,
                                        a->sv.save_every.seconds};
    run_begin(&o->r, t, &goal, NULL, &hooks, &stop_requested);
}

/* Trains until the run ends, then finishes it.  Messages from the hooks
 * are printed already; others (a failed step, a failed save) here. */
static int train_loop(train_out *o)
{
    char err[512] = "";
    int rc;
    while ((rc = run_step(&o->r, err, sizeof err)) > 0)
        ;
    if (rc == 0)
        rc = run_end(&o->r, err, sizeof err);
    if (rc == 0)
        return STATUS_OK;
    if (!err[0])        /* a report failed here alone: the others wait */
        cli_dist_abandon(STATUS_FAIL);
    return err[0] ? cli_fail("%s", err) : STATUS_FAIL;
}

static int train_session(trainer *t, train_args *a, const char *save)
{
    train_out o;
    int rc;
    cli_say_device(&a->dev);
    if (t->cfg.threads > 0)
        t->be->set_threads(t->be, t->cfg.threads);
    stop_requested = 0;
    train_out_init(&o, t, a, save);
    if (!o.json && !o.quiet) {
        print_header(t, train_sizes_model(a));
        print_plan(&o);
    }
    catch_stop_signals(on_stop_signal);
    rc = train_loop(&o);
    catch_stop_signals(NULL);
    return rc;
}

static int train_parse(train_args *a, int argc, char **argv)
{
    int n_pos, rc;
    memset(a, 0, sizeof *a);
    a->sample = sample_defaults();
    setting_defaults(&a->sv);
    a->tok = tok_options_default();
    a->oc.cmd = "train";
    a->oc.opts = train_opts;
    rc = cli_parse_command(&a->oc, argc, argv, train_set, a, NULL, 0, &n_pos);
    return rc != 0 ? rc : train_check_args(a);
}

/* The options of refused (NULL-terminated names) may not be given. */
static int train_refuse(const train_args *a, const char *const *refused)
{
    for (; refused && *refused; refused++)
        for (const struct option *o = train_opts; o->name; o++)
            if (o->val >= TO_FIRST && strcmp(o->name, *refused) == 0 && GIVEN(a, o->val))
                return cli_usage_error(a->oc.cmd, "--%s cannot be given here", o->name);
    return 0;
}

/* Parses argv, refusing the options named in refused, and builds the
 * configuration of a new run into *cfg (of a session resumed: nothing);
 * save, when not NULL, is where the session goes in place of --save.
 * Returns 0, CLI_PARSE_HELP, or STATUS_USAGE / STATUS_FAIL after a
 * message. */
static int train_prepare(train_args *a, int argc, char **argv, const char *save,
                         const char *const *refused, train_config *cfg)
{
    int rc = train_parse(a, argc, argv);
    if (rc == 0)
        rc = train_refuse(a, refused);
    if (rc == 0 && save)
        a->save = save;
    if (rc == 0 && !a->resume)
        rc = train_build_config(a, cfg);
    if (rc == 0 && a->save)
        rc = check_save_dir(a->save);
    return rc;
}

/* `rnnlab train` with argv, for the shell (result NULL) or for another
 * command (see cli_train_measure). */
static int train_run(int argc, char **argv, const char *save,
                     cli_train_result *result)
{
    train_args a;
    train_config cfg;
    trainer *t = NULL;
    be_backend *be = NULL;
    /* under mpirun every process runs all of this, and agrees on the
     * setup (cli_dist_start) before training */
    int rc = cli_dist_begin();
    if (rc == STATUS_OK)
        rc = train_prepare(&a, argc, argv, save, NULL, &cfg);
    a.result = result;
    if (rc == CLI_PARSE_HELP)
        train_help(stdout);
    if (rc == 0 && (be = cli_open_backend(&a.dev, !QUIET(&a))) == NULL)
        rc = STATUS_FAIL;
    if (rc == 0)
        rc = a.resume ? train_resume(be, &a, &t) : train_new(be, &cfg, &a, &t);
    if (rc != CLI_PARSE_HELP)
        rc = cli_dist_start(t, rc);
    if (rc == STATUS_OK)
        rc = train_check_length(&a, run_needs_length(t), t->cfg.schedule);
    if (rc == STATUS_OK)
        rc = train_session(t, &a, a.save ? a.save : a.resume);
    if (t)
        trainer_free(t);
    if (be)
        be->destroy(be);
    cli_dist_end();
    return rc == CLI_PARSE_HELP ? STATUS_OK : rc;
}

int cli_train(int argc, char **argv)
{
    return train_run(argc, argv, NULL, NULL);
}

int cli_train_option_arg(const char *name)
{
    for (const struct option *o = train_opts; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o->has_arg == required_argument;
    return -1;
}

int cli_train_check(int argc, char **argv, const char *save,
                    const char *const *refused)
{
    train_args a;
    train_config cfg;
    int rc = train_prepare(&a, argc, argv, save, refused, &cfg);
    if (rc == 0 && a.resume)
        rc = cli_usage_error(a.oc.cmd, "--resume cannot be given here");
    if (rc == 0)        /* a new run has no plan to go on with */
        rc = train_check_length(&a, sched_needs_plan(cfg.schedule), cfg.schedule);
    return rc == CLI_PARSE_HELP
        ? cli_usage_error(a.oc.cmd, "--help cannot be given here") : rc;
}

int cli_train_measure(int argc, char **argv, const char *save,
                      cli_train_result *result)
{
    memset(result, 0, sizeof *result);
    return train_run(argc, argv, save, result);
}
