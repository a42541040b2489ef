/*
 * test_fit.c — the scaling-law fit (src/sweep/fit.c): noiseless points give
 * back E, A, α, B, β; noisy points (log-normal, σ = 0.5 %) give 95 %
 * bootstrap intervals that hold the truth and are narrow enough to say
 * something, and that exclude a law with a different α; the closed-form
 * frontier with Chinchilla's published approach-3 parameters gives
 * N_opt = 32.2 B and D_opt = 2.98 T at C = 5.76e23 (Hoffmann et al. 2022,
 * table 3), and equals a direct minimisation of L along N·D = C/6; bad
 * input is refused.
 */
#include "tests/lib/check.h"

#include "src/sweep/fit.h"

#include <stdint.h>

static const Law truth = {.E = 1.8, .A = 400, .alpha = 0.34, .B = 410, .beta = 0.28};

static uint64_t rng = 42;
static double uniform(void) {
    rng = rng * 6364136223846793005ull + 1442695040888963407ull;
    return ((rng >> 11) + 0.5) / 9007199254740992.0;
}
static double gauss(void) {
    return sqrt(-2 * log(uniform())) * cos(2 * M_PI * uniform());
}

/* six sizes 1e7 … 3e9 × tokens per parameter 5 … 80: 30 points */
static int points(const Law *q, double sigma, FitPoint *p) {
    const double N[] = {1e7, 3e7, 1e8, 3e8, 1e9, 3e9}, k[] = {5, 10, 20, 40, 80};
    int n = 0;
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 5; j++) {
            double D = k[j] * N[i];
            p[n++] = (FitPoint){N[i], D, law_loss(q, N[i], D) * exp(sigma * gauss())};
        }
    return n;
}

static double rel(double x, double want) {
    return fabs(x / want - 1);
}
static int inside(Interval v, double x) {
    return v.lo <= x && x <= v.hi;
}

/* the loss along N·D = C/6, minimised over ln N by golden section */
static double numeric_nopt(const Law *q, double C) {
    double lo = log(1e6), hi = log(1e15), g = (sqrt(5.0) - 1) / 2;
    for (int it = 0; it < 200; it++) {
        double a = hi - g * (hi - lo), b = lo + g * (hi - lo);
        double fa = law_loss(q, exp(a), C / 6 / exp(a)), fb = law_loss(q, exp(b), C / 6 / exp(b));
        if (fa < fb)
            hi = b;
        else
            lo = a;
    }
    return exp((lo + hi) / 2);
}

int main(void) {
    check_plan(8);
    FitPoint p[30];
    FitOptions o = fit_defaults();
    FitResult r;

    /* noiseless: the law itself */
    int n = points(&truth, 0, p);
    o.bootstrap = 0;
    int rc = law_fit(p, n, &o, &r);
    double w = fmax(fmax(rel(r.law.E, truth.E), rel(r.law.A, truth.A)),
                    fmax(fmax(rel(r.law.alpha, truth.alpha), rel(r.law.B, truth.B)),
                         rel(r.law.beta, truth.beta)));
    check(rc == 0 && w < 1e-3, "noiseless points give the law back",
          "rc %d, worst relative error %.2e (E %.4f A %.2f α %.4f B %.2f β %.4f) from %d starts",
          rc, w, r.law.E, r.law.A, r.law.alpha, r.law.B, r.law.beta, r.starts);
    law_fit_free(&r);

    /* noisy: bootstrap intervals */
    n = points(&truth, 0.005, p);
    o = fit_defaults();
    rc = law_fit(p, n, &o, &r);
    check(rc == 0 && r.nboot >= 190 && inside(r.E, truth.E) && inside(r.A, truth.A) &&
              inside(r.alpha, truth.alpha) && inside(r.B, truth.B) && inside(r.beta, truth.beta),
          "σ = 0.5 % noise: every 95 % interval holds the truth",
          "%d resamples; E %.3f [%.3f, %.3f] A %.0f [%.0f, %.0f] α %.3f [%.3f, %.3f] B %.0f [%.0f, "
          "%.0f] β %.3f [%.3f, %.3f]",
          r.nboot, r.law.E, r.E.lo, r.E.hi, r.law.A, r.A.lo, r.A.hi, r.law.alpha, r.alpha.lo,
          r.alpha.hi, r.law.B, r.B.lo, r.B.hi, r.law.beta, r.beta.lo, r.beta.hi);
    check(r.alpha.hi - r.alpha.lo < 0.1 && r.beta.hi - r.beta.lo < 0.1 && r.E.hi - r.E.lo < 0.2 &&
              r.a.lo < 0.4516 && 0.4516 < r.a.hi && r.a.hi - r.a.lo < 0.1,
          "the intervals are narrow enough to mean something",
          "widths α %.3f β %.3f E %.3f; a = β/(α+β) [%.3f, %.3f] (truth 0.4516)",
          r.alpha.hi - r.alpha.lo, r.beta.hi - r.beta.lo, r.E.hi - r.E.lo, r.a.lo, r.a.hi);
    Interval a_truth = r.alpha;
    law_fit_free(&r);

    /* a different law (α = 0.28) is told apart */
    Law other = truth;
    other.alpha = 0.28;
    n = points(&other, 0.005, p);
    rc = law_fit(p, n, &o, &r);
    check(rc == 0 && !inside(r.alpha, truth.alpha) && inside(r.alpha, other.alpha) &&
              r.alpha.hi < a_truth.lo,
          "points from α = 0.28 give an interval that excludes 0.34", "α %.3f [%.3f, %.3f]",
          r.law.alpha, r.alpha.lo, r.alpha.hi);
    law_fit_free(&r);

    /* Chinchilla's frontier */
    Law ch = {.E = 1.69, .A = 406.4, .alpha = 0.34, .B = 410.7, .beta = 0.28};
    double C = 5.76e23, N, D, L;
    law_optimal(&ch, C, &N, &D, &L);
    check(rel(N, 32.2e9) < 0.01 && rel(D, 2.98e12) < 0.01 && rel(6 * N * D, C) < 1e-12,
          "Chinchilla approach 3 at C = 5.76e23: N_opt 32.2 B, D_opt 2.98 T (1 %)",
          "N_opt %.4g, D_opt %.4g, L %.4f", N, D, L);
    double worst = 0;
    for (double c = 1e18; c < 1e26; c *= 10) {
        law_optimal(&ch, c, &N, &D, NULL);
        worst = fmax(worst, rel(numeric_nopt(&ch, c), N));
    }
    check(worst < 1e-6, "the closed form equals a direct minimisation along C = 6·N·D",
          "worst relative difference %.2e over C = 1e18 … 1e25", worst);

    /* quantiles */
    double v[] = {4, 1, 3, 2, 5};
    double q0 = fit_quantile(v, 5, 0), q5 = fit_quantile(v, 5, 0.5), q1 = fit_quantile(v, 5, 1);
    double q9 = fit_quantile(v, 5, 0.9);
    check(q0 == 1 && q5 == 3 && q1 == 5 && fabs(q9 - 4.6) < 1e-12, "quantiles interpolate",
          "%g %g %g %g", q0, q5, q9, q1);

    /* bad input */
    FitPoint bad[6];
    memcpy(bad, p, sizeof bad);
    int r4 = law_fit(p, 4, &o, &r);
    bad[2].L = -1;
    int rneg = law_fit(bad, 6, &o, &r);
    bad[2].L = NAN;
    int rnan = law_fit(bad, 6, &o, &r);
    check(r4 == -2 && rneg == -2 && rnan == -2, "fewer than 5 points or a bad value is refused",
          "rc %d %d %d", r4, rneg, rnan);
    return check_exit();
}
