/*
 * train.c — `zeropt train` and `zeropt eval`: the step, evaluation, logging.
 *
 * One step: global_batch sequences = micro_batch × accumulation × ranks. Rank
 * r takes training positions [step·GB + r·GB/N, step·GB + (r+1)·GB/N), so the
 * samples, masks and dropout a step sees do not depend on N. The loss is
 * Σ(token losses) / Σ(labelled tokens) over the global batch; each rank
 * scales its backward by 1/Σ and the ZeRO partition (mpi/zero.c, wired in
 * train_zero.c) sums the gradients: all-reduce at stage 0, reduce-scatter
 * into shards at stages 1–3.
 */
#include "optim.h"
#include "trainer.h"

#include "../kernels/rng.h"
#include "../mpi/comm.h"
#include "../mpi/err.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* ------------------------------------------------------------------------- */
/* one step                                                                   */

/* Fill this rank's accum × mb samples for step s; a bad sample leaves its
 * message in tr->err (the step's first collective spreads the failure). */
static void load_step(Trainer *tr, long s) {
    int per_rank = tr->accum * tr->mb, T = tr->T, V = tr->cfg.model.vocab_size;
    int64_t base = tr->cursor0 + (int64_t)(s - tr->step0) * tr->gb + (int64_t)tr->rank * per_rank;
    tr->err[0] = 0;
    for (int j = 0; j < per_rank && !tr->err[0]; j++) {
        int32_t *tok = tr->tok + (size_t)j * T, *lab = tr->lab + (size_t)j * T;
        tr->pos[j] = base + j;
        if (tr->replay_tok) {
            size_t off = (size_t)(base + j) * T;
            memcpy(tok, tr->replay_tok + off, T * 4);
            memcpy(lab, tr->replay_lab + off, T * 4);
        } else if (data_sample(&tr->train, base + j, s, tok, lab, tr->err, sizeof tr->err)) {
            break;
        }
        for (int t = 0; t < T && !tr->err[0]; t++)
            if (tok[t] < 0 || tok[t] >= V || lab[t] >= V)
                snprintf(tr->err, sizeof tr->err,
                         "%s: training position %ld has token id %d outside the vocabulary [0, %d)",
                         tr->replay_tok ? tr->cfg.train.replay : tr->cfg.data.path,
                         (long)(base + j), tok[t] < 0 || tok[t] >= V ? tok[t] : lab[t], V);
    }
    if (tr->dump) {
        size_t off = (size_t)(s - tr->step0) * tr->gb * T;
        memcpy(tr->dump_tok + off, tr->tok, (size_t)per_rank * T * 4);
        memcpy(tr->dump_lab + off, tr->lab, (size_t)per_rank * T * 4);
    }
}

static Batch micro(const Trainer *tr, int a, uint64_t seed, int train) {
    size_t off = (size_t)a * tr->mb * tr->T;
    Batch b = {
        tr->mb, tr->T, tr->tok + off, tr->lab + off, NULL, NULL, tr->pos + (size_t)a * tr->mb,
        seed,   train};
    return b;
}

typedef struct {
    double loss, gnorm, lr, comm_bytes, control_bytes, wait_s;
    int stop; /* a rank was asked to stop (SIGUSR1/SIGTERM): the step did not run */
} StepStats;

/* SIGUSR1 or SIGTERM (Slurm's warning before the time limit, scancel): stop at
 * the next step boundary with a checkpoint. The flag travels in the step's
 * first collective, so every rank stops at the same step. */
static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

static StepStats train_step(Trainer *tr, long s) {
    Model *m = &tr->m;
    const TrainConfig *tc = &tr->cfg.train;
    StepStats st = {0, 0, lr_at(tc, s), 0, 0, 0, 0};
    comm_reset_stats();
    load_step(tr, s);
    /* Σ labelled positions over the global batch (the loss denominator), and
     * how many ranks met bad data: one collective, so every rank stops together */
    double cnt[3] = {0, tr->err[0] ? 1 : 0, stop_requested ? 1 : 0};
    for (size_t i = 0; i < (size_t)tr->accum * tr->mb * tr->T; i++) cnt[0] += tr->lab[i] >= 0;
    comm_allreduce_f64(cnt, 3, "label count", s);
    if (cnt[1] > 0) z_exit_agreed(tr->err);
    if (cnt[2] > 0) {
        st.stop = 1;
        return st;
    }
    if (cnt[0] == 0) z_die_all("step %ld: the global batch has no labelled positions", s + 1);
    uint64_t dseed = k_rng_child(k_rng_child((uint64_t)tc->seed, 0xD80), (uint64_t)s);
    zero_begin_step(tr->zero, s);
    double loss = 0;
    for (int a = 0; a < tr->accum; a++) {
        Batch b = micro(tr, a, dseed, 1);
        zero_begin_micro(tr->zero, a == tr->accum - 1);
        loss += model_forward(m, &b);
        model_backward(m, &b, 1.0 / cnt[0]);
        zero_end_backward(tr->zero);
    }
    st.gnorm = trainer_update(tr, s, st.lr, &loss);
    st.loss = loss / cnt[0];
    if (!isfinite(st.gnorm) || !isfinite(st.loss))
        z_die_all("step %ld: non-finite loss (%g) or gradient norm (%g); lower [train] lr or "
                  "raise warmup",
                  s + 1, st.loss, st.gnorm);
    CommStats cs = comm_stats();
    st.comm_bytes = cs.tensor_bytes, st.control_bytes = cs.control_bytes, st.wait_s = cs.wait_s;
    return st;
}

/* ------------------------------------------------------------------------- */
/* evaluation                                                                 */

typedef struct {
    double loss, acc, count;
} EvalStats;

/* argmax over V of each labelled row's probabilities = the model's guess */
static double correct_rows(const Model *m, const Batch *b) {
    int V = m->c.vocab_size;
    double ok = 0;
    for (int r = 0; r < m->n_rows; r++) {
        int label = m->c.arch == ARCH_ENCODER ? m->row_labels[r] : b->labels[r];
        if (label < 0) continue;
        const float *p = m->probs + (size_t)r * V;
        int best = 0;
        for (int v = 1; v < V; v++)
            if (p[v] > p[best]) best = v;
        ok += best == label;
    }
    return ok;
}

/* The first val_batches × GB held-out sequences, split evenly over ranks.
 * Every rank runs the same number of forwards (ZeRO-3 gathers are
 * collective): a rank out of samples, or one that met bad data, runs a blank
 * sequence and discards it; errors are agreed at the end. */
static EvalStats evaluate(Trainer *tr, DataSource *d, long step) {
    Model *m = &tr->m;
    int64_t want = (int64_t)tr->cfg.data.val_batches * tr->gb;
    int64_t n = want < d->n_samples ? want : d->n_samples;
    int64_t lo = n * tr->rank / tr->nranks, hi = n * (tr->rank + 1) / tr->nranks;
    int64_t most = (n + tr->nranks - 1) / tr->nranks, iters = (most + tr->mb - 1) / tr->mb;
    double acc[4] = {0, 0, 0, 0}; /* Σ loss, Σ labelled, Σ correct, ranks with bad data */
    tr->err[0] = 0;
    for (int64_t it = 0; it < iters; it++) {
        int64_t k0 = lo + it * tr->mb;
        int B = (int)(hi - k0 < tr->mb ? hi - k0 : tr->mb), real = B > 0 && !tr->err[0];
        for (int j = 0; j < B && real; j++) {
            tr->pos[j] = k0 + j;
            if (data_sample(d, k0 + j, -1, tr->tok + (size_t)j * tr->T, tr->lab + (size_t)j * tr->T,
                            tr->err, sizeof tr->err))
                real = 0;
        }
        if (!real) { /* keep step with the others' collectives on a blank sequence */
            B = 1;
            tr->pos[0] = 0;
            for (int t = 0; t < tr->T; t++) tr->tok[t] = 0, tr->lab[t] = LABEL_IGNORE;
        }
        Batch b = micro(tr, 0, 0, 0);
        b.B = B;
        double l = model_forward(m, &b);
        if (!real) continue;
        acc[0] += l;
        acc[1] += (double)m->n_labels;
        acc[2] += correct_rows(m, &b);
    }
    acc[3] = tr->err[0] != 0;
    comm_allreduce_f64(acc, 4, "validation", step);
    if (acc[3] > 0) z_exit_agreed(tr->err);
    EvalStats e = {acc[1] > 0 ? acc[0] / acc[1] : NAN, acc[1] > 0 ? acc[2] / acc[1] : NAN, acc[1]};
    return e;
}

/* ------------------------------------------------------------------------- */
/* logging                                                                    */

static void fmt_time(char *out, size_t n, double s) {
    long t = (long)(s + 0.5);
    if (t >= 3600)
        snprintf(out, n, "%ld:%02ld:%02ld", t / 3600, t / 60 % 60, t % 60);
    else
        snprintf(out, n, "%02ld:%02ld", t / 60, t % 60);
}

static void log_eval(Trainer *tr, long step, EvalStats e, int own_record) {
    int mlm = tr->cfg.data.objective == OBJ_MLM;
    if (tr->rank) return;
    if (mlm)
        printf("eval %6ld | val_loss %.4f | val_acc %.4f | %.0f predicted tokens\n", step, e.loss,
               e.acc, e.count);
    else
        printf("eval %6ld | val_loss %.4f | %.0f tokens\n", step, e.loss, e.count);
    fflush(stdout);
    if (own_record) {
        metrics_begin(tr->metrics);
        metrics_int(tr->metrics, "step", step);
    }
    metrics_real(tr->metrics, "val_loss", e.loss);
    if (mlm) metrics_real(tr->metrics, "val_acc", e.acc);
    if (own_record && metrics_end(tr->metrics))
        z_die("%s/metrics.jsonl: write failed", tr->cfg.run.dir);
}

static void log_step(Trainer *tr, long step, const StepStats *st, double dt, double fpt) {
    const TrainConfig *tc = &tr->cfg.train;
    double t = now(), tps = (double)tr->gb * tr->T / dt;
    double mfu = tps * fpt / (tr->peak_flops * tr->nranks);
    if (step % tc->log_every == 0 || step == tc->steps || step == 1) {
        char el[32], eta[32];
        fmt_time(el, sizeof el, t - tr->t_start);
        fmt_time(eta, sizeof eta, (t - tr->t_start) / (step - tr->step0) * (tc->steps - step));
        printf("step %6ld/%ld | loss %.4f | lr %.3e | gnorm %.3f | %.0f tok/s | MFU %.1f%% | %s "
               "elapsed | ETA %s\n",
               step, tc->steps, st->loss, st->lr, st->gnorm, tps, 100 * mfu, el, eta);
        fflush(stdout);
    }
    Metrics *mt = tr->metrics;
    metrics_begin(mt);
    metrics_int(mt, "step", step);
    metrics_real(mt, "loss", st->loss);
    metrics_real(mt, "lr", st->lr);
    metrics_real(mt, "grad_norm", st->gnorm);
    metrics_real(mt, "tokens_per_s", tps);
    metrics_real(mt, "mfu", mfu);
    metrics_real(mt, "elapsed_s", t - tr->t_start);
    metrics_real(mt, "step_s", dt);
    metrics_real(mt, "comm_bytes", st->comm_bytes);
    metrics_real(mt, "comm_wait_s", st->wait_s);
    int64_t first = tr->cursor0 + (int64_t)(step - 1 - tr->step0) * tr->gb;
    metrics_int(mt, "sample_start", first); /* training positions [start, end) of this step */
    metrics_int(mt, "sample_end", first + tr->gb);
    if (zero_stage(tr->zero) == 3) metrics_int(mt, "gathered_peak", zero_peak_gathered(tr->zero));
}

/* Per-rank bytes, printed at start and kept in the first metrics record. */
static void log_memory(Trainer *tr) {
    ZeroBytes zb = zero_bytes(tr->zero);
    double act = (double)tr->m.arena_floats * sizeof(float);
    z_log("memory per rank (ZeRO stage %d): params %.1f MB, grads %.1f MB, optimizer %.1f MB, "
          "buffers %.1f MB, activations %.1f MB",
          zero_stage(tr->zero), zb.params / 1e6, zb.grads / 1e6, zb.optim / 1e6, zb.buffers / 1e6,
          act / 1e6);
    if (tr->rank) return;
    Metrics *mt = tr->metrics;
    metrics_begin(mt);
    metrics_int(mt, "step", 0);
    metrics_int(mt, "zero_stage", zero_stage(tr->zero));
    metrics_int(mt, "ranks", tr->nranks);
    metrics_int(mt, "params", (long long)tr->m.nparams);
    metrics_int(mt, "params_bytes", (long long)zb.params);
    metrics_int(mt, "grads_bytes", (long long)zb.grads);
    metrics_int(mt, "optim_bytes", (long long)zb.optim);
    metrics_int(mt, "buffer_bytes", (long long)zb.buffers);
    metrics_int(mt, "activation_bytes", (long long)act);
    if (metrics_end(mt)) z_die("%s/metrics.jsonl: write failed", tr->cfg.run.dir);
}

/* This process's peak resident set (VmHWM), bytes. */
static double peak_rss_bytes(void) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, "VmHWM:", 6)) kb = atof(line + 6);
    if (f) fclose(f);
    return kb * 1024;
}

/* ------------------------------------------------------------------------- */
/* commands                                                                   */

int cmd_train(int argc, char **argv) {
    comm_init(&argc, &argv);
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    trainer_parse(&tr, argc, argv, "train");
    trainer_build(&tr);
    signal(SIGUSR1, on_stop_signal);
    signal(SIGTERM, on_stop_signal);
    Config *c = &tr.cfg;
    const TrainConfig *tc = &c->train;
    char path[PATH_MAX_CFG + 64], err[1200];
    if (tr.rank == 0) trainer_mkdir(c->run.dir);
    comm_barrier("run directory");
    int resumed = trainer_resume(&tr);
    if (tr.rank == 0) {
        char *text = config_format(c, NULL);
        printf("%s\n", text);
        snprintf(path, sizeof path, "%s/config.ini", c->run.dir);
        FILE *f = fopen(path, "w");
        if (!f || fputs(text, f) < 0 || fclose(f)) z_die("%s: cannot write", path);
        free(text);
        snprintf(path, sizeof path, "%s/metrics.jsonl", c->run.dir);
        if (!resumed) remove(path); /* a resumed run appends to its history */
        tr.metrics = metrics_open(path, err, sizeof err);
        if (!tr.metrics) z_die("%s", err);
    }
    if (tc->dump_batches[0]) trainer_start_dump(&tr);
    tr.peak_flops = c->run.peak_tflops > 0 ? c->run.peak_tflops * 1e12 : trainer_measure_peak();
    /* MLM evaluates the head at the masked positions only */
    double fpt =
        model_flops_per_token(&tr.m, tr.T, c->data.objective == OBJ_MLM ? c->data.mask_rate : 1.0);
    z_log("model: %zu parameters, %d units | ranks %d | micro_batch %d x accumulation %d x ranks "
          "%d = global batch %d sequences of %d tokens",
          tr.m.nparams, tr.m.nunits, tr.nranks, tr.mb, tr.accum, tr.nranks, tr.gb, tr.T);
    if (!tc->replay[0])
        z_log("data: %s: %ld training sequences (%ld tokens, %ld docs), %ld validation sequences",
              c->data.path, (long)tr.train.n_samples, (long)tr.train.corpus.n_tokens,
              (long)tr.train.corpus.n_docs, tr.has_val ? (long)tr.val.n_samples : 0L);
    z_log("peak for MFU: %.3g TFLOP/s per rank%s; %.3g FLOPs per token", tr.peak_flops / 1e12,
          c->run.peak_tflops > 0 ? "" : " (measured sgemm)", fpt);
    log_memory(&tr);
    if (tr.has_val && !resumed) log_eval(&tr, 0, evaluate(&tr, &tr.val, 0), 1);

    tr.t_start = now();
    long saved = -1, last = tc->stop_at > 0 && tc->stop_at < tc->steps ? tc->stop_at : tc->steps;
    for (long s = tr.step0; s < last; s++) {
        double t0 = now();
        StepStats st = train_step(&tr, s);
        if (st.stop) {
            z_log("stop requested by a signal: checkpoint after step %ld, then exit %d", s,
                  EXIT_STOPPED);
            if (c->ckpt.every >= 0 && s > tr.step0 && saved != s) trainer_save_ckpt(&tr, s);
            metrics_close(tr.metrics);
            trainer_free(&tr);
            comm_finalize();
            return EXIT_STOPPED;
        }
        double dt = now() - t0;
        long step = s + 1;
        if (tr.rank == 0) log_step(&tr, step, &st, dt, fpt);
        int do_eval =
            tr.has_val && ((tc->eval_every > 0 && step % tc->eval_every == 0) || step == tc->steps);
        if (do_eval) log_eval(&tr, step, evaluate(&tr, &tr.val, step), 0);
        if (tr.rank == 0 && metrics_end(tr.metrics))
            z_die("%s/metrics.jsonl: write failed", c->run.dir);
        if (c->ckpt.every > 0 && step % c->ckpt.every == 0) trainer_save_ckpt(&tr, saved = step);
    }
    if (c->ckpt.every >= 0 && saved != last && last > tr.step0) trainer_save_ckpt(&tr, last);
    if (tr.dump) trainer_finish_dump(&tr);
    snprintf(path, sizeof path, "%s/model.h5", c->run.dir);
    trainer_save_model(&tr, path);
    z_log("done: %ld of %ld steps in %.1f s; metrics in %s/metrics.jsonl, model in %s", last,
          tc->steps, now() - tr.t_start, c->run.dir, path);
    double rss[1] = {peak_rss_bytes()};
    comm_allreduce_max_f64(rss, 1, "peak memory");
    z_log("peak resident memory per rank (max over ranks): %.1f MB", rss[0] / 1e6);
    if (tr.rank == 0) {
        metrics_begin(tr.metrics);
        metrics_int(tr.metrics, "step", last);
        metrics_int(tr.metrics, "peak_rss_bytes", (long long)rss[0]);
        if (metrics_end(tr.metrics)) z_die("%s/metrics.jsonl: write failed", c->run.dir);
    }
    metrics_close(tr.metrics);
    trainer_free(&tr);
    comm_finalize();
    return 0;
}

/* `zeropt eval -c <config> --model <model.h5> [section.key=value ...]` */
int cmd_eval(int argc, char **argv) {
    comm_init(&argc, &argv);
    const char *model_path = NULL;
    for (int i = 0; i + 1 < argc; i++)
        if (!strcmp(argv[i], "--model")) model_path = argv[i + 1];
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    trainer_parse(&tr, argc, argv, "eval");
    if (tr.cfg.data.val_batches == 0) tr.cfg.data.val_batches = 1;
    trainer_build(&tr);
    if (model_path) trainer_load_params(&tr, model_path, "model");
    EvalStats e = evaluate(&tr, &tr.val, 0);
    if (tr.rank == 0) {
        printf("{\"val_loss\": %.6f", e.loss);
        if (tr.cfg.data.objective == OBJ_MLM) printf(", \"val_acc\": %.6f", e.acc);
        printf(", \"tokens\": %.0f, \"model\": \"%s\"}\n", e.count,
               model_path ? model_path : "init");
    }
    trainer_free(&tr);
    comm_finalize();
    return 0;
}
