/* follow.h - serving the model an engine trains (`serve` in the TUI and
 * REPL): the loading thread's look takes the engine's newest copy of its
 * weights (engine.h: eng_weights_get) and, when it is newer than the one
 * serving, puts it in service as a new version of SERVE_FOLLOW_NAME.
 * Requests in flight finish on the version they started with.  The
 * follower is its starter's; the engine and the table must outlive it. */
#ifndef SERVE_FOLLOW_H
#define SERVE_FOLLOW_H
#include "engine/engine.h"
#include "serve/models.h"

#define SRV_FOLLOW_PERIOD 0.25   /* seconds between looks at the engine */

typedef struct srv_follow {
    srv_models *ms;
    eng *e;
    long serial;             /* of the copy serving; 0: none yet */
} srv_follow;

/* Starts watching e's weights (eng_weights_watch) for ms. */
void srv_follow_begin(srv_follow *f, srv_models *ms, eng *e);
/* The loading thread's look (ctx: the follower).  Also callable before
 * the thread starts. */
void srv_follow_look(void *ctx);
/* Whether a version is serving (before the loading thread starts). */
int srv_follow_serving(const srv_follow *f);
/* Stops watching. */
void srv_follow_end(srv_follow *f);

#endif
