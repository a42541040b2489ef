/*
 * train_setup.c — setting a run up: the config and batch geometry, the data,
 * the ZeRO partition and the parameters (from the seed, a dump or a model
 * file), and the model and dump files written at the end.
 */
#include "cmd.h"
#include "trainer.h"

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

void trainer_parse(Trainer *tr, int argc, char **argv, const char *cmd) {
    config_defaults(&tr->cfg);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            config_load(&tr->cfg, tr->cfg_path = argv[++i]);
        else if (!strcmp(argv[i], "--model") && i + 1 < argc)
            i++; /* zeropt eval's own flag, read by cmd_eval */
        else if (!config_override(&tr->cfg, argv[i]))
            z_die_all("%s: unknown argument %s (usage: zeropt %s -c <config.ini> "
                      "[section.key=value ...])",
                      cmd, argv[i], cmd);
    }
    if (!tr->cfg_path) z_die_all("%s: no config given (-c <config.ini>)", cmd);
    config_finish(&tr->cfg, tr->cfg_path);
}

void trainer_mkdir(const char *dir) {
    char buf[PATH_MAX_CFG];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = 0;
            mkdir(buf, 0755);
            *p = '/';
        }
    if (mkdir(buf, 0755) && errno != EEXIST)
        z_die("%s: cannot create directory: %s", dir, strerror(errno));
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
    if (t->steps > d[0])
        z_die_all("%s: holds %ld steps, [train] steps = %ld", t->replay, (long)d[0], t->steps);
    size_t n = (size_t)d[0] * d[1] * d[2];
    tr->replay_tok = z_malloc(n * 4, "replay tokens");
    tr->replay_lab = z_malloc(n * 4, "replay labels");
    if (tf_read(f, "tokens", 'i', tr->replay_tok, n) ||
        tf_read(f, "labels", 'i', tr->replay_lab, n))
        z_die_all("%s", tf_error(f));
    tf_close(f);
}

/* ------------------------------------------------------------------------- */
/* parameters in and out, unit by unit                                        */

/* The full buffer of unit u to read or write: resident parameters (stages
 * 0–2) or the scratch unit (stage 3). */
static float *full_of(Trainer *tr, int u) {
    return zero_stage(tr->zero) == 3 ? tr->unit_tmp : zero_params(tr->zero, u);
}

/* Stage 3: keep this rank's shard of a full unit buffer. */
static void keep_shard(Trainer *tr, int u, const float *full) {
    if (zero_stage(tr->zero) != 3) return;
    size_t s = zero_shard(tr->zero, u);
    memcpy(zero_own_params(tr->zero, u), full + (size_t)tr->rank * s, s * sizeof(float));
}

static void init_units(Trainer *tr) {
    for (int u = 0; u < tr->m.nunits; u++) {
        float *full = full_of(tr, u);
        memset(full, 0, tr->m.unit[u].padded * sizeof(float));
        tr->m.unit[u].params = full;
        model_init_unit(&tr->m, (uint64_t)tr->cfg.train.seed, u);
        keep_shard(tr, u, full);
        tr->m.unit[u].params = zero_params(tr->zero, u);
    }
}

void trainer_load_params(Trainer *tr, const char *path, const char *prefix) {
    char err[1200];
    TensorFile *f = tf_open(path, err, sizeof err);
    if (!f) z_die_all("%s", err);
    for (int u = 0; u < tr->m.nunits; u++) {
        const Unit *U = &tr->m.unit[u];
        float *full = full_of(tr, u);
        memset(full, 0, U->padded * sizeof(float));
        for (int i = U->first_view; i < U->first_view + U->nviews; i++) {
            const ParamView *v = &tr->m.view[i];
            char name[PARAM_NAME_MAX + 32];
            snprintf(name, sizeof name, "%s/%s", prefix, v->name);
            if (tf_read(f, name, 'f', full + v->offset, v->numel)) z_die_all("%s", tf_error(f));
        }
        keep_shard(tr, u, full);
    }
    tf_close(f);
}

void trainer_each_unit(Trainer *tr, void (*fn)(void *ctx, Trainer *tr, int u, float *full),
                       void *ctx) {
    for (int u = 0; u < tr->m.nunits; u++) {
        float *full = full_of(tr, u);
        if (zero_stage(tr->zero) == 3) zero_gather_into(tr->zero, u, full);
        fn(ctx, tr, u, full);
    }
}

typedef struct {
    TensorFile *f;
    const char *prefix;
    int rc;
} WriteCtx;

static void write_unit(void *ctx, Trainer *tr, int u, float *full) {
    WriteCtx *w = ctx;
    if (tr->rank != 0 || w->rc) return;
    const Unit *U = &tr->m.unit[u];
    for (int i = U->first_view; i < U->first_view + U->nviews && !w->rc; i++) {
        const ParamView *v = &tr->m.view[i];
        char name[PARAM_NAME_MAX + 32];
        int64_t dims[2] = {v->shape[0], v->shape[1]};
        snprintf(name, sizeof name, "%s/%s", w->prefix, v->name);
        w->rc = tf_write(w->f, name, 'f', full + v->offset, v->ndim, dims);
    }
}

void trainer_save_model(Trainer *tr, const char *path) {
    char err[1200];
    WriteCtx w = {NULL, "model", 0};
    if (tr->rank == 0) {
        w.f = tf_create(path, err, sizeof err);
        if (!w.f) z_die("%s", err);
        char *text = config_format(&tr->cfg, NULL);
        w.rc = tf_set_attr(w.f, "format", "zeropt-model") || tf_set_attr(w.f, "config", text);
        free(text);
    }
    trainer_each_unit(tr, write_unit, &w);
    if (tr->rank == 0) {
        if (w.rc) z_die("%s", tf_error(w.f));
        if (tf_close(w.f)) z_die("%s: close failed (disk full?)", path);
    }
}

void trainer_start_dump(Trainer *tr) {
    const TrainConfig *t = &tr->cfg.train;
    char err[1200];
    if (tr->nranks != 1) z_die_all("[train] dump_batches needs a single rank");
    tr->dump = tf_create(t->dump_batches, err, sizeof err);
    if (!tr->dump) z_die("%s", err);
    char *text = config_format(&tr->cfg, NULL);
    tf_set_attr(tr->dump, "config", text);
    free(text);
    WriteCtx w = {tr->dump, "init", 0};
    trainer_each_unit(tr, write_unit, &w);
    if (w.rc) z_die("%s", tf_error(tr->dump));
    size_t n = (size_t)t->steps * tr->gb * tr->T;
    tr->dump_tok = z_malloc(n * 4, "dump tokens");
    tr->dump_lab = z_malloc(n * 4, "dump labels");
}

void trainer_finish_dump(Trainer *tr) {
    int64_t dims[3] = {tr->cfg.train.steps, tr->gb, tr->T};
    if (tf_write(tr->dump, "tokens", 'i', tr->dump_tok, 3, dims) ||
        tf_write(tr->dump, "labels", 'i', tr->dump_lab, 3, dims) || tf_close(tr->dump))
        z_die("%s: cannot write batch dump", tr->cfg.train.dump_batches);
    free(tr->dump_tok);
    free(tr->dump_lab);
    tr->dump = NULL;
}

static double now(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

/* This rank's sgemm rate, for MFU when no peak is configured. */
double trainer_measure_peak(void) {
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
    return model_mlm_head_rows(N, c->data.mask_rate);
}

void trainer_build(Trainer *tr) {
    Config *c = &tr->cfg;
    tr->rank = comm_rank();
    tr->nranks = comm_size();
    batch_geometry(tr);
    if (c->train.threads > 0) k_set_threads(c->train.threads);
    open_data(tr);
    if (c->train.replay[0]) open_replay(tr);
    Model *m = &tr->m;
    model_layout(m, &c->model, tr->nranks, ALIGN_FLOATS);
    size_t *numel = z_malloc(m->nunits * sizeof(size_t), "units");
    size_t *padded = z_malloc(m->nunits * sizeof(size_t), "units");
    size_t maxpad = 0;
    for (int u = 0; u < m->nunits; u++) {
        numel[u] = m->unit[u].numel, padded[u] = m->unit[u].padded;
        if (padded[u] > maxpad) maxpad = padded[u];
    }
    tr->zero = zero_create(c->zero.stage, c->zero.overlap, m->nunits, numel, padded,
                           c->model.tied ? 0 : -1);
    free(numel);
    free(padded);
    if (c->zero.stage == 3) tr->unit_tmp = z_calloc(maxpad, sizeof(float), "unit buffer");
    if (c->train.replay[0])
        trainer_load_params(tr, c->train.replay, "init");
    else
        init_units(tr);
    for (int u = 0; u < m->nunits; u++) {
        m->unit[u].params = zero_params(tr->zero, u);
        m->unit[u].grads = zero_grads(tr->zero, u);
    }
    trainer_install_hooks(tr);
    size_t per = (size_t)tr->accum * tr->mb;
    tr->tok = z_malloc(per * tr->T * 4, "batch tokens");
    tr->lab = z_malloc(per * tr->T * 4, "batch labels");
    tr->pos = z_malloc(per * 8, "batch positions");
    model_alloc_acts(m, tr->mb, tr->T, head_rows_for(tr), 0, c->train.recompute);
}

void trainer_free(Trainer *tr) {
    trainer_ckpt_wait(tr);
    for (int u = 0; u < tr->m.nunits; u++) tr->m.unit[u].params = tr->m.unit[u].grads = NULL;
    model_free(&tr->m);
    zero_free(tr->zero);
    free(tr->unit_tmp);
    if (tr->train.buf) data_close(&tr->train);
    if (tr->has_val) data_close(&tr->val);
    free(tr->tok), free(tr->lab), free(tr->pos), free(tr->replay_tok), free(tr->replay_lab);
}
