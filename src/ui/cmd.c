/* cmd.c - the command table, the tokenizer, dispatch, help, completion
 * and the command handlers.  Handlers check their arguments completely
 * before posting anything, so a refused command changes nothing. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "ui/cmd.h"
#include "util/suggest.h"
#include "util/buf.h"
#include "text/corpus.h"
#include "text/tok_opt.h"
#include "train/optim.h"
#include "engine/settings.h"
#include "util/compat.h"

/* ------------------------------------------------------------------ */
/* Output */

/* Writes text into buf (len bytes) as one line: its control characters
 * (a newline typed as \n inside quotes and named back in an error, say)
 * as the escapes that type them, so that a message pane or a log shows
 * what was typed, on one line. */
static void one_line(const char *text, char *buf, size_t len)
{
    size_t o = 0;
    for (const unsigned char *p = (const unsigned char *)text; *p && o + 5 < len; p++) {
        if (*p >= 0x20 && *p != 0x7f)
            buf[o++] = (char)*p;
        else if (*p == '\n' || *p == '\t' || *p == '\r')
            o += (size_t)snprintf(buf + o, len - o, "\\%c",
                                  *p == '\n' ? 'n' : *p == '\t' ? 't' : 'r');
        else
            o += (size_t)snprintf(buf + o, len - o, "\\x%02x", *p);
    }
    buf[o] = '\0';
}

PRINTF_LIKE(3, 4)
static void out(cmd_env *env, cmd_stream s, const char *fmt, ...)
{
    char text[4096], buf[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    one_line(text, buf, sizeof buf);
    if (env->ui.print)
        env->ui.print(env->ui.ctx, s, buf);
}

/* A refused command: the problem and the usage.  Returns CMD_FAIL. */
PRINTF_LIKE(3, 4)
static int bad_usage(cmd_env *env, const cmd_def *d, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out(env, CMD_ERR, "%s: %s (usage: %s%s%s)", d->name, buf, d->name,
        d->args[0] ? " " : "", d->args);
    return CMD_FAIL;
}

/* A command that cannot be done now.  Returns CMD_FAIL. */
PRINTF_LIKE(3, 4)
static int refuse(cmd_env *env, const cmd_def *d, const char *fmt, ...)
{
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    out(env, CMD_ERR, "%s: %s", d->name, buf);
    return CMD_FAIL;
}

/* Asks, or in a script notes the question and goes ahead. */
static int confirm(cmd_env *env, const char *question)
{
    if (!env->interactive || !env->ui.ask) {
        out(env, CMD_OUT, "%s yes (script)", question);
        return 1;
    }
    return env->ui.ask(env->ui.ctx, question);
}

/* Posts c; returns CMD_OK, or CMD_FAIL when out of memory. */
static int post(cmd_env *env, const eng_cmd *c)
{
    long id = eng_post(env->e, c);
    if (id < 0) {
        out(env, CMD_ERR, "out of memory");
        return CMD_FAIL;
    }
    env->posted = id;
    return CMD_OK;
}

static eng_cmd new_cmd(eng_cmd_type type)
{
    eng_cmd c;
    memset(&c, 0, sizeof c);
    c.type = type;
    return c;
}

/* Parses a whole number in [lo, hi]; returns 0 or -1. */
static int parse_long(const char *s, long lo, long hi, long *out_v)
{
    char *end;
    long v;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (*end || errno == ERANGE || v < lo || v > hi)
        return -1;
    *out_v = v;
    return 0;
}

static int parse_double(const char *s, double *out_v)
{
    char *end;
    double v;
    if (!*s || isspace((unsigned char)*s))
        return -1;
    v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -1;
    *out_v = v;
    return 0;
}

/* Splits "key=value"; returns 0, or -1 when there is no '='. */
static int split_kv(char *arg, char **key, char **value)
{
    char *eq = strchr(arg, '=');
    if (!eq || eq == arg)
        return -1;
    *eq = '\0';
    *key = arg;
    *value = eq + 1;
    return 0;
}

/* Writes text as the prime command takes it in double quotes: newlines,
 * tabs, quotes and backslashes escaped.  Never fails (truncates). */
const char *cmd_escape(const char *text, char *buf, size_t len)
{
    size_t o = 0;
    for (const char *p = text; *p && o + 3 < len; p++) {
        char e = *p == '\n' ? 'n' : *p == '\t' ? 't'
               : *p == '"' || *p == '\\' ? *p : 0;
        if (e) {
            buf[o++] = '\\';
            buf[o++] = e;
        } else {
            buf[o++] = *p;
        }
    }
    buf[o] = '\0';
    return buf;
}

static int is_dir(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

void cmd_default_sessions_dir(char *buf, size_t len)
{
    const char *xdg = getenv("XDG_DATA_HOME"), *home = getenv("HOME");
    if (is_dir("sessions"))
        snprintf(buf, len, "sessions");
    else if (xdg && xdg[0] == '/')
        snprintf(buf, len, "%s/rnnlab/sessions", xdg);
    else
        snprintf(buf, len, "%s/.local/share/rnnlab/sessions",
                 home && home[0] ? home : ".");
}

/* A bare name goes under the sessions directory; a path is used as is. */
static void session_path(const cmd_env *env, const char *arg, char *buf,
                         size_t len)
{
    if (strchr(arg, '/') || strcmp(arg, ".") == 0 || strcmp(arg, "..") == 0)
        snprintf(buf, len, "%s", arg);
    else
        snprintf(buf, len, "%.2000s/%.2000s", env->sessions_dir, arg);
}

/* Asks before a change that starts training over, when there is
 * training to lose.  Returns 1 to go ahead. */
static int may_discard(cmd_env *env, const char *what)
{
    eng_status s;
    char q[512];
    eng_snapshot(env->e, &s);
    if (!s.loaded || s.step == 0)
        return 1;
    snprintf(q, sizeof q, "%s; %ld %strained steps are lost. Go ahead?",
             what, s.step, s.dirty ? "unsaved " : "");
    return confirm(env, q);
}

/* ------------------------------------------------------------------ */
/* Handlers */

/* The settings load takes beside the tokenizer's options. */
static const char *const load_settings[ENG_LOAD_SETS] = {
    "embed-init", "embed-format", "embed-init-lower", "freeze-embed"
};

/* A setting given to load: checked as set checks it, kept for the engine
 * in c.  CMD_OK or CMD_FAIL. */
static int load_setting(cmd_env *env, const cmd_def *d, const char *key,
                        const char *value, eng_cmd *c)
{
    char why[400];
    setting_values scratch;
    int k = setting_find(key);
    setting_defaults(&scratch);
    if (setting_apply(k, value, &scratch, why, sizeof why) != 0)
        return bad_usage(env, d, "%s", why);
    if (c->n_sets >= ENG_LOAD_SETS)
        return bad_usage(env, d, "%s given twice", key);
    c->set_key[c->n_sets] = k;
    snprintf(c->set_value[c->n_sets++], sizeof c->set_value[0], "%s", value);
    return CMD_OK;
}

/* load's KEY=VALUE options: the tokenizer's into c->tok, the settings of
 * load_settings into c's list; CMD_OK or CMD_FAIL. */
static int load_options(cmd_env *env, const cmd_def *d, int argc, char **argv,
                        eng_cmd *c)
{
    char why[200], *key, *value;
    tok_options *o = &c->tok;
    for (int i = 2; i < argc; i++) {
        int opt, is_setting = 0;
        if (split_kv(argv[i], &key, &value) != 0)
            return bad_usage(env, d, "'%s' is not KEY=VALUE", argv[i]);
        for (int k = 0; k < ENG_LOAD_SETS; k++)
            is_setting |= strcmp(key, load_settings[k]) == 0;
        if (is_setting) {
            if (load_setting(env, d, key, value, c) != CMD_OK)
                return CMD_FAIL;
            continue;
        }
        if ((opt = tok_opt_find(key)) < 0)
            return bad_usage(env, d, "unknown option '%s'", key);
        if (tok_opt_parse(o, opt, value, why, sizeof why) != 0)
            return bad_usage(env, d, "%s: %s", key, why);
    }
    if (tok_opt_check(o, why, sizeof why) != 0)
        return bad_usage(env, d, "%s", why);
    return CMD_OK;
}

static int c_load(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_LOAD);
    struct stat st;
    c.tok = tok_options_default();
    if (load_options(env, d, argc, argv, &c) != CMD_OK)
        return CMD_FAIL;
    if (stat(argv[1], &st) != 0)
        return refuse(env, d, "%s: %s", argv[1], strerror(errno));
    if (S_ISDIR(st.st_mode))
        return refuse(env, d, "%s: is a directory (open loads a session)",
                      argv[1]);
    if (strlen(argv[1]) >= sizeof c.str)
        return refuse(env, d, "path too long");
    if (!may_discard(env, "load starts training over"))
        return refuse(env, d, "cancelled");
    snprintf(c.str, sizeof c.str, "%s", argv[1]);
    return post(env, &c);
}

/* The settings model takes as KEY=VALUE, read and checked through the
 * settings table as set does (the rest of its keys are no settings). */
static const char *const model_settings[] = {"dropout", "layer-norm", "softmax",
                                             "cutoffs", "div-value", "head-bias"};
#define N_MODEL_SETTINGS (sizeof model_settings / sizeof *model_settings)

/* A model_settings key into m; CMD_OK, CMD_FAIL or 1 when key is none. */
static int model_setting(cmd_env *env, const cmd_def *d, model_config *m,
                         const char *key, const char *value)
{
    char why[400];
    setting_values v;
    size_t i = 0;
    while (i < N_MODEL_SETTINGS && strcmp(key, model_settings[i]) != 0)
        i++;
    if (i == N_MODEL_SETTINGS)
        return 1;
    v.train.model = *m;
    if (setting_apply(setting_find(key), value, &v, why, sizeof why) != 0)
        return bad_usage(env, d, "%s", why);
    *m = v.train.model;
    return CMD_OK;
}

static int model_option(cmd_env *env, const cmd_def *d, model_config *m,
                        char *arg)
{
    char *key, *value;
    long v;
    int r;
    if (split_kv(arg, &key, &value) != 0)
        return bad_usage(env, d, "'%s' is not KEY=VALUE", arg);
    if ((r = model_setting(env, d, m, key, value)) != 1)
        return r;
    if (!strcmp(key, "layers") || !strcmp(key, "hidden") || !strcmp(key, "embed")) {
        long hi = !strcmp(key, "layers") ? MODEL_MAX_LAYERS : 65536;
        if (parse_long(value, 1, hi, &v) != 0)
            return bad_usage(env, d, "%s: '%s' is not a whole number from 1 "
                             "to %ld", key, value, hi);
        if (key[0] == 'l') m->layers = (int)v;
        else if (key[0] == 'h') m->hidden = (int)v;
        else m->embed = (int)v;
    } else if (!strcmp(key, "tie")) {
        if (strcmp(value, "on") && strcmp(value, "off"))
            return bad_usage(env, d, "%s: '%s' is not on or off", key, value);
        m->tie = !strcmp(value, "on");
    } else {
        const char *keys[4 + N_MODEL_SETTINGS] = {"layers", "hidden", "embed", "tie"};
        memcpy(keys + 4, model_settings, sizeof model_settings);
        const char *near = suggest_closest(key, keys, 4 + N_MODEL_SETTINGS);
        if (near)
            return bad_usage(env, d, "unknown option '%s'; did you mean '%s'?",
                             key, near);
        return bad_usage(env, d, "unknown option '%s'", key);
    }
    return CMD_OK;
}

static int c_model(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_MODEL);
    eng_status s;
    int cell = model_cell_parse(argv[1]), embed_given = 0;
    if (cell < 0)
        return bad_usage(env, d, "unknown model type '%s' (choose lstm, gru "
                         "or rnn)", argv[1]);
    eng_snapshot(env->e, &s);
    c.model = s.cfg.train.model;
    c.model.cell = (model_cell)cell;
    c.model.tie = 0;
    c.model.layer_norm = 0;
    for (int i = 2; i < argc; i++) {
        embed_given |= strncmp(argv[i], "embed=", 6) == 0;
        if (model_option(env, d, &c.model, argv[i]) != CMD_OK)
            return CMD_FAIL;
    }
    if (c.model.tie && !embed_given)
        c.model.embed = c.model.hidden;
    if (c.model.tie && c.model.embed != c.model.hidden)
        return bad_usage(env, d, "tie=on needs embed equal to hidden (they "
                         "are %d and %d)", c.model.embed, c.model.hidden);
    if (c.model.layer_norm && c.model.cell != CELL_LSTM)
        return bad_usage(env, d, "layer-norm=on is for lstm only (not %s)",
                         model_cell_name(c.model.cell));
    if (c.model.tie && c.model.softmax == SOFTMAX_ADAPTIVE)
        return bad_usage(env, d, "tie=on is for softmax=full (the adaptive "
                         "softmax has no decoder.weight to share)");
    if (!may_discard(env, "a new model starts training over"))
        return refuse(env, d, "cancelled");
    return post(env, &c);
}

static int c_set(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    char err[512], before[SETTING_PATH_MAX + 8], after[SETTING_PATH_MAX + 8], q[256];
    size_t n;
    const setting *tab = setting_table(&n);
    int key = setting_find(argv[1]);
    eng_status s;
    setting_values v;
    eng_cmd c = new_cmd(ENG_CMD_SET);
    (void)argc;
    if (key < 0) {
        const char *names[64];
        for (size_t i = 0; i < n && i < 64; i++)
            names[i] = tab[i].name;
        const char *near = suggest_closest(argv[1], names, n < 64 ? n : 64);
        if (near)
            return bad_usage(env, d, "unknown setting '%s'; did you mean "
                             "'%s'?", argv[1], near);
        return bad_usage(env, d, "unknown setting '%s' (show lists them)",
                         argv[1]);
    }
    eng_snapshot(env->e, &s);
    v = s.cfg;
    setting_format(key, &v, before, sizeof before);
    if (setting_apply(key, argv[2], &v, err, sizeof err) != 0)
        return bad_usage(env, d, "%s", err);
    setting_format(key, &v, after, sizeof after);
    if (strcmp(before, after) == 0 && tab[key].effect != SETTING_LIVE) {
        out(env, CMD_OUT, "%s is already %s", tab[key].name, after);
        return CMD_OK;
    }
    if (tab[key].effect == SETTING_RESET) {
        snprintf(q, sizeof q, "%s rebuilds the model", tab[key].name);
        if (!may_discard(env, q))
            return refuse(env, d, "cancelled; %s stays %s", tab[key].name,
                          before);
    }
    c.key = key;
    snprintf(c.str, sizeof c.str, "%s", argv[2]);
    if (post(env, &c) != CMD_OK)
        return CMD_FAIL;
    if (tab[key].effect == SETTING_LIVE)
        out(env, CMD_OUT, "%s = %s", tab[key].name, after);
    return CMD_OK;
}

/* One setting as `show` lists it: name and value, a short line that fits
 * the narrow message pane; with detail, its help below it. */
static void show_one(cmd_env *env, int i, const setting_values *v, int detail)
{
    size_t n;
    const setting *tab = setting_table(&n);
    char value[SETTING_PATH_MAX + 8], range[128];
    static const char *effect[] = {"takes effect at once",
                                   "restarts the optimizer",
                                   "rebuilds the model (asks first)",
                                   "moves the model"};
    setting_format(i, v, value, sizeof value);
    out(env, CMD_OUT, "  %-18s %s", tab[i].name, value);
    if (!detail)
        return;
    setting_range(i, range, sizeof range);
    out(env, CMD_OUT, "    %s", tab[i].summary);
    out(env, CMD_OUT, "    range %s", range);
    out(env, CMD_OUT, "    default %s; %s", tab[i].def, effect[tab[i].effect]);
    if (tab[i].option)
        out(env, CMD_OUT, "    command line: rnnlab %s", tab[i].option);
}

static int c_show(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_status s;
    size_t n;
    char line[512];
    eng_snapshot(env->e, &s);
    setting_table(&n);
    if (argc == 2) {
        int i = setting_find(argv[1]);
        if (i < 0 && strcmp(argv[1], "model") != 0 && strcmp(argv[1], "prime") != 0)
            return bad_usage(env, d, "unknown setting '%s'", argv[1]);
        if (i >= 0)
            show_one(env, i, &s.cfg, 1);
        else if (argv[1][0] == 'p')
            out(env, CMD_OUT, "  %-18s \"%s\"", "prime",
                cmd_escape(s.cfg.sample.prime, line, sizeof line));
        else {
            eng_model_desc(&s, line, sizeof line);
            out(env, CMD_OUT, "  %-18s %s", "model", line);
        }
        return CMD_OK;
    }
    const model_config *m = &s.cfg.train.model;
    eng_model_desc(&s, line, sizeof line);
    char drops[96];
    model_drop_desc(m, drops, sizeof drops);
    out(env, CMD_OUT, "model: %s; embed %d, %s%s", line, m->embed, drops,
        m->tie ? ", tied" : "");
    out(env, CMD_OUT, "corpus: %s", s.corpus[0] ? s.corpus : "(none)");
    out(env, CMD_OUT, "session: %s%s", s.session[0] ? s.session : "(not saved)",
        s.dirty ? " (unsaved changes)" : "");
    if (env->serving)
        out(env, CMD_OUT, "serving: http://127.0.0.1:%d, model \"live\" (%lu requests "
            "so far)", env->serving_port, env->server->requests(env->serving));
    else
        out(env, CMD_OUT, "serving: no (serve [PORT] starts)");
    out(env, CMD_OUT, "settings (show KEY explains one):");
    for (size_t i = 0; i < n; i++)
        show_one(env, (int)i, &s.cfg, 0);
    out(env, CMD_OUT, "  %-18s \"%s\"", "prime",
        cmd_escape(s.cfg.sample.prime, line, sizeof line));
    return CMD_OK;
}

static int c_train(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_TRAIN);
    for (int i = 1; i < argc; i++) {
        char *key, *value;
        if (split_kv(argv[i], &key, &value) != 0)
            return bad_usage(env, d, "'%s' is not steps=N, epochs=N or "
                             "time=SECONDS", argv[i]);
        if (!strcmp(key, "steps")) {
            if (parse_long(value, 1, LONG_MAX / 2, &c.steps) != 0)
                return bad_usage(env, d, "steps: '%s' is not a whole number "
                                 ">= 1", value);
        } else if (!strcmp(key, "epochs")) {
            if (parse_double(value, &c.epochs) != 0 || c.epochs <= 0)
                return bad_usage(env, d, "epochs: '%s' is not a number > 0",
                                 value);
        } else if (!strcmp(key, "time")) {
            if (parse_double(value, &c.seconds) != 0 || c.seconds <= 0)
                return bad_usage(env, d, "time: '%s' is not a number of "
                                 "seconds > 0", value);
        } else if (!strcmp(key, "patience")) {
            long p;
            if (parse_long(value, 1, 1000000, &p) != 0)
                return bad_usage(env, d, "patience: '%s' is not a whole number "
                                 "from 1 to 1000000", value);
            c.patience = (int)p;
        } else if (!strcmp(key, "min-delta")) {
            if (parse_double(value, &c.min_delta) != 0 || c.min_delta < 0)
                return bad_usage(env, d, "min-delta: '%s' is not a number >= 0",
                                 value);
        } else {
            return bad_usage(env, d, "unknown option '%s' (steps, epochs, time, "
                             "patience or min-delta)", key);
        }
    }
    if ((c.steps > 0) + (c.epochs > 0) + (c.seconds > 0) > 1)
        return bad_usage(env, d, "give one of steps, epochs and time");
    return post(env, &c);
}

static int c_simple(cmd_env *env, eng_cmd_type type)
{
    eng_cmd c = new_cmd(type);
    return post(env, &c);
}

static int c_pause(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    (void)d, (void)argc, (void)argv;
    return c_simple(env, ENG_CMD_PAUSE);
}

static int c_resume(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    (void)d, (void)argc, (void)argv;
    return c_simple(env, ENG_CMD_RESUME);
}

static int c_stop(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    (void)d, (void)argc, (void)argv;
    return c_simple(env, ENG_CMD_STOP);
}

static int c_wait(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    (void)d, (void)argc, (void)argv;
    env->want_wait = 1;
    return CMD_OK;
}

static int c_eval(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_EVAL);
    c.split = SPLIT_VAL;
    if (argc == 2) {
        c.split = corpus_split_parse(argv[1]);
        if (c.split < 0 || c.split == SPLIT_ALL)
            return bad_usage(env, d, "unknown split '%s' (choose train, val "
                             "or test)", argv[1]);
    }
    return post(env, &c);
}

static int c_prime(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_PRIME);
    size_t o = 0;
    for (int i = 1; i < argc; i++) {
        size_t l = strlen(argv[i]);
        if (o + l + 2 > 256)
            return bad_usage(env, d, "the prime is longer than 255 bytes");
        if (i > 1)
            c.str[o++] = ' ';
        memcpy(c.str + o, argv[i], l);
        o += l;
    }
    c.str[o] = '\0';
    if (post(env, &c) != CMD_OK)
        return CMD_FAIL;
    char shown[600];
    if (o > 0)
        out(env, CMD_OUT, "prime = \"%s\"", cmd_escape(c.str, shown, sizeof shown));
    else
        out(env, CMD_OUT, "prime cleared");
    return CMD_OK;
}

static int c_sample(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_SAMPLE);
    if (argc == 2 && parse_long(argv[1], 1, 100000, &c.n) != 0)
        return bad_usage(env, d, "'%s' is not a whole number from 1 to 100000",
                         argv[1]);
    return post(env, &c);
}

/* A fresh session name: the corpus's base name and the time. */
static void new_session_name(const eng_status *s, char *buf, size_t len)
{
    char stem[64] = "session", stamp[32];
    const char *base = strrchr(s->corpus, '/');
    time_t now = time(NULL);
    struct tm tm;
    base = base ? base + 1 : s->corpus;
    if (base[0]) {
        snprintf(stem, sizeof stem, "%.63s", base);
        char *dot = strrchr(stem, '.');
        if (dot && dot != stem)
            *dot = '\0';
    }
    localtime_r(&now, &tm);
    strftime(stamp, sizeof stamp, "%Y%m%d-%H%M%S", &tm);
    snprintf(buf, len, "%s-%s", stem, stamp);
}

static int c_save(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_SAVE);
    eng_status s;
    char name[128];
    eng_snapshot(env->e, &s);
    if (!s.loaded)
        return refuse(env, d, "nothing to save (no model yet)");
    if (argc == 2) {
        session_path(env, argv[1], c.str, sizeof c.str);
    } else if (s.session[0]) {
        snprintf(c.str, sizeof c.str, "%s", s.session);
    } else {
        new_session_name(&s, name, sizeof name);
        session_path(env, name, c.str, sizeof c.str);
    }
    return post(env, &c);
}

static int c_open(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_cmd c = new_cmd(ENG_CMD_OPEN);
    char path[4096];
    eng_status s;
    (void)argc;
    session_path(env, argv[1], path, sizeof path);
    if (!is_dir(path) && is_dir(argv[1]))
        snprintf(path, sizeof path, "%s", argv[1]);
    if (!is_dir(path))
        return refuse(env, d, "%s: no such session (sessions lists them)",
                      argv[1]);
    eng_snapshot(env->e, &s);
    if (s.loaded && s.dirty && s.step > 0 &&
        !confirm(env, "the current model has unsaved training; open another "
                 "session anyway?"))
        return refuse(env, d, "cancelled");
    snprintf(c.str, sizeof c.str, "%s", path);
    return post(env, &c);
}

static int by_name(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int c_sessions(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    DIR *dir = opendir(env->sessions_dir);
    struct dirent *de;
    char *names[512], path[4600], when[32];
    size_t n = 0;
    (void)argc, (void)argv;
    if (!dir) {
        if (errno == ENOENT) {
            out(env, CMD_OUT, "no sessions yet in %s", env->sessions_dir);
            return CMD_OK;
        }
        return refuse(env, d, "%s: %s", env->sessions_dir, strerror(errno));
    }
    while ((de = readdir(dir)) != NULL && n < 512) {
        struct stat st;
        snprintf(path, sizeof path, "%s/%s/session.json", env->sessions_dir,
                 de->d_name);
        if (de->d_name[0] != '.' && stat(path, &st) == 0)
            names[n++] = strdup(de->d_name);
    }
    closedir(dir);
    qsort(names, n, sizeof names[0], by_name);
    out(env, CMD_OUT, "%zu session%s in %s", n, n == 1 ? "" : "s",
        env->sessions_dir);
    for (size_t i = 0; i < n; i++) {
        struct stat st;
        struct tm tm;
        if (!names[i])
            continue;
        snprintf(path, sizeof path, "%s/%s/session.json", env->sessions_dir,
                 names[i]);
        when[0] = '\0';
        if (stat(path, &st) == 0 && localtime_r(&st.st_mtime, &tm))
            strftime(when, sizeof when, "%Y-%m-%d %H:%M", &tm);
        out(env, CMD_OUT, "  %-32s %s", names[i], when);
        free(names[i]);
    }
    return CMD_OK;
}

static int c_status(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_status s;
    char line[1024];
    (void)d, (void)argc, (void)argv;
    eng_snapshot(env->e, &s);
    cmd_status_line(&s, env->serving ? env->serving_port : 0, line, sizeof line);
    out(env, CMD_OUT, "%s", line);
    return CMD_OK;
}

void cmd_serve_stop(cmd_env *env)
{
    if (!env->serving)
        return;
    env->server->stop(env->serving);
    env->serving = NULL;
    env->serving_port = 0;
}

static int c_serve(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_status s;
    char err[512];
    long port = CMD_SERVE_PORT;
    if (argc == 2 && !strcmp(argv[1], "stop")) {
        if (!env->serving) {
            out(env, CMD_ERR, "serve stop: not serving");
            return CMD_FAIL;
        }
        unsigned long n = env->server->requests(env->serving);
        cmd_serve_stop(env);
        out(env, CMD_OUT, "stopped serving (%lu request%s answered)", n, n == 1 ? "" : "s");
        return CMD_OK;
    }
    if (argc == 2 && parse_long(argv[1], 0, 65535, &port) != 0)
        return bad_usage(env, d, "'%s' is not a port (0 to 65535) or stop", argv[1]);
    if (!env->server) {
        out(env, CMD_ERR, "serve: this rnnlab was built without libmicrohttpd (Debian: "
            "apt-get install libmicrohttpd-dev, then ./configure and make again)");
        return CMD_FAIL;
    }
    if (env->serving) {
        out(env, CMD_ERR, "serve: already serving on http://127.0.0.1:%d (serve stop "
            "first)", env->serving_port);
        return CMD_FAIL;
    }
    eng_snapshot(env->e, &s);
    if (!s.loaded) {
        out(env, CMD_ERR, "serve: no model yet (load a corpus or open a session)");
        return CMD_FAIL;
    }
    if (!(env->serving = env->server->start(env->e, (int)port, &env->serving_port, err,
                                            sizeof err))) {
        out(env, CMD_ERR, "serve: %s", err);
        return CMD_FAIL;
    }
    out(env, CMD_OUT, "serving the model being trained on http://127.0.0.1:%d (model "
        "\"live\", its weights copied every %g s of training; serve stop ends it)",
        env->serving_port, ENG_WEIGHTS_PERIOD);
    return CMD_OK;
}

static int c_help(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    (void)d;
    if (argc == 1)
        env->want_help = 1;
    return cmd_help(env, argc == 2 ? argv[1] : NULL);
}

static int c_quit(cmd_env *env, const cmd_def *d, int argc, char **argv)
{
    eng_status s;
    (void)d, (void)argc, (void)argv;
    eng_snapshot(env->e, &s);
    if (env->interactive && env->ui.ask && s.loaded && s.dirty && s.step > 0
        && env->ui.ask(env->ui.ctx, "the model has unsaved training; save "
                       "it before quitting?")) {
        char *args[] = {"save", NULL};
        if (cmd_find("save")->run(env, cmd_find("save"), 1, args) != CMD_OK)
            return CMD_FAIL;
    }
    env->want_quit = 1;
    return CMD_OK;
}

/* ------------------------------------------------------------------ */
/* The table */

static const cmd_def commands[] = {
    {"load", "PATH [tokens=char|word|bpe] [KEY=VALUE]...",
     "load a corpus (starts training over)",
     "Reads a text file as the corpus; the model is rebuilt for its\n"
     "vocabulary, so unsaved training is lost (you are asked first).\n"
     "tokens= says what a token is: char (default), word (<eos> ends\n"
     "each line) or bpe (byte-level BPE learned from the training part).\n"
     "word: min-count=N (1 to 4294967295, default 1: rarer words become\n"
     "<unk>), max-vocab=N (2 to 16777216, default no limit),\n"
     "lowercase=on|off (default off; Latin, Greek, Cyrillic, Armenian),\n"
     "word-letters=on|off (default off: on keeps only\n"
     "words made of letters).  bpe: bpe-vocab=N (257 to 65536, default\n"
     "1024), bpe-sample=BYTES (learn from at most this much of the\n"
     "training text, default 1 GiB).  A session saved keeps its tokenizer.\n"
     "embed-init=FILE starts the embedding from pretrained vectors (a\n"
     "word2vec .bin, a word2vec / fastText .vec or a GloVe text file; the\n"
     "embedding takes the file's size), embed-format=auto|bin|vec|glove,\n"
     "embed-init-lower=on also matches words ignoring case, and\n"
     "freeze-embed=on keeps the embedding fixed; these are settings too\n"
     "(show embed-init).",
     1, 12, c_load, CMPL_FILE},
    {"model", "TYPE [layers=N] [hidden=N] [embed=N] [dropout=P] [tie=on|off] "
     "[layer-norm=on|off] [softmax=full|adaptive] [cutoffs=A,B,...] "
     "[div-value=X] [head-bias=on|off]",
     "a new model: lstm, gru or rnn",
     "Builds a new model on the current corpus.  Options not given keep\n"
     "their current values, but tie and layer-norm are off unless given;\n"
     "tie=on uses the embedding as the decoder (embed must equal hidden,\n"
     "and is set so when not given); layer-norm=on (lstm only) makes it\n"
     "a LayerNorm LSTM (see the README; `set layer-norm on` does too).\n"
     "softmax=adaptive makes the output layer PyTorch's adaptive softmax\n"
     "(AdaptiveLogSoftmaxWithLoss; not with tie=on): cutoffs=A,B,... are\n"
     "the token ids where its clusters start (increasing, each below the\n"
     "vocabulary; none by default, so give them), div-value=X (> 0,\n"
     "default 4) divides hidden by X^(i+1) for cluster i's projection,\n"
     "head-bias=on gives its head a bias (default off).  dropout and these\n"
     "are the settings of the same names (show softmax explains one).",
     1, 11, c_model, CMPL_MODEL},
    {"set", "KEY VALUE", "change a setting (show lists them)",
     "Live settings (lr, the schedule's, clip, dropout, sampling, weights,\n"
     "eval-every, threads, freeze-embed) take effect at once, schedule\n"
     "planning itself afresh over the rest of the run.  dropout-input,\n"
     "dropout-hidden and dropout-output give the embedding output, the\n"
     "places between layers and the last layer's output rates of their\n"
     "own; `set dropout-input unset` gives it back to dropout.  optimizer restarts\n"
     "the optimizer's state; device moves the model and its optimizer\n"
     "state; batch, seq-len, seed, layer-norm, embed-init, embed-format,\n"
     "embed-init-lower and the output layer's softmax, cutoffs, div-value\n"
     "and head-bias rebuild the model (you are asked).",
     2, 2, c_set, CMPL_SETTING},
    {"show", "[KEY]", "current settings and model summary",
     "Lists each setting and its value, after the model, its tokenizer\n"
     "and vocabulary size; show KEY adds what it does, its range, default\n"
     "and when it takes effect.",
     0, 1, c_show, CMPL_SETTING},
    {"train", "[steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X]",
     "start or continue training in the background",
     "Without a limit training runs until pause or stop.  With one it\n"
     "stops after N more steps, N more passes over the training text\n"
     "(fractions allowed) or SECONDS of training (pauses not counted),\n"
     "and validates.  patience=N also stops it once N validations in a\n"
     "row have not improved on its best by more than min-delta.  After\n"
     "save, training saves the session again every save-every of\n"
     "training, so a crash loses little.",
     0, 4, c_train, CMPL_TRAIN},
    {"pause", "", "pause training (resume continues)", NULL,
     0, 0, c_pause, CMPL_NONE},
    {"resume", "", "continue paused training", NULL,
     0, 0, c_resume, CMPL_NONE},
    {"stop", "", "stop training and validate", NULL,
     0, 0, c_stop, CMPL_NONE},
    {"wait", "", "block until the running training or sample finishes",
     "Waits for a bounded train (steps= or time=) to end.  Ctrl-C (in\n"
     "the screen, any key) stops waiting.", 0, 0, c_wait, CMPL_NONE},
    {"eval", "[train|val|test]", "measure the loss on a split (default val)",
     NULL, 0, 1, c_eval, CMPL_SPLIT},
    {"prime", "[TEXT]", "the text samples start from (none: clear it)",
     "Words are joined by single spaces; quote the text to keep spaces,\n"
     "and use \"\\n\" inside double quotes for a new line.",
     0, -1, c_prime, CMPL_NONE},
    {"sample", "[N]", "generate N tokens from the prime",
     "Uses the temperature and the other sampling settings; N defaults\n"
     "to sample-length.  Training goes on after the sample.",
     0, 1, c_sample, CMPL_NONE},
    {"save", "[NAME|PATH]", "save the session",
     "A bare NAME goes under the sessions directory; a PATH is used as\n"
     "given.  Without one: where it was last saved or opened from, else\n"
     "a new name from the corpus and the time.",
     0, 1, c_save, CMPL_SESSION},
    {"open", "NAME|PATH", "open a saved session (paused)", NULL,
     1, 1, c_open, CMPL_SESSION},
    {"sessions", "", "list saved sessions", NULL, 0, 0, c_sessions, CMPL_NONE},
    {"status", "", "state, step, loss, speed, model and vocabulary in one line", NULL,
     0, 0, c_status, CMPL_NONE},
    {"serve", "[PORT | stop]", "serve the model being trained over HTTP",
     "Answers rnnlab serve's endpoints (/v1/completions, /v1/generate,\n"
     "/v1/models, /health, /metrics) on 127.0.0.1:PORT (default 8080; 0\n"
     "picks a free port, told in the messages) while training goes on.\n"
     "The model is \"live\"; requests get a copy of its weights taken\n"
     "between training steps (every 2 s of training, and at once when the\n"
     "model changes or training stops), generate on the server's own\n"
     "thread and never hold training up.  Settings a request leaves out\n"
     "are the sampling settings (set temperature ...).  Loopback only, no\n"
     "key; requests are not logged (GET /metrics counts them).  serve stop\n"
     "ends it, cancelling generations in flight; quit ends it too.",
     0, 1, c_serve, CMPL_NONE},
    {"help", "[COMMAND]", "list the commands, or explain one", NULL,
     0, 1, c_help, CMPL_COMMAND},
    {"quit", "", "leave rnnlab (asks to save unsaved training)", NULL,
     0, 0, c_quit, CMPL_NONE},
};

#define N_COMMANDS (sizeof commands / sizeof commands[0])

const cmd_def *cmd_table(size_t *n)
{
    *n = N_COMMANDS;
    return commands;
}

const cmd_def *cmd_find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

const char *cmd_suggest(const char *name)
{
    const char *names[N_COMMANDS];
    for (size_t i = 0; i < N_COMMANDS; i++)
        names[i] = commands[i].name;
    return suggest_closest(name, names, N_COMMANDS);
}

int cmd_help(cmd_env *env, const char *name)
{
    if (name) {
        const cmd_def *d = cmd_find(name);
        if (!d) {
            const char *near = cmd_suggest(name);
            if (near)
                out(env, CMD_ERR, "help: unknown command '%s'; did you mean "
                    "'%s'?", name, near);
            else
                out(env, CMD_ERR, "help: unknown command '%s'", name);
            return CMD_FAIL;
        }
        out(env, CMD_OUT, "usage: %s%s%s", d->name, d->args[0] ? " " : "",
            d->args);
        out(env, CMD_OUT, "  %s", d->summary);
        for (const char *p = d->help; p && *p;) {
            size_t l = strcspn(p, "\n");
            out(env, CMD_OUT, "  %.*s", (int)l, p);
            p += l + (p[l] == '\n');
        }
        if (d->completion == CMPL_SETTING) {
            size_t n;
            const setting *tab = setting_table(&n);
            char keys[80];
            size_t o = 0;
            const char *label = "keys:";
            /* a few keys a line: the message pane is narrow */
            for (size_t i = 0; i < n; i++) {
                if (o > 0 && o + strlen(tab[i].name) + 1 > 60) {
                    out(env, CMD_OUT, "  %s %s", label, keys);
                    label = "     ";
                    o = 0;
                }
                o += (size_t)snprintf(keys + o, sizeof keys - o, "%s%s",
                                      o ? " " : "", tab[i].name);
            }
            out(env, CMD_OUT, "  %s %s", label, keys);
            out(env, CMD_OUT, "  show KEY explains one: its range, default "
                "and when it takes effect");
        }
        return CMD_OK;
    }
    out(env, CMD_OUT, "commands:");
    for (size_t i = 0; i < N_COMMANDS; i++) {
        char usage[96];
        snprintf(usage, sizeof usage, "%s%s%s", commands[i].name,
                 commands[i].args[0] ? " " : "", commands[i].args);
        if (strlen(usage) > 28)
            snprintf(usage, sizeof usage, "%s %s", commands[i].name, "...");
        out(env, CMD_OUT, "  %-28s %s", usage, commands[i].summary);
    }
    out(env, CMD_OUT, "help COMMAND explains one; Tab completes.");
    return CMD_OK;
}

/* ------------------------------------------------------------------ */
/* Tokenizer and dispatch */

int cmd_tokenize(const char *line, char **argv, int max_args, char *buf,
                 size_t bufsize, char *err, size_t errlen)
{
    const char *p = line;
    size_t o = 0;
    int argc = 0;
    for (;;) {
        while (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n')
            p++;
        if (!*p || *p == '#')
            return argc;
        if (argc == max_args) {
            snprintf(err, errlen, "too many words (at most %d)", max_args);
            return -1;
        }
        argv[argc++] = buf + o;
        while (*p && *p != ' ' && *p != '\t' && *p != '\r' && *p != '\n') {
            char q = 0, ch;
            if (*p == '\'' || *p == '"')
                q = *p++;
            do {
                if (q && !*p) {
                    snprintf(err, errlen, "unterminated %s quote",
                             q == '"' ? "double" : "single");
                    return -1;
                }
                if (q && *p == q) {
                    p++;
                    break;
                }
                ch = *p++;
                if (ch == '\\' && q != '\'' && *p) {
                    ch = *p++;
                    if (q == '"' && ch == 'n') ch = '\n';
                    else if (q == '"' && ch == 't') ch = '\t';
                }
                if (o + 2 > bufsize) {
                    snprintf(err, errlen, "line too long");
                    return -1;
                }
                buf[o++] = ch;
            } while (q);
        }
        buf[o++] = '\0';
    }
}

int cmd_quote(const char *verb, const char *arg, char *buf, size_t len)
{
    size_t o = (size_t)snprintf(buf, len, "%s '", verb);
    for (const char *p = arg; *p; p++) {
        /* a quote ends the quoted part, goes in escaped, and reopens it */
        const char *piece = *p == '\'' ? "'\\''" : NULL;
        size_t n = piece ? 4 : 1;
        if (o + n + 2 > len)
            return -1;
        if (piece)
            memcpy(buf + o, piece, n);
        else
            buf[o] = *p;
        o += n;
    }
    if (o + 2 > len)
        return -1;
    buf[o++] = '\'';
    buf[o] = '\0';
    return 0;
}

int cmd_execute(cmd_env *env, const char *line)
{
    char buf[8192], err[256], *argv[CMD_MAX_ARGS];
    const cmd_def *d;
    int argc;
    env->posted = 0;
    env->want_wait = env->want_quit = env->want_help = 0;
    argc = cmd_tokenize(line, argv, CMD_MAX_ARGS, buf, sizeof buf, err,
                        sizeof err);
    if (argc < 0) {
        out(env, CMD_ERR, "%s", err);
        return CMD_FAIL;
    }
    if (argc == 0)
        return CMD_OK;
    if ((d = cmd_find(argv[0])) == NULL) {
        const char *near = cmd_suggest(argv[0]);
        if (near)
            out(env, CMD_ERR, "unknown command '%s'; did you mean '%s'?",
                argv[0], near);
        else
            out(env, CMD_ERR, "unknown command '%s' (help lists the commands)",
                argv[0]);
        return CMD_FAIL;
    }
    if (argc - 1 < d->min_args)
        return bad_usage(env, d, "missing %s", argc == 1 && d->min_args == 2
                         ? "arguments" : "an argument");
    if (d->max_args >= 0 && argc - 1 > d->max_args)
        return bad_usage(env, d, "unexpected argument '%s'",
                         argv[d->max_args + 1]);
    return d->run(env, d, argc, argv);
}

/* ------------------------------------------------------------------ */
/* Completion */

typedef struct cand { char **v; size_t n, cap; int oom; } cand;

static void add(cand *c, const char *word, const char *s)
{
    if (c->oom || strncmp(s, word, strlen(word)) != 0)
        return;
    if (GROW_ARRAY(&c->v, &c->cap, c->n + 2, 16) < 0 ||
        (c->v[c->n] = strdup(s)) == NULL) {
        c->oom = 1;
        return;
    }
    c->v[++c->n] = NULL;
}

static void add_sessions(cmd_env *env, cand *c, const char *word)
{
    DIR *dir = opendir(env->sessions_dir);
    struct dirent *de;
    if (!dir)
        return;
    while ((de = readdir(dir)) != NULL)
        if (de->d_name[0] != '.')
            add(c, word, de->d_name);
    closedir(dir);
}

char **cmd_complete(cmd_env *env, const char *before, const char *word,
                    int *files)
{
    char buf[4096], err[64], *argv[CMD_MAX_ARGS];
    cand c = {NULL, 0, 0, 0};
    size_t n;
    int argc = cmd_tokenize(before, argv, CMD_MAX_ARGS, buf, sizeof buf,
                            err, sizeof err);
    const cmd_def *d = argc > 0 ? cmd_find(argv[0]) : NULL;
    const setting *tab = setting_table(&n);
    *files = 0;
    if (argc < 0)
        return NULL;
    if (argc == 0) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            add(&c, word, commands[i].name);
    } else if (!d) {
        /* nothing to complete after an unknown command */
    } else if (d->completion == CMPL_FILE) {
        *files = 1;
    } else if (d->completion == CMPL_SESSION && argc == 1) {
        add_sessions(env, &c, word);
        if (strchr(word, '/') || c.n == 0)
            *files = 1;
    } else if (d->completion == CMPL_SETTING && argc == 1) {
        for (size_t i = 0; i < n; i++)
            add(&c, word, tab[i].name);
        if (!strcmp(d->name, "show")) {
            add(&c, word, "model");
            add(&c, word, "prime");
        }
    } else if (d->completion == CMPL_SETTING && argc == 2) {
        int k = setting_find(argv[1]);
        if (k >= 0 && tab[k].type == SETTING_RATE)
            add(&c, word, SETTING_UNSET);
        if (k >= 0 && tab[k].type == SETTING_CHOICE) {
            char list[128];
            snprintf(list, sizeof list, "%s", tab[k].choices);
            for (char *t = strtok(list, " "); t; t = strtok(NULL, " "))
                add(&c, word, t);
        }
    } else if (d->completion == CMPL_COMMAND && argc == 1) {
        for (size_t i = 0; i < N_COMMANDS; i++)
            add(&c, word, commands[i].name);
    } else if (d->completion == CMPL_MODEL) {
        static const char *const types[] = {"lstm", "gru", "rnn"};
        static const char *const opts[] = {
            "layers=", "hidden=", "embed=", "dropout=", "tie=on", "tie=off",
            "layer-norm=on", "layer-norm=off", "softmax=full", "softmax=adaptive",
            "cutoffs=", "div-value=", "head-bias=on", "head-bias=off"};
        for (int i = 0; argc == 1 && i < 3; i++)
            add(&c, word, types[i]);
        for (size_t i = 0; argc > 1 && i < sizeof opts / sizeof *opts; i++)
            add(&c, word, opts[i]);
    } else if (d->completion == CMPL_TRAIN) {
        add(&c, word, "steps=");
        add(&c, word, "epochs=");
        add(&c, word, "time=");
        add(&c, word, "patience=");
        add(&c, word, "min-delta=");
    } else if (d->completion == CMPL_SPLIT && argc == 1) {
        add(&c, word, "train");
        add(&c, word, "val");
        add(&c, word, "test");
    }
    if (c.oom) {
        for (size_t i = 0; i < c.n; i++)
            free(c.v[i]);
        free(c.v);
        return NULL;
    }
    if (!c.v && !*files) {
        c.v = calloc(1, sizeof *c.v);
    }
    return c.v;
}

/* ------------------------------------------------------------------ */
/* Describing events and status */

static const char *split_label(int split)
{
    static const char *names[] = {"train", "val", "test", "all"};
    return (unsigned)split < 4 ? names[split] : "?";
}

int cmd_event_line(const eng_event *ev, char *buf, size_t len)
{
    switch (ev->type) {
    case ENG_EV_EVAL:
        snprintf(buf, len, "step %ld: %s loss %.4f  ppl %.2f  bpc %.3f  bpb %.3f  "
                 "acc %.3f", ev->step, split_label(ev->split), ev->eval.loss,
                 ev->eval.ppl, ev->eval.bpt, ev->bpb, ev->eval.acc);
        return 1;
    case ENG_EV_MESSAGE:
        one_line(ev->text ? ev->text : "", buf, len);
        return 1;
    case ENG_EV_ERROR:
        snprintf(buf, len, "error: ");
        one_line(ev->text ? ev->text : "", buf + strlen(buf), len - strlen(buf));
        return 1;
    default:
        return 0;
    }
}

void cmd_status_line(const eng_status *s, int serving_port, char *buf, size_t len)
{
    char model[128], val[48] = "", goal[48] = "", serving[32] = "";
    eng_model_desc(s, model, sizeof model);
    if (serving_port > 0)
        snprintf(serving, sizeof serving, "  serving :%d", serving_port);
    if (!s->loaded) {
        snprintf(buf, len, "%s; no corpus loaded; model %s%s",
                 eng_state_name(s->state), model, serving);
        return;
    }
    if (isfinite(s->val_loss))
        snprintf(val, sizeof val, "  val %.4f", s->val_loss);
    if (s->goal_step >= 0)
        snprintf(goal, sizeof goal, " of %ld", s->goal_step);
    snprintf(buf, len, "%s  step %ld%s  epoch %.2f  loss %.4f%s  %.0f tok/s  "
             "lr %.2g  %.0f s  %s  %s%s%s", eng_state_name(s->state), s->step,
             goal, s->epoch, (double)s->loss, val, s->tokens_per_s,
             (double)s->lr, s->elapsed, s->cfg.device, model,
             s->dirty ? "  [unsaved]" : "", serving);
}
