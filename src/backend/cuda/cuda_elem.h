/* cuda_elem.h - the CUDA backend's arithmetic, one element at a
 * time, and its mapping of row-major products onto column-major cuBLAS.
 * The kernels in cuda_backend.cu are grid-stride loops over these
 * functions; being plain C as well, the same text is compiled for the host
 * by tests/check_cuda_host.c, which runs the model through them against
 * the CPU backend on a machine without a GPU.  Formulas as cpu_backend.c. */
#ifndef BACKEND_CUDA_ELEM_H
#define BACKEND_CUDA_ELEM_H
#include <math.h>
#include <stddef.h>
#include <stdint.h>

#include "backend/backend.h"

#ifdef __CUDACC__
#define CU_HD static inline __host__ __device__
#else
#define CU_HD static inline
#endif

CU_HD float cu_sigmoid(float x) { return 1.0f / (1.0f + expf(-x)); }

/* rng.c's rng_hash_uniform, bit for bit (splitmix64 of the mixed counter,
 * top 24 bits): dropout masks equal the CPU backend's. */
CU_HD float cu_hash(uint64_t key, uint64_t counter)
{
    uint64_t z = (key ^ (counter * 0xD1B54A32D192ED03ULL)) + 0x9E3779B97F4A7C15ULL;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    z ^= z >> 31;
    return (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* Element i of Y[M,N] = b1 + b2 (b2 may be NULL). */
CU_HD void cu_fill_rows_elem(size_t i, float *Y, int N, const float *b1, const float *b2)
{
    int j = (int)(i % (size_t)N);
    Y[i] = b2 ? b1[j] + b2[j] : b1[j];
}

/* Element i of out[n,E] = table[ids[row],:]. */
CU_HD void cu_embed_fwd_elem(size_t i, const uint32_t *ids, const float *table, int E,
                             float *out)
{
    size_t r = i / (size_t)E, j = i % (size_t)E;
    out[i] = table[(size_t)ids[r] * E + j];
}

/* Unit k = b*H + j of an LSTM step (gates i,f,g,o per row). */
CU_HD void cu_lstm_fwd_elem(size_t k, int H, float *gates, const float *c_prev, float *c,
                            float *h)
{
    size_t b = k / (size_t)H, j = k % (size_t)H;
    float *gi = gates + b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
    float i = cu_sigmoid(gi[j]), f = cu_sigmoid(gf[j]);
    float g = tanhf(gg[j]), o = cu_sigmoid(go[j]);
    float cn = f * c_prev[k] + i * g;
    gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
    c[k] = cn;
    h[k] = o * tanhf(cn);
}

CU_HD void cu_lstm_bwd_elem(size_t k, int H, const float *gates, const float *c_prev,
                            const float *c, const float *dh, float *dc, float *dgates)
{
    size_t b = k / (size_t)H, j = k % (size_t)H;
    const float *gi = gates + b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
    float *di = dgates + b * 4 * H, *df = di + H, *dg = df + H, *dout = dg + H;
    float tc = tanhf(c[k]);
    float o = go[j], i = gi[j], f = gf[j], g = gg[j];
    float dcj = dc[k] + dh[k] * o * (1.0f - tc * tc);
    dout[j] = dh[k] * tc * o * (1.0f - o);
    di[j] = dcj * g * i * (1.0f - i);
    df[j] = dcj * c_prev[k] * f * (1.0f - f);
    dg[j] = dcj * i * (1.0f - g * g);
    dc[k] = dcj * f;
}

/* The LayerNorm LSTM, one row in phases between the row reductions the
 * caller does (a block's on the GPU, a loop on the host); formulas as
 * cpu_lnlstm.c.  Feature k of the 4H: the ih and hh sums normalised in
 * place (means mx, my, inverse deviations rx, ry) and their affine sum
 * into a. */
CU_HD void cu_lnlstm_norm_elem(size_t k, float *x, float mx, float rx, float *y, float my,
                               float ry, const be_lnlstm_params p, float *a)
{
    float nx = (x[k] - mx) * rx, ny = (y[k] - my) * ry;
    x[k] = nx;
    y[k] = ny;
    a[k] = nx * p.ih_w[k] + p.ih_b[k] + ny * p.hh_w[k] + p.hh_b[k];
}

/* Unit j of the row: the gates in place of a, the new cell. */
CU_HD void cu_lnlstm_cell_elem(size_t j, int H, float *a, const float *cp, float *c)
{
    float *gi = a, *gf = a + H, *gg = a + 2 * H, *go = a + 3 * H;
    float i = cu_sigmoid(gi[j]), f = cu_sigmoid(gf[j]);
    float g = tanhf(gg[j]), o = cu_sigmoid(go[j]);
    gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
    c[j] = f * cp[j] + i * g;
}

/* Unit j: LN_c's normalised cell (mean mc, inverse deviation rc), h. */
CU_HD void cu_lnlstm_out_elem(size_t j, const float *c, float mc, float rc,
                              const be_lnlstm_params p, const float *o, float *cn, float *h)
{
    float n = (c[j] - mc) * rc;
    cn[j] = n;
    h[j] = o[j] * tanhf(n * p.c_w[j] + p.c_b[j]);
}

/* Backward, unit j: dy, the output gate's da; returns dy * w into *u (the
 * caller sums u and u * cn over the row). */
CU_HD void cu_lnlstm_bwd_out_elem(size_t j, const float *cn, const be_lnlstm_params p,
                                  const float *o, const float *dh, float *dy, float *dao,
                                  float *u)
{
    float t = tanhf(cn[j] * p.c_w[j] + p.c_b[j]);
    float d = dh[j] * o[j] * (1.0f - t * t);
    dy[j] = d;
    dao[j] = dh[j] * t * o[j] * (1.0f - o[j]);
    *u = d * p.c_w[j];
}

/* Unit j: the cell's gradient (m1, m2: the row means of dy * w and
 * dy * w * cn) into the gates' da and dc_prev. */
CU_HD void cu_lnlstm_bwd_cell_elem(size_t j, int H, const float *gt, const float *cp,
                                   const float *cn, const float *dy, const float *w,
                                   float rc, float m1, float m2, float *dc, float *da)
{
    float d = dc[j] + rc * (dy[j] * w[j] - m1 - cn[j] * m2);
    float i = gt[j], f = gt[H + j], g = gt[2 * H + j];
    da[j] = d * g * i * (1.0f - i);
    da[H + j] = d * cp[j] * f * (1.0f - f);
    da[2 * H + j] = d * i * (1.0f - g * g);
    dc[j] = d * f;
}

/* Feature k of a normalisation's backward (m1, m2: the row means of
 * da * w and da * w * xn). */
CU_HD void cu_lnlstm_bwd_norm_elem(size_t k, const float *da, const float *w,
                                   const float *xn, float r, float m1, float m2, float *dx)
{
    dx[k] = r * (da[k] * w[k] - m1 - xn[k] * m2);
}

/* Column j of db += the column sums of dY * X ([M,N]); rows in order, so
 * the sum is deterministic. */
CU_HD void cu_colsum_mul_elem(size_t j, const float *dY, const float *X, int M, int N,
                              float *db)
{
    float s = 0.0f;
    for (int i = 0; i < M; i++)
        s += dY[(size_t)i * N + j] * X[(size_t)i * N + j];
    db[j] += s;
}

/* Unit k of a GRU step (gates r,z,n; gx and gh rows of 3H). */
CU_HD void cu_gru_fwd_elem(size_t k, int H, float *gx, const float *gh,
                           const float *h_prev, float *h)
{
    size_t b = k / (size_t)H, j = k % (size_t)H;
    float *xr = gx + b * 3 * H, *xz = xr + H, *xn = xz + H;
    const float *hr = gh + b * 3 * H, *hz = hr + H, *hn = hz + H;
    float r = cu_sigmoid(xr[j] + hr[j]);
    float z = cu_sigmoid(xz[j] + hz[j]);
    float nn = tanhf(xn[j] + r * hn[j]);
    xr[j] = r; xz[j] = z; xn[j] = nn;
    h[k] = (1.0f - z) * nn + z * h_prev[k];
}

CU_HD void cu_gru_bwd_elem(size_t k, int H, const float *gx, const float *gh,
                           const float *h_prev, const float *dh, float *dh_prev,
                           float *dgx, float *dgh)
{
    size_t b = k / (size_t)H, j = k % (size_t)H;
    const float *r = gx + b * 3 * H, *z = r + H, *nn = z + H;
    const float *hn = gh + b * 3 * H + 2 * H;
    float *dxr = dgx + b * 3 * H, *dxz = dxr + H, *dxn = dxz + H;
    float *dhr = dgh + b * 3 * H, *dhz = dhr + H, *dhn = dhz + H;
    float d = dh[k];
    float dn = d * (1.0f - z[j]) * (1.0f - nn[j] * nn[j]);
    float dz = d * (h_prev[k] - nn[j]) * z[j] * (1.0f - z[j]);
    float dr = dn * hn[j] * r[j] * (1.0f - r[j]);
    dxr[j] = dr; dxz[j] = dz; dxn[j] = dn;
    dhr[j] = dr; dhz[j] = dz; dhn[j] = dn * r[j];
    dh_prev[k] = d * z[j];
}

CU_HD void cu_rnn_fwd_elem(size_t i, const float *g, float *h) { h[i] = tanhf(g[i]); }

CU_HD void cu_rnn_bwd_elem(size_t i, const float *h, const float *dh, float *dg)
{
    dg[i] = dh[i] * (1.0f - h[i] * h[i]);
}

/* keep = 1 / (1 - p), computed once by the caller as on the CPU. */
CU_HD void cu_dropout_elem(size_t i, float *x, float *mask, float p, float keep,
                           uint64_t key, uint64_t first)
{
    float m = cu_hash(key, first + i) >= p ? keep : 0.0f;
    mask[i] = m;
    x[i] *= m;
}

CU_HD void cu_clamp_elem(size_t i, float *x, float lim)
{
    x[i] = fminf(fmaxf(x[i], -lim), lim);
}

CU_HD void cu_sgd_elem(size_t i, float *w, const float *g, float *buf, float lr,
                       float momentum, float wd, int nesterov, int first)
{
    float d = g[i] + wd * w[i];
    if (momentum != 0.0f) {
        buf[i] = first ? d : momentum * buf[i] + d;
        d = nesterov ? d + momentum * buf[i] : buf[i];
    }
    w[i] -= lr * d;
}

/* Element i of an Adam, AdamW or NAdam update (scalars from optim.c). */
/* a * b rounded to float: never fused into a following add (nvcc fuses
 * by default), as a product stored to memory by another kernel is not. */
CU_HD float cu_mul_rn(float a, float b)
{
#ifdef __CUDA_ARCH__
    return __fmul_rn(a, b);
#else
    return a * b;
#endif
}

CU_HD void cu_adam_elem(size_t i, float *w, const float *g, float *m, float *v,
                        be_adam_step s)
{
    float gi = cu_mul_rn(g[i], s.gscale);      /* as k_scale's pass would */
    if (s.decoupled)
        w[i] *= 1.0f - s.lr * s.wd;
    else
        gi += s.wd * w[i];
    float mi = s.b1 * m[i] + (1.0f - s.b1) * gi;
    float vi = s.b2 * v[i] + (1.0f - s.b2) * gi * gi;
    m[i] = mi;
    v[i] = vi;
    float denom = sqrtf(vi) / s.sbc2 + s.eps;
    if (s.nadam)
        w[i] -= s.lr * (s.c1 * gi + s.c2 * mi) / denom;
    else
        w[i] -= s.step * mi / denom;
}

CU_HD void cu_rmsprop_elem(size_t i, float *w, const float *g, float *v, float *buf,
                           float lr, float alpha, float eps, float momentum, float wd)
{
    float gi = g[i] + wd * w[i];
    float vi = alpha * v[i] + (1.0f - alpha) * gi * gi;
    v[i] = vi;
    float d = gi / (sqrtf(vi) + eps);
    if (momentum != 0.0f) {
        buf[i] = momentum * buf[i] + d;
        d = buf[i];
    }
    w[i] -= lr * d;
}

/* Softmax cross-entropy of one row, split over nt threads of a block:
 * thread tid takes the columns tid, tid + nt, ...  Each thread's maximum
 * and its first column, merged by cu_argmax_merge in any order, give the
 * CPU's first maximum. */
CU_HD void cu_xent_thread_max(const float *z, int V, int tid, int nt, float *v, int *idx)
{
    float mx = -INFINITY;
    int arg = 0x7fffffff;           /* no column: loses every merge */
    for (int j = tid; j < V; j += nt)
        if (j == tid || z[j] > mx) {
            mx = z[j];
            arg = j;
        }
    *v = mx;
    *idx = arg;
}

/* Larger value wins; on a tie the lower column. */
CU_HD void cu_argmax_merge(float *v, int *i, float ov, int oi)
{
    if (ov > *v || (ov == *v && oi < *i)) {
        *v = ov;
        *i = oi;
    }
}

CU_HD float cu_xent_thread_sum(const float *z, int V, int tid, int nt, float mx)
{
    float s = 0.0f;
    for (int j = tid; j < V; j += nt)
        s += expf(z[j] - mx);
    return s;
}

/* The thread's share of the sum of the logits (label smoothing). */
CU_HD float cu_xent_thread_zsum(const float *z, int V, int tid, int nt)
{
    float s = 0.0f;
    for (int j = tid; j < V; j += nt)
        s += z[j];
    return s;
}

/* The gradient over the thread's columns: softmax * scale, less the target
 * times scale (inv = scale / sum of exp): with label smoothing e, 1 - e at
 * y and e / V everywhere, as the CPU backend's xent. */
CU_HD void cu_xent_thread_grad(float *z, int V, int tid, int nt, float mx, float inv,
                               uint32_t y, float scale, float e)
{
    for (int j = tid; j < V; j += nt) {
        float p = expf(z[j] - mx) * inv;
        if (j == (int)y)
            p -= e > 0 ? scale * (1.0f - e) : scale;
        if (e > 0)
            p -= scale * e / (float)V;
        z[j] = p;
    }
}

/* A row-major product C[M,N] = op(A) op(B) handed to a column-major GEMM.
 * Read column-major, a row-major matrix is its transpose, so the GEMM
 * computes C^T = op(B)^T op(A)^T: the operands swap, their transpose flags
 * stay, and M and N exchange. */
typedef struct cu_gemm_args {
    int trans_first, trans_second;  /* transpose the first / second operand */
    int m, n, k;
    const float *first, *second;
    int ld_first, ld_second;
} cu_gemm_args;

static inline cu_gemm_args cu_gemm_map(int ta, int tb, int M, int N, int K,
                                       const float *A, int lda, const float *B, int ldb)
{
    cu_gemm_args g = {tb, ta, N, M, K, B, A, ldb, lda};
    return g;
}

#endif
