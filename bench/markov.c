/* markov.c - writes text from an order-2 Markov source over 27 symbols
 * (a-z and space) and prints the source's entropy rate, so a benchmark can
 * say how close a trained model comes to the best possible loss.
 *
 *   markov [-n CHARS] [-s SEED] [-c CONC] -o FILE
 *
 * Each context (the two previous symbols) gets its own next-symbol
 * distribution, drawn once (see draw_source) with Dirichlet draws whose
 * concentration CONC (default 8) says how far a context's row strays from
 * its previous symbol's, and that from the symbol frequencies: smaller is
 * more peaked and more context-dependent.  The entropy rate is
 * sum over contexts of pi(context) * H(next | context), with pi the
 * chain's stationary distribution over the 27^2 contexts (power
 * iteration).  Also printed: the true model's cross-entropy on the last
 * 10% of the text, the split rnnlab validates on by default, which is the
 * floor a perfect model reaches there (it differs from the rate by
 * sampling noise only).  Output is one line, no newline inside: the
 * source has no line structure. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define S 27            /* symbols */
#define C (S * S)       /* contexts */

static uint64_t rng_state;

/* splitmix64: small, seedable, good enough for a test source */
static uint64_t rng_next(void)
{
    uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

/* uniform in (0, 1), never 0 so logs stay finite */
static double rng_uniform(void)
{
    return ((rng_next() >> 11) + 0.5) * (1.0 / 9007199254740992.0);
}

static double rng_normal(void)
{
    return sqrt(-2.0 * log(rng_uniform())) * cos(2.0 * M_PI * rng_uniform());
}

/* Gamma(a, 1) by Marsaglia and Tsang; for a < 1 the usual boost by
 * U^(1/a) from Gamma(a + 1). */
static double rng_gamma(double a)
{
    if (a < 1.0)
        return rng_gamma(a + 1.0) * pow(rng_uniform(), 1.0 / a);
    double d = a - 1.0 / 3.0, c = 1.0 / sqrt(9.0 * d);
    for (;;) {
        double x = rng_normal(), v = 1.0 + c * x;
        if (v <= 0)
            continue;
        v = v * v * v;
        double u = rng_uniform();
        if (log(u) < 0.5 * x * x + d - d * v + d * log(v))
            return d * v;
    }
}

/* one draw from Dirichlet(conc * mean): a distribution around mean */
static void draw_around(double *out, const double *mean, double conc)
{
    double sum = 0;
    for (int s = 0; s < S; s++)
        sum += out[s] = rng_gamma(conc * mean[s]) + 1e-12;
    for (int s = 0; s < S; s++)
        out[s] /= sum;
}

/* Built like text, from the bottom up: a symbol frequency profile, each
 * previous symbol's row around it, each context's row around its previous
 * symbol's row.  (Rows drawn independently of each other would leave no
 * structure in the one- and two-symbol statistics, and a learner would
 * first see only noise: unlike any text.) */
static void draw_source(double p[C][S], double conc)
{
    double flat[S], uni[S], bi[S][S];
    for (int s = 0; s < S; s++)
        flat[s] = 1.0 / S;
    draw_around(uni, flat, S * 4.0);
    for (int b = 0; b < S; b++)
        draw_around(bi[b], uni, conc);
    for (int c = 0; c < C; c++)
        draw_around(p[c], bi[c % S], conc);
}

/* context (a, b) followed by s moves to context (b, s) */
static double entropy_rate(double p[C][S])
{
    static double pi[C], next[C];
    for (int c = 0; c < C; c++)
        pi[c] = 1.0 / C;
    for (int it = 0; it < 10000; it++) {
        memset(next, 0, sizeof next);
        for (int c = 0; c < C; c++)
            for (int s = 0; s < S; s++)
                next[(c % S) * S + s] += pi[c] * p[c][s];
        double diff = 0;
        for (int c = 0; c < C; c++) {
            diff += fabs(next[c] - pi[c]);
            pi[c] = next[c];
        }
        if (diff < 1e-15)
            break;
    }
    double h = 0;
    for (int c = 0; c < C; c++)
        for (int s = 0; s < S; s++)
            h -= pi[c] * p[c][s] * log(p[c][s]);
    return h;
}

static int symbol_char(int s)
{
    return s == S - 1 ? ' ' : 'a' + s;
}

static int draw_symbol(const double *row)
{
    double u = rng_uniform(), acc = 0;
    for (int s = 0; s < S - 1; s++)
        if (u < (acc += row[s]))
            return s;
    return S - 1;
}

int main(int argc, char **argv)
{
    long n = 1000000;
    double conc = 8.0;
    const char *out = NULL;
    rng_state = 1;
    int opt;
    while ((opt = getopt(argc, argv, "n:s:c:o:")) != -1) {
        switch (opt) {
        case 'n': n = atol(optarg); break;
        case 's': rng_state = strtoull(optarg, NULL, 10); break;
        case 'c': conc = atof(optarg); break;
        case 'o': out = optarg; break;
        default: goto usage;
        }
    }
    if (!out || n < 3 || conc <= 0)
        goto usage;
    static double p[C][S];
    draw_source(p, conc);
    FILE *f = fopen(out, "w");
    if (!f) {
        perror(out);
        return 1;
    }
    /* the first two symbols from the uniform distribution; the chain
     * forgets them within a few steps */
    int a = (int)(rng_uniform() * S), b = (int)(rng_uniform() * S);
    long val_from = n - n / 10;   /* rnnlab's --val-frac 0.1 cut, in chars */
    double val_nll = 0;
    fputc(symbol_char(a), f);
    fputc(symbol_char(b), f);
    for (long i = 2; i < n; i++) {
        int s = draw_symbol(p[a * S + b]);
        if (i > val_from)     /* the first validation char has no context */
            val_nll -= log(p[a * S + b][s]);
        fputc(symbol_char(s), f);
        a = b;
        b = s;
    }
    if (fclose(f) != 0) {
        perror(out);
        return 1;
    }
    printf("entropy_rate %.4f\ntrue_val_loss %.4f\n", entropy_rate(p),
           val_nll / (double)(n - 1 - val_from));
    return 0;
usage:
    fprintf(stderr, "usage: markov [-n CHARS] [-s SEED] [-c CONC] -o FILE\n");
    return 2;
}
