/* serve.c - libFuzzer harness for the request bodies of `rnnlab serve`: any bytes are read as a /v1/completions or a /v1/generate body by srv_params_parse, as the server does before it generates (no sockets, no model); a request is refused with 400 or 404 and a one-line reason, or accepted within the server's limits with settings the settings table takes.  The body is also judged by util/jscan.c, which must agree with cJSON. */
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "common.h"
#include "engine/settings.h"
#include "serve/params.h"
#include "util/jscan.h"

/* Two models as a session would describe them: the second asks for
 * more tokens than the server gives and has a stop string, so the
 * requests that name it start from those. */
static srv_model_desc models[2];
static const srv_model_desc *const served[2] = {&models[0], &models[1]};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc, (void)argv;
    for (int i = 0; i < 2; i++) {
        setting_values sv;
        setting_defaults(&sv);
        models[i].cfg = sv.train.model;
        models[i].sample = sv.sample;
        models[i].step = 100;
    }
    strcpy(models[0].name, "garden");
    strcpy(models[1].name, "plays");
    models[1].sample.length = 2 * SRV_MAX_TOKENS;
    strcpy(models[1].sample.stop, "\n\n");
    strcpy(models[1].sample.prime, "ROMEO:");
    return 0;
}

static void check_stops(const srv_stops *st)
{
    if (st->n < 0 || st->n > SRV_MAX_STOPS)
        fz_fail("%d stop strings", st->n);
    for (int i = 0; i < st->n; i++)
        if (!memchr(st->s[i], '\0', SRV_STOP_LEN) || !st->s[i][0])
            fz_fail("stop string %d is empty or not terminated", i);
}

/* An accepted request is within every limit, and its sampler settings
 * are ones the settings table takes. */
static void check_accepted(srv_api api, const srv_params *p, int n_models)
{
    char err[512];
    const sample_config *c = &p->cfg;
    setting_values sv;
    if (!p->prompt || strlen(p->prompt) > SRV_MAX_PROMPT)
        fz_fail("the prompt is missing or past the limit");
    if (p->model < 0 || p->model >= n_models)
        fz_fail("model %d of %d", p->model, n_models);
    if (p->n < 1 || p->n > SRV_MAX_CHOICES || p->logprobs < -1 || p->logprobs > SRV_MAX_LOGPROBS ||
        p->n_alts < 0 || p->n_alts > SRV_MAX_LOGPROBS)
        fz_fail("n %d, logprobs %d, alternatives %d", p->n, p->logprobs, p->n_alts);
    if (c->length < 1 || c->length > SRV_MAX_TOKENS)
        fz_fail("%d tokens per choice", c->length);
    if (c->n_best < 1 || c->n_best > (c->beam > 1 ? c->beam : 1))
        fz_fail("n_best %d with a beam of %d", c->n_best, c->beam);
    if (api == SRV_API_COMPLETIONS && (c->beam != 1 || p->n_alts != (p->logprobs > 0 ? p->logprobs : 0)))
        fz_fail("a completion with beam %d and %d alternatives", c->beam, p->n_alts);
    if (!memchr(c->stop, '\0', sizeof c->stop))
        fz_fail("the stop setting is not terminated");
    check_stops(&p->stops);
    setting_defaults(&sv);
    sv.sample = *c;
    if (setting_check(&sv, err, sizeof err) != 0)
        fz_fail("an accepted request has settings the table refuses: %s", err);
}

/* jscan judges any text as cJSON does, and ends the value where cJSON
 * does: the loaders take a text it accepts and cJSON refuses for one
 * that memory ran out on. */
static void check_jscan(const char *s, size_t len)
{
    const char *end = NULL;
    size_t at = 0;
    cJSON *j = cJSON_ParseWithLengthOpts(s, len, &end, 0);
    int ok = jscan_value(s, len, &at);
    if (ok != (j != NULL) || (j && at != (size_t)(end - s)))
        fz_fail("jscan says %d (end %zu), cJSON %d (end %zu)", ok, at, j != NULL,
                j ? (size_t)(end - s) : 0);
    cJSON_Delete(j);
}

/* Input: a byte (bit 0: /v1/generate, else /v1/completions; bit 1: two
 * models, else one), then the body. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char err[512] = "";
    srv_params p;
    if (size < 1)
        return 0;
    srv_api api = data[0] & 1 ? SRV_API_GENERATE : SRV_API_COMPLETIONS;
    int n_models = data[0] & 2 ? 2 : 1;
    check_jscan((const char *)data + 1, size - 1);
    int rc = srv_params_parse(api, (const char *)data + 1, size - 1, served, n_models, &p, err,
                              sizeof err);
    if (rc == 0) {
        check_accepted(api, &p, n_models);
        srv_params_free(&p);
        if (p.prompt)
            fz_fail("srv_params_free leaves the prompt");
    } else if (rc == 400 || rc == 404) {
        fz_check_message("srv_params_parse", err);
        if (p.prompt)
            fz_fail("a refused request keeps its prompt");
    } else {
        fz_fail("srv_params_parse answers %d", rc);
    }
    return 0;
}
