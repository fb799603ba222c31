/* upload.h - PUT /v1/models/NAME: a session sent as an uncompressed tar
 * (members session.json and model.safetensors, optionally
 * best.safetensors and optimizer.safetensors; nothing else) is written as
 * it arrives into a temporary directory inside the model directory; once
 * whole it goes to the loading thread, which loads it with every check
 * session_load makes, moves it into place as MODEL_DIR/NAME (exchanged
 * with the directory there, whose session files are removed after) and
 * puts it in service.  Meanwhile the HTTP side sleeps (a waker).  A
 * refused upload leaves nothing behind and the old model serving.
 * Reference counted: the HTTP side and, while it works on it, the loading
 * thread. */
#ifndef SERVE_UPLOAD_H
#define SERVE_UPLOAD_H
#include <stddef.h>
#include "serve/choice.h"
#include "serve/live.h"
#include "serve/models.h"

typedef struct srv_upload srv_upload;

/* An upload of NAME (checked already) into model_dir, of at most max
 * bytes: makes its temporary directory.  Returns it, or NULL with the
 * status to answer (500, 507) and a message. */
srv_upload *srv_upload_new(srv_models *ms, const char *model_dir, const char *name,
                           unsigned long long max, int *status, char *err, size_t errlen);
/* The next n bytes of the body.  Returns 0, or -1 when the connection is
 * to be closed (far past the limit). */
int srv_upload_feed(srv_upload *u, const void *p, size_t n);
/* The body is over: a whole tar goes to live's thread, anything else is
 * answered at once.  Whom to wake when the answer is ready. */
void srv_upload_finish(srv_upload *u, srv_live *live, const srv_waker *w);
/* 1 with the answer's status and JSON body (malloc'd; NULL when out of
 * memory) once there is one; else 0 after calling the waker's sleep. */
int srv_upload_answer(srv_upload *u, int *status, char **body);
/* The HTTP side lets go: no more waking; the last reference removes what
 * was not put in service. */
void srv_upload_release(srv_upload *u);

#endif
