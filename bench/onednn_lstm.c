/* onednn_lstm.c - oneDNN peer for the rnnlab training benchmark.
 *
 * Trains the benchmark model with oneDNN's LSTM primitives doing the
 * recurrent layers (forward_training and backward, one primitive per layer)
 * and dnnl_sgemm doing the decoder products; the embedding gather/scatter,
 * softmax cross-entropy, global-norm clipping and Adam are plain loops.
 * Model: embedding V x 64, LSTM 2 x 512, linear 512 -> V; T=100, B=32
 * contiguous streams of the training split (first 90%), state carried
 * across chunks, Adam lr 2e-3, clip 5, dropout 0.  oneDNN's LSTM keeps one
 * bias per gate (PyTorch's b_ih + b_hh) - no difference in work.
 *
 * Usage: onednn_lstm [--threads N] [--steps N] [--warmup N] [--corpus PATH]
 * Prints one JSON object:
 *   {"threads":N,"tokens_per_s":..,"peak_rss_mb":..,"final_loss":..,...}
 * tokens_per_s counts T*B targets per step over the steps after the warm-up.
 *
 * Build: cc -O2 -std=c11 -fopenmp bench/onednn_lstm.c -o bench/out/onednn_lstm \
 *            -ldnnl -lm
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <oneapi/dnnl/dnnl.h>

enum { L = 2, H = 512, E = 64, T = 100, B = 32, G = 4 };
static const float LR = 2e-3f, CLIP = 5.0f, BETA1 = 0.9f, BETA2 = 0.999f,
                   EPS = 1e-8f;

#define CHK(call)                                                           \
    do {                                                                    \
        dnnl_status_t st_ = (call);                                         \
        if (st_ != dnnl_success) {                                          \
            fprintf(stderr, "onednn_lstm: %s failed (status %d) line %d\n", \
                    #call, (int)st_, __LINE__);                             \
            exit(1);                                                        \
        }                                                                   \
    } while (0)

static dnnl_engine_t eng;
static dnnl_stream_t strm;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void *xcalloc(size_t n, size_t sz)
{
    void *p = calloc(n, sz);
    if (!p) {
        fprintf(stderr, "onednn_lstm: out of memory\n");
        exit(1);
    }
    return p;
}

/* xorshift uniform in [-a, a) */
static unsigned long long rs = 88172645463325252ull;
static float urand(float a)
{
    rs ^= rs << 13;
    rs ^= rs >> 7;
    rs ^= rs << 17;
    return a * (2.0f * (float)((rs >> 40) & 0xffffff) / 16777216.0f - 1.0f);
}

static dnnl_memory_desc_t md_tag(int nd, const dnnl_dims_t dims,
                                 dnnl_format_tag_t tag)
{
    dnnl_memory_desc_t md;
    CHK(dnnl_memory_desc_init_by_tag(&md, nd, dims, dnnl_f32, tag));
    return md;
}

static dnnl_memory_t mem_new(const dnnl_memory_desc_t *md)
{
    dnnl_memory_t m;
    CHK(dnnl_memory_create(&m, md, eng, DNNL_MEMORY_ALLOCATE));
    void *p;
    CHK(dnnl_memory_get_data_handle(m, &p));
    memset(p, 0, dnnl_memory_desc_get_size(md));
    return m;
}

static float *ptr(dnnl_memory_t m)
{
    void *p;
    CHK(dnnl_memory_get_data_handle(m, &p));
    return p;
}

static size_t nfloats(dnnl_memory_t m)
{
    const dnnl_memory_desc_t *md;
    CHK(dnnl_memory_get_memory_desc(m, &md));
    return dnnl_memory_desc_get_size(md) / sizeof(float);
}

/* One LSTM layer: its primitives and memories. */
typedef struct layer {
    int in;
    dnnl_primitive_t fwd, bwd, re_wl, re_wi;   /* re_*: fwd -> bwd weights */
    dnnl_memory_t src, dst;                    /* [T,B,in], [T,B,H] (tnc) */
    dnnl_memory_t h0, c0, hN, cN;              /* [1,1,B,H] */
    dnnl_memory_t wl, wi, bias;                /* forward layouts */
    dnnl_memory_t wl_b, wi_b;                  /* backward layouts */
    dnnl_memory_t ws;
    dnnl_memory_t dsrc, ddst, dh0, dc0, dhN, dcN;
    dnnl_memory_t dwl, dwi, dbias;             /* same layouts as wl, wi, bias */
} layer;

static dnnl_primitive_t reorder_prim(const dnnl_memory_desc_t *from,
                                     const dnnl_memory_desc_t *to)
{
    dnnl_primitive_desc_t pd;
    dnnl_primitive_t p;
    CHK(dnnl_reorder_primitive_desc_create(&pd, from, eng, to, eng, NULL));
    CHK(dnnl_primitive_create(&p, pd));
    CHK(dnnl_primitive_desc_destroy(pd));
    return p;
}

static void layer_init(layer *ly, int in, dnnl_memory_t src)
{
    ly->in = in;
    dnnl_dims_t d_src = {T, B, in}, d_dst = {T, B, H}, d_it = {1, 1, B, H},
                d_wl = {1, 1, in, G, H}, d_wi = {1, 1, H, G, H},
                d_b = {1, 1, G, H};
    dnnl_memory_desc_t src_md = md_tag(3, d_src, dnnl_tnc),
                       dst_md = md_tag(3, d_dst, dnnl_tnc),
                       it_md = md_tag(4, d_it, dnnl_ldnc),
                       wl_md = md_tag(5, d_wl, dnnl_ldigo),
                       wi_md = md_tag(5, d_wi, dnnl_ldigo),
                       b_md = md_tag(4, d_b, dnnl_ldgo),
                       wl_any = md_tag(5, d_wl, dnnl_format_tag_any),
                       wi_any = md_tag(5, d_wi, dnnl_format_tag_any);

    dnnl_rnn_desc_t fd, bd;
    CHK(dnnl_lstm_forward_desc_init(&fd, dnnl_forward_training,
                                    dnnl_unidirectional_left2right, &src_md,
                                    &it_md, &it_md, &wl_md, &wi_md, &b_md,
                                    &dst_md, &it_md, &it_md, 0));
    dnnl_primitive_desc_t fpd, bpd;
    CHK(dnnl_primitive_desc_create(&fpd, &fd, NULL, eng, NULL));
    CHK(dnnl_lstm_backward_desc_init(&bd, dnnl_backward,
                                     dnnl_unidirectional_left2right, &src_md,
                                     &it_md, &it_md, &wl_any, &wi_any, &b_md,
                                     &dst_md, &it_md, &it_md, &src_md, &it_md,
                                     &it_md, &wl_md, &wi_md, &b_md, &dst_md,
                                     &it_md, &it_md, 0));
    CHK(dnnl_primitive_desc_create(&bpd, &bd, NULL, eng, fpd));
    CHK(dnnl_primitive_create(&ly->fwd, fpd));
    CHK(dnnl_primitive_create(&ly->bwd, bpd));

    ly->src = src;
    ly->dst = mem_new(&dst_md);
    ly->h0 = mem_new(&it_md);
    ly->c0 = mem_new(&it_md);
    ly->hN = mem_new(&it_md);
    ly->cN = mem_new(&it_md);
    ly->wl = mem_new(&wl_md);
    ly->wi = mem_new(&wi_md);
    ly->bias = mem_new(&b_md);
    const dnnl_memory_desc_t *bwl =
        dnnl_primitive_desc_query_md(bpd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_LAYER);
    const dnnl_memory_desc_t *bwi =
        dnnl_primitive_desc_query_md(bpd, dnnl_query_exec_arg_md, DNNL_ARG_WEIGHTS_ITER);
    ly->wl_b = mem_new(bwl);
    ly->wi_b = mem_new(bwi);
    ly->re_wl = reorder_prim(&wl_md, bwl);
    ly->re_wi = reorder_prim(&wi_md, bwi);
    const dnnl_memory_desc_t *wsmd =
        dnnl_primitive_desc_query_md(fpd, dnnl_query_workspace_md, 0);
    ly->ws = mem_new(wsmd);
    ly->dsrc = mem_new(&src_md);
    ly->ddst = mem_new(&dst_md);
    ly->dh0 = mem_new(&it_md);
    ly->dc0 = mem_new(&it_md);
    ly->dhN = mem_new(&it_md);
    ly->dcN = mem_new(&it_md);
    ly->dwl = mem_new(&wl_md);
    ly->dwi = mem_new(&wi_md);
    ly->dbias = mem_new(&b_md);
    CHK(dnnl_primitive_desc_destroy(fpd));
    CHK(dnnl_primitive_desc_destroy(bpd));

    float a = 1.0f / sqrtf((float)H);
    float *w = ptr(ly->wl);
    for (size_t i = 0, n = nfloats(ly->wl); i < n; i++) w[i] = urand(a);
    w = ptr(ly->wi);
    for (size_t i = 0, n = nfloats(ly->wi); i < n; i++) w[i] = urand(a);
    w = ptr(ly->bias);
    for (size_t i = 0, n = nfloats(ly->bias); i < n; i++) w[i] = urand(a);
}

static void run(dnnl_primitive_t p, int n, const dnnl_exec_arg_t *args)
{
    CHK(dnnl_primitive_execute(p, strm, n, args));
}

static void layer_forward(layer *ly)
{
    dnnl_exec_arg_t a[] = {
        {DNNL_ARG_SRC_LAYER, ly->src},      {DNNL_ARG_SRC_ITER, ly->h0},
        {DNNL_ARG_SRC_ITER_C, ly->c0},      {DNNL_ARG_WEIGHTS_LAYER, ly->wl},
        {DNNL_ARG_WEIGHTS_ITER, ly->wi},    {DNNL_ARG_BIAS, ly->bias},
        {DNNL_ARG_DST_LAYER, ly->dst},      {DNNL_ARG_DST_ITER, ly->hN},
        {DNNL_ARG_DST_ITER_C, ly->cN},      {DNNL_ARG_WORKSPACE, ly->ws},
    };
    run(ly->fwd, (int)(sizeof a / sizeof a[0]), a);
}

static void layer_backward(layer *ly)
{
    dnnl_exec_arg_t r1[] = {{DNNL_ARG_FROM, ly->wl}, {DNNL_ARG_TO, ly->wl_b}};
    dnnl_exec_arg_t r2[] = {{DNNL_ARG_FROM, ly->wi}, {DNNL_ARG_TO, ly->wi_b}};
    run(ly->re_wl, 2, r1);
    run(ly->re_wi, 2, r2);
    /* oneDNN accumulates weight gradients: start from zero */
    memset(ptr(ly->dwl), 0, nfloats(ly->dwl) * sizeof(float));
    memset(ptr(ly->dwi), 0, nfloats(ly->dwi) * sizeof(float));
    memset(ptr(ly->dbias), 0, nfloats(ly->dbias) * sizeof(float));
    dnnl_exec_arg_t a[] = {
        {DNNL_ARG_SRC_LAYER, ly->src},        {DNNL_ARG_SRC_ITER, ly->h0},
        {DNNL_ARG_SRC_ITER_C, ly->c0},        {DNNL_ARG_WEIGHTS_LAYER, ly->wl_b},
        {DNNL_ARG_WEIGHTS_ITER, ly->wi_b},    {DNNL_ARG_BIAS, ly->bias},
        {DNNL_ARG_DST_LAYER, ly->dst},        {DNNL_ARG_DST_ITER, ly->hN},
        {DNNL_ARG_DST_ITER_C, ly->cN},        {DNNL_ARG_WORKSPACE, ly->ws},
        {DNNL_ARG_DIFF_SRC_LAYER, ly->dsrc},  {DNNL_ARG_DIFF_SRC_ITER, ly->dh0},
        {DNNL_ARG_DIFF_SRC_ITER_C, ly->dc0},  {DNNL_ARG_DIFF_WEIGHTS_LAYER, ly->dwl},
        {DNNL_ARG_DIFF_WEIGHTS_ITER, ly->dwi}, {DNNL_ARG_DIFF_BIAS, ly->dbias},
        {DNNL_ARG_DIFF_DST_LAYER, ly->ddst},  {DNNL_ARG_DIFF_DST_ITER, ly->dhN},
        {DNNL_ARG_DIFF_DST_ITER_C, ly->dcN},
    };
    run(ly->bwd, (int)(sizeof a / sizeof a[0]), a);
}

/* Adam state for one tensor. */
typedef struct ptensor { float *w, *g, *m, *v; size_t n; } ptensor;

static ptensor pt(float *w, float *g, size_t n)
{
    ptensor p = {w, g, xcalloc(n, sizeof(float)), xcalloc(n, sizeof(float)), n};
    return p;
}

static const char *default_corpus(void)
{
    const char *env = getenv("RNNLAB_BENCH_CORPUS");
    return env && *env ? env : "../shared/data/tinyshakespeare.txt";
}

int main(int argc, char **argv)
{
    int threads = 1, steps = 20, warmup = 3;
    const char *corpus_path = default_corpus();
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--steps") && i + 1 < argc)
            steps = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--warmup") && i + 1 < argc)
            warmup = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--corpus") && i + 1 < argc)
            corpus_path = argv[++i];
        else {
            fprintf(stderr, "usage: %s [--threads N] [--steps N] [--warmup N]"
                            " [--corpus PATH]\n", argv[0]);
            return 2;
        }
    }
    if (threads < 1 || steps < 1 || warmup < 0) {
        fprintf(stderr, "onednn_lstm: bad arguments\n");
        return 2;
    }
    omp_set_num_threads(threads);

    /* corpus: byte-level vocabulary of the distinct bytes (ASCII corpus) */
    FILE *f = fopen(corpus_path, "rb");
    if (!f) {
        fprintf(stderr, "onednn_lstm: corpus not found: %s\n", corpus_path);
        return 1;
    }
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    unsigned char *text = xcalloc((size_t)len + 1, 1);
    if (fread(text, 1, (size_t)len, f) != (size_t)len) {
        fprintf(stderr, "onednn_lstm: cannot read %s\n", corpus_path);
        return 1;
    }
    fclose(f);
    int map[256], V = 0;
    for (int c = 0; c < 256; c++) map[c] = -1;
    for (long i = 0; i < len; i++) map[text[i]] = 1;
    for (int c = 0; c < 256; c++)
        if (map[c] > 0) map[c] = V++;
    long n_train = (long)(len * 0.9);
    long SL = n_train / B;                 /* tokens per stream */
    if (SL < T + 1) {
        fprintf(stderr, "onednn_lstm: corpus too small\n");
        return 1;
    }
    int *ids = xcalloc((size_t)n_train, sizeof(int));
    for (long i = 0; i < n_train; i++) ids[i] = map[text[i]];

    CHK(dnnl_engine_create(&eng, dnnl_cpu, 0));
    CHK(dnnl_stream_create(&strm, eng, dnnl_stream_default_flags));

    dnnl_dims_t d_x = {T, B, E};
    dnnl_memory_desc_t x_md = md_tag(3, d_x, dnnl_tnc);
    dnnl_memory_t x0 = mem_new(&x_md);
    layer ly[L];
    layer_init(&ly[0], E, x0);
    layer_init(&ly[1], H, ly[0].dst);
    /* layer 2's input gradient is layer 1's output gradient */

    float *emb = xcalloc((size_t)V * E, sizeof(float));
    float *g_emb = xcalloc((size_t)V * E, sizeof(float));
    float *dec_w = xcalloc((size_t)V * H, sizeof(float));
    float *g_dec_w = xcalloc((size_t)V * H, sizeof(float));
    float *dec_b = xcalloc((size_t)V, sizeof(float));
    float *g_dec_b = xcalloc((size_t)V, sizeof(float));
    for (size_t i = 0; i < (size_t)V * E; i++) emb[i] = urand(1.7f);
    for (size_t i = 0; i < (size_t)V * H; i++) dec_w[i] = urand(1.0f / sqrtf((float)H));
    for (int i = 0; i < V; i++) dec_b[i] = urand(1.0f / sqrtf((float)H));
    float *logits = xcalloc((size_t)T * B * V, sizeof(float));

    ptensor p[3 + 3 * L];
    int np = 0;
    p[np++] = pt(emb, g_emb, (size_t)V * E);
    for (int l = 0; l < L; l++) {
        p[np++] = pt(ptr(ly[l].wl), ptr(ly[l].dwl), nfloats(ly[l].wl));
        p[np++] = pt(ptr(ly[l].wi), ptr(ly[l].dwi), nfloats(ly[l].wi));
        p[np++] = pt(ptr(ly[l].bias), ptr(ly[l].dbias), nfloats(ly[l].bias));
    }
    p[np++] = pt(dec_w, g_dec_w, (size_t)V * H);
    p[np++] = pt(dec_b, g_dec_b, (size_t)V);

    int *tok = xcalloc((size_t)(T + 1) * B, sizeof(int));
    long pos = 0;
    double loss = 0.0, t0 = 0.0;
    const size_t itn = (size_t)B * H;
    for (int s = 1; s <= warmup + steps; s++) {
        if (s == warmup + 1) t0 = now_s();
        if (pos + T + 1 > SL) {           /* wrap: new epoch, zero state */
            pos = 0;
            for (int l = 0; l < L; l++) {
                memset(ptr(ly[l].h0), 0, itn * sizeof(float));
                memset(ptr(ly[l].c0), 0, itn * sizeof(float));
            }
        }
        for (int t = 0; t <= T; t++)
            for (int b = 0; b < B; b++)
                tok[t * B + b] = ids[(long)b * SL + pos + t];
        pos += T;

        /* forward */
        float *x = ptr(x0);
        for (int r = 0; r < T * B; r++)
            memcpy(x + (size_t)r * E, emb + (size_t)tok[r] * E, E * sizeof(float));
        for (int l = 0; l < L; l++) layer_forward(&ly[l]);
        const float *y = ptr(ly[L - 1].dst);
        CHK(dnnl_sgemm('N', 'T', T * B, V, H, 1.0f, y, H, dec_w, H, 0.0f,
                       logits, V));
        /* softmax cross-entropy; logits become d(mean loss)/d(logits) */
        double lsum = 0.0;
        const float inv = 1.0f / (float)(T * B);
        for (int r = 0; r < T * B; r++) {
            float *z = logits + (size_t)r * V, mx = -INFINITY;
            for (int k = 0; k < V; k++) {
                z[k] += dec_b[k];
                if (z[k] > mx) mx = z[k];
            }
            float sum = 0.0f;
            for (int k = 0; k < V; k++) sum += (z[k] = expf(z[k] - mx));
            int tgt = tok[B + r];
            lsum -= log((double)z[tgt] / sum);
            float is = inv / sum;
            for (int k = 0; k < V; k++) z[k] *= is;
            z[tgt] -= inv;
        }
        loss = lsum / (T * B);

        /* backward */
        CHK(dnnl_sgemm('T', 'N', V, H, T * B, 1.0f, logits, V, y, H, 0.0f,
                       g_dec_w, H));
        memset(g_dec_b, 0, (size_t)V * sizeof(float));
        for (int r = 0; r < T * B; r++)
            for (int k = 0; k < V; k++) g_dec_b[k] += logits[(size_t)r * V + k];
        CHK(dnnl_sgemm('N', 'N', T * B, H, V, 1.0f, logits, V, dec_w, H, 0.0f,
                       ptr(ly[L - 1].ddst), H));
        for (int l = L - 1; l >= 0; l--) {
            layer_backward(&ly[l]);
            if (l > 0)
                memcpy(ptr(ly[l - 1].ddst), ptr(ly[l].dsrc),
                       (size_t)T * B * H * sizeof(float));
        }
        memset(g_emb, 0, (size_t)V * E * sizeof(float));
        const float *dx = ptr(ly[0].dsrc);
        for (int r = 0; r < T * B; r++) {
            float *ge = g_emb + (size_t)tok[r] * E;
            for (int k = 0; k < E; k++) ge[k] += dx[(size_t)r * E + k];
        }

        /* clip by global norm, then Adam */
        double sq = 0.0;
        for (int i = 0; i < np; i++)
            for (size_t k = 0; k < p[i].n; k++) sq += (double)p[i].g[k] * p[i].g[k];
        double norm = sqrt(sq);
        float scale = norm > CLIP ? (float)(CLIP / (norm + 1e-6)) : 1.0f;
        float bc1 = 1.0f - powf(BETA1, (float)s), bc2 = 1.0f - powf(BETA2, (float)s);
        float step = LR / bc1, ibc2 = 1.0f / sqrtf(bc2);
        for (int i = 0; i < np; i++) {
            float *w = p[i].w, *g = p[i].g, *m = p[i].m, *v = p[i].v;
            for (size_t k = 0; k < p[i].n; k++) {
                float gk = g[k] * scale;
                m[k] = BETA1 * m[k] + (1.0f - BETA1) * gk;
                v[k] = BETA2 * v[k] + (1.0f - BETA2) * gk * gk;
                w[k] -= step * m[k] / (sqrtf(v[k]) * ibc2 + EPS);
            }
        }

        /* carry the state to the next chunk (detached) */
        for (int l = 0; l < L; l++) {
            memcpy(ptr(ly[l].h0), ptr(ly[l].hN), itn * sizeof(float));
            memcpy(ptr(ly[l].c0), ptr(ly[l].cN), itn * sizeof(float));
        }
    }
    CHK(dnnl_stream_wait(strm));
    double el = now_s() - t0;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    const dnnl_version_t *ver = dnnl_version();
    printf("{\"threads\":%d,\"tokens_per_s\":%.1f,\"peak_rss_mb\":%.1f,"
           "\"steps\":%d,\"warmup\":%d,\"seconds\":%.3f,\"vocab\":%d,"
           "\"final_loss\":%.4f,\"onednn\":\"%d.%d.%d\"}\n",
           threads, (double)steps * T * B / el, ru.ru_maxrss / 1024.0, steps,
           warmup, el, V, loss, ver->major, ver->minor, ver->patch);
    return 0;
}
