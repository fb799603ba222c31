/* reply.h - the JSON the server answers with: errors, the model list,
 * health, and the events and answers of generation requests
 * (/v1/completions in OpenAI's shape, /v1/generate in `sample --json`'s).
 * Text is made valid UTF-8 on the way out (a stray byte becomes U+FFFD).
 * Functions returning char * give malloc'd text, NULL when out of memory;
 * those taking a strbuf append to it and return 0, or -1 when out of
 * memory. */
#ifndef SERVE_REPLY_H
#define SERVE_REPLY_H
#include <stddef.h>
#include "util/buf.h"
#include "serve/choice.h"
#include "serve/sched.h"
#include "serve/version.h"

/* {"error": {"message", "type", "code"}}; message is one line. */
char *srv_reply_error(int status, const char *message);
/* GET /v1/models: {"object": "list", "data": [...]}, each model with its
 * step and validation losses (null: none). */
char *srv_reply_models(const srv_model_desc *const *m, int n);
/* One model as the list shows it (an upload's answer). */
char *srv_reply_model(const srv_model_desc *m);
/* GET /health. */
char *srv_reply_health(const char *status, int n_models, double uptime);

/* A stream's events for choice c, which just grew (or finished): what is
 * now safe to send, and at the end its last event.  Under g's lock. */
int srv_reply_events(srv_gen *g, srv_choice *c, strbuf *out);
/* "data: [DONE]", after every choice's last event. */
int srv_reply_done(strbuf *out);
/* The answer of a finished request that does not stream. */
char *srv_reply_answer(srv_gen *g);

#endif
