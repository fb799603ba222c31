/* check_tokcache.c - unit tests for the token cache (text/tokcache.c) as
 * corpus_open uses it: the ids of a cached corpus are those of the text
 * tokenized whole (char, word, bpe), a second open reuses the file, a
 * changed key rebuilds it, a corrupt or truncated cache is rebuilt with a
 * note, an unwritable cache directory falls back to memory, an interrupted
 * build leaves no file, and a killed process's temporary is removed; the
 * directory's listing says each cache's corpus, tokenizer and state, and
 * removal passes over the caches another process maps or builds. */
#define _POSIX_C_SOURCE 200809L
#include <check.h>
#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fixture.h"
#include "text/corpus.h"
#include "text/tok_opt.h"
#include "text/tokcache.h"
#include "text/tokcache_dir.h"
#include "util/clock.h"

static char tmpdir[64];

/* Notes the preparation gave, and a stage that cancels it. */
typedef struct watch {
    corpus_prep p;
    char last[1024];
    int notes;
    volatile sig_atomic_t stop;
    const char *cancel_in;   /* set stop once this stage has made progress */
} watch;

/* Counts the notes but those that say a cache was used (every open says
 * one, report_min being 0). */
static void on_note(void *ctx, const char *line)
{
    watch *w = ctx;
    if (strstr(line, "token cache reused: ") || strstr(line, "token cache written: "))
        return;
    snprintf(w->last, sizeof w->last, "%s", line);
    w->notes++;
}

static void on_progress(void *ctx, const char *stage, uint64_t done, uint64_t total)
{
    watch *w = ctx;
    if (w->cancel_in && strcmp(stage, w->cancel_in) == 0 && done > 0 && done < total)
        w->stop = 1;
}

/* A preparation caching every file in tmpdir/name, reporting everything. */
static void watch_init(watch *w, const char *name)
{
    memset(w, 0, sizeof *w);
    snprintf(w->p.cache_dir, sizeof w->p.cache_dir, "%s/%s", tmpdir, name);
    w->p.note = on_note;
    w->p.progress = on_progress;
    w->p.ctx = w;
    w->p.cancel = &w->stop;
}

/* About 5 MB (more than one chunk) of lines of words, UTF-8 characters,
 * a raw byte, long runs and space runs, without a final newline. */
static char *make_text(size_t *len)
{
    static const char *const words[] = {
        "the", "king", "é", "naïve", "€uro", "said", "--", "42", "\xff", "  ",
        "thou", "art", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "\t", "O!", "well,", "日本語",
    };
    size_t cap = 5u << 20, n = 0, longest = 0;
    uint32_t r = 12345;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
        longest = strlen(words[i]) > longest ? strlen(words[i]) : longest;
    /* past cap: one more word, its separator and "end" */
    char *s = malloc(cap + longest + 4);
    ck_assert_ptr_nonnull(s);
    while (n < cap) {
        r = r * 1103515245u + 12345u;
        const char *w = words[(r >> 16) % (sizeof words / sizeof words[0])];
        size_t k = strlen(w);
        memcpy(s + n, w, k);
        n += k;
        s[n++] = (r >> 8) % 9 == 0 ? '\n' : ' ';
    }
    memcpy(s + n, "end", 3);
    n += 3;
    *len = n;
    return s;
}

static char *write_text(const char *name, size_t *len, char **text)
{
    char *path = malloc(256);
    ck_assert_ptr_nonnull(path);
    *text = make_text(len);
    snprintf(path, 256, "%s/%s", tmpdir, name);
    fx_write_file(path, *text, *len);
    return path;
}

static tok_options opts(tok_kind kind)
{
    tok_options o = tok_options_default();
    o.kind = kind;
    o.bpe_vocab = 300;
    return o;
}

/* The ids of c are those of its text tokenized whole: char in one call,
 * word and bpe each part between the cuts in one call, and an <eos> after
 * a last line without a newline. */
static void expect_whole_ids(const corpus *c, const char *text, size_t len)
{
    uint32_t *ids = malloc((len + 1) * sizeof *ids);
    size_t n = 0, unk;
    ck_assert_ptr_nonnull(ids);
    if (tok_kind_of(c->vocab) == TOK_CHAR) {
        n = tok_encode(c->vocab, (const uint8_t *)text, len, ids, &unk, NULL);
    } else {
        size_t at[4] = { 0, c->train_bytes, c->train_bytes + c->test_bytes, len };
        for (int k = 0; k < 3; k++)
            n += tok_encode(c->vocab, (const uint8_t *)text + at[k], at[k + 1] - at[k],
                            ids + n, &unk, NULL);
        if (tok_eos(c->vocab) != TOK_NO_ID && text[len - 1] != '\n')
            ids[n++] = tok_eos(c->vocab);
    }
    ck_assert_uint_eq(c->n, n);
    ck_assert_uint_eq(c->id_width, tok_size(c->vocab) <= 65536 ? 2u : 4u);
    for (size_t i = 0; i < n; i++)
        ck_assert_msg(corpus_id(c, i) == ids[i], "id %zu: %u, whole text %u", i,
                      corpus_id(c, i), ids[i]);
    uint32_t *out = malloc(n * sizeof *out);
    corpus_ids(c, 0, n, out);
    ck_assert(memcmp(out, ids, n * sizeof *ids) == 0);
    free(out);
    free(ids);
}

static void expect_same_corpus(const corpus *a, const corpus *b)
{
    ck_assert_uint_eq(a->n, b->n);
    ck_assert_uint_eq(a->train_end, b->train_end);
    ck_assert_uint_eq(a->test_end, b->test_end);
    ck_assert_uint_eq(a->unknown, b->unknown);
    ck_assert_uint_eq(a->train_bytes, b->train_bytes);
    ck_assert_uint_eq(a->test_bytes, b->test_bytes);
    ck_assert_uint_eq(a->val_bytes, b->val_bytes);
    ck_assert_uint_eq(a->id_width, b->id_width);
    ck_assert(memcmp(a->ids, b->ids, a->n * a->id_width) == 0);
    cJSON *va = tok_to_json(a->vocab), *vb = tok_to_json(b->vocab);
    char *ja = cJSON_PrintUnformatted(va), *jb = cJSON_PrintUnformatted(vb);
    ck_assert_ptr_nonnull(ja);
    ck_assert_ptr_nonnull(jb);
    ck_assert_str_eq(ja, jb);
    free(ja);
    free(jb);
    cJSON_Delete(va);
    cJSON_Delete(vb);
}

static void open_ok(corpus *c, const char *path, const tok_vocab *v, tok_options o,
                    const watch *w)
{
    char err[512];
    ck_assert_msg(corpus_open(c, path, v, &o, 0.1, 0.05, &w->p, err, sizeof err) == 0,
                  "%s", err);
}

/* The number of entries in dir (. and .. aside). */
static int count_files(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *e;
    int n = 0;
    while (d && (e = readdir(d)) != NULL)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    if (d)
        closedir(d);
    return n;
}

static const tok_kind kinds[] = { TOK_CHAR, TOK_WORD, TOK_BPE };

START_TEST(test_ids_as_whole_text)
{
    size_t len;
    char *text, *path = write_text("whole.txt", &len, &text);
    watch w;
    corpus built, again, given, plain;
    char err[512];
    watch_init(&w, "whole");
    open_ok(&built, path, NULL, opts(kinds[_i]), &w);
    ck_assert_int_eq(built.store, CORPUS_CACHE_BUILT);
    ck_assert_ptr_nonnull(built.cache_path);
    expect_whole_ids(&built, text, len);
    /* a second run, learning or given the vocabulary (eval), reuses it */
    open_ok(&again, path, NULL, opts(kinds[_i]), &w);
    ck_assert_int_eq(again.store, CORPUS_CACHE_REUSED);
    expect_same_corpus(&built, &again);
    open_ok(&given, path, built.vocab, opts(kinds[_i]), &w);
    ck_assert_int_eq(given.store, CORPUS_CACHE_REUSED);
    expect_same_corpus(&built, &given);
    /* and it is what the corpus is without a cache */
    tok_options o = opts(kinds[_i]);
    ck_assert_msg(corpus_learn(&plain, path, &o, 0.1, 0.05, err, sizeof err) == 0, "%s", err);
    ck_assert_int_eq(plain.store, CORPUS_IN_MEMORY);
    expect_same_corpus(&built, &plain);
    ck_assert_int_eq(w.notes, 0);
    corpus_free(&built);
    corpus_free(&again);
    corpus_free(&given);
    corpus_free(&plain);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_key_changes_rebuild)
{
    size_t len;
    char *text, *path = write_text("key.txt", &len, &text);
    watch w;
    corpus c;
    struct stat st;
    watch_init(&w, "key");
    open_ok(&c, path, NULL, opts(TOK_BPE), &w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_BUILT);
    corpus_free(&c);
    /* another tokenizer option */
    tok_options o = opts(TOK_BPE);
    o.bpe_vocab = 310;
    open_ok(&c, path, NULL, o, &w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_BUILT);
    ck_assert_uint_eq(tok_size(c.vocab), 310);
    corpus_free(&c);
    open_ok(&c, path, NULL, o, &w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_REUSED);
    corpus_free(&c);
    /* the file touched: same bytes, a new modification time */
    ck_assert_int_eq(stat(path, &st), 0);
    struct timespec t[2] = { st.st_atim, st.st_mtim };
    t[1].tv_sec -= 100;
    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
    open_ok(&c, path, NULL, o, &w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_BUILT);
    corpus_free(&c);
    /* another split */
    char err[512];
    ck_assert_int_eq(corpus_open(&c, path, NULL, &o, 0.2, 0.05, &w.p, err, sizeof err), 0);
    ck_assert_int_eq(c.store, CORPUS_CACHE_BUILT);
    corpus_free(&c);
    ck_assert_int_eq(w.notes, 0);       /* stale is not corrupt */
    free(text);
    free(path);
}
END_TEST

/* Builds a char cache of path in w's directory and returns its file. */
static char *build_char(const char *path, watch *w)
{
    corpus c;
    open_ok(&c, path, NULL, opts(TOK_CHAR), w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_BUILT);
    char *file = strdup(c.cache_path);
    corpus_free(&c);
    return file;
}

static void expect_rebuilt(const char *path, const char *text, size_t len, watch *w,
                           const char *why)
{
    corpus c;
    w->notes = 0;
    open_ok(&c, path, NULL, opts(TOK_CHAR), w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_BUILT);
    ck_assert_int_eq(w->notes, 1);
    ck_assert_msg(strstr(w->last, why) && strstr(w->last, "building it again") &&
                  !strchr(w->last, '\n'), "note: %s", w->last);
    expect_whole_ids(&c, text, len);
    corpus_free(&c);
}

/* Damages a char cache of a new text as damage says, then expects the
 * next open to rebuild it with a note saying why. */
enum { CUT_END, CUT_HEADER, BAD_ID };

START_TEST(test_damaged_rebuilt)
{
    static const char *const why[] = { "truncated", "truncated", "out of range" };
    size_t len;
    char name[32], *text, *path;
    watch w;
    struct stat st;
    snprintf(name, sizeof name, "damaged%d.txt", _i);
    path = write_text(name, &len, &text);
    snprintf(name, sizeof name, "damaged%d", _i);
    watch_init(&w, name);
    char *file = build_char(path, &w);
    ck_assert_int_eq(stat(file, &st), 0);
    if (_i == BAD_ID) {
        /* the last id (2 bytes; the vocabulary has fewer than 100
         * characters) made one no character has */
        int fd = open(file, O_WRONLY);
        uint16_t bad = 60000;
        ck_assert_int_eq(pwrite(fd, &bad, 2, st.st_size - 2), 2);
        close(fd);
    } else {
        ck_assert_int_eq(truncate(file, _i == CUT_END ? st.st_size - 4096 : 100), 0);
    }
    expect_rebuilt(path, text, len, &w, why[_i]);
    free(file);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_unwritable_dir_in_memory)
{
    size_t len;
    char *text, *path = write_text("nodir.txt", &len, &text);
    watch w;
    corpus c;
    watch_init(&w, "nodir.txt/cache");  /* below a regular file: never a dir */
    open_ok(&c, path, NULL, opts(TOK_WORD), &w);
    ck_assert_int_eq(c.store, CORPUS_IN_MEMORY);
    ck_assert_ptr_null(c.cache_path);
    ck_assert_int_eq(w.notes, 1);
    ck_assert_msg(strstr(w.last, "no token cache") && strstr(w.last, "memory") &&
                  !strchr(w.last, '\n'), "note: %s", w.last);
    expect_whole_ids(&c, text, len);
    corpus_free(&c);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_interrupted_leaves_nothing)
{
    size_t len;
    char *text, *path = write_text("stop.txt", &len, &text), err[512];
    watch w;
    corpus c;
    watch_init(&w, "stop");
    w.cancel_in = "tokenizing";
    tok_options o = opts(TOK_CHAR);
    ck_assert_int_eq(corpus_open(&c, path, NULL, &o, 0.1, 0, &w.p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "interrupted") != NULL, "%s", err);
    ck_assert_ptr_null(c.ids);
    ck_assert_int_eq(count_files(w.p.cache_dir), 0);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_stale_temporary_removed)
{
    size_t len;
    char *text, *path = write_text("stale.txt", &len, &text), host[256] = "localhost";
    char tmp[1400];
    watch w;
    watch_init(&w, "stale");
    gethostname(host, sizeof host - 1);
    for (char *s = host; *s; s++)
        if (*s == '/' || *s == '-')
            *s = '_';
    /* a process that is gone */
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    ck_assert_int_eq(mkdir(w.p.cache_dir, 0755), 0);
    snprintf(tmp, sizeof tmp, "%s/.stale.txt-0123456789abcdef.tok.tmp-%s-%ld",
             w.p.cache_dir, host, (long)pid);
    fx_write_file(tmp, "half", 4);
    char *file = build_char(path, &w);
    ck_assert_int_eq(access(tmp, F_OK), -1);
    ck_assert_int_eq(count_files(w.p.cache_dir), 1);
    free(file);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_bpe_sample_noted)
{
    size_t len;
    char *text, *path = write_text("sample.txt", &len, &text);
    watch w;
    corpus c;
    watch_init(&w, "sample");
    tok_options o = opts(TOK_BPE);
    o.bpe_sample = 1u << 20;
    open_ok(&c, path, NULL, o, &w);
    ck_assert_int_eq(w.notes, 1);
    ck_assert_msg(strstr(w.last, "sample") && strstr(w.last, "--bpe-sample"), "%s", w.last);
    expect_whole_ids(&c, text, len);
    corpus_free(&c);
    free(text);
    free(path);
}
END_TEST

START_TEST(test_small_text_not_cached)
{
    char path[256], err[512];
    watch w;
    corpus c;
    watch_init(&w, "small");
    w.p.cache_min = CORPUS_CACHE_MIN;
    snprintf(path, sizeof path, "%s/small.txt", tmpdir);
    fx_write_text(path, "a small text of a few lines\n", 100);
    tok_options o = opts(TOK_CHAR);
    ck_assert_int_eq(corpus_open(&c, path, NULL, &o, 0.1, 0, &w.p, err, sizeof err), 0);
    ck_assert_int_eq(c.store, CORPUS_IN_MEMORY);
    ck_assert_int_eq(access(w.p.cache_dir, F_OK), -1);
    corpus_free(&c);
}
END_TEST

/* A child process that holds the lock of cache file `file` in dir for ms
 * milliseconds (the parent goes on once it holds it), then drops it and
 * exits. */
static pid_t hold_lock(const char *dir, const char *file, int ms)
{
    int fds[2];
    char c = 0, err[64];
    ck_assert_int_eq(pipe(fds), 0);
    pid_t pid = fork();
    ck_assert_int_ge(pid, 0);
    if (pid == 0) {
        tcache_lock l;
        int rc = tcache_lock_take(&l, dir, file, 0, NULL, err, sizeof err);
        c = rc == 0 ? 'y' : 'n';
        if (write(fds[1], &c, 1) != 1)
            _exit(1);
        usleep((useconds_t)ms * 1000);
        tcache_lock_drop(&l);
        _exit(0);
    }
    close(fds[1]);
    ck_assert_int_eq(read(fds[0], &c, 1), 1);
    close(fds[0]);
    ck_assert_int_eq(c, 'y');
    return pid;
}

/* While another process holds a cache's lock (it is building that cache)
 * a preparation waits for it, says so, then reuses the cache; the lock
 * file goes with its holder; a wait is cancelled as a build is. */
START_TEST(test_lock_waits_for_builder)
{
    size_t len;
    char *text, *path = write_text("lock.txt", &len, &text), err[512];
    watch w;
    corpus c;
    watch_init(&w, "lock");
    char *file = build_char(path, &w);
    open_ok(&c, path, NULL, opts(TOK_CHAR), &w);
    size_t n = c.n;
    corpus_free(&c);
    pid_t pid = hold_lock(w.p.cache_dir, file, 400);
    double t0 = clock_now();
    open_ok(&c, path, NULL, opts(TOK_CHAR), &w);
    ck_assert_msg(clock_now() - t0 > 0.3, "did not wait: %.3f s", clock_now() - t0);
    ck_assert_int_eq(c.store, CORPUS_CACHE_REUSED);
    ck_assert_int_eq(w.notes, 1);
    ck_assert_msg(strstr(w.last, "waiting for another process building the token cache"),
                  "note: %s", w.last);
    ck_assert_uint_eq(c.n, n);
    corpus_free(&c);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert_int_eq(count_files(w.p.cache_dir), 1);
    pid = hold_lock(w.p.cache_dir, file, 2000);
    w.stop = 1;
    tok_options o = opts(TOK_CHAR);
    ck_assert_int_eq(corpus_open(&c, path, NULL, &o, 0.1, 0.05, &w.p, err, sizeof err), -1);
    ck_assert_msg(strstr(err, "interrupted") != NULL, "%s", err);
    kill(pid, SIGKILL);             /* its lock dies with it */
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    w.stop = 0;
    open_ok(&c, path, NULL, opts(TOK_CHAR), &w);
    ck_assert_int_eq(c.store, CORPUS_CACHE_REUSED);
    corpus_free(&c);
    free(file);
    free(text);
    free(path);
}
END_TEST

/* The directory's entries, as tcache_list gives them. */
typedef struct listing {
    tcache_entry e[8];
    int n;
} listing;

static int keep_entry(void *ctx, const tcache_entry *e)
{
    listing *l = ctx;
    ck_assert_int_lt(l->n, 8);
    l->e[l->n++] = *e;
    return 0;
}

/* Lists dir into l; the entry of file, which must be there. */
static const tcache_entry *list_find(listing *l, const char *dir, const char *file)
{
    char err[256];
    l->n = 0;
    ck_assert_msg(tcache_list(dir, keep_entry, l, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < l->n; i++)
        if (strcmp(l->e[i].file, file) == 0)
            return &l->e[i];
    ck_abort_msg("%s not listed", file);
    return NULL;
}

/* The listing names each cache's corpus, tokenizer, split and tokens and
 * says when it is current, its corpus changed or gone, in use; a cache
 * mapped or being built is not removed, one no process holds is; a build
 * removes the caches of its corpus' earlier state; temporaries of killed
 * processes and other files go too. */
START_TEST(test_list_and_remove)
{
    size_t len;
    char *text, *path = write_text("list.txt", &len, &text), err[512], tmp[1400];
    char *real = realpath(path, NULL);
    watch w;
    corpus c, held;
    listing l;
    struct stat st;
    watch_init(&w, "list");
    const char *dir = w.p.cache_dir;
    char *one = build_char(path, &w);
    tok_options o = opts(TOK_CHAR);
    ck_assert_int_eq(corpus_open(&c, path, NULL, &o, 0.2, 0, &w.p, err, sizeof err), 0);
    char *two = strdup(c.cache_path);
    size_t n = c.n;
    corpus_free(&c);
    const tcache_entry *e = list_find(&l, dir, one);
    ck_assert_int_eq(l.n, 2);
    ck_assert_int_eq(e->state, TCACHE_CURRENT);
    ck_assert_str_eq(e->corpus, real);
    ck_assert_str_eq(e->opts, "char");
    ck_assert_uint_eq(e->tokens, n);
    ck_assert(e->val_frac == 0.1 && e->test_frac == 0.05);
    ck_assert(!e->busy && e->bytes > n * 2);
    /* mapped by a process: kept; then removed, and built again */
    open_ok(&held, path, NULL, opts(TOK_CHAR), &w);
    ck_assert_int_eq(held.store, CORPUS_CACHE_REUSED);
    ck_assert(list_find(&l, dir, one)->busy);
    ck_assert_int_eq(tcache_remove(dir, one, err, sizeof err), 1);
    ck_assert_int_eq(access(one, F_OK), 0);
    corpus_free(&held);
    ck_assert_int_eq(tcache_remove(dir, one, err, sizeof err), 0);
    ck_assert_int_eq(access(one, F_OK), -1);
    free(build_char(path, &w));
    /* being built by another process: kept */
    pid_t pid = hold_lock(dir, two, 5000);
    ck_assert(list_find(&l, dir, two)->busy);
    ck_assert_int_eq(tcache_remove(dir, two, err, sizeof err), 1);
    kill(pid, SIGKILL);
    ck_assert_int_eq(waitpid(pid, NULL, 0), pid);
    ck_assert(!list_find(&l, dir, two)->busy);      /* the lock died with it */
    /* the corpus changed: both stale; rebuilding one removes the other */
    ck_assert_int_eq(stat(path, &st), 0);
    struct timespec t[2] = { st.st_atim, st.st_mtim };
    t[1].tv_sec -= 100;
    ck_assert_int_eq(utimensat(AT_FDCWD, path, t, 0), 0);
    ck_assert_int_eq(list_find(&l, dir, two)->state, TCACHE_CHANGED);
    ck_assert_int_eq(list_find(&l, dir, one)->state, TCACHE_CHANGED);
    free(build_char(path, &w));
    ck_assert_int_eq(list_find(&l, dir, one)->state, TCACHE_CURRENT);
    ck_assert_int_eq(l.n, 1);
    ck_assert_int_eq(count_files(dir), 1);
    /* a temporary of a process that is gone, another format's file */
    pid = fork();
    if (pid == 0)
        _exit(0);
    waitpid(pid, NULL, 0);
    snprintf(tmp, sizeof tmp, "%s/.list.txt-0123456789abcdef.tok.tmp-x-%ld", dir, (long)pid);
    fx_write_file(tmp, "half", 4);
    ck_assert_int_eq(list_find(&l, dir, tmp)->state, TCACHE_UNFINISHED);
    snprintf(tmp, sizeof tmp, "%s/old-0123456789abcdef.tok", dir);
    fx_write_file(tmp, "RNNLTOKC", 8);
    ck_assert_int_eq(list_find(&l, dir, tmp)->state, TCACHE_FOREIGN);
    ck_assert_int_eq(l.n, 3);
    for (int i = 0; i < l.n; i++)
        ck_assert_msg(l.e[i].state == TCACHE_CURRENT || (!l.e[i].busy &&
                      tcache_remove(dir, l.e[i].file, err, sizeof err) == 0), "%s", err);
    ck_assert_int_eq(count_files(dir), 1);
    /* the corpus gone */
    ck_assert_int_eq(unlink(path), 0);
    ck_assert_int_eq(list_find(&l, dir, one)->state, TCACHE_GONE);
    ck_assert_int_eq(tcache_remove(dir, one, err, sizeof err), 0);
    ck_assert_int_eq(count_files(dir), 0);
    free(real);
    free(one);
    free(two);
    free(text);
    free(path);
}
END_TEST

static Suite *tokcache_suite(void)
{
    Suite *s = suite_create("tokcache");
    TCase *tc = tcase_create("cache");
    tcase_add_loop_test(tc, test_ids_as_whole_text, 0, 3);
    tcase_add_test(tc, test_key_changes_rebuild);
    tcase_add_loop_test(tc, test_damaged_rebuilt, CUT_END, BAD_ID + 1);
    tcase_add_test(tc, test_unwritable_dir_in_memory);
    tcase_add_test(tc, test_interrupted_leaves_nothing);
    tcase_add_test(tc, test_stale_temporary_removed);
    tcase_add_test(tc, test_bpe_sample_noted);
    tcase_add_test(tc, test_small_text_not_cached);
    tcase_add_test(tc, test_lock_waits_for_builder);
    tcase_add_test(tc, test_list_and_remove);
    suite_add_tcase(s, tc);
    return s;
}

int main(void)
{
    if (!fx_temp_dir(tmpdir, sizeof tmpdir, "check_tokcache")) {
        perror("check_tokcache: mkdtemp");
        return EXIT_FAILURE;
    }
    int status = fx_run_suite(tokcache_suite());
    fx_remove_tree(tmpdir);
    return status;
}
