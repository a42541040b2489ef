/*
 * spill.c — prep's per-unit intermediate files (see spill.h).
 */
#include "spill.h"

#include "mpi/err.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SPILL_BUF (1 << 20)

struct Spill {
    FILE *f;
    char path[4096];
    char *buf;
};

struct SpillReader {
    FILE *f, *k;
    char path[4096];
    char *buf;
    int32_t *ids;
    int64_t *spans;
    size_t cap, scap;
};

static void unit_path(char *out, size_t n, const char *dir, int unit, const char *ext) {
    snprintf(out, n, "%s/u%06d.%s", dir, unit, ext);
}

Spill *spill_create(const char *dir, int unit, char *err, size_t errlen) {
    Spill *s = z_calloc(1, sizeof *s, "spill");
    unit_path(s->path, sizeof s->path, dir, unit, "rec");
    s->f = fopen(s->path, "wb");
    if (!s->f) {
        z_fail(err, errlen, "cannot create %s: %s", s->path, strerror(errno));
        free(s);
        return NULL;
    }
    s->buf = z_malloc(SPILL_BUF, "spill buffer");
    setvbuf(s->f, s->buf, _IOFBF, SPILL_BUF);
    return s;
}

int spill_put(Spill *s, const SpillRec *rec, const int32_t *ids, const int64_t *spans, char *err,
              size_t errlen) {
    if (fwrite(rec, sizeof *rec, 1, s->f) != 1 ||
        (rec->ntok && fwrite(ids, sizeof *ids, (size_t)rec->ntok, s->f) != (size_t)rec->ntok) ||
        (rec->nspans &&
         fwrite(spans, 3 * sizeof *spans, (size_t)rec->nspans, s->f) != (size_t)rec->nspans))
        return z_fail(err, errlen, "%s: write failed (disk full?): %s", s->path, strerror(errno));
    return 0;
}

int spill_close(Spill *s, char *err, size_t errlen) {
    int rc = fclose(s->f) ? z_fail(err, errlen, "%s: write failed (disk full?): %s", s->path,
                                   strerror(errno))
                          : 0;
    free(s->buf);
    free(s);
    return rc;
}

int spill_put_keep(const char *dir, int unit, const uint8_t *keep, int64_t n, char *err,
                   size_t errlen) {
    char path[4096];
    unit_path(path, sizeof path, dir, unit, "keep");
    FILE *f = fopen(path, "wb");
    if (!f) return z_fail(err, errlen, "cannot create %s: %s", path, strerror(errno));
    int bad = n && fwrite(keep, 1, (size_t)n, f) != (size_t)n;
    if (fclose(f) || bad)
        return z_fail(err, errlen, "%s: write failed (disk full?): %s", path, strerror(errno));
    return 0;
}

SpillReader *spill_open(const char *dir, int unit, char *err, size_t errlen) {
    SpillReader *r = z_calloc(1, sizeof *r, "spill reader");
    unit_path(r->path, sizeof r->path, dir, unit, "rec");
    char kpath[4096];
    unit_path(kpath, sizeof kpath, dir, unit, "keep");
    r->f = fopen(r->path, "rb");
    r->k = r->f ? fopen(kpath, "rb") : NULL;
    if (!r->f || !r->k) {
        z_fail(err, errlen,
               "cannot open %s: %s (prep's intermediate files must be on a "
               "file system every rank sees)",
               r->f ? kpath : r->path, strerror(errno));
        if (r->f) fclose(r->f);
        free(r);
        return NULL;
    }
    r->buf = z_malloc(SPILL_BUF, "spill buffer");
    setvbuf(r->f, r->buf, _IOFBF, SPILL_BUF);
    return r;
}

int spill_next(SpillReader *r, SpillRec *rec, const int32_t **ids, const int64_t **spans, int *keep,
               char *err, size_t errlen) {
    if (fread(rec, sizeof *rec, 1, r->f) != 1) {
        if (feof(r->f) && fgetc(r->k) == EOF) return 0;
        return z_fail(err, errlen, "%s: short read (a damaged intermediate file)", r->path);
    }
    if (rec->ntok < 0 || rec->nspans < 0) return z_fail(err, errlen, "%s: damaged record", r->path);
    if ((size_t)rec->ntok > r->cap) {
        r->cap = (size_t)rec->ntok * 2;
        r->ids = realloc(r->ids, r->cap * sizeof *r->ids);
        if (!r->ids) z_die("out of memory (spilled tokens)");
    }
    if ((size_t)rec->nspans > r->scap) {
        r->scap = (size_t)rec->nspans * 2;
        r->spans = realloc(r->spans, 3 * r->scap * sizeof *r->spans);
        if (!r->spans) z_die("out of memory (spilled spans)");
    }
    int k = fgetc(r->k);
    if (k == EOF ||
        (rec->ntok &&
         fread(r->ids, sizeof *r->ids, (size_t)rec->ntok, r->f) != (size_t)rec->ntok) ||
        (rec->nspans &&
         fread(r->spans, 3 * sizeof *r->spans, (size_t)rec->nspans, r->f) != (size_t)rec->nspans))
        return z_fail(err, errlen, "%s: short read (a damaged intermediate file)", r->path);
    *ids = r->ids, *spans = r->spans, *keep = k != 0;
    return 1;
}

void spill_close_reader(SpillReader *r) {
    if (!r) return;
    fclose(r->f), fclose(r->k);
    free(r->buf), free(r->ids), free(r->spans);
    free(r);
}

void spill_remove(const char *dir, int unit) {
    char path[4096];
    unit_path(path, sizeof path, dir, unit, "rec");
    remove(path);
    unit_path(path, sizeof path, dir, unit, "keep");
    remove(path);
}
