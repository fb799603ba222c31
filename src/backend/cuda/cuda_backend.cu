/* cuda_backend.cu - the be_backend table on an NVIDIA GPU.
 *
 * Everything runs in order on one stream: cuBLAS for the matrix products
 * (row-major operands handed to column-major cuBLAS as their transposes),
 * one small kernel per elementwise operation with the same formulas as
 * cpu_backend.c, block reductions for the cross-entropy and the squared
 * norm.  The host waits for the device only where the interface hands it
 * a number (xent's loss, sumsq) or host memory (download), so a training
 * step synchronises twice: after the forward pass and before clipping.
 *
 * The arithmetic of each element is in cuda_elem.h, shared with a
 * host-side test.  The first CUDA or cuBLAS failure is kept as one line
 * ("cuda: WHAT: WHY") that last_error returns; from then on xent and sumsq
 * return NaN, and the trainer, seeing it, stops with that line instead of
 * training on garbage.  Nothing here prints. */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <dlfcn.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/cuda/cuda_backend.h"
#include "backend/cuda/cuda_coll.h"
#include "backend/cuda/cuda_dl.h"
#include "backend/cuda/cuda_elem.h"

/* Uploads up to this size go through pinned staging buffers and return at
 * once; larger ones (weights, optimizer state) wait for the copy. */
#define CU_STAGE_MAX ((size_t)1 << 20)
#define CU_STAGES 2
/* Blocks of the norm's first pass; the second pass adds them in one block. */
#define CU_NORM_BLOCKS 1024

typedef struct cu_stage {
    void *buf;              /* pinned host memory */
    size_t cap;
    cudaEvent_t done;       /* recorded after the copy that reads buf */
    int pending;
} cu_stage;

typedef struct cu_result {
    double sum, sum2;
    long long count;
} cu_result;

/* cuBLAS, opened with dlopen when a CUDA backend is created.  Linking it
 * would map its libraries (hundreds of megabytes with cuBLASLt) into every
 * run, CPU-only ones included; the CUDA runtime is linked statically for
 * the same reason. */
typedef struct cu_blas_api {
    void *lib;
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*destroy)(cublasHandle_t);
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
    cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t);
    cublasStatus_t (*gemm_ex)(cublasHandle_t, cublasOperation_t, cublasOperation_t, int,
                              int, int, const void *, const void *, cudaDataType, int,
                              const void *, cudaDataType, int, const void *, void *,
                              cudaDataType, int, cublasComputeType_t, cublasGemmAlgo_t);
    cublasStatus_t (*sgemv)(cublasHandle_t, cublasOperation_t, int, int, const float *,
                            const float *, int, const float *, int, const float *,
                            float *, int);
    const char *(*status_string)(cublasStatus_t);
} cu_blas_api;

typedef struct cu_impl {
    cu_blas_api api;
    int device;
    be_precision prec;
    cublasComputeType_t compute;
    cudaStream_t stream;
    cublasHandle_t blas;
    char name[256];
    unsigned max_blocks;    /* grid cap for grid-stride kernels */
    char error[320];        /* the first failure, "" while none */
    /* scratch, grown on demand */
    float *ones;            /* colsum_add's vector of ones */
    size_t n_ones;
    float *row_loss;        /* xent: per-row loss, smoothed loss and hit */
    float *row_smooth;
    int *row_hit;
    size_t n_loss, n_smooth, n_hit;
    double *partial;        /* sumsq: CU_NORM_BLOCKS partial sums */
    cu_result *res_dev;     /* a reduction's answer on the device */
    cu_result *res_host;    /* ... and in pinned host memory */
    cu_stage stage[CU_STAGES];
    int next_stage;
    cu_coll *coll;          /* sums across processes (NCCL), or NULL */
} cu_impl;

static cu_impl *impl_of(be_backend *be) { return (cu_impl *)be->impl; }

/* Opens cuBLAS and finds its functions.  Returns 0, or -1 with a one-line
 * message (library or symbol missing). */
static int cu_blas_open(cu_blas_api *api, char *err, size_t errlen)
{
    static const char *const names[] = { "libcublas.so.13", "libcublas.so" };
    const cu_dl_sym want[] = {
        { (void **)&api->create, "cublasCreate_v2" },
        { (void **)&api->destroy, "cublasDestroy_v2" },
        { (void **)&api->set_stream, "cublasSetStream_v2" },
        { (void **)&api->set_math_mode, "cublasSetMathMode" },
        { (void **)&api->gemm_ex, "cublasGemmEx" },
        { (void **)&api->sgemv, "cublasSgemv_v2" },
        { (void **)&api->status_string, "cublasGetStatusString" },
    };
    api->lib = cu_dl_open(names, sizeof names / sizeof names[0], want,
                          sizeof want / sizeof want[0], "cuBLAS", err, errlen);
    return api->lib ? 0 : -1;
}

/* Keeps the first failure as "cuda: WHAT: WHY" for last_error. */
static void cu_fail(cu_impl *I, const char *what, const char *why)
{
    if (!I->error[0])
        snprintf(I->error, sizeof I->error, "cuda: %s: %s", what, why);
}

static int cu_failed(const cu_impl *I) { return I->error[0] != '\0'; }

/* Returns 1 when e is success, else 0 after keeping the failure. */
static int cu_ok(cu_impl *I, cudaError_t e, const char *what)
{
    if (e == cudaSuccess)
        return 1;
    cu_fail(I, what, cudaGetErrorString(e));
    return 0;
}

/* As cu_ok for cuBLAS statuses. */
static int blas_ok(cu_impl *I, cublasStatus_t s, const char *what)
{
    if (s == CUBLAS_STATUS_SUCCESS)
        return 1;
    cu_fail(I, what, I->api.status_string(s));
    return 0;
}

/* After a kernel launch: a bad configuration shows up here at once; a
 * fault inside the kernel shows up at the next synchronisation. */
static void launched(cu_impl *I, const char *what)
{
    cu_ok(I, cudaGetLastError(), what);
}

static unsigned grid_for(const cu_impl *I, size_t n, unsigned threads)
{
    size_t b = (n + threads - 1) / threads;
    if (b > I->max_blocks)
        b = I->max_blocks;
    return b ? (unsigned)b : 1u;
}

#define GRID_STRIDE(i, n) \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n); \
         i += (size_t)gridDim.x * blockDim.x)

/* ------------------------------------------------------------------ */
/* Device helpers (the per-element arithmetic is in cuda_elem.h) */

/* Sum over the block, returned to every thread.  shared holds 32 values;
 * blockDim.x is a multiple of 32. */
template <typename T>
__device__ static T block_sum(T v, T *shared)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1)
        v += __shfl_down_sync(0xffffffffu, v, o);
    __syncthreads();                /* shared may hold a previous answer */
    if (lane == 0)
        shared[warp] = v;
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? shared[lane] : (T)0;
        for (int o = 16; o > 0; o >>= 1)
            v += __shfl_down_sync(0xffffffffu, v, o);
        if (lane == 0)
            shared[0] = v;
    }
    __syncthreads();
    return shared[0];
}

/* Block-wide argmax, returned to every thread. */
__device__ static void block_argmax(float &v, int &idx, float *sv, int *si)
{
    int lane = threadIdx.x & 31, warp = threadIdx.x >> 5;
    int warps = blockDim.x >> 5;
    for (int o = 16; o > 0; o >>= 1)
        cu_argmax_merge(&v, &idx, __shfl_down_sync(0xffffffffu, v, o),
                        __shfl_down_sync(0xffffffffu, idx, o));
    __syncthreads();
    if (lane == 0) {
        sv[warp] = v;
        si[warp] = idx;
    }
    __syncthreads();
    if (warp == 0) {
        v = lane < warps ? sv[lane] : -INFINITY;
        idx = lane < warps ? si[lane] : INT_MAX;
        for (int o = 16; o > 0; o >>= 1)
            cu_argmax_merge(&v, &idx, __shfl_down_sync(0xffffffffu, v, o),
                            __shfl_down_sync(0xffffffffu, idx, o));
        if (lane == 0) {
            sv[0] = v;
            si[0] = idx;
        }
    }
    __syncthreads();
    v = sv[0];
    idx = si[0];
}

/* ------------------------------------------------------------------ */
/* Kernels: one per table entry, same arithmetic as cpu_backend.c */

__global__ void k_probe(int *out) { *out = 1; }

__global__ void k_fill_rows(float *Y, size_t total, int N, const float *b1,
                            const float *b2)
{
    GRID_STRIDE(i, total) cu_fill_rows_elem(i, Y, N, b1, b2);
}

__global__ void k_fill(float *x, size_t n, float v)
{
    GRID_STRIDE(i, n) x[i] = v;
}

__global__ void k_embed_fwd(const uint32_t *ids, size_t total, const float *table,
                            int E, float *out)
{
    GRID_STRIDE(i, total) cu_embed_fwd_elem(i, ids, table, E, out);
}

/* Rows sharing a token add into the same row of dtable: atomics, so the
 * order of the additions (and the last bits) may vary between runs. */
__global__ void k_embed_bwd(const uint32_t *ids, size_t total, const float *dout,
                            int E, float *dtable)
{
    GRID_STRIDE(i, total) {
        size_t r = i / (size_t)E, j = i % (size_t)E;
        atomicAdd(&dtable[(size_t)ids[r] * E + j], dout[i]);
    }
}

__global__ void k_lstm_fwd(size_t n, int H, float *gates, const float *c_prev, float *c,
                           float *h)
{
    GRID_STRIDE(k, n) cu_lstm_fwd_elem(k, H, gates, c_prev, c, h);
}

__global__ void k_lstm_bwd(size_t n, int H, const float *gates, const float *c_prev,
                           const float *c, const float *dh, float *dc, float *dgates)
{
    GRID_STRIDE(k, n) cu_lstm_bwd_elem(k, H, gates, c_prev, c, dh, dc, dgates);
}

/* The LayerNorm LSTM: one block per row, its threads striding over the
 * row's features between the block reductions of the statistics. */
__device__ static float row_inv_std(float ss, int n, float *shared)
{
    return 1.0f / sqrtf(block_sum(ss, shared) / (float)n + BE_LN_EPS);
}

__global__ void k_lnlstm_fwd(int H, be_lnlstm_params p, float *gx, float *gh,
                             float *gates, const float *c_prev, float *c, float *h,
                             float *cn, float *stats)
{
    __shared__ float sh[32];
    int G = 4 * H;
    size_t b = blockIdx.x;
    float *x = gx + b * G, *y = gh + b * G, *a = gates + b * G, *cb = c + b * H;
    float sx = 0.0f, sy = 0.0f, vx = 0.0f, vy = 0.0f, sc = 0.0f, vc = 0.0f;
    for (int k = threadIdx.x; k < G; k += blockDim.x) {
        sx += x[k];
        sy += y[k];
    }
    float mx = block_sum(sx, sh) / (float)G, my = block_sum(sy, sh) / (float)G;
    for (int k = threadIdx.x; k < G; k += blockDim.x) {
        vx += (x[k] - mx) * (x[k] - mx);
        vy += (y[k] - my) * (y[k] - my);
    }
    float rx = row_inv_std(vx, G, sh), ry = row_inv_std(vy, G, sh);
    for (int k = threadIdx.x; k < G; k += blockDim.x)
        cu_lnlstm_norm_elem(k, x, mx, rx, y, my, ry, p, a);
    __syncthreads();
    for (int j = threadIdx.x; j < H; j += blockDim.x) {
        cu_lnlstm_cell_elem(j, H, a, c_prev + b * H, cb);
        sc += cb[j];
    }
    float mc = block_sum(sc, sh) / (float)H;
    for (int j = threadIdx.x; j < H; j += blockDim.x)
        vc += (cb[j] - mc) * (cb[j] - mc);
    float rc = row_inv_std(vc, H, sh);
    for (int j = threadIdx.x; j < H; j += blockDim.x)
        cu_lnlstm_out_elem(j, cb, mc, rc, p, a + 3 * H, cn + b * H, h + b * H);
    if (threadIdx.x == 0) {
        stats[b * BE_LN_STATS] = rx;
        stats[b * BE_LN_STATS + 1] = ry;
        stats[b * BE_LN_STATS + 2] = rc;
    }
}

__global__ void k_lnlstm_bwd(int H, be_lnlstm_params p, const float *gx, const float *gh,
                             const float *gates, const float *c_prev, const float *cn,
                             const float *stats, const float *dh, float *dc, float *dgx,
                             float *dgh, float *da, float *dy)
{
    __shared__ float sh[32];
    int G = 4 * H;
    size_t b = blockIdx.x;
    const float *xn = gx + b * G, *yn = gh + b * G, *gt = gates + b * G, *cnb = cn + b * H;
    const float *s = stats + b * BE_LN_STATS;
    float *dab = da + b * G, *dyb = dy + b * H;
    float u1 = 0.0f, u2 = 0.0f, x1 = 0.0f, x2 = 0.0f, y1 = 0.0f, y2 = 0.0f, u;
    for (int j = threadIdx.x; j < H; j += blockDim.x) {
        cu_lnlstm_bwd_out_elem(j, cnb, p, gt + 3 * H, dh + b * H, dyb, dab + 3 * H, &u);
        u1 += u;
        u2 += u * cnb[j];
    }
    float m1 = block_sum(u1, sh) / (float)H, m2 = block_sum(u2, sh) / (float)H;
    for (int j = threadIdx.x; j < H; j += blockDim.x)
        cu_lnlstm_bwd_cell_elem(j, H, gt, c_prev + b * H, cnb, dyb, p.c_w, s[2], m1, m2,
                                dc + b * H, dab);
    __syncthreads();
    for (int k = threadIdx.x; k < G; k += blockDim.x) {
        float ux = dab[k] * p.ih_w[k], uy = dab[k] * p.hh_w[k];
        x1 += ux;
        x2 += ux * xn[k];
        y1 += uy;
        y2 += uy * yn[k];
    }
    x1 = block_sum(x1, sh) / (float)G;
    x2 = block_sum(x2, sh) / (float)G;
    y1 = block_sum(y1, sh) / (float)G;
    y2 = block_sum(y2, sh) / (float)G;
    for (int k = threadIdx.x; k < G; k += blockDim.x) {
        cu_lnlstm_bwd_norm_elem(k, dab, p.ih_w, xn, s[0], x1, x2, dgx + b * G);
        cu_lnlstm_bwd_norm_elem(k, dab, p.hh_w, yn, s[1], y1, y2, dgh + b * G);
    }
}

__global__ void k_colsum_mul(const float *dY, const float *X, int M, int N, float *db)
{
    GRID_STRIDE(j, (size_t)N) cu_colsum_mul_elem(j, dY, X, M, N, db);
}

__global__ void k_gru_fwd(size_t n, int H, float *gx, const float *gh, const float *h_prev,
                          float *h)
{
    GRID_STRIDE(k, n) cu_gru_fwd_elem(k, H, gx, gh, h_prev, h);
}

__global__ void k_gru_bwd(size_t n, int H, const float *gx, const float *gh,
                          const float *h_prev, const float *dh, float *dh_prev,
                          float *dgx, float *dgh)
{
    GRID_STRIDE(k, n) cu_gru_bwd_elem(k, H, gx, gh, h_prev, dh, dh_prev, dgx, dgh);
}

__global__ void k_rnn_fwd(size_t n, const float *g, float *h)
{
    GRID_STRIDE(i, n) cu_rnn_fwd_elem(i, g, h);
}

__global__ void k_rnn_bwd(size_t n, const float *h, const float *dh, float *dg)
{
    GRID_STRIDE(i, n) cu_rnn_bwd_elem(i, h, dh, dg);
}

__global__ void k_add(float *a, const float *b, size_t n)
{
    GRID_STRIDE(i, n) a[i] += b[i];
}

__global__ void k_mul(float *x, const float *mask, size_t n)
{
    GRID_STRIDE(i, n) x[i] *= mask[i];
}

__global__ void k_dropout(float *x, float *mask, size_t n, float p, float keep,
                          uint64_t key, uint64_t first)
{
    GRID_STRIDE(i, n) cu_dropout_elem(i, x, mask, p, keep, key, first);
}

__global__ void k_scale(float *x, size_t n, float a)
{
    GRID_STRIDE(i, n) x[i] *= a;
}

__global__ void k_clamp(float *x, size_t n, float lim)
{
    GRID_STRIDE(i, n) cu_clamp_elem(i, x, lim);
}

/* Softmax cross-entropy, one block per row: argmax, sum of exp, loss and
 * hit of the row into row_loss / row_hit, and with grad the gradient over
 * the logits. */
__global__ void k_xent_rows(float *logits, const uint32_t *targets, int V,
                            float scale, int grad, float e, float *row_loss,
                            float *row_smooth, int *row_hit)
{
    __shared__ float sv[32];
    __shared__ int si[32];
    float *z = logits + (size_t)blockIdx.x * V;
    uint32_t y = targets[blockIdx.x];
    if (y >= (uint32_t)V)
        y = 0;              /* cannot happen with tok's ids; stay in bounds */
    float mx, s;
    int arg;
    cu_xent_thread_max(z, V, threadIdx.x, blockDim.x, &mx, &arg);
    block_argmax(mx, arg, sv, si);
    s = block_sum(cu_xent_thread_sum(z, V, threadIdx.x, blockDim.x, mx), sv);
    float zsum = e > 0 ? block_sum(cu_xent_thread_zsum(z, V, threadIdx.x, blockDim.x), sv)
                       : 0.0f;
    if (threadIdx.x == 0) {
        float lse = mx + logf(s), ce = lse - z[y];
        row_loss[blockIdx.x] = ce;
        row_smooth[blockIdx.x] = e > 0 ? (1.0f - e) * ce + e * (lse - zsum / (float)V) : ce;
        row_hit[blockIdx.x] = arg == (int)y;
    }
    if (!grad)
        return;
    __syncthreads();        /* z[y] was read above before it is overwritten */
    cu_xent_thread_grad(z, V, threadIdx.x, blockDim.x, mx, scale / s, y, scale, e);
}

/* Log-softmax in place, one block per row (row stride ld): the row's
 * maximum and sum of exp as xent takes them, then every column less their
 * log-sum-exp, plus the row's shift when there is one. */
__global__ void k_log_softmax(float *x, int V, int ld, const float *shift, int lds)
{
    __shared__ float sv[32];
    __shared__ int si[32];
    float *z = x + (size_t)blockIdx.x * ld;
    float mx;
    int arg;
    cu_xent_thread_max(z, V, threadIdx.x, blockDim.x, &mx, &arg);
    block_argmax(mx, arg, sv, si);
    float s = block_sum(cu_xent_thread_sum(z, V, threadIdx.x, blockDim.x, mx), sv);
    float off = mx + logf(s) - (shift ? shift[(size_t)blockIdx.x * lds] : 0.0f);
    for (int j = threadIdx.x; j < V; j += blockDim.x)
        z[j] -= off;
}

/* One block adds the rows' losses (in double) and hits. */
__global__ void k_xent_total(const float *row_loss, const float *row_smooth,
                             const int *row_hit, int N, cu_result *out)
{
    __shared__ double sd[32];
    __shared__ long long sl[32];
    double s = 0.0, s2 = 0.0;
    long long h = 0;
    for (int i = threadIdx.x; i < N; i += blockDim.x) {
        s += (double)row_loss[i];
        s2 += (double)row_smooth[i];
        h += row_hit[i];
    }
    s = block_sum(s, sd);
    s2 = block_sum(s2, sd);
    h = block_sum(h, sl);
    if (threadIdx.x == 0) {
        out->sum = s;
        out->sum2 = s2;
        out->count = h;
    }
}

__global__ void k_sumsq_partial(const float *x, size_t n, double *partial)
{
    __shared__ double sd[32];
    double s = 0.0;
    GRID_STRIDE(i, n) {
        double v = x[i];
        s += v * v;
    }
    s = block_sum(s, sd);
    if (threadIdx.x == 0)
        partial[blockIdx.x] = s;
}

__global__ void k_sum_partials(const double *partial, int n, cu_result *out)
{
    __shared__ double sd[32];
    double s = 0.0;
    for (int i = threadIdx.x; i < n; i += blockDim.x)
        s += partial[i];
    s = block_sum(s, sd);
    if (threadIdx.x == 0) {
        out->sum = s;
        out->count = 0;
    }
}

__global__ void k_sgd(float *w, const float *g, float *buf, size_t n, float lr,
                      float momentum, float wd, int nesterov, int first)
{
    GRID_STRIDE(i, n) cu_sgd_elem(i, w, g, buf, lr, momentum, wd, nesterov, first);
}

__global__ void k_adam(float *w, const float *g, float *m, float *v, size_t n,
                       be_adam_step s)
{
    GRID_STRIDE(i, n) cu_adam_elem(i, w, g, m, v, s);
}

__global__ void k_rmsprop(float *w, const float *g, float *v, float *buf, size_t n,
                          float lr, float alpha, float eps, float momentum, float wd)
{
    GRID_STRIDE(i, n) cu_rmsprop_elem(i, w, g, v, buf, lr, alpha, eps, momentum, wd);
}

/* ------------------------------------------------------------------ */
/* Memory */

static void *cu_alloc(be_backend *be, size_t bytes)
{
    cu_impl *I = impl_of(be);
    void *p = NULL;
    if (cudaMalloc(&p, bytes ? bytes : 16) != cudaSuccess) {
        cudaGetLastError();     /* out of memory is the caller's to report */
        return NULL;
    }
    if (!cu_ok(I, cudaMemsetAsync(p, 0, bytes, I->stream), "alloc")) {
        cudaFree(p);
        return NULL;
    }
    return p;
}

/* Frees device memory once the work queued before, which may still use
 * it, has finished (cudaFree alone does not promise to wait for a
 * non-blocking stream). */
static void release(cu_impl *I, void *p)
{
    if (!p)
        return;
    cu_ok(I, cudaStreamSynchronize(I->stream), "free");
    cu_ok(I, cudaFree(p), "free");
}

static void cu_free(be_backend *be, void *p)
{
    release(impl_of(be), p);
}

/* Small uploads (a chunk's token ids) are copied into a pinned buffer and
 * sent without waiting, so the host can go on queueing the step; the
 * buffer is reused only after the event behind its last copy. */
static void cu_upload(be_backend *be, void *dst, const void *src, size_t bytes)
{
    cu_impl *I = impl_of(be);
    if (bytes == 0)
        return;
    if (bytes > CU_STAGE_MAX) {
        cu_ok(I, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, I->stream),
              "upload");
        cu_ok(I, cudaStreamSynchronize(I->stream), "upload");
        return;
    }
    cu_stage *s = &I->stage[I->next_stage];
    I->next_stage = (I->next_stage + 1) % CU_STAGES;
    if (s->pending)
        cu_ok(I, cudaEventSynchronize(s->done), "upload");
    s->pending = 0;
    if (s->cap < bytes) {
        cudaFreeHost(s->buf);
        s->buf = NULL;
        s->cap = 0;
        if (!cu_ok(I, cudaHostAlloc(&s->buf, CU_STAGE_MAX, cudaHostAllocDefault),
                   "pinned staging buffer"))
            return;
        s->cap = CU_STAGE_MAX;
    }
    memcpy(s->buf, src, bytes);
    cu_ok(I, cudaMemcpyAsync(dst, s->buf, bytes, cudaMemcpyHostToDevice, I->stream),
          "upload");
    s->pending = cu_ok(I, cudaEventRecord(s->done, I->stream), "upload");
}

static void cu_download(be_backend *be, void *dst, const void *src, size_t bytes)
{
    cu_impl *I = impl_of(be);
    if (bytes == 0)
        return;
    cu_ok(I, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToHost, I->stream),
          "download");
    cu_ok(I, cudaStreamSynchronize(I->stream), "download");
}

/* The model copies between distinct buffers only (cudaMemcpy does not
 * promise memmove's overlap handling). */
static void cu_copy(be_backend *be, void *dst, const void *src, size_t bytes)
{
    cu_impl *I = impl_of(be);
    if (bytes && dst != src)
        cu_ok(I, cudaMemcpyAsync(dst, src, bytes, cudaMemcpyDeviceToDevice, I->stream),
              "copy");
}

static void cu_zero(be_backend *be, void *p, size_t bytes)
{
    cu_impl *I = impl_of(be);
    if (bytes)
        cu_ok(I, cudaMemsetAsync(p, 0, bytes, I->stream), "zero");
}

/* Grows a scratch buffer to hold n elements of size sz; returns 0, or -1
 * when the device is out of memory (reported). */
static int grow(cu_impl *I, void **p, size_t *have, size_t n, size_t sz)
{
    if (*have >= n)
        return 0;
    release(I, *p);
    *p = NULL;
    *have = 0;
    if (!cu_ok(I, cudaMalloc(p, n * sz), "scratch buffer"))
        return -1;
    *have = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Matrix products */

/* cuBLAS is column-major: cu_gemm_map (cuda_elem.h) swaps the
 * operands and the dimensions. */
static void cu_gemm(be_backend *be, int ta, int tb, int M, int N, int K,
                    float alpha, const float *A, int lda, const float *B, int ldb,
                    float beta, float *C, int ldc)
{
    cu_impl *I = impl_of(be);
    if (M <= 0 || N <= 0)
        return;
    cu_gemm_args g = cu_gemm_map(ta, tb, M, N, K, A, lda, B, ldb);
    blas_ok(I, I->api.gemm_ex(I->blas, g.trans_first ? CUBLAS_OP_T : CUBLAS_OP_N,
                            g.trans_second ? CUBLAS_OP_T : CUBLAS_OP_N, g.m, g.n, g.k,
                            &alpha, g.first, CUDA_R_32F, g.ld_first, g.second, CUDA_R_32F,
                            g.ld_second, &beta, C, CUDA_R_32F, ldc, I->compute,
                            CUBLAS_GEMM_DEFAULT),
            "gemm");
}

static void cu_fill_rows(be_backend *be, float *Y, int M, int N, const float *b1,
                         const float *b2)
{
    cu_impl *I = impl_of(be);
    size_t total = (size_t)M * N;
    if (!total)
        return;
    k_fill_rows<<<grid_for(I, total, 256), 256, 0, I->stream>>>(Y, total, N, b1, b2);
    launched(I, "fill_rows");
}

/* db += dY^T 1: a matrix-vector product with a vector of ones, which is
 * deterministic (atomics would not be) and runs at memory speed. */
static void cu_colsum_add(be_backend *be, const float *dY, int M, int N, float *db)
{
    cu_impl *I = impl_of(be);
    const float one = 1.0f;
    if (M <= 0 || N <= 0)
        return;
    if ((size_t)M > I->n_ones) {
        if (grow(I, (void **)&I->ones, &I->n_ones, (size_t)M, sizeof(float)) < 0)
            return;
        k_fill<<<grid_for(I, I->n_ones, 256), 256, 0, I->stream>>>(I->ones, I->n_ones,
                                                                    1.0f);
        launched(I, "colsum_add");
    }
    blas_ok(I, I->api.sgemv(I->blas, CUBLAS_OP_N, N, M, &one, dY, N, I->ones, 1, &one,
                           db, 1),
            "colsum_add");
}

/* ------------------------------------------------------------------ */
/* Elementwise operations */

static void cu_embed_fwd(be_backend *be, const uint32_t *ids, int n,
                         const float *table, int E, float *out)
{
    cu_impl *I = impl_of(be);
    size_t total = (size_t)n * E;
    if (!total)
        return;
    k_embed_fwd<<<grid_for(I, total, 256), 256, 0, I->stream>>>(ids, total, table, E,
                                                                 out);
    launched(I, "embed_fwd");
}

static void cu_embed_bwd(be_backend *be, const uint32_t *ids, int n,
                         const float *dout, int E, float *dtable)
{
    cu_impl *I = impl_of(be);
    size_t total = (size_t)n * E;
    if (!total)
        return;
    k_embed_bwd<<<grid_for(I, total, 256), 256, 0, I->stream>>>(ids, total, dout, E,
                                                                 dtable);
    launched(I, "embed_bwd");
}

static void cu_lstm_fwd(be_backend *be, int B, int H, float *gates,
                        const float *c_prev, float *c, float *h)
{
    cu_impl *I = impl_of(be);
    size_t n = (size_t)B * H;
    k_lstm_fwd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(n, H, gates, c_prev, c, h);
    launched(I, "lstm_fwd");
}

static void cu_lstm_bwd(be_backend *be, int B, int H, const float *gates,
                        const float *c_prev, const float *c, const float *dh,
                        float *dc, float *dgates)
{
    cu_impl *I = impl_of(be);
    size_t n = (size_t)B * H;
    k_lstm_bwd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(n, H, gates, c_prev, c, dh,
                                                            dc, dgates);
    launched(I, "lstm_bwd");
}

static void cu_lnlstm_fwd(be_backend *be, int B, int H, const be_lnlstm_params *p,
                          float *gx, float *gh, float *gates, const float *c_prev,
                          float *c, float *h, float *cn, float *stats)
{
    cu_impl *I = impl_of(be);
    if (B <= 0)
        return;
    k_lnlstm_fwd<<<(unsigned)B, 256, 0, I->stream>>>(H, *p, gx, gh, gates, c_prev, c, h,
                                                     cn, stats);
    launched(I, "lnlstm_fwd");
}

static void cu_lnlstm_bwd(be_backend *be, int B, int H, const be_lnlstm_params *p,
                          const float *gx, const float *gh, const float *gates,
                          const float *c_prev, const float *cn, const float *stats,
                          const float *dh, float *dc, float *dgx, float *dgh, float *da,
                          float *dy)
{
    cu_impl *I = impl_of(be);
    if (B <= 0)
        return;
    k_lnlstm_bwd<<<(unsigned)B, 256, 0, I->stream>>>(H, *p, gx, gh, gates, c_prev, cn,
                                                     stats, dh, dc, dgx, dgh, da, dy);
    launched(I, "lnlstm_bwd");
}

static void cu_colsum_mul_add(be_backend *be, const float *dY, const float *X, int M,
                              int N, float *db)
{
    cu_impl *I = impl_of(be);
    if (M <= 0 || N <= 0)
        return;
    k_colsum_mul<<<grid_for(I, (size_t)N, 256), 256, 0, I->stream>>>(dY, X, M, N, db);
    launched(I, "colsum_mul_add");
}

static void cu_gru_fwd(be_backend *be, int B, int H, float *gx, const float *gh,
                       const float *h_prev, float *h)
{
    cu_impl *I = impl_of(be);
    size_t n = (size_t)B * H;
    k_gru_fwd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(n, H, gx, gh, h_prev, h);
    launched(I, "gru_fwd");
}

static void cu_gru_bwd(be_backend *be, int B, int H, const float *gx, const float *gh,
                       const float *h_prev, const float *dh, float *dh_prev,
                       float *dgx, float *dgh)
{
    cu_impl *I = impl_of(be);
    size_t n = (size_t)B * H;
    k_gru_bwd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(n, H, gx, gh, h_prev, dh,
                                                          dh_prev, dgx, dgh);
    launched(I, "gru_bwd");
}

static void cu_rnn_fwd(be_backend *be, int B, int H, const float *g, float *h)
{
    cu_impl *I = impl_of(be);
    size_t n = (size_t)B * H;
    k_rnn_fwd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(n, g, h);
    launched(I, "rnn_fwd");
}

static void cu_rnn_bwd(be_backend *be, int B, int H, const float *h, const float *dh,
                       float *dg)
{
    cu_impl *I = impl_of(be);
    size_t n = (size_t)B * H;
    k_rnn_bwd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(n, h, dh, dg);
    launched(I, "rnn_bwd");
}

static void cu_add(be_backend *be, float *a, const float *b, size_t n)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_add<<<grid_for(I, n, 256), 256, 0, I->stream>>>(a, b, n);
    launched(I, "add");
}

static void cu_dropout_fwd(be_backend *be, float *x, float *mask, size_t n, float p,
                           uint64_t key, uint64_t first)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    /* the scale is computed here, as on the CPU, so the masks are equal */
    float keep = 1.0f / (1.0f - p);
    k_dropout<<<grid_for(I, n, 256), 256, 0, I->stream>>>(x, mask, n, p, keep, key, first);
    launched(I, "dropout");
}

static void cu_mul(be_backend *be, float *x, const float *mask, size_t n)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_mul<<<grid_for(I, n, 256), 256, 0, I->stream>>>(x, mask, n);
    launched(I, "mul");
}

static void cu_scale(be_backend *be, float *x, size_t n, float a)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_scale<<<grid_for(I, n, 256), 256, 0, I->stream>>>(x, n, a);
    launched(I, "scale");
}

static void cu_clamp(be_backend *be, float *x, size_t n, float lim)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_clamp<<<grid_for(I, n, 256), 256, 0, I->stream>>>(x, n, lim);
    launched(I, "clamp");
}

/* ------------------------------------------------------------------ */
/* Reductions: the two places the host waits for the device */

/* Copies the device answer of the reduction what to the host and waits;
 * returns 0, or -1 after any failure so far (a fault of any kernel queued
 * before shows up here and is put down to what). */
static int fetch_result(cu_impl *I, cu_result *out, const char *what)
{
    if (!cu_ok(I, cudaMemcpyAsync(I->res_host, I->res_dev, sizeof *I->res_dev,
                                  cudaMemcpyDeviceToHost, I->stream), what) ||
        !cu_ok(I, cudaStreamSynchronize(I->stream), what) || cu_failed(I))
        return -1;
    *out = *I->res_host;
    return 0;
}

static double cu_xent(be_backend *be, float *logits, const uint32_t *targets, int N,
                      int V, float scale, int grad, float smoothing, double *smoothed,
                      long *correct)
{
    cu_impl *I = impl_of(be);
    cu_result r;
    if (correct)
        *correct = 0;
    if (smoothed)
        *smoothed = N <= 0 || V <= 0 ? 0.0 : NAN;
    if (N <= 0 || V <= 0)
        return cu_failed(I) ? NAN : 0.0;
    if (grow(I, (void **)&I->row_loss, &I->n_loss, (size_t)N, sizeof(float)) < 0 ||
        grow(I, (void **)&I->row_smooth, &I->n_smooth, (size_t)N, sizeof(float)) < 0 ||
        grow(I, (void **)&I->row_hit, &I->n_hit, (size_t)N, sizeof(int)) < 0)
        return NAN;
    unsigned threads = 32;
    while (threads < (unsigned)V && threads < 512)
        threads *= 2;
    k_xent_rows<<<N, threads, 0, I->stream>>>(logits, targets, V, scale, grad,
                                              smoothing, I->row_loss, I->row_smooth,
                                              I->row_hit);
    launched(I, "xent");
    k_xent_total<<<1, 1024, 0, I->stream>>>(I->row_loss, I->row_smooth, I->row_hit, N,
                                            I->res_dev);
    launched(I, "xent");
    if (fetch_result(I, &r, "xent") < 0)
        return NAN;
    if (correct)
        *correct = (long)r.count;
    if (smoothed)
        *smoothed = r.sum2;
    return r.sum;
}

static void cu_log_softmax(be_backend *be, float *x, int N, int V, int ld,
                           const float *shift, int lds)
{
    cu_impl *I = impl_of(be);
    if (N <= 0 || V <= 0)
        return;
    unsigned threads = 32;
    while (threads < (unsigned)V && threads < 512)
        threads *= 2;
    k_log_softmax<<<N, threads, 0, I->stream>>>(x, V, ld, shift, lds);
    launched(I, "log_softmax");
}

static void cu_copy_rows(be_backend *be, float *dst, int ldd, const float *src, int lds,
                         int M, int n)
{
    cu_impl *I = impl_of(be);
    if (M > 0 && n > 0)
        cu_ok(I, cudaMemcpy2DAsync(dst, (size_t)ldd * sizeof(float), src,
                                   (size_t)lds * sizeof(float), (size_t)n * sizeof(float),
                                   (size_t)M, cudaMemcpyDeviceToDevice, I->stream),
              "copy_rows");
}

static double cu_sumsq(be_backend *be, const float *x, size_t n)
{
    cu_impl *I = impl_of(be);
    cu_result r;
    if (!n)
        return cu_failed(I) ? NAN : 0.0;
    unsigned blocks = grid_for(I, n, 256);
    if (blocks > CU_NORM_BLOCKS)
        blocks = CU_NORM_BLOCKS;
    k_sumsq_partial<<<blocks, 256, 0, I->stream>>>(x, n, I->partial);
    launched(I, "sumsq");
    k_sum_partials<<<1, 1024, 0, I->stream>>>(I->partial, (int)blocks, I->res_dev);
    launched(I, "sumsq");
    return fetch_result(I, &r, "sumsq") < 0 ? NAN : r.sum;
}

/* ------------------------------------------------------------------ */
/* Optimizers: the scalars come worked out (optim.c), the elementwise
 * update runs on the device. */

static void cu_sgd(be_backend *be, float *w, const float *g, float *buf, size_t n,
                   float lr, float momentum, float wd, int nesterov, int first)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_sgd<<<grid_for(I, n, 256), 256, 0, I->stream>>>(w, g, buf, n, lr, momentum, wd,
                                                      nesterov, first);
    launched(I, "sgd");
}

static void cu_adam(be_backend *be, float *w, const float *g, float *m, float *v,
                    size_t n, const be_adam_step *s)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_adam<<<grid_for(I, n, 256), 256, 0, I->stream>>>(w, g, m, v, n, *s);
    launched(I, "adam");
}

static void cu_rmsprop(be_backend *be, float *w, const float *g, float *v, float *buf,
                       size_t n, float lr, float alpha, float eps, float momentum,
                       float wd)
{
    cu_impl *I = impl_of(be);
    if (!n)
        return;
    k_rmsprop<<<grid_for(I, n, 256), 256, 0, I->stream>>>(w, g, v, buf, n, lr, alpha,
                                                          eps, momentum, wd);
    launched(I, "rmsprop");
}

/* ------------------------------------------------------------------ */
/* Life cycle */

static void cu_set_threads(be_backend *be, int n)
{
    (void)be;
    (void)n;            /* host threads do not matter here */
}

static void cu_release(cu_impl *I)
{
    cu_coll_free(I->coll);      /* first: its sums may wait for a failed peer */
    if (I->stream)
        cudaStreamSynchronize(I->stream);
    for (int i = 0; i < CU_STAGES; i++) {
        cudaFreeHost(I->stage[i].buf);
        if (I->stage[i].done)
            cudaEventDestroy(I->stage[i].done);
    }
    cudaFree(I->ones);
    cudaFree(I->row_loss);
    cudaFree(I->row_smooth);
    cudaFree(I->row_hit);
    cudaFree(I->partial);
    cudaFree(I->res_dev);
    cudaFreeHost(I->res_host);
    if (I->blas)
        I->api.destroy(I->blas);
    if (I->api.lib)
        dlclose(I->api.lib);
    if (I->stream)
        cudaStreamDestroy(I->stream);
    free(I);
}

static const char *cu_last_error(be_backend *be)
{
    cu_impl *I = impl_of(be);
    return cu_failed(I) ? I->error : NULL;
}

/* Bytes free on the device now; -1 when it does not say. */
static double cu_free_memory(be_backend *be)
{
    size_t fr = 0, total = 0;
    (void)be;
    if (cudaMemGetInfo(&fr, &total) != cudaSuccess) {
        cudaGetLastError();
        return -1;
    }
    return (double)fr;
}

/* ------------------------------------------------------------------ */
/* Sums across processes (cuda_coll.h) */

/* Keeps a failure line (already "nccl: ...") as the backend's first. */
static void cu_fail_line(cu_impl *I, const char *line)
{
    if (!I->error[0])
        snprintf(I->error, sizeof I->error, "%s", line);
}

/* The backend's cu_coll, opened on first use; NULL with err. */
static cu_coll *cu_nccl_of(cu_impl *I, char *err, size_t errlen)
{
    if (I->coll)
        return I->coll;
    if (!cu_ok(I, cudaSetDevice(I->device), "device")) {
        snprintf(err, errlen, "%s", I->error);
        return NULL;
    }
    return I->coll = cu_coll_open(err, errlen);
}

static int cu_nccl_id(be_backend *be, void *id, char *err, size_t errlen)
{
    cu_coll *c = cu_nccl_of(impl_of(be), err, errlen);
    if (!c || !id)
        return c ? 0 : -1;
    return cu_coll_id(c, id, BE_COLL_ID_BYTES, err, errlen);
}

static int cu_nccl_join(be_backend *be, const void *id, int rank, int size, char *err,
                        size_t errlen)
{
    cu_impl *I = impl_of(be);
    cu_coll *c = cu_nccl_of(I, err, errlen);
    if (!c)
        return -1;
    if (!cu_ok(I, cudaSetDevice(I->device), "device")) {
        snprintf(err, errlen, "%s", I->error);
        return -1;
    }
    return cu_coll_join(c, id, rank, size, err, errlen);
}

static int cu_nccl_sum(be_backend *be, float *x, size_t n)
{
    cu_impl *I = impl_of(be);
    char why[256];
    if (cu_failed(I))
        return -1;
    if (!I->coll || cu_coll_sum(I->coll, I->stream, x, n, why, sizeof why) != 0) {
        cu_fail_line(I, I->coll ? why : "nccl: all-reduce: no communicator joined");
        return -1;
    }
    return 0;
}

static int cu_nccl_wait(be_backend *be)
{
    cu_impl *I = impl_of(be);
    char why[256];
    if (cu_failed(I))
        return -1;
    if (!I->coll || cu_coll_wait(I->coll, I->stream, why, sizeof why) != 0) {
        cu_fail_line(I, I->coll ? why : "nccl: wait: no communicator joined");
        return -1;
    }
    return 0;
}

static void cu_destroy(be_backend *be)
{
    cu_release(impl_of(be));
    free(be);
}

/* The CUDA backend's operations; each backend object starts as a copy.
 * No packed matrices: generation multiplies by the fp32 weights.  (C++
 * warns of members left out, so impl and those are named.) */
static const be_backend cu_table = {
    .name = "cuda",
    .impl = NULL,
    .alloc = cu_alloc,
    .free = cu_free,
    .upload = cu_upload,
    .download = cu_download,
    .copy = cu_copy,
    .zero = cu_zero,
    .gemm = cu_gemm,
    .prepared_bytes = NULL,
    .prepare = NULL,
    .gemm_prepared = NULL,
    .fill_rows = cu_fill_rows,
    .gemm_bias = NULL,          /* be_gemm_bias fills, then cuBLAS adds */
    .colsum_add = cu_colsum_add,
    .embed_fwd = cu_embed_fwd,
    .embed_bwd = cu_embed_bwd,
    .lstm_fwd = cu_lstm_fwd,
    .lstm_bwd = cu_lstm_bwd,
    .gru_fwd = cu_gru_fwd,
    .gru_bwd = cu_gru_bwd,
    .rnn_fwd = cu_rnn_fwd,
    .rnn_bwd = cu_rnn_bwd,
    .lnlstm_fwd = cu_lnlstm_fwd,
    .lnlstm_bwd = cu_lnlstm_bwd,
    .colsum_mul_add = cu_colsum_mul_add,
    .add = cu_add,
    .dropout_fwd = cu_dropout_fwd,
    .mul = cu_mul,
    .xent = cu_xent,
    .log_softmax = cu_log_softmax,
    .copy_rows = cu_copy_rows,
    .sumsq = cu_sumsq,
    .scale = cu_scale,
    .clamp = cu_clamp,
    .sgd = cu_sgd,
    .adam = cu_adam,
    .rmsprop = cu_rmsprop,
    .set_threads = cu_set_threads,
    .destroy = cu_destroy,
    .last_error = cu_last_error,
    .pack = NULL,
    .packed_gemm = NULL,
    .pack_free = NULL,
    .free_memory = cu_free_memory,
    .coll_id = cu_nccl_id,
    .coll_join = cu_nccl_join,
    .coll_sum = cu_nccl_sum,
    .coll_wait = cu_nccl_wait,
};

/* Checks that this build carries code the device can run (a kernel image
 * for its architecture, or PTX it can compile); returns 0, or -1 with the
 * reason in err. */
static int check_image(cu_impl *I, const cudaDeviceProp *prop, char *err, size_t errlen)
{
    int *flag = NULL, got = 0;
    cudaFuncAttributes fa;
    cudaError_t e = cudaFuncGetAttributes(&fa, k_probe);
    if (e == cudaSuccess)
        e = cudaMalloc(&flag, sizeof *flag);
    if (e == cudaSuccess) {
        k_probe<<<1, 1, 0, I->stream>>>(flag);
        e = cudaGetLastError();
    }
    if (e == cudaSuccess)
        e = cudaMemcpyAsync(&got, flag, sizeof got, cudaMemcpyDeviceToHost, I->stream);
    if (e == cudaSuccess)
        e = cudaStreamSynchronize(I->stream);
    cudaFree(flag);
    if (e == cudaSuccess && got == 1)
        return 0;
    cudaGetLastError();
    snprintf(err, errlen, "CUDA device %d (%s, sm_%d%d) cannot run this build's "
             "kernels: %s (configure --with-cuda-arch=sm_%d%d)", I->device, prop->name,
             prop->major, prop->minor, cudaGetErrorString(e), prop->major, prop->minor);
    return -1;
}

/* Sets up the stream, cuBLAS and the fixed scratch buffers; returns 0, or
 * -1 with the reason in err. */
static int cu_setup(cu_impl *I, char *err, size_t errlen)
{
    cudaDeviceProp prop;
    cudaError_t e = cudaSetDevice(I->device);
    if (e == cudaSuccess)
        e = cudaGetDeviceProperties(&prop, I->device);
    if (e == cudaSuccess)
        e = cudaStreamCreateWithFlags(&I->stream, cudaStreamNonBlocking);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "CUDA device %d: %s", I->device, cudaGetErrorString(e));
        return -1;
    }
    snprintf(I->name, sizeof I->name, "%s", prop.name);
    I->max_blocks = (unsigned)(prop.multiProcessorCount > 0 ? prop.multiProcessorCount : 1) * 32u;
    if (check_image(I, &prop, err, errlen) < 0)
        return -1;
    if (cu_blas_open(&I->api, err, errlen) < 0)
        return -1;
    cublasStatus_t s = I->api.create(&I->blas);
    if (s == CUBLAS_STATUS_SUCCESS)
        s = I->api.set_stream(I->blas, I->stream);
    /* the GEMMs' compute type (I->compute) picks the precision; the math
     * mode only says the same for anything else cuBLAS runs */
    if (s == CUBLAS_STATUS_SUCCESS)
        s = I->api.set_math_mode(I->blas, I->prec == BE_TF32 ? CUBLAS_TF32_TENSOR_OP_MATH
                                                          : CUBLAS_DEFAULT_MATH);
    if (s != CUBLAS_STATUS_SUCCESS) {
        snprintf(err, errlen, "cuBLAS on CUDA device %d: %s", I->device,
                 I->api.status_string(s));
        return -1;
    }
    for (int i = 0; i < CU_STAGES && e == cudaSuccess; i++)
        e = cudaEventCreateWithFlags(&I->stage[i].done, cudaEventDisableTiming);
    if (e == cudaSuccess)
        e = cudaMalloc(&I->partial, CU_NORM_BLOCKS * sizeof(double));
    if (e == cudaSuccess)
        e = cudaMalloc(&I->res_dev, sizeof *I->res_dev);
    if (e == cudaSuccess)
        e = cudaHostAlloc(&I->res_host, sizeof *I->res_host, cudaHostAllocDefault);
    if (e != cudaSuccess) {
        snprintf(err, errlen, "CUDA device %d: %s", I->device, cudaGetErrorString(e));
        return -1;
    }
    return 0;
}

extern "C" int be_cuda_built(void) { return 1; }

extern "C" int be_cuda_nccl_built(void) { return cu_coll_built(); }

extern "C" int be_cuda_available(char *msg, size_t len)
{
    int n = 0;
    cudaError_t e = cudaGetDeviceCount(&n);
    if (e != cudaSuccess || n <= 0) {
        cudaGetLastError();
        /* without a GPU the runtime finds no driver at all and says the
         * driver is "insufficient"; say what that means here */
        const char *why = e == cudaErrorInsufficientDriver || e == cudaErrorNoDevice ||
                                  e == cudaSuccess
                              ? "no NVIDIA GPU or driver found"
                              : cudaGetErrorString(e);
        if (len)
            snprintf(msg, len, "%s", why);
        return 0;
    }
    cudaDeviceProp prop;
    if (cudaGetDeviceProperties(&prop, 0) != cudaSuccess) {
        cudaGetLastError();
        if (len)
            snprintf(msg, len, "CUDA device 0 does not answer");
        return 0;
    }
    if (len)
        snprintf(msg, len, "%s", prop.name);
    return n;
}

extern "C" be_backend *be_cuda_create(int device, be_precision p, char *err,
                                      size_t errlen)
{
    char why[256];
    int n = be_cuda_available(why, sizeof why);
    if (n <= 0) {
        snprintf(err, errlen, "no CUDA device: %s", why);
        return NULL;
    }
    if (device < 0 || device >= n) {
        snprintf(err, errlen, "CUDA device %d does not exist (%d found)", device, n);
        return NULL;
    }
    be_backend *be = (be_backend *)malloc(sizeof *be);
    cu_impl *I = (cu_impl *)calloc(1, sizeof *I);
    if (!be || !I) {
        free(be);
        free(I);
        snprintf(err, errlen, "out of memory creating the CUDA backend");
        return NULL;
    }
    I->device = device;
    I->prec = p;
    I->compute = p == BE_TF32 ? CUBLAS_COMPUTE_32F_FAST_TF32
               : p == BE_BF16 ? CUBLAS_COMPUTE_32F_FAST_16BF : CUBLAS_COMPUTE_32F;
    if (cu_setup(I, err, errlen) < 0) {
        cu_release(I);
        free(be);
        return NULL;
    }
    *be = cu_table;
    be->impl = I;
    if (!cu_coll_built())       /* no NCCL: processes sum through the host */
        be->coll_id = NULL, be->coll_join = NULL, be->coll_sum = NULL,
        be->coll_wait = NULL;
    return be;
}

extern "C" int be_cuda_describe(be_backend *be, char *buf, size_t len)
{
    size_t fr = 0, total = 0;
    if (len)
        buf[0] = '\0';
    if (!be || !be->name || strcmp(be->name, "cuda") != 0)
        return -1;
    cu_impl *I = impl_of(be);
    if (cudaMemGetInfo(&fr, &total) != cudaSuccess) {
        cudaGetLastError();
        snprintf(buf, len, "%s", I->name);
        return 0;
    }
    double gib = 1024.0 * 1024.0 * 1024.0;
    snprintf(buf, len, "%s, %.1f/%.1f GiB", I->name, (double)(total - fr) / gib,
             (double)total / gib);
    return 0;
}
