/*
 * config.c — the key table and the INI reader (libinih) behind config.h.
 */
#include "config.h"

#include "../mpi/err.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef enum { T_INT, T_REAL, T_BOOL, T_ENUM } KeyType;

typedef struct {
    const char *section, *key;
    KeyType type;
    size_t off;          /* offset of the field in Config */
    const char *def;     /* default, as text */
    double lo, hi;       /* inclusive range for numbers */
    const char *choices; /* T_ENUM: "a|b|c", value is the index */
    const char *help;
} KeyDef;

#define M(field) offsetof(Config, model.field)
static const KeyDef KEYS[] = {
    {"model", "arch", T_ENUM, M(arch), "encoder", 0, 0, "encoder|decoder",
     "encoder: BERT-style masked LM; decoder: GPT-style causal LM"},
    {"model", "vocab_size", T_INT, M(vocab_size), "30522", 1, INT_MAX, NULL, "vocabulary size V"},
    {"model", "max_positions", T_INT, M(max_positions), "512", 1, 1 << 20, NULL,
     "rows of the learned position table (longest sequence)"},
    {"model", "type_vocab_size", T_INT, M(type_vocab_size), "2", 0, 1 << 16, NULL,
     "segment embedding rows (encoder; 0 = none)"},
    {"model", "layers", T_INT, M(layers), "12", 1, 100000, NULL, "transformer blocks L"},
    {"model", "width", T_INT, M(width), "768", 1, 1 << 20, NULL, "hidden width C"},
    {"model", "heads", T_INT, M(heads), "12", 1, 1 << 16, NULL, "attention heads (divide width)"},
    {"model", "ffn", T_INT, M(ffn), "0", 0, 1 << 22, NULL, "FFN width F (0 = 4 x width)"},
    {"model", "norm", T_ENUM, M(norm), "post", 0, 0, "post|pre",
     "LayerNorm placement: post (BERT) or pre (GPT-2; adds a final norm)"},
    {"model", "tied", T_BOOL, M(tied), "true", 0, 1, NULL,
     "output head shares the token embedding"},
    {"model", "gelu", T_ENUM, M(gelu), "erf", 0, 0, "tanh|erf", "GELU form"},
    {"model", "dropout", T_REAL, M(dropout), "0.1", 0, 0.999, NULL, "hidden dropout"},
    {"model", "attn_dropout", T_REAL, M(attn_dropout), "0.1", 0, 0.999, NULL,
     "dropout on attention probabilities"},
    {"model", "ln_eps", T_REAL, M(ln_eps), "1e-12", 1e-30, 1, NULL, "LayerNorm epsilon"},
    {"model", "init_std", T_REAL, M(init_std), "0.02", 0, 10, NULL, "std of weight init"},
    {"model", "init_scaled", T_BOOL, M(init_scaled), "false", 0, 1, NULL,
     "scale output projections by 1/sqrt(2L)"},
};
#undef M
#define NKEYS (sizeof KEYS / sizeof KEYS[0])

static const KeyDef *find_key(const char *section, const char *key) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section) && !strcmp(KEYS[i].key, key)) return &KEYS[i];
    return NULL;
}

static int section_known(const char *section) {
    for (size_t i = 0; i < NKEYS; i++)
        if (!strcmp(KEYS[i].section, section)) return 1;
    return 0;
}

#define BAD(...) z_die_all(__VA_ARGS__)

static void set_value(Config *c, const KeyDef *k, const char *value, const char *src) {
    char *end;
    void *field = (char *)c + k->off;
    while (*value == ' ' || *value == '\t') value++;
    switch (k->type) {
    case T_INT: {
        errno = 0;
        long long v = strtoll(value, &end, 10);
        while (*end == ' ' || *end == '\t') end++;
        if (!*value || *end || errno)
            BAD("%s: [%s] %s = %s: not an integer", src, k->section, k->key, value);
        if (v < (long long)k->lo || v > (long long)k->hi)
            BAD("%s: [%s] %s = %s: must be in [%.0f, %.0f]", src, k->section, k->key, value, k->lo,
                k->hi);
        *(int *)field = (int)v;
        break;
    }
    case T_REAL: {
        errno = 0;
        double v = strtod(value, &end);
        while (*end == ' ' || *end == '\t') end++;
        if (!*value || *end || errno || !isfinite(v))
            BAD("%s: [%s] %s = %s: not a number", src, k->section, k->key, value);
        if (v < k->lo || v > k->hi)
            BAD("%s: [%s] %s = %s: must be in [%g, %g]", src, k->section, k->key, value, k->lo,
                k->hi);
        *(double *)field = v;
        break;
    }
    case T_BOOL:
        if (!strcmp(value, "true") || !strcmp(value, "1") || !strcmp(value, "yes"))
            *(int *)field = 1;
        else if (!strcmp(value, "false") || !strcmp(value, "0") || !strcmp(value, "no"))
            *(int *)field = 0;
        else
            BAD("%s: [%s] %s = %s: expected true or false", src, k->section, k->key, value);
        break;
    case T_ENUM: {
        const char *p = k->choices;
        size_t vl = strlen(value);
        for (int idx = 0; *p; idx++) {
            const char *bar = strchr(p, '|');
            size_t n = bar ? (size_t)(bar - p) : strlen(p);
            if (n == vl && !strncmp(p, value, n)) {
                *(int *)field = idx;
                return;
            }
            p += n + (bar ? 1 : 0);
        }
        BAD("%s: [%s] %s = %s: expected one of %s", src, k->section, k->key, value, k->choices);
    }
    }
}

static void set_key(Config *c, const char *section, const char *key, const char *value,
                    const char *src) {
    const KeyDef *k = find_key(section, key);
    if (!k) {
        if (!section_known(section))
            BAD("%s: unknown section [%s] (key %s = %s)", src, section, key, value);
        BAD("%s: unknown key [%s] %s = %s", src, section, key, value);
    }
    set_value(c, k, value, src);
}

void config_defaults(Config *c) {
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++) set_value(c, &KEYS[i], KEYS[i].def, "defaults");
}

typedef struct {
    Config *c;
    const char *path;
    int depth;
} LoadCtx;

static void load_depth(Config *c, const char *path, int depth);

static int on_ini(void *user, const char *section, const char *name, const char *value) {
    LoadCtx *x = user;
    if (!*section && !strcmp(name, "include")) {
        char inc[4096];
        const char *slash = strrchr(x->path, '/');
        if (value[0] == '/' || !slash)
            snprintf(inc, sizeof inc, "%s", value);
        else
            snprintf(inc, sizeof inc, "%.*s/%s", (int)(slash - x->path), x->path, value);
        load_depth(x->c, inc, x->depth + 1);
        return 1;
    }
    if (!*section) return 0; /* inih reports the line: a key outside any [section] */
    set_key(x->c, section, name, value, x->path);
    return 1;
}

static void load_depth(Config *c, const char *path, int depth) {
    if (depth > 8) BAD("%s: include nesting deeper than 8", path);
    FILE *f = fopen(path, "r");
    if (!f) BAD("%s: cannot open config file: %s", path, strerror(errno));
    LoadCtx x = {c, path, depth};
    int rc = ini_parse_file(f, on_ini, &x);
    fclose(f);
    if (rc > 0)
        BAD("%s: line %d: not valid INI (a malformed line, or a key outside any [section])", path,
            rc);
    if (rc < 0) BAD("%s: cannot read config file", path);
}

void config_load(Config *c, const char *path) {
    load_depth(c, path, 0);
}

int config_override(Config *c, const char *arg) {
    const char *eq = strchr(arg, '=');
    if (!eq) return 0;
    const char *dot = memchr(arg, '.', (size_t)(eq - arg));
    if (!dot) BAD("command line: override %s: expected section.key=value", arg);
    char section[128], key[128];
    snprintf(section, sizeof section, "%.*s", (int)(dot - arg), arg);
    snprintf(key, sizeof key, "%.*s", (int)(eq - dot - 1), dot + 1);
    set_key(c, section, key, eq + 1, "command line");
    return 1;
}

void config_finish(Config *c, const char *src) {
    ModelConfig *m = &c->model;
    if (m->ffn == 0) m->ffn = 4 * m->width;
    if (m->width % m->heads)
        BAD("%s: [model] heads = %d does not divide width = %d", src, m->heads, m->width);
    if (m->arch == ARCH_DECODER && m->type_vocab_size > 0) m->type_vocab_size = 0;
}

static void format_value(const Config *c, const KeyDef *k, char *out, size_t n) {
    const void *field = (const char *)c + k->off;
    switch (k->type) {
    case T_INT:
        snprintf(out, n, "%d", *(const int *)field);
        break;
    case T_REAL:
        snprintf(out, n, "%.17g", *(const double *)field);
        break;
    case T_BOOL:
        snprintf(out, n, "%s", *(const int *)field ? "true" : "false");
        break;
    case T_ENUM: {
        int idx = *(const int *)field;
        const char *p = k->choices;
        for (int i = 0; i < idx && strchr(p, '|'); i++) p = strchr(p, '|') + 1;
        const char *bar = strchr(p, '|');
        snprintf(out, n, "%.*s", (int)(bar ? (size_t)(bar - p) : strlen(p)), p);
        break;
    }
    }
}

char *config_format(const Config *c) {
    size_t cap = 1 << 14, len = 0;
    char *buf = z_malloc(cap, "config text");
    const char *cur = "";
    for (size_t i = 0; i < NKEYS; i++) {
        char v[256];
        format_value(c, &KEYS[i], v, sizeof v);
        if (cap - len < 1024) buf = realloc(buf, cap *= 2);
        if (!buf) z_die("out of memory formatting config");
        if (strcmp(cur, KEYS[i].section)) {
            cur = KEYS[i].section;
            len += snprintf(buf + len, cap - len, "%s[%s]\n", len ? "\n" : "", cur);
        }
        len += snprintf(buf + len, cap - len, "%s = %s\n", KEYS[i].key, v);
    }
    return buf;
}

void config_print_keys(void) {
    for (size_t i = 0; i < NKEYS; i++)
        printf("%s.%-18s %-8s default %-10s %s%s%s\n", KEYS[i].section, KEYS[i].key,
               KEYS[i].type == T_INT    ? "int"
               : KEYS[i].type == T_REAL ? "real"
               : KEYS[i].type == T_BOOL ? "bool"
                                        : "choice",
               KEYS[i].def, KEYS[i].help, KEYS[i].choices ? " — " : "",
               KEYS[i].choices ? KEYS[i].choices : "");
}
