/*
 * loop.c — a whole training run: the run directory, resume, the header, the
 * steps with their evaluations and checkpoints, a stop asked by a signal
 * (checkpoint, EXIT_STOPPED), and the files written at the end.
 */
#include "trainer.h"

#include "io/fsutil.h"
#include "kernels/clock.h"
#include "mpi/comm.h"
#include "mpi/fault.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* config.ini and metrics.jsonl in the run directory (rank 0). */
static void open_run_files(Trainer *tr, int resumed) {
    const Config *c = &tr->cfg;
    char path[PATH_MAX_CFG + 64], err[Z_ERR_MAX];
    char *text = config_format(c, NULL);
    printf("%s\n", text);
    snprintf(path, sizeof path, "%s/config.ini", c->run.dir);
    FILE *f = fopen(path, "w");
    if (!f || fputs(text, f) < 0 || fclose(f)) z_die("%s: cannot write", path);
    free(text);
    snprintf(path, sizeof path, "%s/metrics.jsonl", c->run.dir);
    if (!resumed) remove(path); /* a resumed run appends to its history */
    tr->metrics = metrics_open(path, err, sizeof err);
    if (!tr->metrics) z_die("%s", err);
}

/* The divergence guard's judgement of a step's loss against the window of
 * the losses before it (then the loss joins the window). Rank 0 judges and
 * every rank follows (one broadcast: all-reduced sums need not agree to the
 * last bit on every rank). */
static int is_spike(Trainer *tr, double loss, double *mean_out) {
    const GuardConfig *g = &tr->cfg.guard;
    if (g->spike_sigma <= 0 && g->spike_ratio <= 0) return 0;
    int spike = 0;
    if (tr->rank == 0) {
        if (!tr->win) tr->win = z_calloc(g->window, sizeof(double), "guard window");
        if (tr->win_n == g->window) {
            double sum = 0, sq = 0, lo = INFINITY;
            for (int i = 0; i < tr->win_n; i++) {
                sum += tr->win[i], sq += tr->win[i] * tr->win[i];
                lo = tr->win[i] < lo ? tr->win[i] : lo;
            }
            double mean = sum / tr->win_n, var = sq / tr->win_n - mean * mean;
            double sd = sqrt(var > 0 ? var : 0);
            spike = (g->spike_sigma > 0 && loss > mean + g->spike_sigma * sd) ||
                    (g->spike_ratio > 0 && loss > g->spike_ratio * lo);
            *mean_out = mean;
        }
        if (!spike) { /* a spike does not join the window it is judged by */
            tr->win[tr->win_at] = loss;
            tr->win_at = (tr->win_at + 1) % g->window;
            if (tr->win_n < g->window) tr->win_n++;
        }
    }
    double d[2] = {spike, *mean_out}; /* the verdict and the mean it was judged by */
    comm_bcast(d, sizeof d, 0, "guard decision");
    *mean_out = d[1];
    return d[0] != 0;
}

/* A spike at step s (0-based; its loss came from the weights after s
 * updates): load the newest checkpoint at least rewind_back steps older than
 * those weights, skip the data from it through step s, and go on from it.
 * Returns the step to continue from, or s + 1 to go on without a rewind. */
static long rewind_spike(Trainer *tr, long s, double loss, double mean) {
    const GuardConfig *g = &tr->cfg.guard;
    if (tr->rewinds >= g->max_rewinds)
        z_die_all("step %ld: loss %.4f spiked above the window's mean %.4f after %d rewinds "
                  "([guard] max_rewinds = %d): the run diverges; lower [train] lr, raise warmup "
                  "or clip",
                  s + 1, loss, mean, tr->rewinds, g->max_rewinds);
    long to = trainer_rewind(tr, s - g->rewind_back);
    if (to < 0) {
        z_log("guard: step %ld: loss %.4f spiked (window mean %.4f), but no checkpoint at or "
              "before step %ld to rewind to: going on",
              s + 1, loss, mean, s - g->rewind_back);
        return s + 1;
    }
    int64_t skip = (int64_t)(s + 1 - to) * tr->batch;
    tr->cursor0 += skip;
    tr->rewinds++;
    tr->win_n = tr->win_at = 0;
    tr->lr_hold_until = to + g->rewind_lr_steps;
    z_log("guard: step %ld: loss %.4f spiked (window mean %.4f): rewound to step %ld, skipping "
          "%lld training sequences (through step %ld's); rewind %d of [guard] max_rewinds = %d%s",
          s + 1, loss, mean, to, (long long)skip, s + 1, tr->rewinds, g->max_rewinds,
          g->rewind_lr_steps > 0 ? ", lower learning rate for a while" : "");
    return to;
}

/* ZEROPT_FAULT=leak: blocks that nothing frees, one from this thread and
 * one from an OpenMP thread (the sanitizer build must report both) */
static void *volatile leak_sink;
static void leak_on_purpose(int rank) {
    leak_sink = malloc(1000 + (size_t)rank);
    leak_sink = NULL;
    k_leak_in_thread(2000 + (size_t)rank);
}

int trainer_run(Trainer *tr) {
    Config *c = &tr->cfg;
    const TrainConfig *tc = &c->train;
    char err[Z_ERR_MAX];
    trainer_catch_signals();
    if (tr->rank == 0 && fs_mkdir_p(c->run.dir, err, sizeof err)) z_die("%s", err);
    comm_barrier("run directory");
    trainer_continual_init(tr, -1); /* L2-SP's anchor, before a resume replaces the weights */
    int resumed = trainer_resume(tr);
    trainer_continual_init(tr, resumed);
    if (tr->rank == 0) open_run_files(tr, resumed);
    if (tc->dump_batches[0]) trainer_start_dump(tr);
    k_blas_info(&tr->blas);
    /* 3 x 512^3 (0.8 GFLOP): a few tenths of a second even on slow kernels */
    tr->peak_flops = k_gemm_rate(512, 2);
    /* MLM evaluates the head at the masked positions only */
    double fpt = model_flops_per_token(&tr->m, tr->seq,
                                       c->data.objective == OBJ_MLM ? c->data.mask_rate : 1.0);
    trainer_log_header(tr, fpt);
    if (tr->has_val && !resumed) {
        EvalStats e = trainer_evaluate(tr, &tr->val, 0), o;
        if (tr->has_orig_val) o = trainer_evaluate(tr, &tr->orig_val, 0);
        trainer_log_eval(tr, 0, e, tr->has_orig_val ? &o : NULL, 1);
    }

    if (z_fault("leak")) leak_on_purpose(tr->rank);
    tr->t_start = k_now();
    long total = tr->steps_total;
    if (total != tc->steps)
        z_log("sequence-length warm-up from %d to %d tokens over %ld steps: %ld steps keep the "
              "token budget of %ld full-length steps (%.0f tokens); the learning rate follows "
              "tokens",
              c->curriculum.seq_start, tr->seq, c->curriculum.seq_steps, total, tc->steps,
              (double)tc->steps * tr->batch * tr->seq);
    long saved = -1, last = tc->stop_at > 0 && tc->stop_at < total ? tc->stop_at : total;
    for (long s = tr->step0; s < last; s++) {
        double t0 = k_now();
        if (s == 2 && tr->rank == 1 && z_fault("stall"))
            for (;;) pause(); /* rank 1 never reaches step 3's collectives */
        StepStats st = trainer_step(tr, s);
        if (st.stop) {
            z_log("stop requested by a signal: checkpoint after step %ld, then exit %d", s,
                  EXIT_STOPPED);
            if (c->ckpt.every >= 0 && s > tr->step0 && saved != s) trainer_save_ckpt(tr, s);
            trainer_ckpt_wait(tr);
            metrics_close(tr->metrics);
            return EXIT_STOPPED;
        }
        double dt = k_now() - t0, mean = 0;
        if (!st.skipped && is_spike(tr, st.loss, &mean)) {
            long to = rewind_spike(tr, s, st.loss, mean);
            if (to <= s) {
                if (tr->rank == 0) { /* the spiked step on record, then the rewind */
                    metrics_begin(tr->metrics);
                    metrics_int(tr->metrics, "step", s + 1);
                    metrics_real(tr->metrics, "loss", st.loss);
                    metrics_int(tr->metrics, "rewound_to", to);
                    if (metrics_end(tr->metrics))
                        z_die("%s/metrics.jsonl: write failed", c->run.dir);
                }
                saved = -1, s = to - 1;
                continue;
            }
        }
        long step = s + 1;
        if (tr->rank == 0) trainer_log_step(tr, step, &st, dt, fpt);
        int do_eval =
            tr->has_val && ((tc->eval_every > 0 && step % tc->eval_every == 0) || step == total);
        if (do_eval) {
            EvalStats e = trainer_evaluate(tr, &tr->val, step), o;
            if (tr->has_orig_val) o = trainer_evaluate(tr, &tr->orig_val, step);
            trainer_log_eval(tr, step, e, tr->has_orig_val ? &o : NULL, 0);
        }
        if (tr->rank == 0 && metrics_end(tr->metrics))
            z_die("%s/metrics.jsonl: write failed", c->run.dir);
        trainer_ckpt_poll(tr);
        if (c->ckpt.every > 0 && step % c->ckpt.every == 0) trainer_save_ckpt(tr, saved = step);
    }
    if (c->ckpt.every >= 0 && saved != last && last > tr->step0) trainer_save_ckpt(tr, last);
    if (tr->dump) trainer_finish_dump(tr);
    char path[PATH_MAX_CFG + 64];
    snprintf(path, sizeof path, "%s/model.h5", c->run.dir);
    trainer_save_model(tr, path);
    z_log("done: %ld of %ld steps in %.1f s; metrics in %s/metrics.jsonl, model in %s", last, total,
          k_now() - tr->t_start, c->run.dir, path);
    trainer_log_end(tr, last);
    trainer_ckpt_wait(tr);
    metrics_close(tr->metrics);
    return 0;
}
