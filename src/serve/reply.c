/* reply.c - the JSON of the server's answers and events (reply.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "serve/reply.h"

/* ---- text and numbers */

/* The length of the well-formed UTF-8 sequence at s (n bytes left), or 0
 * where none starts (a NUL counts as none: JSON text here is C text). */
static size_t utf8_seq(const unsigned char *s, size_t n)
{
    unsigned c = s[0];
    size_t len = c == 0 ? 0 : c < 0x80 ? 1 : c >= 0xC2 && c <= 0xDF ? 2
               : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    unsigned lo = c == 0xE0 ? 0xA0 : c == 0xF0 ? 0x90 : 0x80;
    unsigned hi = c == 0xED ? 0x9F : c == 0xF4 ? 0x8F : 0xBF;
    if (len == 0 || len > n)
        return 0;
    for (size_t i = 1; i < len; i++)
        if (s[i] < (i == 1 ? lo : 0x80) || s[i] > (i == 1 ? hi : 0xBF))
            return 0;
    return len;
}

/* s[0..n) as a C string of valid UTF-8 (malloc'd), or NULL. */
static char *clean_text(const char *s, size_t n)
{
    strbuf b = STRBUF_INIT;
    const unsigned char *u = (const unsigned char *)s;
    if (strbuf_reserve(&b, n) < 0)
        return NULL;
    for (size_t i = 0; i < n;) {
        size_t k = utf8_seq(u + i, n - i);
        int rc = k ? strbuf_append(&b, s + i, k) : strbuf_puts(&b, "\xEF\xBF\xBD");
        if (rc < 0) {
            strbuf_free(&b);
            return NULL;
        }
        i += k ? k : 1;
    }
    b.p[b.len] = '\0';
    return b.p;
}

static cJSON *text_item(const char *s, size_t n)
{
    char *t = clean_text(s, n);
    cJSON *j = t ? cJSON_CreateString(t) : NULL;
    free(t);
    return j;
}

static void add_text(cJSON *o, const char *name, const char *s, size_t n)
{
    cJSON_AddItemToObject(o, name, text_item(s, n));
}

static cJSON *token_item(const srv_gen *g, uint32_t id)
{
    size_t len = 0;
    const uint8_t *b = tok_bytes(g->vocab, id, &len);
    return text_item(b ? (const char *)b : "", b ? len : 0);
}

/* Float precision, so JSON shows 0.3 and not 0.30000001192092896. */
static double tidy(double x)
{
    char buf[32];
    if (!isfinite(x))
        return x;
    snprintf(buf, sizeof buf, "%.7g", x);
    return strtod(buf, NULL);
}

/* Prints o as one line (and frees it); NULL when out of memory. */
static char *print(cJSON *o)
{
    char *s = o ? cJSON_PrintUnformatted(o) : NULL;
    cJSON_Delete(o);
    return s;
}

static int put_event(strbuf *out, cJSON *o)
{
    char *s = print(o);
    int rc = s ? strbuf_printf(out, "data: %s\n\n", s) : -1;
    cJSON_free(s);
    return rc;
}

/* ---- plain answers */

static const char *error_type(int status)
{
    return status == 401 ? "authentication_error" : status == 404 ? "not_found_error"
         : status == 429 ? "rate_limit_error" : status >= 500 ? "server_error"
         : "invalid_request_error";
}

char *srv_reply_error(int status, const char *message)
{
    cJSON *o = cJSON_CreateObject(), *e = cJSON_AddObjectToObject(o, "error");
    cJSON_AddStringToObject(e, "message", message);
    cJSON_AddStringToObject(e, "type", error_type(status));
    cJSON_AddNumberToObject(e, "code", status);
    return print(o);
}

/* A loss, or null when there is none (NAN). */
static void add_loss(cJSON *o, const char *name, double loss)
{
    if (isnan(loss))
        cJSON_AddNullToObject(o, name);
    else
        cJSON_AddNumberToObject(o, name, tidy(loss));
}

static cJSON *model_item(const srv_model_desc *m)
{
    cJSON *d = cJSON_CreateObject();
    cJSON_AddStringToObject(d, "id", m->name);
    cJSON_AddStringToObject(d, "object", "model");
    cJSON_AddNumberToObject(d, "created", 0);
    cJSON_AddStringToObject(d, "owned_by", "rnnlab");
    cJSON_AddStringToObject(d, "cell", model_cell_name(m->cfg.cell));
    cJSON_AddNumberToObject(d, "layers", m->cfg.layers);
    cJSON_AddNumberToObject(d, "hidden", m->cfg.hidden);
    cJSON_AddNumberToObject(d, "embed", m->cfg.embed);
    cJSON_AddNumberToObject(d, "vocab", m->cfg.vocab);
    cJSON_AddNumberToObject(d, "step", (double)m->step);
    add_loss(d, "val_loss", m->val_loss);
    add_loss(d, "best_val_loss", m->best_val_loss);
    return d;
}

char *srv_reply_models(const srv_model_desc *const *m, int n)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "object", "list");
    cJSON *data = cJSON_AddArrayToObject(o, "data");
    for (int i = 0; i < n; i++)
        cJSON_AddItemToArray(data, model_item(m[i]));
    return print(o);
}

char *srv_reply_model(const srv_model_desc *m)
{
    return print(model_item(m));
}

char *srv_reply_health(const char *status, int n_models, double uptime)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "status", status);
    cJSON_AddNumberToObject(o, "models", n_models);
    cJSON_AddNumberToObject(o, "uptime_s", tidy(uptime));
    return print(o);
}

/* ---- /v1/completions */

static const char *finish_reason(const srv_choice *c)
{
    if (!c->done)
        return NULL;
    switch (c->job.stop) {
    case SAMPLE_STOP_STRING:
    case SAMPLE_STOP_EOS: return "stop";
    case SAMPLE_STOP_LENGTH: return "length";
    case SAMPLE_STOP_CANCEL: return "cancelled";
    default: return "error";
    }
}

/* Where the reported text ends: before the stop string that ended it. */
static size_t text_end(const srv_choice *c)
{
    if (c->job.stop == SAMPLE_STOP_STRING && c->job.stop_index >= 0)
        return c->job.stop_at;
    return c->text.len;
}

/* How much of a growing text may be sent: all but a tail that is, or
 * could still become, a stop string (the job ends at a match, but says
 * so only after its token). */
static size_t safe_end(const srv_gen *g, const srv_choice *c)
{
    size_t n = c->text.len, keep = 0;
    if (c->done)
        return text_end(c);
    for (int i = 0; i < g->p.stops.n; i++) {
        const char *s = g->p.stops.s[i];
        for (size_t m = strlen(s); m > keep; m--)
            if (m <= n && memcmp(c->text.p + n - m, s, m) == 0) {
                keep = m;
                break;
            }
    }
    return n - keep;
}

/* OpenAI's logprobs of the tokens that start in text[from, to). */
static cJSON *logprobs_item(const srv_gen *g, const srv_choice *c, size_t from, size_t to)
{
    if (g->p.logprobs < 0)
        return cJSON_CreateNull();
    cJSON *o = cJSON_CreateObject();
    cJSON *toks = cJSON_AddArrayToObject(o, "tokens");
    cJSON *lps = cJSON_AddArrayToObject(o, "token_logprobs");
    cJSON *tops = cJSON_AddArrayToObject(o, "top_logprobs");
    cJSON *offs = cJSON_AddArrayToObject(o, "text_offset");
    for (size_t i = 0; i < c->n_toks; i++) {
        const srv_tok *t = &c->toks[i];
        if (t->offset < from || t->offset >= to)
            continue;
        cJSON_AddItemToArray(toks, token_item(g, t->id));
        cJSON_AddItemToArray(lps, cJSON_CreateNumber(tidy(log(t->model_prob))));
        cJSON *top = cJSON_CreateObject();
        for (int k = 0; k < t->n_alts; k++) {
            cJSON *name = token_item(g, t->alt_id[k]);
            if (name)
                cJSON_AddNumberToObject(top, name->valuestring, tidy(log(t->alt_prob[k])));
            cJSON_Delete(name);
        }
        cJSON_AddItemToArray(tops, top);
        cJSON_AddItemToArray(offs, cJSON_CreateNumber((double)t->offset));
    }
    return o;
}

static cJSON *choice_item(const srv_gen *g, const srv_choice *c, size_t from, size_t to,
                          const char *finish)
{
    cJSON *o = cJSON_CreateObject();
    add_text(o, "text", c->text.p ? c->text.p + from : "", to - from);
    cJSON_AddNumberToObject(o, "index", c->index);
    cJSON_AddItemToObject(o, "logprobs", logprobs_item(g, c, from, to));
    if (finish)
        cJSON_AddStringToObject(o, "finish_reason", finish);
    else
        cJSON_AddNullToObject(o, "finish_reason");
    return o;
}

static cJSON *completion_head(const srv_gen *g)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", g->id);
    cJSON_AddStringToObject(o, "object", "text_completion");
    cJSON_AddNumberToObject(o, "created", (double)g->created);
    cJSON_AddStringToObject(o, "model", g->model->name);
    return o;
}

static int completion_events(srv_gen *g, srv_choice *c, strbuf *out)
{
    size_t end = safe_end(g, c);
    const char *finish = finish_reason(c);
    if (end < c->emitted)
        end = c->emitted;
    if (end == c->emitted && !finish)
        return 0;
    cJSON *o = completion_head(g);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    cJSON_AddItemToArray(choices, choice_item(g, c, c->emitted, end, finish));
    c->emitted = end;
    return put_event(out, o);
}

static char *completion_answer(srv_gen *g)
{
    size_t generated = 0;
    cJSON *o = completion_head(g);
    cJSON *choices = cJSON_AddArrayToObject(o, "choices");
    for (int i = 0; i < g->p.n; i++) {
        const srv_choice *c = &g->c[i];
        cJSON_AddItemToArray(choices, choice_item(g, c, 0, text_end(c), finish_reason(c)));
        generated += c->job.stats.generated;
    }
    cJSON *u = cJSON_AddObjectToObject(o, "usage");
    size_t prompt = g->c[0].job.stats.prime_tokens;
    cJSON_AddNumberToObject(u, "prompt_tokens", (double)prompt);
    cJSON_AddNumberToObject(u, "completion_tokens", (double)generated);
    cJSON_AddNumberToObject(u, "total_tokens", (double)(prompt + generated));
    return print(o);
}

/* ---- /v1/generate */

/* A token as a `sample --json` line has it. */
static cJSON *token_event(const srv_gen *g, const srv_tok *t, size_t index)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "index", (double)index);
    cJSON_AddItemToObject(o, "token", token_item(g, t->id));
    cJSON_AddNumberToObject(o, "id", t->id);
    cJSON_AddNumberToObject(o, "prob", tidy(t->prob));
    cJSON_AddNumberToObject(o, "model_prob", tidy(t->model_prob));
    cJSON *top = cJSON_AddArrayToObject(o, "top");
    for (int k = 0; k < t->n_alts; k++) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddItemToObject(a, "token", token_item(g, t->alt_id[k]));
        cJSON_AddNumberToObject(a, "prob", tidy(t->alt_prob[k]));
        cJSON_AddItemToArray(top, a);
    }
    return o;
}

static void add_beams(cJSON *o, const sample_result *r)
{
    if (r->n_beams <= 0)
        return;
    cJSON *beams = cJSON_AddArrayToObject(o, "beams");
    for (int i = 0; i < r->n_beams; i++) {
        cJSON *b = cJSON_CreateObject();
        add_text(b, "text", r->beams[i].text, r->beams[i].text_len);
        cJSON_AddNumberToObject(b, "score", r->beams[i].score);
        cJSON_AddNumberToObject(b, "logprob", r->beams[i].logprob);
        cJSON_AddNumberToObject(b, "tokens", (double)r->beams[i].n);
        cJSON_AddItemToArray(beams, b);
    }
}

/* The summary `sample --json` ends with, and the model and seed. */
static cJSON *generate_summary(const srv_gen *g, const srv_choice *c)
{
    const srv_job *j = &c->job;
    char seed[24];
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "model", g->model->name);
    add_text(o, "prime", g->p.prompt, strlen(g->p.prompt));
    add_text(o, "text", c->text.p ? c->text.p : "", c->text.len);
    cJSON_AddNumberToObject(o, "tokens", (double)j->stats.generated);
    cJSON_AddStringToObject(o, "stop", sample_stop_name(j->stop));
    cJSON_AddNumberToObject(o, "prime_unknown", (double)j->stats.prime_unknown);
    cJSON_AddNumberToObject(o, "seconds", tidy(j->seconds));
    cJSON_AddNumberToObject(o, "tokens_per_s",
                            tidy(j->seconds > 0 ? (double)j->stats.generated / j->seconds : 0));
    cJSON_AddNumberToObject(o, "cpu_seconds", tidy(j->cpu_seconds));
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)j->seed);
    cJSON_AddRawToObject(o, "seed", seed);
    add_beams(o, &j->beams);
    return o;
}

static int generate_events(srv_gen *g, srv_choice *c, strbuf *out)
{
    for (; c->sent_toks < c->n_toks; c->sent_toks++)
        if (put_event(out, token_event(g, &c->toks[c->sent_toks], c->sent_toks)) < 0)
            return -1;
    return c->done ? put_event(out, generate_summary(g, c)) : 0;
}

/* ---- either */

int srv_reply_events(srv_gen *g, srv_choice *c, strbuf *out)
{
    if (g->p.api == SRV_API_COMPLETIONS)
        return completion_events(g, c, out);
    return generate_events(g, c, out);
}

int srv_reply_done(strbuf *out)
{
    return strbuf_puts(out, "data: [DONE]\n\n");
}

char *srv_reply_answer(srv_gen *g)
{
    if (g->p.api == SRV_API_COMPLETIONS)
        return completion_answer(g);
    return print(generate_summary(g, &g->c[0]));
}
