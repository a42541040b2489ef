/*
 * cmd_sweep.c — `zeropt sweep`: the scaling-law end of a campaign.
 *
 *   zeropt sweep fit results.jsonl [--plots DIR] [--json] [--params total|nonembedding]
 *       [--loss final|best] [--bootstrap N] [--delta D] [--seed S] [--compute C ...]
 *
 * fit reads the results table that `sweep collect` writes (one JSON object
 * per point: params, nonembedding_params, tokens, final_val, best_val,
 * state, and optionally model, budget, lr), keeps the finished points and,
 * per (model, tokens), the best learning rate, fits L(N, D) = E + A·N^−α +
 * B·D^−β (src/sweep/fit.h), prints the law with bootstrap intervals and the
 * compute-optimal allocation, and draws three PNGs: loss against parameters
 * per token budget, loss against compute with the fitted and the empirical
 * frontier, and the learning-rate sensitivity of each size.
 */
#include "cmd.h"

#include "src/sweep/fit.h"
#include "src/sweep/gnuplot.h"

#include "mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char USAGE_SWEEP[] =
    "zeropt sweep plan CAMPAIGN.ini [--json] [--dry-run]\n"
    "    every point's ranks, nodes, ZeRO stage, micro-batch and accumulation that fit the\n"
    "    machine's memory (from the planning arithmetic), predicted step time and device-hours;\n"
    "    --dry-run also prints the sbatch commands submit would run\n"
    "zeropt sweep submit CAMPAIGN.ini [--dry-run] [--local [--mpirun CMD]]\n"
    "    one Slurm job per point (job arrays where points share a shape) through\n"
    "    slurm/train.sbatch, only the points neither done nor queued; --local runs them here,\n"
    "    one after another, through mpirun\n"
    "zeropt sweep collect CAMPAIGN.ini [--json]\n"
    "    every point's state and results into <dir>/results.csv and results.jsonl\n"
    "zeropt sweep fit RESULTS.jsonl [--plots DIR] [--json] [--params total|nonembedding]\n"
    "    [--loss final|best] [--bootstrap N] [--delta D] [--seed S] [--compute C ...]\n"
    "    fit L(N, D) = E + A N^-a + B D^-b to a campaign's finished points (Chinchilla's\n"
    "    approach 3: Huber on log-loss from a grid of starts, bootstrap intervals), the\n"
    "    compute-optimal N_opt(C), D_opt(C) under C = 6 N D, and PNG plots in DIR\n";

#define NAME_MAX_ 128

static FILE *msg; /* where the plots are named: stdout, stderr under --json */

/* One row of the results table. */
typedef struct {
    char point[NAME_MAX_], model[NAME_MAX_], budget[NAME_MAX_], state[32];
    double N, Nne, D, final_val, best_val, lr;
    int used; /* the best lr of its (model, tokens): fitted */
} Row;

static const char *str_of(json_t *o, const char *k, const char *dflt) {
    json_t *v = json_object_get(o, k);
    return json_is_string(v) ? json_string_value(v) : dflt;
}

static double num_of(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static int read_rows(const char *path, Row **out) {
    FILE *f = fopen(path, "r");
    if (!f) z_die_all("sweep fit: %s: %s", path, strerror(errno));
    Row *r = NULL;
    int n = 0, cap = 0;
    long lineno = 0;
    char *line = NULL;
    size_t lcap = 0;
    while (getline(&line, &lcap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o))
            z_die_all("sweep fit: %s:%ld: not a JSON object (%s)", path, lineno,
                      je.text[0] ? je.text : "an array or a value");
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            r = realloc(r, (size_t)cap * sizeof *r);
            if (!r) z_die_all("sweep fit: out of memory");
        }
        Row *w = &r[n++];
        memset(w, 0, sizeof *w);
        snprintf(w->point, sizeof w->point, "%s", str_of(o, "point", "?"));
        snprintf(w->model, sizeof w->model, "%s", str_of(o, "model", w->point));
        snprintf(w->budget, sizeof w->budget, "%s", str_of(o, "budget", ""));
        snprintf(w->state, sizeof w->state, "%s", str_of(o, "state", "done"));
        w->N = num_of(o, "params"), w->Nne = num_of(o, "nonembedding_params");
        w->D = num_of(o, "tokens");
        w->final_val = num_of(o, "final_val"), w->best_val = num_of(o, "best_val");
        w->lr = num_of(o, "lr");
        json_decref(o);
        if (!strcmp(w->state, "done") && !(w->N > 0 && w->D > 0))
            z_die_all("sweep fit: %s:%ld: point %s is done but has no positive params and tokens",
                      path, lineno, w->point);
    }
    free(line);
    fclose(f);
    *out = r;
    return n;
}

static double parse_pos(const char *flag, const char *s) {
    char *e;
    double v = strtod(s, &e);
    if (e == s || *e || !(v > 0) || !isfinite(v))
        z_die_all("sweep fit: %s: '%s' is not a positive number", flag, s);
    return v;
}

/* ------------------------------------------------------------------------- */
/* plots                                                                      */

static FILE *open_plot(const char *dir, const char *name, char *png, char *gp, size_t n) {
    snprintf(png, n, "%s/%s.png", dir, name);
    gp_script_path(gp, n, png);
    FILE *f = fopen(gp, "w");
    if (!f) z_die_all("sweep fit: %s: %s", gp, strerror(errno));
    gp_preamble(f, png, 900, 650);
    return f;
}

static void render(FILE *f, const char *gp) {
    char err[Z_ERR_MAX];
    if (fclose(f)) z_die_all("sweep fit: %s: write failed", gp);
    if (gp_render(gp, err, sizeof err)) z_die_all("sweep fit: %s", err);
}

/* distinct values of a string field among the used rows, in first-seen order */
static int distinct_names(const Row *r, int n, size_t off, int only_used, const char **out) {
    int k = 0;
    for (int i = 0; i < n; i++) {
        if (only_used && !r[i].used) continue;
        if (!only_used && strcmp(r[i].state, "done")) continue;
        const char *s = (const char *)&r[i] + off;
        int seen = 0;
        for (int j = 0; j < k; j++) seen |= !strcmp(out[j], s);
        if (!seen) out[k++] = s;
    }
    return k;
}

static void plot_params(const char *dir, const Row *r, int n, const Law *q, int nonemb) {
    char png[4200], gp[4300];
    FILE *f = open_plot(dir, "loss_vs_params", png, gp, sizeof png);
    const char **bud = z_calloc(n + 1, sizeof *bud, "budgets");
    int nb = distinct_names(r, n, offsetof(Row, budget), 1, bud);
    double nmin = INFINITY, nmax = 0, lmin = INFINITY, lmax = -INFINITY;
    for (int b = 0; b < nb; b++) {
        fprintf(f, "$b%d << EOD\n", b);
        for (int i = 0; i < n; i++)
            if (r[i].used && !strcmp(r[i].budget, bud[b])) {
                double N = nonemb ? r[i].Nne : r[i].N;
                fprintf(f, "%.9g %.9g %.9g\n", N, r[i].D, r[i].final_val);
                nmin = fmin(nmin, N), nmax = fmax(nmax, N);
                lmin = fmin(lmin, r[i].final_val), lmax = fmax(lmax, r[i].final_val);
            }
        fprintf(f, "EOD\n");
    }
    fprintf(f, "set logscale x\nset format x '%%.0s%%c'\nset xlabel '%s parameters N'\n",
            nonemb ? "non-embedding" : "");
    fprintf(f, "set ylabel 'validation loss (nats)'\nset title 'loss against parameters per token "
               "budget, with the fit'\n");
    fprintf(f, "E=%.9g; A=%.9g; al=%.9g; B=%.9g; be=%.9g\nL(N,D)=E+A*N**(-al)+B*D**(-be)\n", q->E,
            q->A, q->alpha, q->B, q->beta);
    /* the points' range (a poor fit must not squash them onto the axis) */
    double pad = 0.25 * (lmax - lmin) + 0.05;
    fprintf(f, "set xrange [%.6g:%.6g]\nset yrange [%.6g:%.6g]\nplot ", nmin / 1.5, nmax * 1.5,
            lmin - pad, lmax + pad);
    for (int b = 0; b < nb; b++) {
        /* the budget's curve: a fixed token count when its points share one,
         * else D = (geometric mean tokens per parameter of its points) · N */
        double k = 0, d0 = -1;
        int c = 0, fixed = 1;
        for (int i = 0; i < n; i++)
            if (r[i].used && !strcmp(r[i].budget, bud[b])) {
                k += log(r[i].D / (nonemb ? r[i].Nne : r[i].N)), c++;
                if (d0 < 0) d0 = r[i].D;
                fixed &= fabs(r[i].D - d0) <= 1e-6 * d0;
            }
        k = exp(k / c);
        char t[300];
        snprintf(t, sizeof t, "%s", bud[b][0] ? bud[b] : "points");
        fprintf(f, "%s$b%d using 1:3 with points pt 7 ps 1.2 lc %d title ", b ? ", " : "", b,
                b + 1);
        gp_quote(f, t);
        if (fixed && c > 1) {
            fprintf(f, ", L(x, %.9g) with lines lc %d dt 2 title ", d0, b + 1);
            snprintf(t, sizeof t, "fit at D = %.3g tokens", d0);
        } else {
            fprintf(f, ", L(x, %.9g*x) with lines lc %d dt 2 title ", k, b + 1);
            snprintf(t, sizeof t, "fit at D = %.3g N", k);
        }
        gp_quote(f, t);
    }
    fprintf(f, "\n");
    render(f, gp);
    free(bud);
    fprintf(msg, "  %s\n", png);
}

static void plot_compute(const char *dir, const Row *r, int n, const Law *q, int nonemb) {
    char png[4200], gp[4300];
    FILE *f = open_plot(dir, "loss_vs_compute", png, gp, sizeof png);
    double cmin = INFINITY, cmax = 0;
    fprintf(f, "$pts << EOD\n");
    for (int i = 0; i < n; i++)
        if (r[i].used) {
            double C = 6 * (nonemb ? r[i].Nne : r[i].N) * r[i].D;
            fprintf(f, "%.9g %.9g\n", C, r[i].final_val);
            cmin = fmin(cmin, C), cmax = fmax(cmax, C);
        }
    /* the empirical frontier: points no cheaper point beats */
    fprintf(f, "EOD\n$front << EOD\n");
    int *ord = z_calloc(n + 1, sizeof *ord, "order"), m = 0;
    for (int i = 0; i < n; i++)
        if (r[i].used) ord[m++] = i;
    for (int a = 1; a < m; a++) /* insertion sort by compute */
        for (int b = a; b > 0; b--) {
            double cb = (nonemb ? r[ord[b]].Nne : r[ord[b]].N) * r[ord[b]].D;
            double ca = (nonemb ? r[ord[b - 1]].Nne : r[ord[b - 1]].N) * r[ord[b - 1]].D;
            if (cb >= ca) break;
            int t = ord[b];
            ord[b] = ord[b - 1], ord[b - 1] = t;
        }
    double low = INFINITY;
    for (int k = 0; k < m; k++) {
        const Row *w = &r[ord[k]];
        if (w->final_val < low) {
            low = w->final_val;
            fprintf(f, "%.9g %.9g\n", 6 * (nonemb ? w->Nne : w->N) * w->D, low);
        }
    }
    free(ord);
    fprintf(f, "EOD\n$law << EOD\n");
    for (int k = 0; k <= 100; k++) {
        double C = cmin / 3 * pow(cmax * 3 / (cmin / 3), k / 100.0), N, D, L;
        law_optimal(q, C, &N, &D, &L);
        fprintf(f, "%.9g %.9g\n", C, L);
    }
    fprintf(f, "EOD\nset logscale x\nset format x '%%.0e'\nset xlabel 'compute C = 6 N D "
               "(FLOPs)'\nset ylabel 'validation loss (nats)'\n");
    fprintf(f, "set title 'loss against compute: points, the empirical frontier, the fitted "
               "frontier L(N_opt(C), D_opt(C))'\n");
    fprintf(f, "plot $pts using 1:2 with points pt 7 ps 1.2 lc 1 title 'points', $front using "
               "1:2 with steps lc 2 lw 2 title 'empirical frontier', $law using 1:2 with lines "
               "lc 3 dt 2 lw 2 title 'fitted frontier'\n");
    render(f, gp);
    fprintf(msg, "  %s\n", png);
}

/* final loss against lr for every (model, budget) with several lrs: one
 * colour per model, one dash and point type per budget */
static int same_group(const Row *a, const char *model, const char *budget) {
    return !strcmp(a->state, "done") && !strcmp(a->model, model) && !strcmp(a->budget, budget) &&
           isfinite(a->lr) && a->lr > 0;
}

static void plot_lr(const char *dir, const Row *r, int n) {
    const char **mod = z_calloc(n + 1, sizeof *mod, "models");
    const char **bud = z_calloc(n + 1, sizeof *bud, "budgets");
    int nm = distinct_names(r, n, offsetof(Row, model), 0, mod);
    int nb = distinct_names(r, n, offsetof(Row, budget), 0, bud);
    char png[4200], gp[4300];
    FILE *f = open_plot(dir, "lr_sensitivity", png, gp, sizeof png);
    int curves = 0;
    fprintf(f, "set logscale x\nset offsets graph 0.05, graph 0.05, 0, 0\nset xlabel 'peak "
               "learning rate'\nset ylabel 'validation loss (nats)'\nset title "
               "'learning-rate sensitivity: one colour per size, one dash per token budget'\n");
    char *plot = z_calloc(1, 65536, "plot line");
    size_t pl = 0;
    for (int k = 0; k < nm; k++)
        for (int b = 0; b < nb; b++) {
            int c = 0;
            for (int i = 0; i < n; i++) c += same_group(&r[i], mod[k], bud[b]);
            if (c < 2 || pl > 65536 - 512) continue;
            fprintf(f, "$g%d_%d << EOD\n", k, b);
            for (double last = 0;;) { /* by lr, so the line joins them in order */
                double next = INFINITY;
                for (int i = 0; i < n; i++)
                    if (same_group(&r[i], mod[k], bud[b]) && r[i].lr > last)
                        next = fmin(next, r[i].lr);
                if (!isfinite(next)) break;
                for (int i = 0; i < n; i++)
                    if (same_group(&r[i], mod[k], bud[b]) && r[i].lr == next)
                        fprintf(f, "%.9g %.9g\n", r[i].lr, r[i].final_val);
                last = next;
            }
            fprintf(f, "EOD\n");
            pl += (size_t)snprintf(
                plot + pl, 65536 - pl,
                "%s$g%d_%d using 1:2 with linespoints lc %d dt %d pt %d title '%s%s%s'",
                curves ? ", " : "", k, b, k + 1, b % 5 + 1, 5 + 2 * (b % 4), mod[k],
                bud[b][0] ? " " : "", bud[b]);
            curves++;
        }
    if (!curves)
        fprintf(f, "set label 1 'no size was trained at more than one learning rate' at graph "
                   "0.5, 0.5 center\nset xrange [1e-4:1e-2]\nset yrange [0:1]\nplot 2 notitle\n");
    else
        fprintf(f, "plot %s\n", plot);
    render(f, gp);
    free(mod), free(bud), free(plot);
    fprintf(msg, "  %s%s\n", png,
            curves ? "" : " (empty: no size has more than one learning rate)");
}

/* ------------------------------------------------------------------------- */

static void interval_json(json_t *o, const char *k, double v, Interval iv, int have) {
    json_t *j = json_object();
    json_object_set_new(j, "value", json_real(v));
    if (have) {
        json_object_set_new(j, "lo", json_real(iv.lo));
        json_object_set_new(j, "hi", json_real(iv.hi));
    }
    json_object_set_new(o, k, j);
}

static int sweep_fit(int argc, char **argv) {
    const char *results = NULL, *plots = NULL;
    int json = 0, nonemb = 0, best = 0;
    FitOptions o = fit_defaults();
    double compute[32];
    int ncompute = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        int has = i + 1 < argc;
        if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] == '-' && !has) {
            z_die_all("sweep fit: %s needs a value (zeropt sweep --help)", a);
        } else if (!strcmp(a, "--plots")) {
            plots = argv[++i];
        } else if (!strcmp(a, "--params")) {
            const char *v = argv[++i];
            if (strcmp(v, "total") && strcmp(v, "nonembedding"))
                z_die_all("sweep fit: --params must be total or nonembedding (got '%s')", v);
            nonemb = !strcmp(v, "nonembedding");
        } else if (!strcmp(a, "--loss")) {
            const char *v = argv[++i];
            if (strcmp(v, "final") && strcmp(v, "best"))
                z_die_all("sweep fit: --loss must be final or best (got '%s')", v);
            best = !strcmp(v, "best");
        } else if (!strcmp(a, "--bootstrap")) {
            double v = parse_pos(a, argv[++i]);
            if (v > 100000 || v != floor(v))
                z_die_all("sweep fit: --bootstrap must be an integer up to 100000");
            o.bootstrap = (int)v;
        } else if (!strcmp(a, "--delta")) {
            o.delta = parse_pos(a, argv[++i]);
        } else if (!strcmp(a, "--seed")) {
            o.seed = (unsigned long)parse_pos(a, argv[++i]);
        } else if (!strcmp(a, "--compute")) {
            if (ncompute == 32) z_die_all("sweep fit: at most 32 --compute values");
            compute[ncompute++] = parse_pos(a, argv[++i]);
        } else if (a[0] == '-') {
            z_die_all("sweep fit: unknown option %s (zeropt sweep --help)", a);
        } else if (!results) {
            results = a;
        } else {
            z_die_all("sweep fit: one results file, got %s and %s", results, a);
        }
    }
    if (!results) z_die_all("sweep fit: no results file (zeropt sweep fit RESULTS.jsonl)");
    Row *r;
    int n = read_rows(results, &r);
    for (int i = 0; i < n; i++) /* the loss fitted */
        r[i].final_val = best ? r[i].best_val : r[i].final_val;
    int done = 0, skipped = 0;
    for (int i = 0; i < n; i++) {
        if (strcmp(r[i].state, "done")) {
            skipped++;
            continue;
        }
        done++;
        if (!(r[i].final_val > 0 && isfinite(r[i].final_val)) || (nonemb && !(r[i].Nne > 0)))
            z_die_all("sweep fit: %s: point %s is done but has no %s%s", results, r[i].point,
                      best ? "best_val" : "final_val",
                      nonemb && !(r[i].Nne > 0) ? " (or nonembedding_params)" : "");
        /* the best lr of its (model, tokens) */
        int won = 1;
        for (int j = 0; j < n && won; j++)
            if (j != i && !strcmp(r[j].state, "done") && !strcmp(r[j].model, r[i].model) &&
                r[j].D == r[i].D &&
                (r[j].final_val < r[i].final_val || (r[j].final_val == r[i].final_val && j < i)))
                won = 0;
        r[i].used = won;
    }
    FitPoint *p = z_calloc(n + 1, sizeof *p, "points");
    int np = 0;
    for (int i = 0; i < n; i++)
        if (r[i].used) p[np++] = (FitPoint){nonemb ? r[i].Nne : r[i].N, r[i].D, r[i].final_val};
    if (np < 5)
        z_die_all("sweep fit: %s: %d fitted point%s (%d done, %d not): the law has 5 parameters "
                  "and needs at least 5 distinct (size, tokens) points",
                  results, np, np == 1 ? "" : "s", done, skipped);
    FitResult fr;
    if (law_fit(p, np, &o, &fr))
        z_die_all("sweep fit: %s: no start of the grid converged", results);
    const Law *q = &fr.law;
    int iv = fr.nboot > 1;
    double cmax = 0;
    for (int i = 0; i < np; i++) cmax = fmax(cmax, 6 * p[i].N * p[i].D);
    if (!ncompute) {
        compute[ncompute++] = cmax;
        compute[ncompute++] = cmax * 100;
        compute[ncompute++] = 5.76e23; /* Chinchilla's budget */
    }

    if (json) {
        json_t *j = json_object();
        json_object_set_new(j, "results", json_string(results));
        json_object_set_new(j, "points_fitted", json_integer(np));
        json_object_set_new(j, "points_not_done", json_integer(skipped));
        json_object_set_new(j, "params", json_string(nonemb ? "nonembedding" : "total"));
        json_object_set_new(j, "loss", json_string(best ? "best" : "final"));
        json_object_set_new(j, "huber_delta", json_real(o.delta));
        json_object_set_new(j, "starts", json_integer(fr.starts));
        json_object_set_new(j, "bootstrap", json_integer(fr.nboot));
        json_object_set_new(j, "level", json_real(o.level));
        json_object_set_new(j, "objective", json_real(q->objective));
        interval_json(j, "E", q->E, fr.E, iv);
        interval_json(j, "A", q->A, fr.A, iv);
        interval_json(j, "alpha", q->alpha, fr.alpha, iv);
        interval_json(j, "B", q->B, fr.B, iv);
        interval_json(j, "beta", q->beta, fr.beta, iv);
        interval_json(j, "a", q->beta / (q->alpha + q->beta), fr.a, iv);
        json_t *fa = json_array();
        for (int k = 0; k < ncompute; k++) {
            double N, D, L;
            law_optimal(q, compute[k], &N, &D, &L);
            json_t *e = json_object();
            json_object_set_new(e, "compute", json_real(compute[k]));
            json_object_set_new(e, "N_opt", json_real(N));
            json_object_set_new(e, "D_opt", json_real(D));
            json_object_set_new(e, "loss", json_real(L));
            json_array_append_new(fa, e);
        }
        json_object_set_new(j, "frontier", fa);
        json_dumpf(j, stdout, JSON_INDENT(1));
        printf("\n");
        json_decref(j);
    } else {
        printf("sweep fit: %s: %d points fitted (best lr per size and budget; %d done, %d not "
               "done), N = %s parameters, L = %s validation loss\n",
               results, np, done, skipped, nonemb ? "non-embedding" : "total",
               best ? "best" : "final");
        printf("  L(N, D) = E + A N^-alpha + B D^-beta, Huber delta %g on log L, best of %d "
               "starts, objective %.4g\n",
               o.delta, fr.starts, q->objective);
        if (iv)
            printf("  %-6s %12s   %.0f%% interval (%d bootstrap resamples)\n", "", "value",
                   100 * o.level, fr.nboot);
#define ROW(name, v, I)                                                                            \
    do {                                                                                           \
        if (iv)                                                                                    \
            printf("  %-6s %12.5g   [%.5g, %.5g]\n", name, v, I.lo, I.hi);                         \
        else                                                                                       \
            printf("  %-6s %12.5g\n", name, v);                                                    \
    } while (0)
        ROW("E", q->E, fr.E);
        ROW("A", q->A, fr.A);
        ROW("alpha", q->alpha, fr.alpha);
        ROW("B", q->B, fr.B);
        ROW("beta", q->beta, fr.beta);
        ROW("a", q->beta / (q->alpha + q->beta), fr.a);
#undef ROW
        printf("  compute-optimal under C = 6 N D: N_opt = G (C/6)^a, D_opt = (C/6)/N_opt\n");
        printf("  %12s %12s %12s %10s %8s\n", "C (FLOPs)", "N_opt", "D_opt", "D/N", "loss");
        for (int k = 0; k < ncompute; k++) {
            double N, D, L;
            law_optimal(q, compute[k], &N, &D, &L);
            printf("  %12.4g %12.4g %12.4g %10.3g %8.4f\n", compute[k], N, D, D / N, L);
        }
        if (iv &&
            (fr.alpha.hi - fr.alpha.lo > 0.5 * q->alpha || fr.beta.hi - fr.beta.lo > 0.5 * q->beta))
            printf("  note: the exponents' intervals are wide: the points do not pin the law "
                   "down; add sizes or budgets\n");
    }
    if (plots) {
        if (mkdir(plots, 0777) && errno != EEXIST)
            z_die_all("sweep fit: --plots %s: %s", plots, strerror(errno));
        msg = json ? stderr : stdout;
        fprintf(msg, "plots:\n");
        plot_params(plots, r, n, q, nonemb);
        plot_compute(plots, r, n, q, nonemb);
        plot_lr(plots, r, n);
    }
    law_fit_free(&fr);
    free(p), free(r);
    return 0;
}

int cmd_sweep(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_SWEEP)) return 0;
    if (argc < 1) z_die_all("sweep: which? plan, submit, collect or fit (zeropt sweep --help)");
    if (!strcmp(argv[0], "fit")) return sweep_fit(argc - 1, argv + 1);
    int rc = cmd_sweep_campaign(argv[0], argc - 1, argv + 1);
    if (rc >= 0) return rc;
    z_die_all("sweep: unknown subcommand '%s' (plan, submit, collect, fit; zeropt sweep --help)",
              argv[0]);
}
