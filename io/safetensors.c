/*
 * safetensors.c — reader and writer (see safetensors.h); JSON via jansson.
 */
#include "safetensors.h"

#include "mpi/err.h"

#include <jansson.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static size_t numel_of(int ndim, const int64_t *d) {
    size_t n = 1;
    for (int i = 0; i < ndim; i++) n *= (size_t)d[i];
    return n;
}

/* fp32 → bf16, round to nearest even (NaN stays a quiet NaN) */
static uint16_t to_bf16(float x) {
    uint32_t u;
    memcpy(&u, &x, 4);
    if ((u & 0x7f800000u) == 0x7f800000u && (u & 0x007fffffu)) return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fffu + ((u >> 16) & 1u);
    return (uint16_t)(u >> 16);
}

int st_write(const char *path, const StTensor *t, int n, const char *const *meta_kv, int nmeta,
             int bf16, char *err, size_t errlen) {
    size_t esz = bf16 ? 2 : 4;
    json_t *h = json_object();
    size_t off = 0;
    for (int i = 0; i < n; i++) {
        json_t *shape = json_array();
        for (int d = 0; d < t[i].ndim; d++)
            json_array_append_new(shape, json_integer(t[i].dims[d]));
        size_t bytes = numel_of(t[i].ndim, t[i].dims) * esz;
        json_object_set_new(h, t[i].name,
                            json_pack("{s:s,s:o,s:[I,I]}", "dtype", bf16 ? "BF16" : "F32", "shape",
                                      shape, "data_offsets", (json_int_t)off,
                                      (json_int_t)(off + bytes)));
        off += bytes;
    }
    if (nmeta) {
        json_t *m = json_object();
        for (int i = 0; i < nmeta; i++)
            json_object_set_new(m, meta_kv[2 * i], json_string(meta_kv[2 * i + 1]));
        json_object_set_new(h, "__metadata__", m);
    }
    char *hdr = json_dumps(h, JSON_COMPACT | JSON_SORT_KEYS);
    json_decref(h);
    size_t hl = strlen(hdr), pad = (8 - hl % 8) % 8; /* data starts 8-byte aligned */
    FILE *f = fopen(path, "wb");
    if (!f) {
        free(hdr);
        return z_fail(err, errlen, "%s: cannot create file", path);
    }
    uint64_t len = hl + pad;
    unsigned char le[8];
    for (int i = 0; i < 8; i++) le[i] = (unsigned char)(len >> (8 * i));
    int bad = fwrite(le, 1, 8, f) != 8 || fwrite(hdr, 1, hl, f) != hl ||
              fwrite("        ", 1, pad, f) != pad;
    for (int i = 0; i < n && !bad; i++) {
        size_t k = numel_of(t[i].ndim, t[i].dims);
        if (!bf16) {
            bad = fwrite(t[i].data, 4, k, f) != k;
            continue;
        }
        uint16_t buf[4096]; /* converted a block at a time */
        for (size_t o = 0; o < k && !bad; o += 4096) {
            size_t c = k - o < 4096 ? k - o : 4096;
            for (size_t j = 0; j < c; j++) buf[j] = to_bf16(t[i].data[o + j]);
            bad = fwrite(buf, 2, c, f) != c;
        }
    }
    if (fclose(f)) bad = 1;
    free(hdr);
    return bad ? z_fail(err, errlen, "%s: write failed (disk full?)", path) : 0;
}

struct StFile {
    FILE *f;
    char path[1024];
    json_t *hdr;
    uint64_t data_start, size; /* where the data begins; the file's length */
    const char **names;
    int n;
};

StFile *st_open(const char *path, char *err, size_t errlen) {
    FILE *fp = fopen(path, "rb");
    if (!fp) {
        z_fail(err, errlen, "%s: cannot open", path);
        return NULL;
    }
    unsigned char le[8];
    uint64_t len = 0;
    if (fread(le, 1, 8, fp) == 8)
        for (int i = 7; i >= 0; i--) len = len << 8 | le[i];
    if (len == 0 || len > (1u << 30)) {
        fclose(fp);
        z_fail(err, errlen, "%s: not a safetensors file (header length)", path);
        return NULL;
    }
    char *buf = z_malloc(len + 1, "safetensors header");
    json_error_t je;
    json_t *h = NULL;
    if (fread(buf, 1, len, fp) == len) {
        buf[len] = 0;
        h = json_loads(buf, 0, &je);
    }
    free(buf);
    if (!h || !json_is_object(h)) {
        json_decref(h);
        fclose(fp);
        z_fail(err, errlen, "%s: not a safetensors file (header is not a JSON object)", path);
        return NULL;
    }
    StFile *f = z_calloc(1, sizeof *f, "safetensors");
    f->f = fp, f->hdr = h, f->data_start = 8 + len;
    if (fseek(fp, 0, SEEK_END) == 0) {
        long end = ftell(fp);
        f->size = end > 0 ? (uint64_t)end : 0;
    }
    snprintf(f->path, sizeof f->path, "%s", path);
    f->names = z_calloc(json_object_size(h) + 1, sizeof(char *), "names");
    const char *k;
    json_t *v;
    json_object_foreach(h, k, v) if (strcmp(k, "__metadata__")) f->names[f->n++] = k;
    return f;
}

void st_close(StFile *f) {
    if (!f) return;
    fclose(f->f);
    json_decref(f->hdr);
    free(f->names);
    free(f);
}

int st_count(const StFile *f) {
    return f->n;
}
const char *st_name(const StFile *f, int i) {
    return f->names[i];
}

int st_shape(const StFile *f, const char *name, int64_t dims[4]) {
    json_t *e = json_object_get(f->hdr, name), *s = e ? json_object_get(e, "shape") : NULL;
    if (!json_is_array(s) || json_array_size(s) > 4) return -1;
    for (size_t i = 0; i < json_array_size(s); i++) { /* whole numbers ≥ 0, each < 2^40 */
        json_t *d = json_array_get(s, i);
        if (!json_is_integer(d) || json_integer_value(d) < 0 ||
            json_integer_value(d) >= (json_int_t)1 << 40)
            return -1;
        dims[i] = json_integer_value(d);
    }
    return (int)json_array_size(s);
}

static float half_to_float(uint16_t h) {
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 31, m = h & 1023, bits;
    if (e == 0) { /* subnormal or zero */
        float v = (float)m / 1024.0f / 16384.0f;
        return s ? -v : v;
    }
    if (e == 31)
        bits = s | 0x7F800000u | (m << 13);
    else
        bits = s | ((e + 112) << 23) | (m << 13);
    float out;
    memcpy(&out, &bits, 4);
    return out;
}

float *st_read(StFile *f, const char *name, size_t *numel, char *err, size_t errlen) {
    json_t *e = json_object_get(f->hdr, name);
    if (!e) {
        z_fail(err, errlen, "%s: missing tensor %s", f->path, name);
        return NULL;
    }
    const char *dtype = json_string_value(json_object_get(e, "dtype"));
    json_t *off = json_object_get(e, "data_offsets");
    int64_t dims[4];
    int nd = st_shape(f, name, dims);
    if (!dtype || nd < 0 || !json_is_array(off) || json_array_size(off) != 2) {
        z_fail(err, errlen, "%s: malformed entry for %s", f->path, name);
        return NULL;
    }
    int esz = !strcmp(dtype, "F32") ? 4 : (!strcmp(dtype, "F16") || !strcmp(dtype, "BF16")) ? 2 : 0;
    if (!esz) {
        z_fail(err, errlen, "%s: tensor %s has dtype %s (F32, F16 or BF16 expected)", f->path, name,
               dtype);
        return NULL;
    }
    /* the element count without overflow, offsets whole and in order, and the
     * bytes inside the file, before anything is allocated */
    size_t n = 1;
    for (int i = 0; i < nd; i++)
        n = dims[i] && n > (SIZE_MAX / 8) / (size_t)dims[i] ? SIZE_MAX / 8 : n * (size_t)dims[i];
    json_t *ja = json_array_get(off, 0), *jb = json_array_get(off, 1);
    if (!json_is_integer(ja) || !json_is_integer(jb) || json_integer_value(ja) < 0 ||
        json_integer_value(jb) < json_integer_value(ja)) {
        z_fail(err, errlen, "%s: malformed data_offsets for %s", f->path, name);
        return NULL;
    }
    uint64_t a = (uint64_t)json_integer_value(ja), b = (uint64_t)json_integer_value(jb);
    if (n >= SIZE_MAX / 8 || b - a != n * (uint64_t)esz) {
        z_fail(err, errlen, "%s: tensor %s: data size does not match its shape", f->path, name);
        return NULL;
    }
    if (f->data_start + b > f->size) {
        z_fail(err, errlen, "%s: truncated data for %s (the header places it past the end)",
               f->path, name);
        return NULL;
    }
    float *out = z_malloc((n ? n : 1) * sizeof(float), "tensor");
    unsigned char *raw = esz == 4 ? (unsigned char *)out : z_malloc(n * 2 + 1, "tensor");
    if (fseek(f->f, (long)(f->data_start + a), SEEK_SET) || fread(raw, 1, b - a, f->f) != b - a) {
        if (raw != (unsigned char *)out) free(raw);
        free(out);
        z_fail(err, errlen, "%s: truncated data for %s", f->path, name);
        return NULL;
    }
    if (esz == 2) {
        for (size_t i = 0; i < n; i++) {
            uint16_t h = (uint16_t)(raw[2 * i] | raw[2 * i + 1] << 8);
            if (!strcmp(dtype, "BF16")) {
                uint32_t bits = (uint32_t)h << 16;
                memcpy(&out[i], &bits, 4);
            } else
                out[i] = half_to_float(h);
        }
        free(raw);
    }
    *numel = n;
    return out;
}
