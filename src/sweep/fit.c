/*
 * fit.c — Chinchilla's approach 3 (fit.h): a Huber fit of the log of
 * L(N, D) = E + A·N^−α + B·D^−β from a grid of starts, the closed-form
 * compute-optimal frontier, and percentile bootstrap intervals.
 */
#include "fit.h"

#include <float.h>
#include <lbfgs.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

FitOptions fit_defaults(void) {
    return (FitOptions){.delta = 1e-3, .bootstrap = 200, .seed = 1, .level = 0.95};
}

double law_loss(const Law *q, double N, double D) {
    return q->E + q->A * pow(N, -q->alpha) + q->B * pow(D, -q->beta);
}

/* dL/dN = 0 on N·D = C/6: αA·N^−α = βB·D^−β, so N^(α+β) = (αA/(βB))·(C/6)^β */
void law_optimal(const Law *q, double C, double *N, double *D, double *L) {
    double s = q->alpha + q->beta, c6 = C / 6;
    double g = pow(q->alpha * q->A / (q->beta * q->B), 1 / s);
    *N = g * pow(c6, q->beta / s);
    *D = c6 / *N;
    if (L) *L = law_loss(q, *N, *D);
}

/* ------------------------------------------------------------------------- */
/* the objective                                                              */

/* x = (a, b, e, α, β); the points are logs, picked by idx (a resample). */
enum { NX = 5 };
typedef struct {
    const double *lnN, *lnD, *lnL;
    const int *idx;
    int n;
    double delta;
} Obj;

/* Σ Huber_δ(r_i), r = LSE(a − α·lnN, b − β·lnD, e) − lnL, and its gradient;
 * divided by n·δ so that L-BFGS's tolerances see O(1) numbers. */
static double objective(const Obj *o, const double *x, double *g) {
    double f = 0;
    if (g) memset(g, 0, NX * sizeof *g);
    for (int k = 0; k < o->n; k++) {
        int i = o->idx[k];
        double u1 = x[0] - x[3] * o->lnN[i], u2 = x[1] - x[4] * o->lnD[i], u3 = x[2];
        double m = fmax(u1, fmax(u2, u3));
        double e1 = exp(u1 - m), e2 = exp(u2 - m), e3 = exp(u3 - m), z = e1 + e2 + e3;
        double r = m + log(z) - o->lnL[i];
        double ar = fabs(r), h, dh;
        if (ar <= o->delta) {
            h = 0.5 * r * r;
            dh = r;
        } else {
            h = o->delta * (ar - 0.5 * o->delta);
            dh = r > 0 ? o->delta : -o->delta;
        }
        f += h;
        if (g) {
            double s1 = e1 / z, s2 = e2 / z, s3 = e3 / z; /* ∂LSE/∂u */
            g[0] += dh * s1;
            g[1] += dh * s2;
            g[2] += dh * s3;
            g[3] -= dh * s1 * o->lnN[i];
            g[4] -= dh * s2 * o->lnD[i];
        }
    }
    double scale = 1 / (o->n * o->delta);
    if (g)
        for (int j = 0; j < NX; j++) g[j] *= scale;
    return f * scale;
}

static lbfgsfloatval_t evaluate(void *inst, const lbfgsfloatval_t *x, lbfgsfloatval_t *g, int n,
                                lbfgsfloatval_t step) {
    (void)n, (void)step;
    double f = objective(inst, x, g);
    return isfinite(f) ? f : DBL_MAX;
}

/* L-BFGS from x (overwritten with the optimum); the unscaled objective. A
 * failed line search leaves x at the last accepted point, which is kept. */
static double minimise(const Obj *o, double *x) {
    lbfgs_parameter_t prm;
    lbfgs_parameter_init(&prm);
    prm.epsilon = 1e-9;
    prm.past = 20;
    prm.delta = 1e-13;
    prm.max_iterations = 3000;
    lbfgsfloatval_t *v = lbfgs_malloc(NX);
    if (!v) return INFINITY;
    memcpy(v, x, NX * sizeof *x);
    lbfgsfloatval_t fx = INFINITY;
    lbfgs(NX, v, &fx, evaluate, NULL, (void *)o, &prm);
    memcpy(x, v, NX * sizeof *x);
    lbfgs_free(v);
    double f = objective(o, x, NULL);
    /* a law whose loss grows with N or D is no scaling law: such optima
     * (the points do not pin the exponents down) are not kept */
    if (!(x[3] > 0 && x[4] > 0)) return INFINITY;
    if (!(x[0] < 700 && x[1] < 700 && x[2] < 700)) return INFINITY; /* A, B, E overflow */
    return isfinite(f) ? f * o->n * o->delta : INFINITY;
}

static Law to_law(const double *x, double f) {
    return (Law){.A = exp(x[0]),
                 .B = exp(x[1]),
                 .E = exp(x[2]),
                 .alpha = x[3],
                 .beta = x[4],
                 .objective = f};
}

/* ------------------------------------------------------------------------- */
/* the grid, the distinct optima, the resamples                               */

typedef struct {
    double x[NX], f;
} Opt;

static int by_f(const void *a, const void *b) {
    double fa = ((const Opt *)a)->f, fb = ((const Opt *)b)->f;
    return (fa > fb) - (fa < fb);
}

/* Chinchilla's grid: α, β ∈ {0, .5, …, 2}, e ∈ {−1, −.5, …, 1}, a, b ∈ {0, 5, …, 25} */
#define NG_EXP 5
#define NG_E 5
#define NG_AB 6
#define NSTARTS (NG_EXP * NG_EXP * NG_E * NG_AB * NG_AB)
#define KEEP 8 /* distinct optima that start each resample */

static int distinct(const double *x, const Opt *kept, int nk) {
    for (int k = 0; k < nk; k++) {
        double d = 0;
        for (int j = 0; j < NX; j++) d = fmax(d, fabs(x[j] - kept[k].x[j]) / (1 + fabs(x[j])));
        if (d < 1e-3) return 0;
    }
    return 1;
}

static uint64_t splitmix(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

double fit_quantile(double *v, int n, double q) {
    qsort(v, n, sizeof *v, by_value);
    double pos = q * (n - 1);
    int i = (int)floor(pos);
    if (i >= n - 1) return v[n - 1];
    return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

static Interval interval(const Law *boot, int nb, size_t off, double level, double *tmp) {
    for (int k = 0; k < nb; k++) tmp[k] = *(const double *)((const char *)&boot[k] + off);
    double t = (1 - level) / 2;
    return (Interval){fit_quantile(tmp, nb, t), fit_quantile(tmp, nb, 1 - t)};
}

int law_fit(const FitPoint *p, int n, const FitOptions *o, FitResult *r) {
    memset(r, 0, sizeof *r);
    if (n < NX) return -2;
    for (int i = 0; i < n; i++)
        if (!(p[i].N > 0 && p[i].D > 0 && p[i].L > 0 && isfinite(p[i].N) && isfinite(p[i].D) &&
              isfinite(p[i].L)))
            return -2;
    double *logs = malloc(3 * (size_t)n * sizeof *logs);
    int *idx = malloc((size_t)n * sizeof *idx);
    Opt *all = malloc(NSTARTS * sizeof *all);
    if (!logs || !idx || !all) {
        free(logs), free(idx), free(all);
        return -1;
    }
    for (int i = 0; i < n; i++) {
        logs[i] = log(p[i].N);
        logs[n + i] = log(p[i].D);
        logs[2 * n + i] = log(p[i].L);
        idx[i] = i;
    }
    Obj obj = {logs, logs + n, logs + 2 * n, idx, n, o->delta};

    int ns = 0;
    for (int ia = 0; ia < NG_AB; ia++)
        for (int ib = 0; ib < NG_AB; ib++)
            for (int ie = 0; ie < NG_E; ie++)
                for (int ial = 0; ial < NG_EXP; ial++)
                    for (int ibe = 0; ibe < NG_EXP; ibe++) {
                        Opt *s = &all[ns++];
                        double x0[NX] = {5.0 * ia, 5.0 * ib, -1 + 0.5 * ie, 0.5 * ial, 0.5 * ibe};
                        memcpy(s->x, x0, sizeof x0);
                        s->f = minimise(&obj, s->x);
                    }
    qsort(all, ns, sizeof *all, by_f);
    r->starts = ns;
    if (!isfinite(all[0].f)) {
        free(logs), free(idx), free(all);
        return -1;
    }
    r->law = to_law(all[0].x, all[0].f);

    /* the distinct optima, best first */
    Opt kept[KEEP];
    int nk = 0;
    for (int k = 0; k < ns && nk < KEEP && isfinite(all[k].f); k++)
        if (distinct(all[k].x, kept, nk)) kept[nk++] = all[k];

    if (o->bootstrap > 0) {
        r->boot = malloc((size_t)o->bootstrap * sizeof *r->boot);
        double *tmp = malloc((size_t)o->bootstrap * sizeof *tmp);
        if (!r->boot || !tmp) {
            free(tmp), free(logs), free(idx), free(all);
            free(r->boot), r->boot = NULL;
            return -1;
        }
        uint64_t st = o->seed;
        for (int b = 0; b < o->bootstrap; b++) {
            for (int i = 0; i < n; i++) idx[i] = (int)(splitmix(&st) % (uint64_t)n);
            Opt best = {.f = INFINITY};
            for (int k = 0; k < nk; k++) {
                Opt t = kept[k];
                t.f = minimise(&obj, t.x);
                if (t.f < best.f) best = t;
            }
            if (!isfinite(best.f)) continue; /* a degenerate resample */
            r->boot[r->nboot++] = to_law(best.x, best.f);
        }
        if (r->nboot > 1) {
            double lv = o->level;
            r->E = interval(r->boot, r->nboot, offsetof(Law, E), lv, tmp);
            r->A = interval(r->boot, r->nboot, offsetof(Law, A), lv, tmp);
            r->alpha = interval(r->boot, r->nboot, offsetof(Law, alpha), lv, tmp);
            r->B = interval(r->boot, r->nboot, offsetof(Law, B), lv, tmp);
            r->beta = interval(r->boot, r->nboot, offsetof(Law, beta), lv, tmp);
            for (int k = 0; k < r->nboot; k++)
                tmp[k] = r->boot[k].beta / (r->boot[k].alpha + r->boot[k].beta);
            double t = (1 - lv) / 2;
            r->a = (Interval){fit_quantile(tmp, r->nboot, t), fit_quantile(tmp, r->nboot, 1 - t)};
        }
        free(tmp);
    }
    free(logs), free(idx), free(all);
    return 0;
}

void law_fit_free(FitResult *r) {
    free(r->boot);
    r->boot = NULL;
    r->nboot = 0;
}
