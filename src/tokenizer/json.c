/*
 * json.c — tokenizer.json, Hugging Face's format, out and in: ours is
 * written so that `tokenizers` loads it as it is; an HF byte-level BPE file
 * (GPT-2, RoBERTa) is read with its options, vocabulary, added tokens and
 * merges (either string or pair form), a WordPiece one (BERT) with its
 * normalizer, model and decoder options.
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
                                           "rstrip", t->added[i].rstrip, "normalized",
                                           t->added[i].normalized, "special", t->added[i].special));
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

/* A post-processor framing one sequence as cls $A sep (and pairs as
 * cls $A sep $B sep) when the vocabulary has both tokens: [CLS]/[SEP], or
 * <s>/</s> for RoBERTa-style vocabularies; null otherwise. */
static json_t *template_json(const Tokenizer *t) {
    SpecialIds sp = tok_specials(t);
    json_t *post = json_null();
    if (sp.cls >= 0 && sp.sep >= 0) {
        const char *cls = t->str[sp.cls], *sep = t->str[sp.sep];
        post = json_pack(
            "{s:s,s:[{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}}],"
            "s:[{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}},{s:{s:s,s:i}}],"
            "s:{s:{s:s,s:[i],s:[s]},s:{s:s,s:[i],s:[s]}}}",
            "type", "TemplateProcessing", "single", "SpecialToken", "id", cls, "type_id", 0,
            "Sequence", "id", "A", "type_id", 0, "SpecialToken", "id", sep, "type_id", 0, "pair",
            "SpecialToken", "id", cls, "type_id", 0, "Sequence", "id", "A", "type_id", 0,
            "SpecialToken", "id", sep, "type_id", 0, "Sequence", "id", "B", "type_id", 1,
            "SpecialToken", "id", sep, "type_id", 1, "special_tokens", cls, "id", cls, "ids",
            sp.cls, "tokens", cls, sep, "id", sep, "ids", sp.sep, "tokens", sep);
    }
    return post;
}

/* BERT's tokenizer.json: BertNormalizer, BertPreTokenizer, [CLS] $A [SEP]
 * (and pairs) when both tokens exist, WordPiece model and decoder. */
static json_t *wordpiece_json(const Tokenizer *t, json_t *added) {
    const WordPiece *w = &t->wp;
    json_t *vocab = json_object();
    for (int i = 0; i < t->ntok; i++)
        if (t->in_vocab[i]) json_object_set_new(vocab, t->str[i], json_integer(i));
    json_t *post = template_json(t);
    json_t *strip = w->strip_accents < 0 ? json_null() : json_boolean(w->strip_accents);
    json_t *dec = w->decoder ? json_pack("{s:s,s:s,s:b}", "type", "WordPiece", "prefix",
                                         w->dec_prefix, "cleanup", w->cleanup)
                             : json_null();
    return json_pack("{s:s,s:n,s:n,s:o,s:{s:s,s:b,s:b,s:o,s:b},s:{s:s},s:o,s:o,"
                     "s:{s:s,s:s,s:s,s:i,s:o}}",
                     "version", "1.0", "truncation", "padding", "added_tokens", added, "normalizer",
                     "type", "BertNormalizer", "clean_text", w->clean_text, "handle_chinese_chars",
                     w->handle_chinese, "strip_accents", strip, "lowercase", w->lowercase,
                     "pre_tokenizer", "type", "BertPreTokenizer", "post_processor", post, "decoder",
                     dec, "model", "type", "WordPiece", "unk_token",
                     w->unk >= 0 ? t->str[w->unk] : "[UNK]", "continuing_subword_prefix", w->prefix,
                     "max_input_chars_per_word", w->max_chars, "vocab", vocab);
}

/* framed: byte-level BPE gets the cls $A sep post-processor too (the
 * framing an encoder's export needs; a decoder's takes none) */
static char *to_json(const Tokenizer *t, int framed) {
    json_t *root = t->kind == TOK_WORDPIECE
                       ? wordpiece_json(t, added_json(t))
                       : json_pack("{s:s,s:n,s:n,s:o,s:n,s:o,s:o,s:o,s:o}", "version", "1.0",
                                   "truncation", "padding", "added_tokens", added_json(t),
                                   "normalizer", "pre_tokenizer", byte_level_json(t),
                                   "post_processor", framed ? template_json(t) : json_null(),
                                   "decoder", byte_level_json(t), "model", model_json(t));
    if (!root) z_die("tokenizer: cannot build the JSON document");
    char *s = json_dumps(root, JSON_INDENT(2));
    json_decref(root);
    if (!s) z_die("tokenizer: cannot serialize the JSON document");
    return s;
}

char *tok_to_json(const Tokenizer *t) {
    return to_json(t, 0);
}

const char *tok_kind(const Tokenizer *t) {
    return t->kind == TOK_WORDPIECE ? "wordpiece" : "bpe";
}

static int save(const Tokenizer *t, const char *path, int framed) {
    char *s = to_json(t, framed);
    FILE *f = fopen(path, "wb");
    int ok = f && fwrite(s, 1, strlen(s), f) == strlen(s) && fputc('\n', f) != EOF;
    if (f && fclose(f)) ok = 0;
    free(s);
    return ok ? 0 : -1;
}

int tok_save(const Tokenizer *t, const char *path) {
    return save(t, path, 0);
}

/* tokenizer_config.json / special_tokens_map.json: the special tokens by
 * their role, as transformers' save_pretrained writes them */
static json_t *specials_json(const Tokenizer *t) {
    SpecialIds sp = tok_specials(t);
    const char *role[] = {"unk_token",  "pad_token", "cls_token", "sep_token",
                          "mask_token", "bos_token", "eos_token"};
    int id[] = {sp.unk, sp.pad, sp.cls, sp.sep, sp.mask, sp.bos, sp.eos};
    json_t *o = json_object();
    for (int i = 0; i < 7; i++)
        if (id[i] >= 0) json_object_set_new(o, role[i], json_string(t->str[id[i]]));
    return o;
}

static int dump(json_t *j, const char *dir, const char *name, char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    int rc = json_dump_file(j, path, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    json_decref(j);
    return rc ? z_fail(err, errlen, "%s: cannot write", path) : 0;
}

int tok_save_pretrained(const Tokenizer *t, const char *dir, int model_max_length, int framed,
                        char *err, size_t errlen) {
    char path[4096];
    snprintf(path, sizeof path, "%s/tokenizer.json", dir);
    if (save(t, path, framed)) return z_fail(err, errlen, "%s: cannot write", path);
    json_t *cfg = specials_json(t);
    json_object_set_new(cfg, "tokenizer_class", json_string("PreTrainedTokenizerFast"));
    json_object_set_new(cfg, "model_max_length", json_integer(model_max_length));
    json_object_set_new(cfg, "clean_up_tokenization_spaces", json_false());
    if (t->kind == TOK_WORDPIECE)
        json_object_set_new(cfg, "do_lower_case", json_boolean(t->wp.lowercase));
    if (dump(cfg, dir, "tokenizer_config.json", err, errlen)) return -1;
    return dump(specials_json(t), dir, "special_tokens_map.json", err, errlen);
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

static int read_bpe_options(Tokenizer *t, const json_t *root, Err *e) {
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
    static const char *const off[] = {"dropout", "continuing_subword_prefix", "end_of_word_suffix",
                                      "ignore_merges"};
    for (size_t i = 0; i < sizeof off / sizeof *off; i++)
        if (!is_off(json_object_get(m, off[i])))
            return fail(e, "model.%s is set: not supported", off[i]);
    return 0;
}

/* A boolean option; absent or null gives def. */
static int opt_bool(const json_t *o, const char *key, int def, int *out, Err *e) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return *out = def, 0;
    if (!json_is_boolean(v)) return fail(e, "%s.%s is not true or false", type_of(o), key);
    return *out = json_is_true(v), 0;
}

static int opt_prefix(const json_t *o, const char *key, char *dst, size_t n, Err *e) {
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v)) return 0;
    if (!json_is_string(v) || strlen(json_string_value(v)) >= n)
        return fail(e, "%s.%s is not a string of at most %zu bytes", type_of(o), key, n - 1);
    snprintf(dst, n, "%s", json_string_value(v));
    return 0;
}

/* BERT's pipeline; anything else around a WordPiece model is refused. */
static int read_wordpiece_options(Tokenizer *t, const json_t *root, Err *e) {
    WordPiece *w = &t->wp;
    tok_wp_defaults(w);
    t->kind = TOK_WORDPIECE;
    const json_t *norm = json_object_get(root, "normalizer");
    if (!norm || json_is_null(norm)) {
        w->clean_text = w->handle_chinese = w->lowercase = w->strip_accents = 0;
    } else if (!strcmp(type_of(norm), "BertNormalizer")) {
        if (opt_bool(norm, "clean_text", 1, &w->clean_text, e) ||
            opt_bool(norm, "handle_chinese_chars", 1, &w->handle_chinese, e) ||
            opt_bool(norm, "lowercase", 1, &w->lowercase, e) ||
            opt_bool(norm, "strip_accents", -1, &w->strip_accents, e))
            return -1;
    } else {
        return fail(e, "normalizer %s is not supported with a WordPiece model (BertNormalizer)",
                    type_of(norm));
    }
    const json_t *pre = json_object_get(root, "pre_tokenizer");
    if (strcmp(type_of(pre), "BertPreTokenizer"))
        return fail(e,
                    "pre_tokenizer %s is not supported with a WordPiece model "
                    "(BertPreTokenizer)",
                    type_of(pre));
    const json_t *dec = json_object_get(root, "decoder");
    if (!dec || json_is_null(dec)) {
        w->decoder = 0;
    } else if (!strcmp(type_of(dec), "WordPiece")) {
        if (opt_prefix(dec, "prefix", w->dec_prefix, sizeof w->dec_prefix, e) ||
            opt_bool(dec, "cleanup", 1, &w->cleanup, e))
            return -1;
    } else {
        return fail(e, "decoder %s is not supported with a WordPiece model", type_of(dec));
    }
    const json_t *m = json_object_get(root, "model");
    if (opt_prefix(m, "continuing_subword_prefix", w->prefix, sizeof w->prefix, e)) return -1;
    const json_t *mc = json_object_get(m, "max_input_chars_per_word");
    if (mc && !json_is_null(mc)) {
        if (!json_is_integer(mc) || json_integer_value(mc) < 0 || json_integer_value(mc) > 1000000)
            return fail(e, "model.max_input_chars_per_word is not a count");
        w->max_chars = (int)json_integer_value(mc);
    }
    return 0;
}

static int read_options(Tokenizer *t, const json_t *root, Err *e) {
    const json_t *m = json_object_get(root, "model");
    if (!json_is_object(m)) return fail(e, "no \"model\" object");
    const char *type = json_string_value(json_object_get(m, "type"));
    if (type && !strcmp(type, "WordPiece")) return read_wordpiece_options(t, root, e);
    if (type && strcmp(type, "BPE"))
        return fail(e,
                    "model type is %s: only BPE (GPT-2, RoBERTa) and WordPiece (BERT) are "
                    "supported",
                    type);
    return read_bpe_options(t, root, e);
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
        /* normalized only matters where there is a normalizer (WordPiece) */
        t->added[t->nadded++] =
            (Added){(int)id,
                    json_is_true(json_object_get(a, "special")),
                    json_is_true(json_object_get(a, "lstrip")),
                    json_is_true(json_object_get(a, "rstrip")),
                    json_is_true(json_object_get(a, "single_word")),
                    t->kind == TOK_WORDPIECE && json_is_true(json_object_get(a, "normalized")),
                    NULL,
                    0};
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
    if (!bad && t->kind == TOK_WORDPIECE) {
        const char *unk = json_string_value(json_object_get(m, "unk_token"));
        bad = tok_wp_finish(t, unk ? unk : "[UNK]", err, errlen);
    } else if (!bad) {
        bad = read_bytes(t, &e);
        if (!bad) bad = read_merges(t, json_object_get(m, "merges"), &e);
    }
    json_decref(root);
    if (bad) {
        tok_free(t);
        return NULL;
    }
    return t;
}

/* The whole file (malloc'd, NUL-terminated, its length in *n), or NULL with
 * errno's code in *code. */
static char *slurp(const char *path, size_t *n, int *code) {
    FILE *f = fopen(path, "rb");
    if (!f) {
        *code = -errno; /* negative: cannot open */
        return NULL;
    }
    size_t cap = 1 << 16, got;
    char *buf = z_malloc(cap + 1, "tokenizer file");
    *n = 0;
    while ((got = fread(buf + *n, 1, cap - *n, f)) > 0) {
        *n += got;
        if (*n == cap) {
            cap *= 2;
            char *p = realloc(buf, cap + 1);
            if (!p) z_die("out of memory reading %s", path);
            buf = p;
        }
    }
    int rerr = ferror(f) ? (errno ? errno : EIO) : 0;
    fclose(f);
    if (rerr) {
        free(buf);
        *code = rerr;
        return NULL;
    }
    buf[*n] = 0;
    return buf;
}

Tokenizer *tok_load(const char *path, char *err, size_t errlen) {
    size_t n;
    int code;
    char *buf = slurp(path, &n, &code);
    if (!buf) {
        snprintf(err, errlen, "cannot %s %s: %s", code < 0 ? "open" : "read", path,
                 strerror(code < 0 ? -code : code));
        return NULL;
    }
    char inner[512];
    size_t i = 0;
    while (i < n && (buf[i] == ' ' || buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\t')) i++;
    Tokenizer *t;
    size_t pl = strlen(path);
    if ((i < n && buf[i] == '{') || (pl >= 5 && !strcmp(path + pl - 5, ".json"))) {
        t = tok_from_json(buf, n, inner, sizeof inner);
    } else { /* vocab.txt, with the tokenizer_config.json of its folder */
        char cpath[4096];
        const char *slash = strrchr(path, '/');
        snprintf(cpath, sizeof cpath, "%.*stokenizer_config.json",
                 slash ? (int)(slash - path + 1) : 0, path);
        size_t cn;
        char *cfg = slurp(cpath, &cn, &code);
        t = tok_wp_from_vocab_txt(buf, n, cfg, inner, sizeof inner);
        free(cfg);
    }
    free(buf);
    if (!t) snprintf(err, errlen, "%s: %s", path, inner);
    return t;
}
