/* cpu_small.h - matrix products with very few rows for the CPU backend:
 * generation steps multiply 1 to 8 state rows by large weight matrices,
 * a shape OpenBLAS's sgemm handles poorly (it packs the whole matrix for
 * a handful of rows). */
#ifndef CPU_SMALL_H
#define CPU_SMALL_H

#include <stdint.h>

#define CPU_SMALL_MAX_M 8

/* C[M,N] = alpha * A[M,K] * B[N,K]^T + beta * C for 1 <= M <= 8, row-major
 * with leading dimensions lda, ldb, ldc.  beta 0 ignores C's old values.
 * Returns 0, or -1 (nothing written) when the CPU lacks AVX2/FMA and
 * AVX-512 or the shape is out of range. */
int cpu_small_gemm_nt(int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc);

/* C[M,N] = alpha * A[M,K] * B[K,N] + beta * C (B not transposed) for
 * 1 <= M <= 8: the backward product of a recurrent step.  Returns 0, or -1
 * (nothing written) when the CPU lacks AVX-512 or the shape is out of
 * range. */
int cpu_small_gemm_nn(int M, int N, int K, float alpha, const float *A, int lda,
                      const float *B, int ldb, float beta, float *C, int ldc);

/* IEEE half conversions: exact widening; narrowing rounds to nearest even,
 * overflows to infinity. */
float cpu_half_to_float(uint16_t h);
uint16_t cpu_float_to_half(float x);

#endif
