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
