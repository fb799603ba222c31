/* cpu_lnlstm.h - the CPU backend's LayerNorm LSTM cell: rows b0..b1 of one
 * time step, forward and backward, each row in a single call that keeps it
 * in cache from the normalisation statistics to the new state.  The
 * contracts are backend.h's lnlstm_fwd and lnlstm_bwd; cpu_backend.c
 * splits the rows across its threads. */
#ifndef CPU_LNLSTM_H
#define CPU_LNLSTM_H
#include "backend/backend.h"

void cpu_lnlstm_fwd_rows(int b0, int b1, int H, const be_lnlstm_params *p, float *gx,
                         float *gh, float *gates, const float *c_prev, float *c,
                         float *h, float *cn, float *stats);

void cpu_lnlstm_bwd_rows(int b0, int b1, int H, const be_lnlstm_params *p,
                         const float *gx, const float *gh, const float *gates,
                         const float *c_prev, const float *cn, const float *stats,
                         const float *dh, float *dc, float *dgx, float *dgh, float *da,
                         float *dy);

#endif
