/* metrics.c - counters and their Prometheus text (metrics.h). */
#include <string.h>

#include "util/buf.h"
#include "serve/metrics.h"

static const char *const paths[SRV_METRIC_PATHS] = {
    "/v1/completions", "/v1/generate", "/v1/models", "/health", "/metrics", "other"
};

/* Upper bounds of the latency buckets, in seconds (the last is +Inf). */
static const double bounds[SRV_LATENCY_BUCKETS - 1] = {
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60
};

void srv_metrics_init(srv_metrics *m)
{
    memset(m, 0, sizeof *m);
    pthread_mutex_init(&m->mu, NULL);
}

void srv_metrics_destroy(srv_metrics *m)
{
    pthread_mutex_destroy(&m->mu);
}

static int path_index(const char *path)
{
    int i = 0;
    while (i < SRV_METRIC_PATHS - 1 && strcmp(paths[i], path) != 0)
        i++;
    return i;
}

/* The counter of (path, status) under the lock; a status past the table's
 * room is counted as the last one kept. */
static uint64_t *counter(srv_metrics *m, int p, int status)
{
    int i = 0;
    while (i < SRV_METRIC_CODES - 1 && m->codes[p][i] && m->codes[p][i] != status)
        i++;
    if (!m->codes[p][i])
        m->codes[p][i] = status;
    return &m->count[p][i];
}

void srv_metrics_request(srv_metrics *m, const char *path, int status, int generation,
                         double seconds, size_t tokens, size_t prompt_tokens)
{
    pthread_mutex_lock(&m->mu);
    (*counter(m, path_index(path), status))++;
    if (generation) {
        for (int b = 0; b < SRV_LATENCY_BUCKETS; b++)
            if (b == SRV_LATENCY_BUCKETS - 1 || seconds <= bounds[b])
                m->latency[b]++;
        m->latency_sum += seconds;
        m->latency_n++;
        m->tokens += tokens;
        m->prompt_tokens += prompt_tokens;
    }
    pthread_mutex_unlock(&m->mu);
}

uint64_t srv_metrics_total(srv_metrics *m)
{
    uint64_t n = 0;
    pthread_mutex_lock(&m->mu);
    for (int p = 0; p < SRV_METRIC_PATHS; p++)
        for (int c = 0; c < SRV_METRIC_CODES; c++)
            n += m->count[p][c];
    pthread_mutex_unlock(&m->mu);
    return n;
}

void srv_metrics_stream(srv_metrics *m, int delta)
{
    pthread_mutex_lock(&m->mu);
    m->streams += delta;
    pthread_mutex_unlock(&m->mu);
}

static int put_requests(const srv_metrics *m, strbuf *b)
{
    int rc = strbuf_puts(b, "# HELP rnnlab_requests_total HTTP requests answered, by path and status.\n"
                            "# TYPE rnnlab_requests_total counter\n");
    for (int p = 0; p < SRV_METRIC_PATHS; p++)
        for (int i = 0; i < SRV_METRIC_CODES && m->codes[p][i]; i++)
            rc |= strbuf_printf(b, "rnnlab_requests_total{path=\"%s\",code=\"%d\"} %llu\n",
                                paths[p], m->codes[p][i], (unsigned long long)m->count[p][i]);
    return rc;
}

static int put_latency(const srv_metrics *m, strbuf *b)
{
    int rc = strbuf_puts(b, "# HELP rnnlab_request_duration_seconds Time from a generation "
                            "request to its last byte.\n"
                            "# TYPE rnnlab_request_duration_seconds histogram\n");
    for (int i = 0; i < SRV_LATENCY_BUCKETS - 1; i++)
        rc |= strbuf_printf(b, "rnnlab_request_duration_seconds_bucket{le=\"%g\"} %llu\n",
                            bounds[i], (unsigned long long)m->latency[i]);
    rc |= strbuf_printf(b, "rnnlab_request_duration_seconds_bucket{le=\"+Inf\"} %llu\n"
                           "rnnlab_request_duration_seconds_sum %.6f\n"
                           "rnnlab_request_duration_seconds_count %llu\n",
                        (unsigned long long)m->latency[SRV_LATENCY_BUCKETS - 1],
                        m->latency_sum, (unsigned long long)m->latency_n);
    return rc;
}

/* One metric with its help and type lines. */
static int put_one(strbuf *b, const char *name, const char *type, const char *help,
                   double value)
{
    return strbuf_printf(b, "# HELP %s %s\n# TYPE %s %s\n%s %.17g\n", name, help, name,
                         type, name, value);
}

static int put_sched(const srv_sched_stats *st, strbuf *b)
{
    double occ = st->capacity > 0 ? (double)st->running / st->capacity : 0;
    int rc = put_one(b, "rnnlab_queue_depth", "gauge", "Generations waiting for a stream.",
                     st->queued);
    rc |= put_one(b, "rnnlab_running_generations", "gauge",
                  "Generations being decoded.", st->running);
    rc |= put_one(b, "rnnlab_batch_occupancy", "gauge",
                  "Generations being decoded over the streams the workers hold.", occ);
    rc |= put_one(b, "rnnlab_decode_steps_total", "counter", "Decoder steps.",
                  (double)st->steps);
    rc |= put_one(b, "rnnlab_decode_stream_steps_total", "counter",
                  "Streams summed over decoder steps (over steps: the mean batch).",
                  (double)st->stream_steps);
    return rc;
}

char *srv_metrics_text(srv_metrics *m, const srv_sched_stats *st)
{
    strbuf b = STRBUF_INIT;
    pthread_mutex_lock(&m->mu);
    int rc = put_requests(m, &b) | put_latency(m, &b);
    rc |= put_one(&b, "rnnlab_generated_tokens_total", "counter",
                  "Tokens generated for answered requests.", (double)m->tokens);
    rc |= put_one(&b, "rnnlab_prompt_tokens_total", "counter",
                  "Prompt tokens of answered requests.", (double)m->prompt_tokens);
    rc |= put_one(&b, "rnnlab_active_streams", "gauge", "Event streams being sent.",
                  m->streams);
    pthread_mutex_unlock(&m->mu);
    rc |= put_sched(st, &b);
    if (rc != 0) {
        strbuf_free(&b);
        return NULL;
    }
    return b.p;
}
