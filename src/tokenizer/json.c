/*
 * json.c — tokenizer.json, Hugging Face's format, out and in: ours is
 * written so that `tokenizers` loads it as it is; an HF byte-level BPE file
 * (GPT-2, RoBERTa) is read with its options, vocabulary, added tokens and
 * merges (either string or pair form).
 */
#include "internal.h"

#include "mpi/err.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- tokenizer.json out ---------------------------------------------------- */

static json_t *byte_level_json(const Tokenizer *t) {
    return json_pack("{s:s,s:b,s:b,s:b}", "type", "ByteLevel", "add_prefix_space",
                     t->add_prefix_space, "trim_offsets", t->trim_offsets, "use_regex",
                     t->use_regex);
}

static json_t *added_json(const Tokenizer *t) {
    json_t *a = json_array();
    for (int i = 0; i < t->nadded; i++)
        json_array_append_new(a, json_pack("{s:i,s:s,s:b,s:b,s:b,s:b,s:b}", "id", t->added[i].id,
                                           "content", t->str[t->added[i].id], "single_word",
                                           t->added[i].single_word, "lstrip", t->added[i].lstrip,
                                           "rstrip", t->added[i].rstrip, "normalized", 0, "special",
                                           t->added[i].special));
    return a;
}

/* model: vocab in id order, merges as "a b" strings (read by every
 * `tokenizers` version; byte-level tokens never contain a space). */
static json_t *model_json(const Tokenizer *t) {
    json_t *vocab = json_object(), *merges = json_array();
    for (int i = 0; i < t->ntok; i++)
        if (t->in_vocab[i]) json_object_set_new(vocab, t->str[i], json_integer(i));
    for (size_t m = 0; m < t->nmerges; m++) {
        const char *a = t->str[t->ma[m]], *b = t->str[t->mb[m]];
        size_t la = strlen(a), lb = strlen(b);
        char *s = z_malloc(la + lb + 2, "merge string");
        memcpy(s, a, la);
        s[la] = ' ';
        memcpy(s + la + 1, b, lb + 1);
        json_array_append_new(merges, json_string(s));
        free(s);
    }
    return json_pack("{s:s,s:n,s:n,s:n,s:n,s:b,s:b,s:b,s:o,s:o}", "type", "BPE", "dropout",
                     "unk_token", "continuing_subword_prefix", "end_of_word_suffix", "fuse_unk", 0,
                     "byte_fallback", 0, "ignore_merges", 0, "vocab", vocab, "merges", merges);
}

char *tok_to_json(const Tokenizer *t) {
    json_t *root = json_pack("{s:s,s:n,s:n,s:o,s:n,s:o,s:n,s:o,s:o}", "version", "1.0",
                             "truncation", "padding", "added_tokens", added_json(t), "normalizer",
                             "pre_tokenizer", byte_level_json(t), "post_processor", "decoder",
                             byte_level_json(t), "model", model_json(t));
    if (!root) z_die("tokenizer: cannot build the JSON document");
    char *s = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!s) z_die("tokenizer: cannot serialize the JSON document");
    return s;
}

int tok_save(const Tokenizer *t, const char *path) {
    char *s = tok_to_json(t);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(s, 1, strlen(s), f) == strlen(s) && fputc('\n', f) != EOF;
    if (f && fclose(f)) ok = 0;
    free(s);
    return ok ? 0 : -1;
}

/* ---- tokenizer.json in ----------------------------------------------------- */

typedef struct {
    char *err;
    size_t errlen;
} Err;

__attribute__((format(printf, 2, 3))) static int fail(Err *e, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
    return -1;
}

/* NULL or absent: 1; JSON false/0/"": also acceptable where the setting is off. */
static int is_off(const json_t *v) {
    return !v || json_is_null(v) || json_is_false(v) ||
           (json_is_string(v) && !*json_string_value(v)) ||
           (json_is_number(v) && json_number_value(v) == 0);
}

static const char *type_of(const json_t *o) {
    const char *s = json_string_value(json_object_get(o, "type"));
    return s ? s : json_is_null(o) || !o ? "null" : "untyped";
}

static int read_options(Tokenizer *t, const json_t *root, Err *e) {
    const json_t *norm = json_object_get(root, "normalizer");
    if (!is_off(norm))
        return fail(e, "normalizer %s is not supported (byte-level BPE has none)", type_of(norm));
    const json_t *pre = json_object_get(root, "pre_tokenizer");
    if (strcmp(type_of(pre), "ByteLevel"))
        return fail(e, "pre_tokenizer is %s, not ByteLevel: not a byte-level BPE tokenizer",
                    type_of(pre));
    t->add_prefix_space = json_is_true(json_object_get(pre, "add_prefix_space"));
    t->trim_offsets = !json_is_false(json_object_get(pre, "trim_offsets"));
    t->use_regex = !json_is_false(json_object_get(pre, "use_regex"));
    const json_t *m = json_object_get(root, "model");
    if (!json_is_object(m)) return fail(e, "no \"model\" object");
    const char *type = json_string_value(json_object_get(m, "type"));
    if (type && strcmp(type, "BPE")) return fail(e, "model type is %s, not BPE", type);
    static const char *const off[] = {"dropout", "continuing_subword_prefix", "end_of_word_suffix",
                                      "ignore_merges"};
    for (size_t i = 0; i < sizeof off / sizeof *off; i++)
        if (!is_off(json_object_get(m, off[i])))
            return fail(e, "model.%s is set: not supported", off[i]);
    return 0;
}

static int read_vocab(Tokenizer *t, const json_t *vocab, Err *e) {
    if (!json_is_object(vocab)) return fail(e, "model has no \"vocab\" object");
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)vocab, key, v) {
        json_int_t id = json_is_integer(v) ? json_integer_value(v) : -1;
        if (id < 0 || id >= MAX_ID)
            return fail(e, "vocab entry \"%s\" has a bad id (want an integer in [0, %d))", key,
                        MAX_ID);
        tok_grow_ids(t, (int)id + 1);
        if (t->str[id])
            return fail(e, "vocab id %d is used by both \"%s\" and \"%s\"", (int)id, t->str[id],
                        key);
        tok_set_token(t, (int)id, key, strlen(key), 1);
    }
    return 0;
}

static int read_added(Tokenizer *t, const json_t *added, Err *e) {
    if (!added || json_is_null(added)) return 0;
    if (!json_is_array(added)) return fail(e, "\"added_tokens\" is not an array");
    size_t i;
    json_t *a;
    t->added = z_malloc((json_array_size(added) + 1) * sizeof *t->added, "added tokens");
    json_array_foreach((json_t *)added, i, a) {
        json_t *idv = json_object_get(a, "id");
        const char *c = json_string_value(json_object_get(a, "content"));
        json_int_t id = json_is_integer(idv) ? json_integer_value(idv) : -1;
        if (!c || id < 0 || id >= MAX_ID)
            return fail(e, "added_tokens[%zu] lacks a string \"content\" or a valid \"id\"", i);
        tok_grow_ids(t, (int)id + 1);
        if (!t->str[id])
            tok_set_token(t, (int)id, c, strlen(c), 0);
        else if (strcmp(t->str[id], c))
            return fail(e, "added token \"%s\" has id %d, which is \"%s\" in the vocab", c, (int)id,
                        t->str[id]);
        t->added[t->nadded++] = (Added){(int)id, json_is_true(json_object_get(a, "special")),
                                        json_is_true(json_object_get(a, "lstrip")),
                                        json_is_true(json_object_get(a, "rstrip")),
                                        json_is_true(json_object_get(a, "single_word"))};
    }
    return 0;
}

static int read_bytes(Tokenizer *t, Err *e) {
    for (int b = 0; b < 256; b++) {
        char c[2];
        int n = tok_put_utf8(tok_byte_to_cp(b), c);
        if ((t->byte_id[b] = tok_vocab_id(t, c, (size_t)n)) < 0)
            return fail(e, "the vocab lacks the symbol \"%.*s\" of byte 0x%02X", n, c, b);
    }
    return 0;
}

/* One merge: "a b" (exactly one space, as HF splits) or ["a", "b"]. */
static int merge_ids(Tokenizer *t, const char *a, const char *b, size_t i, Err *e) {
    size_t la = strlen(a), lb = strlen(b);
    int ia = tok_vocab_id(t, a, la), ib = tok_vocab_id(t, b, lb);
    if (ia < 0 || ib < 0)
        return fail(e, "merges[%zu] (\"%s\" \"%s\"): \"%s\" is not in the vocab", i, a, b,
                    ia < 0 ? a : b);
    char *ab = z_malloc(la + lb + 1, "merged token");
    memcpy(ab, a, la);
    memcpy(ab + la, b, lb);
    int id = tok_vocab_id(t, ab, la + lb);
    free(ab);
    if (id < 0)
        return fail(e, "merges[%zu] (\"%s\" \"%s\"): \"%s%s\" is not in the vocab", i, a, b, a, b);
    tok_add_merge_entry(t, ia, ib, id);
    return 0;
}

/* One merge: "a b" (exactly one space, as HF splits) or ["a", "b"]. */
static int read_merge(Tokenizer *t, const json_t *m, size_t i, Err *e) {
    if (json_is_array(m) && json_array_size(m) == 2 && json_is_string(json_array_get(m, 0)) &&
        json_is_string(json_array_get(m, 1)))
        return merge_ids(t, json_string_value(json_array_get(m, 0)),
                         json_string_value(json_array_get(m, 1)), i, e);
    if (!json_is_string(m)) return fail(e, "merges[%zu] is neither \"a b\" nor [\"a\", \"b\"]", i);
    char *s = z_strdup(json_string_value(m)), *sp = strchr(s, ' ');
    int rc = !sp || strchr(sp + 1, ' ')
                 ? fail(e, "merges[%zu] \"%s\" is not two tokens separated by one space", i, s)
                 : (*sp = 0, merge_ids(t, s, sp + 1, i, e));
    free(s);
    return rc;
}

static int read_merges(Tokenizer *t, const json_t *merges, Err *e) {
    if (!json_is_array(merges)) return fail(e, "model has no \"merges\" array");
    size_t i;
    json_t *m;
    json_array_foreach((json_t *)merges, i, m) if (read_merge(t, m, i, e)) return -1;
    return 0;
}

Tokenizer *tok_from_json(const char *json, size_t len, char *err, size_t errlen) {
    Err e = {err, errlen};
    json_error_t je;
    json_t *root = json_loadb(json, len, 0, &je);
    if (!root) {
        fail(&e, "not JSON: %s (line %d, column %d)", je.text, je.line, je.column);
        return NULL;
    }
    Tokenizer *t = tok_alloc();
    const json_t *m = json_object_get(root, "model");
    int bad = !json_is_object(root)
                  ? fail(&e, "not a tokenizer.json: the top level is not an object")
                  : read_options(t, root, &e);
    if (!bad) bad = read_vocab(t, json_object_get(m, "vocab"), &e);
    if (!bad) bad = read_added(t, json_object_get(root, "added_tokens"), &e);
    if (!bad) bad = read_bytes(t, &e);
    if (!bad) bad = read_merges(t, json_object_get(m, "merges"), &e);
    json_decref(root);
    if (bad) {
        tok_free(t);
        return NULL;
    }
    return t;
}

Tokenizer *tok_load(const char *path, char *err, size_t errlen) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return NULL;
    }
    size_t n = 0, cap = 1 << 16, got;
    char *buf = z_malloc(cap, "tokenizer file");
    while ((got = fread(buf + n, 1, cap - n, f)) > 0) {
        n += got;
        if (n == cap) {
            cap *= 2;
            char *p = realloc(buf, cap);
            if (!p) z_die("out of memory reading %s", path);
            buf = p;
        }
    }
    int rerr = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (rerr) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(rerr));
        free(buf);
        return NULL;
    }
    char inner[512];
    Tokenizer *t = tok_from_json(buf, n, inner, sizeof inner);
    free(buf);
    if (!t) snprintf(err, errlen, "%s: %s", path, inner);
    return t;
}
