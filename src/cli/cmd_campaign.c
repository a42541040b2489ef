/*
 * cmd_campaign.c — `zeropt sweep plan | submit | collect`: a campaign file
 * (src/sweep/campaign.h) sized, submitted and collected. The work is in
 * src/sweep/ (campaign.c: points and allocations; jobs.c: sbatch, squeue,
 * mpirun; runlog.c: what a run's metrics say); this file parses arguments
 * and prints.
 *
 *   zeropt sweep plan CAMPAIGN.ini [--json] [--dry-run]
 *   zeropt sweep submit CAMPAIGN.ini [--dry-run] [--local [--mpirun CMD]]
 *   zeropt sweep collect CAMPAIGN.ini [--json]
 */
#include "cmd.h"

#include "src/sweep/campaign.h"
#include "src/sweep/geometry.h"
#include "src/sweep/jobs.h"
#include "src/sweep/runlog.h"

#include "mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *prec_name(int p) {
    return p == PREC_MIXED ? "mixed" : p == PREC_BF16 ? "bf16" : "fp32";
}

/* 1.23M, 4.5B */
static const char *si(char *b, size_t n, double v) {
    const char *u = "";
    if (v >= 1e12)
        v /= 1e12, u = "T";
    else if (v >= 1e9)
        v /= 1e9, u = "B";
    else if (v >= 1e6)
        v /= 1e6, u = "M";
    else if (v >= 1e3)
        v /= 1e3, u = "k";
    snprintf(b, n, "%.3g%s", v, u);
    return b;
}

static json_t *real_or_null(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

/* ------------------------------------------------------------------------- */
/* plan                                                                       */

static void print_plan(const Campaign *k) {
    printf("sweep plan: %s: campaign %s, %d points in %s/\n", k->path, k->name, k->npt, k->dir);
    printf("  machine: %d x %g GiB devices per node, up to %d node%s", k->devices_per_node,
           k->device_gib, k->max_nodes, k->max_nodes == 1 ? "" : "s");
    if (k->device_tflops > 0)
        printf(", %g TFLOP/s per device at %.0f%% efficiency, links %g Gbit/s, %g us",
               k->device_tflops, 100 * k->efficiency, k->link_gbps, k->link_us);
    printf("; precision %s\n", prec_name(k->precision));
    printf("  allocation: fewest ranks that fit, then the lowest ZeRO stage, then the largest "
           "micro-batch%s\n",
           k->target_hours > 0 ? "; more nodes until a point's predicted time is under "
                                 "[machine] target_hours"
                               : "");
    int timed = k->device_tflops > 0;
    printf("\n  %-28s %8s %8s %7s %5s %5s %5s %5s %5s %8s", "point", "params", "tokens", "steps",
           "ranks", "nodes", "stage", "micro", "accum", "GiB/rank");
    if (timed) printf(" %9s %9s %10s", "step s", "hours", "dev-hours");
    printf("\n");
    char a[32], b[32];
    for (int i = 0; i < k->npt; i++) {
        const Point *p = &k->pt[i];
        printf("  %-28s %8s %8s %7ld %5d %5d %5d %5d %5d %8.3g", p->name,
               si(a, sizeof a, p->params), si(b, sizeof b, p->tokens), p->steps, p->ranks, p->nodes,
               p->stage, p->micro, p->accum, p->mem_bytes / 1073741824.0);
        if (timed)
            printf(" %9.3g %9.3g %10.4g%s", p->step_s, p->hours, p->device_hours,
                   p->over_target ? "  (the fastest; over target_hours)" : "");
        printf("\n");
    }
    if (timed)
        printf("\n  total: %.4g hours one point after another, %.4g device-hours\n", k->total_hours,
               k->total_device_hours);
    char err[2048];
    if (campaign_corpus_missing(k, err, sizeof err))
        printf("  note: %s (submit refuses the campaign until it is there)\n", err);
}

static json_t *plan_json(const Campaign *k) {
    json_t *j = json_object(), *m = json_object(), *arr = json_array();
#define SET(o, key, v) json_object_set_new(o, key, v)
    SET(j, "campaign", json_string(k->name));
    SET(j, "file", json_string(k->path));
    SET(j, "dir", json_string(k->dir));
    SET(m, "devices_per_node", json_integer(k->devices_per_node));
    SET(m, "max_nodes", json_integer(k->max_nodes));
    SET(m, "device_gib", json_real(k->device_gib));
    SET(m, "device_tflops", json_real(k->device_tflops));
    SET(m, "efficiency", json_real(k->efficiency));
    SET(m, "link_gbps", json_real(k->link_gbps));
    SET(m, "link_us", json_real(k->link_us));
    SET(m, "precision", json_string(prec_name(k->precision)));
    SET(j, "machine", m);
    for (int i = 0; i < k->npt; i++) {
        const Point *p = &k->pt[i];
        json_t *o = json_object();
        SET(o, "point", json_string(p->name));
        SET(o, "model", json_string(p->model));
        SET(o, "budget", json_string(p->budget));
        SET(o, "lr", json_real(p->lr));
        SET(o, "config", json_string(p->ini));
        SET(o, "params", json_integer((json_int_t)p->params));
        SET(o, "nonembedding_params", json_integer((json_int_t)p->nonembedding));
        SET(o, "flops_per_token", json_real(p->flops_per_token));
        SET(o, "tokens", json_integer((json_int_t)p->tokens));
        SET(o, "flops", json_real(p->flops));
        SET(o, "steps", json_integer(p->steps));
        SET(o, "global_batch", json_integer(p->cfg.train.global_batch));
        SET(o, "seq_len", json_integer(p->cfg.data.seq_len));
        SET(o, "ranks", json_integer(p->ranks));
        SET(o, "nodes", json_integer(p->nodes));
        SET(o, "ranks_per_node", json_integer(p->per_node));
        SET(o, "stage", json_integer(p->stage));
        SET(o, "micro_batch", json_integer(p->micro));
        SET(o, "accumulation", json_integer(p->accum));
        SET(o, "recompute", json_boolean(p->cfg.train.recompute));
        SET(o, "memory_bytes", json_integer((json_int_t)p->mem_bytes));
        SET(o, "device_bytes", json_integer((json_int_t)p->device_bytes));
        if (k->device_tflops > 0) {
            SET(o, "compute_s", json_real(p->compute_s));
            SET(o, "comm_s", json_real(p->comm_s));
            SET(o, "step_s", json_real(p->step_s));
            SET(o, "hours", json_real(p->hours));
            SET(o, "device_hours", json_real(p->device_hours));
            SET(o, "over_target", json_boolean(p->over_target));
        }
        json_array_append_new(arr, o);
    }
    SET(j, "points", arr);
    if (k->device_tflops > 0) {
        SET(j, "total_hours", json_real(k->total_hours));
        SET(j, "total_device_hours", json_real(k->total_device_hours));
    }
#undef SET
    return j;
}

/* the points submit would run now: new, failed, unfinished */
static int todo_points(const Campaign *k, int *todo, int quiet) {
    Queue q;
    queue_read(&q);
    int n = 0, done = 0, waiting = 0;
    for (int i = 0; i < k->npt; i++) {
        PointStatus s = point_status(k, i, &q);
        if (s.state == PT_DONE) {
            done++;
        } else if (s.state == PT_QUEUED || s.state == PT_RUNNING) {
            waiting++;
            if (!quiet)
                printf("  %-28s %s (job %s)\n", k->pt[i].name, point_state_name(s.state), s.job);
        } else {
            if (s.job[0] && strcmp(s.job, "local") && !q.ok)
                z_die_all("sweep: %s: point %s has job %s on record but squeue does not answer: "
                          "cannot tell whether it is queued; nothing submitted",
                          k->path, k->pt[i].name, s.job);
            if (!quiet && s.state != PT_NEW)
                printf("  %-28s %s%s%s: again\n", k->pt[i].name, point_state_name(s.state),
                       s.error[0] ? ": " : "", s.error);
            todo[n++] = i;
        }
    }
    if (!quiet) printf("  %d done, %d queued or running, %d to submit\n", done, waiting, n);
    queue_free(&q);
    return n;
}

static int sweep_plan(int argc, char **argv) {
    const char *path = NULL;
    int json = 0, dry = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--dry-run"))
            dry = 1;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            z_die_all("sweep plan: unknown argument %s (zeropt sweep --help)", argv[i]);
    }
    if (!path) z_die_all("sweep plan: which campaign? (zeropt sweep plan CAMPAIGN.ini)");
    Campaign k;
    campaign_load(&k, path);
    if (json) {
        json_t *j = plan_json(&k);
        json_dumpf(j, stdout, JSON_INDENT(1));
        printf("\n");
        json_decref(j);
    } else {
        print_plan(&k);
    }
    if (dry) {
        int *todo = calloc((size_t)k.npt + 1, sizeof *todo);
        if (!todo) z_die_all("sweep: out of memory");
        FILE *o = json ? stderr : stdout;
        fflush(stdout);
        int n = todo_points(&k, todo, 1);
        Job *jobs;
        int nj = jobs_build(&k, todo, n, &jobs);
        fprintf(o, "\nsbatch commands (--dry-run: %d of %d points, %d job%s; nothing submitted):\n",
                n, k.npt, nj, nj == 1 ? "" : "s");
        for (int j = 0; j < nj; j++) {
            if (jobs[j].list[0]) {
                fprintf(o, "# array of %d points, %s lists their point.ini:", jobs[j].npt,
                        jobs[j].list);
                for (int i = 0; i < jobs[j].npt; i++) fprintf(o, " %s", k.pt[jobs[j].pt[i]].name);
                fprintf(o, "\n");
            }
            job_print(o, &jobs[j]);
        }
        jobs_free(jobs, nj);
        free(todo);
    }
    campaign_free(&k);
    return 0;
}

/* ------------------------------------------------------------------------- */
/* submit                                                                     */

static int sweep_submit(int argc, char **argv) {
    const char *path = NULL, *mpirun = "mpirun";
    int dry = 0, local = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--dry-run"))
            dry = 1;
        else if (!strcmp(argv[i], "--local"))
            local = 1;
        else if (!strcmp(argv[i], "--mpirun") && i + 1 < argc)
            mpirun = argv[++i];
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            z_die_all("sweep submit: unknown argument %s (zeropt sweep --help)", argv[i]);
    }
    if (!path) z_die_all("sweep submit: which campaign? (zeropt sweep submit CAMPAIGN.ini)");
    Campaign k;
    campaign_load(&k, path);
    char cerr[2048];
    if (campaign_corpus_missing(&k, cerr, sizeof cerr))
        z_die_all("sweep submit: %s: %s; nothing submitted", k.path, cerr);
    printf("sweep submit: %s: campaign %s, %d points%s\n", k.path, k.name, k.npt,
           local ? ", here, one after another (--local)" : "");
    int *todo = calloc((size_t)k.npt + 1, sizeof *todo);
    if (!todo) z_die_all("sweep: out of memory");
    int n = todo_points(&k, todo, 0), failed = 0;
    if (!n) {
        printf("sweep submit: nothing to submit\n");
    } else if (local) {
        if (!dry) {
            Campaign one = k; /* write the point.ini files of the points to run only */
            one.npt = 0, one.pt = calloc((size_t)n, sizeof *one.pt);
            if (!one.pt) z_die_all("sweep: out of memory");
            for (int i = 0; i < n; i++) one.pt[one.npt++] = k.pt[todo[i]];
            campaign_write_points(&one);
            free(one.pt);
        }
        for (int i = 0; i < n; i++) {
            const Point *p = &k.pt[todo[i]];
            printf("  %-28s %s -n %d zeropt train -c %s%s\n", p->name, mpirun, p->ranks, p->ini,
                   dry ? "  (--dry-run)" : "");
            fflush(stdout);
            if (dry) continue;
            int rc = point_run_local(&k, todo[i], mpirun);
            if (rc) failed++;
            printf("  %-28s %s\n", p->name, rc ? "failed (its train.log says why)" : "done");
        }
    } else {
        Job *jobs;
        int nj = jobs_build(&k, todo, n, &jobs);
        char err[512], id[64];
        /* every job passes sbatch --test-only before any is submitted */
        for (int j = 0; j < nj && !dry; j++)
            if (job_test(&jobs[j], err, sizeof err))
                z_die_all("sweep submit: %s: sbatch refuses the job of point %s: %s; nothing "
                          "submitted",
                          k.path, k.pt[jobs[j].pt[0]].name, err);
        if (!dry) {
            Campaign sel = k;
            sel.npt = 0, sel.pt = calloc((size_t)n, sizeof *sel.pt);
            if (!sel.pt) z_die_all("sweep: out of memory");
            for (int i = 0; i < n; i++) sel.pt[sel.npt++] = k.pt[todo[i]];
            campaign_write_points(&sel);
            free(sel.pt);
        }
        for (int j = 0; j < nj; j++) {
            if (dry) {
                job_print(stdout, &jobs[j]);
                continue;
            }
            if (job_submit(&k, &jobs[j], id, sizeof id, err, sizeof err))
                z_die_all("sweep submit: %s: sbatch failed for point %s: %s", k.path,
                          k.pt[jobs[j].pt[0]].name, err);
            if (jobs[j].npt == 1) {
                printf("  %-28s submitted: job %s\n", k.pt[jobs[j].pt[0]].name, id);
            } else {
                for (int i = 0; i < jobs[j].npt; i++)
                    printf("  %-28s submitted: job %s_%d (array of %d)\n", k.pt[jobs[j].pt[i]].name,
                           id, i, jobs[j].npt);
            }
        }
        jobs_free(jobs, nj);
    }
    free(todo);
    campaign_free(&k);
    if (failed) {
        fprintf(stderr, "zeropt: sweep submit: %d point%s failed (zeropt sweep collect %s)\n",
                failed, failed == 1 ? "" : "s", path);
        return 1;
    }
    return 0;
}

/* ------------------------------------------------------------------------- */
/* collect                                                                    */

static void csv_str(FILE *f, const char *s) {
    if (strpbrk(s, ",\"\n")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s == '\n' ? ' ' : *s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
}

static void csv_num(FILE *f, double v) {
    if (isfinite(v)) fprintf(f, "%.10g", v);
}

static int sweep_collect(int argc, char **argv) {
    const char *path = NULL;
    int json = 0;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (argv[i][0] != '-' && !path)
            path = argv[i];
        else
            z_die_all("sweep collect: unknown argument %s (zeropt sweep --help)", argv[i]);
    }
    if (!path) z_die_all("sweep collect: which campaign? (zeropt sweep collect CAMPAIGN.ini)");
    Campaign k;
    campaign_load(&k, path);
    char csvp[CAMPAIGN_PATH + 32], jsonp[CAMPAIGN_PATH + 32];
    snprintf(csvp, sizeof csvp, "%s/results.csv", k.dir);
    snprintf(jsonp, sizeof jsonp, "%s/results.jsonl", k.dir);
    char tmpc[sizeof csvp + 8], tmpj[sizeof jsonp + 8];
    snprintf(tmpc, sizeof tmpc, "%s.tmp", csvp);
    snprintf(tmpj, sizeof tmpj, "%s.tmp", jsonp);
    {
        /* the campaign folder exists once anything was submitted */
        Campaign none = k;
        none.npt = 0;
        campaign_write_points(&none);
    }
    FILE *fc = fopen(tmpc, "w"), *fj = fopen(tmpj, "w");
    if (!fc || !fj) z_die_all("sweep collect: %s: %s", k.dir, strerror(errno));
    static const char *const COLS[] = {
        "point",      "model",  "budget",       "lr",         "params",    "nonembedding_params",
        "tokens",     "flops",  "steps",        "steps_done", "final_val", "best_val",
        "final_loss", "wall_s", "tokens_per_s", "mfu",        "ranks",     "stage",
        "job",        "state",  "error",        NULL};
    for (int c = 0; COLS[c]; c++) fprintf(fc, "%s%s", c ? "," : "", COLS[c]);
    fprintf(fc, "\n");
    Queue q;
    queue_read(&q);
    int count[PT_UNFINISHED + 1] = {0};
    PointStatus *st = calloc((size_t)k.npt + 1, sizeof *st);
    if (!st) z_die_all("sweep: out of memory");
    json_t *all = json_array();
    if (!json)
        printf("sweep collect: %s: campaign %s, %d points\n  %-28s %-10s %8s %8s %9s %9s %9s "
               "%9s %6s %s\n",
               k.path, k.name, k.npt, "point", "state", "params", "tokens", "final val", "best val",
               "wall s", "tok/s", "MFU %", "job");
    for (int i = 0; i < k.npt; i++) {
        const Point *p = &k.pt[i];
        PointStatus s = st[i] = point_status(&k, i, &q);
        count[s.state]++;
        RunLog r;
        char err[512];
        RunSummary sm = {0};
        sm.final_val = sm.best_val = sm.final_loss = sm.wall_s = sm.tokens_per_s = sm.mfu = NAN;
        int ranks = p->ranks, stage = p->stage;
        double tokens = p->tokens, flops = p->flops;
        if (runlog_read(&r, p->cfg.run.dir, err, sizeof err) == 0) {
            sm = runlog_summary(&r);
            if (r.ranks > 0) ranks = r.ranks, stage = r.stage;
            if (s.state == PT_DONE) tokens = sm.tokens, flops = sm.flops;
            runlog_free(&r);
        }
        json_t *o = json_object();
#define SET(key, v) json_object_set_new(o, key, v)
        SET("point", json_string(p->name));
        SET("model", json_string(p->model));
        SET("budget", json_string(p->budget));
        SET("lr", json_real(p->lr));
        SET("params", json_integer((json_int_t)p->params));
        SET("nonembedding_params", json_integer((json_int_t)p->nonembedding));
        SET("tokens", real_or_null(tokens));
        SET("flops", real_or_null(flops));
        SET("steps", json_integer(p->steps));
        SET("steps_done", json_integer(sm.last_step));
        SET("final_val", real_or_null(sm.final_val));
        SET("best_val", real_or_null(sm.best_val));
        SET("final_loss", real_or_null(sm.final_loss));
        SET("wall_s", real_or_null(sm.wall_s));
        SET("tokens_per_s", real_or_null(sm.tokens_per_s));
        SET("mfu", real_or_null(sm.mfu));
        SET("ranks", json_integer(ranks));
        SET("stage", json_integer(stage));
        SET("job", json_string(s.job));
        SET("state", json_string(point_state_name(s.state)));
        SET("error", json_string(s.error));
        if (s.log[0]) SET("log", json_string(s.log));
        if (s.slurm_state[0]) SET("slurm_state", json_string(s.slurm_state));
#undef SET
        char *line = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(10));
        fprintf(fj, "%s\n", line);
        free(line);
        /* the CSV: the same columns */
        csv_str(fc, p->name), fputc(',', fc), csv_str(fc, p->model), fputc(',', fc);
        csv_str(fc, p->budget), fputc(',', fc), csv_num(fc, p->lr), fputc(',', fc);
        csv_num(fc, p->params), fputc(',', fc), csv_num(fc, p->nonembedding), fputc(',', fc);
        csv_num(fc, tokens), fputc(',', fc), csv_num(fc, flops), fputc(',', fc);
        fprintf(fc, "%ld,%ld,", p->steps, sm.last_step);
        csv_num(fc, sm.final_val), fputc(',', fc), csv_num(fc, sm.best_val), fputc(',', fc);
        csv_num(fc, sm.final_loss), fputc(',', fc), csv_num(fc, sm.wall_s), fputc(',', fc);
        csv_num(fc, sm.tokens_per_s), fputc(',', fc), csv_num(fc, sm.mfu), fputc(',', fc);
        fprintf(fc, "%d,%d,", ranks, stage);
        csv_str(fc, s.job), fputc(',', fc), csv_str(fc, point_state_name(s.state));
        fputc(',', fc), csv_str(fc, s.error), fputc('\n', fc);
        if (json) {
            json_array_append(all, o);
        } else {
            char a[32], b[32];
            printf("  %-28s %-10s %8s %8s %9.4f %9.4f %9.1f %9.4g %6.1f %s\n", p->name,
                   point_state_name(s.state), si(a, sizeof a, p->params), si(b, sizeof b, tokens),
                   sm.final_val, sm.best_val, sm.wall_s, sm.tokens_per_s, 100 * sm.mfu,
                   s.job[0] ? s.job : "-");
        }
        json_decref(o);
    }
    queue_free(&q);
    int bad = fclose(fc) != 0;
    bad |= fclose(fj) != 0;
    if (bad || rename(tmpc, csvp) || rename(tmpj, jsonp))
        z_die_all("sweep collect: %s: write failed", k.dir);
    if (json) {
        json_dumpf(all, stdout, JSON_INDENT(1));
        printf("\n");
    } else {
        printf("  %d done, %d queued, %d running, %d failed, %d unfinished, %d not submitted\n",
               count[PT_DONE], count[PT_QUEUED], count[PT_RUNNING], count[PT_FAILED],
               count[PT_UNFINISHED], count[PT_NEW]);
        printf("  results: %s, %s\n", csvp, jsonp);
    }
    json_decref(all);
    /* the failed and unfinished points, each with its reason, on stderr too
     * under --json */
    FILE *o = json ? stderr : stdout;
    for (int i = 0; i < k.npt; i++) {
        const PointStatus *s = &st[i];
        if (s->state == PT_FAILED || s->state == PT_UNFINISHED)
            fprintf(o, "  %s %s: %s (log %s)\n", point_state_name(s->state), k.pt[i].name,
                    s->error[0] ? s->error : "stopped before its last step", s->log);
    }
    free(st);
    campaign_free(&k);
    return 0;
}

int cmd_sweep_campaign(const char *sub, int argc, char **argv) {
    if (!strcmp(sub, "plan")) return sweep_plan(argc, argv);
    if (!strcmp(sub, "submit")) return sweep_submit(argc, argv);
    if (!strcmp(sub, "collect")) return sweep_collect(argc, argv);
    return -1;
}
