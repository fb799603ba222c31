/* check_cmd.c - the command language: the tokenizer, every command's good
 * and bad forms with their exact messages, "did you mean" hints, help,
 * completion, and the settings table.  Commands run against a real engine
 * with nothing loaded; a command accepted by the parser is posted
 * (env.posted > 0), a refused one posts nothing. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif
#include <check.h>
#include <poll.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "fixture.h"
#include "engine/settings.h"
#include "ui/cmd.h"
#include "util/suggest.h"

/* The printed lines of the last command. */
typedef struct capture {
    char out[8192];
    char err[1024];
    int n_out, n_err;
    int asked, answer;
} capture;

static void print_cb(void *ctx, cmd_stream s, const char *line)
{
    capture *c = ctx;
    char *buf = s == CMD_ERR ? c->err : c->out;
    size_t cap = s == CMD_ERR ? sizeof c->err : sizeof c->out;
    size_t len = strlen(buf);
    snprintf(buf + len, cap - len, "%s%s", len ? "\n" : "", line);
    if (s == CMD_ERR)
        c->n_err++;
    else
        c->n_out++;
}

static int ask_cb(void *ctx, const char *q)
{
    capture *c = ctx;
    (void)q;
    c->asked++;
    return c->answer;
}

static eng *E;
static cmd_env env;
static capture cap;

static void setup(void)
{
    char err[256];
    E = eng_new(err, sizeof err);
    ck_assert_msg(E != NULL, "%s", err);
    memset(&env, 0, sizeof env);
    env.e = E;
    env.ui.ctx = &cap;
    env.ui.print = print_cb;
    env.ui.ask = ask_cb;
    env.interactive = 1;
    snprintf(env.sessions_dir, sizeof env.sessions_dir, "/tmp/rnnlab-sessions-test");
}

static void teardown(void)
{
    eng_free(E);
}

/* Runs line; returns its result with the output in cap. */
static int exec(const char *line)
{
    int answer = cap.answer;          /* the answer to questions stays */
    memset(&cap, 0, sizeof cap);
    cap.answer = answer;
    return cmd_execute(&env, line);
}

/* line is accepted and posted to the engine. */
static void posts(const char *line)
{
    ck_assert_msg(exec(line) == CMD_OK, "'%s' refused: %s", line, cap.err);
    ck_assert_msg(env.posted > 0, "'%s' posted nothing", line);
}

/* line is refused with exactly msg, and nothing is posted. */
static void refused(const char *line, const char *msg)
{
    ck_assert_msg(exec(line) == CMD_FAIL, "'%s' accepted", line);
    ck_assert_int_eq(env.posted, 0);
    ck_assert_int_eq(cap.n_err, 1);
    ck_assert_str_eq(cap.err, msg);
}

/* ------------------------------------------------------------------ */

START_TEST(tokenizer)
{
    char buf[256], err[64], *argv[8];
    int n = cmd_tokenize("  set  temperature\t0.5 ", argv, 8, buf, sizeof buf,
                         err, sizeof err);
    ck_assert_int_eq(n, 3);
    ck_assert_str_eq(argv[0], "set");
    ck_assert_str_eq(argv[1], "temperature");
    ck_assert_str_eq(argv[2], "0.5");
    n = cmd_tokenize("prime 'a  b' \"c\\nd\" e\\ f x'y z'w", argv, 8, buf,
                     sizeof buf, err, sizeof err);
    ck_assert_int_eq(n, 5);
    ck_assert_str_eq(argv[1], "a  b");
    ck_assert_str_eq(argv[2], "c\nd");
    ck_assert_str_eq(argv[3], "e f");
    ck_assert_str_eq(argv[4], "xy zw");
    n = cmd_tokenize("'it''s' \"\" # comment", argv, 8, buf, sizeof buf, err,
                     sizeof err);
    ck_assert_int_eq(n, 2);
    ck_assert_str_eq(argv[0], "its");
    ck_assert_str_eq(argv[1], "");
    ck_assert_int_eq(cmd_tokenize("   ", argv, 8, buf, sizeof buf, err,
                                  sizeof err), 0);
    ck_assert_int_eq(cmd_tokenize("a 'b", argv, 8, buf, sizeof buf, err,
                                  sizeof err), -1);
    ck_assert_str_eq(err, "unterminated single quote");
    ck_assert_int_eq(cmd_tokenize("a \"b", argv, 8, buf, sizeof buf, err,
                                  sizeof err), -1);
    ck_assert_str_eq(err, "unterminated double quote");
    ck_assert_int_eq(cmd_tokenize("1 2 3", argv, 2, buf, sizeof buf, err,
                                  sizeof err), -1);
    ck_assert_str_eq(err, "too many words (at most 2)");
    ck_assert_int_eq(cmd_tokenize("abcdefgh", argv, 8, buf, 4, err,
                                  sizeof err), -1);
    ck_assert_str_eq(err, "line too long");
    /* quoting gives any path back unchanged */
    char line[128];
    ck_assert_int_eq(cmd_quote("open", "it's a \"dir\" \\ x", line,
                               sizeof line), 0);
    ck_assert_int_eq(cmd_tokenize(line, argv, 8, buf, sizeof buf, err,
                                  sizeof err), 2);
    ck_assert_str_eq(argv[0], "open");
    ck_assert_str_eq(argv[1], "it's a \"dir\" \\ x");
    ck_assert_int_eq(cmd_quote("open", "abcdefgh", line, 10), -1);
    /* and escaping gives back what "prime" reads */
    cmd_escape("a\nb\t\"c\" \\", line, sizeof line);
    ck_assert_str_eq(line, "a\\nb\\t\\\"c\\\" \\\\");
}
END_TEST

START_TEST(dispatch_errors)
{
    ck_assert_int_eq(exec(""), CMD_OK);
    ck_assert_int_eq(exec("   # just a comment"), CMD_OK);
    refused("sampel 3", "unknown command 'sampel'; did you mean 'sample'?");
    refused("xyzzy", "unknown command 'xyzzy' (help lists the commands)");
    refused("set 'lr", "unterminated single quote");
    refused("load", "load: missing an argument (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    refused("set", "set: missing arguments (usage: set KEY VALUE)");
    refused("set lr", "set: missing an argument (usage: set KEY VALUE)");
    refused("pause now", "pause: unexpected argument 'now' (usage: pause)");
    refused("sample 1 2", "sample: unexpected argument '2' (usage: sample [N])");
}
END_TEST

START_TEST(each_command)
{
    /* load */
    refused("load /nonexistent/x.txt",
            "load: /nonexistent/x.txt: No such file or directory");
    refused("load /tmp", "load: /tmp: is a directory (open loads a session)");
    refused("load /tmp foo=1", "load: unknown option 'foo' (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    refused("load /tmp tokens", "load: 'tokens' is not KEY=VALUE (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    refused("load /tmp tokens=words",
            "load: tokens: unknown value 'words' (choose char, word or bpe) (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    refused("load /tmp tokens=bpe bpe-vocab=3",
            "load: bpe-vocab: '3' is not a whole number from 257 to 65536 (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    refused("load /tmp min-count=2",
            "load: min-count applies only to word tokens (tokens is char) (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    refused("load /tmp tokens=word lowercase=yes",
            "load: lowercase: 'yes' is not on or off (usage: load PATH [tokens=char|word|bpe] [KEY=VALUE]...)");
    /* model */
    posts("model gru layers=1 hidden=16 embed=8 dropout=0 tie=off");
    posts("model lstm tie=on");
    posts("model lstm layer-norm=on layers=2");
    refused("model gru layer-norm=on", "model: layer-norm=on is for lstm only (not "
            "gru) " "(usage: model TYPE [layers=N] [hidden=N] [embed=N] [dropout=P] "
            "[tie=on|off] [layer-norm=on|off] [softmax=full|adaptive] "
            "[cutoffs=A,B,...] [div-value=X] [head-bias=on|off])");
    refused("model lstm layer-norm=yes", "model: layer-norm: unknown value 'yes' "
            "(choose off or on) " "(usage: model TYPE [layers=N] [hidden=N] [embed=N] [dropout=P] "
            "[tie=on|off] [layer-norm=on|off] [softmax=full|adaptive] "
            "[cutoffs=A,B,...] [div-value=X] [head-bias=on|off])");
    refused("model cnn", "model: unknown model type 'cnn' (choose lstm, gru or "
            "rnn) " "(usage: model TYPE [layers=N] [hidden=N] [embed=N] [dropout=P] "
            "[tie=on|off] [layer-norm=on|off] [softmax=full|adaptive] "
            "[cutoffs=A,B,...] [div-value=X] [head-bias=on|off])");
    ck_assert_int_eq(exec("model rnn layers=0"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: layers: '0' is not a whole number from "
                     "1 to 16 (usage: model TYPE") == cap.err);
    ck_assert_int_eq(exec("model rnn dropout=1"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: dropout: '1' is out of range") == cap.err);
    /* the adaptive softmax's keys, read as set reads those settings */
    posts("model lstm softmax=adaptive cutoffs=20,100 div-value=2 head-bias=on");
    refused("model lstm softmax=adaptive tie=on", "model: tie=on is for softmax=full "
            "(the adaptive softmax has no decoder.weight to share) " "(usage: model TYPE [layers=N] [hidden=N] [embed=N] [dropout=P] "
            "[tie=on|off] [layer-norm=on|off] [softmax=full|adaptive] "
            "[cutoffs=A,B,...] [div-value=X] [head-bias=on|off])");
    ck_assert_int_eq(exec("model lstm softmax=sampled"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: softmax: unknown value 'sampled' (choose "
                     "full or adaptive)") == cap.err);
    ck_assert_int_eq(exec("model lstm cutoffs=9,3"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: cutoffs: ") == cap.err);
    ck_assert_int_eq(exec("model lstm div-value=0"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: div-value: '0' is out of range") == cap.err);
    ck_assert_int_eq(exec("model lstm head-bias=1"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: head-bias: unknown value '1'") == cap.err);
    ck_assert_int_eq(exec("model lstm cutoff=5"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: unknown option 'cutoff'; did you mean "
                     "'cutoffs'?") == cap.err);
    ck_assert_int_eq(exec("model rnn tie=yes"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: tie: 'yes' is not on or off") == cap.err);
    ck_assert_int_eq(exec("model rnn hiden=3"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: unknown option 'hiden'; did you mean "
                     "'hidden'?") == cap.err);
    ck_assert_int_eq(exec("model rnn 12"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: '12' is not KEY=VALUE") == cap.err);
    ck_assert_int_eq(exec("model gru tie=on embed=8 hidden=16"), CMD_FAIL);
    ck_assert(strstr(cap.err, "model: tie=on needs embed equal to hidden "
                     "(they are 8 and 16)") == cap.err);
    /* set */
    posts("set temperature 0.5");
    ck_assert_str_eq(cap.out, "temperature = 0.5");
    posts("set lr 1e-3");
    posts("set optimizer sgd");
    posts("set top-k 40");
    refused("set lr abc", "set: lr: 'abc' is not a number (usage: set KEY VALUE)");
    refused("set lr 0", "set: lr: '0' is out of range (> 0) (usage: set KEY VALUE)");
    refused("set batch 2.5", "set: batch: '2.5' is not a whole number "
            "(usage: set KEY VALUE)");
    refused("set top-p 0", "set: top-p: '0' is out of range (> 0 and <= 1) "
            "(usage: set KEY VALUE)");
    refused("set optimizer adagrad", "set: optimizer: unknown value 'adagrad' "
            "(choose sgd, adam, adamw, nadam, rmsprop or ntasgd) (usage: set KEY VALUE)");
    refused("set seed -1", "set: seed: '-1' is not a whole number from 0 to "
            "18446744073709551615 (usage: set KEY VALUE)");
    refused("set temprature 1", "set: unknown setting 'temprature'; did you "
            "mean 'temperature'? (usage: set KEY VALUE)");
    refused("set colour red", "set: unknown setting 'colour' (show lists "
            "them) (usage: set KEY VALUE)");
    /* show */
    ck_assert_int_eq(exec("show"), CMD_OK);
    ck_assert_ptr_nonnull(strstr(cap.out, "temperature"));
    ck_assert_int_eq(exec("show beam"), CMD_OK);
    ck_assert(strncmp(cap.out, "  beam ", 7) == 0);
    /* show KEY explains it from the settings table */
    ck_assert_ptr_nonnull(strstr(cap.out, "range 1 to 256"));
    ck_assert_ptr_nonnull(strstr(cap.out, "default 1; takes effect at once"));
    ck_assert_ptr_nonnull(strstr(cap.out, "command line: rnnlab sample --beam"));
    refused("show nothing", "show: unknown setting 'nothing' (usage: show [KEY])");
    /* train */
    posts("train");
    posts("train steps=10");
    posts("train time=2.5");
    posts("train epochs=0.5");
    refused("train 10", "train: '10' is not steps=N, epochs=N or time=SECONDS "
            "(usage: train [steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X])");
    refused("train steps=0", "train: steps: '0' is not a whole number >= 1 "
            "(usage: train [steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X])");
    refused("train time=-1", "train: time: '-1' is not a number of seconds > 0 "
            "(usage: train [steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X])");
    refused("train epochs=0", "train: epochs: '0' is not a number > 0 "
            "(usage: train [steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X])");
    refused("train epoch=3", "train: unknown option 'epoch' (steps, epochs, "
            "time, patience or min-delta) (usage: train [steps=N | epochs=N | "
            "time=SECONDS] [patience=N] [min-delta=X])");
    posts("train steps=100 patience=3 min-delta=0.01");
    refused("train patience=0", "train: patience: '0' is not a whole number from "
            "1 to 1000000 (usage: train [steps=N | epochs=N | time=SECONDS] "
            "[patience=N] [min-delta=X])");
    refused("train steps=1 time=1", "train: give one of steps, epochs and time "
            "(usage: train [steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X])");
    refused("train epochs=1 steps=1", "train: give one of steps, epochs and "
            "time (usage: train [steps=N | epochs=N | time=SECONDS] [patience=N] [min-delta=X])");
    /* pause, resume, stop */
    posts("pause");
    posts("resume");
    posts("stop");
    /* wait */
    ck_assert_int_eq(exec("wait"), CMD_OK);
    ck_assert(env.want_wait);
    /* eval */
    posts("eval");
    posts("eval test");
    refused("eval all", "eval: unknown split 'all' (choose train, val or test) "
            "(usage: eval [train|val|test])");
    /* prime */
    posts("prime");
    posts("prime The  cat");
    refused("prime 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa'",
            "prime: the prime is longer than 255 bytes (usage: prime [TEXT])");
    /* sample */
    posts("sample");
    posts("sample 80");
    refused("sample 0", "sample: '0' is not a whole number from 1 to 100000 "
            "(usage: sample [N])");
    refused("sample many", "sample: 'many' is not a whole number from 1 to "
            "100000 (usage: sample [N])");
    /* save needs a model */
    refused("save x", "save: nothing to save (no model yet)");
    /* open */
    refused("open no-such-session",
            "open: no-such-session: no such session (sessions lists them)");
    /* sessions, status, help, quit */
    ck_assert_int_eq(exec("sessions"), CMD_OK);
    ck_assert_int_eq(exec("status"), CMD_OK);
    ck_assert_ptr_nonnull(strstr(cap.out, "no corpus loaded"));
    ck_assert_int_eq(exec("quit"), CMD_OK);
    ck_assert(env.want_quit);
    ck_assert_int_eq(cap.asked, 0);         /* nothing to lose */
}
END_TEST

START_TEST(help)
{
    size_t n;
    const cmd_def *tab = cmd_table(&n);
    for (size_t i = 0; i < n; i++) {
        char want[64];
        ck_assert_int_eq(exec("help"), CMD_OK);
        ck_assert(env.want_help);
        snprintf(want, sizeof want, "\n  %s", tab[i].name);
        ck_assert_msg(strstr(cap.out, want), "help lacks %s", tab[i].name);
        /* and each has its own page */
        char line[64];
        snprintf(line, sizeof line, "help %s", tab[i].name);
        ck_assert_int_eq(exec(line), CMD_OK);
        ck_assert(strncmp(cap.out, "usage: ", 7) == 0);
    }
    ck_assert_int_eq(exec("help set"), CMD_OK);
    ck_assert_ptr_nonnull(strstr(cap.out, "keys: lr optimizer batch"));
    refused("help sampe", "help: unknown command 'sampe'; did you mean 'sample'?");
    refused("help 12345678", "help: unknown command '12345678'");
}
END_TEST

/* Joins the candidates with spaces and frees them. */
static void completes(const char *before, const char *word, const char *want)
{
    int files = -1;
    char got[512] = "";
    char **c = cmd_complete(&env, before, word, &files);
    ck_assert_int_eq(files, 0);
    ck_assert_ptr_nonnull(c);
    for (size_t i = 0; c[i]; i++) {
        size_t l = strlen(got);
        snprintf(got + l, sizeof got - l, "%s%s", l ? " " : "", c[i]);
        free(c[i]);
    }
    free(c);
    ck_assert_str_eq(got, want);
}

START_TEST(completion)
{
    int files = 0;
    completes("", "sa", "sample save");
    completes("", "s", "set show stop sample save sessions status serve");
    completes("set ", "te", "temperature");
    completes("show ", "m", "min-lr model");
    completes("set optimizer ", "ad", "adam adamw");
    completes("set ", "dropout-", "dropout-input dropout-hidden dropout-output "
              "dropout-embed");
    completes("set dropout-hidden ", "", "unset");
    completes("model ", "", "lstm gru rnn");
    completes("model gru ", "h", "hidden= head-bias=on head-bias=off");
    completes("model gru ", "so", "softmax=full softmax=adaptive");
    completes("train ", "", "steps= epochs= time= patience= min-delta=");
    completes("eval ", "t", "train test");
    completes("help ", "qu", "quit");
    completes("xyzzy ", "a", "");
    ck_assert_ptr_null(cmd_complete(&env, "load ", "te", &files));
    ck_assert_int_eq(files, 1);
}
END_TEST

/* What was typed comes back in errors on one line: a newline or a tab
 * typed inside quotes as the escape that typed it, other control
 * characters in hex; the engine's errors likewise. */
START_TEST(errors_one_line)
{
    refused("set temperature \"a\\nb\"",
            "set: temperature: 'a\\nb' is not a number (usage: set KEY VALUE)");
    refused("show \"x\\ty\"", "show: unknown setting 'x\\ty' (usage: show [KEY])");
    refused("help \"\x1b[2J\"", "help: unknown command '\\x1b[2J'");
    refused("sample \"1\\n\"",
            "sample: '1\\n' is not a whole number from 1 to 100000 (usage: sample [N])");
    eng_event ev = {.type = ENG_EV_ERROR, .text = "load: no\nfile\r: gone"};
    char line[256];
    ck_assert(cmd_event_line(&ev, line, sizeof line));
    ck_assert_str_eq(line, "error: load: no\\nfile\\r: gone");
    ev.type = ENG_EV_MESSAGE;
    ev.text = "a\tb\x7f";
    ck_assert(cmd_event_line(&ev, line, sizeof line));
    ck_assert_str_eq(line, "a\\tb\\x7f");
}
END_TEST

START_TEST(settings_table)
{
    size_t n;
    const setting *tab = setting_table(&n);
    setting_values v;
    char err[256], buf[64];
    static const char *const required[] = {
        "lr", "optimizer", "batch", "seq-len", "clip", "dropout", "seed",
        "temperature", "top-k", "top-p", "beam", "sample-every",
        "sample-length", "eval-every", "threads", "device", "save-every",
        "repetition-penalty", "weights", "schedule", "warmup", "min-lr",
        "lr-decay", "lr-decay-every", "plateau-factor", "plateau-patience"};
    for (size_t i = 0; i < sizeof required / sizeof required[0]; i++)
        ck_assert_msg(setting_find(required[i]) >= 0, "no setting %s",
                      required[i]);
    ck_assert_int_eq(setting_find("nope"), -1);
    setting_defaults(&v);
    ck_assert_int_eq(setting_check(&v, err, sizeof err), 0);
    for (size_t i = 0; i < n; i++) {
        /* the default parses, formats back the same, and is what the
         * layers below start from: the table and they agree */
        char again[64];
        setting_values layers;
        memset(&layers, 0, sizeof layers);
        layers.train = train_defaults();
        layers.sample = sample_defaults();
        snprintf(layers.device, sizeof layers.device, "cpu");
        setting_format((int)i, &v, buf, sizeof buf);
        ck_assert_str_eq(buf, tab[i].def);
        ck_assert_msg(setting_apply((int)i, buf, &v, err, sizeof err) == 0,
                      "%s: %s", tab[i].name, err);
        setting_format((int)i, &v, again, sizeof again);
        ck_assert_str_eq(again, buf);
        setting_format((int)i, &layers, again, sizeof again);
        /* (device and save-every belong to no layer below the engine) */
        ck_assert_msg(tab[i].field >= offsetof(setting_values, device)
                      || !strcmp(again, tab[i].def), "%s: the table's default "
                      "is %s, the layers' %s", tab[i].name, tab[i].def, again);
        ck_assert_ptr_nonnull(tab[i].summary);
    }
    ck_assert_int_eq(setting_apply(setting_find("seq-len"), "64", &v, err,
                                   sizeof err), 0);
    ck_assert_int_eq(v.train.seq_len, 64);
    ck_assert_int_eq(setting_apply(setting_find("optimizer"), "sgd", &v, err,
                                   sizeof err), 0);
    ck_assert_int_eq(v.train.optim.kind, OPT_SGD);
    ck_assert_int_eq(setting_apply(setting_find("dropout"), "1", &v, err,
                                   sizeof err), -1);
    ck_assert_str_eq(err, "dropout: '1' is out of range (>= 0 and < 1)");
    ck_assert_int_eq(setting_apply(setting_find("repetition-penalty"), "0", &v, err,
                                   sizeof err), -1);
    ck_assert_str_eq(err, "repetition-penalty: '0' is out of range (> 0 and <= 100)");
    ck_assert_int_eq(setting_apply(setting_find("weights"), "int8", &v, err, sizeof err), 0);
    ck_assert_int_eq(v.sample.weights, BE_WEIGHTS_INT8);
    ck_assert_int_eq(setting_apply(setting_find("weights"), "int4", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "weights: unknown value 'int4' (choose fp32, fp16 or int8)");
    ck_assert_int_eq(v.sample.weights, BE_WEIGHTS_INT8);
    ck_assert_int_eq(setting_apply(setting_find("device"), "tpu", &v, err,
                                   sizeof err), -1);
#ifdef HAVE_CUDA
    ck_assert_str_eq(err, "device: unknown value 'tpu' (choose cpu or cuda)");
#else
    ck_assert_str_eq(err, "device: unknown value 'tpu' (choose cpu)");
#endif
    ck_assert_int_eq(tab[setting_find("device")].effect, SETTING_MOVE);
    ck_assert_int_eq(setting_find("batch") >= 0
                     && tab[setting_find("batch")].effect == SETTING_RESET, 1);
    ck_assert_int_eq(tab[setting_find("temperature")].effect, SETTING_LIVE);
    /* values from elsewhere (a session file) are checked by the same rows */
    setting_defaults(&v);
    v.sample.temperature = 100.5f;
    ck_assert_int_eq(setting_check(&v, err, sizeof err), -1);
    ck_assert_str_eq(err, "temperature: '100.5' is out of range (0 to 100)");
    setting_defaults(&v);
    v.sample.weights = 7;
    ck_assert_int_eq(setting_check(&v, err, sizeof err), -1);
    ck_assert_str_eq(err, "weights: unknown value '' (choose fp32, fp16 or int8)");
    setting_defaults(&v);
    v.train.optim.lr = NAN;
    ck_assert_int_eq(setting_check(&v, err, sizeof err), -1);
    ck_assert_str_eq(err, "lr: 'nan' is out of range (> 0)");
    /* sample-every: steps, seconds of training, or off */
    int se = setting_find("sample-every");
    ck_assert_int_eq(setting_apply(se, "40", &v, err, sizeof err), 0);
    ck_assert_int_eq(v.sample.every.steps, 40);
    ck_assert_float_eq(v.sample.every.seconds, 0);
    ck_assert_int_eq(setting_apply(se, "2.5s", &v, err, sizeof err), 0);
    ck_assert_int_eq(v.sample.every.steps, 0);
    ck_assert_float_eq(v.sample.every.seconds, 2.5f);
    setting_format(se, &v, buf, sizeof buf);
    ck_assert_str_eq(buf, "2.5s");
    ck_assert_int_eq(setting_apply(se, "0s", &v, err, sizeof err), 0);
    setting_format(se, &v, buf, sizeof buf);
    ck_assert_str_eq(buf, "0");
    ck_assert_int_eq(setting_apply(se, "1.5", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "sample-every: '1.5' is not a whole number of steps "
                     "(Ns: seconds)");
    ck_assert_int_eq(setting_apply(se, "-3s", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "sample-every: '-3s' is out of range (N steps, 1 to "
                     "1000000000, or a time Ns, Nm or Nh up to 168h; 0: off)");
    ck_assert_int_eq(setting_apply(se, "700000s", &v, err, sizeof err), -1);
    ck_assert_int_eq(setting_apply(se, "5m", &v, err, sizeof err), 0);
    ck_assert_float_eq(v.sample.every.seconds, 300);
    setting_format(se, &v, buf, sizeof buf);
    ck_assert_str_eq(buf, "5m");
    ck_assert_int_eq(setting_apply(se, "90s", &v, err, sizeof err), 0);
    setting_format(se, &v, buf, sizeof buf);
    ck_assert_str_eq(buf, "90s");
    ck_assert_int_eq(setting_apply(se, "2h", &v, err, sizeof err), 0);
    setting_format(se, &v, buf, sizeof buf);
    ck_assert_str_eq(buf, "2h");
    ck_assert_int_eq(setting_apply(se, "5d", &v, err, sizeof err), -1);
    ck_assert_str_eq(err, "sample-every: '5d' is not N (steps) or a time Ns, "
                     "Nm or Nh");
    ck_assert_int_eq(setting_apply(se, "5ms", &v, err, sizeof err), -1);
    /* save-every: the same kind of value, default 10 minutes */
    setting_defaults(&v);
    ck_assert_float_eq(v.save_every.seconds, 600);
    ck_assert_int_eq(v.save_every.steps, 0);
    setting_defaults(&v);
    v.sample.every = (sample_cadence){3, 1.0f};
    ck_assert_int_eq(setting_check(&v, err, sizeof err), -1);
    /* the message without the name, for the CLI's "--NAME: " */
    ck_assert_int_eq(setting_parse(setting_find("beam"), "0", &v, err,
                                   sizeof err), -1);
    ck_assert_str_eq(err, "'0' is out of range (1 to 256)");
}
END_TEST

START_TEST(edit_distance)
{
    ck_assert_uint_eq(suggest_distance("sample", "sample"), 0);
    ck_assert_uint_eq(suggest_distance("sampel", "sample"), 2);
    ck_assert_uint_eq(suggest_distance("stauts", "status"), 2);
    ck_assert_uint_eq(suggest_distance("", "abc"), 3);
    ck_assert_str_eq(cmd_suggest("stats"), "status");
    ck_assert_str_eq(cmd_suggest("quti"), "quit");
    ck_assert_ptr_null(cmd_suggest("abcdefgh"));
}
END_TEST

/* Waits for the DONE of the last posted command; returns its status. */
static int wait_posted(void)
{
    long id = env.posted;
    for (int rounds = 0; rounds < 1200; rounds++) {
        struct pollfd p = {eng_fd(E), POLLIN, 0};
        eng_event *ev;
        poll(&p, 1, 100);
        eng_drain_fd(E);
        while ((ev = eng_next(E)) != NULL) {
            int done = ev->type == ENG_EV_DONE && ev->id == id, st = ev->status;
            eng_event_free(ev);
            if (done)
                return st;
        }
    }
    ck_abort_msg("no answer from the engine");
    return -1;
}

static void run_ok(const char *line)
{
    posts(line);
    ck_assert_int_eq(wait_posted(), 0);
}

/* The dropout places' own rates: set and show, unset again, the model
 * line naming the rates that act, refusals naming "unset". */
START_TEST(dropout_places)
{
    eng_status s;
    run_ok("set dropout-input 0.65");
    ck_assert_str_eq(cap.out, "dropout-input = 0.65");
    run_ok("set dropout-hidden 0");
    eng_snapshot(E, &s);
    ck_assert_int_eq(s.cfg.train.model.drop[MODEL_DROP_INPUT].set, 1);
    ck_assert_float_eq(s.cfg.train.model.drop[MODEL_DROP_INPUT].p, 0.65f);
    ck_assert_int_eq(s.cfg.train.model.drop[MODEL_DROP_HIDDEN].set, 1);
    ck_assert_int_eq(s.cfg.train.model.drop[MODEL_DROP_OUTPUT].set, 0);
    ck_assert_int_eq(exec("show dropout-input"), CMD_OK);
    ck_assert(strncmp(cap.out, "  dropout-input      0.65\n", 26) == 0);
    ck_assert_ptr_nonnull(strstr(cap.out, "range >= 0 and < 1, or unset"));
    ck_assert_ptr_nonnull(strstr(cap.out, "default unset; takes effect at once"));
    ck_assert_ptr_nonnull(strstr(cap.out, "command line: rnnlab train --dropout-input"));
    ck_assert_int_eq(exec("show"), CMD_OK);
    ck_assert_ptr_nonnull(strstr(cap.out, "dropout input 0.65, hidden 0, output 0.1"));
    ck_assert_ptr_nonnull(strstr(cap.out, "  dropout-output     unset\n"));
    run_ok("set dropout-input unset");
    run_ok("set dropout-hidden unset");
    eng_snapshot(E, &s);
    ck_assert_int_eq(s.cfg.train.model.drop[MODEL_DROP_INPUT].set, 0);
    ck_assert_int_eq(exec("show"), CMD_OK);
    ck_assert_ptr_nonnull(strstr(cap.out, "embed 64, dropout 0.1\n"));
    refused("set dropout-output 1", "set: dropout-output: '1' is out of range "
            "(>= 0 and < 1, or unset) (usage: set KEY VALUE)");
    refused("set dropout-output half", "set: dropout-output: 'half' is not a "
            "number or unset (usage: set KEY VALUE)");
}
END_TEST

/* Changes that would lose trained steps ask first; "no" changes nothing. */
START_TEST(confirmations)
{
    char corpus[1024], dir[64], line[2048];
    eng_status s;
    ck_assert_ptr_nonnull(fx_temp_dir(dir, sizeof dir, "rnnlab-check-cmd"));
    snprintf(env.sessions_dir, sizeof env.sessions_dir, "%s", dir);
    fx_data_file(corpus, sizeof corpus, "garden.txt");
    snprintf(line, sizeof line, "load %s", corpus);
    run_ok(line);
    run_ok("model gru layers=1 hidden=8 embed=4");
    run_ok("set batch 4");
    ck_assert_int_eq(cap.asked, 0);              /* nothing trained yet */
    run_ok("train steps=3");
    for (int i = 0; i < 600; i++) {              /* until the run ends */
        eng_snapshot(E, &s);
        if (s.state == ENG_IDLE && s.step == 3)
            break;
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
    }
    ck_assert_int_eq(s.step, 3);
    cap.answer = 0;
    ck_assert_int_eq(exec("set batch 4"), CMD_OK);
    ck_assert_str_eq(cap.out, "batch is already 4");
    refused("set batch 8", "set: cancelled; batch stays 4");
    ck_assert_int_eq(cap.asked, 1);
    refused("model rnn", "model: cancelled");
    snprintf(line, sizeof line, "load %s", corpus);
    refused(line, "load: cancelled");
    run_ok("save first");
    snprintf(line, sizeof line, "%s/first/session.json", dir);
    ck_assert_int_eq(access(line, F_OK), 0);
    eng_snapshot(E, &s);
    ck_assert(!s.dirty);
    run_ok("train steps=1");
    for (int i = 0; i < 600 && !s.dirty; i++) {
        struct timespec ts = {0, 50000000};
        nanosleep(&ts, NULL);
        eng_snapshot(E, &s);
    }
    refused("open first", "open: cancelled");
    /* quit: "no" quits without saving, "yes" saves first */
    cap.answer = 0;
    ck_assert_int_eq(exec("quit"), CMD_OK);
    ck_assert(env.want_quit);
    ck_assert_int_eq(env.posted, 0);
    cap.answer = 1;
    ck_assert_int_eq(exec("quit"), CMD_OK);
    ck_assert(env.want_quit);
    ck_assert_int_gt(env.posted, 0);
    ck_assert_int_eq(wait_posted(), 0);
    /* answered yes, the rebuild happens */
    cap.answer = 1;
    run_ok("set batch 8");
    eng_snapshot(E, &s);
    ck_assert_int_eq(s.cfg.train.batch, 8);
    ck_assert_int_eq(s.step, 0);
    ck_assert_int_eq(fx_remove_tree(dir), 0);
}
END_TEST

/* load's tokenizer options reach the engine; a rebuild keeps them. */
START_TEST(load_tokenizers)
{
    char corpus[1024], line[2048];
    eng_status s;
    fx_data_file(corpus, sizeof corpus, "garden.txt");
    snprintf(line, sizeof line, "load %s tokens=bpe bpe-vocab=300", corpus);
    run_ok(line);
    eng_snapshot(E, &s);
    ck_assert_str_eq(s.tokens, "bpe");
    ck_assert(s.tpb_val > 0 && s.tpb_val < 1);
    run_ok("model gru layers=1 hidden=8 embed=4");
    eng_snapshot(E, &s);
    ck_assert_str_eq(s.tokens, "bpe");
    snprintf(line, sizeof line, "load %s tokens=word min-count=2 lowercase=on", corpus);
    run_ok(line);
    eng_snapshot(E, &s);
    ck_assert_str_eq(s.tokens, "word");
}
END_TEST

/* model's adaptive softmax keys reach the engine, are kept by a model
 * that does not give them, and a cutoff past the vocabulary is the
 * engine's one-line error; show and status name the tokens. */
START_TEST(model_adaptive)
{
    char corpus[1024], line[2048];
    eng_status s;
    fx_data_file(corpus, sizeof corpus, "garden.txt");
    snprintf(line, sizeof line, "load %s tokens=word", corpus);
    run_ok(line);
    run_ok("model lstm layers=1 hidden=16 embed=8 softmax=adaptive cutoffs=20,100 "
           "div-value=2 head-bias=on");
    eng_snapshot(E, &s);
    ck_assert_int_eq(s.cfg.train.model.softmax, SOFTMAX_ADAPTIVE);
    ck_assert_int_eq(s.cfg.train.model.cutoffs.n, 2);
    ck_assert_int_eq(s.cfg.train.model.cutoffs.at[1], 100);
    ck_assert_float_eq(s.cfg.train.model.div_value, 2.0f);
    ck_assert_int_eq(s.cfg.train.model.head_bias, 1);
    run_ok("model gru hidden=12");
    eng_snapshot(E, &s);
    ck_assert_int_eq(s.cfg.train.model.softmax, SOFTMAX_ADAPTIVE);
    ck_assert_int_eq(s.cfg.train.model.hidden, 12);
    ck_assert_int_eq(exec("show"), CMD_OK);
    snprintf(line, sizeof line, "model: gru 1x12 adaptive-softmax, %.1fk params, "
             "word vocabulary %u;", (double)s.n_params / 1e3, s.vocab);
    ck_assert_msg(strncmp(cap.out, line, strlen(line)) == 0, "%s", cap.out);
    ck_assert_uint_gt(s.vocab, 100);
    cmd_status_line(&s, 0, line, sizeof line);
    ck_assert_ptr_nonnull(strstr(line, "word vocabulary "));
    posts("model gru cutoffs=20,100000");
    ck_assert_int_eq(wait_posted(), -1);
    run_ok("model lstm softmax=full tie=on");
    eng_snapshot(E, &s);
    ck_assert_int_eq(s.cfg.train.model.softmax, SOFTMAX_FULL);
    ck_assert_int_eq(s.cfg.train.model.tie, 1);
}
END_TEST

int main(void)
{
    Suite *s = suite_create("cmd");
    TCase *tc = tcase_create("cmd");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_add_test(tc, tokenizer);
    tcase_add_test(tc, dispatch_errors);
    tcase_add_test(tc, each_command);
    tcase_add_test(tc, help);
    tcase_add_test(tc, completion);
    tcase_add_test(tc, settings_table);
    tcase_add_test(tc, errors_one_line);
    tcase_add_test(tc, edit_distance);
    tcase_add_test(tc, dropout_places);
    tcase_add_test(tc, confirmations);
    tcase_add_test(tc, load_tokenizers);
    tcase_add_test(tc, model_adaptive);
    suite_add_tcase(s, tc);
    return fx_run_suite(s);
}
