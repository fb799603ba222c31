/* clock.h - the clocks rnnlab measures with, in seconds as doubles. */
#ifndef UTIL_CLOCK_H
#define UTIL_CLOCK_H

/* Seconds on the monotonic clock (an arbitrary origin): for intervals. */
double clock_now(void);
/* CPU seconds used by the whole process (all threads): rates that stay
 * honest on a shared machine. */
double clock_cpu(void);

#endif
