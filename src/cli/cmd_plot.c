/*
 * cmd_plot.c — `zeropt plot RUN_DIR…`: the training curves of one or several
 * runs in one PNG through gnuplot: training loss with validation loss (and
 * the unigram baseline; continual pretraining: the original corpus's validation
 * loss), learning rate, gradient norm and tokens/s, against
 * steps, tokens or wall time. The script (data inline) is written beside the
 * picture.
 *
 *   zeropt plot runs/demo                       → runs/demo/curves.png
 *   zeropt plot runs/a runs/b --x tokens -o ab.png
 */
#include "cmd.h"

#include "src/sweep/gnuplot.h"
#include "src/sweep/runlog.h"

#include "mpi/err.h"

#include <errno.h>
#include <libgen.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

const char USAGE_PLOT[] =
    "zeropt plot RUN_DIR|metrics.jsonl ... [--x step|tokens|time] [-o OUT.png] [--title TEXT]\n"
    "    [--size WxH]\n"
    "    training and validation loss, learning rate, gradient norm and tokens/s of the runs\n"
    "    in one PNG (gnuplot); OUT.gp beside it holds the script and the data. Default OUT:\n"
    "    RUN_DIR/curves.png for one run folder, curves.png for several\n";

enum { X_STEP, X_TOKENS, X_TIME };

/* a run's label: its folder's name, or the file's name without .jsonl */
static void label_of(char *out, size_t n, const char *path) {
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s", path);
    size_t len = strlen(tmp);
    while (len > 1 && tmp[len - 1] == '/') tmp[--len] = 0;
    const char *b = basename(tmp);
    if (!strcmp(b, "metrics.jsonl")) {
        char *slash = strrchr(tmp, '/');
        if (slash) {
            *slash = 0;
            b = basename(tmp);
        } else {
            b = ".";
        }
    }
    snprintf(out, n, "%s", b);
    len = strlen(out);
    if (len > 6 && !strcmp(out + len - 6, ".jsonl")) out[len - 6] = 0;
}

static double xs(int x, long step, double tokens, double t) {
    return x == X_STEP ? (double)step : x == X_TOKENS ? tokens : t;
}

int cmd_plot(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_PLOT)) return 0;
    const char *out = NULL, *title = NULL, **runs = z_calloc(argc + 1, sizeof *runs, "runs");
    int nrun = 0, x = X_STEP, w = 1200, h = 800;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--x") || !strcmp(a, "-o") || !strcmp(a, "--title") ||
            !strcmp(a, "--size")) {
            if (i + 1 >= argc) z_die_all("plot: %s needs a value (zeropt plot --help)", a);
            const char *v = argv[++i];
            if (!strcmp(a, "-o")) {
                out = v;
            } else if (!strcmp(a, "--title")) {
                title = v;
            } else if (!strcmp(a, "--size")) {
                char *e;
                w = (int)strtol(v, &e, 10);
                h = *e == 'x' ? (int)strtol(e + 1, &e, 10) : 0;
                if (*e || w < 200 || h < 150 || w > 8000 || h > 8000)
                    z_die_all("plot: --size %s: expected WxH, e.g. 1200x800 (200-8000)", v);
            } else if (!strcmp(v, "step")) {
                x = X_STEP;
            } else if (!strcmp(v, "tokens")) {
                x = X_TOKENS;
            } else if (!strcmp(v, "time")) {
                x = X_TIME;
            } else {
                z_die_all("plot: --x must be step, tokens or time (got '%s')", v);
            }
        } else if (a[0] == '-') {
            z_die_all("plot: unknown option %s (zeropt plot --help)", a);
        } else {
            runs[nrun++] = a;
        }
    }
    if (!nrun) z_die_all("plot: no run given (zeropt plot RUN_DIR ...)");

    RunLog *log = z_calloc(nrun, sizeof *log, "runs");
    char err[Z_ERR_MAX];
    for (int i = 0; i < nrun; i++) {
        if (runlog_read(&log[i], runs[i], err, sizeof err)) z_die_all("plot: %s", err);
        if (!log[i].nstep) z_die_all("plot: %s: no step records yet", runs[i]);
    }
    char png[4096];
    struct stat st;
    if (out)
        snprintf(png, sizeof png, "%s", out);
    else if (nrun == 1 && !stat(runs[0], &st) && S_ISDIR(st.st_mode))
        snprintf(png, sizeof png, "%s/curves.png", runs[0]);
    else
        snprintf(png, sizeof png, "curves.png");
    char gp[4200];
    gp_script_path(gp, sizeof gp, png);
    FILE *f = fopen(gp, "w");
    if (!f) z_die_all("plot: %s: %s", gp, strerror(errno));

    gp_preamble(f, png, w, h);
    for (int i = 0; i < nrun; i++) {
        const RunLog *r = &log[i];
        fprintf(f, "$steps%d << EOD\n# x loss lr grad_norm tokens_per_s\n", i);
        for (int k = 0; k < r->nstep; k++) {
            const RunStep *s = &r->step[k];
            gp_num(f, xs(x, s->step, s->tokens, s->elapsed_s));
            fputc(' ', f), gp_num(f, s->loss);
            fputc(' ', f), gp_num(f, s->lr);
            fputc(' ', f), gp_num(f, s->grad_norm > 0 ? s->grad_norm : NAN);
            fputc(' ', f), gp_num(f, s->tokens_per_s), fputc('\n', f);
        }
        fprintf(f, "EOD\n$val%d << EOD\n# x val_loss val_loss_orig\n", i);
        for (int k = 0; k < r->neval; k++) {
            const RunEval *e = &r->eval[k];
            gp_num(f, xs(x, e->step, e->tokens, e->elapsed_s));
            fputc(' ', f), gp_num(f, e->loss);
            fputc(' ', f), gp_num(f, e->loss_orig), fputc('\n', f);
        }
        fprintf(f, "EOD\n");
    }
    const char *xl = x == X_STEP ? "step" : x == X_TOKENS ? "tokens" : "wall time (s)";
    fprintf(f, "set multiplot layout 2,2 title ");
    gp_quote(f, title ? title : nrun == 1 ? runs[0] : "zeropt runs");
    fprintf(f, "\nset xlabel '%s'\n", xl);
    if (x == X_TOKENS) fprintf(f, "set format x '%%.1s%%c'\n");

    /* loss: training lines, validation points joined, unigram dashed */
    fprintf(f, "set title 'loss (nats)'\nplot ");
    for (int i = 0; i < nrun; i++) {
        char lab[256];
        label_of(lab, sizeof lab, runs[i]);
        char tl[300], vl[300];
        snprintf(tl, sizeof tl, "%s train", lab);
        snprintf(vl, sizeof vl, "%s val", lab);
        fprintf(f, "%s$steps%d using 1:2 with lines lc %d title ", i ? ", " : "", i, i + 1);
        gp_quote(f, tl);
        if (log[i].neval) {
            fprintf(f, ", $val%d using 1:2 with linespoints pt 7 ps 0.6 dt 2 lc %d title ", i,
                    i + 1);
            gp_quote(f, vl);
        }
        int orig = 0; /* continual pretraining: the original corpus's validation loss */
        for (int k = 0; k < log[i].neval; k++) orig |= isfinite(log[i].eval[k].loss_orig);
        if (orig) {
            snprintf(vl, sizeof vl, "%s val (original corpus)", lab);
            fprintf(f, ", $val%d using 1:3 with linespoints pt 6 ps 0.6 dt 4 lc %d title ", i,
                    i + 1);
            gp_quote(f, vl);
        }
        int shown = 0; /* one baseline line per distinct corpus */
        for (int j = 0; j < i; j++) shown |= log[j].unigram == log[i].unigram;
        if (isfinite(log[i].unigram) && !shown) {
            fprintf(f, ", %.9g with lines dt 3 lc %d title ", log[i].unigram, i + 1);
            char ul[300];
            snprintf(ul, sizeof ul, "%s%sunigram", nrun > 1 ? lab : "", nrun > 1 ? " " : "");
            gp_quote(f, ul);
        }
    }
    fprintf(f, "\nset title 'learning rate'\nplot ");
    for (int i = 0; i < nrun; i++)
        fprintf(f, "%s$steps%d using 1:3 with lines lc %d notitle", i ? ", " : "", i, i + 1);
    fprintf(f, "\nset title 'gradient norm (before clipping)'\nset logscale y\nplot ");
    for (int i = 0; i < nrun; i++)
        fprintf(f, "%s$steps%d using 1:4 with lines lc %d notitle", i ? ", " : "", i, i + 1);
    fprintf(f, "\nunset logscale y\nset title 'tokens/s'\nplot ");
    for (int i = 0; i < nrun; i++)
        fprintf(f, "%s$steps%d using 1:5 with lines lc %d notitle", i ? ", " : "", i, i + 1);
    fprintf(f, "\nunset multiplot\n");
    if (fclose(f)) z_die_all("plot: %s: write failed", gp);
    if (gp_render(gp, err, sizeof err)) z_die_all("plot: %s", err);
    int pts = 0;
    for (int i = 0; i < nrun; i++) pts += log[i].nstep + log[i].neval;
    printf("plot: %d run%s, %d points against %s: %s (script %s)\n", nrun, nrun > 1 ? "s" : "", pts,
           xl, png, gp);
    for (int i = 0; i < nrun; i++) runlog_free(&log[i]);
    free(log), free(runs);
    return 0;
}
