/* corpus.c - loading a text file (memory-mapped), tokenizing it and
 * splitting the ids into train / test / val ranges: by token counts for
 * char text, by bytes at the tokenizer's cut points for word and BPE text,
 * whose tokenizer is learned from the training part.  Every pass over the
 * text streams through it in chunks cut where the tokenizer allows, giving
 * each chunk's pages back behind it, and the ids go to a token cache file
 * (text/tokcache.h) or memory, 2 or 4 bytes each: no pass holds the whole
 * text or all its ids in anonymous memory. */
#include "text/corpus.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "text/tokcache.h"
#include "text/tokcache_dir.h"

/* The smallest split worth having: one input and one target. */
#define CORPUS_MIN_SPLIT 2

static int bad_frac(double f)
{
    return !(f >= 0.0 && f < 1.0);      /* also true for NaN */
}

/* Checks the fractions before any work is done.  Returns 0 or -1. */
static int check_fracs(const char *what, double val_frac, double test_frac,
                       char *err, size_t errlen)
{
    if (bad_frac(val_frac)) {
        snprintf(err, errlen, "%s: bad split: val fraction %g is not in [0,1)",
                 what, val_frac);
        return -1;
    }
    if (bad_frac(test_frac)) {
        snprintf(err, errlen, "%s: bad split: test fraction %g is not in [0,1)",
                 what, test_frac);
        return -1;
    }
    if (val_frac + test_frac >= 1.0) {
        snprintf(err, errlen, "%s: bad split: val %g + test %g leaves nothing "
                 "to train on", what, val_frac, test_frac);
        return -1;
    }
    return 0;
}

/* Sets the split from the token counts of train and test (val is the
 * rest).  Returns 0, or -1 with err when a used split is too small. */
static int set_split(corpus *c, const char *what, size_t ntrain, size_t ntest,
                     double val_frac, double test_frac, char *err, size_t errlen)
{
    size_t n = c->n, nval = n - ntrain - ntest;
    if (ntrain < CORPUS_MIN_SPLIT || (val_frac > 0 && nval < CORPUS_MIN_SPLIT) ||
        (test_frac > 0 && ntest < CORPUS_MIN_SPLIT)) {
        char unk[64] = "";
        if (c->unknown)
            snprintf(unk, sizeof unk, " (%zu unknown %s)", c->unknown,
                     tok_kind_of(c->vocab) == TOK_CHAR ? "skipped" : "as <unk>");
        snprintf(err, errlen, "%s: too few tokens for the split: %zu tokens%s "
                 "give train %zu, val %zu, test %zu; each used split needs at "
                 "least %d", what, n, unk, ntrain, nval, ntest, CORPUS_MIN_SPLIT);
        return -1;
    }
    c->train_begin = 0;
    c->train_end = ntrain;
    c->test_begin = ntrain;
    c->test_end = ntrain + ntest;
    c->val_begin = ntrain + ntest;
    c->val_end = n;
    return 0;
}

/* The bytes of the tokens in [b, e). */
static size_t token_bytes(const corpus *c, size_t b, size_t e)
{
    size_t sum = 0, len;
    for (size_t i = b; i < e; i++) {
        tok_bytes(c->vocab, corpus_id(c, i), &len);
        sum += len;
    }
    return sum;
}

/* Where a word or BPE text is cut: cut[0] ends train, cut[1] ends test. */
static void byte_cuts(tok_kind kind, const uint8_t *data, size_t len,
                      double val_frac, double test_frac, size_t cut[2])
{
    size_t nval = (size_t)(val_frac * (double)len + 0.5);
    size_t ntest = (size_t)(test_frac * (double)len + 0.5);
    if (nval > len)
        nval = len;
    if (ntest > len - nval)
        ntest = len - nval;
    cut[1] = val_frac > 0 ? tok_cut(kind, data, len, len - nval) : len;
    cut[0] = test_frac > 0 ? tok_cut(kind, data, len, len - nval - ntest) : cut[1];
    if (cut[0] > cut[1])
        cut[0] = cut[1];
}

/* ---- streaming through the text --------------------------------------- */

/* A text being prepared: its bytes (mapped from a file when map, whose
 * pages are given back behind each chunk so that a pass over a text of
 * any size keeps little of it resident), the split, what reports. */
typedef struct prep_text {
    const char *what;
    const uint8_t *data;
    size_t len;
    int mapped;
    tok_kind kind;
    size_t cut[2];           /* word, bpe: the ends of train and test */
    const corpus_prep *p;    /* NULL: silent, no cache */
    int report;              /* show stages and progress */
    const char *stage;
    uint64_t done, total;    /* the stage's bytes */
} prep_text;

/* The text a chunk covers at most (more when no exact cut comes sooner). */
#define CHUNK ((size_t)4 << 20)

static void stage_begin(prep_text *t, const char *stage, uint64_t total)
{
    t->stage = stage;
    t->done = 0;
    t->total = total;
    if (t->report && t->p->progress)
        t->p->progress(t->p->ctx, stage, 0, total);
}

static void stage_end(prep_text *t)
{
    if (t->report && t->p->progress)
        t->p->progress(t->p->ctx, t->stage, t->total, t->total);
}

static void say(const prep_text *t, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void say(const prep_text *t, const char *fmt, ...)
{
    char line[1400];
    va_list ap;
    if (!t->p || !t->p->note)
        return;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    t->p->note(t->p->ctx, line);
}

/* Gives back the pages of the mapped text wholly inside [b, e). */
static void release_text(const prep_text *t, size_t b, size_t e)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t lo = ((uintptr_t)(t->data + b) + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(t->data + e) & ~(page - 1);
    if (t->mapped && hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

typedef int (*chunk_fn)(void *arg, const uint8_t *text, size_t len, char *err,
                        size_t errlen);

/* Calls fn on [b, e) of the text in chunks cut where tokenizing the parts
 * apart gives the ids of the whole, counting them into the stage's
 * progress.  0, or -1 with err (fn's, or interrupted). */
static int each_chunk(prep_text *t, size_t b, size_t e, chunk_fn fn, void *arg,
                      char *err, size_t errlen)
{
    while (b < e) {
        size_t end = e - b <= CHUNK ? e : tok_chunk_end(t->kind, t->data, e, b + CHUNK);
        if (t->p && t->p->cancel && *t->p->cancel) {
            snprintf(err, errlen, "%s: interrupted", t->what);
            return -1;
        }
        if (fn(arg, t->data + b, end - b, err, errlen) != 0)
            return -1;
        release_text(t, b, end);
        t->done += end - b;
        if (t->report && t->p->progress && t->done < t->total)  /* stage_end ends it */
            t->p->progress(t->p->ctx, t->stage, t->done, t->total);
        b = end;
    }
    return 0;
}

static int no_nul(void *arg, const uint8_t *text, size_t len, char *err, size_t errlen)
{
    if (!memchr(text, '\0', len))
        return 0;
    snprintf(err, errlen, "%s: looks binary (NUL bytes), expected text", (const char *)arg);
    return -1;
}

/* Checks what any text must be; 0 or -1 with err. */
static int check_text(prep_text *t, char *err, size_t errlen)
{
    if (t->len == 0) {
        snprintf(err, errlen, "%s: is empty", t->what);
        return -1;
    }
    if (t->len >= SIZE_MAX / sizeof(uint32_t)) {
        snprintf(err, errlen, "%s: too large", t->what);
        return -1;
    }
    stage_begin(t, "reading", t->len);
    if (each_chunk(t, 0, t->len, no_nul, (void *)t->what, err, errlen) != 0)
        return -1;
    stage_end(t);
    return 0;
}

static int builder_add(void *arg, const uint8_t *text, size_t len, char *err,
                       size_t errlen)
{
    return tok_builder_add(arg, text, len, err, errlen);
}

/* Builds the vocabulary as o says (NULL: char) into c: char from the
 * whole text, word and bpe from the training part (bpe from a sample of
 * it, which a note tells).  0 or -1 with err. */
static int build_vocab(corpus *c, prep_text *t, const tok_options *o, char *err,
                       size_t errlen)
{
    tok_options chr = tok_options_default();
    tok_span spans[TOK_SAMPLE_SPANS];
    size_t train = t->kind == TOK_CHAR ? t->len : t->cut[0], bytes = 0;
    size_t n = tok_sample_spans(o ? o : &chr, t->data, train, spans);
    tok_builder *b = tok_builder_new(o ? o : &chr, err, errlen);
    if (!b)
        return -1;
    for (size_t i = 0; i < n; i++)
        bytes += spans[i].len;
    if (bytes < train)
        say(t, "%s: bpe learns its merges from a sample: %zu of the %zu training "
            "bytes in %zu windows (--bpe-sample)", t->what, bytes, train, n);
    stage_begin(t, "learning the vocabulary", bytes);
    for (size_t i = 0; i < n; i++) {
        size_t at = (size_t)(spans[i].text - t->data);
        if (each_chunk(t, at, at + spans[i].len, builder_add, b, err, errlen) != 0) {
            tok_builder_free(b);
            return -1;
        }
    }
    if (!(c->vocab = tok_builder_finish(b, err, errlen)))
        return -1;
    stage_end(t);
    return 0;
}

/* Where the ids go: memory (room for every id the text can give) or a
 * cache file, through a buffer of one chunk's ids. */
typedef struct id_sink {
    const tok_vocab *v;
    unsigned width;
    uint8_t *mem;
    tcache_writer *w;
    size_t n, unknown;
    uint32_t *ids;
    size_t cap;
} id_sink;

static int sink_put(id_sink *s, const uint32_t *ids, size_t n)
{
    if (s->w)
        return tcache_put(s->w, ids, n);
    for (size_t i = 0; i < n; i++) {
        if (s->width == 2)
            ((uint16_t *)(void *)s->mem)[s->n + i] = (uint16_t)ids[i];
        else
            ((uint32_t *)(void *)s->mem)[s->n + i] = ids[i];
    }
    s->n += n;
    return 0;
}

static int encode_chunk(void *arg, const uint8_t *text, size_t len, char *err,
                        size_t errlen)
{
    id_sink *s = arg;
    size_t unk;
    if (len > s->cap) {
        uint32_t *p = realloc(s->ids, len * sizeof *p);
        if (!p) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
        s->ids = p;
        s->cap = len;
    }
    size_t k = tok_encode(s->v, text, len, s->ids, &unk, NULL);
    s->unknown += unk;
    if (sink_put(s, s->ids, k) == 0)
        return 0;
    snprintf(err, errlen, "token cache: %s", strerror(s->w->err));
    return -1;
}

/* Tokenizes the text into s: char as one part, word and bpe each part
 * between the cuts on its own (the cuts keep the ids those of the whole
 * text), and an <eos> after a last line without a newline.  The ids of
 * each part are counted in count[3].  0 or -1 with err. */
static int encode_text(prep_text *t, id_sink *s, size_t count[3], char *err,
                       size_t errlen)
{
    size_t at[4] = { 0, t->cut[0], t->cut[1], t->len };
    if (t->kind == TOK_CHAR)
        at[1] = at[2] = t->len;
    stage_begin(t, "tokenizing", t->len);
    for (int k = 0; k < 3; k++) {
        size_t before = s->w ? (size_t)s->w->n : s->n;
        if (each_chunk(t, at[k], at[k + 1], encode_chunk, s, err, errlen) != 0)
            return -1;
        count[k] = (s->w ? (size_t)s->w->n : s->n) - before;
    }
    uint32_t eos = tok_eos(s->v);
    if (t->kind != TOK_CHAR && eos != TOK_NO_ID && t->data[t->len - 1] != '\n') {
        if (sink_put(s, &eos, 1) != 0) {
            snprintf(err, errlen, "token cache: %s", strerror(s->w->err));
            return -1;
        }
        count[2]++;
    }
    stage_end(t);
    return 0;
}

/* Sets the split of the n = count[0] + count[1] + count[2] ids now in c:
 * char by token counts, rounded half up, word and bpe at the cuts.
 * Returns 0 or -1. */
static int split(corpus *c, const prep_text *t, const size_t count[3],
                 double val_frac, double test_frac, char *err, size_t errlen)
{
    size_t n = c->n, ntrain = count[0], ntest = count[1];
    if (t->kind == TOK_CHAR) {
        size_t nval = (size_t)(val_frac * (double)n + 0.5);
        ntest = (size_t)(test_frac * (double)n + 0.5);
        ntrain = nval + ntest < n ? n - nval - ntest : 0;
        if (ntrain == 0)
            ntest = 0;                  /* set_split reports too few */
    }
    if (set_split(c, t->what, ntrain, ntest, val_frac, test_frac, err, errlen) != 0)
        return -1;
    if (t->kind != TOK_CHAR) {
        c->train_bytes = t->cut[0];
        c->test_bytes = t->cut[1] - t->cut[0];
        c->val_bytes = t->len - t->cut[1];
        return 0;
    }
    c->test_bytes = token_bytes(c, c->test_begin, c->test_end);
    c->val_bytes = token_bytes(c, c->val_begin, c->val_end);
    /* the ids' bytes add up to the text's less the characters skipped */
    c->train_bytes = c->unknown ? token_bytes(c, c->train_begin, c->train_end)
                                : t->len - c->test_bytes - c->val_bytes;
    corpus_release(c, 0, c->n);
    return 0;
}

/* Tokenizes the text into c's vocabulary, into memory (w NULL) or the
 * cache file w, and splits it.  0 or -1 with err. */
static int tokenize(corpus *c, prep_text *t, tcache_writer *w, double val_frac,
                    double test_frac, char *err, size_t errlen)
{
    id_sink s = { .v = c->vocab, .w = w };
    size_t count[3];
    s.width = tok_size(c->vocab) <= 65536 ? 2 : 4;
    if (!w && !(s.mem = malloc((t->len + 1) * s.width))) {
        snprintf(err, errlen, "%s: out of memory", t->what);
        return -1;
    }
    int rc = encode_text(t, &s, count, err, errlen);
    free(s.ids);
    c->id_width = s.width;
    c->unknown = s.unknown;
    if (rc == 0 && w) {
        c->n = (size_t)w->n;
        rc = tcache_map(w, &c->ids, err, errlen);
    } else if (rc == 0) {
        /* give back the room the text's ids did not need */
        void *p = s.n ? realloc(s.mem, s.n * s.width) : s.mem;
        c->own = p ? p : s.mem;
        c->ids = c->own;
        c->n = s.n;
    } else {
        free(s.mem);
    }
    return rc == 0 ? split(c, t, count, val_frac, test_frac, err, errlen) : -1;
}

/* ---- the cache -------------------------------------------------------- */

/* The vocabulary given, in the JSON form a cache keeps; NULL when out of
 * memory. */
static char *vocab_json(const tok_vocab *v)
{
    cJSON *j = tok_to_json(v);
    char *s = j ? cJSON_PrintUnformatted(j) : NULL;
    cJSON_Delete(j);
    return s;
}

/* What a load through the cache needs: the key, the file, the vocabulary
 * given in JSON (NULL: learned). */
typedef struct cache_use {
    tcache_key key;
    char file[1100];
    char *given_json;
} cache_use;

/* Takes the cache of u when it matches: 1 taken, 0 not (a note says why
 * when it was unusable), -1 with err (interrupted). */
static int cache_take(corpus *c, prep_text *t, cache_use *u, const tok_vocab *vocab,
                      char *err, size_t errlen)
{
    char why[256];
    tcache_view v;
    tcache_watch w = { .progress = t->report ? t->p->progress : NULL, .ctx = t->p->ctx,
                       .cancel = t->p->cancel };
    int rc = tcache_read(&v, u->file, &u->key, u->given_json, &w, why, sizeof why,
                         err, errlen);
    if (rc < 0)
        return -1;
    if (rc == 0) {
        if (why[0])
            say(t, "%s: token cache %s: %s; building it again", t->what, u->file, why);
        return 0;
    }
    c->map = v.map;
    c->map_len = v.map_len;
    c->map_fd = v.fd;
    c->ids = v.ids;
    c->id_width = v.m.width;
    c->n = (size_t)v.m.n;
    c->train_begin = 0;
    c->train_end = c->test_begin = (size_t)v.m.train_end;
    c->test_end = c->val_begin = (size_t)v.m.test_end;
    c->val_end = c->n;
    c->unknown = (size_t)v.m.unknown;
    c->train_bytes = (size_t)v.m.train_bytes;
    c->test_bytes = (size_t)v.m.test_bytes;
    c->val_bytes = (size_t)v.m.val_bytes;
    c->vocab = v.vocab;
    if (vocab && !(c->vocab = tok_clone(vocab))) {
        snprintf(err, errlen, "%s: out of memory", t->what);
        return -1;
    }
    c->store = CORPUS_CACHE_REUSED;
    if (t->report)
        say(t, "%s: token cache reused: %s", t->what, u->file);
    return 1;
}

/* Tokenizes into a new cache file of u; 1 done, 0 when the cache cannot
 * be written (a note says why: tokenize into memory instead), -1 with
 * err. */
static int cache_build(corpus *c, prep_text *t, cache_use *u, double val_frac,
                       double test_frac, char *err, size_t errlen)
{
    tcache_writer w;
    char why[1400];
    char *json = u->given_json ? u->given_json : vocab_json(c->vocab);
    int rc = json ? tcache_create(&w, t->p->cache_dir, u->file, &u->key, json,
                                  tok_size(c->vocab), why, sizeof why) : -1;
    if (json != u->given_json)
        free(json);
    if (rc != 0) {
        say(t, "%s: no token cache (%s); the tokens stay in memory", t->what,
            json ? why : "out of memory");
        return 0;
    }
    rc = tokenize(c, t, &w, val_frac, test_frac, err, errlen);
    if (rc != 0 && !w.err) {
        tcache_abort(&w);               /* interrupted, too few tokens, ... */
        c->ids = NULL;
        return -1;
    }
    tcache_meta m = {
        .train_end = c->train_end, .test_end = c->test_end, .unknown = c->unknown,
        .train_bytes = c->train_bytes, .test_bytes = c->test_bytes,
        .val_bytes = c->val_bytes,
    };
    if (rc != 0 || tcache_commit(&w, &m, &c->map, &c->map_len, &c->map_fd, why,
                                    sizeof why) != 0) {
        tcache_abort(&w);
        c->ids = NULL;
        say(t, "%s: no token cache (%s); the tokens stay in memory", t->what,
            rc != 0 ? strerror(w.err) : why);
        return 0;
    }
    c->store = CORPUS_CACHE_BUILT;
    /* the caches of the file as it was will not be used again */
    int gone = tcache_prune(t->p->cache_dir, u->key.path, u->file);
    if (t->report && gone)
        say(t, "%s: token cache written: %s (%d of the file as it was before removed)",
            t->what, u->file, gone);
    else if (t->report)
        say(t, "%s: token cache written: %s", t->what, u->file);
    return 1;
}

/* Takes the lock on building u's cache (tokcache.h), waiting while
 * another process holds it (it is building that cache: a note says so);
 * without a lock to be had, goes on without.  0, or -1 with err
 * (interrupted). */
static int cache_lock(prep_text *t, cache_use *u, tcache_lock *l, char *err, size_t errlen)
{
    const corpus_prep *p = t->p;
    int rc = tcache_lock_take(l, p->cache_dir, u->file, 0, p->cancel, err, errlen);
    if (rc == TCACHE_LOCK_BUSY) {
        say(t, "%s: waiting for another process building the token cache %s", t->what,
            u->file);
        rc = tcache_lock_take(l, p->cache_dir, u->file, 1, p->cancel, err, errlen);
    }
    return rc < 0 ? -1 : 0;
}

/* Prepares t into c: from a matching cache, else tokenized (into a new
 * cache when t's file may have one).  vocab and o as corpus_open takes
 * them.  0 or -1 with err; on failure c holds nothing. */
static int prepare(corpus *c, prep_text *t, const struct stat *st, const char *path,
                   const tok_vocab *vocab, const tok_options *o, double val_frac,
                   double test_frac, char *err, size_t errlen)
{
    cache_use u = { .given_json = NULL };
    tok_options chr = tok_options_default(), key_opts = vocab ? tok_options_of(vocab)
                                                              : o ? *o : chr;
    const corpus_prep *p = t->p;
    int cached = p && p->cache_dir[0] && path && t->len >= p->cache_min, rc = 0;
    if (cached) {
        tcache_key_make(&u.key, st, &key_opts, val_frac, test_frac);
        cached = tcache_file(u.file, sizeof u.file, p->cache_dir, path, &u.key, err,
                             errlen) == 0;
        if (cached && vocab && !(u.given_json = vocab_json(vocab)))
            cached = 0;
    }
    tcache_lock lock = {.fd = -1};
    if (cached)
        rc = cache_lock(t, &u, &lock, err, errlen);
    if (rc == 0 && cached)
        rc = cache_take(c, t, &u, vocab, err, errlen);
    if (rc == 0 && check_text(t, err, errlen) != 0)
        rc = -1;
    if (rc == 0 && t->kind != TOK_CHAR)
        byte_cuts(t->kind, t->data, t->len, val_frac, test_frac, t->cut);
    if (rc == 0 && vocab && !(c->vocab = tok_clone(vocab))) {
        snprintf(err, errlen, "%s: out of memory", t->what);
        rc = -1;
    }
    if (rc == 0 && !vocab)
        rc = build_vocab(c, t, o, err, errlen);
    if (rc == 0 && cached)
        rc = cache_build(c, t, &u, val_frac, test_frac, err, errlen);
    if (rc == 0)
        rc = tokenize(c, t, NULL, val_frac, test_frac, err, errlen) == 0 ? 1 : -1;
    tcache_lock_drop(&lock);
    free(u.given_json);
    if (rc > 0 && c->store != CORPUS_IN_MEMORY && !(c->cache_path = strdup(u.file))) {
        snprintf(err, errlen, "%s: out of memory", t->what);
        rc = -1;
    }
    if (rc < 0)
        corpus_free(c);
    return rc < 0 ? -1 : 0;
}

/* Maps path, a regular file of text, for reading: the mapping and its
 * length, or NULL with err set. */
static void *map_file(const char *path, size_t *len, struct stat *stp, char *err,
                      size_t errlen)
{
    /* stat before open: opening a FIFO for reading would block. */
    struct stat st;
    if (stat(path, &st) != 0) {
        int e = errno;
        if (e == ENOENT) snprintf(err, errlen, "%s: no such file", path);
        else if (e == EACCES) snprintf(err, errlen, "%s: unreadable (permission denied)", path);
        else snprintf(err, errlen, "%s: cannot stat: %s", path, strerror(e));
        return NULL;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s: is a directory, expected a text file", path);
        return NULL;
    }
    if (!S_ISREG(st.st_mode)) {
        /* Pipes and devices cannot be mapped and have no size to split. */
        snprintf(err, errlen, "%s: not a regular file", path);
        return NULL;
    }
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        int e = errno;
        if (e == EACCES) snprintf(err, errlen, "%s: unreadable (permission denied)", path);
        else snprintf(err, errlen, "%s: cannot open: %s", path, strerror(e));
        return NULL;
    }
    /* The size that counts is that of the file actually opened. */
    int stat_rc = fstat(fd, &st);
    if (stat_rc != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s: %s", path,
                 stat_rc != 0 ? strerror(errno) : "changed while being opened");
        close(fd);
        return NULL;
    }
    if (st.st_size == 0) {
        snprintf(err, errlen, "%s: is empty", path);
        close(fd);
        return NULL;
    }
    if ((unsigned long long)st.st_size > (unsigned long long)SIZE_MAX) {
        snprintf(err, errlen, "%s: too large to map", path);
        close(fd);
        return NULL;
    }
    *len = (size_t)st.st_size;
    *stp = st;
    void *map = mmap(NULL, *len, PROT_READ, MAP_PRIVATE, fd, 0);
    int e = errno;
    close(fd);                          /* the mapping keeps the file alive */
    if (map == MAP_FAILED) {
        snprintf(err, errlen, "%s: cannot map: %s", path, strerror(e));
        return NULL;
    }
    return map;
}

/* Loads what (a path, or NULL for the buffer data) into c: vocab or o as
 * prepare takes them, through p's cache (NULL: none; buffers have none).
 * A buffer corpus has no file: its path is "" (SESSION_NO_CORPUS). */
static int load(corpus *c, const char *path, const uint8_t *data, size_t len,
                const tok_vocab *vocab, const tok_options *o, double val_frac,
                double test_frac, const corpus_prep *p, char *err, size_t errlen)
{
    const char *what = path ? path : "text buffer";
    void *map = NULL;
    struct stat st;
    memset(c, 0, sizeof *c);
    memset(&st, 0, sizeof st);
    if (check_fracs(what, val_frac, test_frac, err, errlen) != 0)
        return -1;
    if (path && !(map = map_file(path, &len, &st, err, errlen)))
        return -1;
    if (!path && !data)
        len = 0;
    prep_text t = {
        .what = what, .data = map ? map : data, .len = len, .mapped = map != NULL,
        .kind = vocab ? tok_kind_of(vocab) : o ? o->kind : TOK_CHAR,
        .p = path ? p : NULL, .report = path && p && len >= p->report_min,
    };
    int rc = prepare(c, &t, &st, path, vocab, o, val_frac, test_frac, err, errlen);
    if (map)
        munmap(map, len);
    if (rc != 0)
        return -1;
    c->path = strdup(path ? path : "");
    if (!c->path) {
        snprintf(err, errlen, "%s: out of memory", what);
        corpus_free(c);
        return -1;
    }
    return 0;
}

int corpus_open(corpus *c, const char *path, const tok_vocab *vocab,
                const tok_options *o, double val_frac, double test_frac,
                const corpus_prep *p, char *err, size_t errlen)
{
    return load(c, path, NULL, 0, vocab, vocab ? NULL : o, val_frac, test_frac, p,
                err, errlen);
}

int corpus_load(corpus *c, const char *path, const tok_vocab *vocab,
                double val_frac, double test_frac, char *err, size_t errlen)
{
    return load(c, path, NULL, 0, vocab, NULL, val_frac, test_frac, NULL, err, errlen);
}

int corpus_learn(corpus *c, const char *path, const tok_options *o,
                 double val_frac, double test_frac, char *err, size_t errlen)
{
    return load(c, path, NULL, 0, NULL, o, val_frac, test_frac, NULL, err, errlen);
}

int corpus_from_buffer(corpus *c, const uint8_t *data, size_t len,
                       const tok_vocab *vocab, double val_frac,
                       double test_frac, char *err, size_t errlen)
{
    return load(c, NULL, data, len, vocab, NULL, val_frac, test_frac, NULL, err,
                errlen);
}

int corpus_learn_buffer(corpus *c, const uint8_t *data, size_t len,
                        const tok_options *o, double val_frac,
                        double test_frac, char *err, size_t errlen)
{
    return load(c, NULL, data, len, NULL, o, val_frac, test_frac, NULL, err, errlen);
}

void corpus_prep_default(corpus_prep *p)
{
    const char *env = getenv("RNNLAB_CACHE_DIR"), *xdg = getenv("XDG_CACHE_HOME"),
               *home = getenv("HOME");
    memset(p, 0, sizeof *p);
    p->cache_min = CORPUS_CACHE_MIN;
    p->report_min = CORPUS_REPORT_MIN;
    if (env && *env) {
        if (strcmp(env, "off") != 0)
            snprintf(p->cache_dir, sizeof p->cache_dir, "%s", env);
    } else if (xdg && *xdg == '/') {    /* XDG: a relative path is ignored */
        snprintf(p->cache_dir, sizeof p->cache_dir, "%s/rnnlab", xdg);
    } else if (home && *home) {
        snprintf(p->cache_dir, sizeof p->cache_dir, "%s/.cache/rnnlab", home);
    }
}

void corpus_free(corpus *c)
{
    if (!c) return;
    free(c->path);
    free(c->cache_path);
    tok_free(c->vocab);
    free(c->own);
    if (c->map) {
        munmap(c->map, c->map_len);
        close(c->map_fd);
    }
    memset(c, 0, sizeof *c);
}

void corpus_ids(const corpus *c, size_t begin, size_t n, uint32_t *out)
{
    if (c->id_width == 2) {
        const uint16_t *p = (const uint16_t *)c->ids + begin;
        for (size_t i = 0; i < n; i++)
            out[i] = p[i];
    } else {
        memcpy(out, (const uint32_t *)c->ids + begin, n * sizeof *out);
    }
}

void corpus_release(const corpus *c, size_t begin, size_t end)
{
    if (!c->map || end <= begin)
        return;
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    const uint8_t *ids = c->ids;
    uintptr_t lo = ((uintptr_t)(ids + begin * c->id_width) + page - 1) & ~(page - 1);
    uintptr_t hi = (uintptr_t)(ids + end * c->id_width) & ~(page - 1);
    if (hi > lo)
        madvise((void *)lo, hi - lo, MADV_DONTNEED);
}

void corpus_range(const corpus *c, corpus_split s, size_t *begin, size_t *end)
{
    size_t b = 0, e = 0;
    switch (s) {
    case SPLIT_TRAIN: b = c->train_begin; e = c->train_end; break;
    case SPLIT_VAL:   b = c->val_begin;   e = c->val_end;   break;
    case SPLIT_TEST:  b = c->test_begin;  e = c->test_end;  break;
    case SPLIT_ALL:   b = 0;              e = c->n;         break;
    }
    if (begin) *begin = b;
    if (end) *end = e;
}

size_t corpus_bytes(const corpus *c, corpus_split s)
{
    switch (s) {
    case SPLIT_TRAIN: return c->train_bytes;
    case SPLIT_VAL: return c->val_bytes;
    case SPLIT_TEST: return c->test_bytes;
    case SPLIT_ALL: return c->train_bytes + c->test_bytes + c->val_bytes;
    }
    return 0;
}

double corpus_bits_per_byte(const corpus *c, corpus_split s, double nats)
{
    size_t b, e, bytes = corpus_bytes(c, s);
    corpus_range(c, s, &b, &e);
    if (bytes == 0 || e <= b)
        return NAN;
    return nats / M_LN2 * (double)(e - b) / (double)bytes;
}

int corpus_split_parse(const char *s)
{
    if (!s) return -1;
    if (strcmp(s, "train") == 0) return SPLIT_TRAIN;
    if (strcmp(s, "val") == 0) return SPLIT_VAL;
    if (strcmp(s, "test") == 0) return SPLIT_TEST;
    if (strcmp(s, "all") == 0) return SPLIT_ALL;
    return -1;
}

static int is_regular_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

const char *corpus_bundled(void)
{
    if (is_regular_file(CORPUS_BUNDLED_LOCAL))
        return CORPUS_BUNDLED_LOCAL;
    if (is_regular_file(CORPUS_BUNDLED_INSTALLED))
        return CORPUS_BUNDLED_INSTALLED;
    return NULL;
}
