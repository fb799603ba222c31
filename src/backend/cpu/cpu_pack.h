/* cpu_pack.h - weight matrices packed for generation on the CPU.
 *
 * A generation step multiplies one state row (a few with beam search) by
 * every weight matrix of the model, so it reads all the weights once per
 * token and its speed is set by how many bytes that is.  A packed matrix
 * holds W = [W1 | W2] (two matrices with the same rows side by side, so a
 * layer's input and recurrent products are one pass over memory) as
 * 32-bit floats, IEEE halves, or 8-bit integers with one scale per row,
 * rows padded so the kernels never need a tail loop. */
#ifndef CPU_PACK_H
#define CPU_PACK_H

#include <stddef.h>

/* How a packed matrix stores its weights. */
typedef enum {
    CPU_PACK_F32 = 0,   /* exact */
    CPU_PACK_F16 = 1,   /* IEEE half, rounded to nearest even */
    CPU_PACK_I8 = 2     /* per-row symmetric 8-bit, inputs quantised per call */
} cpu_pack_kind;

typedef struct cpu_pack cpu_pack;

/* Packs W = [W1 | W2]: W1 is [N, K1] row-major, W2 [N, K2] (W2 may be NULL
 * with K2 = 0).  max_rows is the most input rows a product will be given.
 * Returns NULL when out of memory or a size is out of range. */
cpu_pack *cpu_pack_new(cpu_pack_kind kind, int N, const float *W1, int K1,
                       const float *W2, int K2, int max_rows);
void cpu_pack_free(cpu_pack *p);
/* Bytes the packed weights take (for reports). */
size_t cpu_pack_bytes(const cpu_pack *p);
int cpu_pack_rows(const cpu_pack *p);
/* Turns the SIMD kernels off (on = 0) or back on where the CPU has them;
 * returns whether they are used.  For tests: both paths must agree. */
int cpu_pack_set_simd(cpu_pack *p, int on);

/* Copies M input rows [x1 | x2] (row m at x1 + m*ld1 and x2 + m*ld2; x2
 * ignored when K2 = 0) into the pack's padded scratch, quantising them for
 * CPU_PACK_I8.  Must precede cpu_pack_gemm_rows; 1 <= M <= max_rows.
 * Not safe to call from two threads on one pack. */
void cpu_pack_load(cpu_pack *p, int M, const float *x1, int ld1, const float *x2, int ld2);

/* y[m, r] += sum_k x[m, k] W[r, k] for the loaded rows m and the weight
 * rows r in [r0, r1), r0 a multiple of CPU_PACK_BLOCK.  Different row
 * ranges may run on different threads at once. */
void cpu_pack_gemm_rows(const cpu_pack *p, float *y, int ldy, int r0, int r1);

/* Weight rows are processed in blocks of this many. */
#define CPU_PACK_BLOCK 8

#endif
