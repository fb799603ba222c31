/* cpu_simd.c - the cells and Adam (the clip's factor applied as the
 * gradient is read) in AVX-512: 16 hidden units at a time, the tail of H
 * under a mask.  exp is cpu_backend.c's cpu_exp step for step
 * (clamp, n = round(x / ln 2), the two-part reduction, the degree-6
 * polynomial, 2^n from the exponent bits); without contraction, as the
 * scalar code is compiled in ISO C mode. */
#include <stddef.h>

#include "backend/cpu/cpu_level.h"
#include "backend/cpu/cpu_simd.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__x86_64__)
#include <immintrin.h>
#define CPU_SIMD_X86 1
#endif

#ifdef CPU_SIMD_X86

#define SIMD __attribute__((target("avx512f")))
#define K(v) _mm512_set1_ps(v)

SIMD static inline __m512 vs_exp(__m512 x)
{
    x = _mm512_max_ps(x, K(-87.0f));
    x = _mm512_min_ps(x, K(88.0f));
    __m512 n = _mm512_sub_ps(_mm512_add_ps(_mm512_mul_ps(x, K(1.44269504088896341f)),
                                           K(12582912.0f)), K(12582912.0f));
    __m512 r = _mm512_sub_ps(x, _mm512_mul_ps(n, K(0.693145751953125f)));
    r = _mm512_sub_ps(r, _mm512_mul_ps(n, K(1.428606765330187045e-06f)));
    __m512 p = K(1.0f / 720.0f);
    p = _mm512_add_ps(_mm512_mul_ps(p, r), K(1.0f / 120.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), K(1.0f / 24.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), K(1.0f / 6.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), K(0.5f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), K(1.0f));
    p = _mm512_add_ps(_mm512_mul_ps(p, r), K(1.0f));
    __m512i e = _mm512_slli_epi32(_mm512_add_epi32(_mm512_cvttps_epi32(n),
                                                   _mm512_set1_epi32(127)), 23);
    return _mm512_mul_ps(p, _mm512_castsi512_ps(e));
}

SIMD static inline __m512 vs_sigmoid(__m512 x)
{
    __m512 neg = _mm512_castsi512_ps(_mm512_xor_si512(_mm512_castps_si512(x),
                                                      _mm512_set1_epi32((int)0x80000000u)));
    return _mm512_div_ps(K(1.0f), _mm512_add_ps(K(1.0f), vs_exp(neg)));
}

SIMD static inline __m512 vs_tanh(__m512 x)
{
    __m512i bits = _mm512_castps_si512(x), sign = _mm512_set1_epi32((int)0x80000000u);
    __m512 ax = _mm512_castsi512_ps(_mm512_andnot_si512(sign, bits));
    __m512 e = vs_exp(_mm512_mul_ps(K(-2.0f), ax));
    __m512 t = _mm512_div_ps(_mm512_sub_ps(K(1.0f), e), _mm512_add_ps(K(1.0f), e));
    return _mm512_castsi512_ps(_mm512_or_si512(_mm512_castps_si512(t),
                                               _mm512_and_si512(bits, sign)));
}

SIMD static void vs_lstm(int B, int H, float *gates, const float *c_prev, float *c,
                         float *h)
{
    for (int b = 0; b < B; b++) {
        float *gi = gates + (size_t)b * 4 * H, *gf = gi + H, *gg = gf + H, *go = gg + H;
        const float *cp = c_prev + (size_t)b * H;
        float *cb = c + (size_t)b * H, *hb = h + (size_t)b * H;
        for (int j = 0; j < H; j += 16) {
            __mmask16 m = H - j >= 16 ? (__mmask16)0xFFFF
                                      : (__mmask16)((1u << (H - j)) - 1u);
            __m512 i = vs_sigmoid(_mm512_maskz_loadu_ps(m, gi + j));
            __m512 f = vs_sigmoid(_mm512_maskz_loadu_ps(m, gf + j));
            __m512 g = vs_tanh(_mm512_maskz_loadu_ps(m, gg + j));
            __m512 o = vs_sigmoid(_mm512_maskz_loadu_ps(m, go + j));
            __m512 cn = _mm512_add_ps(_mm512_mul_ps(f, _mm512_maskz_loadu_ps(m, cp + j)),
                                      _mm512_mul_ps(i, g));
            _mm512_mask_storeu_ps(gi + j, m, i);
            _mm512_mask_storeu_ps(gf + j, m, f);
            _mm512_mask_storeu_ps(gg + j, m, g);
            _mm512_mask_storeu_ps(go + j, m, o);
            _mm512_mask_storeu_ps(cb + j, m, cn);
            _mm512_mask_storeu_ps(hb + j, m, _mm512_mul_ps(o, vs_tanh(cn)));
        }
    }
}

SIMD static void vs_gru(int B, int H, float *gx, const float *gh, const float *h_prev,
                        float *h)
{
    for (int b = 0; b < B; b++) {
        float *xr = gx + (size_t)b * 3 * H, *xz = xr + H, *xn = xz + H;
        const float *hr = gh + (size_t)b * 3 * H, *hz = hr + H, *hn = hz + H;
        const float *hp = h_prev + (size_t)b * H;
        float *hb = h + (size_t)b * H;
        for (int j = 0; j < H; j += 16) {
            __mmask16 m = H - j >= 16 ? (__mmask16)0xFFFF
                                      : (__mmask16)((1u << (H - j)) - 1u);
            __m512 r = vs_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xr + j),
                                                _mm512_maskz_loadu_ps(m, hr + j)));
            __m512 z = vs_sigmoid(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xz + j),
                                                _mm512_maskz_loadu_ps(m, hz + j)));
            __m512 n = vs_tanh(_mm512_add_ps(_mm512_maskz_loadu_ps(m, xn + j),
                                             _mm512_mul_ps(r, _mm512_maskz_loadu_ps(m, hn + j))));
            _mm512_mask_storeu_ps(xr + j, m, r);
            _mm512_mask_storeu_ps(xz + j, m, z);
            _mm512_mask_storeu_ps(xn + j, m, n);
            __m512 out = _mm512_add_ps(_mm512_mul_ps(_mm512_sub_ps(K(1.0f), z), n),
                                       _mm512_mul_ps(z, _mm512_maskz_loadu_ps(m, hp + j)));
            _mm512_mask_storeu_ps(hb + j, m, out);
        }
    }
}

SIMD static void vs_rnn(size_t n, const float *g, float *h)
{
    for (size_t i = 0; i < n; i += 16) {
        __mmask16 m = n - i >= 16 ? (__mmask16)0xFFFF : (__mmask16)((1u << (n - i)) - 1u);
        _mm512_mask_storeu_ps(h + i, m, vs_tanh(_mm512_maskz_loadu_ps(m, g + i)));
    }
}

/* One Adam/AdamW/NAdam update of 16 lanes under mask k, as adam_body in
 * cpu_backend.c writes it. */
SIMD static inline void vs_adam16(__mmask16 k, float *w, const float *g, float *m,
                                  float *v, const be_adam_step *s)
{
    __m512 wi = _mm512_maskz_loadu_ps(k, w);
    __m512 gi = _mm512_mul_ps(_mm512_maskz_loadu_ps(k, g), K(s->gscale));
    __m512 mi = _mm512_maskz_loadu_ps(k, m), vi = _mm512_maskz_loadu_ps(k, v);
    if (s->decoupled)
        wi = _mm512_mul_ps(wi, K(1.0f - s->lr * s->wd));
    else
        gi = _mm512_add_ps(gi, _mm512_mul_ps(K(s->wd), wi));
    mi = _mm512_add_ps(_mm512_mul_ps(K(s->b1), mi), _mm512_mul_ps(K(1.0f - s->b1), gi));
    vi = _mm512_add_ps(_mm512_mul_ps(K(s->b2), vi),
                       _mm512_mul_ps(_mm512_mul_ps(K(1.0f - s->b2), gi), gi));
    __m512 denom = _mm512_add_ps(_mm512_div_ps(_mm512_sqrt_ps(vi), K(s->sbc2)), K(s->eps));
    __m512 num = s->nadam
        ? _mm512_mul_ps(K(s->lr), _mm512_add_ps(_mm512_mul_ps(K(s->c1), gi),
                                                _mm512_mul_ps(K(s->c2), mi)))
        : _mm512_mul_ps(K(s->step), mi);
    _mm512_mask_storeu_ps(w, k, _mm512_sub_ps(wi, _mm512_div_ps(num, denom)));
    _mm512_mask_storeu_ps(m, k, mi);
    _mm512_mask_storeu_ps(v, k, vi);
}

SIMD static void vs_adam(float *w, const float *g, float *m, float *v, size_t n,
                         const be_adam_step *s)
{
    size_t i = 0;
    for (; i + 16 <= n; i += 16)
        vs_adam16((__mmask16)0xFFFF, w + i, g + i, m + i, v + i, s);
    if (i < n)
        vs_adam16((__mmask16)((1u << (n - i)) - 1u), w + i, g + i, m + i, v + i, s);
}

#endif

int cpu_simd_adam(float *w, const float *g, float *m, float *v, size_t n,
                  const be_adam_step *s)
{
#ifdef CPU_SIMD_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        vs_adam(w, g, m, v, n, s);
        return 0;
    }
#else
    (void)w; (void)g; (void)m; (void)v; (void)n; (void)s;
#endif
    return -1;
}

int cpu_simd_gru_fwd(int B, int H, float *gx, const float *gh, const float *h_prev,
                     float *h)
{
#ifdef CPU_SIMD_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        vs_gru(B, H, gx, gh, h_prev, h);
        return 0;
    }
#else
    (void)B; (void)H; (void)gx; (void)gh; (void)h_prev; (void)h;
#endif
    return -1;
}

int cpu_simd_rnn_fwd(int B, int H, const float *g, float *h)
{
#ifdef CPU_SIMD_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        vs_rnn((size_t)B * H, g, h);
        return 0;
    }
#else
    (void)B; (void)H; (void)g; (void)h;
#endif
    return -1;
}

int cpu_simd_lstm_fwd(int B, int H, float *gates, const float *c_prev, float *c,
                      float *h)
{
#ifdef CPU_SIMD_X86
    if (cpu_level_get() >= CPU_LEVEL_AVX512) {
        vs_lstm(B, H, gates, c_prev, c, h);
        return 0;
    }
#else
    (void)B; (void)H; (void)gates; (void)c_prev; (void)c; (void)h;
#endif
    return -1;
}
