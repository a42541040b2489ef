/*
 * objective.c — an objective over a corpus split: its packing and its
 * samples (see objective.h).
 */
#include "objective.h"

#include "mpi/err.h"
#include "src/config/config.h"

#include <stdio.h>
#include <string.h>

/* The packing of an opened split (0), or −1 and err. */
static int pack(Objective *o, DataSource *d, const char *path, int kind, int T, double mask_rate,
                uint64_t seed, int shuffle, int padded, char *err, size_t errlen) {
    const CorpusMeta *m = &d->corpus.meta;
    o->kind = kind, o->T = T, o->mask_rate = mask_rate, o->seed = seed, o->vocab = m->vocab_size;
    o->cls = m->cls, o->mask = m->mask, o->padded = padded, o->pad = m->pad >= 0 ? m->pad : 0;
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

int obj_sample(const Objective *o, DataSource *d, int64_t k, int64_t step, int32_t *tokens,
               int32_t *labels, uint8_t *mask, char *err, size_t errlen) {
    if (data_window(d, k, d->window, err, errlen)) return -1;
    int n = (int)d->window_len, real = o->kind == OBJ_MLM
                                           ? obj_mlm(o, d->window, n, k, step, tokens, labels)
                                           : obj_clm(o, d->window, n, tokens, labels);
    for (int t = real; t < o->T; t++) tokens[t] = o->pad, labels[t] = LABEL_IGNORE;
    if (mask)
        for (int t = 0; t < o->T; t++) mask[t] = t < real;
    return 0;
}
