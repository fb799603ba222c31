/* session.c - saving and opening sessions (see session.h).
 *
 * A save builds the complete session in a sibling directory and swaps it
 * into place with one rename, so a crash at any point leaves either the old
 * session or the new one, never a mixture.  Opening treats every file as
 * untrusted: each field is checked for presence, type and range before it
 * is used, and each tensor for its exact shape. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include "store/session.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <float.h>
#include <limits.h>
#include <math.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <cjson/cJSON.h>

#include "store/safetensors.h"
#include "util/durable.h"
#include "util/jscan.h"
#include "util/num.h"

#define SES_JSON "session.json"
#define SES_MODEL "model.safetensors"
#define SES_BEST "best.safetensors"     /* the best checkpoint, optional */
#define SES_OPTIM "optimizer.safetensors"
/* session.json grows with the history (~40 bytes a step); 1 GB is far
 * beyond any real run and keeps a hostile file from exhausting memory. */
#define SES_MAX_JSON (1024L * 1024L * 1024L)
/* Integers above 2^53 do not survive a trip through a JSON double. */
#define SES_MAX_EXACT 9007199254740992.0
#define SES_MAX_OPT_BUFS 8

static void ses_msg(char *err, size_t errlen, const char *fmt, ...)
{
    if (!err || errlen == 0)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

static char *ses_join(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 2;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s/%s", a, b);
    return s;
}

static char *ses_concat(const char *a, const char *b)
{
    size_t n = strlen(a) + strlen(b) + 1;
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%s%s", a, b);
    return s;
}

/* dir without trailing slashes ("/" stays "/"). */
static char *ses_norm_dir(const char *dir)
{
    char *d = strdup(dir);
    if (!d)
        return NULL;
    size_t n = strlen(d);
    while (n > 1 && d[n - 1] == '/')
        d[--n] = '\0';
    return d;
}

/* ---------------------------------------------------------------- files */

/* Names a session directory may hold that a save may delete: its own
 * files, and the temporaries st_write leaves if interrupted. */
static const char *const ses_own_files[] = {
    SES_JSON, SES_MODEL, SES_OPTIM, SES_BEST,
    SES_JSON ".tmp", SES_MODEL ".tmp", SES_OPTIM ".tmp", SES_BEST ".tmp",
};
#define SES_N_OWN (sizeof ses_own_files / sizeof ses_own_files[0])

static int ses_is_own(const char *name)
{
    for (size_t i = 0; i < SES_N_OWN; i++)
        if (strcmp(name, ses_own_files[i]) == 0)
            return 1;
    return 0;
}

/* Removes a session directory: only the files a session consists of, then
 * the directory itself, which fails (harmlessly) if anything else is
 * there.  Never recursive, so user data cannot be lost. */
static int ses_remove_dir(const char *dir)
{
    for (size_t i = 0; i < SES_N_OWN; i++) {
        char *p = ses_join(dir, ses_own_files[i]);
        if (!p)
            return -1;
        unlink(p);
        free(p);
    }
    return rmdir(dir);
}

/* Moves the files of the directory open as fd that are not part of a
 * session (the user's notes, logs) into dir, unless dir has one by that
 * name. */
static void ses_move_others(int fd, const char *dir)
{
    int dfd = dup(fd);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    if (!d) {
        if (dfd >= 0)
            close(dfd);
        return;
    }
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        const char *n = de->d_name;
        if (strcmp(n, ".") == 0 || strcmp(n, "..") == 0 || ses_is_own(n))
            continue;
        char *to = ses_join(dir, n);
        struct stat sb;
        if (to && lstat(to, &sb) != 0)
            renameat(fd, n, AT_FDCWD, to);
        free(to);
    }
    closedir(d);
}

/* After a swap the previous session is the directory open as fd, now
 * named old: the user's files in it move into the new directory dir, the
 * session files are deleted, then the directory.  It was opened before
 * the swap, so nothing here opens a path; failures leave files behind,
 * never lose them, and do not undo the save.  The removal is not synced:
 * a crash before it reaches the disk leaves old as it was, which no load
 * reads. */
static void ses_retire(int fd, const char *old, const char *dir)
{
    ses_move_others(fd, dir);
    for (size_t i = 0; i < SES_N_OWN; i++)
        unlinkat(fd, ses_own_files[i], 0);
    rmdir(old);
}

/* 1 when dir holds a session.json (or is empty: nothing to lose), 0 when
 * it holds something else, -1 when it cannot be read. */
static int ses_is_session_dir(const char *dir)
{
    char *j = ses_join(dir, SES_JSON);
    struct stat sb;
    int st = j ? lstat(j, &sb) : -1;
    int e = errno;
    free(j);
    if (st == 0 && S_ISREG(sb.st_mode))
        return 1;
    if (st != 0 && e != ENOENT) {
        errno = e;
        return -1;
    }
    DIR *d = opendir(dir);
    if (!d)
        return -1;
    int empty = 1;
    struct dirent *de;
    while (empty && (de = readdir(d)) != NULL)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            empty = 0;
    closedir(d);
    return empty;
}

/* ----------------------------------------------------------- JSON build */

/* cJSON prints doubles with 15 digits when its approximate round-trip test
 * passes, which can lose the last bit; these print the shortest text that
 * reads back exactly (and integers in full, never as 1e+15). */
static cJSON *ses_exact(double v)
{
    char buf[40];
    if (!isfinite(v))
        return cJSON_CreateNull();
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(buf, sizeof buf, "%.*g", prec, v);
        if (strtod(buf, NULL) == v)
            break;
    }
    return cJSON_CreateRaw(buf);
}

static cJSON *ses_integer(double v)
{
    char buf[40];
    snprintf(buf, sizeof buf, "%.0f", v);
    return cJSON_CreateRaw(buf);
}

/* Builders that remember any allocation failure in *bad. */
static void ses_add(cJSON *o, const char *k, cJSON *v, int *bad)
{
    if (!v || !o || !cJSON_AddItemToObject(o, k, v)) {
        cJSON_Delete(v);
        *bad = 1;
    }
}

static void ses_addn(cJSON *o, const char *k, double v, int *bad)
{
    ses_add(o, k, ses_exact(v), bad);
}

static void ses_addi(cJSON *o, const char *k, double v, int *bad)
{
    ses_add(o, k, ses_integer(v), bad);
}

static void ses_addf(cJSON *o, const char *k, float v, int *bad)
{
    ses_add(o, k, isnan(v) ? cJSON_CreateNull() : cJSON_CreateNumber(num_float_shortest(v)), bad);
}

static void ses_adds(cJSON *o, const char *k, const char *v, int *bad)
{
    ses_add(o, k, cJSON_CreateString(v), bad);
}

static void ses_addb(cJSON *o, const char *k, int v, int *bad)
{
    ses_add(o, k, cJSON_CreateBool(v != 0), bad);
}

static cJSON *ses_u64_json(uint64_t v)
{
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)v);
    return cJSON_CreateString(buf);
}

/* session.json's keys of the dropout places' own rates (MODEL_DROP_*). */
static const char *const ses_drop_keys[MODEL_DROP_PLACES] = {
    "dropout_input", "dropout_hidden", "dropout_output"
};

/* The adaptive softmax's settings, under PyTorch's argument names. */
static void ses_json_adaptive(cJSON *o, const model_config *c, int *bad)
{
    cJSON *k = cJSON_CreateArray();
    for (int i = 0; k && i < c->cutoffs.n; i++) {
        cJSON *v = ses_integer(c->cutoffs.at[i]);
        if (!v || !cJSON_AddItemToArray(k, v))
            *bad = 1;
    }
    ses_adds(o, "softmax", "adaptive", bad);
    ses_add(o, "cutoffs", k, bad);
    ses_addf(o, "div_value", c->div_value, bad);
    ses_addb(o, "head_bias", c->head_bias, bad);
}

static cJSON *ses_json_model(const model_config *c, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    ses_adds(o, "cell", model_cell_name(c->cell), bad);
    ses_addi(o, "layers", c->layers, bad);
    ses_addi(o, "hidden", c->hidden, bad);
    ses_addi(o, "embed", c->embed, bad);
    ses_addi(o, "vocab", c->vocab, bad);
    ses_addf(o, "dropout", c->dropout, bad);
    for (int k = 0; k < MODEL_DROP_PLACES; k++)     /* absent: dropout's */
        if (c->drop[k].set)
            ses_addf(o, ses_drop_keys[k], c->drop[k].p, bad);
    ses_addb(o, "tie", c->tie, bad);
    ses_addb(o, "forget_bias", c->forget_bias, bad);
    if (c->layer_norm)      /* absent: off, as in sessions from before it */
        ses_addb(o, "layer_norm", c->layer_norm, bad);
    if (c->dropout_embed > 0)   /* the AWD regularisers: absent, off */
        ses_addf(o, "dropout_embed", c->dropout_embed, bad);
    if (c->locked)
        ses_addb(o, "locked_dropout", c->locked, bad);
    if (c->weight_drop > 0)
        ses_addf(o, "weight_drop", c->weight_drop, bad);
    if (c->softmax == SOFTMAX_ADAPTIVE)     /* absent: the full softmax */
        ses_json_adaptive(o, c, bad);
    return o;
}

static cJSON *ses_json_train(const train_config *c, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    const optim_config *p = &c->optim;
    ses_adds(o, "optimizer", optim_name(p->kind), bad);
    ses_addf(o, "lr", p->lr, bad);
    ses_addf(o, "momentum", p->momentum, bad);
    ses_addf(o, "beta1", p->beta1, bad);
    ses_addf(o, "beta2", p->beta2, bad);
    ses_addf(o, "eps", p->eps, bad);
    ses_addf(o, "weight_decay", p->weight_decay, bad);
    ses_addf(o, "alpha", p->alpha, bad);
    ses_addb(o, "nesterov", p->nesterov, bad);
    if (p->kind == OPT_NTASGD)
        ses_addi(o, "nonmono", p->nonmono, bad);
    ses_addi(o, "seq_len", c->seq_len, bad);
    ses_addi(o, "batch", c->batch, bad);
    ses_addf(o, "clip_norm", c->clip_norm, bad);
    ses_addf(o, "clip_value", c->clip_value, bad);
    ses_addi(o, "eval_every", c->eval_every, bad);
    ses_addi(o, "eval_streams", c->eval_streams, bad);
    ses_addn(o, "val_frac", c->val_frac, bad);
    ses_addn(o, "test_frac", c->test_frac, bad);
    ses_add(o, "seed", ses_u64_json(c->seed), bad);
    ses_addi(o, "threads", c->threads, bad);
    ses_addf(o, "lr_decay", c->lr_decay, bad);
    ses_addi(o, "lr_decay_every", c->lr_decay_every, bad);
    ses_addi(o, "warmup", c->warmup, bad);
    if (c->label_smoothing > 0)
        ses_addf(o, "label_smoothing", c->label_smoothing, bad);
    if (c->ar > 0)
        ses_addf(o, "ar", c->ar, bad);
    if (c->tar > 0)
        ses_addf(o, "tar", c->tar, bad);
    if (c->bptt_jitter)
        ses_addb(o, "bptt_jitter", c->bptt_jitter, bad);
    ses_adds(o, "schedule", sched_name(c->schedule), bad);
    ses_addf(o, "min_lr", c->min_lr, bad);
    ses_addf(o, "plateau_factor", c->plateau_factor, bad);
    ses_addi(o, "plateau_patience", c->plateau_patience, bad);
    ses_addb(o, "freeze_embed", c->freeze_embed, bad);
    if (c->embed_init[0]) {      /* where the first embedding came from */
        ses_adds(o, "embed_init", c->embed_init, bad);
        ses_adds(o, "embed_format", emb_format_name((emb_format)c->embed_format), bad);
        ses_addb(o, "embed_init_lower", c->embed_lower, bad);
    }
    return o;
}

/* How a schedule's plan is measured, by sched_unit. */
static const char *const ses_plan_units[] = {"none", "steps", "seconds"};

/* The schedule's state: the plan it runs over, the plateau's counts. */
static cJSON *ses_json_sched(const sched_state *s, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    ses_adds(o, "plan", ses_plan_units[s->plan.unit], bad);
    ses_addn(o, "length", s->plan.length, bad);
    ses_addi(o, "start", (double)s->plan.start, bad);
    ses_addn(o, "done", s->plan.done, bad);
    ses_addn(o, "best", s->best, bad);      /* null while infinite */
    ses_addi(o, "bad", s->bad, bad);
    ses_addi(o, "reductions", s->reductions, bad);
    return o;
}

/* NTASGD's switch and its window of validations (the iterate is the
 * optimizer file's "iterate"; model.safetensors holds the average). */
static cJSON *ses_json_ntasgd(const trainer *t, int *bad)
{
    const optim *p = &t->opt;
    cJSON *o = cJSON_CreateObject(), *a = cJSON_CreateArray();
    ses_addb(o, "averaging", p->averaging, bad);
    ses_addi(o, "averaged_steps", (double)p->avg_n, bad);
    ses_addi(o, "switch_step", (double)t->ntasgd_step, bad);
    for (int i = 0; i < p->n_recent && a; i++) {
        cJSON *v = ses_exact(p->recent[i]);
        if (!v || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            *bad = 1;
        }
    }
    ses_add(o, "recent", a, bad);
    ses_add(o, "best_before", ses_exact(isinf(p->best_before) ? NAN : p->best_before), bad);
    return o;
}

static cJSON *ses_json_progress(const trainer *t, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    ses_addi(o, "step", (double)t->step, bad);
    ses_addi(o, "epoch", (double)t->epoch, bad);
    ses_addi(o, "pos", (double)t->pos, bad);
    ses_addi(o, "stream_len", (double)t->stream_len, bad);
    ses_addn(o, "elapsed", t->elapsed, bad);
    ses_addi(o, "optimizer_t", (double)t->opt.t, bad);
    ses_add(o, "last_val_loss", ses_exact(t->last_val_loss), bad);
    if (t->best_step >= 0) {
        ses_add(o, "best_val_loss", ses_exact(t->best_val_loss), bad);
        ses_addi(o, "best_step", (double)t->best_step, bad);
    }
    if (t->opt.cfg.kind == OPT_NTASGD)
        ses_add(o, "ntasgd", ses_json_ntasgd(t, bad), bad);
    return o;
}

static cJSON *ses_json_sample(const sample_config *s, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    ses_addf(o, "temperature", s->temperature, bad);
    ses_addi(o, "top_k", s->top_k, bad);
    ses_addf(o, "top_p", s->top_p, bad);
    ses_addi(o, "beam", s->beam, bad);
    ses_addi(o, "length", s->length, bad);
    ses_addi(o, "sample_every", s->every.steps, bad);
    ses_addf(o, "sample_every_seconds", s->every.seconds, bad);
    char prime[sizeof s->prime + 1];
    memcpy(prime, s->prime, sizeof s->prime);
    prime[sizeof s->prime] = '\0';      /* never trust it to be terminated */
    ses_adds(o, "prime", prime, bad);
    ses_addb(o, "greedy", s->greedy, bad);
    ses_addf(o, "repetition_penalty", s->repetition_penalty, bad);
    ses_addi(o, "repetition_window", s->repetition_window, bad);
    ses_addi(o, "n_best", s->n_best, bad);
    char stop[sizeof s->stop + 1];
    memcpy(stop, s->stop, sizeof s->stop);
    stop[sizeof s->stop] = '\0';
    ses_adds(o, "stop", stop, bad);
    ses_adds(o, "weights", be_weights_name(s->weights), bad);
    return o;
}

static cJSON *ses_json_rng(const rng_state *r, int *bad)
{
    cJSON *a = cJSON_CreateArray();
    for (int i = 0; i < 4; i++) {
        cJSON *v = ses_u64_json(r->s[i]);
        if (!v || !a || !cJSON_AddItemToArray(a, v)) {
            cJSON_Delete(v);
            *bad = 1;
        }
    }
    return a;
}

static cJSON *ses_json_corpus(const corpus *c, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    char *abs = c->path && *c->path ? realpath(c->path, NULL) : NULL;
    ses_adds(o, "path", abs ? abs : c->path ? c->path : SESSION_NO_CORPUS, bad);
    free(abs);
    ses_addi(o, "tokens", (double)c->n, bad);
    return o;
}

static void ses_push(cJSON *a, cJSON *v, int *bad)
{
    if (!v || !a || !cJSON_AddItemToArray(a, v)) {
        cJSON_Delete(v);
        *bad = 1;
    }
}

static cJSON *ses_json_history(const trainer *t, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *st = cJSON_CreateArray(), *lo = cJSON_CreateArray(),
          *va = cJSON_CreateArray();
    for (size_t i = 0; i < t->n_hist && !*bad; i++) {
        const metric_point *p = &t->hist[i];
        ses_push(st, ses_integer((double)p->step), bad);
        ses_push(lo, isnan(p->loss) ? cJSON_CreateNull()
                     : cJSON_CreateNumber(num_float_shortest(p->loss)), bad);
        ses_push(va, isnan(p->val_loss) ? cJSON_CreateNull()
                     : cJSON_CreateNumber(num_float_shortest(p->val_loss)), bad);
    }
    ses_add(o, "step", st, bad);
    ses_add(o, "loss", lo, bad);
    ses_add(o, "val_loss", va, bad);
    return o;
}

static cJSON *ses_json_session(const trainer *t, const sample_config *sample, int *bad)
{
    cJSON *o = cJSON_CreateObject();
    ses_addi(o, "format", SESSION_FORMAT, bad);
    ses_adds(o, "program", "rnnlab", bad);
    ses_add(o, "model", ses_json_model(&t->cfg.model, bad), bad);
    ses_add(o, "tokenizer", t->corp.vocab ? tok_to_json(t->corp.vocab) : NULL, bad);
    ses_add(o, "train", ses_json_train(&t->cfg, bad), bad);
    ses_add(o, "progress", ses_json_progress(t, bad), bad);
    ses_add(o, "schedule", ses_json_sched(&t->sched, bad), bad);
    ses_add(o, "rng", ses_json_rng(&t->rng, bad), bad);
    ses_add(o, "corpus", ses_json_corpus(&t->corp, bad), bad);
    ses_add(o, "sample", ses_json_sample(sample, bad), bad);
    ses_add(o, "history", ses_json_history(t, bad), bad);
    return o;
}

/* -------------------------------------------------------------- writing */

static int ses_write_text(const char *path, const char *text, char *err,
                          size_t errlen)
{
    FILE *fp = fopen(path, "wbe");
    if (!fp) {
        ses_msg(err, errlen, "%s: cannot create: %s", path, strerror(errno));
        return -1;
    }
    int rc = fputs(text, fp) < 0 || fputc('\n', fp) == EOF || durable_sync_file(fp) != 0;
    int saved = errno;
    if (fclose(fp) != 0 && !rc) {
        rc = 1;
        saved = errno;
    }
    if (rc) {
        ses_msg(err, errlen, "%s: write failed: %s", path, strerror(saved));
        return -1;
    }
    return 0;
}

static int ses_save_json(const trainer *t, const sample_config *sample, const char *dir,
                         char *err, size_t errlen)
{
    int bad = 0;
    cJSON *root = ses_json_session(t, sample, &bad);
    char *text = bad || !root ? NULL : cJSON_Print(root);
    cJSON_Delete(root);
    char *path = ses_join(dir, SES_JSON);
    int rc = -1;
    if (!text || !path)
        ses_msg(err, errlen, "%s: out of memory building session.json", dir);
    else
        rc = ses_write_text(path, text, err, errlen);
    free(path);
    free(text);
    return rc;
}

static void ses_entry(st_entry *e, const char *name, const float *data,
                      int ndim, const int *shape)
{
    e->name = name;
    e->data = data;
    e->ndim = ndim;
    for (int i = 0; i < ndim; i++)
        e->shape[i] = shape[i];
}

/* Entries for every model tensor; a tied decoder gets its own copy of the
 * encoder so PyTorch's load_state_dict finds both keys. */
static int ses_model_entries(const model *m, const float *host, st_entry *e)
{
    const model_tensor *enc = model_find_tensor(m, "encoder.weight");
    int need_dec = m->cfg.tie && enc && !model_find_tensor(m, "decoder.weight");
    int n = 0;
    for (int i = 0; i < m->n_tensors; i++) {
        const model_tensor *mt = &m->tensors[i];
        if (need_dec && strcmp(mt->name, "decoder.bias") == 0) {
            ses_entry(&e[n++], "decoder.weight", host + enc->offset, enc->ndim, enc->shape);
            need_dec = 0;
        }
        ses_entry(&e[n++], mt->name, host + mt->offset, mt->ndim, mt->shape);
    }
    if (need_dec)
        ses_entry(&e[n++], "decoder.weight", host + enc->offset, enc->ndim, enc->shape);
    return n;
}

/* The best checkpoint (trainer_keep_best), when there is one: the same
 * tensors as model.safetensors, so PyTorch loads either. */
static int ses_save_best(const trainer *t, const char *dir, char *err,
                         size_t errlen)
{
    st_entry e[MODEL_MAX_TENSORS + 1];
    char *path;
    int rc;
    if (!t->best_params)
        return 0;
    if ((path = ses_join(dir, SES_BEST)) == NULL) {
        ses_msg(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    rc = st_write(path, e, ses_model_entries(t->m, t->best_params, e), err, errlen);
    free(path);
    return rc;
}

static int ses_save_model(const trainer *t, const char *dir, char *err,
                          size_t errlen)
{
    const model *m = t->m;
    float *host = malloc(m->n_params ? m->n_params * sizeof(float) : 1);
    char *path = ses_join(dir, SES_MODEL);
    st_entry e[MODEL_MAX_TENSORS + 1];
    int rc = -1;
    if (!host || !path) {
        ses_msg(err, errlen, "%s: out of memory", dir);
    } else {
        m->be->download(m->be, host, m->params, m->n_params * sizeof(float));
        rc = st_write(path, e, ses_model_entries(m, host, e), err, errlen);
    }
    free(path);
    free(host);
    return rc;
}

/* Optimizer moments, then the carried state of the training streams. */
static int ses_save_optim(const trainer *t, const char *dir, char *err,
                          size_t errlen)
{
    const char *names[SES_MAX_OPT_BUFS];
    float *bufs[SES_MAX_OPT_BUFS];
    int k = optim_state(&t->opt, names, bufs, SES_MAX_OPT_BUFS);
    const model_config *mc = &t->m->cfg;
    const model_state *st = trainer_saved_state(t);   /* every stream's */
    size_t n = t->opt.n, ns = 0;
    if (st->h)
        ns = (size_t)mc->layers * (size_t)st->B * (size_t)mc->hidden;
    if (n > INT_MAX) {
        ses_msg(err, errlen, "%s: optimizer state too large", dir);
        return -1;
    }
    float *host = malloc(((size_t)k * n + 2 * ns + 1) * sizeof(float));
    char *path = ses_join(dir, SES_OPTIM);
    if (!host || !path) {
        ses_msg(err, errlen, "%s: out of memory", dir);
        free(host);
        free(path);
        return -1;
    }
    be_backend *be = t->be;
    st_entry e[SES_MAX_OPT_BUFS + 2];
    int ne = 0, sh[3] = { mc->layers, st->B, mc->hidden }, sn[1] = { (int)n };
    float *at = host;
    for (int i = 0; i < k; i++, at += n) {
        be->download(be, at, bufs[i], n * sizeof(float));
        ses_entry(&e[ne++], names[i], at, 1, sn);
    }
    if (ns) {
        be->download(be, at, st->h, ns * sizeof(float));
        ses_entry(&e[ne++], "state.h", at, 3, sh);
        at += ns;
    }
    if (ns && st->c) {
        be->download(be, at, st->c, ns * sizeof(float));
        ses_entry(&e[ne++], "state.c", at, 3, sh);
    }
    int rc = st_write(path, e, ne, err, errlen);
    free(path);
    free(host);
    return rc;
}

/* --------------------------------------------------------- placing it */

typedef struct ses_paths {
    char *dir, *tmp, *old, *lock;
} ses_paths;

static void ses_paths_free(ses_paths *p)
{
    free(p->dir);
    free(p->tmp);
    free(p->old);
    free(p->lock);
}

/* .NAME.lock in the directory holding dir (whose last component starts at
 * base). */
static char *ses_lock_path(const char *dir, const char *base)
{
    int head = (int)(base - dir);
    size_t n = strlen(dir) + sizeof "..lock";
    char *s = malloc(n);
    if (s)
        snprintf(s, n, "%.*s.%s.lock", head, dir, base);
    return s;
}

static int ses_paths_init(ses_paths *p, const char *dir, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    if (!dir || !*dir) {
        ses_msg(err, errlen, "session directory name is empty");
        return -1;
    }
    char suffix[32];
    snprintf(suffix, sizeof suffix, ".tmp-%ld", (long)getpid());
    p->dir = ses_norm_dir(dir);
    p->tmp = p->dir ? ses_concat(p->dir, suffix) : NULL;
    p->old = p->dir ? ses_concat(p->dir, ".old") : NULL;
    if (!p->tmp || !p->old) {
        ses_msg(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    const char *base = strrchr(p->dir, '/');
    base = base ? base + 1 : p->dir;
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        ses_msg(err, errlen, "%s: not usable as a session directory name", dir);
        return -1;
    }
    if ((p->lock = ses_lock_path(p->dir, base)) == NULL) {
        ses_msg(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    return 0;
}

/* Saves of one session exclude each other: a process holds a write lock
 * (fcntl) on the session's lock file for the whole save, and a thread of
 * the same process waits for the mutex.  The file stays; only the lock
 * counts, and it goes with the process. */
static pthread_mutex_t ses_save_mutex = PTHREAD_MUTEX_INITIALIZER;

/* A one-line message for a lock that another process holds. */
static void ses_lock_taken(const ses_paths *p, int fd, char *err, size_t errlen)
{
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_GETLK, &fl) == 0 && fl.l_type != F_UNLCK && fl.l_pid > 0)
        ses_msg(err, errlen, "%s: being saved by another process (pid %ld; lock %s)",
                p->dir, (long)fl.l_pid, p->lock);
    else
        ses_msg(err, errlen, "%s: being saved by another process (lock %s)", p->dir,
                p->lock);
}

/* Takes the lock; returns the descriptor holding it, or -1 with a
 * message. */
static int ses_lock(const ses_paths *p, char *err, size_t errlen)
{
    int fd = open(p->lock, O_RDWR | O_CREAT | O_CLOEXEC, 0666);
    if (fd < 0) {
        ses_msg(err, errlen, "%s: cannot open: %s", p->lock, strerror(errno));
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET};
    if (fcntl(fd, F_SETLK, &fl) == 0)
        return fd;
    if (errno == EACCES || errno == EAGAIN)
        ses_lock_taken(p, fd, err, errlen);
    else
        ses_msg(err, errlen, "%s: cannot lock: %s", p->lock, strerror(errno));
    close(fd);
    return -1;
}

/* Sets *exists.  Refuses anything whose replacement could destroy data
 * that is not a session. */
static int ses_check_target(const char *dir, int *exists, char *err, size_t errlen)
{
    struct stat sb;
    *exists = 0;
    if (lstat(dir, &sb) != 0) {
        if (errno == ENOENT)
            return 0;
        ses_msg(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (S_ISLNK(sb.st_mode) || !S_ISDIR(sb.st_mode)) {
        ses_msg(err, errlen, "%s: exists and is not a session directory; refusing to overwrite it",
                dir);
        return -1;
    }
    int s = ses_is_session_dir(dir);
    if (s < 0) {
        ses_msg(err, errlen, "%s: cannot read directory: %s", dir, strerror(errno));
        return -1;
    }
    if (s == 0) {
        ses_msg(err, errlen, "%s: directory is not empty and has no session.json; "
                "refusing to overwrite it", dir);
        return -1;
    }
    *exists = 1;
    return 0;
}

/* path as a directory: there already, or made. */
static int ses_mkdir_one(const char *path, char *err, size_t errlen)
{
    struct stat sb;
    if (stat(path, &sb) == 0) {
        if (S_ISDIR(sb.st_mode))
            return 0;
        ses_msg(err, errlen, "%s: not a directory", path);
        return -1;
    }
    if (errno != ENOENT) {
        ses_msg(err, errlen, "%s: %s", path, strerror(errno));
        return -1;
    }
    if (mkdir(path, 0777) != 0 && errno != EEXIST) {
        ses_msg(err, errlen, "%s: cannot create directory: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

/* mkdir -p for the parents of path. */
static int ses_mkdir_parents(const char *path, char *err, size_t errlen)
{
    char *p = strdup(path);
    if (!p) {
        ses_msg(err, errlen, "%s: out of memory", path);
        return -1;
    }
    int rc = 0;
    for (char *s = strchr(p + 1, '/'); s && rc == 0; s = strchr(s + 1, '/')) {
        *s = '\0';
        rc = ses_mkdir_one(p, err, errlen);
        *s = '/';
    }
    free(p);
    return rc;
}

static int ses_make_tmp(const char *tmp, char *err, size_t errlen)
{
    struct stat sb;
    /* A leftover from a crashed save by a process with our pid. */
    if (lstat(tmp, &sb) == 0 && S_ISDIR(sb.st_mode))
        ses_remove_dir(tmp);
    if (mkdir(tmp, 0777) != 0) {
        ses_msg(err, errlen, "%s: cannot create temporary directory: %s", tmp,
                strerror(errno));
        return -1;
    }
    return 0;
}

static int ses_exchange(const char *a, const char *b)
{
#if defined(RENAME_EXCHANGE)
    return renameat2(AT_FDCWD, a, AT_FDCWD, b, RENAME_EXCHANGE);
#elif defined(SYS_renameat2)
    return (int)syscall(SYS_renameat2, AT_FDCWD, a, AT_FDCWD, b, 2 /* RENAME_EXCHANGE */);
#else
    errno = ENOSYS;
    return -1;
#endif
}

/* The names changed and the directory holding them could not be synced
 * (error e): the save fails, with the previous session back in place when
 * undone. */
static int ses_unsynced(const char *dir, int e, int undone, char *err, size_t errlen)
{
    ses_msg(err, errlen, "%s: cannot sync its directory: %s%s", dir, strerror(e),
            undone ? "" : " (the new session is in place but may not be on disk)");
    return -1;
}

/* The previous session dir.old that an interrupted fallback save left,
 * opened, and its files moved into dir, then removed. */
static void ses_retire_path(const char *old, const char *dir)
{
    int fd = open(old, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        ses_retire(fd, old, dir);
        close(fd);
    }
}

/* Without an atomic exchange: dir -> dir.old, tmp -> dir.  A crash in
 * between leaves only dir.old, which session_load falls back to. */
static int ses_swap_fallback(const ses_paths *p, int parent, char *err, size_t errlen)
{
    struct stat sb;
    if (lstat(p->old, &sb) == 0) {
        if (!S_ISDIR(sb.st_mode) || ses_is_session_dir(p->old) != 1) {
            ses_msg(err, errlen, "%s: exists and is not a session directory; refusing to overwrite it",
                    p->old);
            return -1;
        }
        ses_retire_path(p->old, p->dir);
    }
    if (rename(p->dir, p->old) != 0) {
        ses_msg(err, errlen, "%s: cannot move aside: %s", p->dir, strerror(errno));
        return -1;
    }
    if (rename(p->tmp, p->dir) != 0) {
        int e = errno;
        rename(p->old, p->dir);
        ses_msg(err, errlen, "%s: cannot move into place: %s", p->dir, strerror(e));
        return -1;
    }
    if (fsync(parent) == 0)
        return 0;
    int e = errno;
    int undone = rename(p->dir, p->tmp) == 0 && rename(p->old, p->dir) == 0;
    return ses_unsynced(p->dir, e, undone, err, errlen);
}

/* No session at dir yet: tmp -> dir. */
static int ses_swap_new(const ses_paths *p, int parent, char *err, size_t errlen)
{
    if (rename(p->tmp, p->dir) != 0) {
        ses_msg(err, errlen, "%s: cannot move into place: %s", p->dir, strerror(errno));
        return -1;
    }
    if (fsync(parent) == 0)
        return 0;
    int e = errno;
    return ses_unsynced(p->dir, e, rename(p->dir, p->tmp) == 0, err, errlen);
}

/* Puts tmp at dir and syncs the directory holding them (open as parent):
 * the save is done only once that sync succeeded, and undone when it
 * fails.  *old_at: where the previous session is now. */
static int ses_swap(const ses_paths *p, int exists, int parent, const char **old_at,
                    char *err, size_t errlen)
{
    *old_at = p->old;
    if (!exists)
        return ses_swap_new(p, parent, err, errlen);
    if (ses_exchange(p->tmp, p->dir) != 0) {
        if (errno == EINVAL || errno == ENOSYS)
            return ses_swap_fallback(p, parent, err, errlen);
        ses_msg(err, errlen, "%s: cannot replace: %s", p->dir, strerror(errno));
        return -1;
    }
    *old_at = p->tmp;
    if (fsync(parent) == 0)
        return 0;
    int e = errno;
    return ses_unsynced(p->dir, e, ses_exchange(p->tmp, p->dir) == 0, err, errlen);
}

/* The previous session, opened before the swap so that clearing it away
 * afterwards needs no path: dir itself, or, when there is no dir, the
 * dir.old an interrupted fallback save left.  *fd is -1 when there is
 * none. */
static int ses_open_previous(const ses_paths *p, int exists, int *fd, char *err,
                             size_t errlen)
{
    struct stat sb;
    *fd = -1;
    if (!exists && (lstat(p->old, &sb) != 0 || !S_ISDIR(sb.st_mode) ||
                    ses_is_session_dir(p->old) != 1))
        return 0;
    const char *prev = exists ? p->dir : p->old;
    *fd = open(prev, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (*fd < 0) {
        ses_msg(err, errlen, "%s: cannot open: %s", prev, strerror(errno));
        return -1;
    }
    return 0;
}

/* Swaps the written session in and clears the previous one away. */
static int ses_place(const ses_paths *p, int exists, char *err, size_t errlen)
{
    int prev = -1, parent = durable_open_parent(p->dir);
    const char *old_at = NULL;
    if (parent < 0) {
        ses_msg(err, errlen, "%s: cannot open its directory: %s", p->dir, strerror(errno));
        return -1;
    }
    int rc = ses_open_previous(p, exists, &prev, err, errlen);
    if (rc == 0)
        rc = ses_swap(p, exists, parent, &old_at, err, errlen);
    if (rc == 0 && prev >= 0)
        ses_retire(prev, old_at, p->dir);
    if (prev >= 0)
        close(prev);
    close(parent);
    return rc;
}

static int ses_write_all(const trainer *t, const sample_config *sample, const char *tmp,
                         char *err, size_t errlen)
{
    if (ses_save_json(t, sample, tmp, err, errlen) || ses_save_model(t, tmp, err, errlen) ||
        ses_save_optim(t, tmp, err, errlen) || ses_save_best(t, tmp, err, errlen))
        return -1;
    if (durable_sync_dir(tmp) != 0) {
        ses_msg(err, errlen, "%s: cannot sync: %s", tmp, strerror(errno));
        return -1;
    }
    return 0;
}

int session_save(const trainer *t, const sample_config *sample, const char *dir,
                 char *err, size_t errlen)
{
    ses_paths p;
    int exists = 0, rc = -1, lock = -1;
    sample_config defaults = sample_defaults();
    pthread_mutex_lock(&ses_save_mutex);
    if (ses_paths_init(&p, dir, err, errlen) == 0 &&
        ses_mkdir_parents(p.dir, err, errlen) == 0 &&
        (lock = ses_lock(&p, err, errlen)) >= 0 &&
        ses_check_target(p.dir, &exists, err, errlen) == 0 &&
        ses_make_tmp(p.tmp, err, errlen) == 0) {
        rc = ses_write_all(t, sample ? sample : &defaults, p.tmp, err, errlen);
        if (rc == 0)
            rc = ses_place(&p, exists, err, errlen);
        if (rc != 0)
            ses_remove_dir(p.tmp);
    }
    if (lock >= 0)
        close(lock);
    ses_paths_free(&p);
    pthread_mutex_unlock(&ses_save_mutex);
    return rc;
}

/* ------------------------------------------------------ JSON validation */

/* A string from the file made fit for a one-line message. */
static const char *ses_safe(const char *s, char *buf, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = c < 0x20 || c >= 0x7f ? '?' : (char)c;
    }
    buf[i] = '\0';
    if (s[i] && len > 4)
        memcpy(buf + len - 4, "...", 4);
    return buf;
}

/* Where messages point: "<dir>/session.json: model.hidden ...". */
typedef struct ses_rd {
    const char *file;
    char *err;
    size_t errlen;
} ses_rd;

static int ses_bad(const ses_rd *r, const char *sect, const char *key,
                   const char *fmt, ...)
{
    if (!r->err || r->errlen == 0)
        return -1;
    int k = snprintf(r->err, r->errlen, "%s: %s%s%s ", r->file, sect ? sect : "",
                     sect ? "." : "", key);
    if (k >= 0 && (size_t)k < r->errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(r->err + k, r->errlen - (size_t)k, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static const cJSON *ses_item(const ses_rd *r, const cJSON *o, const char *sect,
                             const char *key)
{
    const cJSON *j = cJSON_GetObjectItemCaseSensitive(o, key);
    if (!j)
        ses_bad(r, sect, key, "is missing");
    return j;
}

static int ses_get_obj(const ses_rd *r, const cJSON *o, const char *key,
                       const cJSON **out)
{
    const cJSON *j = ses_item(r, o, NULL, key);
    if (!j)
        return -1;
    if (!cJSON_IsObject(j))
        return ses_bad(r, NULL, key, "must be an object");
    *out = j;
    return 0;
}

/* An integer in [lo, hi] (hi at most 2^53). */
static int ses_get_ll(const ses_rd *r, const cJSON *o, const char *sect,
                      const char *key, long long lo, long long hi, long long *out)
{
    const cJSON *j = ses_item(r, o, sect, key);
    if (!j)
        return -1;
    double d = cJSON_IsNumber(j) ? j->valuedouble : NAN;
    if (!(d >= (double)lo && d <= (double)hi) || (double)(long long)d != d) {
        if (lo == 1 && hi >= INT_MAX)
            return ses_bad(r, sect, key, "must be a positive integer");
        if (lo == 0 && hi >= INT_MAX)
            return ses_bad(r, sect, key, "must be a non-negative integer");
        return ses_bad(r, sect, key, "must be an integer from %lld to %lld", lo, hi);
    }
    *out = (long long)d;
    return 0;
}

static int ses_get_int(const ses_rd *r, const cJSON *o, const char *sect,
                       const char *key, int lo, int hi, int *out)
{
    long long v;
    if (ses_get_ll(r, o, sect, key, lo, hi, &v))
        return -1;
    *out = (int)v;
    return 0;
}

static int ses_get_dbl(const ses_rd *r, const cJSON *o, const char *sect,
                       const char *key, double lo, double hi, double *out)
{
    const cJSON *j = ses_item(r, o, sect, key);
    if (!j)
        return -1;
    double d = cJSON_IsNumber(j) ? j->valuedouble : NAN;
    if (!(d >= lo && d <= hi)) {
        if (hi >= FLT_MAX)
            return ses_bad(r, sect, key, "must be a number >= %g", lo);
        return ses_bad(r, sect, key, "must be a number from %g to %g", lo, hi);
    }
    *out = d;
    return 0;
}

static int ses_get_flt(const ses_rd *r, const cJSON *o, const char *sect,
                       const char *key, double lo, double hi, float *out)
{
    double d;
    if (ses_get_dbl(r, o, sect, key, lo, hi < FLT_MAX ? hi : FLT_MAX, &d))
        return -1;
    *out = (float)d;
    return 0;
}

static int ses_get_bool(const ses_rd *r, const cJSON *o, const char *sect,
                        const char *key, int *out)
{
    const cJSON *j = ses_item(r, o, sect, key);
    if (!j)
        return -1;
    if (!cJSON_IsBool(j))
        return ses_bad(r, sect, key, "must be true or false");
    *out = cJSON_IsTrue(j);
    return 0;
}

static int ses_get_str(const ses_rd *r, const cJSON *o, const char *sect,
                       const char *key, const char **out)
{
    const cJSON *j = ses_item(r, o, sect, key);
    if (!j)
        return -1;
    if (!cJSON_IsString(j) || !j->valuestring)
        return ses_bad(r, sect, key, "must be a string");
    *out = j->valuestring;
    return 0;
}

/* A uint64 kept as a decimal string (a double cannot hold it). */
static int ses_parse_u64(const cJSON *j, uint64_t *out)
{
    if (!cJSON_IsString(j) || !j->valuestring)
        return -1;
    const char *s = j->valuestring;
    size_t n = strlen(s);
    if (n == 0 || n > 20 || strspn(s, "0123456789") != n)
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, NULL, 10);
    if (errno == ERANGE)
        return -1;
    *out = (uint64_t)v;
    return 0;
}

/* ------------------------------------------------ session.json sections */

typedef struct ses_progress {
    long long step, epoch, pos, stream_len, opt_t;
    double elapsed, last_val_loss;
    double best_val_loss;        /* NAN and -1 when the file has none */
    long long best_step;
} ses_progress;

/* Everything session.json holds, parsed and checked. */
typedef struct ses_load {
    char *dir, *json_path, *model_path, *optim_path, *best_path;
    cJSON *root;
    train_config cfg;
    sample_config sample;
    ses_progress prog;
    sched_state sched;
    rng_state rng;
    const char *corpus_path;     /* in root */
    metric_point *hist;
    size_t n_hist;
    tok_vocab *vocab;
    st_file model_f, optim_f;
    st_file best_f;              /* opened when best.safetensors exists */
    int has_best;
    int no_optim;                /* opened to sample without optimizer.safetensors */
} ses_load;

/* The output layer: "softmax" absent or "full" (sessions from before the
 * adaptive softmax have none), or "adaptive" with its cutoffs, div_value
 * and head_bias; model_config_check then checks them with the vocabulary. */
static int ses_read_softmax(const ses_rd *r, const cJSON *o, model_config *c)
{
    const cJSON *k, *v;
    const char *kind;
    char shown[40];
    c->softmax = SOFTMAX_FULL;
    c->cutoffs = (model_cutoffs){0};
    c->div_value = 4.0f;
    c->head_bias = 0;
    if (!cJSON_GetObjectItemCaseSensitive(o, "softmax"))
        return 0;
    if (ses_get_str(r, o, "model", "softmax", &kind))
        return -1;
    if (strcmp(kind, "full") == 0)
        return 0;
    if (strcmp(kind, "adaptive") != 0)
        return ses_bad(r, "model", "softmax", "\"%s\" is not full or adaptive",
                       ses_safe(kind, shown, sizeof shown));
    c->softmax = SOFTMAX_ADAPTIVE;
    if (!(k = ses_item(r, o, "model", "cutoffs")))
        return -1;
    int n = cJSON_IsArray(k) ? cJSON_GetArraySize(k) : -1;
    if (n < 1 || n > MODEL_MAX_CUTOFFS)
        return ses_bad(r, "model", "cutoffs", "must be an array of 1 to %d integers",
                       MODEL_MAX_CUTOFFS);
    c->cutoffs.n = n;
    for (int i = 0; i < n; i++) {
        v = cJSON_GetArrayItem(k, i);
        double d = cJSON_IsNumber(v) ? v->valuedouble : NAN;
        if (!(d >= 1 && d < (1 << 24)) || d != floor(d))
            return ses_bad(r, "model", "cutoffs", "must hold integers from 1 to %d",
                           (1 << 24) - 1);
        c->cutoffs.at[i] = (int)d;
    }
    return ses_get_flt(r, o, "model", "div_value", 1e-30, FLT_MAX, &c->div_value) ||
           ses_get_bool(r, o, "model", "head_bias", &c->head_bias) ? -1 : 0;
}

static int ses_read_model(const ses_rd *r, const cJSON *root, model_config *c)
{
    const cJSON *o;
    const char *cell;
    char shown[40];
    if (ses_get_obj(r, root, "model", &o) || ses_get_str(r, o, "model", "cell", &cell))
        return -1;
    int k = model_cell_parse(cell);
    if (k < 0)
        return ses_bad(r, "model", "cell", "\"%s\" is not rnn, gru or lstm",
                       ses_safe(cell, shown, sizeof shown));
    c->cell = (model_cell)k;
    if (ses_get_int(r, o, "model", "layers", 1, MODEL_MAX_LAYERS, &c->layers) ||
        ses_get_int(r, o, "model", "hidden", 1, INT_MAX, &c->hidden) ||
        ses_get_int(r, o, "model", "embed", 1, INT_MAX, &c->embed) ||
        ses_get_int(r, o, "model", "vocab", 1, INT_MAX, &c->vocab) ||
        ses_get_flt(r, o, "model", "dropout", 0, 1, &c->dropout) ||
        ses_get_bool(r, o, "model", "tie", &c->tie) ||
        ses_get_bool(r, o, "model", "forget_bias", &c->forget_bias))
        return -1;
    c->layer_norm = c->locked = 0;
    c->dropout_embed = c->weight_drop = 0;
#define HAS(k) (cJSON_GetObjectItemCaseSensitive(o, k) != NULL)
    if ((HAS("layer_norm") && ses_get_bool(r, o, "model", "layer_norm", &c->layer_norm)) ||
        (HAS("dropout_embed") &&
         ses_get_flt(r, o, "model", "dropout_embed", 0, 0.999999f, &c->dropout_embed)) ||
        (HAS("locked_dropout") && ses_get_bool(r, o, "model", "locked_dropout", &c->locked)) ||
        (HAS("weight_drop") &&
         ses_get_flt(r, o, "model", "weight_drop", 0, 0.999999f, &c->weight_drop)))
        return -1;
    for (int k = 0; k < MODEL_DROP_PLACES; k++) {
        c->drop[k] = (model_rate){0, 0};
        if (HAS(ses_drop_keys[k]) &&
            ses_get_flt(r, o, "model", ses_drop_keys[k], 0, 0.999999f, &c->drop[k].p))
            return -1;
        c->drop[k].set = HAS(ses_drop_keys[k]);
    }
#undef HAS
    if (ses_read_softmax(r, o, c) != 0)
        return -1;
    char msg[256] = "";
    if (model_config_check(c, msg, sizeof msg) != 0) {
        ses_msg(r->err, r->errlen, "%s: model: %s", r->file, msg);
        return -1;
    }
    return 0;
}

static int ses_read_optim(const ses_rd *r, const cJSON *o, optim_config *p)
{
    const char *name;
    char shown[40];
    if (ses_get_str(r, o, "train", "optimizer", &name))
        return -1;
    int k = optim_parse(name);
    if (k < 0)
        return ses_bad(r, "train", "optimizer", "\"%s\" is not a known optimizer",
                       ses_safe(name, shown, sizeof shown));
    p->kind = (optim_kind)k;
    return ses_get_flt(r, o, "train", "lr", 0, FLT_MAX, &p->lr) ||
           ses_get_flt(r, o, "train", "momentum", 0, 1, &p->momentum) ||
           ses_get_flt(r, o, "train", "beta1", 0, 1, &p->beta1) ||
           ses_get_flt(r, o, "train", "beta2", 0, 1, &p->beta2) ||
           ses_get_flt(r, o, "train", "eps", 0, FLT_MAX, &p->eps) ||
           ses_get_flt(r, o, "train", "weight_decay", 0, FLT_MAX, &p->weight_decay) ||
           ses_get_flt(r, o, "train", "alpha", 0, 1, &p->alpha) ||
           ses_get_bool(r, o, "train", "nesterov", &p->nesterov) ||
           /* added with ntasgd: absent in older files, the default */
           (cJSON_GetObjectItemCaseSensitive(o, "nonmono")
            && ses_get_int(r, o, "train", "nonmono", 1, OPTIM_MAX_NONMONO, &p->nonmono))
           ? -1 : 0;
}

/* The schedule's settings, newer than the first format: a file without
 * them decayed by steps when lr_decay_every was set, else held the rate. */
static int ses_read_sched_cfg(const ses_rd *r, const cJSON *o, train_config *c)
{
    const char *name;
    char shown[40];
    c->schedule = c->lr_decay_every > 0 ? SCHED_STEP : SCHED_CONSTANT;
    if (!cJSON_GetObjectItemCaseSensitive(o, "schedule"))
        return 0;
    if (ses_get_str(r, o, "train", "schedule", &name))
        return -1;
    int k = sched_parse(name);
    if (k < 0)
        return ses_bad(r, "train", "schedule", "\"%s\" is not constant, step, "
                       "cosine, onecycle or plateau", ses_safe(name, shown, sizeof shown));
    c->schedule = (sched_kind)k;
    return ses_get_flt(r, o, "train", "min_lr", 0, FLT_MAX, &c->min_lr) ||
           ses_get_flt(r, o, "train", "plateau_factor", 0, 1, &c->plateau_factor) ||
           ses_get_int(r, o, "train", "plateau_patience", 0, INT_MAX,
                       &c->plateau_patience) ? -1 : 0;
}

/* The embedding's settings, newer than the first format: absent, off
 * and none. */
static int ses_read_embed(const ses_rd *r, const cJSON *o, train_config *c)
{
    const char *s;
    char shown[40];
    if (cJSON_GetObjectItemCaseSensitive(o, "freeze_embed")
        && ses_get_bool(r, o, "train", "freeze_embed", &c->freeze_embed))
        return -1;
    if (!cJSON_GetObjectItemCaseSensitive(o, "embed_init"))
        return 0;
    if (ses_get_str(r, o, "train", "embed_init", &s))
        return -1;
    if (strlen(s) >= sizeof c->embed_init)
        return ses_bad(r, "train", "embed_init", "is longer than %zu bytes",
                       sizeof c->embed_init - 1);
    snprintf(c->embed_init, sizeof c->embed_init, "%s", s);
    if (ses_get_str(r, o, "train", "embed_format", &s)
        || ses_get_bool(r, o, "train", "embed_init_lower", &c->embed_lower))
        return -1;
    if ((c->embed_format = emb_format_parse(s)) < 0)
        return ses_bad(r, "train", "embed_format", "\"%s\" is not auto, bin, vec "
                       "or glove", ses_safe(s, shown, sizeof shown));
    return 0;
}

static int ses_read_train(const ses_rd *r, const cJSON *root, train_config *c)
{
    const cJSON *o;
    if (ses_get_obj(r, root, "train", &o) || ses_read_optim(r, o, &c->optim))
        return -1;
    if (ses_get_int(r, o, "train", "seq_len", 1, INT_MAX, &c->seq_len) ||
        ses_get_int(r, o, "train", "batch", 1, INT_MAX, &c->batch) ||
        ses_get_flt(r, o, "train", "clip_norm", 0, FLT_MAX, &c->clip_norm) ||
        ses_get_flt(r, o, "train", "clip_value", 0, FLT_MAX, &c->clip_value) ||
        ses_get_int(r, o, "train", "eval_every", 0, INT_MAX, &c->eval_every) ||
        ses_get_int(r, o, "train", "eval_streams", 1, INT_MAX, &c->eval_streams) ||
        ses_get_dbl(r, o, "train", "val_frac", 0, 1, &c->val_frac) ||
        ses_get_dbl(r, o, "train", "test_frac", 0, 1, &c->test_frac) ||
        ses_get_int(r, o, "train", "threads", 0, INT_MAX, &c->threads) ||
        ses_get_flt(r, o, "train", "lr_decay", 0, FLT_MAX, &c->lr_decay) ||
        ses_get_int(r, o, "train", "lr_decay_every", 0, INT_MAX, &c->lr_decay_every) ||
        ses_get_int(r, o, "train", "warmup", 0, INT_MAX, &c->warmup) ||
        ses_read_sched_cfg(r, o, c) || ses_read_embed(r, o, c))
        return -1;
    if (c->val_frac + c->test_frac >= 1)
        return ses_bad(r, "train", "val_frac", "plus train.test_frac must be below 1");
    /* added later: absent in older files, and then off */
    if (cJSON_GetObjectItemCaseSensitive(o, "label_smoothing")
        && ses_get_flt(r, o, "train", "label_smoothing", 0, 0.999999f,
                       &c->label_smoothing))
        return -1;
    if ((cJSON_GetObjectItemCaseSensitive(o, "ar")
         && ses_get_flt(r, o, "train", "ar", 0, FLT_MAX, &c->ar)) ||
        (cJSON_GetObjectItemCaseSensitive(o, "tar")
         && ses_get_flt(r, o, "train", "tar", 0, FLT_MAX, &c->tar)) ||
        (cJSON_GetObjectItemCaseSensitive(o, "bptt_jitter")
         && ses_get_bool(r, o, "train", "bptt_jitter", &c->bptt_jitter)))
        return -1;
    const cJSON *s = ses_item(r, o, "train", "seed");
    if (!s)
        return -1;
    if (ses_parse_u64(s, &c->seed))
        return ses_bad(r, "train", "seed",
                       "must be a decimal string of an unsigned 64-bit integer");
    return 0;
}

/* The decoding settings added after the first session format: each may be
 * missing (an older file), and then keeps its default. */
static int ses_read_sample_extra(const ses_rd *r, const cJSON *o, sample_config *s)
{
    const char *stop;
#define HAS(k) (cJSON_GetObjectItemCaseSensitive(o, k) != NULL)
    if ((HAS("greedy") && ses_get_bool(r, o, "sample", "greedy", &s->greedy)) ||
        (HAS("repetition_penalty") &&
         ses_get_flt(r, o, "sample", "repetition_penalty", FLT_MIN, FLT_MAX,
                     &s->repetition_penalty)) ||
        (HAS("repetition_window") &&
         ses_get_int(r, o, "sample", "repetition_window", 0, INT_MAX, &s->repetition_window)) ||
        (HAS("n_best") && ses_get_int(r, o, "sample", "n_best", 1, INT_MAX, &s->n_best)))
        return -1;
    /* A file from before time-based samples: its step count stands, and
     * without one the default cadence applies. */
    if (HAS("sample_every_seconds")) {
        if (ses_get_flt(r, o, "sample", "sample_every_seconds", 0, FLT_MAX,
                        &s->every.seconds))
            return -1;
    } else if (s->every.steps > 0) {
        s->every.seconds = 0;
    }
    if (s->every.steps > 0 && s->every.seconds > 0)
        return ses_bad(r, "sample", "sample_every_seconds",
                       "must be 0 when sample.sample_every is not");
    if (HAS("half")) {
        /* the older form of "weights": a 16-bit switch */
        int half;
        if (ses_get_bool(r, o, "sample", "half", &half))
            return -1;
        s->weights = half ? BE_WEIGHTS_FP16 : BE_WEIGHTS_FP32;
    }
    if (HAS("weights")) {
        const char *w;
        if (ses_get_str(r, o, "sample", "weights", &w))
            return -1;
        char shown[40];
        if ((s->weights = be_weights_parse(w)) < 0)
            return ses_bad(r, "sample", "weights", "is \"%s\", not fp32, fp16 or int8",
                           ses_safe(w, shown, sizeof shown));
    }
    if (HAS("stop")) {
        if (ses_get_str(r, o, "sample", "stop", &stop))
            return -1;
        if (strlen(stop) >= sizeof s->stop)
            return ses_bad(r, "sample", "stop", "is longer than %zu bytes", sizeof s->stop - 1);
        memset(s->stop, 0, sizeof s->stop);
        memcpy(s->stop, stop, strlen(stop));
    }
#undef HAS
    return 0;
}

static int ses_read_sample(const ses_rd *r, const cJSON *root, sample_config *s)
{
    const cJSON *o;
    const char *prime;
    *s = sample_defaults();
    if (ses_get_obj(r, root, "sample", &o) ||
        ses_get_flt(r, o, "sample", "temperature", 0, FLT_MAX, &s->temperature) ||
        ses_get_int(r, o, "sample", "top_k", 0, INT_MAX, &s->top_k) ||
        ses_get_flt(r, o, "sample", "top_p", 0, 1, &s->top_p) ||
        ses_get_int(r, o, "sample", "beam", 1, INT_MAX, &s->beam) ||
        ses_get_int(r, o, "sample", "length", 0, INT_MAX, &s->length) ||
        ses_get_int(r, o, "sample", "sample_every", 0, INT_MAX, &s->every.steps) ||
        ses_get_str(r, o, "sample", "prime", &prime) ||
        ses_read_sample_extra(r, o, s))
        return -1;
    if (strlen(prime) >= sizeof s->prime)
        return ses_bad(r, "sample", "prime", "is longer than %zu bytes", sizeof s->prime - 1);
    memset(s->prime, 0, sizeof s->prime);
    memcpy(s->prime, prime, strlen(prime));
    return 0;
}

/* A number, or null for "not measured" (NAN). */
static int ses_get_opt_num(const cJSON *j, double *out)
{
    if (cJSON_IsNull(j)) {
        *out = NAN;
        return 0;
    }
    if (!cJSON_IsNumber(j) || !isfinite(j->valuedouble))
        return -1;
    *out = j->valuedouble;
    return 0;
}

static int ses_read_progress(const ses_rd *r, const cJSON *root, ses_progress *p)
{
    const cJSON *o, *v;
    const long long big = (long long)SES_MAX_EXACT;
    const long long lbig = big < LONG_MAX ? big : LONG_MAX;     /* fits a long */
    if (ses_get_obj(r, root, "progress", &o) ||
        ses_get_ll(r, o, "progress", "step", 0, lbig, &p->step) ||
        ses_get_ll(r, o, "progress", "epoch", 0, lbig, &p->epoch) ||
        ses_get_ll(r, o, "progress", "pos", 0, big, &p->pos) ||
        ses_get_ll(r, o, "progress", "stream_len", 0, big, &p->stream_len) ||
        ses_get_ll(r, o, "progress", "optimizer_t", 0, lbig, &p->opt_t) ||
        ses_get_dbl(r, o, "progress", "elapsed", 0, DBL_MAX, &p->elapsed) ||
        !(v = ses_item(r, o, "progress", "last_val_loss")))
        return -1;
    if (ses_get_opt_num(v, &p->last_val_loss))
        return ses_bad(r, "progress", "last_val_loss", "must be a number or null");
    /* the best checkpoint's figures: added later, so optional */
    p->best_val_loss = NAN;
    p->best_step = -1;
    if (!cJSON_GetObjectItemCaseSensitive(o, "best_step"))
        return 0;
    if (ses_get_ll(r, o, "progress", "best_step", 0, lbig, &p->best_step) ||
        !(v = ses_item(r, o, "progress", "best_val_loss")))
        return -1;
    if (ses_get_opt_num(v, &p->best_val_loss) || isnan(p->best_val_loss))
        return ses_bad(r, "progress", "best_val_loss", "must be a number");
    return 0;
}

/* The plan's unit by name into *p; returns 0 or -1 with the message. */
static int ses_read_plan_unit(const ses_rd *r, const cJSON *o, sched_plan *p)
{
    const char *unit;
    if (ses_get_str(r, o, "schedule", "plan", &unit))
        return -1;
    for (int i = SCHED_PLAN_NONE; i <= SCHED_PLAN_SECONDS; i++)
        if (strcmp(unit, ses_plan_units[i]) == 0) {
            p->unit = (sched_unit)i;
            return 0;
        }
    return ses_bad(r, "schedule", "plan", "must be none, steps or seconds");
}

/* The schedule's state, newer than the first format: without it, no
 * plan and fresh plateau counts. */
static int ses_read_sched(const ses_rd *r, const cJSON *root, sched_state *s)
{
    const cJSON *o, *best;
    long long start;
    sched_state_init(s);
    if (!cJSON_GetObjectItemCaseSensitive(root, "schedule"))
        return 0;
    if (ses_get_obj(r, root, "schedule", &o) || ses_read_plan_unit(r, o, &s->plan) ||
        ses_get_dbl(r, o, "schedule", "length", 0, SCHED_MAX_LENGTH, &s->plan.length) ||
        ses_get_ll(r, o, "schedule", "start", 0, (long long)SES_MAX_EXACT, &start) ||
        ses_get_dbl(r, o, "schedule", "done", 0, DBL_MAX, &s->plan.done) ||
        ses_get_int(r, o, "schedule", "bad", 0, INT_MAX, &s->bad) ||
        ses_get_int(r, o, "schedule", "reductions", 0, INT_MAX, &s->reductions) ||
        !(best = ses_item(r, o, "schedule", "best")))
        return -1;
    s->plan.start = (long)start;
    if (ses_get_opt_num(best, &s->best))
        return ses_bad(r, "schedule", "best", "must be a number or null");
    if (isnan(s->best))
        s->best = INFINITY;
    return 0;
}

static int ses_read_rng(const ses_rd *r, const cJSON *root, rng_state *rng)
{
    const cJSON *a = ses_item(r, root, NULL, "rng");
    if (!a)
        return -1;
    if (!cJSON_IsArray(a) || cJSON_GetArraySize(a) != 4)
        return ses_bad(r, NULL, "rng", "must be an array of 4 decimal strings");
    const cJSON *j;
    int i = 0;
    uint64_t any = 0;
    cJSON_ArrayForEach(j, a) {
        if (ses_parse_u64(j, &rng->s[i]))
            return ses_bad(r, NULL, "rng", "must be an array of 4 decimal strings");
        any |= rng->s[i++];
    }
    /* xoshiro256** never leaves the all-zero state. */
    if (!any)
        return ses_bad(r, NULL, "rng", "state is all zero");
    return 0;
}

static int ses_hist_array(const ses_rd *r, const cJSON *o, const char *key,
                          const cJSON **out, int *n)
{
    const cJSON *a = ses_item(r, o, "history", key);
    if (!a)
        return -1;
    if (!cJSON_IsArray(a))
        return ses_bad(r, "history", key, "must be an array");
    *out = a;
    *n = cJSON_GetArraySize(a);
    return 0;
}

/* A loss: finite, float range, or null. */
static int ses_hist_loss(const cJSON *j, float *out)
{
    double d;
    if (ses_get_opt_num(j, &d) || fabs(d) > FLT_MAX)
        return -1;
    *out = (float)d;
    return 0;
}

static int ses_read_history(const ses_rd *r, const cJSON *root, ses_load *L)
{
    const cJSON *o, *st, *lo, *va;
    int ns, nl, nv;
    if (ses_get_obj(r, root, "history", &o) || ses_hist_array(r, o, "step", &st, &ns) ||
        ses_hist_array(r, o, "loss", &lo, &nl) || ses_hist_array(r, o, "val_loss", &va, &nv))
        return -1;
    if (ns != nl || ns != nv)
        return ses_bad(r, NULL, "history", "arrays differ in length (%d, %d, %d)", ns, nl, nv);
    L->hist = calloc(ns > 0 ? (size_t)ns : 1, sizeof *L->hist);
    if (!L->hist)
        return ses_bad(r, NULL, "history", "does not fit in memory");
    const cJSON *a = st->child, *b = lo->child, *c = va->child;
    for (int i = 0; i < ns; i++, a = a->next, b = b->next, c = c->next) {
        double s = cJSON_IsNumber(a) ? a->valuedouble : -1;
        if (!(s >= 0 && s <= (double)LONG_MAX && s <= SES_MAX_EXACT) || (double)(long)s != s)
            return ses_bad(r, "history", "step", "[%d] must be a non-negative integer", i);
        L->hist[i].step = (long)s;
        if (ses_hist_loss(b, &L->hist[i].loss))
            return ses_bad(r, "history", "loss", "[%d] must be a number or null", i);
        if (ses_hist_loss(c, &L->hist[i].val_loss))
            return ses_bad(r, "history", "val_loss", "[%d] must be a number or null", i);
    }
    L->n_hist = (size_t)ns;
    return 0;
}

static int ses_read_header(const ses_rd *r, const cJSON *root)
{
    long long fmt;
    const char *prog;
    char shown[40];
    if (ses_get_str(r, root, NULL, "program", &prog))
        return -1;
    if (strcmp(prog, "rnnlab") != 0)
        return ses_bad(r, NULL, "program", "is \"%s\", not rnnlab",
                       ses_safe(prog, shown, sizeof shown));
    const cJSON *f = ses_item(r, root, NULL, "format");
    if (!f)
        return -1;
    if (cJSON_IsNumber(f) && f->valuedouble > SESSION_FORMAT && f->valuedouble < 1e9)
        return ses_bad(r, NULL, "format", "%g is newer than this program supports (%d)",
                       f->valuedouble, SESSION_FORMAT);
    return ses_get_ll(r, root, NULL, "format", 1, SESSION_FORMAT, &fmt);
}

static int ses_read_tokenizer(const ses_rd *r, const cJSON *root, ses_load *L)
{
    const cJSON *j = ses_item(r, root, NULL, "tokenizer");
    if (!j)
        return -1;
    char msg[256] = "";
    L->vocab = tok_from_json(j, msg, sizeof msg);
    if (!L->vocab) {
        ses_msg(r->err, r->errlen, "%s: tokenizer: %s", r->file, msg);
        return -1;
    }
    uint32_t n = tok_size(L->vocab);
    if ((long long)n != (long long)L->cfg.model.vocab)
        return ses_bad(r, "model", "vocab", "is %d but the tokenizer has %u tokens",
                       L->cfg.model.vocab, (unsigned)n);
    return 0;
}

static int ses_read_corpus(const ses_rd *r, const cJSON *root, ses_load *L)
{
    const cJSON *o;
    long long tokens;
    return ses_get_obj(r, root, "corpus", &o) ||
           ses_get_str(r, o, "corpus", "path", &L->corpus_path) ||
           ses_get_ll(r, o, "corpus", "tokens", 0, (long long)SES_MAX_EXACT, &tokens) ? -1 : 0;
}

static int ses_parse_all(ses_load *L, char *err, size_t errlen)
{
    ses_rd r = { L->json_path, err, errlen };
    if (!cJSON_IsObject(L->root)) {
        ses_msg(err, errlen, "%s: not a JSON object", L->json_path);
        return -1;
    }
    return ses_read_header(&r, L->root) || ses_read_model(&r, L->root, &L->cfg.model) ||
           ses_read_train(&r, L->root, &L->cfg) || ses_read_tokenizer(&r, L->root, L) ||
           ses_read_sample(&r, L->root, &L->sample) ||
           ses_read_progress(&r, L->root, &L->prog) || ses_read_sched(&r, L->root, &L->sched) ||
           ses_read_rng(&r, L->root, &L->rng) ||
           ses_read_corpus(&r, L->root, L) || ses_read_history(&r, L->root, L) ? -1 : 0;
}

/* ---------------------------------------------------- reading the files */

static int ses_slurp(const char *path, char **out, size_t *len, char *err, size_t errlen)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat sb;
    if (fd < 0 || fstat(fd, &sb) != 0) {
        ses_msg(err, errlen, "%s: %s", path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    if (!S_ISREG(sb.st_mode) || sb.st_size > SES_MAX_JSON) {
        ses_msg(err, errlen, "%s: %s", path,
                S_ISREG(sb.st_mode) ? "too large" : "not a regular file");
        close(fd);
        return -1;
    }
    size_t n = (size_t)sb.st_size, got = 0;
    char *buf = malloc(n + 1);
    ssize_t k = 1;
    while (buf && got < n && k > 0) {
        k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR)
            k = 1;
        else if (k > 0)
            got += (size_t)k;
    }
    int e = errno;
    close(fd);
    if (!buf || got != n) {
        ses_msg(err, errlen, "%s: %s%s", path, buf ? "read failed: " : "out of memory",
                buf ? (k < 0 ? strerror(e) : "file shrank") : "");
        free(buf);
        return -1;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return 0;
}

static int ses_read_json(ses_load *L, char *err, size_t errlen)
{
    char *text;
    size_t len;
    if (ses_slurp(L->json_path, &text, &len, err, errlen))
        return -1;
    const char *end = NULL;
    L->root = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    int rc = 0;
    if (!L->root && jscan_value(text, len, NULL)) {
        /* the text is JSON: the parser ran out of memory */
        ses_msg(err, errlen, "%s: out of memory reading its JSON", L->json_path);
        rc = -1;
    } else if (!L->root) {
        int line = 1;
        for (const char *p = text; end && p < end && p < text + len; p++)
            line += *p == '\n';
        ses_msg(err, errlen, "%s: not valid JSON (line %d)", L->json_path, line);
        rc = -1;
    } else {
        for (const char *p = end; p < text + len && rc == 0; p++)
            if (*p != ' ' && *p != '\n' && *p != '\r' && *p != '\t') {
                ses_msg(err, errlen, "%s: trailing data after the JSON object", L->json_path);
                rc = -1;
            }
    }
    free(text);
    return rc;
}

/* dir, or dir.old when an interrupted fallback save left only that. */
static int ses_resolve(ses_load *L, const char *dir, char *err, size_t errlen)
{
    struct stat sb;
    if (!dir || !*dir) {
        ses_msg(err, errlen, "session directory name is empty");
        return -1;
    }
    L->dir = ses_norm_dir(dir);
    if (L->dir && stat(L->dir, &sb) != 0 && errno == ENOENT) {
        char *old = ses_concat(L->dir, ".old");
        if (old && stat(old, &sb) == 0 && S_ISDIR(sb.st_mode)) {
            free(L->dir);
            L->dir = old;
        } else {
            free(old);
        }
    }
    if (L->dir && stat(L->dir, &sb) != 0) {
        ses_msg(err, errlen, "%s: %s", dir, strerror(errno));
        return -1;
    }
    if (L->dir && !S_ISDIR(sb.st_mode)) {
        ses_msg(err, errlen, "%s: not a session directory", dir);
        return -1;
    }
    L->json_path = L->dir ? ses_join(L->dir, SES_JSON) : NULL;
    L->model_path = L->dir ? ses_join(L->dir, SES_MODEL) : NULL;
    L->optim_path = L->dir ? ses_join(L->dir, SES_OPTIM) : NULL;
    L->best_path = L->dir ? ses_join(L->dir, SES_BEST) : NULL;
    if (!L->json_path || !L->model_path || !L->optim_path || !L->best_path) {
        ses_msg(err, errlen, "%s: out of memory", dir);
        return -1;
    }
    if (stat(L->json_path, &sb) != 0 && errno == ENOENT) {
        ses_msg(err, errlen, "%s: not a session (no session.json)", dir);
        return -1;
    }
    return 0;
}

static void ses_load_free(ses_load *L)
{
    free(L->dir);
    free(L->json_path);
    free(L->model_path);
    free(L->optim_path);
    free(L->best_path);
    cJSON_Delete(L->root);
    free(L->hist);
    tok_free(L->vocab);
    st_close(&L->model_f);
    st_close(&L->optim_f);
    if (L->has_best)
        st_close(&L->best_f);
}

/* ------------------------------------------------- restoring a trainer */

/* Every tensor in the file must be one the model expects. */
static int ses_check_model_names(const model *m, const st_file *f, const char *file,
                                 char *err, size_t errlen)
{
    for (int i = 0; i < f->n; i++) {
        const char *n = f->t[i].name;
        if (model_find_tensor(m, n) || (m->cfg.tie && strcmp(n, "decoder.weight") == 0))
            continue;
        char shown[64];
        ses_msg(err, errlen, "%s: unexpected tensor %s (session.json describes another model)",
                file, ses_safe(n, shown, sizeof shown));
        return -1;
    }
    return 0;
}

/* The index of the first NaN or infinity among p[0..n), or n. */
static size_t ses_first_nonfinite(const float *p, size_t n)
{
    size_t i = 0;
    while (i < n && isfinite(p[i]))
        i++;
    return i;
}

/* Reads tensor name of the given shape into dst; a NaN or infinity in it
 * is refused like a wrong shape (training from it could only give NaN). */
static int ses_read_tensor(const st_file *f, const char *file, const char *name,
                           int ndim, const int *shape, float *dst, char *err,
                           size_t errlen)
{
    int64_t sh[ST_MAX_DIMS];
    size_t n = 1;
    for (int i = 0; i < ndim; i++) {
        sh[i] = shape[i];
        n *= (size_t)shape[i];
    }
    char msg[256];
    if (st_read_f32(f, name, ndim, sh, dst, msg, sizeof msg) != 0) {
        ses_msg(err, errlen, "%s: %s", file, msg);
        return -1;
    }
    size_t bad = ses_first_nonfinite(dst, n);
    if (bad < n) {
        ses_msg(err, errlen, "%s: %s holds %s at index %zu", file, name,
                isnan(dst[bad]) ? "NaN" : dst[bad] > 0 ? "+infinity" : "-infinity", bad);
        return -1;
    }
    return 0;
}

/* A tied model stores the decoder once; a decoder.weight in the file must
 * be the same matrix. */
static int ses_check_tied(const model *m, const st_file *f, const char *file,
                          const float *host, char *err, size_t errlen)
{
    const model_tensor *enc = model_find_tensor(m, "encoder.weight");
    if (!m->cfg.tie || !enc || model_find_tensor(m, "decoder.weight") ||
        !st_find(f, "decoder.weight"))
        return 0;
    float *dec = malloc(enc->numel ? enc->numel * sizeof(float) : 1);
    if (!dec) {
        ses_msg(err, errlen, "%s: out of memory", file);
        return -1;
    }
    int rc = ses_read_tensor(f, file, "decoder.weight", enc->ndim, enc->shape, dec, err, errlen);
    if (rc == 0 && memcmp(dec, host + enc->offset, enc->numel * sizeof(float)) != 0) {
        ses_msg(err, errlen, "%s: decoder.weight differs from encoder.weight in a tied model",
                file);
        rc = -1;
    }
    free(dec);
    return rc;
}

static int ses_tensor_fits(const model *m, const model_tensor *mt)
{
    size_t n = 1;
    for (int d = 0; d < mt->ndim; d++)
        n *= mt->shape[d] > 0 ? (size_t)mt->shape[d] : 0;
    return mt->ndim >= 1 && mt->ndim <= 2 && n == mt->numel &&
           mt->offset <= m->n_params && mt->numel <= m->n_params - mt->offset;
}

/* The model's tensors from f (file: its path, for messages) into a new
 * host buffer, starting from the current weights so that storage no
 * tensor names keeps them.  Returns it, or NULL with err set. */
static float *ses_read_weights(const model *m, const st_file *f, const char *file,
                               char *err, size_t errlen)
{
    if (ses_check_model_names(m, f, file, err, errlen))
        return NULL;
    float *host = malloc(m->n_params ? m->n_params * sizeof(float) : 1);
    if (!host) {
        ses_msg(err, errlen, "%s: out of memory", file);
        return NULL;
    }
    m->be->download(m->be, host, m->params, m->n_params * sizeof(float));
    int rc = 0;
    for (int i = 0; i < m->n_tensors && rc == 0; i++) {
        const model_tensor *mt = &m->tensors[i];
        if (!ses_tensor_fits(m, mt)) {
            ses_msg(err, errlen, "%s: internal error: model tensor %s is inconsistent",
                    file, mt->name);
            rc = -1;
        } else {
            rc = ses_read_tensor(f, file, mt->name, mt->ndim, mt->shape,
                                 host + mt->offset, err, errlen);
        }
    }
    if (rc == 0)
        rc = ses_check_tied(m, f, file, host, err, errlen);
    if (rc != 0) {
        free(host);
        return NULL;
    }
    return host;
}

static int ses_restore_model(trainer *t, const ses_load *L, char *err, size_t errlen)
{
    model *m = t->m;
    float *host = ses_read_weights(m, &L->model_f, L->model_path, err, errlen);
    if (!host)
        return -1;
    m->be->upload(m->be, m->params, host, m->n_params * sizeof(float));
    free(host);
    if (L->has_best
        && !(t->best_params = ses_read_weights(m, &L->best_f, L->best_path, err, errlen)))
        return -1;
    return 0;
}

static int ses_check_optim_names(const st_file *f, const char **names, int k,
                                 const char *file, char *err, size_t errlen)
{
    for (int i = 0; i < f->n; i++) {
        const char *n = f->t[i].name;
        int known = strcmp(n, "state.h") == 0 || strcmp(n, "state.c") == 0;
        for (int j = 0; j < k && !known; j++)
            known = strcmp(n, names[j]) == 0;
        if (!known) {
            char shown[64];
            ses_msg(err, errlen, "%s: unexpected tensor %s (session.json names another optimizer)",
                    file, ses_safe(n, shown, sizeof shown));
            return -1;
        }
    }
    return 0;
}

static int ses_restore_optim(trainer *t, const ses_load *L, char *err, size_t errlen)
{
    const char *names[SES_MAX_OPT_BUFS];
    float *bufs[SES_MAX_OPT_BUFS];
    int k = optim_state(&t->opt, names, bufs, SES_MAX_OPT_BUFS);
    const char *file = L->optim_path;
    if (ses_check_optim_names(&L->optim_f, names, k, file, err, errlen))
        return -1;
    size_t n = t->opt.n;
    if (n > INT_MAX) {
        ses_msg(err, errlen, "%s: optimizer state too large", file);
        return -1;
    }
    float *host = malloc(n ? n * sizeof(float) : 1);
    if (!host) {
        ses_msg(err, errlen, "%s: out of memory", file);
        return -1;
    }
    int rc = 0, shape[1] = { (int)n };
    for (int i = 0; i < k && rc == 0; i++) {
        rc = ses_read_tensor(&L->optim_f, file, names[i], 1, shape, host, err, errlen);
        if (rc == 0)
            t->be->upload(t->be, bufs[i], host, n * sizeof(float));
    }
    free(host);
    t->opt.t = (long)L->prog.opt_t;
    return rc;
}

/* One carried state tensor ("state.h" / "state.c"): layers and hidden must
 * match; a different batch leaves the state at zero. */
static int ses_restore_one_state(trainer *t, const ses_load *L, const char *name,
                                 float *dev, char *err, size_t errlen)
{
    const model_config *mc = &t->m->cfg;
    const st_tensor *st = st_find(&L->optim_f, name);
    if (!st) {
        ses_msg(err, errlen, "%s: tensor %s is missing", L->optim_path, name);
        return -1;
    }
    if (st->ndim != 3 || st->shape[0] != mc->layers || st->shape[2] != mc->hidden) {
        ses_msg(err, errlen, "%s: %s has shape [%lld,%lld,...], expected [%d,B,%d]",
                L->optim_path, name, (long long)st->shape[0],
                (long long)(st->ndim > 1 ? st->shape[1] : 0), mc->layers, mc->hidden);
        return -1;
    }
    if (st->shape[1] != t->state.B)
        return 0;
    size_t ns = (size_t)mc->layers * (size_t)t->state.B * (size_t)mc->hidden;
    float *host = malloc(ns ? ns * sizeof(float) : 1);
    if (!host) {
        ses_msg(err, errlen, "%s: out of memory", L->optim_path);
        return -1;
    }
    int shape[3] = { mc->layers, t->state.B, mc->hidden };
    int rc = ses_read_tensor(&L->optim_f, L->optim_path, name, 3, shape, host, err, errlen);
    if (rc == 0)
        t->be->upload(t->be, dev, host, ns * sizeof(float));
    free(host);
    return rc;
}

static int ses_restore_state(trainer *t, const ses_load *L, char *err, size_t errlen)
{
    if (!t->state.h)
        return 0;
    if (ses_restore_one_state(t, L, "state.h", t->state.h, err, errlen))
        return -1;
    if (t->state.c)
        return ses_restore_one_state(t, L, "state.c", t->state.c, err, errlen);
    if (st_find(&L->optim_f, "state.c")) {
        ses_msg(err, errlen, "%s: unexpected tensor state.c for a %s model", L->optim_path,
                model_cell_name(t->m->cfg.cell));
        return -1;
    }
    return 0;
}

static int ses_restore_history(trainer *t, const ses_load *L, char *err, size_t errlen)
{
    if (L->n_hist > t->cap_hist) {
        metric_point *h = realloc(t->hist, L->n_hist * sizeof *h);
        if (!h) {
            ses_msg(err, errlen, "%s: out of memory for the history", L->json_path);
            return -1;
        }
        t->hist = h;
        t->cap_hist = L->n_hist;
    }
    if (L->n_hist)
        memcpy(t->hist, L->hist, L->n_hist * sizeof *L->hist);
    t->n_hist = L->n_hist;
    return 0;
}

/* Position in the streams: kept only when the streams are the ones it was
 * measured on; with a different corpus (or none: stream_len stays as the
 * trainer computed it, so it refuses to step) the streams start over. */
static void ses_restore_position(trainer *t, const ses_load *L)
{
    size_t pos = (size_t)L->prog.pos, len = (size_t)L->prog.stream_len;
    if (t->corp.n > 0 && len == t->stream_len && (pos < len || pos == 0)) {
        t->pos = pos;
    } else {
        t->pos = 0;
        model_state_zero(t->m, &t->state);
    }
}

/* NTASGD's progress.ntasgd (ses_json_ntasgd) into t; absent: not
 * switched, no validations yet. */
static int ses_restore_ntasgd(trainer *t, const ses_load *L, char *err, size_t errlen)
{
    optim *p = &t->opt;
    const cJSON *prog = cJSON_GetObjectItemCaseSensitive(L->root, "progress");
    const cJSON *o = cJSON_GetObjectItemCaseSensitive(prog, "ntasgd");
    if (p->cfg.kind != OPT_NTASGD || !o)
        return 0;
    const cJSON *on = cJSON_GetObjectItemCaseSensitive(o, "averaging"),
                *n = cJSON_GetObjectItemCaseSensitive(o, "averaged_steps"),
                *sw = cJSON_GetObjectItemCaseSensitive(o, "switch_step"),
                *rec = cJSON_GetObjectItemCaseSensitive(o, "recent"),
                *bb = cJSON_GetObjectItemCaseSensitive(o, "best_before");
    int count = cJSON_GetArraySize(rec);
    double best;
    if (!cJSON_IsBool(on) || !cJSON_IsNumber(n) || n->valuedouble < 0
        || n->valuedouble > (double)SES_MAX_EXACT || !cJSON_IsNumber(sw)
        || sw->valuedouble < -1 || sw->valuedouble > (double)SES_MAX_EXACT
        || !cJSON_IsArray(rec) || count > OPTIM_MAX_NONMONO || !bb
        || ses_get_opt_num(bb, &best)) {
        ses_msg(err, errlen, "%s: progress.ntasgd: needs averaging (true or false), "
                "averaged_steps, switch_step, recent (up to %d losses) and best_before",
                L->json_path, OPTIM_MAX_NONMONO);
        return -1;
    }
    for (int i = 0; i < count; i++) {
        const cJSON *v = cJSON_GetArrayItem(rec, i);
        if (!cJSON_IsNumber(v)) {
            ses_msg(err, errlen, "%s: progress.ntasgd.recent: must hold numbers",
                    L->json_path);
            return -1;
        }
        p->recent[i] = v->valuedouble;
    }
    p->n_recent = count;
    p->averaging = cJSON_IsTrue(on);
    p->avg_n = (long)n->valuedouble;
    p->best_before = isnan(best) ? INFINITY : best;
    t->ntasgd_step = (long)sw->valuedouble;
    return 0;
}

static int ses_restore(trainer *t, const ses_load *L, char *err, size_t errlen)
{
    if (ses_restore_model(t, L, err, errlen) ||
        (!L->no_optim && (ses_restore_optim(t, L, err, errlen) ||
                          ses_restore_ntasgd(t, L, err, errlen) ||
                          ses_restore_state(t, L, err, errlen))) ||
        ses_restore_history(t, L, err, errlen))
        return -1;
    t->step = (long)L->prog.step;
    t->epoch = (long)L->prog.epoch;
    t->elapsed = L->prog.elapsed;
    t->last_val_loss = L->prog.last_val_loss;
    t->best_val_loss = L->prog.best_val_loss;
    t->best_step = (long)L->prog.best_step;
    t->sched = L->sched;
    t->rng = L->rng;
    ses_restore_position(t, L);
    return 0;
}

static int ses_open_corpus(const ses_load *L, const char *override,
                           const corpus_prep *prep, corpus *c, char *err, size_t errlen)
{
    const char *path = override ? override : L->corpus_path;
    corpus_prep def;
    memset(c, 0, sizeof *c);
    if (!prep) {
        corpus_prep_default(&def);
        prep = &def;
    }
    if (strcmp(path, SESSION_NO_CORPUS) != 0)
        return corpus_open(c, path, L->vocab, NULL, L->cfg.val_frac, L->cfg.test_frac,
                           prep, err, errlen);
    /* No text: only the vocabulary, and the recorded path so that saving
     * this trainer again does not forget where its text lives. */
    c->vocab = tok_clone(L->vocab);
    c->path = strdup(L->corpus_path);
    if (!c->vocab || !c->path) {
        tok_free(c->vocab);
        free(c->path);
        memset(c, 0, sizeof *c);
        ses_msg(err, errlen, "%s: out of memory", L->dir);
        return -1;
    }
    return 0;
}

static trainer *ses_build(ses_load *L, be_backend *be, const char *corpus_path,
                          const corpus_prep *prep, char *err, size_t errlen)
{
    corpus c;
    if (ses_open_corpus(L, corpus_path, prep, &c, err, errlen))
        return NULL;
    trainer *t = trainer_create(be, &L->cfg, &c, err, errlen);
    if (!t) {
        /* Unless trainer_create took it (and zeroed c), it is still ours. */
        if (c.vocab || c.ids || c.path)
            corpus_free(&c);
        return NULL;
    }
    if (ses_restore(t, L, err, errlen)) {
        trainer_free(t);
        return NULL;
    }
    return t;
}

/* optimizer.safetensors; a session opened to sample (no corpus) may go
 * without one (an upload of the weights alone), its moments left zero. */
static int ses_open_optim(ses_load *L, const char *corpus_path, char *err, size_t errlen)
{
    if (corpus_path && strcmp(corpus_path, SESSION_NO_CORPUS) == 0 &&
        access(L->optim_path, F_OK) != 0 && errno == ENOENT) {
        L->no_optim = 1;
        return 0;
    }
    return st_open(&L->optim_f, L->optim_path, err, errlen);
}

/* best.safetensors, when the session has one. */
static int ses_open_best(ses_load *L, char *err, size_t errlen)
{
    if (access(L->best_path, F_OK) != 0)
        return 0;
    if (st_open(&L->best_f, L->best_path, err, errlen) != 0)
        return -1;
    L->has_best = 1;
    return 0;
}

trainer *session_load(be_backend *be, const char *dir, const char *corpus_path,
                      sample_config *sample, char *err, size_t errlen)
{
    return session_load_prep(be, dir, corpus_path, sample, NULL, err, errlen);
}

trainer *session_load_prep(be_backend *be, const char *dir, const char *corpus_path,
                           sample_config *sample, const corpus_prep *prep, char *err,
                           size_t errlen)
{
    ses_load L;
    memset(&L, 0, sizeof L);
    L.cfg = train_defaults();
    trainer *t = NULL;
    if (ses_resolve(&L, dir, err, errlen) == 0 && ses_read_json(&L, err, errlen) == 0 &&
        ses_parse_all(&L, err, errlen) == 0 &&
        st_open(&L.model_f, L.model_path, err, errlen) == 0 &&
        ses_open_optim(&L, corpus_path, err, errlen) == 0 &&
        ses_open_best(&L, err, errlen) == 0)
        t = ses_build(&L, be, corpus_path, prep, err, errlen);
    if (t && sample)
        *sample = L.sample;
    ses_load_free(&L);
    return t;
}

/* session.json alone, read and checked into L (ses_load_free it in any
 * case).  Returns 0, or -1 with a message. */
static int ses_read_alone(ses_load *L, const char *dir, char *err, size_t errlen)
{
    memset(L, 0, sizeof *L);
    L->cfg = train_defaults();
    return ses_resolve(L, dir, err, errlen) == 0 && ses_read_json(L, err, errlen) == 0 &&
           ses_parse_all(L, err, errlen) == 0 ? 0 : -1;
}

tok_vocab *session_tokenizer(const char *dir, char *err, size_t errlen)
{
    ses_load L;
    tok_vocab *v = NULL;
    if (ses_read_alone(&L, dir, err, errlen) == 0) {
        v = L.vocab;
        L.vocab = NULL;
    }
    ses_load_free(&L);
    return v;
}

int session_history(const char *dir, metric_point **hist, size_t *n, char *err,
                    size_t errlen)
{
    ses_load L;
    int rc = ses_read_alone(&L, dir, err, errlen);
    if (rc == 0) {
        *hist = L.hist;
        *n = L.n_hist;
        L.hist = NULL;
    }
    ses_load_free(&L);
    return rc;
}
