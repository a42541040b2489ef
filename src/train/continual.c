/*
 * continual.c — continual pretraining ([continual]): start from a trained
 * model's parameters with fresh optimizer state (the schedule warms up
 * again), watch the original ability (the validation loss on the original
 * corpus, logged beside the new one), replay a fraction of the original
 * corpus in every batch, and pull the parameters towards where they
 * started (L2-SP; decoupled, as AdamW decouples weight decay).
 *
 * Replay splits each global batch: its first R = round(replay × B) positions
 * come from the original corpus, the others from the new one. Global
 * position k (step k / B, slot k mod B) reads original sample
 * (k / B)·R + slot or new sample (k / B)·(B − R) + slot − R: a function of k
 * alone, so the same for any rank count and across resumes.
 */
#include "trainer.h"

#include "mpi/comm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void trainer_continual_data(Trainer *tr) {
    const Config *c = &tr->cfg;
    const ContinualConfig *ct = &c->continual;
    char err[Z_ERR_MAX];
    if (!ct->original[0] || c->train.replay[0]) return;
    uint64_t seed = k_rng_child((uint64_t)c->train.seed, 0x0A1D);
    const CorpusMeta *a = &tr->train.corpus.meta;
    if (ct->replay > 0) {
        if (obj_open(&tr->orig_obj, &tr->orig, ct->original, "", c->data.objective, tr->seq,
                     c->data.mask_rate, seed, c->data.shuffle, c->data.packing == PACK_DOCS, err,
                     sizeof err) ||
            obj_set_masking(&tr->orig_obj, &tr->orig, &c->mask, tr->steps_total, tr->word_cont, err,
                            sizeof err))
            z_die_all("%s", err);
        tr->has_orig = 1;
        tr->replay_per_step = (int)lround(ct->replay * tr->batch);
    }
    if (c->data.val_batches > 0) {
        Objective o;
        if (obj_open(&o, &tr->orig_val, ct->original, "val", c->data.objective, tr->seq,
                     c->data.mask_rate, seed, 0, c->data.packing == PACK_DOCS, err, sizeof err))
            z_die_all("%s", err);
        tr->has_orig_val = 1;
    }
    const CorpusMeta *b = tr->has_orig ? &tr->orig.corpus.meta : &tr->orig_val.corpus.meta;
    if (a->vocab_size != b->vocab_size || a->cls != b->cls || a->sep != b->sep ||
        a->mask != b->mask || a->pad != b->pad || a->eos != b->eos)
        z_die_all("%s: [continual] original: its vocabulary (%d tokens, special ids) is not the "
                  "one of %s (%d tokens): the two corpora need the same tokenizer",
                  ct->original, b->vocab_size, c->data.path, a->vocab_size);
    z_log("continual: original corpus %s%s", ct->original,
          tr->has_orig ? "" : " (validation only)");
    if (tr->has_orig)
        z_log("continual: replay %d of every %d sequences from it (%.1f %%)", tr->replay_per_step,
              tr->batch, 100.0 * tr->replay_per_step / tr->batch);
}

/* The rank's part of every unit as the optimizer sees it: the whole unit at
 * stage 0, the shard otherwise. */
static size_t part_len(const Trainer *tr, int u) {
    return zero_stage(tr->zero) == 0 ? tr->m.unit[u].padded : zero_shard(tr->zero, u);
}

void trainer_continual_init(Trainer *tr, int resumed) {
    const ContinualConfig *ct = &tr->cfg.continual;
    if (!ct->init[0]) return;
    if (resumed < 0) { /* before resume: the copy L2-SP pulls towards */
        if (!(ct->l2sp > 0)) return;
        trainer_load_init(tr, ct->init);
        tr->w0 = z_calloc((size_t)tr->m.nunits, sizeof *tr->w0, "initial parameters");
        for (int u = 0; u < tr->m.nunits; u++) {
            size_t n = part_len(tr, u);
            tr->w0[u] = z_alloc(n * sizeof(float), MEM_OPTIM, "initial parameters (L2-SP)");
            memcpy(tr->w0[u], zero_own_params(tr->zero, u), n * sizeof(float));
        }
        return;
    }
    if (!resumed && !tr->w0) trainer_load_init(tr, ct->init); /* (with L2-SP: loaded already) */
    if (resumed)
        z_log("continual: resumed this run's own checkpoint; [continual] init is not read again%s",
              tr->w0 ? " (but for L2-SP's anchor)" : "");
}

void trainer_continual_pull(Trainer *tr, float **p, double lr) {
    if (!tr->w0) return;
    float w = (float)(lr * tr->cfg.continual.l2sp);
    for (int u = 0; u < tr->m.nunits; u++) k_pull(p[u], tr->w0[u], part_len(tr, u), w);
}

void trainer_continual_free(Trainer *tr) {
    if (tr->has_orig) obj_close(&tr->orig_obj), data_close(&tr->orig);
    if (tr->has_orig_val) data_close(&tr->orig_val);
    for (int u = 0; tr->w0 && u < tr->m.nunits; u++) k_free(tr->w0[u]);
    free(tr->w0);
}
