/* cpu_gemm512.h - single-threaded AVX-512 sgemm for the CPU backend's large
 * products (whole-chunk input projections, weight gradients, input
 * gradients, the decoder).  The backend splits C across its worker team and
 * calls this once per block; OpenBLAS remains the path on CPUs without
 * AVX-512F and for the shapes cpu_gemm512_wanted turns down. */
#ifndef CPU_GEMM512_H
#define CPU_GEMM512_H

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
 * Returns 0, or -1 with nothing written when the CPU lacks AVX-512F, a size
 * is negative, or the packing buffer cannot be allocated. */
int cpu_gemm512(int ta, int tb, int M, int N, int K, float alpha, const float *A,
                int lda, const float *B, int ldb, float beta, float *C, int ldc);

#endif
