/*
 * setup.c — setting a run up: the config and batch geometry, the data, the
 * ZeRO partition and the parameters (from the seed, a dump or a model
 * file), and the model and dump files written at the end.
 */
#include "trainer.h"

#include "mpi/comm.h"

#include "kernels/cuda/kcuda.h"
#include "kernels/kdev.h"
#include "mpi/comm_nccl.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trainer_parse(Trainer *tr, int argc, char **argv, const char *cmd) {
    config_defaults(&tr->cfg);
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            config_load(&tr->cfg, tr->cfg_path = argv[++i]);
        else if ((!strcmp(argv[i], "--model") || !strcmp(argv[i], "--show")) && i + 1 < argc)
            i++; /* zeropt eval's own flags, read by cmd_eval */
        else if (!config_override(&tr->cfg, argv[i]))
            z_die_all("%s: unknown argument %s (usage: zeropt %s -c <config.ini> "
                      "[section.key=value ...]; zeropt %s --help)",
                      cmd, argv[i], cmd, cmd);
    }
    if (!tr->cfg_path) z_die_all("%s: no config given (-c <config.ini>)", cmd);
    config_finish(&tr->cfg, tr->cfg_path);
}

static void batch_geometry(Trainer *tr) {
    TrainConfig *t = &tr->cfg.train;
    tr->micro = t->micro_batch;
    tr->seq = tr->cfg.data.seq_len;
    int per = tr->micro * tr->nranks;
    if (t->global_batch == 0) t->global_batch = per;
    if (t->global_batch % per)
        z_die_all("%s: [train] global_batch = %d is not a multiple of micro_batch x ranks = %d x "
                  "%d",
                  tr->cfg_path, t->global_batch, tr->micro, tr->nranks);
    tr->batch = t->global_batch;
    tr->accum = tr->batch / per;
    tr->cur_seq = tr->seq;
    tr->steps_total = obj_seq_total_steps(&tr->cfg.curriculum, tr->seq, t->steps);
    if (tr->cfg.objective.contrastive > 0 && tr->batch % 2)
        z_die_all("%s: [objective] contrastive: the global batch holds pairs of views; "
                  "global_batch = %d is odd",
                  tr->cfg_path, tr->batch);
}

/* The unigram baseline: rank 0 counts the training tokens (up to 64 M), the
 * others receive the figure. */
static void unigram_baseline(Trainer *tr) {
    double h[2] = {NAN, 0}; /* entropy, failed */
    if (tr->rank == 0 && data_unigram_entropy(&tr->train, 64 << 20, &h[0], tr->err, sizeof tr->err))
        h[1] = 1;
    comm_bcast(h, sizeof h, 0, "unigram baseline");
    if (h[1]) z_die_all("%s", tr->err); /* rank 0 holds the message */
    tr->unigram = h[0];
}

static void open_data(Trainer *tr) {
    const Config *c = &tr->cfg;
    char err[Z_ERR_MAX];
    tr->unigram = tr->last_val = NAN;
    if (c->train.replay[0]) return;
    if (!c->data.path[0]) z_die_all("%s: [data] path is not set", tr->cfg_path);
    uint64_t seed = (uint64_t)c->train.seed;
    if (obj_open(&tr->obj, &tr->train, c->data.path, "", c->data.objective, tr->seq,
                 c->data.mask_rate, seed, c->data.shuffle, c->data.packing == PACK_DOCS, err,
                 sizeof err))
        z_die_all("%s", err);
    if (obj_set_masking(&tr->obj, &tr->train, &c->mask, tr->steps_total, tr->word_cont, err,
                        sizeof err))
        z_die_all("%s", err);
    if (data_quality_order(&tr->train, c->curriculum.quality, c->curriculum.quality_power, err,
                           sizeof err))
        z_die_all("%s", err);
    obj_set_views(&tr->obj, c->objective.crop_min, c->objective.crop_max,
                  c->objective.contrastive > 0, c->objective.mlm > 0);
    if (tr->obj.vocab > c->model.vocab_size)
        z_die_all("%s: corpus vocab_size %d exceeds [model] vocab_size = %d", c->data.path,
                  tr->obj.vocab, c->model.vocab_size);
    if (c->data.val_batches > 0) {
        Objective o;
        if (obj_open(&o, &tr->val, c->data.path, "val", c->data.objective, tr->seq,
                     c->data.mask_rate, seed, 0, c->data.packing == PACK_DOCS, err, sizeof err))
            z_die_all("%s", err);
        tr->has_val = 1;
        if (c->data.objective == OBJ_MLM && c->mask.scheme == MASK_SALIENT &&
            !tr->val.corpus.has_spans)
            z_die_all("%s: [mask] scheme = salient: the val split has no /val/spans dataset "
                      "(validation masks the same way as training)",
                      c->data.path);
    }
    unigram_baseline(tr);
}

static void open_replay(Trainer *tr) {
    const TrainConfig *t = &tr->cfg.train;
    char err[Z_ERR_MAX];
    TensorFile *f = tf_open(t->replay, err, sizeof err);
    if (!f) z_die_all("%s", err);
    int64_t d[4];
    if (tf_shape(f, "tokens", d) != 3 || d[1] != tr->batch || d[2] != tr->seq)
        z_die_all("%s: tokens must be [steps, %d, %d] for this config", t->replay, tr->batch,
                  tr->seq);
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

static void init_units(Trainer *tr) {
    for (int u = 0; u < tr->m.nunits; u++) {
        float *full = zero_full_scratch(tr->zero, u);
        k_zero(full, tr->m.unit[u].padded);
        tr->m.unit[u].params = full;
        model_init_unit(&tr->m, (uint64_t)tr->cfg.train.seed, u);
        zero_store_full(tr->zero, u, full);
        tr->m.unit[u].params = zero_params(tr->zero, u);
    }
}

void trainer_load_params(Trainer *tr, const char *path, const char *prefix) {
    char err[Z_ERR_MAX];
    TensorFile *f = tf_open(path, err, sizeof err);
    if (!f) z_die_all("%s", err);
    for (int u = 0; u < tr->m.nunits; u++) {
        const Unit *U = &tr->m.unit[u];
        float *full = zero_full_scratch(tr->zero, u);
        k_zero(full, U->padded);
        for (int i = U->first_view; i < U->first_view + U->nviews; i++) {
            const ParamView *v = &tr->m.view[i];
            char name[PARAM_NAME_MAX + 32];
            snprintf(name, sizeof name, "%s/%s", prefix, v->name);
            if (tf_read(f, name, 'f', full + v->offset, v->numel)) z_die_all("%s", tf_error(f));
        }
        zero_store_full(tr->zero, u, full);
    }
    tf_close(f);
}

/* Every tensor of the model as "<prefix>/<name>" into f (rank 0 writes;
 * collective at stage 3, where each unit is gathered in turn). */
static int write_params(Trainer *tr, TensorFile *f, const char *prefix) {
    int rc = 0;
    for (int u = 0; u < tr->m.nunits; u++) {
        const float *full = zero_full_params(tr->zero, u);
        const Unit *U = &tr->m.unit[u];
        for (int i = U->first_view; i < U->first_view + U->nviews && tr->rank == 0 && !rc; i++) {
            const ParamView *v = &tr->m.view[i];
            char name[PARAM_NAME_MAX + 32];
            int64_t dims[2] = {v->shape[0], v->shape[1]};
            snprintf(name, sizeof name, "%s/%s", prefix, v->name);
            rc = tf_write(f, name, 'f', full + v->offset, v->ndim, dims);
        }
    }
    return rc;
}

void trainer_save_model(Trainer *tr, const char *path) {
    char err[Z_ERR_MAX];
    TensorFile *f = NULL;
    int rc = 0;
    if (tr->rank == 0) {
        f = tf_create(path, err, sizeof err);
        if (!f) z_die("%s", err);
        char *text = config_format(&tr->cfg, NULL);
        rc = tf_set_attr(f, "format", "zeropt-model") || tf_set_attr(f, "config", text);
        free(text);
    }
    rc |= write_params(tr, f, "model");
    if (tr->rank == 0) {
        if (rc) z_die("%s", tf_error(f));
        if (tf_close(f)) z_die("%s: close failed (disk full?)", path);
    }
}

void trainer_start_dump(Trainer *tr) {
    const TrainConfig *t = &tr->cfg.train;
    char err[Z_ERR_MAX];
    if (tr->nranks != 1) z_die_all("[train] dump_batches needs a single rank");
    tr->dump = tf_create(t->dump_batches, err, sizeof err);
    if (!tr->dump) z_die("%s", err);
    char *text = config_format(&tr->cfg, NULL);
    int rc = tf_set_attr(tr->dump, "config", text);
    free(text);
    if (rc || write_params(tr, tr->dump, "init")) z_die("%s", tf_error(tr->dump));
    size_t n = (size_t)t->steps * tr->batch * tr->seq;
    tr->dump_tok = z_malloc(n * 4, "dump tokens");
    tr->dump_lab = z_malloc(n * 4, "dump labels");
}

void trainer_finish_dump(Trainer *tr) {
    int64_t dims[3] = {tr->cfg.train.steps, tr->batch, tr->seq};
    if (tf_write(tr->dump, "tokens", 'i', tr->dump_tok, 3, dims) ||
        tf_write(tr->dump, "labels", 'i', tr->dump_lab, 3, dims) || tf_close(tr->dump))
        z_die("%s: cannot write batch dump", tr->cfg.train.dump_batches);
    free(tr->dump_tok);
    free(tr->dump_lab);
    tr->dump = NULL;
}

double trainer_rss(int peak) {
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    double kb = 0;
    const char *key = peak ? "VmHWM:" : "VmRSS:";
    while (f && fgets(line, sizeof line, f))
        if (!strncmp(line, key, 6)) kb = atof(line + 6);
    if (f) fclose(f);
    return kb * 1024;
}

static int head_rows_for(const Trainer *tr) {
    const Config *c = &tr->cfg;
    int N = tr->micro * tr->seq;
    if (c->data.objective != OBJ_MLM || c->train.replay[0]) return N;
    return model_mlm_head_rows(tr->micro, tr->seq, config_mask_rate_max(c, c->data.mask_rate));
}

/* [train] bf16_matmul: whether the linear layers take bf16 inputs. auto
 * turns it on where oneDNN's bf16 matmul runs on AMX tiles: there it
 * measured 1.7x the fp32 sgemm on a GPT-2 step's products; with AVX512-BF16
 * alone 0.64x (bench/NOTES.md). */
static void choose_matmul(const Config *c) {
    int want = c->train.bf16_matmul, bf16 = c->train.precision == DT_BF16;
    if (c->train.device == DEV_CUDA) { /* tensor cores: bf16 products unless told not to */
        k_bf16_gemm_set(bf16 && want != BF16MM_OFF);
        return;
    }
    if (want == BF16MM_ON && !k_bf16_gemm_available())
        z_die_all("train.bf16_matmul = on: this build has no oneDNN (build with DNNL=1 and "
                  "libdnnl-dev)");
    int on = bf16 && (want == BF16MM_ON || (want == BF16MM_AUTO && k_bf16_gemm_available() &&
                                            strstr(k_bf16_gemm_impl(), "amx")));
    k_bf16_gemm_set(on);
}

/* The rank's place on its node, as the launcher tells it (mpirun, srun,
 * MPICH's hydra); 0 when none does. */
static int local_rank(void) {
    const char *v[] = {"OMPI_COMM_WORLD_LOCAL_RANK", "SLURM_LOCALID", "MPI_LOCALRANKID"};
    for (int i = 0; i < 3; i++)
        if (getenv(v[i])) return atoi(getenv(v[i]));
    return 0;
}

/* [train] device = cuda: every rank opens its GPU (local rank mod count);
 * a rank without one says so in one line and every rank stops at once.
 * Then the k_* kernels forward to the CUDA backend, k_alloc hands out
 * managed memory (kernels/kdev.h), and with several ranks the tensor
 * collectives go through NCCL — or stay on MPI where ranks share a GPU. */
static void open_device(const Config *c) {
    if (c->train.device == DEV_LOOPBACK) {
        k_device_use(k_loopback_ops());
        if (comm_size() > 1) comm_use_tensor_ops(comm_loopback_ops());
        z_log("device: loopback (the device path, computed by the CPU)");
        return;
    }
    if (c->train.device != DEV_CUDA) return;
    char err[Z_ERR_MAX] = "";
    int bad = kc_open(local_rank(), err, sizeof err) != 0;
    if (comm_any(bad, "device check")) z_exit_agreed(bad ? err : NULL);
    k_device_use(kc_ops());
    const char *via = "no tensor collectives (1 rank)";
    if (comm_size() > 1) {
        int rc = comm_nccl_open(err, sizeof err);
        if (rc < 0) z_exit_agreed(err);
        if (rc == 0) comm_use_tensor_ops(comm_nccl_ops());
        via = rc == 0 ? "tensor collectives through NCCL"
                      : "tensor collectives through MPI (ranks share a GPU)";
    }
    z_log("device: rank 0 on CUDA device %d, %s; %s", kc_device(), kc_device_name(), via);
}

void trainer_build(Trainer *tr) {
    Config *c = &tr->cfg;
    tr->rank = comm_rank();
    tr->nranks = comm_size();
    open_device(c);
    batch_geometry(tr);
    if (c->train.threads > 0) k_set_threads(c->train.threads);
    choose_matmul(c);
    open_data(tr);
    trainer_continual_data(tr);
    if (c->train.replay[0]) open_replay(tr);
    Model *m = &tr->m;
    model_layout(m, &c->model, tr->nranks, MODEL_ALIGN_FLOATS);
    size_t *numel = z_malloc(m->nunits * sizeof(size_t), "units");
    size_t *padded = z_malloc(m->nunits * sizeof(size_t), "units");
    for (int u = 0; u < m->nunits; u++) numel[u] = m->unit[u].numel, padded[u] = m->unit[u].padded;
    tr->rss_base = trainer_rss(0);
    tr->zero = zero_create(c->zero.stage, c->zero.overlap, m->nunits, numel, padded,
                           c->model.tied ? 0 : -1, c->train.precision == DT_BF16,
                           c->zero.reduce_dtype == DT_BF16);
    free(numel);
    free(padded);
    /* bf16 copies of LayerNorm gains as their distance from 1 (docs/precision.md) */
    for (int i = 0; tr->cfg.train.precision == DT_BF16 && i < m->nviews; i++)
        if (model_norm_gain(&m->view[i]))
            zero_bf16_offset(tr->zero, m->view[i].unit, m->view[i].offset, m->view[i].numel, 1.0f);
        else if (model_product_weight(&m->view[i])) /* read from the bf16 copy in place */
            zero_bf16_lazy(tr->zero, m->view[i].unit, m->view[i].offset, m->view[i].numel);
    OptRange *r = z_malloc(m->nunits * sizeof *r, "units");
    for (int u = 0; u < m->nunits; u++) {
        size_t S = m->unit[u].padded / (size_t)tr->nranks;
        r[u] = (OptRange){zero_lo(tr->zero, u), zero_hi(tr->zero, u),
                          c->zero.stage == 0 ? 0 : (size_t)tr->rank * S,
                          c->zero.stage == 0 ? m->unit[u].padded : S, S};
    }
    tr->opt = optim_create(m, c, r, tr->rank);
    free(r);
    size_t nscratch, need = optim_scratch_need(tr->opt);
    float *scratch = zero_scratch(tr->zero, &nscratch);
    if (need > nscratch)
        z_die("optimizer: a segment of %zu elements does not fit the working buffer (%zu)", need,
              nscratch);
    optim_set_scratch(tr->opt, scratch, nscratch);
    size_t nsums = optim_nsums(tr->opt, 0) + optim_nsums(tr->opt, 1);
    if (nsums) tr->opt_sums = z_alloc((3 + nsums) * sizeof(double), MEM_OPTIM, "optimizer sums");
    tr->opt_p = z_calloc(m->nunits, sizeof(float *), "units");
    tr->opt_g = z_calloc(m->nunits, sizeof(void *), "units");
    if (c->train.replay[0])
        trainer_load_params(tr, c->train.replay, "init");
    else
        init_units(tr);
    for (int u = 0; u < m->nunits; u++) {
        m->unit[u].params = zero_params(tr->zero, u);
        m->unit[u].grads = zero_grads(tr->zero, u);
    }
    trainer_install_hooks(tr);
    size_t per = (size_t)tr->accum * tr->micro;
    tr->tok = z_alloc(per * tr->seq * 4, MEM_DATA, "batch tokens");
    tr->lab = z_alloc(per * tr->seq * 4, MEM_DATA, "batch labels");
    tr->pos = z_alloc(per * 8, MEM_DATA, "batch positions");
    /* padded documents and contrastive crops: their attention masks */
    if (c->data.packing == PACK_DOCS || c->objective.contrastive > 0 ||
        c->objective.retrieval_pairs > 0)
        tr->mask = z_alloc(per * tr->seq, MEM_DATA, "batch attention masks");
    if (c->objective.contrastive > 0) {
        size_t C = (size_t)c->model.width;
        tr->emb = z_alloc((size_t)tr->batch * C * 4, MEM_DATA, "sequence embeddings");
        tr->demb = z_alloc(per * C * 4, MEM_DATA, "sequence embedding gradients");
    }
    model_alloc_acts(m, tr->micro, tr->seq, head_rows_for(tr), 0, c->train.recompute);
    /* the last block on the MLM head's rows alone, where no pooled embedding
     * reads the others (model.h; retrieval evaluation clears it meanwhile) */
    m->rows_only = !(c->objective.contrastive > 0);
}

void trainer_free(Trainer *tr) {
    trainer_continual_free(tr); /* (its per-unit buffers: before the model forgets its units) */
    for (int u = 0; u < tr->m.nunits; u++) tr->m.unit[u].params = tr->m.unit[u].grads = NULL;
    optim_free(tr->opt);
    model_free(&tr->m);
    zero_free(tr->zero);
    k_free(tr->opt_sums), free(tr->opt_p), free(tr->opt_g);
    obj_close(&tr->obj);
    if (tr->train.window) data_close(&tr->train);
    if (tr->has_val) data_close(&tr->val);
    k_free(tr->tok), k_free(tr->lab), k_free(tr->pos), k_free(tr->mask);
    k_free(tr->emb), k_free(tr->demb);
    free(tr->replay_tok), free(tr->replay_lab);
    free(tr->win);
    if (k_dev) { /* the device's blocks are all released: back to the CPU */
        comm_use_tensor_ops(NULL);
        comm_nccl_close(); /* before MPI_Finalize */
        k_device_use(NULL);
    }
}
