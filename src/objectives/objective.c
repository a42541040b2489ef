/*
 * objective.c — an objective over a corpus split: its packing and its
 * samples (see objective.h).
 */
#include "objective.h"

#include "mpi/err.h"
#include "src/config/config.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The packing of an opened split (0), or −1 and err. */
static int pack(Objective *o, DataSource *d, const char *path, int kind, int T, double mask_rate,
                uint64_t seed, int shuffle, int padded, char *err, size_t errlen) {
    const CorpusMeta *m = &d->corpus.meta;
    o->kind = kind, o->T = T, o->mask_rate = mask_rate, o->seed = seed, o->vocab = m->vocab_size;
    o->cls = m->cls, o->mask = m->mask, o->padded = padded, o->pad = m->pad >= 0 ? m->pad : 0;
    const int ids[] = {m->pad, m->unk, m->cls, m->sep, m->mask, m->bos, m->eos};
    for (size_t i = 0; i < sizeof ids / sizeof ids[0]; i++)
        if (ids[i] >= 0) o->special[o->nspecial++] = ids[i];
    /* BERT's masking until obj_set_masking says otherwise */
    o->mk = (MaskConfig){MASK_TOKEN, RATE_CONSTANT, mask_rate, 0, 0, 0.8, 0.1, 0, 0.2,
                         10,         FALLBACK_SPAN};
    char what[64];
    snprintf(what, sizeof what, "seq_len %d", T);
    if (kind == OBJ_MLM) {
        if (m->cls < 0 || m->sep < 0 || m->mask < 0)
            return z_fail(err, errlen, "%s: MLM needs cls_id, sep_id and mask_id attributes", path);
        o->sep = m->sep;
        if (padded) return data_docs(d, T - 2, o->sep, seed, shuffle, err, errlen);
        return data_pack(d, T - 2, 0, o->sep, seed, shuffle, what, err, errlen);
    }
    if (m->eos < 0) return z_fail(err, errlen, "%s: causal LM needs an eos_id attribute", path);
    o->sep = m->eos;
    if (padded) return data_docs(d, T + 1, o->sep, seed, shuffle, err, errlen);
    return data_pack(d, T, 1, o->sep, seed, shuffle, what, err, errlen);
}

int obj_open(Objective *o, DataSource *d, const char *path, const char *split, int kind, int T,
             double mask_rate, uint64_t seed, int shuffle, int padded, char *err, size_t errlen) {
    memset(o, 0, sizeof *o);
    if (data_open(d, path, split, err, errlen)) return -1;
    if (!pack(o, d, path, kind, T, mask_rate, seed, shuffle, padded, err, errlen)) return 0;
    data_close(d); /* a failed open leaves nothing open */
    return -1;
}

int obj_set_masking(Objective *o, DataSource *d, const MaskConfig *mk, long steps,
                    const uint8_t *cont, char *err, size_t errlen) {
    double rate = o->mask_rate;
    o->mk = *mk;
    o->mask_rate = rate;
    o->mk_steps = mk->schedule_steps > 0 ? mk->schedule_steps : steps;
    o->cont = cont;
    if (o->kind != OBJ_MLM || mk->scheme == MASK_TOKEN) return 0;
    if (mk->scheme == MASK_SALIENT && !d->corpus.has_spans)
        return z_fail(err, errlen,
                      "%s: [mask] scheme = salient needs salient spans: the %s split has no "
                      "/%sspans dataset",
                      d->corpus.path, d->corpus.split[0] ? "val" : "train",
                      d->corpus.split[0] ? "val/" : "");
    size_t T = (size_t)o->T;
    o->wstart = z_malloc(T * sizeof *o->wstart, "mask scratch");
    o->wlen = z_malloc(T * sizeof *o->wlen, "mask scratch");
    o->order = z_malloc(T * sizeof *o->order, "mask scratch");
    o->pm = z_calloc(T, 1, "mask scratch");
    o->sal = z_malloc(2 * T * sizeof *o->sal, "mask scratch");
    o->spans_cap = 4 * (int64_t)T;
    o->spans = z_malloc((size_t)o->spans_cap * 4 * sizeof *o->spans, "mask scratch");
    return 0;
}

void obj_close(Objective *o) {
    free(o->wstart), free(o->wlen), free(o->order), free(o->pm), free(o->sal), free(o->spans);
    o->wstart = o->wlen = o->order = NULL, o->pm = NULL, o->sal = NULL, o->spans = NULL;
}

/* The salient spans of the window just read, as sample positions [t0, t1)
 * (MLM: window position p is sample position p + 1), those wholly inside
 * its first n positions. Returns how many, or −1 and err. */
int obj_window_spans(Objective *o, DataSource *d, int n, char *err, size_t errlen) {
    int64_t got, ns = 0;
    if (corpus_read_spans(&d->corpus, d->window_doc0, d->window_doc1 + 1, o->spans, o->spans_cap,
                          &got, err, errlen))
        return -1;
    for (int64_t i = 0; i < got && ns < o->T; i++) {
        const int64_t *r = o->spans + 4 * i; /* document, start, end, kind */
        /* token x of document doc sits at window position x + doc − window_start */
        int64_t p = corpus_off(&d->corpus, r[0]) + r[1] + r[0] - d->window_start;
        int64_t len = r[2] - r[1];
        if (p < 0 || p + len > n) continue; /* not wholly inside */
        o->sal[2 * ns] = (int32_t)p + 1, o->sal[2 * ns + 1] = (int32_t)(p + len) + 1;
        ns++;
    }
    return (int)ns;
}

int obj_sample_trace(Objective *o, DataSource *d, int64_t k, int64_t step, int32_t *tokens,
                     int32_t *labels, MaskSpan *trace, int maxtrace, int *ntrace, char *err,
                     size_t errlen) {
    if (ntrace) *ntrace = 0;
    if (data_window(d, k, d->window, err, errlen)) return -1;
    int n = (int)d->window_len, real;
    if (o->kind == OBJ_MLM) {
        if (n > o->T - 2) n = o->T - 2; /* a shorter step ([curriculum]): the window's start */
        int nsal = 0;
        if (o->mk.scheme == MASK_SALIENT && (nsal = obj_window_spans(o, d, n, err, errlen)) < 0)
            return -1;
        real = obj_mlm(o, d->window, n, o->sal, nsal, k, step, tokens, labels, trace, maxtrace,
                       ntrace);
    } else {
        real = obj_clm(o, d->window, n, tokens, labels);
    }
    for (int t = real; t < o->T; t++) tokens[t] = o->pad, labels[t] = LABEL_IGNORE;
    return real;
}

int obj_sample(Objective *o, DataSource *d, int64_t k, int64_t step, int32_t *tokens,
               int32_t *labels, uint8_t *mask, char *err, size_t errlen) {
    int real = o->views && step >= 0 /* training: views; evaluation: whole samples */
                   ? obj_view(o, d, k >> 1, (int)(k & 1), step, o->view_masked, tokens, labels, err,
                              errlen)
                   : obj_sample_trace(o, d, k, step, tokens, labels, NULL, 0, NULL, err, errlen);
    if (real < 0) return -1;
    if (mask)
        for (int t = 0; t < o->T; t++) mask[t] = t < real;
    return 0;
}
