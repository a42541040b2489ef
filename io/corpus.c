/*
 * corpus.c — HDF5 corpus writer and reader (see corpus.h for the layout).
 * All HDF5 calls are checked; failures come back as a message, never a crash
 * or an HDF5 error stack on the terminal.
 */
#include "corpus.h"
#include "corpus_set.h"

#include "mpi/err.h"
#include "h5attr.h"

#include <hdf5.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define CHUNK_TOKENS (1 << 20)

/* HDF5 prints an error stack by default; we report our own line instead. */
static void quiet_hdf5(void) {
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* ------------------------------------------------------------------------- */
/* attributes                                                                 */

/* ------------------------------------------------------------------------- */
/* writer                                                                     */

typedef struct {
    hid_t tokens;
    int64_t n_tokens;
    int64_t *off;
    size_t n_off, cap_off;
    void *buf; /* pending tokens */
    size_t n_buf;
    int64_t *spans; /* [n_spans][3] salient spans, document by document */
    size_t n_spans, cap_spans;
    int64_t *span_off; /* [n_off] spans before each document (kept in step with off) */
    float *quality;    /* [cap_off] scores by document, or NULL */
    int64_t *prov;     /* [cap_off][3] source, line, byte offset by document, or NULL */
} SplitW;

struct CorpusWriter {
    char path[1024];
    hid_t file, ttype;
    int token_bytes, vocab;
    SplitW s[2];
    char **sources; /* the input files provenance rows point into */
    int nsources;
};

static hid_t make_tokens(hid_t loc, hid_t ttype) {
    hsize_t dims = 0, maxd = H5S_UNLIMITED, chunk = CHUNK_TOKENS;
    hid_t sp = H5Screate_simple(1, &dims, &maxd), pl = H5Pcreate(H5P_DATASET_CREATE);
    H5Pset_obj_track_times(pl, 0);
    H5Pset_chunk(pl, 1, &chunk);
    hid_t d = H5Dcreate2(loc, "tokens", ttype, sp, H5P_DEFAULT, pl, H5P_DEFAULT);
    H5Pclose(pl);
    H5Sclose(sp);
    return d;
}

int corpus_put_meta(int64_t file, const CorpusMeta *meta, const char *format) {
    int rc = h5_put_attr_str(file, "format", format);
    rc |= h5_put_attr_i64(file, "version", CORPUS_VERSION);
    rc |= h5_put_attr_str(file, "tokenizer", meta->tokenizer ? meta->tokenizer : "unknown");
    rc |= h5_put_attr_i64(file, "vocab_size", meta->vocab_size);
    const char *nm[] = {"pad_id", "unk_id", "cls_id", "sep_id", "mask_id", "bos_id", "eos_id"};
    int ids[] = {meta->pad, meta->unk, meta->cls, meta->sep, meta->mask, meta->bos, meta->eos};
    for (int i = 0; i < 7; i++) rc |= h5_put_attr_i64(file, nm[i], ids[i]);
    if (meta->tokenizer_json) {
        hid_t g = h5_create_group(file, "tokenizer");
        hid_t t = H5Tcopy(H5T_C_S1), s = H5Screate(H5S_SCALAR);
        H5Tset_size(t, strlen(meta->tokenizer_json) + 1);
        hid_t d = h5_create_ds(g, "json", t, s);
        rc |= d < 0 || H5Dwrite(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, meta->tokenizer_json) < 0;
        if (d >= 0) H5Dclose(d);
        H5Sclose(s);
        H5Tclose(t);
        H5Gclose(g);
    }
    return rc ? -1 : 0;
}

CorpusWriter *corpus_writer_open(const char *path, const CorpusMeta *meta, char *err,
                                 size_t errlen) {
    quiet_hdf5();
    if (meta->vocab_size <= 0) {
        z_fail(err, errlen, "%s: vocab_size must be positive", path);
        return NULL;
    }
    CorpusWriter *w = z_calloc(1, sizeof *w, "corpus writer");
    snprintf(w->path, sizeof w->path, "%s", path);
    w->vocab = meta->vocab_size;
    w->token_bytes = meta->vocab_size <= 65535 ? 2 : 4;
    w->ttype = w->token_bytes == 2 ? H5T_STD_U16LE : H5T_STD_U32LE;
    w->file = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (w->file < 0) {
        z_fail(err, errlen, "%s: cannot create corpus file", path);
        free(w);
        return NULL;
    }
    hid_t val = h5_create_group(w->file, "val");
    w->s[0].tokens = make_tokens(w->file, w->ttype);
    w->s[1].tokens = make_tokens(val, w->ttype);
    int rc = corpus_put_meta(w->file, meta, CORPUS_FORMAT);
    H5Gclose(val);
    for (int i = 0; i < 2; i++) {
        w->s[i].cap_off = 1024;
        w->s[i].off = z_malloc(w->s[i].cap_off * sizeof(int64_t), "offsets");
        w->s[i].off[0] = 0;
        w->s[i].n_off = 1;
        w->s[i].buf = z_malloc((size_t)CHUNK_TOKENS * w->token_bytes, "token buffer");
    }
    if (rc || w->s[0].tokens < 0 || w->s[1].tokens < 0) {
        z_fail(err, errlen, "%s: cannot write corpus layout", path);
        corpus_writer_close(w, NULL, 0);
        return NULL;
    }
    return w;
}

static int flush_split(CorpusWriter *w, SplitW *s) {
    if (!s->n_buf) return 0;
    hsize_t start = (hsize_t)s->n_tokens, count = s->n_buf, size = start + count;
    if (H5Dset_extent(s->tokens, &size) < 0) return -1;
    hid_t fs = H5Dget_space(s->tokens), ms = H5Screate_simple(1, &count, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &count, NULL);
    herr_t rc = H5Dwrite(s->tokens, w->token_bytes == 2 ? H5T_NATIVE_UINT16 : H5T_NATIVE_UINT32, ms,
                         fs, H5P_DEFAULT, s->buf);
    H5Sclose(ms);
    H5Sclose(fs);
    s->n_tokens += (int64_t)s->n_buf;
    s->n_buf = 0;
    return rc < 0 ? -1 : 0;
}

int corpus_writer_add(CorpusWriter *w, int split, const int32_t *ids, size_t n, char *err,
                      size_t errlen) {
    SplitW *s = &w->s[split ? 1 : 0];
    for (size_t i = 0; i < n; i++) {
        if (ids[i] < 0 || ids[i] >= w->vocab)
            return z_fail(err, errlen, "%s: token id %d outside the vocabulary (%d)", w->path,
                          ids[i], w->vocab);
        if (s->n_buf == CHUNK_TOKENS && flush_split(w, s))
            return z_fail(err, errlen, "%s: write failed (disk full?)", w->path);
        if (w->token_bytes == 2)
            ((uint16_t *)s->buf)[s->n_buf++] = (uint16_t)ids[i];
        else
            ((uint32_t *)s->buf)[s->n_buf++] = (uint32_t)ids[i];
    }
    if (s->n_off == s->cap_off) {
        s->cap_off *= 2;
        s->off = realloc(s->off, s->cap_off * sizeof(int64_t));
        if (!s->off) z_die("out of memory for document offsets");
        if (s->span_off) {
            s->span_off = realloc(s->span_off, s->cap_off * sizeof(int64_t));
            if (!s->span_off) z_die("out of memory for span offsets");
        }
        if (s->quality) {
            s->quality = realloc(s->quality, s->cap_off * sizeof(float));
            if (!s->quality) z_die("out of memory for quality scores");
        }
        if (s->prov) {
            s->prov = realloc(s->prov, s->cap_off * 3 * sizeof(int64_t));
            if (!s->prov) z_die("out of memory for provenance");
        }
    }
    s->off[s->n_off] = s->off[s->n_off - 1] + (int64_t)n;
    if (s->span_off) s->span_off[s->n_off] = (int64_t)s->n_spans;
    if (s->quality) s->quality[s->n_off - 1] = 0;
    if (s->prov)
        for (int k = 0; k < 3; k++) s->prov[3 * (s->n_off - 1) + k] = -1;
    s->n_off++;
    return 0;
}

int corpus_writer_add_spans(CorpusWriter *w, int split, const int64_t *spans, size_t n, char *err,
                            size_t errlen) {
    SplitW *s = &w->s[split ? 1 : 0];
    if (s->n_off < 2) return z_fail(err, errlen, "%s: spans given before any document", w->path);
    int64_t len = s->off[s->n_off - 1] - s->off[s->n_off - 2];
    for (size_t i = 0; i < n; i++)
        if (spans[3 * i] < 0 || spans[3 * i] >= spans[3 * i + 1] || spans[3 * i + 1] > len)
            return z_fail(err, errlen, "%s: span [%ld, %ld) outside document %zu of %ld tokens",
                          w->path, (long)spans[3 * i], (long)spans[3 * i + 1], s->n_off - 2,
                          (long)len);
    if (!s->span_off) /* the first spans: earlier documents had none */
        s->span_off = z_calloc(s->cap_off, sizeof(int64_t), "span offsets");
    if (s->n_spans + n > s->cap_spans) {
        s->cap_spans = (s->n_spans + n) * 2;
        s->spans = realloc(s->spans, s->cap_spans * 3 * sizeof(int64_t));
        if (!s->spans) z_die("out of memory for spans");
    }
    if (n) memcpy(s->spans + 3 * s->n_spans, spans, n * 3 * sizeof(int64_t));
    s->n_spans += n;
    s->span_off[s->n_off - 1] = (int64_t)s->n_spans;
    return 0;
}

void corpus_writer_set_quality(CorpusWriter *w, int split, float q) {
    SplitW *s = &w->s[split ? 1 : 0];
    if (s->n_off < 2) return;
    if (!s->quality) s->quality = z_calloc(s->cap_off, sizeof(float), "quality scores");
    s->quality[s->n_off - 2] = q;
}

void corpus_writer_set_sources(CorpusWriter *w, const char *const *names, int n) {
    w->sources = z_calloc((size_t)(n ? n : 1), sizeof *w->sources, "sources");
    for (int i = 0; i < n; i++) w->sources[i] = z_strdup(names[i]);
    w->nsources = n;
}

void corpus_writer_set_provenance(CorpusWriter *w, int split, int64_t source, int64_t line,
                                  int64_t offset) {
    SplitW *s = &w->s[split ? 1 : 0];
    if (s->n_off < 2) return;
    if (!s->prov) {
        s->prov = z_malloc(s->cap_off * 3 * sizeof(int64_t), "provenance");
        for (size_t i = 0; i < 3 * s->cap_off; i++) s->prov[i] = -1;
    }
    int64_t *p = s->prov + 3 * (s->n_off - 2);
    p[0] = source, p[1] = line, p[2] = offset;
}

/* /sources: the input file names. */
static int write_sources(CorpusWriter *w) {
    if (!w->sources) return 0;
    return h5_put_strings(w->file, "sources", (const char *const *)w->sources, w->nsources);
}

/* /provenance [n_docs, 3]: each document's source file (a /sources row), its
 * first line (from 1) and its byte offset there. 0 on success. */
static int write_provenance(CorpusWriter *w, SplitW *s, int val) {
    if (!s->prov) return 0;
    hsize_t dims[2] = {s->n_off - 1, 3};
    hid_t sp = H5Screate_simple(2, dims, NULL);
    hid_t d = h5_create_ds(w->file, val ? "val/provenance" : "provenance", H5T_STD_I64LE, sp);
    int rc = d < 0 ||
             (dims[0] && H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->prov) < 0);
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    return rc ? -1 : 0;
}

/* /quality of a split that has scores. 0 on success. */
static int write_quality(CorpusWriter *w, SplitW *s, int val) {
    if (!s->quality) return 0;
    hsize_t n = s->n_off - 1;
    hid_t sp = H5Screate_simple(1, &n, NULL);
    hid_t d = h5_create_ds(w->file, val ? "val/quality" : "quality", H5T_IEEE_F32LE, sp);
    int rc = d < 0 || H5Dwrite(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->quality) < 0;
    if (d >= 0) H5Dclose(d);
    H5Sclose(sp);
    return rc ? -1 : 0;
}

/* /spans and /span_offsets of a split that has spans. 0 on success. */
static int write_spans(CorpusWriter *w, SplitW *s, int val) {
    if (!s->span_off) return 0;
    hsize_t dims[2] = {s->n_spans, 3}, n = s->n_off;
    hid_t sp = H5Screate_simple(2, dims, NULL), so = H5Screate_simple(1, &n, NULL);
    hid_t d = h5_create_ds(w->file, val ? "val/spans" : "spans", H5T_STD_I64LE, sp);
    hid_t o = h5_create_ds(w->file, val ? "val/span_offsets" : "span_offsets", H5T_STD_I64LE, so);
    int rc = d < 0 || o < 0 ||
             (s->n_spans &&
              H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->spans) < 0) ||
             H5Dwrite(o, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->span_off) < 0;
    if (d >= 0) H5Dclose(d);
    if (o >= 0) H5Dclose(o);
    H5Sclose(sp), H5Sclose(so);
    return rc ? -1 : 0;
}

int corpus_writer_close(CorpusWriter *w, char *err, size_t errlen) {
    int rc = 0;
    for (int i = 0; i < 2 && w->file >= 0; i++) {
        SplitW *s = &w->s[i];
        if (s->tokens >= 0 && flush_split(w, s)) rc = -1;
        if (rc == 0) {
            hsize_t n = s->n_off;
            hid_t sp = H5Screate_simple(1, &n, NULL);
            hid_t d =
                h5_create_ds(w->file, i ? "val/doc_offsets" : "doc_offsets", H5T_STD_I64LE, sp);
            if (d < 0 || H5Dwrite(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, s->off) < 0)
                rc = -1;
            if (d >= 0) H5Dclose(d);
            H5Sclose(sp);
            if (write_spans(w, s, i) || write_quality(w, s, i) || write_provenance(w, s, i))
                rc = -1;
        }
        if (s->tokens >= 0) H5Dclose(s->tokens);
    }
    if (rc == 0 && w->file >= 0 && write_sources(w)) rc = -1;
    if (w->file >= 0 && H5Fclose(w->file) < 0) rc = -1;
    for (int i = 0; i < 2; i++)
        free(w->s[i].off), free(w->s[i].buf), free(w->s[i].spans), free(w->s[i].span_off),
            free(w->s[i].quality), free(w->s[i].prov);
    for (int i = 0; i < w->nsources; i++) free(w->sources[i]);
    free(w->sources);
    if (rc && err) z_fail(err, errlen, "%s: write failed (disk full?)", w->path);
    free(w);
    return rc;
}

/* ------------------------------------------------------------------------- */
/* reader                                                                     */

/* /spans and /span_offsets of a split, when it has them: the offsets read
 * whole (as doc_offsets), the spans read by corpus_read_spans. */
static int open_spans(Corpus *c, hid_t f, const char *pre, char *err, size_t errlen) {
    char dsn[64], osn[64];
    snprintf(dsn, sizeof dsn, "%sspans", pre);
    snprintf(osn, sizeof osn, "%sspan_offsets", pre);
    if (H5Lexists(f, dsn, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(f, dsn, H5P_DEFAULT);
    if (d < 0) return z_fail(err, errlen, "%s: cannot open /%s", c->path, dsn);
    c->hid_spans = d;
    c->has_spans = 1;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    int cls = H5Tget_class(t), nd = H5Sget_simple_extent_ndims(sp);
    hsize_t dims[2] = {0, 0};
    if (nd == 2) H5Sget_simple_extent_dims(sp, dims, NULL);
    H5Tclose(t), H5Sclose(sp);
    if (cls != H5T_INTEGER || nd != 2 || dims[1] != 3)
        return z_fail(err, errlen, "%s: /%s must be an integer [n_spans, 3] array", c->path, dsn);
    c->n_spans = (int64_t)dims[0];
    if (H5Lexists(f, osn, H5P_DEFAULT) <= 0)
        return z_fail(err, errlen, "%s: /%s without /%s", c->path, dsn, osn);
    hid_t o = H5Dopen2(f, osn, H5P_DEFAULT);
    sp = H5Dget_space(o);
    hsize_t n = 0;
    int ond = H5Sget_simple_extent_ndims(sp);
    if (ond == 1) H5Sget_simple_extent_dims(sp, &n, NULL);
    H5Sclose(sp);
    if (ond != 1 || (int64_t)n != c->n_docs + 1) {
        H5Dclose(o);
        return z_fail(err, errlen, "%s: /%s must hold n_docs + 1 = %ld offsets", c->path, osn,
                      (long)(c->n_docs + 1));
    }
    c->span_off = z_malloc(n * sizeof(int64_t), "span offsets");
    herr_t rc = H5Dread(o, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->span_off);
    H5Dclose(o);
    if (rc < 0) return z_fail(err, errlen, "%s: cannot read /%s", c->path, osn);
    for (int64_t i = 0; i < c->n_docs; i++)
        if (c->span_off[i + 1] < c->span_off[i] || c->span_off[0] != 0)
            return z_fail(err, errlen, "%s: /%s is not monotonic from 0 at document %ld", c->path,
                          osn, (long)i);
    if (c->span_off[c->n_docs] != c->n_spans)
        return z_fail(err, errlen, "%s: /%s ends at %ld but /%s has %ld spans", c->path, osn,
                      (long)c->span_off[c->n_docs], dsn, (long)c->n_spans);
    return 0;
}

/* /tokenizer/json, when the file has it (else c->tokenizer_json stays NULL). */
static void read_tokenizer_json(Corpus *c, hid_t f) {
    if (H5Lexists(f, "tokenizer", H5P_DEFAULT) > 0 &&
        H5Lexists(f, "tokenizer/json", H5P_DEFAULT) > 0) {
        hid_t jd = H5Dopen2(f, "tokenizer/json", H5P_DEFAULT);
        hid_t jt = H5Dget_type(jd);
        if (H5Tget_class(jt) == H5T_STRING && H5Tis_variable_str(jt) <= 0) {
            size_t js = H5Tget_size(jt);
            c->tokenizer_json = z_calloc(js + 1, 1, "tokenizer json");
            if (H5Dread(jd, jt, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->tokenizer_json) < 0)
                free(c->tokenizer_json), c->tokenizer_json = NULL;
        }
        H5Tclose(jt);
        H5Dclose(jd);
    }
}

static int open_split(Corpus *c, const char *path, const char *split, char *err, size_t errlen) {
    snprintf(c->path, sizeof c->path, "%s", path);
    snprintf(c->split, sizeof c->split, "%s", split ? split : "");
    const char *pre = c->split[0] ? "val/" : "";
    FILE *probe = fopen(path, "rb");
    if (!probe) return z_fail(err, errlen, "%s: cannot open corpus file", path);
    fclose(probe);
    if (H5Fis_hdf5(path) <= 0) return z_fail(err, errlen, "%s: not an HDF5 file", path);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) return z_fail(err, errlen, "%s: cannot open as HDF5", path);
    c->hid_file = f;
    char *fmt = h5_attr_str(f, "format");
    int set = fmt && !strcmp(fmt, CORPUS_SET_FORMAT);
    int bad = !fmt || (strcmp(fmt, CORPUS_FORMAT) && !set);
    free(fmt);
    if (bad) return z_fail(err, errlen, "%s: not a zeropt corpus (format attribute)", path);
    int64_t v;
    if (h5_attr_i64(f, "vocab_size", &v) || v <= 0 || v > INT32_MAX)
        return z_fail(err, errlen, "%s: missing or invalid vocab_size attribute", path);
    c->meta.vocab_size = (int)v;
    const char *nm[] = {"pad_id", "unk_id", "cls_id", "sep_id", "mask_id", "bos_id", "eos_id"};
    int *dst[] = {&c->meta.pad,  &c->meta.unk, &c->meta.cls, &c->meta.sep,
                  &c->meta.mask, &c->meta.bos, &c->meta.eos};
    for (int i = 0; i < 7; i++) *dst[i] = h5_attr_i64(f, nm[i], &v) ? -1 : (int)v;
    if (set) {
        read_tokenizer_json(c, f);
        return corpus_set_open(c, err, errlen);
    }

    char dsn[64];
    snprintf(dsn, sizeof dsn, "%stokens", pre);
    if ((c->split[0] && H5Lexists(f, "val", H5P_DEFAULT) <= 0) ||
        H5Lexists(f, dsn, H5P_DEFAULT) <= 0)
        return z_fail(err, errlen, "%s: missing dataset /%s", path, dsn);
    hid_t d = H5Dopen2(f, dsn, H5P_DEFAULT);
    c->hid_tokens = d;
    hid_t t = H5Dget_type(d), sp = H5Dget_space(d);
    int cls = H5Tget_class(t);
    size_t tsz = H5Tget_size(t);
    int sgn = H5Tget_sign(t), nd = H5Sget_simple_extent_ndims(sp);
    hsize_t n = 0;
    if (nd == 1) H5Sget_simple_extent_dims(sp, &n, NULL);
    H5Tclose(t);
    H5Sclose(sp);
    if (cls != H5T_INTEGER || sgn != H5T_SGN_NONE || (tsz != 2 && tsz != 4))
        return z_fail(err, errlen, "%s: /%s must be uint16 or uint32", path, dsn);
    if (nd != 1) return z_fail(err, errlen, "%s: /%s must be one-dimensional", path, dsn);
    c->token_bytes = (int)tsz;
    c->n_tokens = (int64_t)n;

    snprintf(dsn, sizeof dsn, "%sdoc_offsets", pre);
    if (H5Lexists(f, dsn, H5P_DEFAULT) <= 0)
        return z_fail(err, errlen, "%s: missing dataset /%s", path, dsn);
    hid_t od = H5Dopen2(f, dsn, H5P_DEFAULT);
    t = H5Dget_type(od), sp = H5Dget_space(od);
    cls = H5Tget_class(t);
    nd = H5Sget_simple_extent_ndims(sp);
    n = 0;
    if (nd == 1) H5Sget_simple_extent_dims(sp, &n, NULL);
    H5Tclose(t);
    H5Sclose(sp);
    if (cls != H5T_INTEGER || nd != 1 || n < 1) {
        H5Dclose(od);
        return z_fail(err, errlen, "%s: /%s must be a non-empty int64 vector", path, dsn);
    }
    c->n_docs = (int64_t)n - 1;
    c->offsets = z_malloc(n * sizeof(int64_t), "document offsets");
    herr_t rc = H5Dread(od, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->offsets);
    H5Dclose(od);
    if (rc < 0) return z_fail(err, errlen, "%s: cannot read /%s", path, dsn);
    if (c->offsets[0] != 0) return z_fail(err, errlen, "%s: /%s must start at 0", path, dsn);
    for (int64_t i = 0; i < c->n_docs; i++)
        if (c->offsets[i + 1] < c->offsets[i])
            return z_fail(err, errlen, "%s: /%s is not monotonic at document %ld", path, dsn,
                          (long)i);
    if (c->offsets[c->n_docs] != c->n_tokens)
        return z_fail(err, errlen, "%s: /%s ends at %ld but /%stokens has %ld tokens", path, dsn,
                      (long)c->offsets[c->n_docs], pre, (long)c->n_tokens);
    if (c->n_tokens == 0)
        return z_fail(err, errlen, "%s: the %s split is empty (no tokens)", path,
                      c->split[0] ? "val" : "train");
    if (open_spans(c, f, pre, err, errlen)) return -1;
    read_tokenizer_json(c, f);
    return 0;
}

int corpus_open(Corpus *c, const char *path, const char *split, char *err, size_t errlen) {
    quiet_hdf5();
    memset(c, 0, sizeof *c);
    c->hid_file = c->hid_tokens = c->hid_spans = -1;
    if (!open_split(c, path, split, err, errlen)) return 0;
    corpus_close(c); /* a failed open leaves nothing open */
    return -1;
}

int corpus_read(Corpus *c, int64_t start, int64_t count, int32_t *out, char *err, size_t errlen) {
    if (c->set) return corpus_set_read(c, start, count, out, err, errlen);
    if (start < 0 || count < 0 || start + count > c->n_tokens)
        return z_fail(err, errlen, "%s: read [%ld, %ld) outside %ld tokens", c->path, (long)start,
                      (long)(start + count), (long)c->n_tokens);
    if (count == 0) return 0;
    hsize_t s = (hsize_t)start, n = (hsize_t)count;
    hid_t fs = H5Dget_space((hid_t)c->hid_tokens), ms = H5Screate_simple(1, &n, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, &s, NULL, &n, NULL);
    herr_t rc = H5Dread((hid_t)c->hid_tokens, H5T_NATIVE_INT32, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms);
    H5Sclose(fs);
    if (rc < 0)
        return z_fail(err, errlen, "%s: cannot read tokens [%ld, %ld)", c->path, (long)start,
                      (long)(start + count));
    for (int64_t i = 0; i < count; i++)
        if (out[i] >= c->meta.vocab_size)
            return z_fail(err, errlen, "%s: token id %d at position %ld is >= vocab_size %d",
                          c->path, out[i], (long)(start + i), c->meta.vocab_size);
    return 0;
}

int corpus_read_quality(Corpus *c, float *out, char *err, size_t errlen) {
    if (c->set) return corpus_set_read_quality(c, out, err, errlen);
    char dsn[32];
    snprintf(dsn, sizeof dsn, "%squality", c->split[0] ? "val/" : "");
    hid_t f = (hid_t)c->hid_file;
    if (H5Lexists(f, dsn, H5P_DEFAULT) <= 0) return 0;
    hid_t d = H5Dopen2(f, dsn, H5P_DEFAULT), sp = H5Dget_space(d);
    hsize_t n = 0;
    int nd = H5Sget_simple_extent_ndims(sp);
    if (nd == 1) H5Sget_simple_extent_dims(sp, &n, NULL);
    H5Sclose(sp);
    int rc = nd == 1 && (int64_t)n == c->n_docs &&
             H5Dread(d, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, out) >= 0;
    H5Dclose(d);
    if (!rc)
        return z_fail(err, errlen, "%s: /%s must be a float vector of n_docs = %ld scores", c->path,
                      dsn, (long)c->n_docs);
    for (int64_t i = 0; i < c->n_docs; i++)
        if (!isfinite(out[i]))
            return z_fail(err, errlen, "%s: /%s[%ld] is not a finite number", c->path, dsn,
                          (long)i);
    return 1;
}

int corpus_read_spans(Corpus *c, int64_t d0, int64_t d1, int64_t *out, int64_t cap, int64_t *n,
                      char *err, size_t errlen) {
    *n = 0;
    if (c->set) return corpus_set_read_spans(c, d0, d1, out, cap, n, err, errlen);
    if (!c->span_off || d1 <= d0) return 0;
    int64_t a = c->span_off[d0], b = c->span_off[d1];
    if (b - a > cap) b = a + cap;
    if (b == a) return 0;
    hsize_t s[2] = {(hsize_t)a, 0}, cnt[2] = {(hsize_t)(b - a), 3};
    hid_t fs = H5Dget_space((hid_t)c->hid_spans), ms = H5Screate_simple(2, cnt, NULL);
    H5Sselect_hyperslab(fs, H5S_SELECT_SET, s, NULL, cnt, NULL);
    herr_t rc = H5Dread((hid_t)c->hid_spans, H5T_NATIVE_INT64, ms, fs, H5P_DEFAULT, out);
    H5Sclose(ms), H5Sclose(fs);
    if (rc < 0)
        return z_fail(err, errlen, "%s: cannot read %sspans [%ld, %ld)", c->path,
                      c->split[0] ? "/val/" : "/", (long)a, (long)b);
    for (int64_t i = b - 1; i >= a; i--) /* rows of 3 → rows of 4, from the back */
        for (int k = 2; k >= 0; k--) out[4 * (i - a) + 1 + k] = out[3 * (i - a) + k];
    for (int64_t d = d0, i = a; d < d1; d++)
        for (; i < c->span_off[d + 1] && i < b; i++) {
            int64_t *r = out + 4 * (i - a);
            r[0] = d;
            if (r[1] < 0 || r[1] >= r[2] || r[2] > c->offsets[d + 1] - c->offsets[d])
                return z_fail(err, errlen,
                              "%s: %sspans row %ld: [%ld, %ld) is not inside document %ld (%ld "
                              "tokens)",
                              c->path, c->split[0] ? "/val/" : "/", (long)i, (long)r[1], (long)r[2],
                              (long)d, (long)(c->offsets[d + 1] - c->offsets[d]));
        }
    *n = b - a;
    return 0;
}

int64_t corpus_off(Corpus *c, int64_t d) {
    return c->set ? corpus_set_off(c, d) : c->offsets[d];
}

int64_t corpus_doc_at(Corpus *c, int64_t p) {
    if (c->set) return corpus_set_doc_at(c, p);
    const int64_t *off = c->offsets;
    int64_t lo = 0, hi = c->n_docs - 1; /* last d with off[d] + d <= p */
    while (lo < hi) {
        int64_t mid = (lo + hi + 1) / 2;
        if (off[mid] + mid <= p)
            lo = mid;
        else
            hi = mid - 1;
    }
    return lo;
}

void corpus_close(Corpus *c) {
    corpus_set_close(c);
    if (c->hid_spans >= 0) H5Dclose((hid_t)c->hid_spans);
    free(c->span_off);
    if (c->hid_tokens >= 0) H5Dclose((hid_t)c->hid_tokens);
    if (c->hid_file >= 0) H5Fclose((hid_t)c->hid_file);
    free(c->offsets);
    free(c->tokenizer_json);
    memset(c, 0, sizeof *c);
    c->hid_file = c->hid_tokens = c->hid_spans = -1;
}
