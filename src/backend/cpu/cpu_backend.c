/* cpu_backend.c - the reference backend: host memory, OpenBLAS for GEMM,
 * plain loops for everything else.  The elementwise loops are written so
 * the compiler can vectorise them: no calls to libm in the gate math (see
 * cpu_exp), no branches in the inner loops. */
#ifndef _DEFAULT_SOURCE
#define _DEFAULT_SOURCE             /* madvise */
#endif
#include <cblas.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend.h"
#include "backend/cpu/cpu_gemm512.h"
#include "backend/cpu/cpu_level.h"
#include "backend/cpu/cpu_lnlstm.h"
#include "backend/cpu/cpu_math.h"
#include "backend/cpu/cpu_pack.h"
#include "backend/cpu/cpu_pool.h"
#include "backend/cpu/cpu_simd.h"
#include "backend/cpu/cpu_small.h"
#include "util/rng.h"

#define CPU_MAX_PARTS 64
#define CPU_HUGE ((size_t)2 << 20)
/* Products with at most this many rows times a transposed matrix skip
 * sgemm's packing (see cpu_gemm_few_rows). */
#ifndef CPU_FEW_ROWS
#define CPU_FEW_ROWS 64
#endif
/* Rows of a transposed B per block in those products (256 of K = 512:
 * 512 KiB, held in L2 across the passes over A's rows). */
#define CPU_FEW_COLS 256

/* ---- splitting work across the pool ---------------------------------- */

typedef struct cpu_impl {
    cpu_pool *pool;
    /* cpu_gemm512's packing space, one per part of a job (a part runs on
     * one thread at a time), made with the pool: products never allocate,
     * so no block of a split can fall back to another kernel */
    float *work[CPU_MAX_PARTS];
} cpu_impl;

/* A job over the index range [0, n): body(j, part, i0, i1) handles one
 * contiguous piece.  Reductions write their piece's result to partial[part]
 * (and hits[part]); the caller adds them in part order, so results depend
 * on the thread count only. */
typedef struct range_job range_job;
struct range_job {
    void (*body)(range_job *j, int part, size_t i0, size_t i1);
    const void *args;
    size_t n, align;
    double partial[CPU_MAX_PARTS];
    double partial2[CPU_MAX_PARTS];
    long hits[CPU_MAX_PARTS];
};

/* Piece `part` of `parts` of [0, n), piece sizes rounded up to align. */
static void cpu_split(size_t n, int part, int parts, size_t align,
                      size_t *i0, size_t *i1)
{
    size_t chunk = (n + (size_t)parts - 1) / (size_t)parts;
    chunk = (chunk + align - 1) / align * align;
    size_t b = (size_t)part * chunk;
    *i0 = b < n ? b : n;
    *i1 = b + chunk < n ? b + chunk : n;
}

static void cpu_range_part(void *ctx, int part, int parts)
{
    range_job *j = ctx;
    size_t i0, i1;
    cpu_split(j->n, part, parts, j->align, &i0, &i1);
    j->partial[part] = 0.0;
    j->hits[part] = 0;
    if (i0 < i1)
        j->body(j, part, i0, i1);
}

/* Runs body over [0, n) on the pool when there is enough work (work = cost
 * of the whole range in rough element-operations), inline otherwise.
 * Returns the number of parts used (for reductions). */
static int cpu_par(be_backend *be, range_job *j, size_t n, size_t align, double work,
                   void (*body)(range_job *, int, size_t, size_t), const void *args)
{
    cpu_impl *impl = be->impl;
    int parts = work < 32768.0 ? 1 : cpu_pool_size(impl->pool);
    if ((size_t)parts > (n + align - 1) / align)
        parts = (int)((n + align - 1) / align);
    if (parts < 1)
        parts = 1;
    j->body = body;
    j->args = args;
    j->n = n;
    j->align = align;
    cpu_pool_run(impl->pool, cpu_range_part, j, parts);
    return parts;
}

/* Work of n elements at `per` element-operations each, for cpu_par. */
#define FLAT_WORK(n, per) ((double)(n) * (per))

/* Like cpu_par for jobs with no result. */
static void cpu_par_for(be_backend *be, size_t n, size_t align, double work,
                        void (*body)(range_job *, int, size_t, size_t), const void *args)
{
    range_job j;
    cpu_par(be, &j, n, align, work, body, args);
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

typedef struct bytes_args {
    char *dst;
    const char *src;
} bytes_args;

static void copy_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const bytes_args *a = j->args;
    memcpy(a->dst + i0, a->src + i0, i1 - i0);
}

/* Large copies (a layer's outputs, several megabytes) are split too;
 * overlapping ones (never issued by the model) stay a single memmove.  The
 * overlap test compares addresses as integers: ordering pointers into two
 * different objects is undefined in C. */
static void cpu_copy(be_backend *be, void *dst, const void *src, size_t bytes)
{
    uintptr_t d = (uintptr_t)dst, s = (uintptr_t)src;
    if (!bytes || dst == src)
        return;
    if (d - s < bytes || s - d < bytes) {
        memmove(dst, src, bytes);
        return;
    }
    bytes_args a = { dst, src };
    cpu_par_for(be, bytes, 4096, FLAT_WORK(bytes, 0.25), copy_body, &a);
}

static void zero_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const bytes_args *a = j->args;
    memset(a->dst + i0, 0, i1 - i0);
}

static void cpu_zero(be_backend *be, void *p, size_t bytes)
{
    bytes_args a = { p, NULL };
    cpu_par_for(be, bytes, 4096, FLAT_WORK(bytes, 0.25), zero_body, &a);
}

typedef struct gemm_args {
    int ta, tb, M, N, K;
    float alpha, beta;
    const float *A, *B;
    float *C;
    int lda, ldb, ldc;
    int split_n;             /* split the columns of C (else its rows) */
    int own;                 /* our AVX-512 kernels (cpu_gemm512_wanted) */
    float *const *work;      /* the parts' packing spaces (cpu_impl) */
    /* gemm_bias's row, at C's column 0 (b2 may be NULL); NULL: none.
     * Only where every block goes to cpu_gemm512 (cpu_gemm_bias). */
    const float *b1, *b2;
} gemm_args;

/* One block of C, computed by part `part`: our AVX-512 sgemm when the
 * call's shape was given to it (own implies AVX-512F and the part's
 * packing space, so it cannot decline), OpenBLAS otherwise. */
static void cpu_sgemm(const gemm_args *g, int part, int M, int N, const float *A,
                      const float *B, float *C)
{
    if (g->b1) {
        (void)cpu_gemm512_bias(g->ta, g->tb, M, N, g->K, A, g->lda, B, g->ldb, g->b1, g->b2,
                               C, g->ldc, g->work[part]);
        return;
    }
    if (g->own) {
        (void)cpu_gemm512(g->ta, g->tb, M, N, g->K, g->alpha, A, g->lda, B, g->ldb,
                          g->beta, C, g->ldc, g->work[part]);
        return;
    }
    cblas_sgemm(CblasRowMajor, g->ta ? CblasTrans : CblasNoTrans,
                g->tb ? CblasTrans : CblasNoTrans, M, N, g->K, g->alpha, A,
                g->lda, B, g->ldb, g->beta, C, g->ldc);
}

/* A few rows times a weight matrix: a generation step (one row per stream
 * or beam) or a training time step (one row per stream).  sgemm packs all
 * of B for these, which costs as much as the product; sgemv handles one
 * row, the small kernels CPU_SMALL_MAX_M rows per pass over B, reading it
 * in place.  N is this block's width (C's columns). */
static void cpu_gemm_few_rows(const gemm_args *g, int part, int N, const float *B,
                              float *C)
{
    if (g->own && g->M > CPU_SMALL_MAX_M) {
        /* more rows than one pass of the small kernels (a training step's
         * 32 streams): cpu_gemm512's 12-row tile, 3 passes over B instead
         * of 4, and the sums of the prepared products (cpu_gemm_prepared),
         * which training uses for the forward and backward steps */
        cpu_sgemm(g, part, g->M, N, g->A, B, C);
        return;
    }
    if (!g->tb) {
        /* the backward step's product: rows of A times B as it is */
        for (int m = 0; m < g->M; m += CPU_SMALL_MAX_M) {
            int rows = g->M - m < CPU_SMALL_MAX_M ? g->M - m : CPU_SMALL_MAX_M;
            const float *A = g->A + (size_t)m * g->lda;
            float *Cm = C + (size_t)m * g->ldc;
            if (cpu_small_gemm_nn(rows, N, g->K, g->alpha, A, g->lda, B, g->ldb, g->beta,
                                  Cm, g->ldc) != 0)
                cpu_sgemm(g, part, rows, N, A, B, Cm);
        }
        return;
    }
    if (g->M == 1) {
        if (g->beta == 0.0f)
            memset(C, 0, sizeof(float) * (size_t)N);   /* BLAS may scale NaN by 0 */
        cblas_sgemv(CblasRowMajor, CblasNoTrans, N, g->K, g->alpha, B, g->ldb, g->A, 1,
                    g->beta == 0.0f ? 1.0f : g->beta, C, 1);
        return;
    }
    /* more than one pass of rows (a training step's 32 streams) goes over
     * B in blocks of CPU_FEW_COLS rows, so the later passes find them in L2
     * instead of reading this thread's whole share (2 MiB for 4H = 2048, H =
     * 512) again from L3; each element's sum is computed alike either way */
    for (int n0 = 0; n0 < N; n0 += CPU_FEW_COLS) {
        int w = N - n0 < CPU_FEW_COLS ? N - n0 : CPU_FEW_COLS;
        for (int m = 0; m < g->M; m += CPU_SMALL_MAX_M) {
            int rows = g->M - m < CPU_SMALL_MAX_M ? g->M - m : CPU_SMALL_MAX_M;
            const float *A = g->A + (size_t)m * g->lda;
            float *Cm = C + (size_t)m * g->ldc + n0;
            const float *Bn = B + (size_t)n0 * g->ldb;
            if (cpu_small_gemm_nt(rows, w, g->K, g->alpha, A, g->lda, Bn, g->ldb, g->beta,
                                  Cm, g->ldc) != 0)
                cpu_sgemm(g, part, rows, w, A, Bn, Cm);
        }
    }
}

/* Whether a product goes to cpu_gemm_few_rows (a split by columns). */
static int cpu_gemm_few(const gemm_args *g)
{
    return g->split_n && !g->ta && g->M <= CPU_FEW_ROWS;
}

/* One block of C: columns i0..i1 (op(B)'s columns are B's rows when tb)
 * or rows i0..i1 (op(A)'s rows are A's columns when ta). */
static void gemm_body(range_job *j, int part, size_t i0, size_t i1)
{
    const gemm_args *g = j->args;
    int w = (int)(i1 - i0);
    gemm_args cols;
    if (g->b1 && g->split_n) {
        /* this block's columns of the bias row */
        cols = *g;
        cols.b1 += i0;
        cols.b2 = g->b2 ? g->b2 + i0 : NULL;
        g = &cols;
    }
    if (cpu_gemm_few(g))
        cpu_gemm_few_rows(g, part, w, g->tb ? g->B + i0 * g->ldb : g->B + i0, g->C + i0);
    else if (g->split_n)
        cpu_sgemm(g, part, g->M, w, g->A, g->tb ? g->B + i0 * g->ldb : g->B + i0,
                  g->C + i0);
    else
        cpu_sgemm(g, part, w, g->N, g->ta ? g->A + i0 : g->A + i0 * g->lda, g->B,
                  g->C + i0 * g->ldc);
}

/* The product g over the pool, its blocks by gemm_body. */
static void cpu_gemm_run(be_backend *be, const gemm_args *g)
{
    size_t n = g->split_n ? (size_t)g->N : (size_t)g->M;
    cpu_par_for(be, n, g->split_n ? 64 : 16, 0.05 * g->M * g->N * (double)g->K, gemm_body,
                g);
}

/* Each thread multiplies a block of C single-threaded, in our AVX-512
 * sgemm or OpenBLAS (chosen once for the whole call from its shape, so all
 * blocks agree): OpenBLAS's own threading costs too much on the small
 * per-time-step products (32 x 2048 x 512), and this way the split is
 * ours, fixed, and the elementwise work shares the same threads. */
static void cpu_gemm(be_backend *be, int ta, int tb, int M, int N, int K,
                     float alpha, const float *A, int lda, const float *B, int ldb,
                     float beta, float *C, int ldc)
{
    cpu_impl *impl = be->impl;
    gemm_args g = { ta, tb, M, N, K, alpha, beta, A, B, C, lda, ldb, ldc, N >= M,
                    cpu_gemm512_wanted(M, N, K), impl->work, NULL, NULL };
    if (M <= 0 || N <= 0)
        return;
    cpu_gemm_run(be, &g);
}

/* Preparing op(B) for many products pays once a product has more rows
 * than the few-row kernels take in one pass over B (a training step's
 * streams); the packed panels are cpu_gemm512's. */
static size_t cpu_prepared_bytes(be_backend *be, int M, int N, int K)
{
    (void)be;
    if (M <= CPU_SMALL_MAX_M || !cpu_gemm512_wanted(M, N, K))
        return 0;
    return cpu_gemm512_packed_floats(N, K) * sizeof(float);
}

typedef struct prep_args {
    int tb, M, N, K, lda, ldb, ldc;
    float alpha, beta;
    const float *A, *B;
    float *P, *C;
    const float *cP;
    float *const *work;
} prep_args;

static void prepare_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const prep_args *a = j->args;
    (void)cpu_gemm512_pack(a->tb, a->K, a->B, a->ldb, (int)i0, (int)i1, a->P);
}

/* Column panels are packed by parts at once (CPU_GEMM512 panels are 32
 * columns; the split's pieces are whole panels). */
static void cpu_prepare(be_backend *be, int tb, int N, int K, const float *B, int ldb,
                        void *P)
{
    prep_args a = { .tb = tb, .N = N, .K = K, .B = B, .ldb = ldb, .P = P };
    cpu_par_for(be, (size_t)N, 64, FLAT_WORK((size_t)N * K, 1), prepare_body, &a);
}

static void prepared_body(range_job *j, int part, size_t i0, size_t i1)
{
    const prep_args *a = j->args;
    (void)cpu_gemm512_packed(a->M, (int)(i1 - i0), a->K, a->alpha, a->A, a->lda,
                             a->cP + i0 * (size_t)a->K, a->beta, a->C + i0, a->ldc,
                             a->work[part]);
}

/* Split by columns of C like cpu_gemm's few-row products; every element's
 * sum is the same wherever its block falls. */
static void cpu_gemm_prepared(be_backend *be, int M, int N, int K, float alpha,
                              const float *A, int lda, const void *P, float beta,
                              float *C, int ldc)
{
    cpu_impl *impl = be->impl;
    prep_args a = { .M = M, .N = N, .K = K, .alpha = alpha, .A = A, .lda = lda, .cP = P,
                    .beta = beta, .C = C, .ldc = ldc, .work = impl->work };
    if (M <= 0 || N <= 0)
        return;
    cpu_par_for(be, (size_t)N, 64, 0.05 * M * N * (double)K, prepared_body, &a);
}

typedef struct rows_args {
    float *Y;
    const float *b1, *b2, *dY;
    const uint32_t *ids;
    int M, N;
} rows_args;

static void fill_rows_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const rows_args *a = j->args;
    int N = a->N;
    for (size_t i = i0; i < i1; i++) {
        float *y = a->Y + i * (size_t)N;
        if (a->b2)
            for (int k = 0; k < N; k++)
                y[k] = a->b1[k] + a->b2[k];
        else
            memcpy(y, a->b1, sizeof(float) * (size_t)N);
    }
}

static void cpu_fill_rows(be_backend *be, float *Y, int M, int N,
                          const float *b1, const float *b2)
{
    rows_args a = { .Y = Y, .b1 = b1, .b2 = b2, .N = N };
    cpu_par_for(be, (size_t)M, 1, FLAT_WORK((size_t)M * N, 1), fill_rows_body, &a);
}

/* C = op(A) op(B) + the bias row: in the product's first store where
 * every block goes to cpu_gemm512 whole, so the bias never costs a pass
 * of its own over C (26 MB for a chunk's gate inputs on the benchmark
 * model); elsewhere (OpenBLAS, the few-row kernels) filled first.  The
 * bits are those of the fill either way. */
static void cpu_gemm_bias(be_backend *be, int ta, int tb, int M, int N, int K,
                          const float *A, int lda, const float *B, int ldb,
                          const float *b1, const float *b2, float *C)
{
    cpu_impl *impl = be->impl;
    gemm_args g = { ta, tb, M, N, K, 1.0f, 1.0f, A, B, C, lda, ldb, N, N >= M,
                    cpu_gemm512_wanted(M, N, K), impl->work, b1, b2 };
    if (M <= 0 || N <= 0)
        return;
    if (!g.own || cpu_gemm_few(&g)) {
        cpu_fill_rows(be, C, M, N, b1, b2);
        cpu_gemm(be, ta, tb, M, N, K, 1.0f, A, lda, B, ldb, 1.0f, C, N);
        return;
    }
    cpu_gemm_run(be, &g);
}

/* Columns i0..i1 of db += the column sums of dY. */
static void colsum_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const rows_args *a = j->args;
    for (int i = 0; i < a->M; i++) {
        const float *d = a->dY + (size_t)i * a->N;
        for (size_t k = i0; k < i1; k++)
            a->Y[k] += d[k];
    }
}

/* Columns i0..i1 of db += the column sums of dY * X. */
static void colsum_mul_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const rows_args *a = j->args;
    for (int i = 0; i < a->M; i++) {
        const float *d = a->dY + (size_t)i * a->N, *x = a->b1 + (size_t)i * a->N;
        for (size_t k = i0; k < i1; k++)
            a->Y[k] += d[k] * x[k];
    }
}

static void cpu_colsum_mul_add(be_backend *be, const float *dY, const float *X, int M,
                               int N, float *db)
{
    rows_args a = { .Y = db, .dY = dY, .b1 = X, .M = M, .N = N };
    cpu_par_for(be, (size_t)N, 64, FLAT_WORK((size_t)M * N, 2), colsum_mul_body, &a);
}

static void cpu_colsum_add(be_backend *be, const float *dY, int M, int N, float *db)
{
    rows_args a = { .Y = db, .dY = dY, .M = M, .N = N };
    cpu_par_for(be, (size_t)N, 64, FLAT_WORK((size_t)M * N, 1), colsum_body, &a);
}

static void embed_fwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const rows_args *a = j->args;
    size_t E = (size_t)a->N;
    for (size_t i = i0; i < i1; i++)
        memcpy(a->Y + i * E, a->b1 + (size_t)a->ids[i] * E, sizeof(float) * E);
}

static void cpu_embed_fwd(be_backend *be, const uint32_t *ids, int n,
                          const float *table, int E, float *out)
{
    rows_args a = { .Y = out, .b1 = table, .ids = ids, .N = E };
    cpu_par_for(be, (size_t)n, 1, FLAT_WORK((size_t)n * E, 1), embed_fwd_body, &a);
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

/* Arguments of the cell steps, shared by forward and backward bodies. */
typedef struct cell_args {
    int H;
    float *gates, *c, *h, *dc, *dgates, *dgx, *dgh, *dh_prev;
    const float *cgates, *c_prev, *cc, *dh, *gh, *h_prev;
} cell_args;

/* Cell work per row of H units, in element-operations, for the split. */
#define CELL_WORK(B, H) (40.0 * (B) * (H))

CPU_KERNEL static void lstm_fwd_rows(int b0, int b1, int H, float *restrict gates,
                          const float *restrict c_prev, float *restrict c, float *restrict h)
{
    for (int b = b0; b < b1; b++) {
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

static void lstm_fwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const cell_args *a = j->args;
    size_t H = (size_t)a->H;
    if (cpu_simd_lstm_fwd((int)(i1 - i0), a->H, a->gates + i0 * 4 * H, a->c_prev + i0 * H,
                          a->c + i0 * H, a->h + i0 * H) == 0)
        return;
    lstm_fwd_rows((int)i0, (int)i1, a->H, a->gates, a->c_prev, a->c, a->h);
}

static void cpu_lstm_fwd(be_backend *be, int B, int H, float *gates,
                         const float *c_prev, float *c, float *h)
{
    cell_args a = { .H = H, .gates = gates, .c_prev = c_prev, .c = c, .h = h };
    cpu_par_for(be, (size_t)B, 1, CELL_WORK(B, H), lstm_fwd_body, &a);
}

CPU_KERNEL static void lstm_bwd_rows(int b0, int b1, int H, const float *restrict gates,
                          const float *restrict c_prev, const float *restrict c, const float *restrict dh,
                          float *restrict dc, float *restrict dgates)
{
    for (int b = b0; b < b1; b++) {
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

static void lstm_bwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const cell_args *a = j->args;
    lstm_bwd_rows((int)i0, (int)i1, a->H, a->cgates, a->c_prev, a->cc, a->dh,
                  a->dc, a->dgates);
}

static void cpu_lstm_bwd(be_backend *be, int B, int H, const float *gates,
                         const float *c_prev, const float *c, const float *dh,
                         float *dc, float *dgates)
{
    cell_args a = { .H = H, .cgates = gates, .c_prev = c_prev, .cc = c, .dh = dh,
                    .dc = dc, .dgates = dgates };
    cpu_par_for(be, (size_t)B, 1, CELL_WORK(B, H), lstm_bwd_body, &a);
}

CPU_KERNEL static void gru_fwd_rows(int b0, int b1, int H, float *restrict gx, const float *restrict gh,
                         const float *restrict h_prev, float *restrict h)
{
    for (int b = b0; b < b1; b++) {
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

static void gru_fwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const cell_args *a = j->args;
    size_t H = (size_t)a->H;
    if (cpu_simd_gru_fwd((int)(i1 - i0), a->H, a->gates + i0 * 3 * H, a->gh + i0 * 3 * H,
                         a->h_prev + i0 * H, a->h + i0 * H) == 0)
        return;
    gru_fwd_rows((int)i0, (int)i1, a->H, a->gates, a->gh, a->h_prev, a->h);
}

static void cpu_gru_fwd(be_backend *be, int B, int H, float *gx, const float *gh,
                        const float *h_prev, float *h)
{
    cell_args a = { .H = H, .gates = gx, .gh = gh, .h_prev = h_prev, .h = h };
    cpu_par_for(be, (size_t)B, 1, CELL_WORK(B, H), gru_fwd_body, &a);
}

CPU_KERNEL static void gru_bwd_rows(int b0, int b1, int H, const float *restrict gx, const float *restrict gh,
                         const float *restrict h_prev, const float *restrict dh, float *restrict dh_prev,
                         float *restrict dgx, float *restrict dgh)
{
    for (int b = b0; b < b1; b++) {
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

static void gru_bwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const cell_args *a = j->args;
    gru_bwd_rows((int)i0, (int)i1, a->H, a->cgates, a->gh, a->h_prev, a->dh,
                 a->dh_prev, a->dgx, a->dgh);
}

static void cpu_gru_bwd(be_backend *be, int B, int H, const float *gx, const float *gh,
                        const float *h_prev, const float *dh, float *dh_prev,
                        float *dgx, float *dgh)
{
    cell_args a = { .H = H, .cgates = gx, .gh = gh, .h_prev = h_prev, .dh = dh,
                    .dh_prev = dh_prev, .dgx = dgx, .dgh = dgh };
    cpu_par_for(be, (size_t)B, 1, CELL_WORK(B, H), gru_bwd_body, &a);
}

/* Arguments of the LayerNorm LSTM steps. */
typedef struct lnlstm_args {
    int H;
    const be_lnlstm_params *p;
    float *gx, *gh, *gates, *c, *h, *cn, *stats, *dc, *dgx, *dgh, *da, *dy;
    const float *cgx, *cgh, *cgates, *c_prev, *ccn, *cstats, *dh;
} lnlstm_args;

/* The LayerNorm cell costs about twice the plain one per unit. */
static void lnlstm_fwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const lnlstm_args *a = j->args;
    cpu_lnlstm_fwd_rows((int)i0, (int)i1, a->H, a->p, a->gx, a->gh, a->gates, a->c_prev,
                        a->c, a->h, a->cn, a->stats);
}

static void cpu_lnlstm_fwd(be_backend *be, int B, int H, const be_lnlstm_params *p,
                           float *gx, float *gh, float *gates, const float *c_prev,
                           float *c, float *h, float *cn, float *stats)
{
    lnlstm_args a = { .H = H, .p = p, .gx = gx, .gh = gh, .gates = gates,
                      .c_prev = c_prev, .c = c, .h = h, .cn = cn, .stats = stats };
    cpu_par_for(be, (size_t)B, 1, 2 * CELL_WORK(B, H), lnlstm_fwd_body, &a);
}

static void lnlstm_bwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const lnlstm_args *a = j->args;
    cpu_lnlstm_bwd_rows((int)i0, (int)i1, a->H, a->p, a->cgx, a->cgh, a->cgates,
                        a->c_prev, a->ccn, a->cstats, a->dh, a->dc, a->dgx, a->dgh,
                        a->da, a->dy);
}

static void cpu_lnlstm_bwd(be_backend *be, int B, int H, const be_lnlstm_params *p,
                           const float *gx, const float *gh, const float *gates,
                           const float *c_prev, const float *cn, const float *stats,
                           const float *dh, float *dc, float *dgx, float *dgh,
                           float *da, float *dy)
{
    lnlstm_args a = { .H = H, .p = p, .cgx = gx, .cgh = gh, .cgates = gates,
                      .c_prev = c_prev, .ccn = cn, .cstats = stats, .dh = dh, .dc = dc,
                      .dgx = dgx, .dgh = dgh, .da = da, .dy = dy };
    cpu_par_for(be, (size_t)B, 1, 2 * CELL_WORK(B, H), lnlstm_bwd_body, &a);
}

/* Arguments of the elementwise operations over flat arrays. */
typedef struct flat_args {
    float *x, *y, *z;
    const float *a, *b;
    const be_adam_step *adam;
    const uint32_t *ids;
    float f0, f1, f2, f3, f4;
    int i0, i1;
    uint64_t key, first;
} flat_args;

CPU_KERNEL static void rnn_fwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    if (cpu_simd_rnn_fwd(1, (int)(i1 - i0), a->a + i0, a->x + i0) == 0)
        return;
    for (size_t i = i0; i < i1; i++)
        a->x[i] = cpu_tanh(a->a[i]);
}

static void cpu_rnn_fwd(be_backend *be, int B, int H, const float *g, float *h)
{
    flat_args a = { .x = h, .a = g };
    size_t n = (size_t)B * H;
    cpu_par_for(be, n, 16, FLAT_WORK(n, 20), rnn_fwd_body, &a);
}

CPU_KERNEL static void rnn_bwd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    for (size_t i = i0; i < i1; i++)
        a->x[i] = a->b[i] * (1.0f - a->a[i] * a->a[i]);
}

/* dg = dh * (1 - h^2). */
static void cpu_rnn_bwd(be_backend *be, int B, int H, const float *h,
                        const float *dh, float *dg)
{
    flat_args a = { .x = dg, .a = h, .b = dh };
    size_t n = (size_t)B * H;
    cpu_par_for(be, n, 16, FLAT_WORK(n, 3), rnn_bwd_body, &a);
}

static void add_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    for (size_t i = i0; i < i1; i++)
        a->x[i] += a->a[i];
}

static void cpu_add(be_backend *be, float *x, const float *b, size_t n)
{
    flat_args a = { .x = x, .a = b };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 1), add_body, &a);
}

static void dropout_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    float p = a->f0, keep = a->f1;
    for (size_t i = i0; i < i1; i++) {
        a->y[i] = rng_hash_uniform(a->key, a->first + i) >= p ? keep : 0.0f;
        a->x[i] *= a->y[i];
    }
}

static void cpu_dropout_fwd(be_backend *be, float *x, float *mask, size_t n,
                            float p, uint64_t key, uint64_t first)
{
    flat_args a = { .x = x, .y = mask, .f0 = p, .f1 = 1.0f / (1.0f - p), .key = key,
                    .first = first };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 10), dropout_body, &a);
}

static void mul_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    for (size_t i = i0; i < i1; i++)
        a->x[i] *= a->a[i];
}

static void cpu_mul(be_backend *be, float *x, const float *mask, size_t n)
{
    flat_args a = { .x = x, .a = mask };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 1), mul_body, &a);
}

/* Rows i0..i1 of the softmax cross-entropy: max, log-sum-exp, loss; the
 * gradient softmax - onehot is written over the logits.  The loss is summed
 * in double: a chunk has thousands of rows. */
/* The smoothed loss of one row under label smoothing e: (1-e) times the
 * cross-entropy ce plus e times the mean over tokens of lse - z_k. */
static double xent_smoothed(const float *z, int V, float lse, float ce, float e)
{
    double zsum = 0.0;
    for (int k = 0; k < V; k++)
        zsum += (double)z[k];
    return (1.0 - (double)e) * (double)ce + (double)e * ((double)lse - zsum / V);
}

/* Rows i0..i1 of the softmax cross-entropy: max, log-sum-exp, loss; the
 * gradient softmax - target is written over the logits.  The losses are
 * summed in double: a chunk has thousands of rows. */
CPU_KERNEL static void xent_body(range_job *j, int part, size_t i0, size_t i1)
{
    const flat_args *a = j->args;
    int V = a->i0, grad = a->i1;
    float scale = a->f0, e = a->f1;
    double total = 0.0, smoothed = 0.0;
    long hits = 0;
    for (size_t i = i0; i < i1; i++) {
        float *z = a->x + i * (size_t)V;
        uint32_t y = a->ids[i];
        float mx = z[0];
        int arg = 0;
        for (int k = 1; k < V; k++)
            if (z[k] > mx) { mx = z[k]; arg = k; }
        float s = 0.0f;
        for (int k = 0; k < V; k++)
            s += cpu_exp(z[k] - mx);
        float lse = mx + logf(s), ce = lse - z[y];
        total += (double)ce;
        hits += (arg == (int)y);
        /* before the gradient overwrites the logits it sums */
        smoothed += e > 0 ? xent_smoothed(z, V, lse, ce, e) : (double)ce;
        if (grad) {
            float inv = scale / s;
            for (int k = 0; k < V; k++)
                z[k] = cpu_exp(z[k] - mx) * inv;
            z[y] -= e > 0 ? scale * (1.0f - e) : scale;
            if (e > 0)
                for (int k = 0; k < V; k++)
                    z[k] -= scale * e / (float)V;
        }
    }
    j->partial[part] = total;
    j->partial2[part] = smoothed;
    j->hits[part] = hits;
}

static double cpu_xent(be_backend *be, float *logits, const uint32_t *targets,
                       int N, int V, float scale, int grad, float smoothing,
                       double *smoothed, long *correct)
{
    flat_args a = { .x = logits, .ids = targets, .i0 = V, .i1 = grad, .f0 = scale,
                    .f1 = smoothing };
    range_job j;
    int parts = cpu_par(be, &j, (size_t)N, 1, FLAT_WORK((size_t)N * V, 30), xent_body, &a);
    double total = 0.0, sm = 0.0;
    long hits = 0;
    for (int k = 0; k < parts; k++) {
        total += j.partial[k];
        sm += j.partial2[k];
        hits += j.hits[k];
    }
    if (correct)
        *correct = hits;
    if (smoothed)
        *smoothed = sm;
    return total;
}

/* Rows i0..i1 of the log-softmax: the maximum, the log of the sum of
 * exp (as xent takes them), then the row shifted by both. */
CPU_KERNEL static void log_softmax_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    int V = a->i0, ld = a->i1, lds = (int)a->first;
    for (size_t i = i0; i < i1; i++) {
        float *z = a->x + i * (size_t)ld;
        float mx = z[0], s = 0.0f;
        for (int k = 1; k < V; k++)
            mx = z[k] > mx ? z[k] : mx;
        for (int k = 0; k < V; k++)
            s += cpu_exp(z[k] - mx);
        float off = mx + logf(s) - (a->a ? a->a[i * (size_t)lds] : 0.0f);
        for (int k = 0; k < V; k++)
            z[k] -= off;
    }
}

static void cpu_log_softmax(be_backend *be, float *x, int N, int V, int ld,
                            const float *shift, int lds)
{
    flat_args a = { .x = x, .a = shift, .i0 = V, .i1 = ld, .first = (uint64_t)lds };
    cpu_par_for(be, (size_t)N, 1, FLAT_WORK((size_t)N * V, 20), log_softmax_body, &a);
}

static void cpu_copy_rows(be_backend *be, float *dst, int ldd, const float *src, int lds,
                          int M, int n)
{
    (void)be;
    for (int i = 0; i < M; i++)
        memcpy(dst + (size_t)i * ldd, src + (size_t)i * lds, (size_t)n * sizeof(float));
}

/* Float lanes for speed, flushed to double every 4096 elements (pieces
 * are multiples of 4096, so the sum does not depend on where they fall
 * except through the final addition order). */
static void sumsq_body(range_job *j, int part, size_t i0, size_t i1)
{
    const flat_args *a = j->args;
    double total = 0.0;
    for (size_t i = i0; i < i1; i += 4096) {
        size_t e = i + 4096 < i1 ? i + 4096 : i1;
        float s = 0.0f;
        for (size_t k = i; k < e; k++)
            s += a->a[k] * a->a[k];
        total += s;
    }
    j->partial[part] = total;
}

static double cpu_sumsq(be_backend *be, const float *x, size_t n)
{
    flat_args a = { .a = x };
    range_job j;
    int parts = cpu_par(be, &j, n, 4096, FLAT_WORK(n, 2), sumsq_body, &a);
    double total = 0.0;
    for (int k = 0; k < parts; k++)
        total += j.partial[k];
    return total;
}

static void scale_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    for (size_t i = i0; i < i1; i++)
        a->x[i] *= a->f0;
}

static void cpu_scale(be_backend *be, float *x, size_t n, float s)
{
    flat_args a = { .x = x, .f0 = s };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 1), scale_body, &a);
}

static void clamp_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    for (size_t i = i0; i < i1; i++)
    {
        float v = a->x[i];
        v = v < -a->f0 ? -a->f0 : v;
        a->x[i] = v > a->f0 ? a->f0 : v;
    }
}

static void cpu_clamp(be_backend *be, float *x, size_t n, float lim)
{
    flat_args a = { .x = x, .f0 = lim };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 2), clamp_body, &a);
}

static void sgd_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    float lr = a->f0, momentum = a->f1, wd = a->f2;
    int nesterov = a->i0, first = a->i1;
    float *w = a->x, *buf = a->y;
    const float *g = a->a;
    for (size_t i = i0; i < i1; i++) {
        float d = g[i] + wd * w[i];
        if (momentum != 0.0f) {
            buf[i] = first ? d : momentum * buf[i] + d;
            d = nesterov ? d + momentum * buf[i] : buf[i];
        }
        w[i] -= lr * d;
    }
}

static void cpu_sgd(be_backend *be, float *w, const float *g, float *buf, size_t n,
                    float lr, float momentum, float wd, int nesterov, int first)
{
    flat_args a = { .x = w, .a = g, .y = buf, .f0 = lr, .f1 = momentum, .f2 = wd,
                    .i0 = nesterov, .i1 = first };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 4), sgd_body, &a);
}

CPU_KERNEL static void adam_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    const be_adam_step *s = a->adam;
    float lr = s->lr, b1 = s->b1, b2 = s->b2, eps = s->eps, wd = s->wd;
    float c1 = s->c1, c2 = s->c2, sbc2 = s->sbc2, step = s->step, gscale = s->gscale;
    int decoupled = s->decoupled, nadam = s->nadam;
    float *w = a->x, *m = a->y, *v = a->z;
    const float *g = a->a;
    /* the same operations in AVX-512 where the CPU has it: this loop keeps
     * sqrtf a call (errno) and does not vectorise */
    if (cpu_simd_adam(w + i0, g + i0, m + i0, v + i0, i1 - i0, s) == 0)
        return;
    for (size_t i = i0; i < i1; i++) {
        float gi = g[i] * gscale;
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

/* Adam, AdamW (decoupled weight decay) and NAdam, as PyTorch defines them;
 * the step's scalars come worked out (optim.c). */
static void cpu_adam(be_backend *be, float *w, const float *g, float *m, float *v,
                     size_t n, const be_adam_step *s)
{
    flat_args a = { .x = w, .a = g, .y = m, .z = v, .adam = s };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 12), adam_body, &a);
}

static void rmsprop_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const flat_args *a = j->args;
    float lr = a->f0, alpha = a->f1, eps = a->f2, momentum = a->f3, wd = a->f4;
    float *w = a->x, *v = a->y, *buf = a->z;
    const float *g = a->a;
    for (size_t i = i0; i < i1; i++) {
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

static void cpu_rmsprop(be_backend *be, float *w, const float *g, float *v,
                        float *buf, size_t n, float lr, float alpha, float eps,
                        float momentum, float wd)
{
    flat_args a = { .x = w, .a = g, .y = v, .z = buf, .f0 = lr, .f1 = alpha,
                    .f2 = eps, .f3 = momentum, .f4 = wd };
    cpu_par_for(be, n, 16, FLAT_WORK(n, 8), rmsprop_body, &a);
}

/* Generation's packed matrices (cpu_pack.c); the CPU backend's kinds map
 * one to one. */
static void *cpu_pack_weights(be_backend *be, be_weights kind, int N, const float *W1,
                              int K1, const float *W2, int K2, int max_rows)
{
    (void)be;
    return cpu_pack_new((cpu_pack_kind)kind, N, W1, K1, W2, K2, max_rows);
}

typedef struct packed_args {
    const cpu_pack *p;
    float *y;
    int ldy;
} packed_args;

static void packed_body(range_job *j, int part, size_t i0, size_t i1)
{
    (void)part;
    const packed_args *g = j->args;
    cpu_pack_gemm_rows(g->p, g->y, g->ldy, (int)i0, (int)i1);
}

/* The inputs are loaded (and quantised) once on the caller, then each
 * thread streams its own block of weight rows. */
static void cpu_packed_gemm(be_backend *be, void *P, int M, const float *x1, int ld1,
                            const float *x2, int ld2, float *y, int ldy)
{
    cpu_pack *p = P;
    cpu_pack_load(p, M, x1, ld1, x2, ld2);
    packed_args g = { p, y, ldy };
    size_t rows = (size_t)cpu_pack_rows(p);
    cpu_par_for(be, rows, CPU_PACK_BLOCK, 0.05 * (double)M * (double)cpu_pack_bytes(p),
                packed_body, &g);
}

static void cpu_pack_release(be_backend *be, void *P)
{
    (void)be;
    cpu_pack_free(P);
}

static void cpu_work_free(float **work)
{
    for (int k = 0; k < CPU_MAX_PARTS; k++) {
        free(work[k]);
        work[k] = NULL;
    }
}

/* A packing space for each of n parts (none where cpu_gemm512 cannot
 * run); returns 0, or -1 with none kept. */
static int cpu_work_new(float **work, int n)
{
    size_t bytes = cpu_gemm512_work_floats() * sizeof(float);
    for (int k = 0; k < CPU_MAX_PARTS; k++)
        work[k] = NULL;
    for (int k = 0; k < n && bytes; k++)
        if (!(work[k] = aligned_alloc(64, (bytes + 63) & ~(size_t)63))) {
            cpu_work_free(work);
            return -1;
        }
    return 0;
}

/* The pool of n threads and its parts' packing spaces; returns 0, or -1
 * with impl unchanged. */
static int cpu_impl_resize(cpu_impl *impl, int n)
{
    float *work[CPU_MAX_PARTS];
    cpu_pool *p = cpu_pool_create(n);
    if (!p || cpu_work_new(work, cpu_pool_size(p)) < 0) {
        cpu_pool_free(p);
        return -1;
    }
    cpu_pool_free(impl->pool);
    cpu_work_free(impl->work);
    impl->pool = p;
    memcpy(impl->work, work, sizeof work);
    return 0;
}

/* Resizes the pool; on failure keeps the old one (the thread count only
 * affects speed). */
static void cpu_set_threads(be_backend *be, int n)
{
    cpu_impl *impl = be->impl;
    n = n < 1 ? 1 : n > CPU_MAX_PARTS ? CPU_MAX_PARTS : n;
    if (cpu_pool_size(impl->pool) != n)
        (void)cpu_impl_resize(impl, n);
}

static void cpu_destroy(be_backend *be)
{
    if (!be)
        return;
    cpu_impl *impl = be->impl;
    if (impl) {
        cpu_pool_free(impl->pool);
        cpu_work_free(impl->work);
    }
    free(impl);
    free(be);
}

/* Returns NULL: nothing here fails after the fact. */
static const char *cpu_last_error(be_backend *be)
{
    (void)be;
    return NULL;
}

/* The CPU backend's operations; each backend object starts as a copy. */
static const be_backend cpu_table = {
    .name = "cpu",
    .alloc = cpu_alloc,
    .free = cpu_free,
    .upload = cpu_copy,
    .download = cpu_copy,
    .copy = cpu_copy,
    .zero = cpu_zero,
    .gemm = cpu_gemm,
    .prepared_bytes = cpu_prepared_bytes,
    .prepare = cpu_prepare,
    .gemm_prepared = cpu_gemm_prepared,
    .fill_rows = cpu_fill_rows,
    .gemm_bias = cpu_gemm_bias,
    .colsum_add = cpu_colsum_add,
    .embed_fwd = cpu_embed_fwd,
    .embed_bwd = cpu_embed_bwd,
    .lstm_fwd = cpu_lstm_fwd,
    .lstm_bwd = cpu_lstm_bwd,
    .gru_fwd = cpu_gru_fwd,
    .gru_bwd = cpu_gru_bwd,
    .rnn_fwd = cpu_rnn_fwd,
    .rnn_bwd = cpu_rnn_bwd,
    .lnlstm_fwd = cpu_lnlstm_fwd,
    .lnlstm_bwd = cpu_lnlstm_bwd,
    .colsum_mul_add = cpu_colsum_mul_add,
    .add = cpu_add,
    .dropout_fwd = cpu_dropout_fwd,
    .mul = cpu_mul,
    .xent = cpu_xent,
    .log_softmax = cpu_log_softmax,
    .copy_rows = cpu_copy_rows,
    .sumsq = cpu_sumsq,
    .scale = cpu_scale,
    .clamp = cpu_clamp,
    .sgd = cpu_sgd,
    .adam = cpu_adam,
    .rmsprop = cpu_rmsprop,
    .set_threads = cpu_set_threads,
    .destroy = cpu_destroy,
    .last_error = cpu_last_error,
    .pack = cpu_pack_weights,
    .packed_gemm = cpu_packed_gemm,
    .pack_free = cpu_pack_release,
};

be_backend *be_cpu_create(void)
{
    be_backend *be = malloc(sizeof *be);
    cpu_impl *impl = calloc(1, sizeof *impl);
    if (!be || !impl || cpu_impl_resize(impl, 1) < 0) {
        free(be);
        free(impl);
        return NULL;
    }
    /* All threading is ours (see cpu_gemm); OpenBLAS runs in the caller. */
    openblas_set_num_threads(1);
    *be = cpu_table;
    be->impl = impl;
    return be;
}

/* The kernel set this CPU runs: our SIMD level (each level sums in its own
 * order) and the kernels OpenBLAS picked at load time for the products it
 * still does (small shapes; every product without AVX-512).  Bits of a
 * training depend on both, so golden tests and benchmarks name them. */
void be_cpu_describe(char *buf, size_t len)
{
    const char *core = openblas_get_corename();
    snprintf(buf, len, "simd=%s openblas_core=%s", cpu_level_name(cpu_level_get()),
             core ? core : "unknown");
}

int be_cpu_simd_check(char *err, size_t errlen)
{
    return cpu_level_check(err, errlen);
}
