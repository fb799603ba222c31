/* settings.c - the settings table and the parsing, checking and printing
 * of values. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "train/optim.h"
#include "decode/sample.h"
#include "text/emb_file.h"
#include "engine/settings.h"

/* The devices `set device` offers: CUDA only in builds that have it. */
#ifdef HAVE_CUDA
#define SETTINGS_DEVICES "cpu cuda"
#else
#define SETTINGS_DEVICES "cpu"
#endif

#define AT(f) offsetof(setting_values, f)

/* A new optimizer comes with its own defaults (lr, momentum, ...). */
static void optimizer_defaults(setting_values *v)
{
    v->train.optim = optim_defaults(v->train.optim.kind);
}

/* A dropout place's own rate; unset, it takes dropout's. */
#define DROP_PLACE_ROW(place, row, where)                                     \
    {.name = row, .type = SETTING_RATE, .field = AT(train.model.drop[place]), \
     .lo = 0, .hi = 1, .open = SETTING_HI_OPEN, .def = SETTING_UNSET,         \
     .effect = SETTING_LIVE,                                                  \
     .summary = "dropout probability at " where "; " SETTING_UNSET ": "       \
                "dropout's", .option = "train --" row}

static const setting table[] = {
    {.name = "lr", .type = SETTING_FLOAT, .field = AT(train.optim.lr),
     .lo = 0, .hi = INFINITY, .open = SETTING_LO_OPEN, .def = "0.002",
     .effect = SETTING_LIVE, .summary = "learning rate",
     .option = "train --lr"},
    {.name = "optimizer", .type = SETTING_CHOICE, .field = AT(train.optim.kind),
     .choices = "sgd adam adamw nadam rmsprop ntasgd", .def = "adam",
     .effect = SETTING_OPTIM, .then = optimizer_defaults,
     .summary = "optimizer (restarts its state and takes its default lr)",
     .option = "train --optimizer"},
    {.name = "batch", .type = SETTING_INT, .field = AT(train.batch),
     .lo = 1, .hi = 100000, .def = "32", .effect = SETTING_RESET,
     .summary = "parallel streams through the text",
     .option = "train --batch"},
    {.name = "seq-len", .type = SETTING_INT, .field = AT(train.seq_len),
     .lo = 1, .hi = 100000, .def = "100", .effect = SETTING_RESET,
     .summary = "time steps of back-propagation through time",
     .option = "train --seq-len"},
    {.name = "clip", .type = SETTING_FLOAT, .field = AT(train.clip_norm),
     .lo = 0, .hi = INFINITY, .def = "5", .effect = SETTING_LIVE,
     .summary = "global gradient-norm clipping (0: off)",
     .option = "train --clip"},
    {.name = "dropout", .type = SETTING_FLOAT, .field = AT(train.model.dropout),
     .lo = 0, .hi = 1, .open = SETTING_HI_OPEN, .def = "0.1",
     .effect = SETTING_LIVE, .summary = "dropout probability",
     .option = "train --dropout"},
    DROP_PLACE_ROW(MODEL_DROP_INPUT, "dropout-input", "the embedding output, "
                   "layer 0's input (awd-lstm-lm's dropouti)"),
    DROP_PLACE_ROW(MODEL_DROP_HIDDEN, "dropout-hidden", "between layers, each "
                   "layer's output feeding the next (dropouth)"),
    DROP_PLACE_ROW(MODEL_DROP_OUTPUT, "dropout-output", "the last layer's "
                   "output, the decoder's input (awd-lstm-lm's dropout)"),
    {.name = "layer-norm", .type = SETTING_CHOICE, .field = AT(train.model.layer_norm),
     .choices = "off on", .def = "off", .effect = SETTING_RESET,
     .summary = "LSTM only: layer normalisation of the input and recurrent "
                "gate sums and of the cell (Ba et al. 2016); on the command "
                "line the flag train --layer-norm"},
    {.name = "dropout-embed", .type = SETTING_FLOAT,
     .field = AT(train.model.dropout_embed), .lo = 0, .hi = 1, .open = SETTING_HI_OPEN,
     .def = "0", .effect = SETTING_LIVE,
     .summary = "AWD: drop whole rows of the embedding per chunk, the rest "
                "scaled by 1/(1-p) (0: off)",
     .option = "train --dropout-embed"},
    {.name = "locked-dropout", .type = SETTING_CHOICE, .field = AT(train.model.locked),
     .choices = "off on", .def = "off", .effect = SETTING_LIVE,
     .summary = "AWD: dropout's masks drawn once per stream per chunk and "
                "shared by its time steps (variational; needs dropout > 0)",
     .option = "train --locked-dropout"},
    {.name = "weight-drop", .type = SETTING_FLOAT,
     .field = AT(train.model.weight_drop), .lo = 0, .hi = 1, .open = SETTING_HI_OPEN,
     .def = "0", .effect = SETTING_LIVE,
     .summary = "AWD: DropConnect on each layer's recurrent weights, one "
                "mask per chunk (0: off)",
     .option = "train --weight-drop"},
    {.name = "ar", .type = SETTING_FLOAT, .field = AT(train.ar),
     .lo = 0, .hi = INFINITY, .def = "0", .effect = SETTING_LIVE,
     .summary = "AWD: add ar * mean(y^2) of the last layer's dropped output "
                "to the objective (0: off)",
     .option = "train --ar"},
    {.name = "tar", .type = SETTING_FLOAT, .field = AT(train.tar),
     .lo = 0, .hi = INFINITY, .def = "0", .effect = SETTING_LIVE,
     .summary = "AWD: add tar * mean((h_t - h_t-1)^2) of the last layer's "
                "output to the objective (0: off)",
     .option = "train --tar"},
    {.name = "bptt-jitter", .type = SETTING_CHOICE, .field = AT(train.bptt_jitter),
     .choices = "off on", .def = "off", .effect = SETTING_LIVE,
     .summary = "AWD: each chunk's length drawn around seq-len (T, or T/2 "
                "one time in 20, plus normal noise of 5; 5 to T+20), the "
                "rate scaled by length/T (needs seq-len >= 10)",
     .option = "train --bptt-jitter"},
    {.name = "nonmono", .type = SETTING_INT, .field = AT(train.optim.nonmono),
     .lo = 1, .hi = OPTIM_MAX_NONMONO, .def = "5", .effect = SETTING_LIVE,
     .summary = "ntasgd: switch to averaging the weights when a validation "
                "is worse than the best before the last N",
     .option = "train --nonmono"},
    {.name = "label-smoothing", .type = SETTING_FLOAT,
     .field = AT(train.label_smoothing), .lo = 0, .hi = 1, .open = SETTING_HI_OPEN,
     .def = "0", .effect = SETTING_LIVE,
     .summary = "train toward 1-e on the next token and e spread over all "
                "(0: off; losses shown stay plain cross-entropy)",
     .option = "train --label-smoothing"},
    {.name = "seed", .type = SETTING_U64, .field = AT(train.seed),
     .def = "1337", .effect = SETTING_RESET,
     .summary = "random seed of the initialisation and dropout",
     .option = "train --seed"},
    {.name = "schedule", .type = SETTING_CHOICE, .field = AT(train.schedule),
     .choices = SCHED_NAMES, .def = "constant", .effect = SETTING_LIVE,
     .summary = "learning-rate schedule (setting it plans it afresh over "
                "what is left of the run)",
     .option = "train --schedule"},
    {.name = "warmup", .type = SETTING_INT, .field = AT(train.warmup),
     .lo = 0, .hi = 1e9, .def = "0", .effect = SETTING_LIVE,
     .summary = "steps of linear warm-up (not onecycle)",
     .option = "train --warmup"},
    {.name = "min-lr", .type = SETTING_FLOAT, .field = AT(train.min_lr),
     .lo = 0, .hi = INFINITY, .def = "0", .effect = SETTING_LIVE,
     .summary = "the rate cosine ends at and plateau stops at",
     .option = "train --min-lr"},
    {.name = "lr-decay", .type = SETTING_FLOAT, .field = AT(train.lr_decay),
     .lo = 0, .hi = 1, .open = SETTING_LO_OPEN, .def = "1",
     .effect = SETTING_LIVE,
     .summary = "step schedule: multiply the rate by this every lr-decay-every "
                "steps", .option = "train --lr-decay"},
    {.name = "lr-decay-every", .type = SETTING_INT, .field = AT(train.lr_decay_every),
     .lo = 0, .hi = 1e9, .def = "0", .effect = SETTING_LIVE,
     .summary = "step schedule: steps between decays (0: never)",
     .option = "train --lr-decay-every"},
    {.name = "plateau-factor", .type = SETTING_FLOAT,
     .field = AT(train.plateau_factor), .lo = 0, .hi = 1,
     .open = SETTING_LO_OPEN | SETTING_HI_OPEN, .def = "0.1",
     .effect = SETTING_LIVE,
     .summary = "plateau schedule: multiply the rate by this when the "
                "validation loss stalls", .option = "train --plateau-factor"},
    {.name = "plateau-patience", .type = SETTING_INT,
     .field = AT(train.plateau_patience), .lo = 0, .hi = 1e9, .def = "10",
     .effect = SETTING_LIVE,
     .summary = "plateau schedule: validations without improvement before "
                "it reduces the rate", .option = "train --plateau-patience"},
    {.name = "temperature", .type = SETTING_FLOAT,
     .field = AT(sample.temperature), .lo = 0, .hi = 100, .def = "1",
     .effect = SETTING_LIVE,
     .summary = "sampling temperature (0: always the likeliest token)",
     .option = "sample --temperature"},
    {.name = "top-k", .type = SETTING_INT, .field = AT(sample.top_k),
     .lo = 0, .hi = 1000000, .def = "0", .effect = SETTING_LIVE,
     .summary = "sample from the k likeliest tokens (0: off)",
     .option = "sample --top-k"},
    {.name = "top-p", .type = SETTING_FLOAT, .field = AT(sample.top_p),
     .lo = 0, .hi = 1, .open = SETTING_LO_OPEN, .def = "1",
     .effect = SETTING_LIVE,
     .summary = "sample from the smallest set with probability p (1: off)",
     .option = "sample --top-p"},
    {.name = "beam", .type = SETTING_INT, .field = AT(sample.beam),
     .lo = 1, .hi = SAMPLE_MAX_BEAM, .def = "1", .effect = SETTING_LIVE,
     .summary = "beam width (1: off)", .option = "sample --beam"},
    {.name = "repetition-penalty", .type = SETTING_FLOAT,
     .field = AT(sample.repetition_penalty), .lo = 0, .hi = 100,
     .open = SETTING_LO_OPEN, .def = "1", .effect = SETTING_LIVE,
     .summary = "divide the logits of recently seen tokens by this (1: off)",
     .option = "sample --repetition-penalty"},
    {.name = "weights", .type = SETTING_CHOICE, .field = AT(sample.weights),
     .choices = "fp32 fp16 int8", .def = "fp32", .effect = SETTING_LIVE,
     .summary = "how sampling holds the weights (fp16, int8: faster, "
                "slightly approximate)",
     .option = "sample --weights"},
    {.name = "sample-every", .type = SETTING_CADENCE,
     .field = AT(sample.every), .lo = 1, .hi = 1e9, .def = "15s",
     .effect = SETTING_LIVE,
     .summary = "a sample while training every N steps or every Ns (Nm, "
                "Nh) of training (0: off)"},
    {.name = "sample-length", .type = SETTING_INT, .field = AT(sample.length),
     .lo = 1, .hi = 1e8, .def = "200", .effect = SETTING_LIVE,
     .summary = "tokens per sample", .option = "sample --length"},
    {.name = "eval-every", .type = SETTING_INT, .field = AT(train.eval_every),
     .lo = 0, .hi = 1e9, .def = "500", .effect = SETTING_LIVE,
     .summary = "steps between validations (0: off)",
     .option = "train --eval-every"},
    {.name = "threads", .type = SETTING_INT, .field = AT(train.threads),
     .lo = 1, .hi = 256, .def = "2", .effect = SETTING_LIVE,
     .summary = "threads of the CPU backend's worker team",
     .option = "train --threads"},
    {.name = "save-every", .type = SETTING_CADENCE, .field = AT(save_every),
     .lo = 1, .hi = 1e9, .def = "10m", .effect = SETTING_LIVE,
     .summary = "while training, save the session every N steps or every Ns "
                "(Nm, Nh) of training (in the engine: after save; 0: off)",
     .option = "train --save-every"},
    {.name = "softmax", .type = SETTING_CHOICE, .field = AT(train.model.softmax),
     .choices = "full adaptive", .def = "full", .effect = SETTING_RESET,
     .summary = "the output layer: a softmax over every token, or the adaptive "
                "softmax of PyTorch's AdaptiveLogSoftmaxWithLoss (needs cutoffs; "
                "ids by frequency, as word's)",
     .option = "train --softmax"},
    {.name = "cutoffs", .type = SETTING_CUTOFFS, .field = AT(train.model.cutoffs),
     .lo = 1, .hi = (1 << 24) - 1, .def = "none", .effect = SETTING_RESET,
     .summary = "adaptive softmax: token ids where its clusters start; the "
                "head predicts the ids below the first, each below the vocabulary",
     .option = "train --cutoffs"},
    {.name = "div-value", .type = SETTING_FLOAT, .field = AT(train.model.div_value),
     .lo = 0, .hi = INFINITY, .open = SETTING_LO_OPEN, .def = "4",
     .effect = SETTING_RESET,
     .summary = "adaptive softmax: cluster i's projection has hidden / "
                "div-value^(i+1) units (rounded down)",
     .option = "train --div-value"},
    {.name = "head-bias", .type = SETTING_CHOICE, .field = AT(train.model.head_bias),
     .choices = "off on", .def = "off", .effect = SETTING_RESET,
     .summary = "adaptive softmax: its head has a bias (decoder.head.bias)",
     .option = "train --head-bias"},
    {.name = "embed-init", .type = SETTING_PATH, .field = AT(train.embed_init),
     .def = "none", .effect = SETTING_RESET,
     .summary = "a new model's embedding from a word2vec (.bin), word2vec / "
                "fastText text (.vec) or GloVe file (none: random)",
     .option = "train --embed-init"},
    {.name = "embed-format", .type = SETTING_CHOICE, .field = AT(train.embed_format),
     .choices = EMB_FORMAT_NAMES, .def = "auto", .effect = SETTING_RESET,
     .summary = "embed-init's format (auto: a \"COUNT DIM\" header, then text "
                "or float32 values; no header: GloVe)",
     .option = "train --embed-format"},
    {.name = "embed-init-lower", .type = SETTING_CHOICE,
     .field = AT(train.embed_lower), .choices = "off on", .def = "off",
     .effect = SETTING_RESET,
     .summary = "embed-init: a token without an exact match takes the first "
                "word equal to it once both are lowercased as lowercase does",
     .option = "train --embed-init-lower"},
    {.name = "freeze-embed", .type = SETTING_CHOICE, .field = AT(train.freeze_embed),
     .choices = "off on", .def = "off", .effect = SETTING_LIVE,
     .summary = "encoder.weight takes no updates (no gradient, optimizer "
                "state or weight decay; tied: the decoder's too)",
     .option = "train --freeze-embed"},
    {.name = "device", .type = SETTING_WORD, .field = AT(device),
     .choices = SETTINGS_DEVICES, .def = "cpu", .effect = SETTING_MOVE,
     .summary = "where the model runs (weights and optimizer state move "
                "along)"},
};

#define N_SETTINGS (sizeof table / sizeof table[0])

const setting *setting_table(size_t *n)
{
    *n = N_SETTINGS;
    return table;
}

int setting_find(const char *name)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (strcmp(table[i].name, name) == 0)
            return (int)i;
    return -1;
}

/* The field of row s in v. */
static void *field(const setting *s, const setting_values *v)
{
    return (char *)v + s->field;
}

/* Word i of a space-separated list into buf ("" past the end). */
static void choice_word(const char *list, int i, char *buf, size_t len)
{
    const char *p = list;
    size_t l = strcspn(p, " ");
    for (; i > 0 && p[l]; i--) {
        p += l + 1;
        l = strcspn(p, " ");
    }
    snprintf(buf, len, "%.*s", i == 0 ? (int)l : 0, p);
}

/* Index of word in the space-separated list, or -1. */
static int choice_index(const char *list, const char *word)
{
    size_t n = strlen(word);
    int i = 0;
    for (const char *p = list; *p; i++) {
        size_t l = strcspn(p, " ");
        if (l == n && n > 0 && strncmp(p, word, n) == 0)
            return i;
        p += l;
        p += *p == ' ';
    }
    return -1;
}

/* A number row's range: "> 0", "0 to 100", ">= 0 and < 1". */
static void number_range(const setting *s, char *buf, size_t len)
{
    char lo[32], hi[32];
    snprintf(lo, sizeof lo, "%.15g", s->lo);
    snprintf(hi, sizeof hi, "%.15g", s->hi);
    if (isinf(s->hi))
        snprintf(buf, len, "%s %s", s->open & SETTING_LO_OPEN ? ">" : ">=", lo);
    else if (!s->open)
        snprintf(buf, len, "%s to %s", lo, hi);
    else
        snprintf(buf, len, "%s %s and %s %s",
                 s->open & SETTING_LO_OPEN ? ">" : ">=", lo,
                 s->open & SETTING_HI_OPEN ? "<" : "<=", hi);
}

void setting_range(int i, char *buf, size_t len)
{
    const setting *s = &table[i];
    switch (s->type) {
    case SETTING_CHOICE:
    case SETTING_WORD:
        snprintf(buf, len, "%s", s->choices);
        for (char *p = buf; *p; p++)
            if (*p == ' ')
                *p = '|';
        return;
    case SETTING_U64:
        snprintf(buf, len, "0 to 18446744073709551615");
        return;
    case SETTING_CADENCE:
        snprintf(buf, len, "N steps, %.15g to %.15g, or a time Ns, Nm or Nh "
                 "up to %dh; 0: off", s->lo, s->hi, SETTING_MAX_SECONDS / 3600);
        return;
    case SETTING_PATH:
        snprintf(buf, len, "a file, up to %d bytes; none: no file",
                 SETTING_PATH_MAX - 1);
        return;
    case SETTING_CUTOFFS:
        snprintf(buf, len, "N,N,... increasing, each %.15g to %.15g, at most %d; "
                 "none", s->lo, s->hi, MODEL_MAX_CUTOFFS);
        return;
    default:
        number_range(s, buf, len);
        if (s->type == SETTING_RATE)
            snprintf(buf + strlen(buf), len - strlen(buf), ", or " SETTING_UNSET);
    }
}

const char *setting_range_of(const char *name, char *buf, size_t len)
{
    int i = setting_find(name);
    if (i < 0)
        snprintf(buf, len, "%s", "");
    else
        setting_range(i, buf, len);
    return buf;
}

/* Whether v is within the row's range. */
static int in_range(const setting *s, double v)
{
    return !(v < s->lo || v > s->hi || ((s->open & SETTING_LO_OPEN) && v == s->lo)
             || ((s->open & SETTING_HI_OPEN) && v == s->hi));
}

static int out_of_range(const setting *s, const char *text, char *err,
                        size_t errlen)
{
    char range[96];
    setting_range((int)(s - table), range, sizeof range);
    snprintf(err, errlen, "'%.100s' is out of range (%s)", text, range);
    return -1;
}

/* Reads a number within the row's range; returns 0 or -1 with err. */
static int parse_number(const setting *s, const char *text, double *out,
                        char *err, size_t errlen)
{
    char *end;
    double v;
    errno = 0;
    v = strtod(text, &end);
    if (*text == '\0' || end == text || *end != '\0' || !isfinite(v)) {
        snprintf(err, errlen, "'%s' is not a number", text);
        return -1;
    }
    if (s->type == SETTING_INT && v != floor(v)) {
        snprintf(err, errlen, "'%s' is not a whole number", text);
        return -1;
    }
    if (!in_range(s, v))
        return out_of_range(s, text, err, errlen);
    *out = v;
    return 0;
}

static int parse_u64(const char *text, uint64_t *out, char *err, size_t errlen)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno == ERANGE) {
        snprintf(err, errlen, "'%s' is not a whole number from 0 to "
                 "18446744073709551615", text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* The choices as prose: "a, b or c". */
static void choices_prose(const char *list, char *buf, size_t len)
{
    size_t o = 0, n = 0;
    char w[SETTING_WORD_MAX];
    for (const char *p = list; *p; p += strcspn(p, " "), p += *p == ' ')
        n++;
    buf[0] = '\0';
    for (size_t i = 0; i < n && o < len; i++) {
        choice_word(list, (int)i, w, sizeof w);
        o += (size_t)snprintf(buf + o, len - o, "%s%s",
                              i == 0 ? "" : i + 1 == n ? " or " : ", ", w);
    }
}

static int parse_choice(const setting *s, const char *text, int *out,
                        char *err, size_t errlen)
{
    char choices[128];
    if ((*out = choice_index(s->choices, text)) >= 0)
        return 0;
    choices_prose(s->choices, choices, sizeof choices);
    snprintf(err, errlen, "unknown value '%.100s' (choose %s)", text, choices);
    return -1;
}

/* A path into the row's field: "none" for none; too long or holding
 * control characters (that a message would print) refused. */
static int parse_path(const char *text, char *out, char *err, size_t errlen)
{
    size_t n = strlen(text);
    if (n == 0 || n >= SETTING_PATH_MAX) {
        snprintf(err, errlen, "a path of %zu bytes is not a file, up to %d bytes "
                 "(none: no file)", n, SETTING_PATH_MAX - 1);
        return -1;
    }
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)text[i] < 0x20 || text[i] == 0x7f) {
            snprintf(err, errlen, "a path with control characters is refused");
            return -1;
        }
    snprintf(out, SETTING_PATH_MAX, "%s", strcmp(text, "none") == 0 ? "" : text);
    return 0;
}

/* "none" or up to MODEL_MAX_CUTOFFS increasing whole numbers in the row's
 * range, comma-separated, into *out. */
static int parse_cutoffs(const setting *s, const char *text, model_cutoffs *out,
                         char *err, size_t errlen)
{
    model_cutoffs k = {0};
    const char *p = text;
    if (strcmp(text, "none") == 0) {
        *out = k;
        return 0;
    }
    for (;;) {
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (*p < '0' || *p > '9' || (*end != ',' && *end != '\0') || errno == ERANGE) {
            snprintf(err, errlen, "'%.100s' is not a list of whole numbers A,B,... "
                     "(none: no cutoffs)", text);
            return -1;
        }
        if (k.n == MODEL_MAX_CUTOFFS) {
            snprintf(err, errlen, "'%.100s' has more than %d cutoffs", text,
                     MODEL_MAX_CUTOFFS);
            return -1;
        }
        if (!in_range(s, (double)v))
            return out_of_range(s, text, err, errlen);
        if (k.n > 0 && v <= k.at[k.n - 1]) {
            snprintf(err, errlen, "'%.100s' does not increase (%ld after %d)", text, v,
                     k.at[k.n - 1]);
            return -1;
        }
        k.at[k.n++] = (int)v;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    *out = k;
    return 0;
}

static void format_cutoffs(const model_cutoffs *k, char *buf, size_t len)
{
    size_t o = 0;
    int n = k->n < 0 ? 0 : k->n > MODEL_MAX_CUTOFFS ? MODEL_MAX_CUTOFFS : k->n;
    snprintf(buf, len, "none");
    for (int i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%d", i ? "," : "", k->at[i]);
}

/* "0", "N" (steps) or "Ns" (seconds of training) into *out. */
static int parse_cadence(const setting *s, const char *text,
                         sample_cadence *out, char *err, size_t errlen)
{
    char *end;
    double x;
    errno = 0;
    x = strtod(text, &end);
    const char *unit = strchr("smh", *end);
    if (*text == '\0' || end == text || !isfinite(x)
        || (*end != '\0' && (end[1] != '\0' || !unit))) {
        snprintf(err, errlen, "'%s' is not N (steps) or a time Ns, Nm or Nh",
                 text);
        return -1;
    }
    if (x == 0) {
        *out = (sample_cadence){0, 0};
        return 0;
    }
    if (*end != '\0') {
        x *= *end == 'h' ? 3600 : *end == 'm' ? 60 : 1;
        if (x < 0 || x > SETTING_MAX_SECONDS)
            return out_of_range(s, text, err, errlen);
        *out = (sample_cadence){0, (float)x};
        return 0;
    }
    if (x != floor(x)) {
        snprintf(err, errlen, "'%s' is not a whole number of steps (Ns: "
                 "seconds)", text);
        return -1;
    }
    if (!in_range(s, x))
        return out_of_range(s, text, err, errlen);
    *out = (sample_cadence){(int)x, 0};
    return 0;
}

/* A rate, or SETTING_UNSET for none of its own; returns 0 or -1 with
 * err. */
static int parse_rate(const setting *s, const char *text, model_rate *out,
                      char *err, size_t errlen)
{
    double x;
    if (strcmp(text, SETTING_UNSET) == 0) {
        *out = (model_rate){0, 0};
        return 0;
    }
    if (parse_number(s, text, &x, err, errlen) != 0) {
        if (strstr(err, "is not a number"))
            snprintf(err, errlen, "'%s' is not a number or " SETTING_UNSET, text);
        return -1;
    }
    *out = (model_rate){(float)x, 1};
    return 0;
}

int setting_parse(int i, const char *text, setting_values *v, char *err,
                  size_t errlen)
{
    sample_cadence cad;
    const setting *s;
    double x;
    uint64_t u;
    int c;
    if (i < 0 || (size_t)i >= N_SETTINGS) {
        snprintf(err, errlen, "no such setting");
        return -1;
    }
    s = &table[i];
    switch (s->type) {
    case SETTING_CHOICE:
    case SETTING_WORD:
        if (parse_choice(s, text, &c, err, errlen) != 0)
            return -1;
        if (s->type == SETTING_WORD)
            snprintf(field(s, v), SETTING_WORD_MAX, "%s", text);
        else
            *(int *)field(s, v) = c;
        break;
    case SETTING_U64:
        if (parse_u64(text, &u, err, errlen) != 0)
            return -1;
        *(uint64_t *)field(s, v) = u;
        break;
    case SETTING_INT:
        if (parse_number(s, text, &x, err, errlen) != 0)
            return -1;
        *(int *)field(s, v) = (int)x;
        break;
    case SETTING_FLOAT:
        if (parse_number(s, text, &x, err, errlen) != 0)
            return -1;
        *(float *)field(s, v) = (float)x;
        break;
    case SETTING_CADENCE:
        if (parse_cadence(s, text, &cad, err, errlen) != 0)
            return -1;
        *(sample_cadence *)field(s, v) = cad;
        break;
    case SETTING_PATH:
        if (parse_path(text, field(s, v), err, errlen) != 0)
            return -1;
        break;
    case SETTING_RATE:
        if (parse_rate(s, text, field(s, v), err, errlen) != 0)
            return -1;
        break;
    case SETTING_CUTOFFS:
        if (parse_cutoffs(s, text, field(s, v), err, errlen) != 0)
            return -1;
        break;
    }
    if (s->then)
        s->then(v);
    return 0;
}

int setting_apply(int i, const char *text, setting_values *v, char *err,
                  size_t errlen)
{
    char why[400];
    if (setting_parse(i, text, v, why, sizeof why) == 0)
        return 0;
    if (i < 0 || (size_t)i >= N_SETTINGS)
        snprintf(err, errlen, "%s", why);
    else
        snprintf(err, errlen, "%s: %s", table[i].name, why);
    return -1;
}

/* The bytes of a row's field. */
static size_t field_size(const setting *s)
{
    switch (s->type) {
    case SETTING_FLOAT: return sizeof(float);
    case SETTING_U64: return sizeof(uint64_t);
    case SETTING_WORD: return SETTING_WORD_MAX;
    case SETTING_CADENCE: return sizeof(sample_cadence);
    case SETTING_PATH: return SETTING_PATH_MAX;
    case SETTING_RATE: return sizeof(model_rate);
    case SETTING_CUTOFFS: return sizeof(model_cutoffs);
    default: return sizeof(int);
    }
}

void setting_copy(int i, const setting_values *from, setting_values *to)
{
    const setting *s = &table[i];
    memcpy(field(s, to), field(s, from), field_size(s));
}

void setting_format(int i, const setting_values *v, char *buf, size_t len)
{
    const setting *s = &table[i];
    const void *f = field(s, v);
    switch (s->type) {
    case SETTING_FLOAT: snprintf(buf, len, "%g", (double)*(const float *)f); break;
    case SETTING_RATE: {
        const model_rate *r = f;
        if (r->set)
            snprintf(buf, len, "%g", (double)r->p);
        else
            snprintf(buf, len, SETTING_UNSET);
        break;
    }
    case SETTING_INT: snprintf(buf, len, "%d", *(const int *)f); break;
    case SETTING_U64:
        snprintf(buf, len, "%llu", (unsigned long long)*(const uint64_t *)f);
        break;
    case SETTING_CHOICE: choice_word(s->choices, *(const int *)f, buf, len); break;
    case SETTING_WORD: snprintf(buf, len, "%.*s", SETTING_WORD_MAX - 1, (const char *)f); break;
    case SETTING_PATH:
        snprintf(buf, len, "%.*s", SETTING_PATH_MAX - 1,
                 *(const char *)f ? (const char *)f : "none");
        break;
    case SETTING_CUTOFFS:
        format_cutoffs(f, buf, len);
        break;
    case SETTING_CADENCE: {
        const sample_cadence *c = f;
        double sec = c->seconds;
        if (c->steps > 0)
            snprintf(buf, len, "%d", c->steps);
        else if (sec > 0 && fmod(sec, 3600) == 0)
            snprintf(buf, len, "%gh", sec / 3600);
        else if (sec > 0 && fmod(sec, 60) == 0)
            snprintf(buf, len, "%gm", sec / 60);
        else if (sec > 0)
            snprintf(buf, len, "%gs", sec);
        else
            snprintf(buf, len, "0");
        break;
    }
    }
}

/* Checks row s's value in v; returns 0 or -1 with "NAME: problem". */
static int check_one(const setting *s, const setting_values *v, char *err,
                     size_t errlen)
{
    char text[SETTING_PATH_MAX + 8], why[256];
    const void *f = field(s, v);
    double x;
    int bad = 0;
    setting_format((int)(s - table), v, text, sizeof text);
    switch (s->type) {
    case SETTING_FLOAT:
    case SETTING_INT:
        x = s->type == SETTING_FLOAT ? (double)*(const float *)f : *(const int *)f;
        /* the value itself, not its rounded text, against the bounds */
        snprintf(text, sizeof text, "%.9g", x);
        bad = !isfinite(x) || !in_range(s, x);
        if (bad)
            out_of_range(s, text, why, sizeof why);
        break;
    case SETTING_CHOICE:
    case SETTING_WORD:
        bad = choice_index(s->choices, text) < 0;
        if (bad)
            parse_choice(s, text, &(int){0}, why, sizeof why);
        break;
    case SETTING_U64:
        break;
    case SETTING_RATE: {
        const model_rate *r = f;
        snprintf(text, sizeof text, "%.9g", (double)r->p);
        bad = (r->set != 0 && r->set != 1) || (r->set && (!isfinite(r->p) || !in_range(s, r->p)));
        if (bad)
            out_of_range(s, text, why, sizeof why);
        break;
    }
    case SETTING_PATH:
        bad = !memchr(f, '\0', SETTING_PATH_MAX)
              || (*(const char *)f && parse_path(f, (char[SETTING_PATH_MAX]){0},
                                                 why, sizeof why) != 0);
        if (bad && !memchr(f, '\0', SETTING_PATH_MAX))
            snprintf(why, sizeof why, "a path longer than %d bytes", SETTING_PATH_MAX - 1);
        break;
    case SETTING_CUTOFFS: {
        const model_cutoffs *k = f;
        bad = k->n < 0 || k->n > MODEL_MAX_CUTOFFS ||
              parse_cutoffs(s, text, &(model_cutoffs){0}, why, sizeof why) != 0;
        if (bad && (k->n < 0 || k->n > MODEL_MAX_CUTOFFS))
            snprintf(why, sizeof why, "%d cutoffs, not 0 to %d", k->n, MODEL_MAX_CUTOFFS);
        break;
    }
    case SETTING_CADENCE: {
        const sample_cadence *c = f;
        bad = c->steps < 0 || (c->steps > 0 && (!in_range(s, c->steps) || c->seconds != 0))
              || !(c->seconds >= 0 && c->seconds <= SETTING_MAX_SECONDS);
        if (bad)
            out_of_range(s, text, why, sizeof why);
        break;
    }
    }
    if (bad)
        snprintf(err, errlen, "%s: %s", s->name, why);
    return bad ? -1 : 0;
}

int setting_check(const setting_values *v, char *err, size_t errlen)
{
    for (size_t i = 0; i < N_SETTINGS; i++)
        if (check_one(&table[i], v, err, errlen) != 0)
            return -1;
    return 0;
}

int setting_check_session(const train_config *train, const sample_config *sample,
                          const char *dir, char *err, size_t errlen)
{
    char why[512];
    setting_values v;
    memset(&v, 0, sizeof v);
    v.train = *train;
    v.sample = *sample;
    choice_word(table[setting_find("device")].choices, 0, v.device,
                sizeof v.device);
    if (setting_check(&v, why, sizeof why) == 0)
        return 0;
    snprintf(err, errlen, "%s/session.json: %s", dir, why);
    return -1;
}

void setting_defaults(setting_values *v)
{
    char err[256];
    memset(v, 0, sizeof *v);
    v->train = train_defaults();
    v->sample = sample_defaults();
    /* rows with a follow-up first (the optimizer brings its lr), so that
     * the other rows' defaults stand; a bad default fails check_cmd */
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < N_SETTINGS; i++)
            if ((table[i].then != NULL) == (pass == 0)
                && setting_parse((int)i, table[i].def, v, err, sizeof err) != 0)
                continue;
}
