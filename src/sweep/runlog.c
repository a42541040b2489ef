/*
 * runlog.c — metrics.jsonl back into a run's history (runlog.h), one JSON
 * object per line through jansson.
 */
#include "runlog.h"

#include "mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

static double num(json_t *o, const char *k) {
    json_t *v = json_object_get(o, k);
    return json_is_number(v) ? json_number_value(v) : NAN;
}

static void *grow(void *p, int n, int *cap, size_t elem) {
    if (n < *cap) return p;
    *cap = *cap ? 2 * *cap : 256;
    void *q = realloc(p, (size_t)*cap * elem);
    if (!q) z_die("runlog: out of memory");
    return q;
}

int runlog_read(RunLog *r, const char *path, char *err, size_t errlen) {
    memset(r, 0, sizeof *r);
    r->params = r->nonembedding_params = r->flops_per_token = r->unigram = NAN;
    r->stage = -1;
    char file[4096];
    struct stat st;
    if (!stat(path, &st) && S_ISDIR(st.st_mode))
        snprintf(file, sizeof file, "%s/metrics.jsonl", path);
    else
        snprintf(file, sizeof file, "%s", path);
    FILE *f = fopen(file, "r");
    if (!f) return z_fail(err, errlen, "%s: %s", file, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    int scap = 0, ecap = 0, headers = 0;
    long lineno = 0;
    double offset = 0, job_max = 0; /* elapsed of the jobs before this one */
    while (getline(&line, &cap, f) > 0) {
        lineno++;
        if (line[strspn(line, " \t\r\n")] == 0) continue;
        json_error_t je;
        json_t *o = json_loads(line, 0, &je);
        if (!json_is_object(o)) {
            json_decref(o);
            free(line), fclose(f), runlog_free(r);
            return z_fail(err, errlen, "%s:%ld: not a JSON object (%s)", file, lineno,
                          je.text[0] ? je.text : "an array or a value");
        }
        json_t *sv = json_object_get(o, "step");
        if (!json_is_integer(sv)) {
            json_decref(o);
            free(line), fclose(f), runlog_free(r);
            return z_fail(err, errlen, "%s:%ld: a record without an integer \"step\"", file,
                          lineno);
        }
        long step = (long)json_integer_value(sv);
        if (json_object_get(o, "params")) { /* a job's header */
            if (headers++) r->resumes++;
            offset += job_max, job_max = 0;
            r->params = num(o, "params");
            r->nonembedding_params = num(o, "nonembedding_params");
            r->flops_per_token = num(o, "flops_per_token");
            r->unigram = num(o, "unigram_entropy");
            double v;
            if (!isnan(v = num(o, "seq_len"))) r->seq_len = (long)v;
            if (!isnan(v = num(o, "global_batch"))) r->global_batch = (long)v;
            if (!isnan(v = num(o, "steps"))) r->steps_planned = (long)v;
            if (!isnan(v = num(o, "ranks"))) r->ranks = (int)v;
            if (!isnan(v = num(o, "zero_stage"))) r->stage = (int)v;
            r->finished = 0;
        }
        double el = num(o, "elapsed_s");
        if (!isnan(el) && el > job_max) job_max = el;
        if (json_object_get(o, "loss") && !json_object_get(o, "rewound_to")) {
            while (r->nstep && r->step[r->nstep - 1].step >= step) r->nstep--;
            while (r->neval && r->eval[r->neval - 1].step > step) r->neval--;
            r->step = grow(r->step, r->nstep, &scap, sizeof *r->step);
            double tok = num(o, "tokens");
            if (isnan(tok) && r->global_batch && r->seq_len)
                tok = (double)step * r->global_batch * r->seq_len;
            r->step[r->nstep++] = (RunStep){step,
                                            tok,
                                            offset + el,
                                            num(o, "loss"),
                                            num(o, "lr"),
                                            num(o, "grad_norm"),
                                            num(o, "tokens_per_s"),
                                            num(o, "mfu")};
        }
        if (json_object_get(o, "val_loss")) {
            while (r->neval && r->eval[r->neval - 1].step >= step) r->neval--;
            r->eval = grow(r->eval, r->neval, &ecap, sizeof *r->eval);
            int same = r->nstep && r->step[r->nstep - 1].step == step;
            double tok = same ? r->step[r->nstep - 1].tokens /* (a length warm-up's) */
                         : r->global_batch && r->seq_len
                             ? (double)step * r->global_batch * r->seq_len
                             : NAN;
            double t = same ? r->step[r->nstep - 1].elapsed_s : offset + (isnan(el) ? job_max : el);
            r->eval[r->neval++] =
                (RunEval){step, tok, t, num(o, "val_loss"), num(o, "val_loss_orig")};
        }
        if (json_object_get(o, "peak_rss_bytes"))
            r->finished = r->steps_planned > 0 && step >= r->steps_planned;
        json_decref(o);
    }
    int bad = ferror(f);
    free(line), fclose(f);
    if (bad) {
        runlog_free(r);
        return z_fail(err, errlen, "%s: read failed", file);
    }
    if (!headers) {
        runlog_free(r);
        return z_fail(err, errlen,
                      "%s: no header record (step 0 with \"params\"): not a zeropt "
                      "metrics file, or the run never started",
                      file);
    }
    return 0;
}

void runlog_free(RunLog *r) {
    free(r->step), free(r->eval);
    r->step = NULL, r->eval = NULL, r->nstep = r->neval = 0;
}

static int by_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* the median of the finite values of a field of the step records */
static double median_of(const RunLog *r, size_t off) {
    double *v = malloc(((size_t)r->nstep + 1) * sizeof *v);
    if (!v) return NAN;
    int n = 0;
    for (int i = 0; i < r->nstep; i++) {
        double x = *(const double *)((const char *)&r->step[i] + off);
        if (isfinite(x)) v[n++] = x;
    }
    qsort(v, n, sizeof *v, by_double);
    double m = n == 0 ? NAN : n % 2 ? v[n / 2] : 0.5 * (v[n / 2 - 1] + v[n / 2]);
    free(v);
    return m;
}

RunSummary runlog_summary(const RunLog *r) {
    RunSummary s = {.tokens = NAN,
                    .flops = NAN,
                    .final_val = NAN,
                    .best_val = NAN,
                    .final_loss = NAN,
                    .wall_s = NAN,
                    .tokens_per_s = NAN,
                    .mfu = NAN};
    if (r->nstep) {
        const RunStep *last = &r->step[r->nstep - 1];
        s.last_step = last->step;
        s.tokens = last->tokens;
        s.flops = r->flops_per_token * s.tokens;
        s.wall_s = last->elapsed_s;
        int from = r->nstep - (r->nstep + 9) / 10;
        double sum = 0;
        for (int i = from; i < r->nstep; i++) sum += r->step[i].loss;
        s.final_loss = sum / (r->nstep - from);
        s.tokens_per_s = median_of(r, offsetof(RunStep, tokens_per_s));
        s.mfu = median_of(r, offsetof(RunStep, mfu));
    }
    for (int i = 0; i < r->neval; i++) {
        double v = r->eval[i].loss;
        if (!isfinite(v)) continue;
        s.final_val = v;
        if (isnan(s.best_val) || v < s.best_val) s.best_val = v;
    }
    return s;
}
