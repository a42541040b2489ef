/*
 * metrics.c — JSON lines through jansson (see metrics.h).
 */
#include "metrics.h"

#include "mpi/err.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

struct Metrics {
    FILE *f;
    json_t *obj;
};

Metrics *metrics_open(const char *path, char *err, unsigned long errlen) {
    FILE *f = fopen(path, "a");
    if (!f) {
        snprintf(err, errlen, "%s: cannot open metrics log", path);
        return NULL;
    }
    Metrics *m = z_calloc(1, sizeof *m, "metrics");
    m->f = f;
    return m;
}

void metrics_begin(Metrics *m) {
    json_decref(m->obj);
    m->obj = json_object();
}

void metrics_int(Metrics *m, const char *key, long long v) {
    json_object_set_new(m->obj, key, json_integer(v));
}

/* JSON has no NaN/Inf: those are written as null. */
void metrics_real(Metrics *m, const char *key, double v) {
    json_object_set_new(m->obj, key, isfinite(v) ? json_real(v) : json_null());
}

void metrics_str(Metrics *m, const char *key, const char *v) {
    json_object_set_new(m->obj, key, json_string(v));
}

int metrics_end(Metrics *m) {
    int rc = json_dumpf(m->obj, m->f, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9));
    json_decref(m->obj);
    m->obj = NULL;
    if (fputc('\n', m->f) == EOF || fflush(m->f)) rc = -1;
    return rc;
}

void metrics_close(Metrics *m) {
    if (!m) return;
    json_decref(m->obj);
    fclose(m->f);
    free(m);
}
