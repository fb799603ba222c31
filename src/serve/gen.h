/* gen.h - one generation request in flight (its data: choice.h): its
 * choices go to the scheduler, and what is to be sent comes out:
 * server-sent events as tokens come for a stream, one JSON answer at the
 * end otherwise.  The workers write into it and the HTTP side reads from
 * it, under its lock; a waker lets the reader sleep until there is more.
 * Reference counted: the creator and each unfinished job hold one, and the
 * last srv_gen_release frees it. */
#ifndef SERVE_GEN_H
#define SERVE_GEN_H
#include <stddef.h>
#include <stdint.h>
#include "text/tok.h"
#include "serve/choice.h"
#include "serve/params.h"
#include "serve/sched.h"
#include "serve/version.h"

/* A request for p (moved in: *p is emptied) to model version v, of which
 * it takes a reference; without a seed in p, seed is used.  nonce makes
 * its id.  NULL when out of memory (p is freed then). */
srv_gen *srv_gen_new(srv_params *p, srv_version *v, uint64_t seed, uint64_t nonce);
/* Queues the choices (srv_sched_submit's answer). */
int srv_gen_start(srv_gen *g, srv_sched *s);
/* Whom to wake when there is something to read. */
void srv_gen_watch(srv_gen *g, const srv_waker *w);
/* The reader is gone: no more waking, and the choices are cancelled. */
void srv_gen_detach(srv_gen *g);

enum { SRV_GEN_DATA, SRV_GEN_WAIT, SRV_GEN_END };
/* A stream: copies up to max bytes of events into buf (*n); otherwise
 * only says whether the answer is ready.  SRV_GEN_DATA, SRV_GEN_END when
 * all is sent, or SRV_GEN_WAIT after calling the waker's sleep. */
int srv_gen_read(srv_gen *g, char *buf, size_t max, size_t *n);
/* The whole answer of a finished request that does not stream, as JSON
 * (malloc'd), or NULL when out of memory. */
char *srv_gen_answer(srv_gen *g);
/* Whether the workers found the client gone (its choices cancelled). */
int srv_gen_gone(srv_gen *g);
/* Tokens generated so far over all choices; prompt tokens of choice 0. */
size_t srv_gen_tokens(srv_gen *g);
size_t srv_gen_prompt_tokens(srv_gen *g);

void srv_gen_release(srv_gen *g);

#endif
