/*
 * h5fixture.h — reading the reference fixtures (tests/fixtures/, written
 * by the scripts of tests/ref/) in the unit tests: datasets whole, their
 * sizes, and scalar attributes; a model's gradients against a fixture's.
 * A dataset that cannot be read is a failed check and ends the test.
 */
#ifndef ZEROPT_TEST_H5FIXTURE_H
#define ZEROPT_TEST_H5FIXTURE_H

#include "src/config/config.h"
#include "src/model/model.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static inline void read_ds(hid_t g, const char *name, hid_t type, void *buf) {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0 || H5Dread(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        printf("not ok - fixture read %s\n", name);
        exit(1);
    }
    H5Dclose(d);
}

static inline size_t ds_size(hid_t g, const char *name) {
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT), s = H5Dget_space(d);
    size_t n = (size_t)H5Sget_simple_extent_npoints(s);
    H5Sclose(s);
    H5Dclose(d);
    return n;
}

static inline long attr_long(hid_t g, const char *name) {
    long v = 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_LONG, &v);
    H5Aclose(a);
    return v;
}

static inline double attr_double(hid_t g, const char *name) {
    double v = 0;
    hid_t a = H5Aopen(g, name, H5P_DEFAULT);
    H5Aread(a, H5T_NATIVE_DOUBLE, &v);
    H5Aclose(a);
    return v;
}

static inline void attr_str(hid_t g, const char *name, char *out, size_t n) {
    hid_t a = H5Aopen(g, name, H5P_DEFAULT), t = H5Aget_type(a);
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        H5Aread(a, t, &s); /* memory type = file type: ASCII or UTF-8 alike */
        snprintf(out, n, "%s", s ? s : "");
        H5free_memory(s);
    } else {
        size_t sz = H5Tget_size(t);
        char *s = calloc(sz + 1, 1);
        H5Aread(a, t, s);
        snprintf(out, n, "%s", s);
        free(s);
    }
    H5Tclose(t);
    H5Aclose(a);
}

/* The shape of a fixture's model from its group's attributes (ln_eps, the
 * sizes), after `norm` (post | pre); the rest is left as the caller set it. */
static inline void fixture_model_shape(hid_t g, ModelConfig *c) {
    char s[32];
    attr_str(g, "norm", s, sizeof s);
    c->norm = !strcmp(s, "pre") ? NORM_PRE : NORM_POST;
    c->ln_eps = attr_double(g, "ln_eps");
    c->vocab_size = attr_long(g, "vocab_size");
    c->max_positions = attr_long(g, "max_positions");
    c->type_vocab_size = attr_long(g, "type_vocab_size");
    c->layers = attr_long(g, "layers");
    c->width = attr_long(g, "width");
    c->heads = attr_long(g, "heads");
    c->ffn = attr_long(g, "ffn");
}

/* The worst of m's gradients against group g's "grads/<name>", relative to
 * the tensor's own reference norm, or to 1e-3 of all of them for a gradient
 * that is zero in exact arithmetic (QK-LayerNorm's key bias without RoPE;
 * the MLM head's with a contrastive loss alone); *worst_name: its tensor.
 * Each reference is read once; one whose size is not the view's ends the
 * test as a failed check. */
static inline double fixture_grad_err(hid_t g, const Model *m, const char **worst_name) {
    char nm[160];
    size_t cap = 0;
    for (int i = 0; i < m->nviews; i++)
        if (m->view[i].numel > cap) cap = m->view[i].numel;
    float *ref = malloc(sizeof(float) * (cap ? cap : 1));
    double *d2 = calloc((size_t)m->nviews + 1, sizeof *d2),
           *r2 = calloc((size_t)m->nviews + 1, sizeof *r2);
    double all = 0, worst = 0;
    *worst_name = "";
    for (int i = 0; i < m->nviews; i++) { /* errors and norms, then ‖every reference‖ */
        snprintf(nm, sizeof nm, "grads/%s", m->view[i].name);
        if (ds_size(g, nm) != m->view[i].numel) {
            printf("not ok - fixture %s: %zu values, the model's tensor has %zu\n", nm,
                   ds_size(g, nm), m->view[i].numel);
            exit(1);
        }
        read_ds(g, nm, H5T_NATIVE_FLOAT, ref);
        const float *got = model_grad(m, &m->view[i]);
        for (size_t k = 0; k < m->view[i].numel; k++)
            d2[i] += ((double)got[k] - ref[k]) * ((double)got[k] - ref[k]),
                r2[i] += (double)ref[k] * ref[k];
        all += r2[i];
    }
    for (int i = 0; i < m->nviews; i++) {
        double e = sqrt(d2[i]) / fmax(sqrt(r2[i]), 1e-3 * sqrt(all));
        if (e > worst) worst = e, *worst_name = m->view[i].name;
    }
    free(ref), free(d2), free(r2);
    return worst;
}

#endif
