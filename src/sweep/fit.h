/*
 * fit.h — the scaling law of a campaign: L(N, D) = E + A·N^−α + B·D^−β
 * fitted to (parameters, tokens, loss) points the way Chinchilla's
 * approach 3 does (Hoffmann et al. 2022, appendix D.2), its compute-optimal
 * frontier under C = 6·N·D, and bootstrap confidence intervals.
 *
 * The fit minimises Σ Huber_δ(LSE(a − α·ln N, b − β·ln D, e) − ln L) over
 * (a, b, e, α, β), A = e^a, B = e^b, E = e^e, with L-BFGS (liblbfgs) from
 * every start of a grid and keeps the lowest objective. Intervals come from
 * refitting resamples of the points (with replacement), started from the
 * distinct optima the full fit found.
 */
#ifndef ZEROPT_SWEEP_FIT_H
#define ZEROPT_SWEEP_FIT_H

/* One finished training run: parameters, tokens seen, final loss (nats). */
typedef struct {
    double N, D, L;
} FitPoint;

/* The law's parameters and the fit's objective at them. */
typedef struct {
    double E, A, alpha, B, beta;
    double objective; /* Σ Huber over the points fitted */
} Law;

typedef struct {
    double delta;       /* Huber δ on log-loss (Chinchilla: 1e-3) */
    int bootstrap;      /* resamples for the intervals (0: none) */
    unsigned long seed; /* the resampling stream */
    double level;       /* interval coverage, e.g. 0.95 */
} FitOptions;

/* Percentile bounds of one quantity over the resamples. */
typedef struct {
    double lo, hi;
} Interval;

typedef struct {
    Law law;    /* the fit to all points */
    int starts; /* grid starts tried */
    int nboot;  /* resamples fitted */
    Law *boot;  /* [nboot] the law of each resample (law_fit_free) */
    Interval E, A, alpha, B, beta;
    Interval a; /* N_opt ∝ C^a, a = β/(α+β) */
} FitResult;

/* Chinchilla's settings: δ = 1e-3, 200 resamples, 95 % intervals. */
FitOptions fit_defaults(void);

/* The law at (N, D). */
double law_loss(const Law *q, double N, double D);

/* The compute-optimal allocation under C = 6·N·D: N_opt = G·(C/6)^a,
 * D_opt = (C/6)/N_opt, a = β/(α+β), G = (αA/(βB))^(1/(α+β)); the loss there
 * (the frontier L(C)) when L is not NULL. */
void law_optimal(const Law *q, double C, double *N, double *D, double *L);

/* Fit the n points. 0 on success; −1 when no start converged to a finite
 * objective (or out of memory); −2 when n < 5 or a value is not positive
 * and finite. */
int law_fit(const FitPoint *p, int n, const FitOptions *o, FitResult *r);
void law_fit_free(FitResult *r);

/* The q-quantile (0 ≤ q ≤ 1, linear between order statistics) of v[n];
 * sorts v. */
double fit_quantile(double *v, int n, double q);

#endif
