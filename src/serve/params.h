/* params.h - a generation request read from its JSON body: the model, the
 * sampler settings (each checked by the settings table, so the server
 * takes the values `set` and `sample` take and says the same about the
 * others), the prompt, seed, choices, stop strings, streaming and
 * per-token detail, within the server's limits.  Parsing allocates only
 * the prompt, which srv_params_free gives back. */
#ifndef SERVE_PARAMS_H
#define SERVE_PARAMS_H
#include <stddef.h>
#include <stdint.h>
#include "decode/config.h"
#include "serve/sched.h"
#include "serve/version.h"
#include "serve/stream.h"

#define SRV_MAX_BODY ((size_t)1 << 20)   /* request bodies, bytes */
#define SRV_MAX_TOKENS 4096      /* max_tokens, length: per choice */
#define SRV_MAX_PROMPT 16384     /* prompt, prime: bytes */
#define SRV_MAX_CHOICES 8        /* n */
#define SRV_MAX_LOGPROBS 5       /* logprobs: alternatives per token */
#define SRV_GENERATE_ALTS 5      /* /v1/generate streams: as sample --json */
#define SRV_DEFAULT_MAX_TOKENS 16/* /v1/completions without max_tokens */

typedef enum { SRV_API_COMPLETIONS, SRV_API_GENERATE } srv_api;

typedef struct srv_params {
    srv_api api;
    int model;               /* index into the models */
    sample_config cfg;       /* the session's settings, the request's on top */
    srv_stops stops;
    char *prompt;            /* owned */
    uint64_t seed;
    int has_seed;            /* 0: the server draws one */
    int n;                   /* choices, choice i seeded seed + i */
    int stream;
    int logprobs;            /* completions: alternatives asked; -1: none */
    int n_alts;              /* alternatives per token to compute */
} srv_params;

/* Reads body (len bytes, any JSON) as a request to api, for one of the
 * models.  Returns 0, or the HTTP status to answer (400; 404 for an
 * unknown model; 500 when memory ran out) with a one-line reason naming
 * the field in err. */
int srv_params_parse(srv_api api, const char *body, size_t len,
                     const srv_model_desc *const *models, int n_models, srv_params *p,
                     char *err, size_t errlen);
void srv_params_free(srv_params *p);

#endif
