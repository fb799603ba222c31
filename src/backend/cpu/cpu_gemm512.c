/* cpu_gemm512.c - single-threaded AVX-512 sgemm for the large products of
 * training: C[M,N] = alpha * op(A) op(B) + beta * C, row-major, A and B
 * either way round (the trainer issues NT for the input projections and
 * the decoder, TN for the weight gradients, NN for the input gradients),
 * or C = op(A) op(B) + a bias row (b1 + b2) on every row, the bias added
 * where the first block's sums are stored, so the projections and the
 * decoder need no separate pass filling C with it.
 *
 * Why our own: OpenBLAS may be held to its AVX2 kernels on AVX-512 CPUs
 * (OPENBLAS_CORETYPE, set where old builds misbehave), which halves its
 * speed; these products are most of a training step.
 *
 * How: the classic packed scheme.  For each block of NC columns and KC
 * steps of k, op(B) is copied into panels of G5_NR = 32 columns, k-major
 * (KC x NC floats, 512 KiB: held in L2); for each G5_MC = 96 rows, op(A)
 * is copied into panels of G5_MR = 12 rows x KC, k-major (96 KiB in all,
 * held in L2).  Each panel of B (32 KiB) then meets every panel of A's
 * block while it sits in L1: the A panels stream from L2 at 48 bytes per
 * k, a third of what streaming B's panels past a resident A panel cost
 * (bench/gemm_shapes on one thread: about 0.72 of the FMA peak on the
 * large training shapes that way, 0.77-0.83 this way), and a few-row
 * product reads each panel of B once.  The
 * micro-kernel keeps a 12 x 32 tile of C in 24 zmm registers and, per k,
 * loads two vectors of B and broadcasts 12 values of A: 24 FMAs per 14
 * loads, so it is bound by the two FMA ports, not by memory.  The last
 * panel of rows runs a 4- or 8-row tile when that covers it (32 rows:
 * 12 + 12 + 8 rows of FMAs, not 36).  Tails are zero-padded in the
 * panels and stored under masks, so any M, N, K works.  The transposes
 * are handled only by the packing.
 *
 * Summation order: each element of C is the sum over k in order, in one
 * accumulator per KC block, each block's sum added to C in turn (with a
 * bias, the first block's to fl(b1 + b2): the bits of filling C with the
 * bias and then multiplying with beta 1).  That
 * does not depend on where the element sits in the block or on M and N,
 * so a block of C computed alone equals the same block of a larger call:
 * the backend's split across threads never changes the results.
 *
 * When it runs (cpu_gemm512_wanted, decided once per shape of a whole
 * cpu_gemm call, never per block, so all blocks of a call agree):
 *
 *   | CPU         | shape (M x N x K)                     | path     |
 *   | ----------- | ------------------------------------- | -------- |
 *   | no AVX-512F | any                                   | OpenBLAS |
 *   | (or RNNLAB_SIMD below avx512: cpu_level.h)          |          |
 *   | AVX-512F    | M*N*K < 64^3 (packing would not pay)  | OpenBLAS |
 *   | AVX-512F    | the rest                              | here     |
 *
 * The backend's few-row path (per-step recurrent products, generation)
 * comes before this one, but hands over the products of more than 8 rows
 * (a training step's streams).  The trainer packs W_hh once per layer and
 * chunk for both (cpu_gemm512_pack, cpu_gemm512_packed: the forward's
 * C = A W^T, the backward's C = A W), with the same sums; unpacked, a
 * few-row NN product reads B in place (see g5_run).
 *
 * Memory: the caller hands in the packing space (cpu_gemm512_work_floats;
 * the backend keeps one per worker), so a product never allocates and
 * never fails for want of memory: every block of a split takes this path
 * and the results stay those of the thread count. */
#include <stddef.h>

#include "backend/cpu/cpu_gemm512.h"
#include "backend/cpu/cpu_level.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define G5_X86 1
#endif

#define G5_MR 12                  /* rows of the register tile */
#define G5_NR 32                  /* columns of the register tile: two zmm */
#define G5_KC 256                 /* k steps per packed block */
#define G5_NC 512                 /* columns per packed block of op(B) */
#define G5_MC 96                  /* rows per packed block of op(A) */
/* whole panels per block: the packing buffer is sized on it */
_Static_assert(G5_MC % G5_MR == 0 && G5_NC % G5_NR == 0, "blocks of whole panels");
#define G5_MIN_WORK (64.0 * 64.0 * 64.0)

int cpu_gemm512_wanted(int M, int N, int K)
{
#ifdef G5_X86
    return M > 0 && N > 0 && K > 0 && (double)M * N * K >= G5_MIN_WORK &&
           cpu_level_get() >= CPU_LEVEL_AVX512;
#else
    (void)M; (void)N; (void)K;
    return 0;
#endif
}

#ifdef G5_X86

#define G5_SIMD __attribute__((target("avx512f")))

static int g5_min(int a, int b) { return a < b ? a : b; }

static inline G5_SIMD __mmask16 g5_mask(int n)
{
    return n >= 16 ? (__mmask16)0xFFFF : n <= 0 ? (__mmask16)0 : (__mmask16)((1u << n) - 1u);
}

/* Transposes the 16 x 16 block r in place (r[i][j] becomes r[j][i]): pairs
 * of rows interleaved, then groups of four within each 128-bit lane, then
 * the lanes themselves moved, 64 shuffles in all. */
static inline __attribute__((always_inline)) G5_SIMD void g5_transpose16(__m512 r[16])
{
    __m512 t[16];
#pragma GCC unroll 8
    for (int i = 0; i < 8; i++) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    /* r[4g + c], 128-bit lane L: column 4L + c of rows 4g..4g+3 */
#pragma GCC unroll 4
    for (int g = 0; g < 4; g++) {
        r[4 * g] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
        r[4 * g + 1] = _mm512_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
        r[4 * g + 2] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
        r[4 * g + 3] = _mm512_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    /* whole 128-bit lanes: column j = 4L + c gathers lane L of r[c],
     * r[4 + c], r[8 + c], r[12 + c] */
#pragma GCC unroll 4
    for (int c = 0; c < 4; c++) {
        __m512 even0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0x88);
        __m512 odd0 = _mm512_shuffle_f32x4(r[c], r[4 + c], 0xDD);
        __m512 even1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0x88);
        __m512 odd1 = _mm512_shuffle_f32x4(r[8 + c], r[12 + c], 0xDD);
        t[c] = _mm512_shuffle_f32x4(even0, even1, 0x88);
        t[8 + c] = _mm512_shuffle_f32x4(even0, even1, 0xDD);
        t[4 + c] = _mm512_shuffle_f32x4(odd0, odd1, 0x88);
        t[12 + c] = _mm512_shuffle_f32x4(odd0, odd1, 0xDD);
    }
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = t[i];
}

/* Copies `rows` rows (at most 16) of n <= 16 values, row i at src + i * ld,
 * transposed: value k of row i lands at dst[k * dstride + i], for k < n and
 * i < width (rows <= width <= 16); lanes rows..width are zero. */
static G5_SIMD void g5_transpose_block(const float *src, size_t ld, int rows, int n,
                                       float *dst, int dstride, int width)
{
    __m512 r[16];
    __mmask16 m = g5_mask(n), out = g5_mask(width);
#pragma GCC unroll 16
    for (int i = 0; i < 16; i++)
        r[i] = i < rows ? _mm512_maskz_loadu_ps(m, src + i * ld) : _mm512_setzero_ps();
    g5_transpose16(r);
    for (int k = 0; k < n; k++)
        _mm512_mask_storeu_ps(dst + (size_t)k * dstride, out, r[k]);
}

/* Rows i0..i0+mc of op(A), steps k0..k0+kc, into panels of G5_MR rows,
 * panel p at Ap + p * G5_MR * kc holding Ap[k * G5_MR + i]; rows past mc in
 * the last panel are zero (they are computed and never stored: zeros keep
 * them free of NaN and denormal slow paths). */
static G5_SIMD void g5_pack_a(int ta, const float *A, int lda, int i0, int mc, int k0,
                              int kc, float *restrict Ap)
{
    if (ta) {
        /* op(A)[i][k] = A[k][i]: each k is a contiguous run of mc values,
         * read whole (A's rows are far apart: one pass over them) */
        for (int k = 0; k < kc; k++) {
            const float *a = A + (size_t)(k0 + k) * lda + i0;
            for (int ip = 0; ip < mc; ip += G5_MR)
                _mm512_mask_storeu_ps(Ap + (size_t)ip * kc + (size_t)k * G5_MR,
                                      g5_mask(G5_MR),
                                      _mm512_maskz_loadu_ps(g5_mask(mc - ip), a + ip));
        }
        return;
    }
    /* op(A)[i][k] = A[i][k]: 16 steps of k of a panel's rows at a time,
     * turned */
    for (int ip = 0; ip < mc; ip += G5_MR) {
        const float *a = A + (size_t)(i0 + ip) * lda + k0;
        float *d = Ap + (size_t)ip * kc;
        int mr = g5_min(G5_MR, mc - ip);
        for (int k = 0; k < kc; k += 16)
            g5_transpose_block(a + k, (size_t)lda, mr, g5_min(16, kc - k),
                               d + (size_t)k * G5_MR, G5_MR, G5_MR);
    }
}

/* One panel of nr <= G5_NR columns j0.. of op(B), steps k0..k0+kc, into
 * Bp[k * G5_NR + j], columns past nr zero. */
static G5_SIMD void g5_pack_b_panel(int tb, const float *B, int ldb, int k0, int kc,
                                    int j0, int nr, float *restrict Bp)
{
    if (!tb) {
        /* op(B)[k][j] = B[k][j]: each k is a contiguous run */
        __mmask16 m0 = g5_mask(nr), m1 = g5_mask(nr - 16);
        for (int k = 0; k < kc; k++) {
            const float *b = B + (size_t)(k0 + k) * ldb + j0;
            _mm512_store_ps(Bp + (size_t)k * G5_NR, _mm512_maskz_loadu_ps(m0, b));
            _mm512_store_ps(Bp + (size_t)k * G5_NR + 16, _mm512_maskz_loadu_ps(m1, b + 16));
        }
        return;
    }
    /* op(B)[k][j] = B[j][k]: 16 rows of B by 16 steps of k at a time,
     * turned; rows past nr come out zero */
    for (int half = 0; half < 2; half++) {
        const float *b = B + (size_t)(j0 + 16 * half) * ldb + k0;
        int rows = nr - 16 * half < 0 ? 0 : g5_min(16, nr - 16 * half);
        for (int k = 0; k < kc; k += 16)
            g5_transpose_block(b + k, (size_t)ldb, rows, g5_min(16, kc - k),
                               Bp + (size_t)k * G5_NR + 16 * half, G5_NR, 16);
    }
}

/* The bias row of a tile's columns under masks m0, m1: fl(b1 + b2), as
 * fill_rows computes it (b1 alone when b2 is NULL). */
static inline __attribute__((always_inline)) G5_SIMD void
g5_bias(const float *b1, const float *b2, __mmask16 m0, __mmask16 m1, __m512 *v0,
        __m512 *v1)
{
    *v0 = _mm512_maskz_loadu_ps(m0, b1);
    *v1 = _mm512_maskz_loadu_ps(m1, b1 + 16);
    if (b2) {
        *v0 = _mm512_add_ps(*v0, _mm512_maskz_loadu_ps(m0, b2));
        *v1 = _mm512_add_ps(*v1, _mm512_maskz_loadu_ps(m1, b2 + 16));
    }
}

/* C[mr, nr] = alpha * Ap Bp + beta * C over kc steps (or, when b1 is not
 * NULL, alpha * Ap Bp + (b1 + b2), b1 and b2 at the tile's columns, b2
 * possibly NULL), for compile-time
 * MR (the rows computed: 12, or 8 or 4 for the last panel of a few-row
 * product, so 32 rows cost 12 + 12 + 8 rows of FMAs, not 36), NV vectors
 * (2: nr up to 32; 1: nr up to 16, the last panel of a narrow N) and FULL
 * (B's panel has all its columns in memory, zero-padded when packed: plain
 * loads; otherwise masked ones, whose mask registers would cost a port-5
 * move per k).  Ap's panels are G5_MR rows apart whatever MR.  beta 0
 * does not read C, nor does a bias.  The sums do not depend on MR, NV or
 * FULL. */
static inline __attribute__((always_inline)) G5_SIMD void
g5_tile(const int MR, const int NV, const int FULL, int kc, const float *restrict Ap,
        const float *restrict Bp, size_t ldbp, float *C, int ldc, int mr, int nr,
        float alpha, float beta, const float *b1, const float *b2)
{
    __m512 c0[G5_MR], c1[G5_MR];
    __mmask16 m0 = g5_mask(nr), m1 = g5_mask(nr - 16);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        c0[i] = _mm512_setzero_ps();
        c1[i] = _mm512_setzero_ps();
        /* the tile of C is read and written after the k loop: ask for it
         * now, so its misses overlap the arithmetic */
        _mm_prefetch((const char *)(C + (size_t)(i < mr ? i : 0) * ldc), _MM_HINT_T0);
        _mm_prefetch((const char *)(C + (size_t)(i < mr ? i : 0) * ldc + 16), _MM_HINT_T0);
    }
    for (int k = 0; k < kc; k++) {
        const float *a = Ap + (size_t)k * G5_MR;
        const float *b = Bp + (size_t)k * ldbp;
        __m512 b0 = FULL ? _mm512_loadu_ps(b) : _mm512_maskz_loadu_ps(m0, b);
        __m512 b1 = NV < 2 ? b0 : FULL ? _mm512_loadu_ps(b + 16)
                                       : _mm512_maskz_loadu_ps(m1, b + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 av = _mm512_set1_ps(a[i]);
            c0[i] = _mm512_fmadd_ps(av, b0, c0[i]);
            if (NV > 1)
                c1[i] = _mm512_fmadd_ps(av, b1, c1[i]);
        }
    }
    __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
    __m512 bias0 = _mm512_setzero_ps(), bias1 = _mm512_setzero_ps();
    if (b1)
        g5_bias(b1, b2, m0, m1, &bias0, &bias1);
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) {
        if (i >= mr)
            break;
        float *c = C + (size_t)i * ldc;
        __m512 r0 = _mm512_mul_ps(va, c0[i]);
        /* fl(bias + r0) is what fma(1, C, r0) gave over a filled C */
        if (b1)
            r0 = _mm512_add_ps(bias0, r0);
        else if (beta != 0.0f)
            r0 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m0, c), r0);
        _mm512_mask_storeu_ps(c, m0, r0);
        if (NV > 1) {
            __m512 r1 = _mm512_mul_ps(va, c1[i]);
            if (b1)
                r1 = _mm512_add_ps(bias1, r1);
            else if (beta != 0.0f)
                r1 = _mm512_fmadd_ps(vb, _mm512_maskz_loadu_ps(m1, c + 16), r1);
            _mm512_mask_storeu_ps(c + 16, m1, r1);
        }
    }
}

/* The instances g5_block calls: named, so a profile tells them apart. */
#define G5_TILE_FN(name, MR, NV, FULL)                                                   \
    static G5_SIMD void name(int kc, const float *Ap, const float *Bp, size_t ldbp,      \
                             float *C, int ldc, int mr, int nr, float alpha, float beta, \
                             const float *b1, const float *b2)                           \
    {                                                                                    \
        g5_tile(MR, NV, FULL, kc, Ap, Bp, ldbp, C, ldc, mr, nr, alpha, beta, b1, b2);    \
    }
G5_TILE_FN(g5_tile_wide, G5_MR, 2, 1)
G5_TILE_FN(g5_tile_wide8, 8, 2, 1)
G5_TILE_FN(g5_tile_wide4, 4, 2, 1)
G5_TILE_FN(g5_tile_edge, G5_MR, 2, 0)
G5_TILE_FN(g5_tile_narrow, G5_MR, 1, 0)

typedef void (*g5_tile_fn)(int kc, const float *Ap, const float *Bp, size_t ldbp, float *C,
                           int ldc, int mr, int nr, float alpha, float beta,
                           const float *b1, const float *b2);

/* The tile for mr rows and nr columns of a panel whose columns are all in
 * memory (full) or only nr of them. */
static g5_tile_fn g5_tile_for(int mr, int nr, int full)
{
    if (nr <= 16)
        return g5_tile_narrow;
    if (!full && nr < G5_NR)
        return g5_tile_edge;
    return mr <= 4 ? g5_tile_wide4 : mr <= 8 ? g5_tile_wide8 : g5_tile_wide;
}

/* The arguments of one product, passed down the loop nest. */
typedef struct g5_args {
    const float *A, *B;           /* as stored; ta, tb say how to read them */
    float *C;
    int ta, tb, lda, ldb, ldc;
    int M, N, K;
    float alpha, beta;
    const float *b1, *b2;         /* the bias row (b2 may be NULL); NULL: none */
} g5_args;

/* op(B)'s block as the tiles read it: panel p (columns p * G5_NR..) at
 * base + p * step, k row after k row ld floats apart.  Packed: step
 * G5_NR * kc, ld G5_NR, and every panel full (zero columns past N); read
 * in place (NN with few rows): step G5_NR, ld ldb, and a last panel of
 * fewer columns must not be read past them (B may end there). */
typedef struct g5_panels {
    const float *base;
    size_t step, ld;
    int full;
} g5_panels;

/* Every row of C against op(B)'s columns j0..j0+nc, steps k0..k0+kc;
 * the first block of k (first) adds its sums to the bias or to beta * C,
 * the later ones to C.  For each block of G5_MC rows, op(A)'s panels are
 * packed, then each panel of op(B) meets all of them in turn: the panel
 * (32 KiB) stays in L1 while the block of A (at most 96 KiB) comes from
 * L2, and a few-row product (a time step's 32 streams) reads each panel of
 * B once, not once per 12 rows. */
static void g5_block(const g5_args *g, float *Ap, const g5_panels *bp, int j0, int nc,
                     int k0, int kc, int first)
{
    float beta = first ? g->beta : 1.0f;
    const float *b1 = first ? g->b1 : NULL, *b2 = g->b2;
    for (int i0 = 0; i0 < g->M; i0 += G5_MC) {
        int mc = g5_min(G5_MC, g->M - i0);
        g5_pack_a(g->ta, g->A, g->lda, i0, mc, k0, kc, Ap);
        for (int jp = 0; jp < nc; jp += G5_NR) {
            int nr = g5_min(G5_NR, nc - jp);
            const float *panel_b = bp->base + (size_t)(jp / G5_NR) * bp->step;
            for (int ip = 0; ip < mc; ip += G5_MR) {
                int mr = g5_min(G5_MR, mc - ip);
                float *Ci = g->C + (size_t)(i0 + ip) * g->ldc + j0 + jp;
                g5_tile_for(mr, nr, bp->full)(kc, Ap + (size_t)ip * kc, panel_b, bp->ld, Ci,
                                              g->ldc, mr, nr, g->alpha, beta,
                                              b1 ? b1 + j0 + jp : NULL,
                                              b1 && b2 ? b2 + j0 + jp : NULL);
            }
        }
    }
}

/* K = 0: C = beta * C, or the bias (op(A) op(B) is empty). */
static void g5_scale(const g5_args *g)
{
    for (int i = 0; i < g->M; i++)
        for (int j = 0; j < g->N; j++) {
            float *c = g->C + (size_t)i * g->ldc + j;
            if (g->b1)
                *c = g->b2 ? g->b1[j] + g->b2[j] : g->b1[j];
            else
                *c = g->beta == 0.0f ? 0.0f : g->beta * *c;
        }
}

static void g5_run(const g5_args *g, float *work)
{
    if (g->K == 0) {
        g5_scale(g);
        return;
    }
    /* B as it is stored serves when its k rows are contiguous and few
     * panels of A pass over it (one block of rows: a training step's
     * backward product, 32 x H x 4H); packing would cost as much as the
     * reads it saves.  The sums are the same either way. */
    int in_place = !g->tb && g->M <= G5_MC;
    float *Bp = work, *Ap = work + (size_t)G5_KC * G5_NC;
    for (int j0 = 0; j0 < g->N; j0 += G5_NC) {
        int ncb = g5_min(G5_NC, g->N - j0);
        for (int k0 = 0; k0 < g->K; k0 += G5_KC) {
            int kcb = g5_min(G5_KC, g->K - k0);
            g5_panels bp = { Bp, (size_t)G5_NR * kcb, G5_NR, 1 };
            if (in_place)
                bp = (g5_panels){ g->B + (size_t)k0 * g->ldb + j0, G5_NR, (size_t)g->ldb, 0 };
            else
                for (int jp = 0; jp < ncb; jp += G5_NR)
                    g5_pack_b_panel(g->tb, g->B, g->ldb, k0, kcb, j0 + jp,
                                    g5_min(G5_NR, ncb - jp), Bp + (size_t)jp * kcb);
            g5_block(g, Ap, &bp, j0, ncb, k0, kcb, k0 == 0);
        }
    }
}

/* The same product with op(B) packed beforehand (cpu_gemm512_pack): panel
 * p holds columns 32p.. over all K steps, k-major, so block k0 of it is
 * at P + p * 32 * K + k0 * 32.  The blocks of k and the tiles are those
 * of g5_run, hence the same sums. */
static void g5_run_packed(const g5_args *g, const float *P, float *work)
{
    if (g->K == 0) {
        g5_scale(g);
        return;
    }
    for (int k0 = 0; k0 < g->K; k0 += G5_KC) {
        int kcb = g5_min(G5_KC, g->K - k0);
        g5_panels bp = { P + (size_t)k0 * G5_NR, (size_t)G5_NR * g->K, G5_NR, 1 };
        g5_block(g, work, &bp, 0, g->N, k0, kcb, k0 == 0);
    }
}

#endif

size_t cpu_gemm512_work_floats(void)
{
#ifdef G5_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512)
        return (size_t)G5_KC * (G5_NC + G5_MC);
#endif
    return 0;
}

size_t cpu_gemm512_packed_floats(int N, int K)
{
    if (N <= 0 || K <= 0)
        return 0;
    return (size_t)((N + G5_NR - 1) / G5_NR) * G5_NR * (size_t)K;
}

int cpu_gemm512_pack(int tb, int K, const float *B, int ldb, int j0, int j1, float *P)
{
#ifdef G5_X86
    if (K < 0 || j0 < 0 || j0 % G5_NR || j1 < j0 || cpu_level_get() < CPU_LEVEL_AVX512)
        return -1;
    for (int j = j0; j < j1; j += G5_NR)
        for (int k0 = 0; k0 < K; k0 += G5_KC)
            g5_pack_b_panel(tb, B, ldb, k0, g5_min(G5_KC, K - k0), j,
                            g5_min(G5_NR, j1 - j), P + (size_t)j * K + (size_t)k0 * G5_NR);
    return 0;
#else
    (void)tb; (void)K; (void)B; (void)ldb; (void)j0; (void)j1; (void)P;
    return -1;
#endif
}

int cpu_gemm512_packed(int M, int N, int K, float alpha, const float *A, int lda,
                       const float *P, float beta, float *C, int ldc, float *work)
{
#ifdef G5_X86
    if (M < 0 || N < 0 || K < 0 || !work || cpu_level_get() < CPU_LEVEL_AVX512)
        return -1;
    if (M == 0 || N == 0)
        return 0;
    g5_args g = { .A = A, .C = C, .ldc = ldc, .lda = lda, .M = M, .N = N, .K = K,
                  .alpha = alpha, .beta = beta };
    g5_run_packed(&g, P, work);
    return 0;
#else
    (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda; (void)P; (void)beta;
    (void)C; (void)ldc; (void)work;
    return -1;
#endif
}

int cpu_gemm512(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc, float *work)
{
#ifdef G5_X86
    if (M < 0 || N < 0 || K < 0 || !work || cpu_level_get() < CPU_LEVEL_AVX512)
        return -1;
    if (M == 0 || N == 0)
        return 0;
    g5_args g = { .A = A, .B = B, .C = C, .ta = ta, .tb = tb, .lda = lda, .ldb = ldb,
                  .ldc = ldc, .M = M, .N = N, .K = K, .alpha = alpha, .beta = beta };
    g5_run(&g, work);
    return 0;
#else
    (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)alpha; (void)A; (void)lda;
    (void)B; (void)ldb; (void)beta; (void)C; (void)ldc; (void)work;
    return -1;
#endif
}

int cpu_gemm512_bias(int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, const float *b1, const float *b2, float *C,
                     int ldc, float *work)
{
#ifdef G5_X86
    if (M < 0 || N < 0 || K < 0 || !work || !b1 || cpu_level_get() < CPU_LEVEL_AVX512)
        return -1;
    if (M == 0 || N == 0)
        return 0;
    g5_args g = { .A = A, .B = B, .C = C, .ta = ta, .tb = tb, .lda = lda, .ldb = ldb,
                  .ldc = ldc, .M = M, .N = N, .K = K, .alpha = 1.0f, .beta = 1.0f,
                  .b1 = b1, .b2 = b2 };
    g5_run(&g, work);
    return 0;
#else
    (void)ta; (void)tb; (void)M; (void)N; (void)K; (void)A; (void)lda; (void)B; (void)ldb;
    (void)b1; (void)b2; (void)C; (void)ldc; (void)work;
    return -1;
#endif
}
