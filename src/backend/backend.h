/* backend.h - the table of device operations the models, optimizers and
 * trainer are written against.  Every float pointer passed to an operation
 * is a device buffer obtained from the same backend's alloc(); matrices are
 * row-major.  The CPU backend (cpu_backend.c) is the reference; a GPU
 * backend implements the same table and nothing above it changes.  Each
 * backend defines its operations once, as a const table with designated
 * initializers, and every object it creates starts as a copy of it (with
 * its own impl).  A backend object is used by one thread at a time (the
 * CPU backend runs its own worker threads inside each operation).
 * Backends never print. */
#ifndef BACKEND_H
#define BACKEND_H
#include <stddef.h>
#include <stdint.h>
#include <string.h>

typedef struct be_backend be_backend;

/* How generation stores the weights it multiplies by: exact 32-bit
 * floats, IEEE halves, or 8-bit integers with a scale per row. */
typedef enum { BE_WEIGHTS_FP32 = 0, BE_WEIGHTS_FP16 = 1, BE_WEIGHTS_INT8 = 2 } be_weights;

/* "fp32", "fp16", "int8"; NULL for anything else. */
static inline const char *be_weights_name(int w)
{
    return w == BE_WEIGHTS_FP32 ? "fp32" : w == BE_WEIGHTS_FP16 ? "fp16"
         : w == BE_WEIGHTS_INT8 ? "int8" : NULL;
}

/* The kind a name gives, or -1. */
static inline int be_weights_parse(const char *s)
{
    for (int w = BE_WEIGHTS_FP32; w <= BE_WEIGHTS_INT8; w++)
        if (!strcmp(s, be_weights_name(w)))
            return w;
    return -1;
}

/* How a backend does its matrix products (the CPU does fp32 only).
 * Storage, master weights, optimizer state and every other operation stay
 * float32 in all three. */
typedef enum {
    BE_FP32 = 0,    /* plain float32 */
    BE_TF32 = 1,    /* inputs rounded to TF32 on tensor cores, fp32 sums */
    BE_BF16 = 2     /* inputs rounded to bfloat16 on tensor cores, fp32 sums */
} be_precision;

/* "fp32", "tf32", "bf16". */
static inline const char *be_precision_name(be_precision p)
{
    return p == BE_TF32 ? "tf32" : p == BE_BF16 ? "bf16" : "fp32";
}

/* Returns the precision named s, or -1 when s names none. */
static inline int be_precision_parse(const char *s)
{
    for (int p = BE_FP32; p <= BE_BF16; p++)
        if (strcmp(s, be_precision_name((be_precision)p)) == 0)
            return p;
    return -1;
}

/* One Adam, AdamW or NAdam update: the settings and the step's scalars,
 * worked out once by optim.c (in double, then rounded to float) so every
 * backend applies the same numbers.  The gradient is g * gscale, rounded
 * as a float product where g is read (the clip's factor: the bits of
 * scaling g first, without that pass over it); 1 for g as it is. */
typedef struct be_adam_step {
    float lr, b1, b2, eps, wd;
    int decoupled;          /* AdamW: w shrinks by lr * wd; else g += wd * w */
    int nadam;              /* the update uses c1 and c2, not step */
    float c1, c2;           /* NAdam's weights of the gradient and the moment */
    float sbc2;             /* sqrt(1 - b2^t) */
    float step;             /* lr / (1 - b1^t) */
    float gscale;           /* the gradients' factor */
} be_adam_step;

/* The normalisations of one LayerNorm LSTM layer (model.h gives the
 * equations): the affine weight and bias of LN_ih and LN_hh [4H] and of
 * LN_c [H], device pointers. */
typedef struct be_lnlstm_params {
    const float *ih_w, *ih_b, *hh_w, *hh_b, *c_w, *c_b;
} be_lnlstm_params;

/* LayerNorm's epsilon (PyTorch nn.LayerNorm's default) and the floats of
 * statistics a LayerNorm LSTM step keeps per row for its backward:
 * 1/sqrt(var + eps) of the ih sum, the hh sum and the cell. */
#define BE_LN_EPS 1e-5f
#define BE_LN_STATS 3

struct be_backend {
    const char *name;               /* "cpu", "cuda" */
    void *impl;                     /* backend private state */

    /* Memory.  alloc returns zeroed memory, or NULL when out of memory. */
    void *(*alloc)(be_backend *be, size_t bytes);
    void (*free)(be_backend *be, void *p);
    void (*upload)(be_backend *be, void *dst, const void *src, size_t bytes);
    void (*download)(be_backend *be, void *dst, const void *src, size_t bytes);
    void (*copy)(be_backend *be, void *dst, const void *src, size_t bytes);
    void (*zero)(be_backend *be, void *p, size_t bytes);

    /* C[M,N] = alpha * op(A) * op(B) + beta * C; op transposes when ta/tb. */
    void (*gemm)(be_backend *be, int ta, int tb, int M, int N, int K,
                 float alpha, const float *A, int lda, const float *B, int ldb,
                 float beta, float *C, int ldc);
    /* Optional (NULL where a backend lacks them; callers then use gemm):
     * op(B) [K,N] prepared once for many products by it, as a recurrent
     * layer's weights are multiplied by every time step's rows.
     * prepared_bytes gives the bytes of device memory (from alloc) a
     * prepared op(B) takes, or 0 when preparing would not speed up
     * products of M rows.  prepare fills P (aligned as alloc aligns) from
     * B (B[K,N], or B[N,K] transposed with tb); P then serves while B is
     * unchanged.
     * gemm_prepared is gemm with ta = 0 and op(B) from P; for the M that
     * prepared_bytes accepts it gives gemm's results bit for bit. */
    size_t (*prepared_bytes)(be_backend *be, int M, int N, int K);
    void (*prepare)(be_backend *be, int tb, int N, int K, const float *B, int ldb,
                    void *P);
    void (*gemm_prepared)(be_backend *be, int M, int N, int K, float alpha,
                          const float *A, int lda, const void *P, float beta,
                          float *C, int ldc);
    /* Y[i,:] = b1 + b2 for each of M rows (b2 may be NULL). */
    void (*fill_rows)(be_backend *be, float *Y, int M, int N,
                      const float *b1, const float *b2);
    /* Optional (NULL where a backend lacks it; callers use be_gemm_bias):
     * C[M,N] = op(A) op(B) + (b1 + b2) on every row, C's rows N apart (b2
     * may be NULL): the bits of fill_rows and then gemm with alpha 1,
     * beta 1, where the bias can go in with the product's first sums
     * instead of a pass of its own over C. */
    void (*gemm_bias)(be_backend *be, int ta, int tb, int M, int N, int K,
                      const float *A, int lda, const float *B, int ldb,
                      const float *b1, const float *b2, float *C);
    /* db[j] += sum_i dY[i,j]. */
    void (*colsum_add)(be_backend *be, const float *dY, int M, int N, float *db);
    /* out[i,:] = table[ids[i],:]  and its adjoint (accumulates). */
    void (*embed_fwd)(be_backend *be, const uint32_t *ids, int n,
                      const float *table, int E, float *out);
    void (*embed_bwd)(be_backend *be, const uint32_t *ids, int n,
                      const float *dout, int E, float *dtable);

    /* Cell steps for a batch of B rows, hidden size H; the buffers of one
     * call never overlap (backends may rely on it).  gates holds the
     * pre-activations on entry and the activations on exit (what backward
     * needs).  LSTM gates are [B,4H] in order i,f,g,o. */
    void (*lstm_fwd)(be_backend *be, int B, int H, float *gates,
                     const float *c_prev, float *c, float *h);
    /* dh: gradient w.r.t. h (in); dc: gradient w.r.t. c from step t+1 on
     * entry, w.r.t. c_prev on exit; dgates: gradient w.r.t. pre-activations. */
    void (*lstm_bwd)(be_backend *be, int B, int H, const float *gates,
                     const float *c_prev, const float *c, const float *dh,
                     float *dc, float *dgates);
    /* GRU, gates r,z,n.  gx = W_ih x + b_ih, gh = W_hh h + b_hh, both [B,3H].
     * On exit gx holds r,z,n activations; gh is left as is (backward needs
     * its n part). */
    void (*gru_fwd)(be_backend *be, int B, int H, float *gx, const float *gh,
                    const float *h_prev, float *h);
    /* dh_prev receives the direct (non-GEMM) part of dL/dh_prev (written,
     * not accumulated); dgx and dgh are the gradients of gx and gh. */
    void (*gru_bwd)(be_backend *be, int B, int H, const float *gx, const float *gh,
                    const float *h_prev, const float *dh, float *dh_prev,
                    float *dgx, float *dgh);
    /* Vanilla tanh RNN: g holds the pre-activation [B,H]; h = tanh(g). */
    void (*rnn_fwd)(be_backend *be, int B, int H, const float *g, float *h);
    /* dg = dh * (1 - h^2). */
    void (*rnn_bwd)(be_backend *be, int B, int H, const float *h,
                    const float *dh, float *dg);
    /* LayerNorm LSTM step, the whole row in one pass: on entry gx = W_ih x
     * + b_ih and gh = W_hh h_prev + b_hh [B,4H]; on exit they hold their
     * normalised values (before the affine), gates the activations
     * i,f,g,o [B,4H], c and h the new state and cn LN_c's normalised c
     * [B,H], stats BE_LN_STATS floats per row. */
    void (*lnlstm_fwd)(be_backend *be, int B, int H, const be_lnlstm_params *p,
                       float *gx, float *gh, float *gates, const float *c_prev,
                       float *c, float *h, float *cn, float *stats);
    /* Its adjoint, from forward's outputs: dh and dc as lstm_bwd's; dgx,
     * dgh the gradients of gx and gh as they were on entry to forward
     * (written); da that of the pre-activations [B,4H] and dy that of
     * LN_c's output [B,H] (written), whose column sums (times gx, gh and
     * cn) are the normalisations' parameter gradients. */
    void (*lnlstm_bwd)(be_backend *be, int B, int H, const be_lnlstm_params *p,
                       const float *gx, const float *gh, const float *gates,
                       const float *c_prev, const float *cn, const float *stats,
                       const float *dh, float *dc, float *dgx, float *dgh,
                       float *da, float *dy);
    /* db[j] += sum_i dY[i,j] * X[i,j] (the gradient of an elementwise
     * scale). */
    void (*colsum_mul_add)(be_backend *be, const float *dY, const float *X, int M,
                           int N, float *db);
    /* a[i] += b[i]. */
    void (*add)(be_backend *be, float *a, const float *b, size_t n);

    /* Inverted dropout: mask[i] = keep ? 1/(1-p) : 0 from
     * rng_hash_uniform(key, first + i); x *= mask.  Backward: dx *= mask.
     * first places x within a larger array the masks are keyed by (a
     * share of a batch's streams); 0: x is the whole. */
    void (*dropout_fwd)(be_backend *be, float *x, float *mask, size_t n,
                        float p, uint64_t key, uint64_t first);
    void (*mul)(be_backend *be, float *x, const float *mask, size_t n);

    /* Softmax cross-entropy over N rows of V logits.  Overwrites logits with
     * dL/dlogits scaled by `scale` (pass 1/N for a mean); returns the summed
     * loss in nats and the count of rows whose argmax is the target.  When
     * grad is 0 the logits are left untouched.  With smoothing e > 0 the
     * target is 1-e on the label plus e/V on every token (PyTorch's
     * CrossEntropyLoss label_smoothing): the gradient follows it and
     * *smoothed (when not NULL) gets that loss summed; the return value
     * stays the plain cross-entropy.  With e = 0, *smoothed = the return. */
    double (*xent)(be_backend *be, float *logits, const uint32_t *targets,
                   int N, int V, float scale, int grad, float smoothing,
                   double *smoothed, long *correct);

    /* Row-wise log-softmax in place: x[i, 0..V) of N rows, row stride ld,
     * becomes x - logsumexp(x[i, 0..V)), plus shift[i * lds] when shift is
     * not NULL (the adaptive softmax adds a cluster's log-probability to
     * its tokens'; shift never overlaps the row's V columns). */
    void (*log_softmax)(be_backend *be, float *x, int N, int V, int ld,
                        const float *shift, int lds);
    /* dst[i, 0..n) = src[i, 0..n) for M rows of strides ldd and lds
     * (distinct buffers). */
    void (*copy_rows)(be_backend *be, float *dst, int ldd, const float *src, int lds,
                      int M, int n);

    /* Sum of squares of x, in double. */
    double (*sumsq)(be_backend *be, const float *x, size_t n);
    void (*scale)(be_backend *be, float *x, size_t n, float a);
    void (*clamp)(be_backend *be, float *x, size_t n, float lim);

    /* Optimizer updates; see optim.c for the formulas. */
    void (*sgd)(be_backend *be, float *w, const float *g, float *buf, size_t n,
                float lr, float momentum, float wd, int nesterov, int first);
    void (*adam)(be_backend *be, float *w, const float *g, float *m, float *v,
                 size_t n, const be_adam_step *s);
    void (*rmsprop)(be_backend *be, float *w, const float *g, float *v,
                    float *buf, size_t n, float lr, float alpha, float eps,
                    float momentum, float wd);

    void (*set_threads)(be_backend *be, int n);
    void (*destroy)(be_backend *be);

    /* The backend's first failure, one line "cuda: WHAT: WHY", or NULL
     * while there is none (always NULL on the CPU).  A device runs behind
     * the host, so an operation cannot say it failed; the backend keeps its
     * first failure instead, and from then on its results are garbage
     * (xent and sumsq return NaN).  Whoever sees a NaN asks here first.
     * The text belongs to the backend and lives as long as it does. */
    const char *(*last_error)(be_backend *be);

    /* Optional (NULL where a backend lacks them; generation then uses
     * gemm with the 32-bit weights): matrices packed for generation steps,
     * which read every weight once per token.  pack copies W = [W1 | W2]
     * (W1 [N,K1], W2 [N,K2] or NULL with K2 = 0, the same rows side by
     * side) stored as kind; it returns NULL when out of memory or the
     * kind or a size is not supported.  packed_gemm adds [x1 | x2] W^T to
     * y for M <= max_rows input rows: y[m,r] += sum_k x[m,k] W[r,k]. */
    void *(*pack)(be_backend *be, be_weights kind, int N, const float *W1, int K1,
                  const float *W2, int K2, int max_rows);
    void (*packed_gemm)(be_backend *be, void *P, int M, const float *x1, int ld1,
                        const float *x2, int ld2, float *y, int ldy);
    void (*pack_free)(be_backend *be, void *P);

    /* Optional (NULL where the device's memory is the machine's, as on the
     * CPU): the bytes of device memory free now, or -1 when the device does
     * not say.  What cannot fit is refused before it is allocated. */
    double (*free_memory)(be_backend *be);

    /* Optional (NULL on the CPU and in a CUDA build without NCCL; the
     * processes of a data-parallel run then sum through host memory): sums
     * across the processes, device buffer to device buffer.  coll_id
     * writes a new communicator's id (BE_COLL_ID_BYTES) on one process,
     * which hands it to the others (with id NULL it only gets ready,
     * NCCL opened, so that every process learns of a failure there
     * before any waits inside NCCL for the others); coll_join, collective, makes this
     * backend process rank of size in it (blocking until all have).  Both
     * return 0, or -1 with a one-line message "nccl: WHAT: WHY".
     * coll_sum starts x[0..n) (this backend's) becoming the sum over the
     * processes once the operations issued before it are done, without
     * holding up those issued after it, which must leave x alone until
     * coll_wait: from then on operations see every sum started.  Every
     * process starts the same sums, of the same sizes, in the same order.
     * Both return 0, or -1 once the backend has failed (last_error says
     * how); a peer that failed leaves the sums waiting forever, so the
     * processes agree on failures (over MPI) before the host waits for
     * the device. */
    int (*coll_id)(be_backend *be, void *id, char *err, size_t errlen);
    int (*coll_join)(be_backend *be, const void *id, int rank, int size, char *err,
                     size_t errlen);
    int (*coll_sum)(be_backend *be, float *x, size_t n);
    int (*coll_wait)(be_backend *be);
};

/* C[M,N] = op(A) op(B) + (b1 + b2) on every row (b2 may be NULL), C's
 * rows N apart: the backend's gemm_bias, or fill_rows then gemm where it
 * has none. */
static inline void be_gemm_bias(be_backend *be, int ta, int tb, int M, int N, int K,
                                const float *A, int lda, const float *B, int ldb,
                                const float *b1, const float *b2, float *C)
{
    if (be->gemm_bias) {
        be->gemm_bias(be, ta, tb, M, N, K, A, lda, B, ldb, b1, b2, C);
        return;
    }
    be->fill_rows(be, C, M, N, b1, b2);
    be->gemm(be, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C, N);
}

/* The bytes of a coll_id (NCCL_UNIQUE_ID_BYTES). */
#define BE_COLL_ID_BYTES 128

/* Creates the CPU backend; returns NULL when out of memory. */
be_backend *be_cpu_create(void);

/* Writes the CPU kernels in use into buf ("simd=avx512vnni
 * openblas_core=Cooperlake"): our SIMD level and OpenBLAS's core choice,
 * which together fix a training's bits. */
void be_cpu_describe(char *buf, size_t len);

/* Checks RNNLAB_SIMD, the cap on the CPU kernels' SIMD level (portable,
 * avx2, avx512, avx512vnni; a cap above the CPU's level changes nothing):
 * returns 0 when it is unset or names a level, -1 with a one-line message
 * in err otherwise. */
int be_cpu_simd_check(char *err, size_t errlen);

#endif
