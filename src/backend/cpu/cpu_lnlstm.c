/* cpu_lnlstm.c - the LayerNorm LSTM cell on the CPU, row by row.
 *
 * Forward, per row: the means and variances of the ih and hh sums (4H
 * each), their normalised values and the affine sum a, the gates and the
 * new cell, the cell's mean and variance, then LN_c and h.  Backward runs
 * the chain rule back through the same steps.  A row (a few KiB) stays in
 * the first-level cache across these short loops, so memory is read and
 * written once per step, as by the plain cell.  Sums use 16 partial
 * accumulators: the vectoriser may not reorder one float sum, and 16 lanes
 * let it use whole registers. */
#include <math.h>
#include <stddef.h>

#include "backend/cpu/cpu_lnlstm.h"
#include "backend/cpu/cpu_math.h"

#define LANES 16

/* sum_k x[k] and sum_k y[k] over n elements. */
CPU_KERNEL static void sum2(const float *restrict x, const float *restrict y, int n,
                            float *sx, float *sy)
{
    float ax[LANES] = {0}, ay[LANES] = {0};
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int l = 0; l < LANES; l++) {
            ax[l] += x[k + l];
            ay[l] += y[k + l];
        }
    for (; k < n; k++) {
        ax[0] += x[k];
        ay[0] += y[k];
    }
    *sx = *sy = 0.0f;
    for (int l = 0; l < LANES; l++) {
        *sx += ax[l];
        *sy += ay[l];
    }
}

/* sum_k (x[k] - mx)^2 and sum_k (y[k] - my)^2: the variance's second
 * pass, exact where a one-pass formula would cancel. */
CPU_KERNEL static void sumsq2(const float *restrict x, float mx, const float *restrict y,
                              float my, int n, float *sx, float *sy)
{
    float ax[LANES] = {0}, ay[LANES] = {0};
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int l = 0; l < LANES; l++) {
            float dx = x[k + l] - mx, dy = y[k + l] - my;
            ax[l] += dx * dx;
            ay[l] += dy * dy;
        }
    for (; k < n; k++) {
        float dx = x[k] - mx, dy = y[k] - my;
        ax[0] += dx * dx;
        ay[0] += dy * dy;
    }
    *sx = *sy = 0.0f;
    for (int l = 0; l < LANES; l++) {
        *sx += ax[l];
        *sy += ay[l];
    }
}

/* sum_k d[k] w[k] and sum_k d[k] w[k] x[k] over n elements. */
CPU_KERNEL static void dot2(const float *restrict d, const float *restrict w,
                            const float *restrict x, int n, float *s1, float *s2)
{
    float a1[LANES] = {0}, a2[LANES] = {0};
    int k = 0;
    for (; k + LANES <= n; k += LANES)
        for (int l = 0; l < LANES; l++) {
            float u = d[k + l] * w[k + l];
            a1[l] += u;
            a2[l] += u * x[k + l];
        }
    for (; k < n; k++) {
        a1[0] += d[k] * w[k];
        a2[0] += d[k] * w[k] * x[k];
    }
    *s1 = *s2 = 0.0f;
    for (int l = 0; l < LANES; l++) {
        *s1 += a1[l];
        *s2 += a2[l];
    }
}

/* 1/sqrt(variance + eps) from a sum of squared deviations over n. */
static float inv_std(float ss, int n) { return 1.0f / sqrtf(ss / (float)n + BE_LN_EPS); }

/* x and y normalised in place (their means mx, my, inverse deviations
 * rx, ry) and a = x*wx + bx + y*wy + by, over n elements. */
CPU_KERNEL static void norm_sum(int n, float *restrict x, float mx, float rx,
                                float *restrict y, float my, float ry,
                                const be_lnlstm_params *p, float *restrict a)
{
    const float *restrict wx = p->ih_w, *restrict bx = p->ih_b;
    const float *restrict wy = p->hh_w, *restrict by = p->hh_b;
    for (int k = 0; k < n; k++) {
        float nx = (x[k] - mx) * rx, ny = (y[k] - my) * ry;
        x[k] = nx;
        y[k] = ny;
        a[k] = nx * wx[k] + bx[k] + ny * wy[k] + by[k];
    }
}

/* The gates from a (in place) and the new cell. */
CPU_KERNEL static void gates_cell(int H, float *restrict a, const float *restrict cp,
                                  float *restrict c)
{
    float *gi = a, *gf = a + H, *gg = a + 2 * H, *go = a + 3 * H;
    for (int j = 0; j < H; j++) {
        float i = cpu_sigmoid(gi[j]), f = cpu_sigmoid(gf[j]);
        float g = cpu_tanh(gg[j]), o = cpu_sigmoid(go[j]);
        gi[j] = i; gf[j] = f; gg[j] = g; go[j] = o;
        c[j] = f * cp[j] + i * g;
    }
}

/* cn = LN_c's normalised c, h = o * tanh(cn * w + b). */
CPU_KERNEL static void cell_out(int H, const float *restrict c, float mc, float rc,
                                const float *restrict w, const float *restrict b,
                                const float *restrict o, float *restrict cn,
                                float *restrict h)
{
    for (int j = 0; j < H; j++) {
        float n = (c[j] - mc) * rc;
        cn[j] = n;
        h[j] = o[j] * cpu_tanh(n * w[j] + b[j]);
    }
}

void cpu_lnlstm_fwd_rows(int b0, int b1, int H, const be_lnlstm_params *p, float *gx,
                         float *gh, float *gates, const float *c_prev, float *c,
                         float *h, float *cn, float *stats)
{
    int G = 4 * H;
    for (int b = b0; b < b1; b++) {
        float *x = gx + (size_t)b * G, *y = gh + (size_t)b * G, *a = gates + (size_t)b * G;
        float *cb = c + (size_t)b * H, *s = stats + (size_t)b * BE_LN_STATS;
        float sx, sy, vx, vy, mc, vc, unused;
        sum2(x, y, G, &sx, &sy);
        sx /= (float)G;
        sy /= (float)G;
        sumsq2(x, sx, y, sy, G, &vx, &vy);
        s[0] = inv_std(vx, G);
        s[1] = inv_std(vy, G);
        norm_sum(G, x, sx, s[0], y, sy, s[1], p, a);
        gates_cell(H, a, c_prev + (size_t)b * H, cb);
        sum2(cb, cb, H, &mc, &unused);
        mc /= (float)H;
        sumsq2(cb, mc, cb, mc, H, &vc, &unused);
        s[2] = inv_std(vc, H);
        cell_out(H, cb, mc, s[2], p->c_w, p->c_b, a + 3 * H, cn + (size_t)b * H,
                 h + (size_t)b * H);
    }
}

/* Backward through h = o * tanh(y), y = cn * w + b: dy and the output
 * gate's da; then the sums LN_c's backward needs (of dy * w and of
 * dy * w * cn). */
CPU_KERNEL static void bwd_out(int H, const float *restrict cn, const float *restrict w,
                               const float *restrict bc, const float *restrict o,
                               const float *restrict dh, float *restrict dy,
                               float *restrict dao, float *s1, float *s2)
{
    for (int j = 0; j < H; j++) {
        float t = cpu_tanh(cn[j] * w[j] + bc[j]);
        dy[j] = dh[j] * o[j] * (1.0f - t * t);
        dao[j] = dh[j] * t * o[j] * (1.0f - o[j]);
    }
    dot2(dy, w, cn, H, s1, s2);
}

/* The cell's gradient (carried dc plus LN_c's backward) into the gates'
 * da and dc_prev. */
CPU_KERNEL static void bwd_cell(int H, const float *restrict gt, const float *restrict cp,
                                const float *restrict cn, const float *restrict dy,
                                const float *restrict w, float rc, float m1, float m2,
                                float *restrict dc, float *restrict da)
{
    const float *gi = gt, *gf = gt + H, *gg = gt + 2 * H;
    float *di = da, *df = da + H, *dg = da + 2 * H;
    for (int j = 0; j < H; j++) {
        float d = dc[j] + rc * (dy[j] * w[j] - m1 - cn[j] * m2);
        float i = gi[j], f = gf[j], g = gg[j];
        di[j] = d * g * i * (1.0f - i);
        df[j] = d * cp[j] * f * (1.0f - f);
        dg[j] = d * i * (1.0f - g * g);
        dc[j] = d * f;
    }
}

/* LayerNorm backward of one sum: with u = da * w, the gradient of the
 * input is r * (u - mean(u) - xn * mean(u * xn)). */
CPU_KERNEL static void bwd_norm(int n, const float *restrict da, const float *restrict w,
                                const float *restrict xn, float r, float *restrict dx)
{
    float m1, m2;
    dot2(da, w, xn, n, &m1, &m2);
    m1 /= (float)n;
    m2 /= (float)n;
    for (int k = 0; k < n; k++)
        dx[k] = r * (da[k] * w[k] - m1 - xn[k] * m2);
}

void cpu_lnlstm_bwd_rows(int b0, int b1, int H, const be_lnlstm_params *p,
                         const float *gx, const float *gh, const float *gates,
                         const float *c_prev, const float *cn, const float *stats,
                         const float *dh, float *dc, float *dgx, float *dgh, float *da,
                         float *dy)
{
    size_t G = 4 * (size_t)H;
    for (int b = b0; b < b1; b++) {
        const float *s = stats + (size_t)b * BE_LN_STATS, *gt = gates + b * G;
        const float *cnb = cn + (size_t)b * H;
        float *dab = da + b * G, *dyb = dy + (size_t)b * H, s1, s2;
        bwd_out(H, cnb, p->c_w, p->c_b, gt + 3 * H, dh + (size_t)b * H, dyb, dab + 3 * H,
                &s1, &s2);
        bwd_cell(H, gt, c_prev + (size_t)b * H, cnb, dyb, p->c_w, s[2], s1 / (float)H,
                 s2 / (float)H, dc + (size_t)b * H, dab);
        bwd_norm((int)G, dab, p->ih_w, gx + b * G, s[0], dgx + b * G);
        bwd_norm((int)G, dab, p->hh_w, gh + b * G, s[1], dgh + b * G);
    }
}
