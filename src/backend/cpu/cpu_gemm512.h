/* cpu_gemm512.h - single-threaded AVX-512 sgemm for the CPU backend's large
 * products (whole-chunk input projections, weight gradients, input
 * gradients, the decoder), with a bias row added in the product where the
 * projections and the decoder want one.  The backend splits C across its worker team and
 * calls this once per block; OpenBLAS remains the path on CPUs without
 * AVX-512F and for the shapes cpu_gemm512_wanted turns down. */
#ifndef CPU_GEMM512_H
#define CPU_GEMM512_H

#include <stddef.h>

/* Whether the product C[M,N] += op(A)[M,K] op(B)[K,N] of a whole cpu_gemm
 * call should run here: the CPU has AVX-512F and the shape is big enough
 * for packing to pay (see cpu_gemm512.c's header).  A pure function of its
 * arguments and the CPU, so every block of one call takes the same path
 * and results depend only on how C is split. */
int cpu_gemm512_wanted(int M, int N, int K);

/* C[M,N] = alpha * op(A) op(B) + beta * C, row-major, op(A) = A[M,K] or,
 * with ta, A[K,M] transposed; op(B) = B[K,N] or, with tb, B[N,K]
 * transposed; leading dimensions lda, ldb, ldc.  beta 0 ignores C's old
 * values (NaN included).  Each element of C is summed over k in the same
 * order whatever M, N and the position of the block, so a block computed
 * alone agrees bit for bit with the same block inside a larger call.
 * work is the caller's packing space, cpu_gemm512_work_floats() floats
 * aligned to 64 bytes, used by one call at a time.  Returns 0, or -1 with
 * nothing written when the CPU lacks AVX-512F, a size is negative or work
 * is NULL (never for want of memory). */
int cpu_gemm512(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc,
                float *work);

/* C[M,N] = op(A) op(B) + (b1 + b2) on every row, b1[j] and b2[j] (b2
 * may be NULL) the bias of C's column j: the same bits as C filled with
 * fl(b1 + b2) and then cpu_gemm512 with alpha 1, beta 1, without reading
 * C.  Arguments and return as cpu_gemm512 (-1 also when b1 is NULL). */
int cpu_gemm512_bias(int ta, int tb, int M, int N, int K, const float *A, int lda,
                     const float *B, int ldb, const float *b1, const float *b2, float *C,
                     int ldc, float *work);

/* Floats of the packing space cpu_gemm512 and cpu_gemm512_packed take; 0
 * when the CPU lacks AVX-512F (nothing here runs). */
size_t cpu_gemm512_work_floats(void);

/* op(B) [K,N] packed once for many products (a recurrent layer's weights,
 * multiplied by every time step's rows): the floats it takes, 0 when a
 * size is not positive. */
size_t cpu_gemm512_packed_floats(int N, int K);

/* Packs op(B)'s columns j0..j1 (j0 a multiple of 32; op(B) = B[K,N], or
 * B[N,K] transposed with tb) into P, 64-byte aligned and sized by
 * cpu_gemm512_packed_floats for the whole N; disjoint column ranges may be
 * packed by different threads at once.  Returns 0, or -1 (nothing written) when the CPU lacks
 * AVX-512F or j0 is not a multiple of 32. */
int cpu_gemm512_pack(int tb, int K, const float *B, int ldb, int j0, int j1, float *P);

/* C[M,N] = alpha * A[M,K] op(B) + beta * C with op(B) from
 * cpu_gemm512_pack: P + j0 * K for the block of columns j0.. (j0 a
 * multiple of 32) gives C's columns j0..j0+N.  The same bits as
 * cpu_gemm512(0, tb, ...) on the same block.  Returns as cpu_gemm512. */
int cpu_gemm512_packed(int M, int N, int K, float alpha, const float *A, int lda,
                       const float *P, float beta, float *C, int ldc, float *work);

#endif
