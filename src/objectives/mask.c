/*
 * mask.c — which positions of an MLM sample are predicted, and what the
 * model sees there ([mask], see objective.h).
 *
 * The candidates are the sample's positions that hold no special token
 * ([CLS], [SEP], pads, [MASK], [UNK], BOS, EOS are never predicted). A word
 * is a run of candidates whose later tokens continue it (o->cont; without a
 * table every token is a word of its own).
 *
 *   token    each candidate on its own with probability rate (BERT; the draws
 *            of the first version, so its masks are unchanged)
 *   word     a budget of b = round(rate × candidates) tokens (rounded
 *            stochastically, so the mean fraction is the rate exactly), spent
 *            on whole words in random order; a word that would overrun it is
 *            passed over (BERT's whole-word masking)
 *   span     SpanBERT: draw a length ℓ ~ Geometric(p) truncated to
 *            [1, span_max] words, then a start word uniformly; the span is
 *            placed when its ℓ words are free and fit the budget (up to 64
 *            starts per length); a length no start fits becomes a span cut
 *            at the budget, the window's end or a masked word, from a free
 *            start (SpanBERT cuts at the budget too; flagged in the trace).
 *            Every draw is in the trace with its drawn length: whether a draw
 *            happens depends only on the draws before it, so the drawn
 *            lengths are exactly the configured distribution, and the spans
 *            placed whole are those lengths
 *   salient  the corpus's salient spans inside the window, in random order,
 *            each whole while the budget lasts (REALM; a span holding a special
 *            token is passed over); the rest of the budget by fallback (span
 *            or word masking of the free words)
 *
 * A predicted position is shown as [MASK] with probability p_mask, as a
 * random token with p_random, else unchanged — drawn per token, or once per
 * word / span (per_unit). Every draw comes from the stream (seed, step, k):
 * masks do not depend on the rank count or on which rank draws them.
 */
#include "objective.h"

#include "kernels/rng.h"

#include <math.h>
#include <string.h>

double obj_mask_rate(const Objective *o, int64_t step) {
    const MaskConfig *mk = &o->mk;
    double r0 = o->mask_rate, r1 = mk->schedule == RATE_CONSTANT ? r0 : mk->rate_end;
    if (step < 0) return mk->eval_rate > 0 ? mk->eval_rate : r1;
    if (mk->schedule == RATE_CONSTANT || o->mk_steps <= 0) return r0;
    double f = (double)step / (double)o->mk_steps;
    f = f > 1 ? 1 : f;
    if (mk->schedule == RATE_LINEAR) return r0 + (r1 - r0) * f;
    return r1 + (r0 - r1) * 0.5 * (1 + cos(M_PI * f));
}

int obj_is_special(const Objective *o, int32_t tok) {
    for (int i = 0; i < o->nspecial; i++)
        if (tok == o->special[i]) return 1;
    return 0;
}

/* The state of one sample's masking. */
typedef struct {
    Objective *o;
    int32_t *tokens, *labels;
    uint64_t rs;     /* the stream of unit-level draws */
    uint64_t i;      /* its counter */
    int nw;          /* words */
    int budget, cnt; /* tokens to predict; predicted so far */
    MaskSpan *trace;
    int maxtrace, *ntrace;
} Masking;

static double draw(Masking *g) {
    return k_rng_uniform(g->rs, g->i++);
}

/* Position t predicted; r is the unit's replacement draw (per_unit) or < 0. */
static void predict(Masking *g, int t, double r) {
    const Objective *o = g->o;
    g->labels[t] = g->tokens[t];
    o->pm[t] = 1;
    g->cnt++;
    if (r < 0) r = draw(g);
    if (r < o->mk.p_mask)
        g->tokens[t] = o->mask;
    else if (r < o->mk.p_mask + o->mk.p_random)
        g->tokens[t] = (int32_t)(draw(g) * o->vocab);
}

/* Positions [t0, t1) predicted as one unit (none: t0 = t1, a draw that
 * found no place, kept in the trace). */
static void predict_unit(Masking *g, int t0, int t1, int words, int kind, int drawn, int cut) {
    double r = g->o->mk.per_unit && t1 > t0 ? draw(g) : -1;
    for (int t = t0; t < t1; t++) predict(g, t, r);
    if (g->trace && *g->ntrace < g->maxtrace)
        g->trace[(*g->ntrace)++] = (MaskSpan){t0, t1, words, kind, drawn, cut};
}

static int word_free(const Masking *g, int w) {
    const Objective *o = g->o;
    for (int t = o->wstart[w]; t < o->wstart[w] + o->wlen[w]; t++)
        if (o->pm[t]) return 0;
    return 1;
}

/* Whole words in random order while the budget lasts. */
static void mask_words(Masking *g) {
    Objective *o = g->o;
    int nw = g->nw, *order = o->order;
    for (int w = 0; w < nw; w++) order[w] = w;
    for (int w = nw - 1; w > 0; w--) { /* Fisher–Yates */
        int j = (int)(draw(g) * (w + 1)), x = order[w];
        order[w] = order[j], order[j] = x;
    }
    for (int j = 0; j < nw && g->cnt < g->budget; j++) {
        int w = order[j];
        if (g->cnt + o->wlen[w] > g->budget || !word_free(g, w)) continue;
        predict_unit(g, o->wstart[w], o->wstart[w] + o->wlen[w], 1, MASKED_WORD, 1, 0);
    }
}

/* Geometric(p) on {1, 2, …} truncated to [1, max], by its inverse CDF. */
static int span_length(double u, double p, int max) {
    if (p >= 1) return 1;
    double q = 1 - p, l = ceil(log(1 - u * (1 - pow(q, max))) / log(q));
    return l < 1 ? 1 : l > max ? max : (int)l;
}

/* Word w + 1 follows word w with nothing between (no special token, no
 * separator): a span never crosses one. */
static int adjacent(const Objective *o, int w) {
    return o->wstart[w] + o->wlen[w] == o->wstart[w + 1];
}

/* Tokens of words [a, a + l) when all are free and adjacent, else −1. */
static int span_tokens(const Masking *g, int a, int l) {
    int n = 0;
    for (int w = a; w < a + l; w++) {
        if (!word_free(g, w) || (w > a && !adjacent(g->o, w - 1))) return -1;
        n += g->o->wlen[w];
    }
    return n;
}

static void mask_spans(Masking *g) {
    const Objective *o = g->o;
    int nw = g->nw, fails = 0;
    while (g->cnt < g->budget && fails < 32) {
        int l = span_length(draw(g), o->mk.span_p, o->mk.span_max), placed = 0;
        for (int attempt = 0; attempt < 64 && !placed && l <= nw; attempt++) {
            int a = (int)(draw(g) * (nw - l + 1)), n = span_tokens(g, a, l);
            if (n < 0 || g->cnt + n > g->budget) continue;
            predict_unit(g, o->wstart[a], o->wstart[a + l - 1] + o->wlen[a + l - 1], l, MASKED_SPAN,
                         l, 0);
            placed = 1;
        }
        if (placed) continue;
        /* no start fits the length drawn: a span cut at the budget, the end
         * of the window or a masked word, from a free start */
        int a = -1;
        for (int attempt = 0; attempt < 64 && a < 0; attempt++) {
            int w = (int)(draw(g) * nw);
            if (word_free(g, w) && g->cnt + o->wlen[w] <= g->budget) a = w;
        }
        if (a < 0) {
            predict_unit(g, 0, 0, 0, MASKED_SPAN, l, 1);
            fails++;
            continue;
        }
        int e = a, n = 0;
        while (e < nw && e - a < l && word_free(g, e) && g->cnt + n + o->wlen[e] <= g->budget &&
               (e == a || adjacent(o, e - 1)))
            n += o->wlen[e++];
        predict_unit(g, o->wstart[a], o->wstart[e - 1] + o->wlen[e - 1], e - a, MASKED_SPAN, l,
                     e - a < l);
    }
}

/* The window's salient spans ([t0, t1) pairs in sal) in random order. */
static void mask_salient(Masking *g, const int32_t *sal, int nsal) {
    Objective *o = g->o;
    int *order = o->order;
    for (int s = 0; s < nsal; s++) order[s] = s;
    for (int s = nsal - 1; s > 0; s--) {
        int j = (int)(draw(g) * (s + 1)), x = order[s];
        order[s] = order[j], order[j] = x;
    }
    for (int j = 0; j < nsal && g->cnt < g->budget; j++) {
        int t0 = sal[2 * order[j]], t1 = sal[2 * order[j] + 1], free = 1;
        for (int t = t0; t < t1 && free; t++) free = !o->pm[t] && !obj_is_special(o, g->tokens[t]);
        if (!free || g->cnt + (t1 - t0) > g->budget) continue;
        predict_unit(g, t0, t1, 0, MASKED_SALIENT, 0, 0);
    }
    if (o->mk.fallback == FALLBACK_SPAN) mask_spans(g);
    if (o->mk.fallback == FALLBACK_WORD) mask_words(g);
}

int obj_mask(Objective *o, int32_t *tokens, int32_t *labels, int real, const int32_t *sal, int nsal,
             int64_t k, int64_t step, MaskSpan *trace, int maxtrace) {
    int ntrace = 0;
    double rate = obj_mask_rate(o, step);
    uint64_t ms = k_rng_child(k_rng_child(k_rng_child(o->seed, 0x3A5C), (uint64_t)step), k);
    for (int t = 0; t < o->T; t++) labels[t] = LABEL_IGNORE;
    if (o->mk.scheme == MASK_TOKEN) {
        for (int t = 1; t < real - 1; t++) {
            int tok = tokens[t];
            if (obj_is_special(o, tok)) continue;
            if (k_rng_uniform(ms, 3 * (uint64_t)t) >= rate) continue;
            labels[t] = tok;
            double r = k_rng_uniform(ms, 3 * (uint64_t)t + 1);
            if (r < o->mk.p_mask)
                tokens[t] = o->mask;
            else if (r < o->mk.p_mask + o->mk.p_random)
                tokens[t] = (int32_t)(k_rng_uniform(ms, 3 * (uint64_t)t + 2) * o->vocab);
        }
        return 0;
    }
    /* words: runs of candidates, later tokens continuing the first */
    int nw = 0, n = 0, prev = -2;
    for (int t = 1; t < real - 1; t++) {
        o->pm[t] = 0;
        if (obj_is_special(o, tokens[t])) continue;
        if (nw && prev == t - 1 && o->cont && o->cont[tokens[t]])
            o->wlen[nw - 1]++;
        else
            o->wstart[nw] = t, o->wlen[nw] = 1, nw++;
        prev = t, n++;
    }
    Masking g = {o, tokens, labels, k_rng_child(ms, 0x5BA1), 0, nw, 0, 0, trace, maxtrace, &ntrace};
    double want = rate * n;
    g.budget = (int)floor(want + draw(&g)); /* stochastic rounding: E[budget] = rate × n */
    if (o->mk.scheme == MASK_WORD) mask_words(&g);
    if (o->mk.scheme == MASK_SPAN) mask_spans(&g);
    if (o->mk.scheme == MASK_SALIENT) mask_salient(&g, sal, nsal);
    return ntrace;
}
