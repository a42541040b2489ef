/*
 * eval.c — the model on held-out data: validation loss and masked-token
 * accuracy over the first val_batches global batches, and predictions for
 * masked words of whole held-out documents (what `zeropt eval --show`
 * prints).
 *
 * Every rank runs the same number of forwards (ZeRO-3 gathers are
 * collective): a rank out of samples, or one that met bad data, runs a blank
 * sequence and discards it; errors are agreed at the end.
 */
#include "trainer.h"

#include "kernels/rng.h"
#include "mpi/comm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static Batch eval_batch(const Trainer *tr, int B) {
    Batch b = {B, tr->seq, tr->tok, tr->lab, NULL, tr->mask, tr->pos, 0, 0};
    return b;
}

EvalStats trainer_evaluate(Trainer *tr, DataSource *d, long step) {
    Model *m = &tr->m;
    int64_t want = (int64_t)tr->cfg.data.val_batches * tr->batch;
    int64_t n = want < d->n_samples ? want : d->n_samples;
    int64_t lo = n * tr->rank / tr->nranks, hi = n * (tr->rank + 1) / tr->nranks;
    int64_t most = (n + tr->nranks - 1) / tr->nranks, iters = (most + tr->micro - 1) / tr->micro;
    double acc[4] = {0, 0, 0, 0}; /* Σ loss, Σ labelled, Σ correct, ranks with bad data */
    tr->err[0] = 0;
    for (int64_t it = 0; it < iters; it++) {
        int64_t k0 = lo + it * tr->micro;
        int B = (int)(hi - k0 < tr->micro ? hi - k0 : tr->micro), real = B > 0 && !tr->err[0];
        for (int j = 0; j < B && real; j++) {
            tr->pos[j] = k0 + j;
            if (obj_sample(&tr->obj, d, k0 + j, -1, tr->tok + (size_t)j * tr->seq,
                           tr->lab + (size_t)j * tr->seq,
                           tr->mask ? tr->mask + (size_t)j * tr->seq : NULL, tr->err,
                           sizeof tr->err))
                real = 0;
        }
        if (!real) { /* keep step with the others' collectives on a blank sequence */
            B = 1;
            tr->pos[0] = 0;
            for (int t = 0; t < tr->seq; t++) tr->tok[t] = 0, tr->lab[t] = LABEL_IGNORE;
            if (tr->mask) memset(tr->mask, 1, (size_t)tr->seq);
        }
        Batch b = eval_batch(tr, B);
        double l = model_forward(m, &b);
        if (!real) continue;
        acc[0] += l;
        acc[1] += (double)m->n_labels;
        acc[2] += correct_rows(m, &b);
    }
    acc[3] = tr->err[0] != 0;
    comm_allreduce_f64(acc, 4, "validation", step);
    if (acc[3] > 0) z_exit_agreed(tr->err);
    EvalStats e = {acc[1] > 0 ? acc[0] / acc[1] : NAN,
                   acc[1] > 0 ? acc[2] / acc[1] : NAN,
                   acc[1],
                   NAN,
                   NAN,
                   0};
    int pairs = tr->cfg.objective.retrieval_pairs;
    if (pairs > 0 && tr->cfg.data.objective == OBJ_MLM && d == &tr->val) {
        e.pairs = pairs < d->n_samples ? pairs : (int)d->n_samples;
        trainer_retrieval(tr, d, e.pairs, &e.recall1, &e.recall10);
    }
    return e;
}

/* ------------------------------------------------------------------------- */
/* retrieval                                                                  */

void trainer_retrieval(Trainer *tr, DataSource *d, int n, double *recall1, double *recall10) {
    Model *m = &tr->m;
    const ObjectiveConfig *ob = &tr->cfg.objective;
    int C = m->c.width, T = tr->seq,
        pool = ob->pool == OBJ_POOL_CLS ? MODEL_POOL_CLS : MODEL_POOL_MEAN;
    /* rank r embeds views [lo, hi) of the 2n: view q of sample j is row q·n + j */
    int64_t lo = 2 * (int64_t)n * tr->rank / tr->nranks,
            hi = 2 * (int64_t)n * (tr->rank + 1) / tr->nranks;
    int64_t most = (2 * (int64_t)n + tr->nranks - 1) / tr->nranks;
    int64_t iters = (most + tr->micro - 1) / tr->micro;
    float *e = z_calloc((size_t)2 * n * C, sizeof *e, "retrieval embeddings");
    float *part = z_malloc((size_t)tr->micro * C * sizeof *part, "retrieval embeddings");
    int rows_only = m->rows_only; /* embeddings read every row of the last block */
    m->rows_only = 0;
    tr->err[0] = 0;
    for (int64_t it = 0; it < iters; it++) { /* every rank runs as many forwards */
        int64_t r0 = lo + it * tr->micro;
        int B = (int)(hi - r0 < tr->micro ? hi - r0 : tr->micro), real = B > 0 && !tr->err[0];
        for (int b = 0; b < B && real; b++) {
            int64_t row = r0 + b;
            int got = obj_view(&tr->obj, d, row % n, (int)(row / n), -1, 0, tr->tok + (size_t)b * T,
                               tr->lab + (size_t)b * T, tr->err, sizeof tr->err);
            if (got < 0) real = 0;
            for (int t = 0; t < T && real; t++) tr->mask[(size_t)b * T + t] = t < got;
            tr->pos[b] = row;
        }
        if (!real) {
            B = 1;
            for (int t = 0; t < T; t++) tr->tok[t] = 0, tr->lab[t] = LABEL_IGNORE, tr->mask[t] = 1;
        }
        Batch b = {B, T, tr->tok, tr->lab, NULL, tr->mask, tr->pos, 0, 0};
        model_forward(m, &b);
        if (!real) continue;
        model_seq_embed(m, &b, pool, part);
        memcpy(e + (size_t)r0 * C, part, (size_t)B * C * sizeof *e);
    }
    m->rows_only = rows_only;
    if (comm_any(tr->err[0] != 0, "retrieval data")) z_exit_agreed(tr->err);
    comm_allreduce_f32(e, (size_t)2 * n * C, "retrieval embeddings", -1);
    if (ob->similarity == SIM_COSINE)
        for (int64_t r = 0; r < 2 * (int64_t)n; r++) {
            double ss = 0;
            for (int c = 0; c < C; c++) ss += (double)e[r * C + c] * e[r * C + c];
            float inv = (float)(1.0 / fmax(sqrt(ss), 1e-12));
            for (int c = 0; c < C; c++) e[r * C + c] *= inv;
        }
    /* sim[i, j] = query i · document j; the rank of document i among all */
    float *sim = z_malloc((size_t)n * n * sizeof *sim, "retrieval similarities");
    k_matmul_fwd(sim, e, e + (size_t)n * C, n, C, n);
    long hit1 = 0, hit10 = 0;
    for (int i = 0; i < n; i++) {
        const float *s = sim + (size_t)i * n;
        int above = 0;
        for (int j = 0; j < n; j++) above += j != i && s[j] >= s[i]; /* ties count against */
        hit1 += above == 0, hit10 += above < 10;
    }
    *recall1 = n ? (double)hit1 / n : NAN, *recall10 = n ? (double)hit10 / n : NAN;
    free(e), free(part), free(sim);
}

/* ------------------------------------------------------------------------- */
/* predictions on whole held-out documents                                    */

/* Positions of doc[0, n) that hold a whole one-token word: kind 1 (a word
 * start) not followed by kind 2 (its continuation). */
static int maskable(const int32_t *doc, int n, int i, int (*kind)(void *, int32_t), void *ctx) {
    return kind(ctx, doc[i]) == 1 && (i + 1 == n || kind(ctx, doc[i + 1]) != 2);
}

int trainer_predict(Trainer *tr, Prediction *p, int n, double rate,
                    int (*kind)(void *ctx, int32_t id), void *ctx) {
    Model *m = &tr->m;
    DataSource *d = &tr->val;
    Corpus *c = &d->corpus;
    int T = tr->seq, W = T - 2, V = m->c.vocab_size, got = 0;
    if (!tr->has_val || m->c.arch != ARCH_ENCODER || c->n_docs == 0) return 0;
    memset(p, 0, (size_t)n * sizeof *p);
    int32_t *win = z_malloc((size_t)W * sizeof *win, "window");
    /* documents spread over the split, every rank choosing the same ones; each
     * is read as a training window is, followed by the next documents */
    for (int64_t k = 0; k < c->n_docs && got < n; k++) {
        int64_t doc = (k * 7919) % c->n_docs, o = corpus_off(c, doc), start = o + doc;
        int64_t len = corpus_off(c, doc + 1) - o;
        if (len < 8 || len > W || start + W > d->stream_len) continue;
        if (data_read_stream(d, start, W, win, tr->err, sizeof tr->err)) z_die("%s", tr->err);
        int *at = z_malloc((size_t)len * sizeof *at, "masked positions"), na = 0, first = -1;
        for (int i = 0; i < len; i++) {
            if (!maskable(win, (int)len, i, kind, ctx)) continue;
            if (first < 0) first = i;
            if (k_rng_uniform(k_rng_child(0x5E3, (uint64_t)doc), (uint64_t)i) < rate) at[na++] = i;
        }
        if (first < 0) {
            free(at);
            continue;
        }
        if (!na) at[na++] = first;
        Prediction *q = &p[got++];
        q->n = (int)len, q->nmasked = na, q->at = at;
        q->tokens = z_malloc((size_t)len * sizeof *q->tokens, "document");
        memcpy(q->tokens, win, (size_t)len * sizeof *win);
        q->guess = z_malloc((size_t)na * PREDICT_TOP * sizeof *q->guess, "guesses");
        q->prob = z_malloc((size_t)na * PREDICT_TOP * sizeof *q->prob, "guesses");
        /* [CLS] window [SEP], the chosen words of the document as [MASK] */
        tr->tok[0] = tr->obj.cls, tr->tok[T - 1] = tr->obj.sep;
        memcpy(tr->tok + 1, win, (size_t)W * sizeof *win);
        for (int i = 0; i < T; i++) tr->lab[i] = LABEL_IGNORE;
        for (int j = 0; j < na; j++)
            tr->lab[1 + at[j]] = win[at[j]], tr->tok[1 + at[j]] = tr->obj.mask;
        tr->pos[0] = 0;
        Batch b = {1, T, tr->tok, tr->lab, NULL, NULL, tr->pos, 0, 0};
        model_forward(m, &b);
        for (int r = 0; r < m->n_rows && r < na; r++) { /* rows in position order */
            const float *pr = m->probs + (size_t)r * V;
            for (int s = 0; s < PREDICT_TOP; s++) {
                int best = -1;
                for (int v = 0; v < V; v++) {
                    int taken = 0;
                    for (int u = 0; u < s; u++) taken |= q->guess[r * PREDICT_TOP + u] == v;
                    if (!taken && (best < 0 || pr[v] > pr[best])) best = v;
                }
                q->guess[r * PREDICT_TOP + s] = best;
                q->prob[r * PREDICT_TOP + s] = pr[best];
            }
        }
    }
    free(win);
    return got;
}

void trainer_free_predictions(Prediction *p, int n) {
    for (int i = 0; i < n; i++) free(p[i].tokens), free(p[i].at), free(p[i].guess), free(p[i].prob);
}
