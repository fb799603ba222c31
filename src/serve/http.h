/* http.h - the HTTP side of the server, on libmicrohttpd: connections,
 * request bodies within SRV_MAX_BODY, answers and event streams (a
 * connection waiting for tokens is suspended, not polled), and a log line
 * per request on stderr.  Private to src/serve/ and built only with
 * libmicrohttpd.  The daemon is the caller's from start to stop. */
#ifndef SERVE_HTTP_H
#define SERVE_HTTP_H
#include <stddef.h>
#include "serve/route.h"

typedef struct srv_http srv_http;

/* Serves sv on the listening socket fd (taken over).  Returns the
 * daemon, or NULL with a one-line message. */
srv_http *srv_http_start(srv_server *sv, int fd, char *err, size_t errlen);
/* Stops accepting connections (those open go on). */
void srv_http_quiesce(srv_http *h);
/* Generation answers still being sent. */
int srv_http_in_flight(srv_http *h);
/* Closes every connection and frees h.  No generation may be waiting:
 * every one must have finished first. */
void srv_http_stop(srv_http *h);

#endif
