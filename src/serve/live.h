/* live.h - the server's loading thread: every period it looks for new
 * versions of the models (once a second srv_models_poll, for sessions
 * saved again; or a followed engine's newest weights, follow.h), and it
 * runs the tasks queued to it (an upload's check and swap), so that no
 * load holds up the HTTP thread or the workers.  The thread is its starter's from
 * start to stop; a task stays its queuer's, who keeps it alive until its
 * fn has run. */
#ifndef SERVE_LIVE_H
#define SERVE_LIVE_H
#include <stddef.h>

#define SRV_LIVE_PERIOD 1.0      /* seconds between looks at the files */

typedef struct srv_task {
    void (*fn)(void *ctx);       /* on the loading thread */
    void *ctx;
    struct srv_task *next;       /* the thread's */
} srv_task;

typedef struct srv_live srv_live;

/* Starts the thread, calling look(ctx) every period seconds (0: never,
 * tasks only).  Returns it, or NULL with a message. */
srv_live *srv_live_start(double period, void (*look)(void *ctx), void *ctx, char *err,
                         size_t errlen);
/* Queues t; its fn runs on the thread, after those queued before it. */
void srv_live_queue(srv_live *l, srv_task *t);
/* Runs what is queued, stops the thread and frees l. */
void srv_live_stop(srv_live *l);

#endif
