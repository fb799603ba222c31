/* cpu_simd.h - AVX-512 versions of the CPU backend's cell and optimizer loops.  GCC's
 * -O2 leaves those loops scalar (it vectorises only trip counts known to
 * be multiples of the vector width), which costs a generation step about
 * as much as a third of a weight matrix.  Same operations in the same
 * order as the scalar code, so the results agree to the last bit but for
 * the division, which both round the same way (IEEE). */
#ifndef CPU_SIMD_H
#define CPU_SIMD_H

#include <stddef.h>

#include "backend/backend.h"

/* cpu_lstm_fwd's contract (backend.h lstm_fwd).  Returns 0, or -1 (nothing
 * done) when the CPU lacks AVX-512. */
int cpu_simd_lstm_fwd(int B, int H, float *gates, const float *c_prev, float *c,
                      float *h);

/* The same for gru_fwd and rnn_fwd. */
int cpu_simd_gru_fwd(int B, int H, float *gx, const float *gh, const float *h_prev,
                     float *h);
int cpu_simd_rnn_fwd(int B, int H, const float *g, float *h);

/* backend.h adam over n elements (Adam, AdamW, NAdam), the scalar loop's
 * operations in its order, each rounded alike (no fused multiply-adds;
 * sqrt and division are exact in both), so the bits agree.  Returns 0, or
 * -1 (nothing done) when the CPU lacks AVX-512. */
int cpu_simd_adam(float *w, const float *g, float *m, float *v, size_t n,
                  const be_adam_step *s);

#endif
