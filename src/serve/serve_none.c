/* serve_none.c - serve in a build without libmicrohttpd: says how to get
 * a build that serves. */
#include <stdio.h>

#include "serve/serve.h"

const char *serve_unavailable(void)
{
    return "serve: this rnnlab was built without libmicrohttpd; install it (Debian: "
           "apt-get install libmicrohttpd-dev), then run ./configure and make again";
}

int serve_main(const serve_options *o, char *err, size_t errlen)
{
    (void)o;
    snprintf(err, errlen, "%s", serve_unavailable());
    return -1;
}

serve_running *serve_start(const serve_options *o, int *port, char *err, size_t errlen)
{
    (void)o, (void)port;
    snprintf(err, errlen, "%s", serve_unavailable());
    return NULL;
}

void serve_stop(serve_running *r)
{
    (void)r;
}

unsigned long serve_requests(serve_running *r)
{
    (void)r;
    return 0;
}
