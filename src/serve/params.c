/* params.c - generation requests from JSON bodies (params.h): a table of
 * the fields of each API, the settings table for the sampler's ranges. */
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "util/compat.h"
#include "util/jscan.h"
#include "engine/settings.h"
#include "serve/params.h"

/* Parsing state: the request so far, the settings as the table stores
 * them, and the field being read (for messages). */
typedef struct pctx {
    srv_params *p;
    setting_values sv;
    const char *field;
    char *err;
    size_t errlen;
    int n_best_given;
} pctx;

typedef int (*field_fn)(pctx *c, const cJSON *v, const char *arg);

typedef struct field {
    const char *name;
    field_fn fn;
    const char *arg;         /* the setting, or what the function needs */
} field;

PRINTF_LIKE(2, 3) static int fail(pctx *c, const char *fmt, ...)
{
    char why[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    snprintf(c->err, c->errlen, "%s: %s", c->field, why);
    return 400;
}

static const char *type_name(const cJSON *v)
{
    return cJSON_IsString(v) ? "a string" : cJSON_IsNumber(v) ? "a number"
         : cJSON_IsBool(v) ? "a boolean" : cJSON_IsArray(v) ? "an array"
         : cJSON_IsObject(v) ? "an object" : "null";
}

static int type_error(pctx *c, const cJSON *v, const char *want)
{
    return fail(c, "expected %s, not %s", want, type_name(v));
}

/* The shortest text that reads back as x. */
static void number_text(double x, char *buf, size_t len)
{
    snprintf(buf, len, "%.15g", x);
    if (strtod(buf, NULL) != x)
        snprintf(buf, len, "%.17g", x);
}

/* ---- field readers: each returns 0, or 400 with c->err set */

/* A number for the setting arg, checked and stored by the table. */
static int f_setting(pctx *c, const cJSON *v, const char *arg)
{
    char text[64], why[300];
    if (!cJSON_IsNumber(v))
        return type_error(c, v, "a number");
    number_text(v->valuedouble, text, sizeof text);
    if (setting_parse(setting_find(arg), text, &c->sv, why, sizeof why) != 0)
        return fail(c, "%s", why);
    return 0;
}

/* Tokens per choice: the sample-length setting's range, then the
 * server's limit. */
static int f_length(pctx *c, const cJSON *v, const char *arg)
{
    (void)arg;
    int rc = f_setting(c, v, "sample-length");
    if (rc == 0 && c->sv.sample.length > SRV_MAX_TOKENS)
        return fail(c, "%d is more than this server's limit (%d)",
                    c->sv.sample.length, SRV_MAX_TOKENS);
    return rc;
}

static int f_temperature(pctx *c, const cJSON *v, const char *arg)
{
    c->sv.sample.greedy = 0;    /* the temperature asked for is used */
    return f_setting(c, v, arg);
}

/* A whole number in [lo, hi]. */
static int whole(pctx *c, const cJSON *v, long lo, long hi, int *out)
{
    char text[64];
    if (!cJSON_IsNumber(v))
        return type_error(c, v, "a number");
    number_text(v->valuedouble, text, sizeof text);
    if (v->valuedouble != floor(v->valuedouble))
        return fail(c, "'%s' is not a whole number", text);
    if (v->valuedouble < (double)lo || v->valuedouble > (double)hi)
        return fail(c, "'%s' is out of range (%ld to %ld)", text, lo, hi);
    *out = (int)v->valuedouble;
    return 0;
}

static int f_n(pctx *c, const cJSON *v, const char *arg)
{
    (void)arg;
    return whole(c, v, 1, SRV_MAX_CHOICES, &c->p->n);
}

static int f_logprobs(pctx *c, const cJSON *v, const char *arg)
{
    (void)arg;
    return whole(c, v, 0, SRV_MAX_LOGPROBS, &c->p->logprobs);
}

static int f_n_best(pctx *c, const cJSON *v, const char *arg)
{
    (void)arg;
    c->n_best_given = 1;
    return whole(c, v, 1, SAMPLE_MAX_BEAM, &c->sv.sample.n_best);
}

static int f_window(pctx *c, const cJSON *v, const char *arg)
{
    (void)arg;
    return whole(c, v, 0, 1000000000, &c->sv.sample.repetition_window);
}

/* A seed: a whole number, or a string of digits for seeds past 2^53. */
static int f_seed(pctx *c, const cJSON *v, const char *arg)
{
    char text[64], why[300];
    double x = cJSON_IsNumber(v) ? v->valuedouble : 0;
    if (cJSON_IsString(v))
        snprintf(text, sizeof text, "%.63s", v->valuestring);
    else if (!cJSON_IsNumber(v))
        return type_error(c, v, "a number");
    else if (x > 9007199254740992.0)
        return fail(c, "past 2^53 JSON numbers lose digits: send the seed as a string");
    else if (x == floor(x) && x >= 0)
        snprintf(text, sizeof text, "%.0f", x);
    else
        number_text(x, text, sizeof text);
    if (setting_parse(setting_find(arg), text, &c->sv, why, sizeof why) != 0)
        return fail(c, "%s", why);
    c->p->seed = c->sv.train.seed;
    c->p->has_seed = 1;
    return 0;
}

static int f_bool(pctx *c, const cJSON *v, const char *arg)
{
    if (!cJSON_IsBool(v))
        return type_error(c, v, "true or false");
    if (strcmp(arg, "stream") == 0)
        c->p->stream = cJSON_IsTrue(v);
    else
        c->sv.sample.greedy = cJSON_IsTrue(v);
    return 0;
}

static int copy_prompt(pctx *c, const char *s)
{
    size_t len = strlen(s);
    if (len > SRV_MAX_PROMPT)
        return fail(c, "%zu bytes is more than this server's limit (%d)", len,
                    SRV_MAX_PROMPT);
    free(c->p->prompt);
    if (!(c->p->prompt = strdup(s)))
        return fail(c, "out of memory");
    return 0;
}

/* A string; with arg "list" also an array holding one string. */
static int f_prompt(pctx *c, const cJSON *v, const char *arg)
{
    if (cJSON_IsArray(v) && arg && cJSON_GetArraySize(v) == 1 &&
        cJSON_IsString(v->child))
        return copy_prompt(c, v->child->valuestring);
    if (cJSON_IsArray(v) && arg)
        return fail(c, "only one prompt, a string, per request");
    if (!cJSON_IsString(v))
        return type_error(c, v, "a string");
    return copy_prompt(c, v->valuestring);
}

static int add_stop(pctx *c, const cJSON *v)
{
    srv_stops *st = &c->p->stops;
    if (!cJSON_IsString(v))
        return type_error(c, v, "a string");
    size_t len = strlen(v->valuestring);
    if (len == 0)
        return fail(c, "empty");
    if (len >= SRV_STOP_LEN)
        return fail(c, "longer than %d bytes", SRV_STOP_LEN - 1);
    if (st->n >= SRV_MAX_STOPS)
        return fail(c, "more than %d strings", SRV_MAX_STOPS);
    memcpy(st->s[st->n++], v->valuestring, len + 1);
    return 0;
}

/* A stop string; with arg "list" also an array of them. */
static int f_stop(pctx *c, const cJSON *v, const char *arg)
{
    int rc = 0;
    c->p->stops.n = 0;
    if (!cJSON_IsArray(v) || !arg)
        return add_stop(c, v);
    for (const cJSON *s = v->child; s && rc == 0; s = s->next)
        rc = add_stop(c, s);
    return rc;
}

/* An OpenAI field this server does not implement: accepted only at the
 * value that changes nothing (arg), so a request never means more than
 * it gets. */
static int f_inert(pctx *c, const cJSON *v, const char *arg)
{
    int ok = !strcmp(arg, "null") ? 0 : !strcmp(arg, "any string") ? cJSON_IsString(v)
           : !strcmp(arg, "false") ? cJSON_IsFalse(v)
           : !strcmp(arg, "{}") ? cJSON_IsObject(v) && !v->child
           : cJSON_IsNumber(v) && v->valuedouble == atof(arg);
    if (ok)
        return 0;
    if (!strcmp(arg, "any string"))
        return type_error(c, v, "a string");
    return fail(c, "not supported by this server (only %s)", arg);
}

static int f_skip(pctx *c, const cJSON *v, const char *arg)
{
    (void)c, (void)v, (void)arg;
    return 0;
}

static const field completions_fields[] = {
    {"model", f_skip, NULL},
    {"prompt", f_prompt, "list"},
    {"max_tokens", f_length, NULL},
    {"temperature", f_temperature, "temperature"},
    {"top_p", f_setting, "top-p"},
    {"n", f_n, NULL},
    {"stop", f_stop, "list"},
    {"seed", f_seed, "seed"},
    {"stream", f_bool, "stream"},
    {"logprobs", f_logprobs, NULL},
    {"user", f_inert, "any string"},
    {"echo", f_inert, "false"},
    {"presence_penalty", f_inert, "0"},
    {"frequency_penalty", f_inert, "0"},
    {"best_of", f_inert, "1"},
    {"logit_bias", f_inert, "{}"},
    {"suffix", f_inert, "null"},
    {NULL, NULL, NULL}
};

static const field generate_fields[] = {
    {"model", f_skip, NULL},
    {"prime", f_prompt, NULL},
    {"length", f_length, NULL},
    {"temperature", f_setting, "temperature"},
    {"top_k", f_setting, "top-k"},
    {"top_p", f_setting, "top-p"},
    {"greedy", f_bool, "greedy"},
    {"beam", f_setting, "beam"},
    {"n_best", f_n_best, NULL},
    {"repetition_penalty", f_setting, "repetition-penalty"},
    {"repetition_window", f_window, NULL},
    {"stop", f_stop, NULL},
    {"seed", f_seed, "seed"},
    {"stream", f_bool, "stream"},
    {NULL, NULL, NULL}
};

/* ---- the request as a whole */

static void model_names(const srv_model_desc *const *models, int n, char *buf, size_t len)
{
    size_t o = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && o < len; i++)
        o += (size_t)snprintf(buf + o, len - o, "%s%s", i ? ", " : "", models[i]->name);
}

/* The model the request names (or the only one).  0, 400 or 404. */
static int find_model(pctx *c, const cJSON *root, const srv_model_desc *const *models,
                      int n)
{
    char names[512];
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(root, "model");
    c->field = "model";
    model_names(models, n, names, sizeof names);
    if (n == 0) {
        snprintf(c->err, c->errlen, "this server has no model yet");
        return 404;
    }
    if ((!v || cJSON_IsNull(v)) && n == 1)
        return 0;
    if (!v || cJSON_IsNull(v))
        return fail(c, "required: this server has several (%s)", names);
    if (!cJSON_IsString(v))
        return type_error(c, v, "a string");
    for (int i = 0; i < n; i++)
        if (strcmp(models[i]->name, v->valuestring) == 0) {
            c->p->model = i;
            return 0;
        }
    snprintf(c->err, c->errlen, "model '%.128s' not found (this server has: %s)",
             v->valuestring, names);
    return 404;
}

/* Reads each member through the API's table; unknown names are refused. */
static int read_fields(pctx *c, const cJSON *root, const field *table)
{
    for (const cJSON *v = root->child; v; v = v->next) {
        const field *f = table;
        while (f->name && strcmp(f->name, v->string) != 0)
            f++;
        c->field = v->string;
        if (!f->name) {
            snprintf(c->err, c->errlen, "unknown field '%.64s'", v->string);
            return 400;
        }
        int rc = cJSON_IsNull(v) ? 0 : f->fn(c, v, f->arg);
        if (rc != 0)
            return rc;
    }
    return 0;
}

/* The session's settings, then what each API starts from. */
static void start_from(pctx *c, srv_api api, const srv_model_desc *m)
{
    srv_params *p = c->p;
    p->api = api;
    p->n = 1;
    p->logprobs = -1;
    setting_defaults(&c->sv);
    c->sv.sample = m->sample;
    if (api == SRV_API_COMPLETIONS) {
        c->sv.sample.length = SRV_DEFAULT_MAX_TOKENS;
        c->sv.sample.stop[0] = '\0';
    } else if (c->sv.sample.length > SRV_MAX_TOKENS) {
        c->sv.sample.length = SRV_MAX_TOKENS;
    }
}

/* What follows from the fields together.  0 or 400. */
static int settle(pctx *c)
{
    srv_params *p = c->p;
    sample_config *sc = &c->sv.sample;
    int width = sc->beam > 1 ? sc->beam : 1;
    if (p->api == SRV_API_COMPLETIONS) {
        sc->beam = sc->n_best = 1;
        p->n_alts = p->logprobs > 0 ? p->logprobs : 0;
    } else {
        c->field = "n_best";
        if (c->n_best_given && sc->n_best > width)
            return fail(c, "%d is more than the beam width %d", sc->n_best, width);
        if (sc->n_best > width)
            sc->n_best = width;
        if (p->stops.n > 0)
            memcpy(sc->stop, p->stops.s[0], sizeof sc->stop);
        else if (sc->stop[0])
            memcpy(p->stops.s[p->stops.n++], sc->stop, sizeof sc->stop);
        p->n_alts = p->stream ? SRV_GENERATE_ALTS : 0;
    }
    p->cfg = *sc;
    c->field = "prompt";
    return p->prompt ? 0 : copy_prompt(c, sc->prime);
}

/* The reason names what the request sent (a field, a model, a seed):
 * its control characters become '?', so that the one line stays one
 * line in the server's log and a terminal showing it. */
static void printable(char *s)
{
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || *s == 0x7f)
            *s = '?';
}

/* Parses body as one JSON object; NULL with a message in err and the
 * status in *status (500: JSON that memory did not suffice for). */
static cJSON *parse_object(const char *body, size_t len, int *status, char *err,
                           size_t errlen)
{
    const char *end = NULL;
    cJSON *root = cJSON_ParseWithLengthOpts(body, len, &end, 0);
    *status = 400;
    if (!root && jscan_value(body, len, NULL)) {
        *status = 500;
        snprintf(err, errlen, "out of memory reading the body");
        return NULL;
    }
    if (!root) {
        size_t at = end && end >= body ? (size_t)(end - body) : 0;
        snprintf(err, errlen, "the body is not valid JSON (at byte %zu)", at);
        return NULL;
    }
    while (end && (size_t)(end - body) < len && strchr(" \t\r\n", *end) && *end)
        end++;
    if (end && (size_t)(end - body) < len)
        snprintf(err, errlen, "the body holds more than one JSON value");
    else if (!cJSON_IsObject(root))
        snprintf(err, errlen, "the body is not a JSON object");
    else
        return root;
    cJSON_Delete(root);
    return NULL;
}

int srv_params_parse(srv_api api, const char *body, size_t len,
                     const srv_model_desc *const *models, int n_models, srv_params *p,
                     char *err, size_t errlen)
{
    pctx c = {.p = p, .err = err, .errlen = errlen, .field = ""};
    int rc;
    memset(p, 0, sizeof *p);
    cJSON *root = parse_object(body, len, &rc, err, errlen);
    if (!root)
        return rc;
    rc = find_model(&c, root, models, n_models);
    if (rc == 0) {
        start_from(&c, api, models[p->model]);
        rc = read_fields(&c, root,
                         api == SRV_API_COMPLETIONS ? completions_fields : generate_fields);
    }
    if (rc == 0)
        rc = settle(&c);
    cJSON_Delete(root);
    if (rc != 0) {
        srv_params_free(p);
        printable(err);
    }
    return rc;
}

void srv_params_free(srv_params *p)
{
    free(p->prompt);
    p->prompt = NULL;
}
