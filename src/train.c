/*
 * train.c — `zeropt train`: data-parallel training over MPI (ZeRO stage 0:
 * every rank holds the whole model, gradients are all-reduced).
 *
 * One step: global_batch sequences = micro_batch × accumulation × ranks. Rank
 * r takes training positions [step·GB + r·GB/N, step·GB + (r+1)·GB/N), so the
 * samples, masks and dropout a step sees do not depend on N. The loss is
 * Σ(token losses) / Σ(labelled tokens) over the global batch; each rank
 * scales its backward by 1/Σ, and the all-reduce sums the gradients.
 */
#include "cmd.h"
#include "config.h"
#include "data.h"
#include "model.h"
#include "optim.h"
#include "train.h"

#include "../io/metrics.h"
#include "../io/tensorfile.h"
#include "../kernels/kernels.h"
#include "../mpi/comm.h"
#include "../mpi/err.h"

#include <cblas.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

typedef struct {
    Config cfg;
    const char *cfg_path;
    Model m;
    int rank, nranks, mb, T, accum, gb;
    DataSource train, val;
    int has_val;
    float **adam_m, **adam_v;
    int32_t *tok, *lab; /* [accum][mb·T] this rank's share of a step */
    int64_t *pos;       /* [accum·mb] training positions (dropout streams) */
    Metrics *metrics;
    double peak_flops; /* per rank */
    int32_t *replay_tok, *replay_lab;
    long replay_steps;
    TensorFile *dump;
    int32_t *dump_tok, *dump_lab;
    double t_start;
    char err[1200]; /* a data error met this step, reported when all ranks agree */
} Trainer;

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* ------------------------------------------------------------------------- */
/* setup                                                                      */

static void parse_args(Trainer *tr, int argc, char **argv, const char *cmd) {
    config_defaults(&tr->cfg);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            config_load(&tr->cfg, tr->cfg_path = argv[++i]);
        else if (!strncmp(argv[i], "--model", 7))
            i++; /* zeropt eval's own flag, read by cmd_eval */
        else if (!config_override(&tr->cfg, argv[i]))
            z_die_all("%s: unknown argument %s (usage: zeropt %s -c <config.ini> "
                      "[section.key=value ...])",
                      cmd, argv[i], cmd);
    }
    if (!tr->cfg_path) z_die_all("%s: no config given (-c <config.ini>)", cmd);
    config_finish(&tr->cfg, tr->cfg_path);
}

static void mkdir_p(const char *dir) {
    char buf[PATH_MAX_CFG];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST)
        z_die("%s: cannot create run directory: %s", dir, strerror(errno));
}

static void batch_geometry(Trainer *tr) {
    TrainConfig *t = &tr->cfg.train;
    tr->mb = t->micro_batch;
    tr->T = tr->cfg.data.seq_len;
    int per = tr->mb * tr->nranks;
    if (t->global_batch == 0) t->global_batch = per;
    if (t->global_batch % per)
        z_die_all("%s: [train] global_batch = %d is not a multiple of micro_batch x ranks = %d x "
                  "%d",
                  tr->cfg_path, t->global_batch, tr->mb, tr->nranks);
    tr->gb = t->global_batch;
    tr->accum = tr->gb / per;
}

static void open_data(Trainer *tr) {
    const Config *c = &tr->cfg;
    char err[1200];
    if (c->train.replay[0]) return;
    if (!c->data.path[0]) z_die_all("%s: [data] path is not set", tr->cfg_path);
    if (data_open(&tr->train, c->data.path, "", tr->T, c->data.objective, c->data.mask_rate,
                  (uint64_t)c->train.seed, c->data.shuffle, err, sizeof err))
        z_die_all("%s", err);
    if (tr->train.vocab > c->model.vocab_size)
        z_die_all("%s: corpus vocab_size %d exceeds [model] vocab_size = %d", c->data.path,
                  tr->train.vocab, c->model.vocab_size);
    if (c->data.val_batches > 0) {
        if (data_open(&tr->val, c->data.path, "val", tr->T, c->data.objective, c->data.mask_rate,
                      (uint64_t)c->train.seed, 0, err, sizeof err))
            z_die_all("%s", err);
        tr->has_val = 1;
    }
}

static void open_replay(Trainer *tr) {
    const TrainConfig *t = &tr->cfg.train;
    char err[1200];
    TensorFile *f = tf_open(t->replay, err, sizeof err);
    if (!f) z_die_all("%s", err);
    int64_t d[4];
    if (tf_shape(f, "tokens", d) != 3 || d[1] != tr->gb || d[2] != tr->T)
        z_die_all("%s: tokens must be [steps, %d, %d] for this config", t->replay, tr->gb, tr->T);
    tr->replay_steps = d[0];
    if (t->steps > tr->replay_steps)
        z_die_all("%s: holds %ld steps, [train] steps = %ld", t->replay, tr->replay_steps,
                  t->steps);
    size_t n = (size_t)d[0] * d[1] * d[2];
    tr->replay_tok = z_malloc(n * 4, "replay tokens");
    tr->replay_lab = z_malloc(n * 4, "replay labels");
    if (tf_read(f, "tokens", 'i', tr->replay_tok, n) ||
        tf_read(f, "labels", 'i', tr->replay_lab, n))
        z_die_all("%s", tf_error(f));
    for (int i = 0; i < tr->m.nviews; i++) {
        char name[PARAM_NAME_MAX + 8];
        snprintf(name, sizeof name, "init/%s", tr->m.view[i].name);
        if (tf_read(f, name, 'f', model_param(&tr->m, &tr->m.view[i]), tr->m.view[i].numel))
            z_die_all("%s", tf_error(f));
    }
    tf_close(f);
}

static void start_dump(Trainer *tr) {
    const TrainConfig *t = &tr->cfg.train;
    char err[1200];
    if (tr->nranks != 1) z_die_all("[train] dump_batches needs a single rank");
    tr->dump = tf_create(t->dump_batches, err, sizeof err);
    if (!tr->dump) z_die("%s", err);
    char *text = config_format(&tr->cfg, NULL);
    tf_set_attr(tr->dump, "config", text);
    free(text);
    for (int i = 0; i < tr->m.nviews; i++) {
        const ParamView *v = &tr->m.view[i];
        char name[PARAM_NAME_MAX + 8];
        int64_t dims[2] = {v->shape[0], v->shape[1]};
        snprintf(name, sizeof name, "init/%s", v->name);
        if (tf_write(tr->dump, name, 'f', model_param(&tr->m, v), v->ndim, dims))
            z_die("%s", tf_error(tr->dump));
    }
    size_t n = (size_t)t->steps * tr->gb * tr->T;
    tr->dump_tok = z_malloc(n * 4, "dump tokens");
    tr->dump_lab = z_malloc(n * 4, "dump labels");
}

static void finish_dump(Trainer *tr) {
    int64_t dims[3] = {tr->cfg.train.steps, tr->gb, tr->T};
    if (tf_write(tr->dump, "tokens", 'i', tr->dump_tok, 3, dims) ||
        tf_write(tr->dump, "labels", 'i', tr->dump_lab, 3, dims) || tf_close(tr->dump))
        z_die("%s: cannot write batch dump", tr->cfg.train.dump_batches);
    free(tr->dump_tok);
    free(tr->dump_lab);
}

/* This rank's sgemm rate, for MFU when no peak is configured. */
static double measure_peak(void) {
    int n = 768;
    float *a = calloc((size_t)n * n, 4), *b = calloc((size_t)n * n, 4),
          *c = calloc((size_t)n * n, 4);
    double best = 0;
    for (int r = 0; r < 4; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, n, n, 1, a, n, b, n, 0, c, n);
        double dt = now() - t0;
        if (r && 2.0 * n * n * n / dt > best) best = 2.0 * n * n * n / dt;
    }
    free(a), free(b), free(c);
    return best;
}

static int head_rows_for(const Trainer *tr) {
    const Config *c = &tr->cfg;
    int N = tr->mb * tr->T;
    if (c->data.objective != OBJ_MLM || c->train.replay[0]) return N;
    double mean = c->data.mask_rate * N;
    int rows = (int)(mean + 8 * sqrt(mean) + 64); /* 8 σ above the binomial mean */
    return rows < N ? rows : N;
}

/* ------------------------------------------------------------------------- */
/* one step                                                                   */

/* Fill this rank's accum × mb samples for step s; a bad sample leaves its
 * message in tr->err (the step's first collective spreads the failure). */
static void load_step(Trainer *tr, long s) {
    int per_rank = tr->accum * tr->mb, T = tr->T;
    int64_t base = (int64_t)s * tr->gb + (int64_t)tr->rank * per_rank;
    tr->err[0] = 0;
    for (int j = 0; j < per_rank && !tr->err[0]; j++) {
        int32_t *tok = tr->tok + (size_t)j * T, *lab = tr->lab + (size_t)j * T;
        tr->pos[j] = base + j;
        if (tr->replay_tok) {
            size_t off = ((size_t)s * tr->gb + (size_t)tr->rank * per_rank + j) * T;
            memcpy(tok, tr->replay_tok + off, T * 4);
            memcpy(lab, tr->replay_lab + off, T * 4);
        } else if (data_sample(&tr->train, base + j, s, tok, lab, tr->err, sizeof tr->err)) {
            break;
        }
        int V = tr->cfg.model.vocab_size;
        for (int t = 0; t < T && !tr->err[0]; t++)
            if (tok[t] < 0 || tok[t] >= V || lab[t] >= V)
                snprintf(tr->err, sizeof tr->err,
                         "%s: training position %ld has token id %d outside the vocabulary [0, %d)",
                         tr->replay_tok ? tr->cfg.train.replay : tr->cfg.data.path,
                         (long)(base + j), tok[t] < 0 || tok[t] >= V ? tok[t] : lab[t], V);
    }
    if (tr->dump) {
        size_t off = (size_t)s * tr->gb * T;
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
    double loss, gnorm, lr;
} StepStats;

static StepStats train_step(Trainer *tr, long s) {
    Model *m = &tr->m;
    const TrainConfig *tc = &tr->cfg.train;
    StepStats st = {0, 0, lr_at(tc, s)};
    load_step(tr, s);
    /* Σ labelled positions over the global batch (the loss denominator), and
     * how many ranks met bad data: one collective, so every rank stops together */
    double cnt[2] = {0, tr->err[0] ? 1 : 0};
    for (size_t i = 0; i < (size_t)tr->accum * tr->mb * tr->T; i++) cnt[0] += tr->lab[i] >= 0;
    comm_allreduce_f64(cnt, 2, "label count", s);
    if (cnt[1] > 0) z_exit_agreed(tr->err);
    if (cnt[0] == 0) z_die_all("step %ld: the global batch has no labelled positions", s);
    uint64_t dseed = k_rng_child(k_rng_child((uint64_t)tc->seed, 0xD80), (uint64_t)s);
    model_zero_grads(m);
    double loss = 0;
    for (int a = 0; a < tr->accum; a++) {
        Batch b = micro(tr, a, dseed, 1);
        loss += model_forward(m, &b);
        model_backward(m, &b, 1.0 / cnt[0]);
    }
    for (int u = 0; u < m->nunits; u++)
        comm_allreduce_f32(m->unit[u].grads, m->unit[u].padded, "gradients", s);
    double red[2] = {loss, 0};
    for (int u = 0; u < m->nunits; u++) red[1] += grad_sumsq(m->unit[u].grads, 0, m->unit[u].numel);
    comm_allreduce_f64(red, 1, "loss", s); /* only the loss: every rank has the whole gradient */
    st.loss = red[0] / cnt[0];
    st.gnorm = sqrt(red[1]);
    if (!isfinite(st.gnorm) || !isfinite(st.loss))
        z_die_all("step %ld: non-finite loss (%g) or gradient norm (%g); lower [train] lr or "
                  "raise warmup",
                  s + 1, st.loss, st.gnorm);
    double coef = 1.0;
    if (tc->clip > 0 && st.gnorm > tc->clip) coef = tc->clip / (st.gnorm + 1e-6);
    for (int u = 0; u < m->nunits; u++)
        adamw_update(m, u, 0, m->unit[u].numel, tr->adam_m[u], tr->adam_v[u], m->unit[u].grads,
                     st.lr, s + 1, coef, tc);
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

static EvalStats evaluate(Trainer *tr, DataSource *d, long step) {
    Model *m = &tr->m;
    int64_t want = (int64_t)tr->cfg.data.val_batches * tr->gb;
    int64_t n = want < d->n_samples ? want : d->n_samples;
    int64_t lo = n * tr->rank / tr->nranks, hi = n * (tr->rank + 1) / tr->nranks;
    double acc[4] = {0, 0, 0, 0}; /* Σ loss, Σ labelled, Σ correct, ranks with bad data */
    tr->err[0] = 0;
    for (int64_t k0 = lo; k0 < hi && !tr->err[0]; k0 += tr->mb) {
        int B = (int)(hi - k0 < tr->mb ? hi - k0 : tr->mb);
        for (int j = 0; j < B; j++) {
            tr->pos[j] = k0 + j;
            if (data_sample(d, k0 + j, -1, tr->tok + (size_t)j * tr->T, tr->lab + (size_t)j * tr->T,
                            tr->err, sizeof tr->err))
                break;
        }
        if (tr->err[0]) break;
        Batch b = micro(tr, 0, 0, 0);
        b.B = B;
        acc[0] += model_forward(m, &b);
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
/* logging and output                                                         */

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

static void save_model(Trainer *tr, const char *path) {
    if (tr->rank) return;
    char err[1200];
    TensorFile *f = tf_create(path, err, sizeof err);
    if (!f) z_die("%s", err);
    char *text = config_format(&tr->cfg, NULL);
    int rc = tf_set_attr(f, "format", "zeropt-model") || tf_set_attr(f, "config", text);
    free(text);
    for (int i = 0; i < tr->m.nviews && !rc; i++) {
        const ParamView *v = &tr->m.view[i];
        char name[PARAM_NAME_MAX + 8];
        int64_t dims[2] = {v->shape[0], v->shape[1]};
        snprintf(name, sizeof name, "model/%s", v->name);
        rc = tf_write(f, name, 'f', model_param(&tr->m, v), v->ndim, dims);
    }
    if (rc) z_die("%s", tf_error(f));
    if (tf_close(f)) z_die("%s: close failed (disk full?)", path);
}

/* ------------------------------------------------------------------------- */
/* setup shared by train and eval                                             */

static void build(Trainer *tr) {
    Config *c = &tr->cfg;
    tr->rank = comm_rank();
    tr->nranks = comm_size();
    batch_geometry(tr);
    if (c->train.threads > 0) k_set_threads(c->train.threads);
    open_data(tr);
    model_layout(&tr->m, &c->model, tr->nranks, ALIGN_FLOATS);
    model_alloc_params(&tr->m);
    model_init_params(&tr->m, (uint64_t)c->train.seed);
    size_t per = (size_t)tr->accum * tr->mb;
    tr->tok = z_malloc(per * tr->T * 4, "batch tokens");
    tr->lab = z_malloc(per * tr->T * 4, "batch labels");
    tr->pos = z_malloc(per * 8, "batch positions");
    model_alloc_acts(&tr->m, tr->mb, tr->T, head_rows_for(tr), 0, tr->cfg.train.recompute);
}

int cmd_train(int argc, char **argv) {
    comm_init(&argc, &argv);
    Trainer tr;
    memset(&tr, 0, sizeof tr);
    parse_args(&tr, argc, argv, "train");
    build(&tr);
    Config *c = &tr.cfg;
    const TrainConfig *tc = &c->train;
    char path[PATH_MAX_CFG + 64], err[1200];
    if (tc->replay[0]) open_replay(&tr);
    if (tr.rank == 0) {
        mkdir_p(c->run.dir);
        char *text = config_format(c, NULL);
        printf("%s\n", text);
        snprintf(path, sizeof path, "%s/config.ini", c->run.dir);
        FILE *f = fopen(path, "w");
        if (!f || fputs(text, f) < 0 || fclose(f)) z_die("%s: cannot write", path);
        free(text);
        snprintf(path, sizeof path, "%s/metrics.jsonl", c->run.dir);
        remove(path);
        tr.metrics = metrics_open(path, err, sizeof err);
        if (!tr.metrics) z_die("%s", err);
    }
    if (tc->dump_batches[0]) start_dump(&tr);
    tr.adam_m = z_calloc(tr.m.nunits, sizeof(float *), "adam");
    tr.adam_v = z_calloc(tr.m.nunits, sizeof(float *), "adam");
    for (int u = 0; u < tr.m.nunits; u++) {
        tr.adam_m[u] = z_calloc(tr.m.unit[u].padded, 4, "adam m");
        tr.adam_v[u] = z_calloc(tr.m.unit[u].padded, 4, "adam v");
    }
    tr.peak_flops = c->run.peak_tflops > 0 ? c->run.peak_tflops * 1e12 : measure_peak();
    double fpt = model_flops_per_token(&tr.m, tr.T);
    z_log("model: %zu parameters, %d units | ranks %d | micro_batch %d x accumulation %d x ranks "
          "%d = global batch %d sequences of %d tokens",
          tr.m.nparams, tr.m.nunits, tr.nranks, tr.mb, tr.accum, tr.nranks, tr.gb, tr.T);
    if (!tc->replay[0])
        z_log("data: %s: %ld training sequences (%ld tokens, %ld docs), %ld validation sequences",
              c->data.path, (long)tr.train.n_samples, (long)tr.train.corpus.n_tokens,
              (long)tr.train.corpus.n_docs, tr.has_val ? (long)tr.val.n_samples : 0L);
    z_log("peak for MFU: %.3g TFLOP/s per rank%s; %.3g FLOPs per token", tr.peak_flops / 1e12,
          c->run.peak_tflops > 0 ? "" : " (measured sgemm)", fpt);
    if (tr.has_val) log_eval(&tr, 0, evaluate(&tr, &tr.val, 0), 1);

    tr.t_start = now();
    double t_prev = tr.t_start;
    for (long s = 0; s < tc->steps; s++) {
        StepStats st = train_step(&tr, s);
        double t = now(), dt = t - t_prev;
        t_prev = t;
        double tps = (double)tr.gb * tr.T / dt;
        double mfu = tps * fpt / (tr.peak_flops * tr.nranks);
        long step = s + 1;
        int do_eval =
            tr.has_val && ((tc->eval_every > 0 && step % tc->eval_every == 0) || step == tc->steps);
        if (tr.rank == 0) {
            if (step % tc->log_every == 0 || step == tc->steps || step == 1) {
                char el[32], eta[32];
                fmt_time(el, sizeof el, t - tr.t_start);
                fmt_time(eta, sizeof eta, (t - tr.t_start) / step * (tc->steps - step));
                printf("step %6ld/%ld | loss %.4f | lr %.3e | gnorm %.3f | %.0f tok/s | MFU %.1f%% "
                       "| %s elapsed | ETA %s\n",
                       step, tc->steps, st.loss, st.lr, st.gnorm, tps, 100 * mfu, el, eta);
                fflush(stdout);
            }
            metrics_begin(tr.metrics);
            metrics_int(tr.metrics, "step", step);
            metrics_real(tr.metrics, "loss", st.loss);
            metrics_real(tr.metrics, "lr", st.lr);
            metrics_real(tr.metrics, "grad_norm", st.gnorm);
            metrics_real(tr.metrics, "tokens_per_s", tps);
            metrics_real(tr.metrics, "mfu", mfu);
            metrics_real(tr.metrics, "elapsed_s", t - tr.t_start);
        }
        if (do_eval) log_eval(&tr, step, evaluate(&tr, &tr.val, step), 0);
        if (tr.rank == 0 && metrics_end(tr.metrics))
            z_die("%s/metrics.jsonl: write failed", c->run.dir);
        if (do_eval) t_prev = now(); /* tokens/s counts training only */
    }
    if (tr.dump) finish_dump(&tr);
    snprintf(path, sizeof path, "%s/model.h5", c->run.dir);
    save_model(&tr, path);
    z_log("done: %ld steps in %.1f s; metrics in %s/metrics.jsonl, model in %s", tc->steps,
          now() - tr.t_start, c->run.dir, path);
    metrics_close(tr.metrics);
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
    parse_args(&tr, argc, argv, "eval");
    if (tr.cfg.data.val_batches == 0) tr.cfg.data.val_batches = 1;
    build(&tr);
    char err[1200];
    if (model_path) {
        TensorFile *f = tf_open(model_path, err, sizeof err);
        if (!f) z_die_all("%s", err);
        for (int i = 0; i < tr.m.nviews; i++) {
            char name[PARAM_NAME_MAX + 8];
            snprintf(name, sizeof name, "model/%s", tr.m.view[i].name);
            if (tf_read(f, name, 'f', model_param(&tr.m, &tr.m.view[i]), tr.m.view[i].numel))
                z_die_all("%s", tf_error(f));
        }
        tf_close(f);
    }
    EvalStats e = evaluate(&tr, &tr.val, 0);
    if (tr.rank == 0) {
        printf("{\"val_loss\": %.6f", e.loss);
        if (tr.cfg.data.objective == OBJ_MLM) printf(", \"val_acc\": %.6f", e.acc);
        printf(", \"tokens\": %.0f, \"model\": \"%s\"}\n", e.count,
               model_path ? model_path : "init");
    }
    comm_finalize();
    return 0;
}
