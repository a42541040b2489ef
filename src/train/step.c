/*
 * step.c — one training step.
 *
 * A step: global batch sequences = micro × accumulation × ranks. Rank r
 * takes training positions [step·GB + r·GB/N, step·GB + (r+1)·GB/N), so the
 * samples, masks and dropout a step sees do not depend on N. The loss is
 * Σ(token losses) / Σ(labelled tokens) over the global batch; each rank
 * scales its backward by 1/Σ and the ZeRO partition (mpi/zero.c, wired in
 * hooks.c) sums the gradients: all-reduce at stage 0, reduce-scatter into
 * shards at stages 1–3.
 */
#include "trainer.h"

#include "src/optim/optim.h"

#include "kernels/rng.h"
#include "mpi/comm.h"
#include "mpi/fault.h"

#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

/* Fill this rank's accum × micro samples for step s; a bad sample leaves its
 * message in tr->err (the step's first collective spreads the failure). */
static void load_step(Trainer *tr, long s) {
    int per_rank = tr->accum * tr->micro, T = tr->cur_seq, V = tr->cfg.model.vocab_size;
    tr->obj.T = T; /* the step's length: samples are [CLS] window-start [SEP] / a prefix */
    int64_t base =
        tr->cursor0 + (int64_t)(s - tr->step0) * tr->batch + (int64_t)tr->rank * per_rank;
    tr->err[0] = 0;
    for (int j = 0; j < per_rank && !tr->err[0]; j++) {
        int32_t *tok = tr->tok + (size_t)j * T, *lab = tr->lab + (size_t)j * T;
        tr->pos[j] = base + j;
        if (tr->replay_tok) {
            size_t off = (size_t)(base + j) * T;
            memcpy(tok, tr->replay_tok + off, (size_t)T * 4);
            memcpy(lab, tr->replay_lab + off, (size_t)T * 4);
        } else {
            /* continual replay: a batch's first R slots come from the original
             * corpus (continual.c); otherwise the position itself */
            Objective *o = &tr->obj;
            DataSource *d = &tr->train;
            int64_t k = base + j, B = tr->batch, R = tr->replay_per_step, at = k;
            if (tr->has_orig && R > 0) {
                int64_t st = k / B, slot = k % B;
                at = slot < R ? st * R + slot : st * (B - R) + slot - R;
                if (slot < R) o = &tr->orig_obj, d = &tr->orig, o->T = T;
            }
            if (obj_sample(o, d, at, s, tok, lab, tr->mask ? tr->mask + (size_t)j * T : NULL,
                           tr->err, sizeof tr->err))
                break;
        }
        for (int t = 0; t < T && !tr->err[0]; t++)
            if (tok[t] < 0 || tok[t] >= V || lab[t] >= V)
                snprintf(tr->err, sizeof tr->err,
                         "%s: training position %ld has token id %d outside the vocabulary [0, %d)",
                         tr->replay_tok ? tr->cfg.train.replay : tr->cfg.data.path,
                         (long)(base + j), tok[t] < 0 || tok[t] >= V ? tok[t] : lab[t], V);
    }
    tr->obj.T = tr->seq;
    if (tr->dump) {
        size_t off = (size_t)(s - tr->step0) * tr->batch * T;
        memcpy(tr->dump_tok + off, tr->tok, (size_t)per_rank * T * 4);
        memcpy(tr->dump_lab + off, tr->lab, (size_t)per_rank * T * 4);
    }
}

static Batch micro_batch(const Trainer *tr, int a, uint64_t seed) {
    size_t off = (size_t)a * tr->micro * tr->cur_seq;
    Batch b = {tr->micro,
               tr->cur_seq,
               tr->tok + off,
               tr->lab + off,
               NULL,
               tr->mask ? tr->mask + off : NULL,
               tr->pos + (size_t)a * tr->micro,
               seed,
               1};
    return b;
}

/* SIGUSR1 or SIGTERM (Slurm's warning before the time limit, scancel): stop at
 * the next step boundary with a checkpoint. The flag travels in the step's
 * first collective, so every rank stops at the same step. */
static volatile sig_atomic_t stop_requested;
static void on_stop_signal(int sig) {
    (void)sig;
    stop_requested = 1;
}

/* The handler runs on a stack of its own (SA_ONSTACK), never below the
 * interrupted stack pointer: JIT-compiled kernels may keep data there. */
void trainer_catch_signals(void) {
    static char altstack[64 * 1024];
    stack_t ss = {.ss_sp = altstack, .ss_size = sizeof altstack, .ss_flags = 0};
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sa.sa_flags = SA_RESTART | (sigaltstack(&ss, NULL) ? 0 : SA_ONSTACK);
    sigemptyset(&sa.sa_mask);
    sigaction(SIGUSR1, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
}

/* Sequence contrastive learning beside MLM ([objective]): every rank needs
 * the whole global batch's embeddings before any backward, so with one
 * micro-batch the forward's embeddings are gathered between forward and
 * backward; with several, a forward-only pass over them comes first
 * (GradCache: the same batches, dropout streams and parameters give the
 * same embeddings again) and each micro-batch's backward takes its rows of
 * the embedding gradient. Every rank computes the same InfoNCE over the
 * gathered embeddings and the gradient of its own rows: the sum over ranks
 * that the ZeRO reductions form is the gradient through the gather.
 * Returns Σ MLM token losses of this rank; *con the contrastive loss. */
static double contrastive_micro_batches(Trainer *tr, long s, uint64_t dseed, double cnt,
                                        double *con) {
    Model *m = &tr->m;
    const ObjectiveConfig *ob = &tr->cfg.objective;
    int C = m->c.width, per = tr->accum * tr->micro,
        pool = ob->pool == OBJ_POOL_CLS ? MODEL_POOL_CLS : MODEL_POOL_MEAN;
    float *mine = tr->emb + (size_t)tr->rank * per * C;
    double mlm = 0, wm = ob->mlm / (cnt > 0 ? cnt : 1);
    if (tr->accum > 1)
        for (int a = 0; a < tr->accum; a++) {
            Batch b = micro_batch(tr, a, dseed);
            model_forward(m, &b);
            model_seq_embed(m, &b, pool, mine + (size_t)a * tr->micro * C);
        }
    for (int a = 0; a < tr->accum; a++) {
        Batch b = micro_batch(tr, a, dseed);
        zero_begin_micro(tr->zero, a == tr->accum - 1);
        mlm += model_forward(m, &b);
        if (a == 0) { /* all embeddings known: gather them, the loss, this rank's gradient */
            if (tr->accum == 1) model_seq_embed(m, &b, pool, mine);
            comm_wait(
                comm_iallgather_f32(NULL, tr->emb, (size_t)per * C, "sequence embeddings", s));
            *con = k_infonce(tr->emb, tr->batch, C, ob->temperature, ob->similarity == SIM_COSINE,
                             ob->contrastive, tr->rank * per, (tr->rank + 1) * per, tr->demb);
        }
        model_backward_pooled(m, &b, wm, pool, tr->demb + (size_t)a * tr->micro * C);
        zero_end_backward(tr->zero);
    }
    return mlm;
}

StepStats trainer_step(Trainer *tr, long s) {
    Model *m = &tr->m;
    const TrainConfig *tc = &tr->cfg.train;
    const CurriculumConfig *cu = &tr->cfg.curriculum;
    tr->cur_seq = obj_seq_len(cu, tr->seq, s);
    /* the schedule's clock: steps, or with a length warm-up the tokens seen in
     * full-length steps */
    double clock = cu->seq_start > 0 ? obj_seq_tokens(cu, tr->seq, 1, s) / tr->seq : (double)s;
    StepStats st = {0, 0, lr_at_frac(tc, clock), 0, 0, 0, NAN, NAN, tr->cur_seq, 0, 0};
    if (s < tr->lr_hold_until) st.lr *= tr->cfg.guard.rewind_lr; /* after a rewind ([guard]) */
    /* ZEROPT_FAULT=loss-spike: step 20's update at 300 × lr, once (the guard's test) */
    if (s == 19 && !tr->spiked && z_fault("loss-spike")) tr->spiked = 1, st.lr *= 300;
    comm_reset_stats();
    load_step(tr, s);
    /* Σ labelled positions over the global batch (the loss denominator), and
     * how many ranks met bad data: one collective, so every rank stops together */
    double cnt[3] = {0, tr->err[0] ? 1 : 0, stop_requested ? 1 : 0};
    for (size_t i = 0; i < (size_t)tr->accum * tr->micro * tr->cur_seq; i++)
        cnt[0] += tr->lab[i] >= 0;
    comm_allreduce_f64(cnt, 3, "label count", s);
    if (cnt[1] > 0) z_exit_agreed(tr->err);
    if (cnt[2] > 0) {
        st.stop = 1;
        return st;
    }
    const ObjectiveConfig *ob = &tr->cfg.objective;
    if (cnt[0] == 0 && !(ob->contrastive > 0))
        z_die_all("step %ld: the global batch has no labelled positions", s + 1);
    uint64_t dseed = k_rng_child(k_rng_child((uint64_t)tc->seed, 0xD80), (uint64_t)s);
    zero_begin_step(tr->zero, s);
    double loss = 0, con = 0;
    if (ob->contrastive > 0) {
        loss = contrastive_micro_batches(tr, s, dseed, cnt[0], &con);
    } else {
        for (int a = 0; a < tr->accum; a++) {
            Batch b = micro_batch(tr, a, dseed);
            zero_begin_micro(tr->zero, a == tr->accum - 1);
            loss += model_forward(m, &b);
            model_backward(m, &b, 1.0 / cnt[0]);
            zero_end_backward(tr->zero);
        }
    }
    st.gnorm = trainer_update(tr, s, st.lr, &loss); /* loss: Σ over ranks on return */
    st.loss = loss / (cnt[0] > 0 ? cnt[0] : 1);
    if (ob->contrastive > 0) { /* the objective: weights × (MLM mean, InfoNCE) */
        st.mlm_loss = cnt[0] > 0 ? st.loss : NAN, st.con_loss = con;
        st.loss = ob->mlm * (cnt[0] > 0 ? st.loss : 0) + ob->contrastive * con;
    }
    if (!isfinite(st.gnorm) || !isfinite(st.loss)) { /* every rank sees it (all-reduced) */
        const GuardConfig *g = &tr->cfg.guard;
        int named = comm_any(tr->err[0] != 0, "non-finite gradient");
        if (g->nonfinite == GUARD_SKIP && tr->skips < g->max_skips) {
            /* the update did not happen on any rank (trainer_update returns
             * before it); the next step takes the next batch */
            tr->skips++, st.skipped = 1;
            if (tr->err[0]) fprintf(stderr, "zeropt: rank %d: warning: %s\n", tr->rank, tr->err);
            z_log("step %ld: non-finite loss (%g) or gradient norm (%g): update skipped on every "
                  "rank (%d of [guard] max_skips = %d)",
                  s + 1, st.loss, st.gnorm, tr->skips, g->max_skips);
            tr->err[0] = 0;
        } else {
            if (!named && tr->rank == 0)
                snprintf(tr->err, sizeof tr->err,
                         "step %ld: non-finite loss (%g) or gradient norm (%g)%s; lower [train] lr "
                         "or raise warmup",
                         s + 1, st.loss, st.gnorm,
                         g->nonfinite == GUARD_SKIP ? " after [guard] max_skips skipped updates"
                                                    : "");
            z_exit_agreed(tr->err);
        }
    }
    CommStats cs = comm_stats();
    st.comm_bytes = cs.tensor_bytes, st.control_bytes = cs.control_bytes, st.wait_s = cs.wait_s;
    return st;
}
