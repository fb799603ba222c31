/* backend_cpu.c - the reference backend: host memory, OpenBLAS for GEMM,
 * plain loops for everything else.  The elementwise loops are written so
 * the compiler can vectorise them: no calls to libm in the gate math (see
 * cpu_exp), no branches in the inner loops. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE             /* madvise */
#endif
#include <cblas.h>
#include <math.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "backend.h"
#include "cpu_simd.h"
#include "cpu_small.h"

#define CPU_HUGE ((size_t)2 << 20)
#include "rng.h"


/* exp(x) for |x| < 88 to within about 2 ulp: x = n ln2 + r, exp(r) by a
 * degree-6 polynomial, 2^n by building the exponent bits.  libm's expf is
 * a function call per element and does not vectorise; this does. */
static inline float cpu_exp(float x)
{
    /* comparisons, not fminf/fmaxf: without -ffinite-math-only those are
     * libm calls (NaN rules), which stop the loops from vectorising */
    x = x < -87.0f ? -87.0f : x;
    x = x > 88.0f ? 88.0f : x;
    /* round to nearest by adding 1.5*2^23: floorf would be a libm call
     * without SSE4.1 and stop the loop from vectorising */
    float n = (x * 1.44269504088896341f + 12582912.0f) - 12582912.0f;
    float r = x - n * 0.693145751953125f;
    r = r - n * 1.428606765330187045e-06f;
    float p = 1.0f / 720.0f;
    p = p * r + 1.0f / 120.0f;
    p = p * r + 1.0f / 24.0f;
    p = p * r + 1.0f / 6.0f;
    p = p * r + 0.5f;
    p = p * r + 1.0f;
    p = p * r + 1.0f;
    union { float f; int32_t i; } u;
    u.i = ((int32_t)n + 127) << 23;
    return p * u.f;
}

static inline float cpu_sigmoid(float x) { return 1.0f / (1.0f + cpu_exp(-x)); }

/* tanh through exp of a non-positive argument, so no overflow and good
 * relative accuracy for large |x|; near 0 the absolute error is ~1e-7. */
static inline float cpu_tanh(float x)
{
    float e = cpu_exp(-2.0f * fabsf(x));
    float t = (1.0f - e) / (1.0f + e);
    return copysignf(t, x);
}

static void *cpu_alloc(be_backend *be, size_t bytes)
{
    (void)be;
    void *p = NULL;
    /* 64-byte alignment for AVX-512 loads in OpenBLAS and our loops.  Big
     * buffers (weights, activations) are 2 MiB-aligned and asked to be
     * backed by huge pages: a generation step streams every weight once,
     * and with 4 KiB pages the TLB misses cost as much as the reads. */
    size_t align = bytes >= CPU_HUGE ? CPU_HUGE : 64;
    if (posix_memalign(&p, align, bytes ? bytes : 64) != 0)
        return NULL;
#ifdef MADV_HUGEPAGE
    if (align == CPU_HUGE)
        madvise(p, bytes, MADV_HUGEPAGE);   /* advice: failure is harmless */
#endif
    memset(p, 0, bytes);
    return p;
}

static void cpu_free(be_backend *be, void *p) { (void)be; free(p); }

static void cpu_copy(be_backend *be, void *dst, const void *src, size_t bytes)
{
    (void)be;
    if (bytes)
        memmove(dst, src, bytes);
}

static void cpu_zero(be_backend *be, void *p, size_t bytes)
{
    (void)be;
    memset(p, 0, bytes);
}

static void cpu_gemm(be_backend *be, int ta, int tb, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc)
{
    (void)be;
    /* A few rows times a transposed weight matrix is a generation step (one
     * row per stream or beam).  sgemm packs all of B for them and runs
     * about 6x slower than one pass over B; sgemv handles one row, the
     * small kernel up to 8. */
    if (!ta && tb && M == 1) {
        if (beta == 0.0f)
            memset(C, 0, sizeof(float) * N);   /* BLAS may scale NaN by 0 */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, N, K, alpha, B, ldb, A, 1,
                    beta == 0.0f ? 1.0f : beta, C, 1);
        return;
    }
    if (!ta && tb && M <= CPU_SMALL_MAX_M &&
        cpu_small_gemm_nt(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc) == 0)
        return;
    cblas_sgemm(CblasRowMajor, ta ? CblasTrans : CblasNoTrans,
                tb ? CblasTrans : CblasNoTrans, M, N, K, alpha, A, lda, B, ldb,
                beta, C, ldc);
}

static void cpu_fill_rows(be_backend *be, float *Y, int M, int N,
                          const float *b1, const float *b2)
{
    (void)be;
    for (int i = 0; i < M; i++) {
        float *y = Y + (size_t)i * N;
        if (b2)
            for (int j = 0; j < N; j++)
                y[j] = b1[j] + b2[j];
        else
            memcpy(y, b1, sizeof(float) * N);
    }
}

static void cpu_colsum_add(be_backend *be, const float *dY, int M, int N, float *db)
{
    (void)be;
    for (int i = 0; i < M; i++) {
        const float *d = dY + (size_t)i * N;
        for (int j = 0; j < N; j++)
            db[j] += d[j];
    }
}

static void cpu_embed_fwd(be_backend *be, const uint32_t *ids, int n,
                          const float *table, int E, float *out)
{
    (void)be;
    for (int i = 0; i < n; i++)
        memcpy(out + (size_t)i * E, table + (size_t)ids[i] * E, sizeof(float) * E);
}

static void cpu_embed_bwd(be_backend *be, const uint32_t *ids, int n,
                          const float *dout, int E, float *dtable)
{
    (void)be;
    for (int i = 0; i < n; i++) {
        float *d = dtable + (size_t)ids[i] * E;
        const float *s = dout + (size_t)i * E;
        for (int j = 0; j < E; j++)
            d[j] += s[j];
    }
}

static void cpu_lstm_fwd(be_backend *be, int B, int H, float *gates,
                         const float *c_prev, float *c, float *h)
{
    (void)be;
    if (cpu_simd_lstm_fwd(B, H, gates, c_prev, c, h) == 0)
        return;
    for (int b = 0; b < B; b++) {
        float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        const float *cp = c_prev + (size_t)b * H;
        float *cb = c + (size_t)b * H, *hb = h + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float i = cpu_sigmoid(gi[j]), f = cpu_sigmoid(gf[j]);
            float g = cpu_tanh(gg[j]), o = cpu_sigmoid(go[j]);
            float cn = f * cp[j] + i * g;
            gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
            cb[j] = cn;
            hb[j] = o * cpu_tanh(cn);
        }
    }
}

static void cpu_lstm_bwd(be_backend *be, int B, int H, const float *gates,
                         const float *c_prev, const float *c, const float *dh,
                         float *dc, float *dgates)
{
    (void)be;
    for (int b = 0; b < B; b++) {
        const float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        float *di = dgates + (size_t)b * 4 * H, *df = di + H, *dg = df + H, *dout = dg + H;
        const float *cp = c_prev + (size_t)b * H, *cb = c + (size_t)b * H;
        const float *dhb = dh + (size_t)b * H;
        float *dcb = dc + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float tc = cpu_tanh(cb[j]);
            float o = go[j], i = gi[j], f = gf[j], g = gg[j];
            float dcj = dcb[j] + dhb[j] * o * (1.0f - tc * tc);
            dout[j] = dhb[j] * tc * o * (1.0f - o);
            di[j] = dcj * g * i * (1.0f - i);
            df[j] = dcj * cp[j] * f * (1.0f - f);
            dg[j] = dcj * i * (1.0f - g * g);
            dcb[j] = dcj * f;
        }
    }
}

static void cpu_gru_fwd(be_backend *be, int B, int H, float *gx, const float *gh,
                        const float *h_prev, float *h)
{
    (void)be;
    if (cpu_simd_gru_fwd(B, H, gx, gh, h_prev, h) == 0)
        return;
    for (int b = 0; b < B; b++) {
        float *xr = gx + (size_t)b * 3 * H, *xz = xr + H, *xn = xz + H;
        const float *hr = gh + (size_t)b * 3 * H, *hz = hr + H, *hn = hz + H;
        const float *hp = h_prev + (size_t)b * H;
        float *hb = h + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float r = cpu_sigmoid(xr[j] + hr[j]);
            float z = cpu_sigmoid(xz[j] + hz[j]);
            float n = cpu_tanh(xn[j] + r * hn[j]);
            xr[j] = r; xz[j] = z; xn[j] = n;
            hb[j] = (1.0f - z) * n + z * hp[j];
        }
    }
}

static void cpu_gru_bwd(be_backend *be, int B, int H, const float *gx, const float *gh,
                        const float *h_prev, const float *dh, float *dh_prev,
                        float *dgx, float *dgh)
{
    (void)be;
    for (int b = 0; b < B; b++) {
        const float *r = gx + (size_t)b * 3 * H, *z = r + H, *n = z + H;
        const float *hn = gh + (size_t)b * 3 * H + 2 * H;
        const float *hp = h_prev + (size_t)b * H, *d = dh + (size_t)b * H;
        float *dxr = dgx + (size_t)b * 3 * H, *dxz = dxr + H, *dxn = dxz + H;
        float *dhr = dgh + (size_t)b * 3 * H, *dhz = dhr + H, *dhn = dhz + H;
        float *dp = dh_prev + (size_t)b * H;
        for (int j = 0; j < H; j++) {
            float dn = d[j] * (1.0f - z[j]) * (1.0f - n[j] * n[j]);
            float dz = d[j] * (hp[j] - n[j]) * z[j] * (1.0f - z[j]);
            float dr = dn * hn[j] * r[j] * (1.0f - r[j]);
            dxr[j] = dr; dxz[j] = dz; dxn[j] = dn;
            dhr[j] = dr; dhz[j] = dz; dhn[j] = dn * r[j];
            dp[j] = d[j] * z[j];
        }
    }
}

static void cpu_rnn_fwd(be_backend *be, int B, int H, const float *g, float *h)
{
    (void)be;
    if (cpu_simd_rnn_fwd(B, H, g, h) == 0)
        return;
    size_t n = (size_t)B * H;
    for (size_t i = 0; i < n; i++)
        h[i] = cpu_tanh(g[i]);
}

static void cpu_rnn_bwd(be_backend *be, int B, int H, const float *h,
                        const float *dh, float *dg)
{
    (void)be;
    size_t n = (size_t)B * H;
    for (size_t i = 0; i < n; i++)
        dg[i] = dh[i] * (1.0f - h[i] * h[i]);
}

static void cpu_add(be_backend *be, float *a, const float *b, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        a[i] += b[i];
}

static void cpu_dropout_fwd(be_backend *be, float *x, float *mask, size_t n,
                            float p, uint64_t key)
{
    (void)be;
    float keep = 1.0f / (1.0f - p);
    for (size_t i = 0; i < n; i++) {
        mask[i] = rng_hash_uniform(key, i) >= p ? keep : 0.0f;
        x[i] *= mask[i];
    }
}

static void cpu_mul(be_backend *be, float *x, const float *mask, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] *= mask[i];
}

/* Row by row: max, log-sum-exp, loss; the gradient softmax - onehot is
 * written over the logits.  Sums in double: a chunk has thousands of rows. */
static double cpu_xent(be_backend *be, float *logits, const uint32_t *targets,
                       int N, int V, float scale, int grad, long *correct)
{
    (void)be;
    double total = 0.0;
    long hits = 0;
    for (int i = 0; i < N; i++) {
        float *z = logits + (size_t)i * V;
        uint32_t y = targets[i];
        float mx = z[0];
        int arg = 0;
        for (int j = 1; j < V; j++)
            if (z[j] > mx) { mx = z[j]; arg = j; }
        float s = 0.0f;
        for (int j = 0; j < V; j++)
            s += cpu_exp(z[j] - mx);
        float lse = mx + logf(s);
        total += (double)(lse - z[y]);
        hits += (arg == (int)y);
        if (grad) {
            float inv = scale / s;
            for (int j = 0; j < V; j++)
                z[j] = cpu_exp(z[j] - mx) * inv;
            z[y] -= scale;
        }
    }
    if (correct)
        *correct = hits;
    return total;
}

static double cpu_sumsq(be_backend *be, const float *x, size_t n)
{
    (void)be;
    /* float lanes for speed, flushed to double every 4096 elements. */
    double total = 0.0;
    for (size_t i = 0; i < n; i += 4096) {
        size_t e = i + 4096 < n ? i + 4096 : n;
        float s = 0.0f;
        for (size_t k = i; k < e; k++)
            s += x[k] * x[k];
        total += s;
    }
    return total;
}

static void cpu_scale(be_backend *be, float *x, size_t n, float a)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] *= a;
}

static void cpu_clamp(be_backend *be, float *x, size_t n, float lim)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        x[i] = fminf(fmaxf(x[i], -lim), lim);
}

static void cpu_sgd(be_backend *be, float *w, const float *g, float *buf, size_t n,
                    float lr, float momentum, float wd, int nesterov, int first)
{
    (void)be;
    for (size_t i = 0; i < n; i++) {
        float d = g[i] + wd * w[i];
        if (momentum != 0.0f) {
            buf[i] = first ? d : momentum * buf[i] + d;
            d = nesterov ? d + momentum * buf[i] : buf[i];
        }
        w[i] -= lr * d;
    }
}

/* Adam, AdamW (decoupled weight decay) and NAdam, as PyTorch defines them. */
static void cpu_adam(be_backend *be, float *w, const float *g, float *m, float *v,
                     size_t n, float lr, float b1, float b2, float eps, float wd,
                     int decoupled, int nadam, long t)
{
    (void)be;
    double bc1 = 1.0 - pow(b1, (double)t), bc2 = 1.0 - pow(b2, (double)t);
    float c1 = 0, c2 = 0;
    if (nadam) {
        /* PyTorch's NAdam: mu_k = b1 (1 - 0.5 * 0.96^(k psi)), psi = 0.004;
         * the running product of the mu_k is recomputed from k = 1 so the
         * optimizer needs no extra state (t is small enough for this). */
        double prod = 1.0, mt = 0.0;
        for (long k = 1; k <= t; k++) {
            mt = b1 * (1.0 - 0.5 * pow(0.96, k * 0.004));
            prod *= mt;
        }
        double mn = b1 * (1.0 - 0.5 * pow(0.96, (t + 1) * 0.004));
        c1 = (float)((1.0 - mt) / (1.0 - prod));
        c2 = (float)(mn / (1.0 - prod * mn));
    }
    float sbc2 = (float)sqrt(bc2), step = (float)(lr / bc1);
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        if (decoupled)
            w[i] *= 1.0f - lr * wd;
        else
            gi += wd * w[i];
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        float denom = sqrtf(v[i]) / sbc2 + eps;
        if (nadam)
            w[i] -= lr * (c1 * gi + c2 * m[i]) / denom;
        else
            w[i] -= step * m[i] / denom;
    }
}

static void cpu_rmsprop(be_backend *be, float *w, const float *g, float *v,
                        float *buf, size_t n, float lr, float alpha, float eps,
                        float momentum, float wd)
{
    (void)be;
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * w[i];
        v[i] = alpha * v[i] + (1.0f - alpha) * gi * gi;
        float d = gi / (sqrtf(v[i]) + eps);
        if (momentum != 0.0f) {
            buf[i] = momentum * buf[i] + d;
            d = buf[i];
        }
        w[i] -= lr * d;
    }
}

static void cpu_to_half(be_backend *be, uint16_t *dst, const float *src, size_t n)
{
    (void)be;
    for (size_t i = 0; i < n; i++)
        dst[i] = cpu_float_to_half(src[i]);
}

static void cpu_gemm_half(be_backend *be, int M, int N, int K, float alpha,
                          const float *A, int lda, const uint16_t *B, int ldb,
                          float beta, float *C, int ldc)
{
    (void)be;
    cpu_small_gemm_nt_half(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

static void cpu_set_threads(be_backend *be, int n)
{
    (void)be;
    openblas_set_num_threads(n > 0 ? n : 1);
}

static void cpu_destroy(be_backend *be) { free(be); }

be_backend *be_cpu_create(void)
{
    be_backend *be = calloc(1, sizeof *be);
    if (!be)
        return NULL;
    be->name = "cpu";
    be->alloc = cpu_alloc;
    be->free = cpu_free;
    be->upload = cpu_copy;
    be->download = cpu_copy;
    be->copy = cpu_copy;
    be->zero = cpu_zero;
    be->gemm = cpu_gemm;
    be->fill_rows = cpu_fill_rows;
    be->colsum_add = cpu_colsum_add;
    be->embed_fwd = cpu_embed_fwd;
    be->embed_bwd = cpu_embed_bwd;
    be->lstm_fwd = cpu_lstm_fwd;
    be->lstm_bwd = cpu_lstm_bwd;
    be->gru_fwd = cpu_gru_fwd;
    be->gru_bwd = cpu_gru_bwd;
    be->rnn_fwd = cpu_rnn_fwd;
    be->rnn_bwd = cpu_rnn_bwd;
    be->add = cpu_add;
    be->dropout_fwd = cpu_dropout_fwd;
    be->mul = cpu_mul;
    be->xent = cpu_xent;
    be->sumsq = cpu_sumsq;
    be->scale = cpu_scale;
    be->clamp = cpu_clamp;
    be->sgd = cpu_sgd;
    be->adam = cpu_adam;
    be->rmsprop = cpu_rmsprop;
    be->set_threads = cpu_set_threads;
    be->destroy = cpu_destroy;
    be->to_half = cpu_to_half;
    be->gemm_half = cpu_gemm_half;
    return be;
}
