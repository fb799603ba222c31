/* cmd.c - libFuzzer harness for the command language: each line of the input is split into words (and each word must survive quoting), run as a command against a stand-in engine, and completed. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common.h"
#include "engine/engine.h"
#include "engine/settings.h"
#include "ui/cmd.h"

/* ---- a stand-in for the engine ----
 *
 * The commands see the engine through eng_snapshot and eng_post only.
 * This one has no thread: it keeps a status, applies the settings and the
 * prime it is sent (as the engine would, so later lines see them) and
 * checks that every command it is given is one the engine can take. */

static eng_status status;
static long last_id;

const char *eng_state_name(eng_state s)
{
    return s == ENG_TRAINING ? "training" : s == ENG_PAUSED ? "paused" : "idle";
}

void eng_model_desc(const eng_status *s, char *buf, size_t len)
{
    snprintf(buf, len, "%s %dx%d", model_cell_name(s->cfg.train.model.cell),
             s->cfg.train.model.layers, s->cfg.train.model.hidden);
}

void eng_snapshot(eng *e, eng_status *out)
{
    (void)e;
    *out = status;
}

static void check_posted(const eng_cmd *c)
{
    char err[512];
    if (!memchr(c->str, '\0', sizeof c->str))
        fz_fail("command %d: str is not terminated", (int)c->type);
    switch (c->type) {
    case ENG_CMD_SET:
        if (setting_apply(c->key, c->str, &status.cfg, err, sizeof err) != 0)
            fz_fail("set was posted a value the setting refuses: %s", err);
        break;
    case ENG_CMD_PRIME:
        if (strlen(c->str) >= sizeof status.cfg.sample.prime)
            fz_fail("prime of %zu bytes was posted", strlen(c->str));
        snprintf(status.cfg.sample.prime, sizeof status.cfg.sample.prime, "%s", c->str);
        break;
    case ENG_CMD_MODEL:
        if (c->model.layers < 1 || c->model.layers > MODEL_MAX_LAYERS ||
            c->model.hidden < 1 || c->model.embed < 1 ||
            !(c->model.dropout >= 0 && c->model.dropout < 1) ||
            (c->model.tie && c->model.embed != c->model.hidden))
            fz_fail("model was posted a configuration it cannot build");
        break;
    case ENG_CMD_TRAIN:
        if ((c->steps > 0) + (c->epochs > 0) + (c->seconds > 0) > 1 || c->steps < 0 ||
            c->epochs < 0 || c->seconds < 0)
            fz_fail("train was posted more than one limit");
        break;
    case ENG_CMD_SAMPLE:
        if (c->n < 0 || c->n > 100000)
            fz_fail("sample was posted %ld tokens", c->n);
        break;
    case ENG_CMD_EVAL:
        if (c->split != SPLIT_TRAIN && c->split != SPLIT_VAL && c->split != SPLIT_TEST)
            fz_fail("eval was posted split %d", c->split);
        break;
    default:
        break;
    }
}

long eng_post(eng *e, const eng_cmd *c)
{
    (void)e;
    check_posted(c);
    return ++last_id;
}

/* ---- the harness ---- */

static cmd_env env;
static int answer;

static void print_line(void *ctx, cmd_stream s, const char *line)
{
    (void)ctx;
    /* Lines may quote what was typed, a newline typed as "\n" included,
     * but escaped: each stays one line; an error is never empty. */
    if (s == CMD_ERR || line[0])
        fz_check_message(s == CMD_ERR ? "an error line" : "an output line", line);
}

static int ask(void *ctx, const char *question)
{
    (void)ctx, (void)question;
    return answer;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char path[1024];
    (void)argc, (void)argv;
    const char *dir = fz_scratch_dir("cmd");
    /* One saved session for sessions, open and completion to find. */
    if (mkdir(fz_path(path, sizeof path, dir, "s1"), 0777) != 0)
        fz_fail("cannot make %s", path);
    fz_write_file(fz_path(path, sizeof path, dir, "s1/session.json"), "{}\n", 3);
    snprintf(env.sessions_dir, sizeof env.sessions_dir, "%s", dir);
    env.ui.print = print_line;
    env.ui.ask = ask;
    return 0;
}

/* The first byte sets the scene: bit 0 a model is loaded, 1 it has
 * unsaved changes, 2 it has trained, 3 questions are answered yes, 4-5
 * the state, 6 a corpus and a session are named, 7 a person types. */
static void reset(uint8_t scene)
{
    memset(&status, 0, sizeof status);
    setting_defaults(&status.cfg);
    snprintf(status.cfg.device, sizeof status.cfg.device, "cpu");
    status.loaded = scene & 1;
    status.dirty = (scene >> 1) & 1;
    status.step = (scene >> 2) & 1 ? 120 : 0;
    answer = (scene >> 3) & 1;
    status.state = (eng_state)(((scene >> 4) & 3) % 3);
    status.val_loss = 1.5;
    status.goal_step = -1;
    if (scene & 0x40) {
        snprintf(status.corpus, sizeof status.corpus, "data/tiny-plays.txt");
        snprintf(status.session, sizeof status.session, "sessions/plays");
    }
    env.interactive = scene >> 7;
}

/* text, quoted by cmd_quote or written between double quotes by
 * cmd_escape, must split back into exactly that word. */
static void check_quoting(const char *word)
{
    size_t n = strlen(word), cap = 4 * n + 16;
    char *line = malloc(cap), *buf = malloc(cap), *argv[3], err[256] = "";
    if (!line || !buf)
        goto out;
    if (cmd_quote("w", word, line, cap) != 0)
        fz_fail("cmd_quote: %zu bytes do not fit in %zu", n, cap);
    if (cmd_tokenize(line, argv, 3, buf, cap, err, sizeof err) != 2 ||
        strcmp(argv[0], "w") != 0 || strcmp(argv[1], word) != 0)
        fz_fail("cmd_quote: \"%s\" does not split back into its word (%s)", line, err);
    /* at most two bytes a character: cap leaves room to spare */
    line[0] = '"';
    cmd_escape(word, line + 1, cap - 2);
    strcat(line, "\"");
    if (cmd_tokenize(line, argv, 3, buf, cap, err, sizeof err) != 1 ||
        strcmp(argv[0], word) != 0)
        fz_fail("cmd_escape: %s does not split back into its word (%s)", line, err);
out:
    free(line);
    free(buf);
}

static void check_words(const char *line)
{
    char buf[8192], err[256] = "", *argv[CMD_MAX_ARGS];
    int n = cmd_tokenize(line, argv, CMD_MAX_ARGS, buf, sizeof buf, err, sizeof err);
    if (n < 0) {
        fz_check_message("cmd_tokenize", err);
        return;
    }
    for (int i = 0; i < n; i++) {
        if (argv[i] < buf || argv[i] >= buf + sizeof buf ||
            !memchr(argv[i], '\0', (size_t)(buf + sizeof buf - argv[i])))
            fz_fail("cmd_tokenize: word %d is not within the buffer", i);
        check_quoting(argv[i]);
    }
}

/* Completion of the line's last word, as Tab would ask for it. */
static void complete(const char *line)
{
    size_t n = strlen(line), cut = n;
    while (cut > 0 && line[cut - 1] != ' ' && line[cut - 1] != '\t')
        cut--;
    char *before = strndup(line, cut);
    int files = 0;
    if (!before)
        return;
    char **c = cmd_complete(&env, before, line + cut, &files);
    for (size_t i = 0; c && c[i]; i++) {
        if (strncmp(c[i], line + cut, n - cut) != 0)
            fz_fail("completion '%s' does not extend '%s'", c[i], line + cut);
        free(c[i]);
    }
    free(c);
    free(before);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    reset(data[0]);
    char *text = malloc(size);
    if (!text)
        return 0;
    memcpy(text, data + 1, size - 1);
    text[size - 1] = '\0';
    char status_line[1024];
    for (char *line = text, *next; line; line = next) {
        next = strchr(line, '\n');
        if (next)
            *next++ = '\0';
        check_words(line);
        int rc = cmd_execute(&env, line);
        if (rc != CMD_OK && rc != CMD_FAIL)
            fz_fail("cmd_execute returned %d", rc);
        complete(line);
        cmd_status_line(&status, 0, status_line, sizeof status_line);
    }
    free(text);
    return 0;
}
