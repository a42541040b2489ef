/*
 * loop.c — a whole training run: the run directory, resume, the header, the
 * steps with their evaluations and checkpoints, a stop asked by a signal
 * (checkpoint, EXIT_STOPPED), and the files written at the end.
 */
#include "trainer.h"

#include "io/fsutil.h"
#include "kernels/clock.h"
#include "mpi/comm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

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

int trainer_run(Trainer *tr) {
    Config *c = &tr->cfg;
    const TrainConfig *tc = &c->train;
    char err[Z_ERR_MAX];
    trainer_catch_signals();
    if (tr->rank == 0 && fs_mkdir_p(c->run.dir, err, sizeof err)) z_die("%s", err);
    comm_barrier("run directory");
    int resumed = trainer_resume(tr);
    if (tr->rank == 0) open_run_files(tr, resumed);
    if (tc->dump_batches[0]) trainer_start_dump(tr);
    k_blas_info(&tr->blas);
    /* 3 x 512^3 (0.8 GFLOP): a few tenths of a second even on slow kernels */
    tr->peak_flops = k_gemm_rate(512, 2);
    /* MLM evaluates the head at the masked positions only */
    double fpt = model_flops_per_token(&tr->m, tr->seq,
                                       c->data.objective == OBJ_MLM ? c->data.mask_rate : 1.0);
    trainer_log_header(tr, fpt);
    if (tr->has_val && !resumed) trainer_log_eval(tr, 0, trainer_evaluate(tr, &tr->val, 0), 1);

    tr->t_start = k_now();
    long saved = -1, last = tc->stop_at > 0 && tc->stop_at < tc->steps ? tc->stop_at : tc->steps;
    for (long s = tr->step0; s < last; s++) {
        double t0 = k_now();
        StepStats st = trainer_step(tr, s);
        if (st.stop) {
            z_log("stop requested by a signal: checkpoint after step %ld, then exit %d", s,
                  EXIT_STOPPED);
            if (c->ckpt.every >= 0 && s > tr->step0 && saved != s) trainer_save_ckpt(tr, s);
            trainer_ckpt_wait(tr);
            metrics_close(tr->metrics);
            return EXIT_STOPPED;
        }
        double dt = k_now() - t0;
        long step = s + 1;
        if (tr->rank == 0) trainer_log_step(tr, step, &st, dt, fpt);
        int do_eval = tr->has_val &&
                      ((tc->eval_every > 0 && step % tc->eval_every == 0) || step == tc->steps);
        if (do_eval) trainer_log_eval(tr, step, trainer_evaluate(tr, &tr->val, step), 0);
        if (tr->rank == 0 && metrics_end(tr->metrics))
            z_die("%s/metrics.jsonl: write failed", c->run.dir);
        if (c->ckpt.every > 0 && step % c->ckpt.every == 0) trainer_save_ckpt(tr, saved = step);
    }
    if (c->ckpt.every >= 0 && saved != last && last > tr->step0) trainer_save_ckpt(tr, last);
    if (tr->dump) trainer_finish_dump(tr);
    char path[PATH_MAX_CFG + 64];
    snprintf(path, sizeof path, "%s/model.h5", c->run.dir);
    trainer_save_model(tr, path);
    z_log("done: %ld of %ld steps in %.1f s; metrics in %s/metrics.jsonl, model in %s", last,
          tc->steps, k_now() - tr->t_start, c->run.dir, path);
    trainer_log_end(tr, last);
    trainer_ckpt_wait(tr);
    metrics_close(tr->metrics);
    return 0;
}
