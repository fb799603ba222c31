/* settings.c - the settings table and the parsing of values. */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "train/optim.h"
#include "engine/settings.h"

#define BIG 1e300

/* The devices `set device` offers: CUDA only in builds that have it. */
#ifdef HAVE_CUDA
#define SETTINGS_DEVICES "cpu cuda"
#else
#define SETTINGS_DEVICES "cpu"
#endif

static const setting table[] = {
    {"lr", SETTING_FLOAT, 0, BIG, 1, 0, NULL, SETTING_LIVE,
     "learning rate"},
    {"optimizer", SETTING_CHOICE, 0, 0, 0, 0, "sgd adam adamw nadam rmsprop",
     SETTING_OPTIM, "optimizer (restarts its state and takes its default lr)"},
    {"batch", SETTING_INT, 1, 100000, 0, 0, NULL, SETTING_RESET,
     "parallel streams through the text"},
    {"seq-len", SETTING_INT, 1, 100000, 0, 0, NULL, SETTING_RESET,
     "time steps of back-propagation through time"},
    {"clip", SETTING_FLOAT, 0, BIG, 0, 0, NULL, SETTING_LIVE,
     "global gradient-norm clipping (0: off)"},
    {"dropout", SETTING_FLOAT, 0, 1, 0, 1, NULL, SETTING_LIVE,
     "dropout probability"},
    {"seed", SETTING_U64, 0, 0, 0, 0, NULL, SETTING_RESET,
     "random seed of the initialisation and dropout"},
    {"temperature", SETTING_FLOAT, 0, 100, 0, 0, NULL, SETTING_LIVE,
     "sampling temperature (0: always the likeliest token)"},
    {"top-k", SETTING_INT, 0, 1000000, 0, 0, NULL, SETTING_LIVE,
     "sample from the k likeliest tokens (0: off)"},
    {"top-p", SETTING_FLOAT, 0, 1, 1, 0, NULL, SETTING_LIVE,
     "sample from the smallest set with probability p (1: off)"},
    {"beam", SETTING_INT, 1, 64, 0, 0, NULL, SETTING_LIVE,
     "beam width (1: off)"},
    {"repetition-penalty", SETTING_FLOAT, 0, 100, 1, 0, NULL, SETTING_LIVE,
     "divide the logits of recently seen tokens by this (1: off)"},
    {"weights", SETTING_CHOICE, 0, 0, 0, 0, "fp32 fp16 int8", SETTING_LIVE,
     "how sampling holds the weights (fp16, int8: faster, slightly approximate)"},
    {"sample-every", SETTING_INT, 0, 1000000000, 0, 0, NULL, SETTING_LIVE,
     "steps between automatic samples while training (0: off)"},
    {"sample-length", SETTING_INT, 1, 100000, 0, 0, NULL, SETTING_LIVE,
     "tokens per sample"},
    {"eval-every", SETTING_INT, 0, 1000000000, 0, 0, NULL, SETTING_LIVE,
     "steps between validations (0: off)"},
    {"threads", SETTING_INT, 1, 256, 0, 0, NULL, SETTING_LIVE,
     "threads of the CPU backend's worker team"},
    {"device", SETTING_CHOICE, 0, 0, 0, 0, SETTINGS_DEVICES, SETTING_MOVE,
     "where the model runs (weights and optimizer state move along)"},
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

void setting_range(int i, char *buf, size_t len)
{
    const setting *s = &table[i];
    char lo[32], hi[32];
    switch (s->type) {
    case SETTING_CHOICE:
        snprintf(buf, len, "%s", s->choices);
        for (char *p = buf; *p; p++)
            if (*p == ' ')
                *p = '|';
        return;
    case SETTING_U64:
        snprintf(buf, len, "0 to 18446744073709551615");
        return;
    default:
        snprintf(lo, sizeof lo, "%.15g", s->lo);
        snprintf(hi, sizeof hi, "%.15g", s->hi);
        if (s->hi >= BIG)
            snprintf(buf, len, "%s %s", s->lo_open ? ">" : ">=", lo);
        else if (!s->lo_open && !s->hi_open)
            snprintf(buf, len, "%s to %s", lo, hi);
        else
            snprintf(buf, len, "%s %s and %s %s", s->lo_open ? ">" : ">=", lo,
                     s->hi_open ? "<" : "<=", hi);
    }
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

/* Reads a number within the setting's range; returns 0 or -1 with err. */
static int parse_number(const setting *s, const char *text, double *out,
                        char *err, size_t errlen)
{
    char *end, range[96];
    double v;
    errno = 0;
    v = strtod(text, &end);
    if (*text == '\0' || end == text || *end != '\0' || !isfinite(v)) {
        snprintf(err, errlen, "%s: '%s' is not a number", s->name, text);
        return -1;
    }
    if (s->type == SETTING_INT && v != floor(v)) {
        snprintf(err, errlen, "%s: '%s' is not a whole number", s->name, text);
        return -1;
    }
    if (v < s->lo || v > s->hi || (s->lo_open && v == s->lo)
        || (s->hi_open && v == s->hi)) {
        setting_range((int)(s - table), range, sizeof range);
        snprintf(err, errlen, "%s: '%s' is out of range (%s)", s->name, text,
                 range);
        return -1;
    }
    *out = v;
    return 0;
}

static int parse_u64(const setting *s, const char *text, uint64_t *out,
                     char *err, size_t errlen)
{
    char *end;
    unsigned long long v;
    errno = 0;
    v = strtoull(text, &end, 10);
    if (*text < '0' || *text > '9' || *end != '\0' || errno == ERANGE) {
        snprintf(err, errlen, "%s: '%s' is not a whole number from 0 to "
                 "18446744073709551615", s->name, text);
        return -1;
    }
    *out = (uint64_t)v;
    return 0;
}

/* Stores the number x into setting i of v. */
static void store_number(int i, double x, setting_values *v)
{
    const char *n = table[i].name;
    train_config *t = &v->train;
    sample_config *s = &v->sample;
    if (!strcmp(n, "lr")) t->optim.lr = (float)x;
    else if (!strcmp(n, "batch")) t->batch = (int)x;
    else if (!strcmp(n, "seq-len")) t->seq_len = (int)x;
    else if (!strcmp(n, "clip")) t->clip_norm = (float)x;
    else if (!strcmp(n, "dropout")) t->model.dropout = (float)x;
    else if (!strcmp(n, "temperature")) s->temperature = (float)x;
    else if (!strcmp(n, "top-k")) s->top_k = (int)x;
    else if (!strcmp(n, "top-p")) s->top_p = (float)x;
    else if (!strcmp(n, "beam")) s->beam = (int)x;
    else if (!strcmp(n, "repetition-penalty")) s->repetition_penalty = (float)x;
    else if (!strcmp(n, "sample-every")) s->sample_every = (int)x;
    else if (!strcmp(n, "sample-length")) s->length = (int)x;
    else if (!strcmp(n, "eval-every")) t->eval_every = (int)x;
    else if (!strcmp(n, "threads")) t->threads = (int)x;
}

int setting_apply(int i, const char *text, setting_values *v, char *err,
                  size_t errlen)
{
    const setting *s;
    char range[96];
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
        if ((c = choice_index(s->choices, text)) < 0) {
            setting_range(i, range, sizeof range);
            snprintf(err, errlen, "%s: unknown value '%s' (choose %s)",
                     s->name, text, range);
            return -1;
        }
        if (!strcmp(s->name, "optimizer"))
            v->train.optim = optim_defaults((optim_kind)optim_parse(text));
        else if (!strcmp(s->name, "weights"))
            v->sample.weights = be_weights_parse(text);
        else
            snprintf(v->device, sizeof v->device, "%s", text);
        return 0;
    case SETTING_U64:
        if (parse_u64(s, text, &u, err, errlen) != 0)
            return -1;
        v->train.seed = u;
        return 0;
    default:
        if (parse_number(s, text, &x, err, errlen) != 0)
            return -1;
        store_number(i, x, v);
        return 0;
    }
}

void setting_format(int i, const setting_values *v, char *buf, size_t len)
{
    const char *n = table[i].name;
    const train_config *t = &v->train;
    const sample_config *s = &v->sample;
    if (!strcmp(n, "lr")) snprintf(buf, len, "%g", (double)t->optim.lr);
    else if (!strcmp(n, "optimizer")) snprintf(buf, len, "%s", optim_name(t->optim.kind));
    else if (!strcmp(n, "batch")) snprintf(buf, len, "%d", t->batch);
    else if (!strcmp(n, "seq-len")) snprintf(buf, len, "%d", t->seq_len);
    else if (!strcmp(n, "clip")) snprintf(buf, len, "%g", (double)t->clip_norm);
    else if (!strcmp(n, "dropout")) snprintf(buf, len, "%g", (double)t->model.dropout);
    else if (!strcmp(n, "seed")) snprintf(buf, len, "%llu", (unsigned long long)t->seed);
    else if (!strcmp(n, "temperature")) snprintf(buf, len, "%g", (double)s->temperature);
    else if (!strcmp(n, "top-k")) snprintf(buf, len, "%d", s->top_k);
    else if (!strcmp(n, "top-p")) snprintf(buf, len, "%g", (double)s->top_p);
    else if (!strcmp(n, "beam")) snprintf(buf, len, "%d", s->beam);
    else if (!strcmp(n, "repetition-penalty"))
        snprintf(buf, len, "%g", (double)s->repetition_penalty);
    else if (!strcmp(n, "sample-every")) snprintf(buf, len, "%d", s->sample_every);
    else if (!strcmp(n, "sample-length")) snprintf(buf, len, "%d", s->length);
    else if (!strcmp(n, "eval-every")) snprintf(buf, len, "%d", t->eval_every);
    else if (!strcmp(n, "threads")) snprintf(buf, len, "%d", t->threads);
    else if (!strcmp(n, "device")) snprintf(buf, len, "%s", v->device);
    else if (!strcmp(n, "weights")) snprintf(buf, len, "%s", be_weights_name(s->weights));
    else snprintf(buf, len, "?");
}
