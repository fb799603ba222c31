/* backward_split.c - when, within a training step of the benchmark model
 * (LSTM 2x512, embedding 64, vocab 65, T=100, B streams on this process),
 * each stretch of the gradient buffer becomes final: the times the
 * backward pass tells model_grads_ready a new stretch, which are the
 * moments a data-parallel run starts summing that stretch (src/train/
 * trainer_share.c).  The input of bench/mpi_model.py's overlap model.
 *
 * Usage: backward_split [THREADS] [B] [REPS]   (defaults 2, 32, 5)
 *
 * Each of REPS steps is a training forward (which does the decoder's part
 * of the backward) and model_backward_notify; the first is a warm-up.
 * Prints one JSON object on stdout, the mean over the other steps:
 *   {"threads":N,"B":B,"T":100,"step_s":S,"stretches":[
 *     {"name":"decoder","floats":F,"ready":R},...]}
 * where ready is the fraction of the step (forward + backward) after which
 * the stretch is final, in the order the stretches are sent.  The
 * optimizer's update is not in the step (it follows the sums).
 *
 * Build (from the repository root, after make):
 *   cc -O2 -std=c11 -Isrc bench/backward_split.c src/libengine.a \
 *      $(pkg-config --libs openblas libcjson) $(mpicc --showme:link) \
 *      -lpthread -lm -o bench/backward_split
 * (leave out the mpicc part for a build without MPI).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "model/model.h"
#include "util/clock.h"
#include "util/rng.h"

#define BS_T 100
#define BS_MAX 8

/* A step's record: when each new stretch became final. */
typedef struct bs_step {
    model *m;
    double t0;
    size_t from[BS_MAX];
    double at[BS_MAX];
    int n;
} bs_step;

static void ready(void *ctx, size_t from)
{
    bs_step *s = ctx;
    if (s->n > 0 && s->from[s->n - 1] == from)
        return;                         /* a time step's poke */
    if (s->n < BS_MAX) {
        s->from[s->n] = from;
        s->at[s->n] = clock_now() - s->t0;
        s->n++;
    }
}

/* The name of the tensor at offset from. */
static const char *name_at(const model *m, size_t from)
{
    for (int i = 0; i < m->n_tensors; i++)
        if (m->tensors[i].offset == from)
            return m->tensors[i].name;
    return "?";
}

int main(int argc, char **argv)
{
    int threads = argc > 1 ? atoi(argv[1]) : 2, B = argc > 2 ? atoi(argv[2]) : 32;
    int reps = argc > 3 ? atoi(argv[3]) : 5;
    char err[256];
    model_config cfg = {.cell = CELL_LSTM, .layers = 2, .hidden = 512, .embed = 64,
                        .vocab = 65, .forget_bias = 1, .softmax = SOFTMAX_FULL};
    rng_state r;
    if (threads < 1 || B < 1 || reps < 2) {
        fprintf(stderr, "usage: backward_split [THREADS>=1] [B>=1] [REPS>=2]\n");
        return 2;
    }
    rng_seed(&r, 1);
    be_backend *be = be_cpu_create();
    be->set_threads(be, threads);
    model *m = model_create(be, &cfg, &r, err, sizeof err);
    model_state st;
    uint32_t *ids = malloc((size_t)(BS_T + 1) * B * sizeof *ids);
    if (!m || !ids || model_state_init(m, &st, B) != 0 || model_reserve(m, B, BS_T) != 0) {
        fprintf(stderr, "backward_split: %s\n", m ? "out of memory" : err);
        return 1;
    }
    for (size_t i = 0; i < (size_t)(BS_T + 1) * B; i++)
        ids[i] = (uint32_t)(rng_next(&r) % 65);
    double sum_at[BS_MAX] = {0}, sum_step = 0;
    bs_step s = {.m = m};
    for (int k = 0; k < reps; k++) {
        memset(&s, 0, sizeof s);
        s.m = m;
        s.t0 = clock_now();
        model_forward(m, &st, ids, BS_T, B, 1, (uint64_t)k, NULL);
        model_backward_notify(m, ready, &s);
        double step = clock_now() - s.t0;
        if (k == 0)
            continue;
        sum_step += step;
        for (int i = 0; i < s.n; i++)
            sum_at[i] += s.at[i] / step;
    }
    printf("{\"threads\":%d,\"B\":%d,\"T\":%d,\"step_s\":%.6f,\"stretches\":[", threads, B,
           BS_T, sum_step / (reps - 1));
    for (int i = 0; i < s.n; i++) {
        size_t end = i ? s.from[i - 1] : m->n_params;
        printf("%s{\"name\":\"%s\",\"floats\":%zu,\"ready\":%.4f}", i ? "," : "",
               name_at(m, s.from[i]), end - s.from[i], sum_at[i] / (reps - 1));
    }
    puts("]}");
    model_state_free(m, &st);
    model_free(m);
    be->destroy(be);
    free(ids);
    return 0;
}
