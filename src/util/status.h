/* status.h - the exit statuses every rnnlab command and front end returns. */
#ifndef UTIL_STATUS_H
#define UTIL_STATUS_H

/* STATUS_OK: success; STATUS_FAIL: a runtime error (one line "rnnlab: ..."
 * on stderr); STATUS_USAGE: a bad command line (with a hint to --help). */
enum { STATUS_OK = 0, STATUS_FAIL = 1, STATUS_USAGE = 2 };

#endif
