/*
 * test_mask.c — the MLM masking variants ([mask], src/objectives/mask.c)
 * measured over a synthetic corpus of 400k tokens whose words and salient
 * spans are known: the masked fraction, the 80/10/10 split per token and per
 * span, whole-word grouping, SpanBERT's span lengths, salient spans masked
 * whole, the rate schedules, and that no special token is ever predicted.
 * Tolerances are 5 standard errors of each statistic at the sample size used.
 */
#include "tests/lib/check.h"

#include "io/corpus.h"
#include "kernels/rng.h"
#include "src/config/config.h"
#include "src/data/data.h"
#include "src/objectives/objective.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* ids: 0 pad, 1 unk, 2 cls, 3 sep, 4 mask; 10..499 start a word, 500..999
 * continue one */
enum { V = 1000, PAD = 0, UNK = 1, CLS = 2, SEP = 3, MASK = 4, NDOC = 2400, T = 512 };
static uint8_t cont[V];

/* Documents of words of 1 + Geometric(0.75) tokens (1.33 on average, as
 * English in BERT's WordPiece), an [UNK] or a [MASK]
 * token now and then, and salient spans of 1-3 whole words on every 6th word. */
static int64_t write_corpus(const char *path) {
    CorpusMeta meta = {V, PAD, UNK, CLS, SEP, MASK, -1, -1, "test", NULL};
    char err[512];
    CorpusWriter *w = corpus_writer_open(path, &meta, err, sizeof err);
    int32_t doc[1024];
    int64_t spans[3 * 256], total = 0;
    uint64_t r = 0;
    for (int split = 0; split < 2; split++)
        for (int d = 0; d < (split ? 50 : NDOC); d++) {
            int n = 0, ns = 0, words = 40 + (int)(k_rng_mix(r++) % 120);
            for (int wi = 0; wi < words; wi++) {
                int start = n;
                if (k_rng_mix(r++) % 50 == 0) doc[n++] = k_rng_mix(r++) % 2 ? UNK : MASK;
                doc[n++] = 10 + (int)(k_rng_mix(r++) % 490);
                while (k_rng_mix(r++) % 4 == 0) doc[n++] = 500 + (int)(k_rng_mix(r++) % 500);
                if (wi % 6 == 0 && doc[start] >= 10) { /* a salient span from this word */
                    int e = n, more = (int)(k_rng_mix(r++) % 3);
                    spans[3 * ns] = start, spans[3 * ns + 1] = e, spans[3 * ns + 2] = more;
                    ns++;
                }
            }
            /* spans end at word ends: extend each by `more` following words */
            for (int s = 0; s < ns; s++) {
                int e = (int)spans[3 * s + 1];
                for (int m = (int)spans[3 * s + 2]; m > 0 && e < n && doc[e] >= 10 && doc[e] < 500;
                     m--) {
                    e++;
                    while (e < n && doc[e] >= 500) e++;
                }
                spans[3 * s + 1] = e, spans[3 * s + 2] = 0;
            }
            corpus_writer_add(w, split, doc, (size_t)n, err, sizeof err);
            corpus_writer_add_spans(w, split, spans, (size_t)ns, err, sizeof err);
            total += split ? 0 : n;
        }
    check(corpus_writer_close(w, err, sizeof err) == 0, "corpus with spans written", "%s", err);
    return total;
}

typedef struct {
    long cand, pred, as_mask, as_kept, special_pred, split_words;
    long units, unit_mixed, unit_mask;
    long len_hist[16], drawn_hist[16], spans, cut, short_whole, placed_words, placed;
    long sal_tokens, sal_pred;
} Stats;

/* the original token at each position, from tokens and labels */
static int orig(const int32_t *tok, const int32_t *lab, int t) {
    return lab[t] >= 0 ? lab[t] : tok[t];
}

static void measure(Objective *o, DataSource *d, int64_t nsamples, int64_t step, Stats *s,
                    const int32_t *sal_mark_unused) {
    (void)sal_mark_unused;
    int32_t tok[T], lab[T];
    MaskSpan tr[T];
    char err[512];
    memset(s, 0, sizeof *s);
    for (int64_t k = 0; k < nsamples; k++) {
        int nt = 0, real = obj_sample_trace(o, d, k, step, tok, lab, tr, T, &nt, err, sizeof err);
        if (real < 0) {
            check(0, "sample", "%s", err);
            return;
        }
        for (int t = 1; t < real - 1; t++) {
            int x = orig(tok, lab, t);
            if (x < 10) {
                s->special_pred += lab[t] >= 0;
                continue;
            }
            s->cand++;
            if (lab[t] < 0) continue;
            s->pred++;
            s->as_mask += tok[t] == MASK;
            s->as_kept += tok[t] == lab[t];
        }
        /* whole words: a word's tokens are all predicted or none */
        for (int t = 1; t < real - 1; t++) {
            int x = orig(tok, lab, t);
            if (x >= 500 && t > 1 && orig(tok, lab, t - 1) >= 10 &&
                (lab[t] >= 0) != (lab[t - 1] >= 0))
                s->split_words++;
        }
        for (int i = 0; i < nt; i++) {
            const MaskSpan *m = &tr[i];
            int nm = 0, nk = 0;
            for (int t = m->t0; t < m->t1; t++) nm += tok[t] == MASK, nk += tok[t] == lab[t];
            int len = m->t1 - m->t0;
            s->units++;
            s->unit_mask += nm == len;
            s->unit_mixed += !(nm == len || nm == 0); /* random tokens may equal the original */

            if (m->kind == MASKED_SPAN) {
                s->spans++;
                s->cut += m->cut;
                s->short_whole += !m->cut && m->words != m->drawn;
                if (m->drawn < 16) s->drawn_hist[m->drawn]++;
                if (m->words < 16 && m->t1 > m->t0) s->len_hist[m->words]++;
                if (m->t1 > m->t0) s->placed++, s->placed_words += m->words;
            }
            if (m->kind == MASKED_SALIENT) s->sal_pred += len;
        }
    }
}

static MaskConfig defaults(int scheme) {
    Config c;
    config_defaults(&c);
    c.mask.scheme = scheme;
    return c.mask;
}

static int open_mlm(Objective *o, DataSource *d, const char *path, const char *split, double rate,
                    const MaskConfig *mk) {
    char err[512];
    int rc = obj_open(o, d, path, split, OBJ_MLM, T, rate, 77, 1, 0, err, sizeof err);
    if (!rc) rc = obj_set_masking(o, d, mk, 1000, cont, err, sizeof err);
    if (rc) check(0, "open", "%s", err);
    return rc;
}

/* 5 standard errors of a fraction p over n draws */
static double tol(double p, double n) {
    return 5 * sqrt(p * (1 - p) / n);
}

int main(void) {
    check_plan(21);
    for (int id = 500; id < V; id++) cont[id] = 1;
    const char *path = "/tmp/zeropt_test_mask.h5";
    int64_t ntok = write_corpus(path);
    int64_t NS = 1000; /* 1000 × 510 ≈ 500k positions */
    Objective o;
    DataSource d;
    Stats s;

    /* token masking (BERT): no special token predicted, the rate, 80/10/10 */
    MaskConfig mk = defaults(MASK_TOKEN);
    if (open_mlm(&o, &d, path, "", 0.15, &mk)) return check_exit();
    measure(&o, &d, NS, 3, &s, NULL);
    double rate = (double)s.pred / s.cand;
    check(s.special_pred == 0 && fabs(rate - 0.15) < tol(0.15, s.cand) &&
              fabs((double)s.as_mask / s.pred - 0.8) < tol(0.8, s.pred),
          "token masking: rate, 80 % [MASK], no special token predicted",
          "rate %.4f over %ld, mask %.4f, specials predicted %ld", rate, s.cand,
          (double)s.as_mask / s.pred, s.special_pred);
    check(ntok > 300000 && s.cand > 100000, "statistics over more than 100k tokens",
          "%ld tokens in the corpus, %ld candidates", (long)ntok, s.cand);
    obj_close(&o), data_close(&d);

    /* whole words */
    mk = defaults(MASK_WORD);
    open_mlm(&o, &d, path, "", 0.15, &mk);
    measure(&o, &d, NS, 3, &s, NULL);
    rate = (double)s.pred / s.cand;
    /* the budget is per sample, so the fraction's error is that of a mean of
     * budgets; words add variance: 2x the binomial tolerance */
    check(fabs(rate - 0.15) < 2 * tol(0.15, s.cand) && s.special_pred == 0,
          "whole-word masking: masked fraction = rate", "rate %.4f over %ld candidates", rate,
          s.cand);
    check(s.split_words == 0, "whole-word masking: no word split", "%ld words half masked",
          s.split_words);
    check(fabs((double)s.as_mask / s.pred - 0.8) < tol(0.8, s.pred) &&
              fabs((double)s.as_kept / s.pred - 0.1 - 0.1 / V) < tol(0.1, s.pred),
          "whole-word masking: 80/10/10 per token", "mask %.4f kept %.4f",
          (double)s.as_mask / s.pred, (double)s.as_kept / s.pred);
    obj_close(&o), data_close(&d);

    /* SpanBERT spans, 80/10/10 per span */
    mk = defaults(MASK_SPAN);
    mk.per_unit = 1;
    open_mlm(&o, &d, path, "", 0.15, &mk);
    measure(&o, &d, NS, 3, &s, NULL);
    rate = (double)s.pred / s.cand;
    check(fabs(rate - 0.15) < 2 * tol(0.15, s.cand) && s.special_pred == 0,
          "span masking: masked fraction = rate", "rate %.4f", rate);
    check(s.split_words == 0, "span masking: spans are whole words", "%ld split", s.split_words);
    /* every draw is in the trace: the drawn lengths against the truncated
     * geometric; the spans not cut are placed at their drawn length */
    double q = 1 - mk.span_p, z = 1 - pow(q, mk.span_max), mean = 0, want_mean = 0, worst = 0;
    int bins_ok = 1;
    for (int l = 1; l <= mk.span_max; l++) {
        double p = mk.span_p * pow(q, l - 1) / z, f = (double)s.drawn_hist[l] / s.spans;
        want_mean += l * p, mean += l * f;
        if (fabs(f - p) > tol(p, s.spans)) bins_ok = 0;
        if (fabs(f - p) / tol(p, s.spans) > worst) worst = fabs(f - p) / tol(p, s.spans);
    }
    check(bins_ok && fabs(mean - want_mean) < 0.02 * want_mean && s.short_whole == 0,
          "span masking: lengths drawn from Geometric(0.2) truncated to 10 words, placed whole",
          "mean %.4f words (want %.4f) over %ld spans; worst bin %.2f tolerances; %ld placed "
          "short",
          mean, want_mean, s.spans, worst, s.short_whole);
    double placed_mean = (double)s.placed_words / s.placed;
    check(s.cut < s.spans / 10 && placed_mean > 0.93 * want_mean,
          "span masking: few spans cut at the budget or window end",
          "%ld of %ld cut; mean placed length %.3f words", s.cut, s.spans, placed_mean);
    /* a span is all [MASK] or has none, but where a random token happens to
     * be [MASK] (1 in V of ~10 % of the predictions; per-token draws would mix
     * thousands) */
    check(s.unit_mixed <= 10 + 0.3 * s.pred / V &&
              fabs((double)s.unit_mask / s.units - 0.8) < tol(0.8, s.units),
          "span masking: 80/10/10 drawn once per span", "%ld mixed spans, %.4f all [MASK]",
          s.unit_mixed, (double)s.unit_mask / s.units);
    /* the same samples asked in another order (as other ranks would draw
     * them): the same masks */
    int32_t a[T], b[T], la[T], lb[T];
    char err[512];
    int same = 1;
    for (int64_t k = 0; k < 200; k++) {
        obj_sample(&o, &d, k, 9, a, la, NULL, err, sizeof err);
        obj_sample(&o, &d, 1000 - k, 9, b, lb, NULL, err, sizeof err); /* something in between */
        obj_sample(&o, &d, k, 9, b, lb, NULL, err, sizeof err);
        same &= !memcmp(a, b, sizeof a) && !memcmp(la, lb, sizeof la);
    }
    check(same, "span masks depend on (seed, step, position) only, not on what came before", NULL);
    obj_close(&o), data_close(&d);

    /* salient spans: masked whole, preferred; with no fallback only they */
    mk = defaults(MASK_SALIENT);
    mk.fallback = FALLBACK_NONE;
    open_mlm(&o, &d, path, "", 0.15, &mk);
    measure(&o, &d, NS, 3, &s, NULL);
    check(s.pred > 0 && s.pred == s.sal_pred && s.split_words == 0 && s.special_pred == 0,
          "salient masking without fallback: only salient spans, whole",
          "%ld predicted, %ld of them in salient spans", s.pred, s.sal_pred);
    rate = (double)s.pred / s.cand;
    check(rate <= 0.15 && rate > 0.10, "salient masking: spans fill most of the budget",
          "rate %.4f", rate);
    obj_close(&o), data_close(&d);
    mk.fallback = FALLBACK_SPAN;
    open_mlm(&o, &d, path, "", 0.15, &mk);
    measure(&o, &d, NS, 3, &s, NULL);
    rate = (double)s.pred / s.cand;
    check(fabs(rate - 0.15) < 2 * tol(0.15, s.cand) && s.sal_pred > s.pred / 2,
          "salient masking with span fallback: the rate, mostly salient spans",
          "rate %.4f, %.2f of predictions salient", rate, (double)s.sal_pred / s.pred);
    obj_close(&o), data_close(&d);
    /* the val split has its own spans */
    open_mlm(&o, &d, path, "val", 0.15, &mk);
    measure(&o, &d, d.n_samples, -1, &s, NULL);
    check(s.sal_pred > 0, "salient masking on the val split (its own /val/spans)", NULL);
    obj_close(&o), data_close(&d);

    /* rate schedules */
    mk = defaults(MASK_SPAN);
    mk.schedule = RATE_LINEAR, mk.rate_end = 0.4, mk.schedule_steps = 100;
    open_mlm(&o, &d, path, "", 0.1, &mk);
    double r0 = obj_mask_rate(&o, 0), r50 = obj_mask_rate(&o, 50), r200 = obj_mask_rate(&o, 200),
           re = obj_mask_rate(&o, -1);
    check(fabs(r0 - 0.1) < 1e-12 && fabs(r50 - 0.25) < 1e-12 && fabs(r200 - 0.4) < 1e-12 &&
              fabs(re - 0.4) < 1e-12,
          "linear rate schedule", "%g %g %g eval %g", r0, r50, r200, re);
    measure(&o, &d, NS / 2, 0, &s, NULL);
    double m0 = (double)s.pred / s.cand;
    measure(&o, &d, NS / 2, 150, &s, NULL);
    double m1 = (double)s.pred / s.cand;
    check(fabs(m0 - 0.1) < 3 * tol(0.1, s.cand) && fabs(m1 - 0.4) < 3 * tol(0.4, s.cand),
          "the measured rate follows the schedule", "%.4f at step 0, %.4f past its end", m0, m1);
    obj_close(&o), data_close(&d);
    mk.schedule = RATE_COSINE, mk.eval_rate = 0.15;
    open_mlm(&o, &d, path, "", 0.1, &mk);
    double c50 = obj_mask_rate(&o, 50), c25 = obj_mask_rate(&o, 25);
    check(fabs(c50 - 0.25) < 1e-12 && fabs(c25 - (0.4 - 0.3 * 0.5 * (1 + cos(M_PI / 4)))) < 1e-12 &&
              obj_mask_rate(&o, -1) == 0.15,
          "cosine rate schedule and the evaluation rate", "%g %g", c25, c50);
    obj_close(&o), data_close(&d);

    /* errors: salient masking on a corpus without spans, bad spans */
    {
        const char *bare = "/tmp/zeropt_test_mask_bare.h5";
        CorpusMeta meta = {V, PAD, UNK, CLS, SEP, MASK, -1, -1, "test", NULL};
        CorpusWriter *w = corpus_writer_open(bare, &meta, err, sizeof err);
        int32_t doc[600];
        for (int i = 0; i < 600; i++) doc[i] = 10 + i % 400;
        corpus_writer_add(w, 0, doc, 600, err, sizeof err);
        int64_t badspan[3] = {590, 601, 0};
        int rc = corpus_writer_add_spans(w, 0, badspan, 1, err, sizeof err);
        check(rc != 0 && strstr(err, "outside document"), "a span outside its document is refused",
              "%s", err);
        corpus_writer_close(w, err, sizeof err);
        mk = defaults(MASK_SALIENT);
        rc = obj_open(&o, &d, bare, "", OBJ_MLM, T, 0.15, 1, 1, 0, err, sizeof err);
        if (!rc) rc = obj_set_masking(&o, &d, &mk, 10, cont, err, sizeof err);
        check(rc != 0 && strstr(err, bare) && strstr(err, "/spans"),
              "salient masking without /spans: one line naming the file", "%s", err);
        data_close(&d);
        remove(bare);
    }
    remove(path);
    return check_exit();
}
