/*
 * contrastive.c — the two views of a sample for sequence contrastive
 * learning (Contriever's independent cropping; see objective.h).
 *
 * With views on, training positions come in pairs: positions 2j and 2j + 1
 * are views 0 and 1 of sample j (the window or document data_window(j)
 * reads). A view is a crop: its length a uniform fraction in [crop_min,
 * crop_max] of the sample's tokens (at least one), its start uniform among
 * the starts that fit, both drawn from the stream (seed, step, j, view), so
 * the two views are independent and the same for any rank count. The crop
 * reads [CLS] crop [SEP] and pads; MLM masks it as any sample (position
 * 2j + v's masking stream) unless the MLM weight is 0.
 */
#include "objective.h"

#include "kernels/rng.h"

#include <math.h>
#include <string.h>

void obj_set_views(Objective *o, double crop_min, double crop_max, int on, int masked) {
    o->views = on, o->crop_min = crop_min, o->crop_max = crop_max, o->view_masked = masked;
}

/* salient spans [t0, t1) of the window (sample positions) moved into a crop
 * of window positions [start, start + len) */
static int crop_spans(Objective *o, int nsal, int start, int len) {
    int ns = 0;
    for (int s = 0; s < nsal; s++) {
        int a = o->sal[2 * s] - start, b = o->sal[2 * s + 1] - start; /* still + 1 for [CLS] */
        if (a < 1 || b > len + 1) continue;
        o->sal[2 * ns] = a, o->sal[2 * ns + 1] = b, ns++;
    }
    return ns;
}

int obj_view(Objective *o, DataSource *d, int64_t j, int v, int64_t step, int masked,
             int32_t *tokens, int32_t *labels, char *err, size_t errlen) {
    if (data_window(d, j, d->window, err, errlen)) return -1;
    int n = (int)d->window_len;
    if (n > o->T - 2) n = o->T - 2; /* a causal window's extra token */
    uint64_t cs = k_rng_child(k_rng_child(k_rng_child(o->seed, 0xC209), (uint64_t)step), j);
    double frac = o->crop_min + (o->crop_max - o->crop_min) * k_rng_uniform(cs, 2 * (uint64_t)v);
    int len = (int)lround(frac * n);
    len = len < 1 ? 1 : len > n ? n : len;
    int start = n ? (int)(k_rng_uniform(cs, 2 * (uint64_t)v + 1) * (n - len + 1)) : 0;
    if (n == 0) len = 0;
    int real = len + 2;
    if (masked) {
        int nsal = 0;
        if (o->mk.scheme == MASK_SALIENT) {
            if ((nsal = obj_window_spans(o, d, n, err, errlen)) < 0) return -1;
            nsal = crop_spans(o, nsal, start, len);
        }
        obj_mlm(o, d->window + start, len, o->sal, nsal, 2 * j + v, step, tokens, labels, NULL, 0,
                NULL);
    } else {
        tokens[0] = o->cls;
        memcpy(tokens + 1, d->window + start, (size_t)len * sizeof *tokens);
        tokens[len + 1] = o->sep;
        for (int t = 0; t < o->T; t++) labels[t] = LABEL_IGNORE;
    }
    for (int t = real; t < o->T; t++) tokens[t] = o->pad, labels[t] = LABEL_IGNORE;
    return real;
}
