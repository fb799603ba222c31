/* cache.c - `rnnlab cache`: the token caches (README "Large corpora"):
 * list them with their corpus, tokenizer, size, last use and state, and
 * clear the stale ones or all, passing over those another process holds. */
#ifndef _POSIX_C_SOURCE
#define _POSIX_C_SOURCE 200809L
#endif

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "cli/cli_int.h"
#include "util/status.h"
#include "text/corpus.h"
#include "text/tokcache_dir.h"

enum { CO_STALE = 256, CO_ALL, CO_DRY_RUN, CO_JSON };

static const struct option cache_opts[] = {
    {"stale", no_argument, NULL, CO_STALE},
    {"all", no_argument, NULL, CO_ALL},
    {"dry-run", no_argument, NULL, CO_DRY_RUN},
    {"json", no_argument, NULL, CO_JSON},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}
};

typedef struct cache_args {
    cli_opt_ctx oc;
    int stale, all, dry_run, json;
} cache_args;

static int cache_set(void *args, int id, const char *arg)
{
    cache_args *a = args;
    (void)arg;
    switch (id) {
    case CO_STALE: a->stale = 1; return 0;
    case CO_ALL: a->all = 1; return 0;
    case CO_DRY_RUN: a->dry_run = 1; return 0;
    default: a->json = 1; return 0;
    }
}

static void cache_help(FILE *f)
{
    fputs(
"Usage: rnnlab cache [list] [--json]\n"
"       rnnlab cache clear --stale|--all [--dry-run]\n"
"The token caches: corpora of 8 MiB or more tokenized once into a file\n"
"that later runs map (README \"Large corpora\"), kept in $RNNLAB_CACHE_DIR,\n"
"else $XDG_CACHE_HOME/rnnlab, else ~/.cache/rnnlab.\n"
"\n"
"  list                 (the default) each cache's size, last use (built or\n"
"                       reused), state, tokenizer, split (--val-frac and\n"
"                       --test-frac) and corpus; states:\n"
"                       current, corpus changed (since it was made: it will\n"
"                       not be used again), corpus gone, other version (of\n"
"                       rnnlab's format), unfinished (a temporary being\n"
"                       written, or left by a killed process); \"in use\"\n"
"                       when another process maps, writes or builds it\n"
"  clear --stale        remove the caches that will not be used again (all\n"
"                       but the current ones) and what killed processes left\n"
"  clear --all          remove every cache\n"
"  --dry-run            with clear: say what would go, remove nothing\n"
"  --json               with list: one JSON object, {\"dir\", \"caches\": [{\n"
"                       \"file\", \"corpus\", \"tokenizer\", \"bytes\", \"tokens\",\n"
"                       \"val_frac\", \"test_frac\", \"last_used\" (seconds since\n"
"                       1970), \"state\", \"in_use\"}]}\n"
"  -h, --help           show this help and exit\n"
"\n"
"A cache in use is never removed: clear passes over it with a line saying\n"
"so.  A build removes the caches of earlier states of its corpus itself.\n", f);
}

/* ---- list -------------------------------------------------------------- */

/* The tokenizer's words for a listing: "char", "bpe vocab=2048 ...". */
static const char *tokenizer_of(const tcache_entry *e)
{
    return e->state == TCACHE_UNFINISHED || e->state == TCACHE_FOREIGN ? "-" : e->opts;
}

typedef struct cache_walk {
    const cache_args *a;
    const char *dir;
    cJSON *list;             /* --json */
    int n, kept, failed;
    double bytes, freed;
} cache_walk;

static int print_entry(void *ctx, const tcache_entry *e)
{
    cache_walk *w = ctx;
    char size[32], when[32], state[48], split[48] = "-";
    if (w->n++ == 0)
        printf("%9s  %-16s  %-22s  %-32s  %-9s  %s\n", "SIZE", "LAST USED", "STATE",
               "TOKENIZER", "VAL/TEST", "CORPUS");
    if (e->corpus[0])
        snprintf(split, sizeof split, "%g/%g", e->val_frac, e->test_frac);
    w->bytes += (double)e->bytes;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M", localtime(&e->used));
    snprintf(state, sizeof state, "%s%s", tcache_state_name(e->state),
             e->busy ? ", in use" : "");
    printf("%9s  %-16s  %-22s  %-32s  %-9s  %s\n", cli_bytes(size, (double)e->bytes), when,
           state, tokenizer_of(e), split, e->corpus[0] ? e->corpus : "-");
    return 0;
}

static int json_entry(void *ctx, const tcache_entry *e)
{
    cache_walk *w = ctx;
    cJSON *o = cJSON_CreateObject();
    if (!o || !cJSON_AddItemToArray(w->list, o)) {
        cJSON_Delete(o);
        return -1;
    }
    cJSON_AddStringToObject(o, "file", e->file);
    if (e->corpus[0])
        cJSON_AddStringToObject(o, "corpus", e->corpus);
    else
        cJSON_AddNullToObject(o, "corpus");
    cJSON_AddStringToObject(o, "tokenizer", tokenizer_of(e));
    cJSON_AddNumberToObject(o, "bytes", (double)e->bytes);
    cJSON_AddNumberToObject(o, "tokens", (double)e->tokens);
    if (e->corpus[0]) {
        cJSON_AddNumberToObject(o, "val_frac", e->val_frac);
        cJSON_AddNumberToObject(o, "test_frac", e->test_frac);
    }
    cJSON_AddNumberToObject(o, "last_used", (double)e->used);
    cJSON_AddStringToObject(o, "state", tcache_state_name(e->state));
    cJSON_AddBoolToObject(o, "in_use", e->busy);
    return 0;
}

static int cache_list(const cache_args *a, const char *dir)
{
    char err[1200], total[32];
    cache_walk w = {.a = a, .dir = dir};
    err[0] = '\0';
    if (a->json) {
        cJSON *o = cJSON_CreateObject();
        if (!o || !cJSON_AddStringToObject(o, "dir", dir) ||
            !(w.list = cJSON_AddArrayToObject(o, "caches"))) {
            cJSON_Delete(o);
            return cli_fail("out of memory");
        }
        if (tcache_list(dir, json_entry, &w, err, sizeof err) != 0) {
            cJSON_Delete(o);
            return cli_fail("%s", err[0] ? err : "out of memory");
        }
        return cli_print_json(o);
    }
    if (tcache_list(dir, print_entry, &w, err, sizeof err) != 0)
        return cli_fail("%s", err);
    if (w.n == 0)
        printf("no token caches in %s\n", dir);
    else
        printf("%d file%s, %s, in %s\n", w.n, w.n > 1 ? "s" : "", cli_bytes(total, w.bytes),
               dir);
    return STATUS_OK;
}

/* ---- clear ------------------------------------------------------------- */

static int clear_entry(void *ctx, const tcache_entry *e)
{
    cache_walk *w = ctx;
    char size[32], err[1600];
    if (w->a->stale && e->state == TCACHE_CURRENT)
        return 0;
    if (e->busy) {
        cli_warn("kept %s: in use by another process", e->file);
        w->kept++;
        return 0;
    }
    int rc = w->a->dry_run ? 0 : tcache_remove(w->dir, e->file, err, sizeof err);
    if (rc < 0) {
        cli_warn("%s", err);
        w->failed++;
    } else if (rc > 0) {
        cli_warn("kept %s: in use by another process", e->file);
        w->kept++;
    } else {
        printf("%s %s (%s)\n", w->a->dry_run ? "would remove" : "removed", e->file,
               cli_bytes(size, (double)e->bytes));
        w->n++;
        w->freed += (double)e->bytes;
    }
    return 0;
}

static int cache_clear(const cache_args *a, const char *dir)
{
    char err[1200], freed[32];
    cache_walk w = {.a = a, .dir = dir};
    if (tcache_list(dir, clear_entry, &w, err, sizeof err) != 0)
        return cli_fail("%s", err);
    if (!a->dry_run)
        tcache_remove_stray_locks(dir);
    printf("%s %d file%s, %s", a->dry_run ? "would remove" : "removed", w.n,
           w.n == 1 ? "" : "s", cli_bytes(freed, w.freed));
    if (w.kept)
        printf("; kept %d in use", w.kept);
    putchar('\n');
    return w.failed ? STATUS_FAIL : STATUS_OK;
}

/* ---- the command ------------------------------------------------------- */

/* Parses the command line; 0 with *clear set, CLI_PARSE_HELP or
 * STATUS_USAGE. */
static int cache_parse(cache_args *a, int argc, char **argv, int *clear)
{
    char *pos[1];
    int n_pos;
    memset(a, 0, sizeof *a);
    a->oc.cmd = "cache";
    a->oc.opts = cache_opts;
    int rc = cli_parse_command(&a->oc, argc, argv, cache_set, a, pos, 1, &n_pos);
    if (rc != 0)
        return rc;
    if (n_pos && strcmp(pos[0], "list") != 0 && strcmp(pos[0], "clear") != 0)
        return cli_usage_error(a->oc.cmd, "unknown action '%s'; give list or clear", pos[0]);
    *clear = n_pos && strcmp(pos[0], "clear") == 0;
    if (*clear && a->stale == a->all)
        return cli_usage_error(a->oc.cmd, "clear: give --stale (what will not be used "
                               "again) or --all");
    if (*clear && a->json)
        return cli_usage_error(a->oc.cmd, "--json goes with list");
    if (!*clear && (a->stale || a->all || a->dry_run))
        return cli_usage_error(a->oc.cmd, "--%s goes with clear",
                               a->stale ? "stale" : a->all ? "all" : "dry-run");
    return 0;
}

int cli_cache(int argc, char **argv)
{
    cache_args a;
    corpus_prep p;
    int clear = 0, rc = cache_parse(&a, argc, argv, &clear);
    if (rc == CLI_PARSE_HELP) {
        cache_help(stdout);
        return STATUS_OK;
    }
    if (rc != 0)
        return rc;
    corpus_prep_default(&p);
    if (!p.cache_dir[0])
        return cli_fail("no token cache directory (RNNLAB_CACHE_DIR is off, or "
                        "HOME and XDG_CACHE_HOME are not set)");
    return clear ? cache_clear(&a, p.cache_dir) : cache_list(&a, p.cache_dir);
}
