/* metrics.h - the server's counters for GET /metrics, in Prometheus's
 * text format: requests by path and status, tokens, the latency of
 * generation requests as a histogram, the streams being sent, and the
 * scheduler's queue and batch occupancy.  Thread-safe; the caller owns
 * the struct (srv_metrics_init / srv_metrics_destroy). */
#ifndef SERVE_METRICS_H
#define SERVE_METRICS_H
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>
#include "serve/sched.h"

#define SRV_METRIC_PATHS 6       /* the paths counted, "other" last */
#define SRV_METRIC_CODES 12      /* distinct statuses kept per path */
#define SRV_LATENCY_BUCKETS 14

typedef struct srv_metrics {
    pthread_mutex_t mu;
    int codes[SRV_METRIC_PATHS][SRV_METRIC_CODES];
    uint64_t count[SRV_METRIC_PATHS][SRV_METRIC_CODES];
    uint64_t latency[SRV_LATENCY_BUCKETS];   /* cumulative counts */
    double latency_sum;
    uint64_t latency_n;
    uint64_t tokens, prompt_tokens;
    int streams;             /* event streams being sent */
} srv_metrics;

void srv_metrics_init(srv_metrics *m);
void srv_metrics_destroy(srv_metrics *m);
/* One finished request: its path and status, and for a generation its
 * duration and tokens (generation 0: not one). */
void srv_metrics_request(srv_metrics *m, const char *path, int status, int generation,
                         double seconds, size_t tokens, size_t prompt_tokens);
/* Requests counted so far, all paths and statuses. */
uint64_t srv_metrics_total(srv_metrics *m);
/* An event stream starts (+1) or ends (-1). */
void srv_metrics_stream(srv_metrics *m, int delta);
/* The text for GET /metrics (malloc'd), or NULL when out of memory. */
char *srv_metrics_text(srv_metrics *m, const srv_sched_stats *st);

#endif
