/*
 * campaign.c — a campaign file into points and allocations (campaign.h).
 *
 * A point's Config: defaults, the model's file, the recipe, the model's
 * section, the campaign's `set`, the corpus, the learning rate (min_lr
 * scaled with it), the steps of the budget, the point's own section, and
 * run.dir. The allocation walks rank counts upwards and, at each, stages
 * 0..3 and micro-batches from the largest divisor of the per-rank batch
 * down, asking plan_memory whether rank 0's bytes fit the device.
 */
#include "campaign.h"

#include "geometry.h"

#include "mpi/err.h"

#include <errno.h>
#include <ini.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAX_LIST 64

/* The file's entries in order (sections and keys as written). */
typedef struct {
    char section[CAMPAIGN_NAME + 8], key[64], value[1024];
} Entry;

typedef struct {
    Entry *e;
    int n, cap;
} Entries;

static int on_entry(void *user, const char *section, const char *key, const char *value) {
    Entries *x = user;
    if (x->n == x->cap) {
        x->cap = x->cap ? 2 * x->cap : 64;
        x->e = realloc(x->e, (size_t)x->cap * sizeof *x->e);
        if (!x->e) z_die_all("sweep: out of memory");
    }
    Entry *e = &x->e[x->n++];
    snprintf(e->section, sizeof e->section, "%s", section);
    snprintf(e->key, sizeof e->key, "%s", key);
    snprintf(e->value, sizeof e->value, "%s", value);
    return 1;
}

static const char *get(const Entries *x, const char *section, const char *key) {
    const char *v = NULL;
    for (int i = 0; i < x->n; i++)
        if (!strcmp(x->e[i].section, section) && !strcmp(x->e[i].key, key)) v = x->e[i].value;
    return v;
}

/* whitespace-separated words of s into w (at most MAX_LIST) */
static int split(char *s, char **w) {
    int n = 0;
    for (char *t = strtok(s, " \t,"); t && n < MAX_LIST; t = strtok(NULL, " \t,")) w[n++] = t;
    return n;
}

static double real_of(const char *file, const char *what, const char *s, double lo, double hi) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v) || v < lo || v > hi)
        z_die_all("sweep: %s: %s = '%s': not a number in [%g, %g]", file, what, s, lo, hi);
    return v;
}

/* a path as written in the campaign file, relative to the file's folder */
static void beside(char *out, size_t n, const char *file, const char *p) {
    const char *slash = strrchr(file, '/');
    if (p[0] == '/' || !slash)
        snprintf(out, n, "%s", p);
    else
        snprintf(out, n, "%.*s/%s", (int)(slash - file), file, p);
}

/* Slurm's time formats: M, M:S, H:M:S, D-H, D-H:M, D-H:M:S; −1: not one */
static long slurm_seconds(const char *s) {
    long d = 0, a[3];
    int n = 0;
    const char *p = s, *dash = strchr(s, '-');
    char *end;
    if (dash) {
        d = strtol(s, &end, 10);
        if (end != dash || end == s) return -1;
        p = dash + 1;
    }
    while (*p && n < 3) {
        if (*p < '0' || *p > '9') return -1;
        a[n++] = strtol(p, &end, 10);
        p = end;
        if (*p == ':')
            p++;
        else if (*p)
            return -1;
    }
    if (*p || !n) return -1;
    if (dash) { /* D-H, D-H:M, D-H:M:S */
        long h = a[0], m = n > 1 ? a[1] : 0, sec = n > 2 ? a[2] : 0;
        if (m > 59 || sec > 59) return -1;
        return ((d * 24 + h) * 60 + m) * 60 + sec;
    }
    if (n == 1) return a[0] * 60;                         /* M */
    if (n == 2) return a[1] > 59 ? -1 : a[0] * 60 + a[1]; /* M:S */
    if (a[1] > 59 || a[2] > 59) return -1;
    return (a[0] * 60 + a[1]) * 60 + a[2]; /* H:M:S */
}

/* 0.002 -> "2e-3", 0.0015 -> "1.5e-3" */
static void lr_text(char *out, size_t n, double lr) {
    char m[16];
    int e = (int)floor(log10(lr) + 1e-9);
    snprintf(m, sizeof m, "%.3g", lr / pow(10, e));
    if (!strcmp(m, "10")) snprintf(m, sizeof m, "1"), e++;
    e = e < -99 ? -99 : e > 99 ? 99 : e;
    snprintf(out, n, "%se%d", m, e);
}

int beside_binary(char *out, size_t n, const char *rel) {
    char exe[CAMPAIGN_PATH];
    ssize_t l = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (l <= 0) return 0;
    exe[l] = 0;
    for (int k = 0; k < 2; k++) { /* <root>/build/zeropt -> <root> */
        char *s = strrchr(exe, '/');
        if (s) *s = 0;
    }
    int w = snprintf(out, n, "%s/%s", exe, rel);
    return w > 0 && (size_t)w < n && access(out, R_OK) == 0;
}

/* ------------------------------------------------------------------------- */
/* models                                                                     */

/* The file of a named model: a path (containing '/' or ending in .ini,
 * relative to the campaign file), else NAME.ini in the campaign file's
 * ../model/, in configs/model/, or in the binary's ../configs/model/. */
static int model_file(char *out, size_t n, const char *file, const char *name) {
    size_t len = strlen(name);
    if (strchr(name, '/') || (len > 4 && !strcmp(name + len - 4, ".ini"))) {
        beside(out, n, file, name);
        return access(out, R_OK) == 0;
    }
    char rel[CAMPAIGN_NAME + 32];
    snprintf(rel, sizeof rel, "../model/%s.ini", name);
    beside(out, n, file, rel);
    if (!access(out, R_OK)) return 1;
    snprintf(out, n, "configs/model/%s.ini", name);
    if (!access(out, R_OK)) return 1;
    snprintf(rel, sizeof rel, "configs/model/%s.ini", name);
    return beside_binary(out, n, rel);
}

/* key (section.key, or a [model] key) = value, as the campaign file's
 * [where] section gives it: errors name the file and the section */
static void override(Config *c, const char *file, const char *where, const char *key,
                     const char *value) {
    const char *dot = strchr(key, '.');
    char text[1400], src[CAMPAIGN_PATH + CAMPAIGN_NAME + 16];
    if (dot)
        snprintf(text, sizeof text, "[%.*s]\n%s = %s\n", (int)(dot - key), key, dot + 1, value);
    else
        snprintf(text, sizeof text, "[model]\n%s = %s\n", key, value);
    snprintf(src, sizeof src, "%s [%s]", file, where);
    config_load_string(c, text, src);
}

/* the model shape a recipe must not change */
static int shape_differs(const ModelConfig *a, const ModelConfig *b, const char **what) {
    *what = a->layers != b->layers ? "layers"
            : a->width != b->width ? "width"
            : a->heads != b->heads ? "heads"
            : a->ffn != b->ffn     ? "ffn"
                                   : NULL;
    return *what != NULL;
}

/* defaults, the model's file, the recipe, the model's section */
static void model_config(Config *c, const Campaign *k, const Entries *x, const char *name) {
    char sec[CAMPAIGN_NAME + 8], path[CAMPAIGN_PATH + CAMPAIGN_NAME + 32];
    snprintf(sec, sizeof sec, "model.%s", name);
    int has_section = 0;
    for (int i = 0; i < x->n; i++) has_section |= !strcmp(x->e[i].section, sec);
    /* base: the section's, else the model file of the same name; a section
     * without either describes its model from the defaults */
    const char *base = has_section ? get(x, sec, "base") : name;
    if (!base && model_file(path, sizeof path, k->path, name)) base = name;
    config_defaults(c);
    if (base) {
        if (!model_file(path, sizeof path, k->path, base))
            z_die_all("sweep: %s: unknown model '%s' (no [model.%s] section, no %s.ini in "
                      "configs/model/)",
                      k->path, base, name, base);
        config_load(c, path);
    }
    if (k->recipe[0]) {
        ModelConfig before = c->model;
        config_load(c, k->recipe);
        const char *what;
        if (shape_differs(&before, &c->model, &what))
            z_die_all("sweep: %s: recipe %s sets [model] %s, which would give every size the same "
                      "shape; leave the shape to the campaign's models",
                      k->path, k->recipe, what);
    }
    for (int i = 0; i < x->n; i++) {
        const Entry *e = &x->e[i];
        if (strcmp(e->section, sec) || !strcmp(e->key, "base") || !strcmp(e->key, "lr")) continue;
        override(c, k->path, sec, e->key, e->value);
    }
}

/* ------------------------------------------------------------------------- */
/* allocation                                                                 */

static int try_alloc(Point *p, const Campaign *k, int ranks) {
    const Config *c = &p->cfg;
    int gb = c->train.global_batch, T = c->data.seq_len;
    if (gb % ranks) return 0;
    int per = gb / ranks;
    PlanBytes b = plan_geo_bytes(k->precision, c);
    double dev = k->device_gib * 1073741824.0;
    for (int stage = 0; stage <= 3; stage++) {
        for (int micro = per; micro >= 1; micro--) {
            if (per % micro || (k->max_micro && micro > k->max_micro)) continue;
            PlanGeo g;
            plan_geo_model(&g, c, ranks, micro, T, per / micro, c->train.recompute,
                           c->data.mask_rate);
            PlanMem m = plan_memory(&g.pm, stage, ranks, &b);
            if (m.total <= dev) {
                p->ranks = ranks, p->stage = stage, p->micro = micro, p->accum = per / micro;
                p->nodes = ranks <= k->devices_per_node ? 1 : ranks / k->devices_per_node;
                p->per_node = ranks / p->nodes;
                p->mem_bytes = m.total, p->device_bytes = dev;
                p->compute_s = p->comm_s = p->step_s = p->hours = p->device_hours = 0;
                if (k->device_tflops > 0) {
                    PlanTime t = plan_time(&g.pm, &m, k->device_tflops * 1e12 * k->efficiency,
                                           k->link_gbps * 1e9 / 8, k->link_us * 1e-6);
                    p->compute_s = t.compute_s * p->accum;
                    p->comm_s = ranks > 1 ? t.comm_s : 0;
                    p->step_s = fmax(p->compute_s, p->comm_s); /* overlapped */
                    p->hours = p->step_s * (double)p->steps / 3600;
                    p->device_hours = p->hours * ranks;
                }
                plan_geo_free(&g);
                return 1;
            }
            plan_geo_free(&g);
        }
    }
    return 0;
}

/* the smallest rank count that fits (then more nodes for target_hours) */
static void allocate(Point *p, const Campaign *k) {
    int cand[4096], nc = 0;
    for (int r = 1; r <= k->devices_per_node; r++)
        if (k->devices_per_node % r == 0) cand[nc++] = r;
    for (int n = 2; n <= k->max_nodes && nc < 4096; n++) cand[nc++] = n * k->devices_per_node;
    /* the first that fits (and meets target_hours); when none meets it,
     * the fastest (past some size communication grows faster than compute
     * shrinks) */
    int found = 0, met = 0;
    Point best = *p;
    for (int i = 0; i < nc; i++) {
        if (!try_alloc(p, k, cand[i])) continue;
        met = !(k->target_hours > 0) || p->hours <= k->target_hours;
        if (!found || met || p->hours < best.hours) best = *p;
        found = 1;
        if (met) break;
    }
    if (!found) {
        /* what the largest allocation would need, for the message */
        int R = k->max_nodes * k->devices_per_node;
        PlanGeo g;
        plan_geo_model(&g, &p->cfg, R, 1, p->cfg.data.seq_len, 1, p->cfg.train.recompute,
                       p->cfg.data.mask_rate);
        PlanBytes b = plan_geo_bytes(k->precision, &p->cfg);
        PlanMem m = plan_memory(&g.pm, 3, R, &b);
        plan_geo_free(&g);
        z_die_all("sweep: %s: point %s: no allocation fits %g GiB per device up to %d node%s x %d "
                  "(stage 3, micro-batch 1 at %d ranks needs %.3g GiB per rank; global batch %d)",
                  k->path, p->name, k->device_gib, k->max_nodes, k->max_nodes == 1 ? "" : "s",
                  k->devices_per_node, R, m.total / 1073741824.0, p->cfg.train.global_batch);
    }
    *p = best;
    p->over_target = k->target_hours > 0 && p->hours > k->target_hours;
}

/* ------------------------------------------------------------------------- */
/* the file                                                                   */

static const char *const CAMPAIGN_KEYS[] = {"name",    "dir", "recipe", "corpus", "models",
                                            "budgets", "lr",  "set",    "params", NULL};
static const char *const MACHINE_KEYS[] = {
    "devices_per_node", "max_nodes", "device_gib",   "device_tflops", "efficiency",     "link_gbps",
    "link_us",          "precision", "target_hours", "max_micro",     "cores_per_node", NULL};
static const char *const SLURM_KEYS[] = {"partition",     "account", "time",   "gpus_per_task",
                                         "cpus_per_task", "extra",   "script", NULL};

static int listed(const char *const *keys, const char *k) {
    for (int i = 0; keys[i]; i++)
        if (!strcmp(keys[i], k)) return 1;
    return 0;
}

static void check_keys(const Campaign *k, const Entries *x) {
    for (int i = 0; i < x->n; i++) {
        const Entry *e = &x->e[i];
        const char *s = e->section;
        int ok = !strcmp(s, "campaign")  ? listed(CAMPAIGN_KEYS, e->key)
                 : !strcmp(s, "machine") ? listed(MACHINE_KEYS, e->key)
                 : !strcmp(s, "slurm")   ? listed(SLURM_KEYS, e->key)
                 : !strncmp(s, "model.", 6) || !strncmp(s, "point.", 6) ? 1
                                                                        : -1;
        if (ok < 0)
            z_die_all("sweep: %s: unknown section [%s] (campaign, machine, slurm, model.NAME, "
                      "point.NAME)",
                      k->path, s);
        if (!ok) z_die_all("sweep: %s: unknown key %s in [%s]", k->path, e->key, s);
    }
}

static void read_machine(Campaign *k, const Entries *x, const Config *recipe) {
    const char *v;
    const char *f = k->path;
    k->devices_per_node = 1, k->max_nodes = 1, k->device_gib = 80, k->efficiency = 0.5;
    k->link_gbps = 100, k->link_us = 5;
    k->precision = recipe->train.precision == DT_BF16 ? PREC_BF16 : PREC_FP32;
    if ((v = get(x, "machine", "devices_per_node")))
        k->devices_per_node = (int)real_of(f, "[machine] devices_per_node", v, 1, 4096);
    if ((v = get(x, "machine", "max_nodes")))
        k->max_nodes = (int)real_of(f, "[machine] max_nodes", v, 1, 1 << 20);
    if ((v = get(x, "machine", "device_gib")))
        k->device_gib = real_of(f, "[machine] device_gib", v, 1e-6, 1e9);
    if ((v = get(x, "machine", "device_tflops")))
        k->device_tflops = real_of(f, "[machine] device_tflops", v, 1e-9, 1e9);
    if ((v = get(x, "machine", "efficiency")))
        k->efficiency = real_of(f, "[machine] efficiency", v, 1e-3, 1);
    if ((v = get(x, "machine", "link_gbps")))
        k->link_gbps = real_of(f, "[machine] link_gbps", v, 1e-6, 1e9);
    if ((v = get(x, "machine", "link_us"))) k->link_us = real_of(f, "[machine] link_us", v, 0, 1e9);
    if ((v = get(x, "machine", "target_hours")))
        k->target_hours = real_of(f, "[machine] target_hours", v, 0, 1e9);
    if ((v = get(x, "machine", "max_micro")))
        k->max_micro = (int)real_of(f, "[machine] max_micro", v, 0, 1 << 20);
    if ((v = get(x, "machine", "precision"))) {
        if (!strcmp(v, "fp32"))
            k->precision = PREC_FP32;
        else if (!strcmp(v, "bf16"))
            k->precision = PREC_BF16;
        else if (!strcmp(v, "mixed"))
            k->precision = PREC_MIXED;
        else
            z_die_all("sweep: %s: [machine] precision = '%s': fp32, bf16 or mixed", f, v);
    }
    if (k->target_hours > 0 && !(k->device_tflops > 0))
        z_die_all("sweep: %s: [machine] target_hours needs device_tflops", f);
    if (k->devices_per_node * (long)k->max_nodes > (1 << 22))
        z_die_all("sweep: %s: [machine] %d nodes x %d devices is too many", f, k->max_nodes,
                  k->devices_per_node);
}

static void read_slurm(Campaign *k, const Entries *x) {
    const char *v, *f = k->path;
    k->cpus_per_task = 1;
    snprintf(k->partition, sizeof k->partition, "%s", (v = get(x, "slurm", "partition")) ? v : "");
    snprintf(k->account, sizeof k->account, "%s", (v = get(x, "slurm", "account")) ? v : "");
    snprintf(k->extra, sizeof k->extra, "%s", (v = get(x, "slurm", "extra")) ? v : "");
    snprintf(k->time, sizeof k->time, "%s", (v = get(x, "slurm", "time")) ? v : "");
    if (k->time[0] && (k->time_s = slurm_seconds(k->time)) <= 0)
        z_die_all("sweep: %s: [slurm] time = '%s': not a Slurm time limit (minutes, H:M:S or "
                  "D-H:M:S)",
                  f, k->time);
    if ((v = get(x, "slurm", "gpus_per_task"))) {
        k->gpus_per_task = (int)real_of(f, "[slurm] gpus_per_task", v, 0, 1 << 10);
        if (k->gpus_per_task > 1)
            z_die_all("sweep: %s: [slurm] gpus_per_task = %d: zeropt runs one rank per GPU (1 on "
                      "GPU clusters, 0 on CPU ones)",
                      f, k->gpus_per_task);
    }
    if ((v = get(x, "slurm", "cpus_per_task")))
        k->cpus_per_task = (int)real_of(f, "[slurm] cpus_per_task", v, 1, 1 << 16);
    if ((v = get(x, "machine", "cores_per_node"))) {
        int cores = (int)real_of(f, "[machine] cores_per_node", v, 1, 1 << 20);
        if ((long)k->cpus_per_task * k->devices_per_node > cores)
            z_die_all("sweep: %s: [slurm] cpus_per_task = %d x %d ranks per node exceeds [machine] "
                      "cores_per_node = %d",
                      f, k->cpus_per_task, k->devices_per_node, cores);
    }
    for (const char *p = k->extra; *p; p++)
        if (strchr("'\"`$;|&<>\\", *p))
            z_die_all("sweep: %s: [slurm] extra: '%c' is not allowed (sbatch options, separated by "
                      "spaces)",
                      f, *p);
    if ((v = get(x, "slurm", "script"))) {
        beside(k->script, sizeof k->script, f, v);
        if (access(k->script, R_OK))
            z_die_all("sweep: %s: [slurm] script %s: %s", f, k->script, strerror(errno));
    }
}

/* A budget word: 20x (tokens = 20 × parameters), tokens:N, flops:C. */
typedef struct {
    int kind; /* 0 ×params, 1 tokens, 2 flops */
    double v;
    char name[CAMPAIGN_NAME];
} Budget;

static Budget parse_budget(const char *f, const char *w) {
    Budget b = {0};
    char *end;
    size_t n = strlen(w);
    if (n > 1 && w[n - 1] == 'x') {
        b.kind = 0, b.v = strtod(w, &end);
        if (end != w + n - 1 || !(b.v > 0)) b.v = -1;
        snprintf(b.name, sizeof b.name, "%s", w);
    } else if (!strncmp(w, "tokens:", 7) || !strncmp(w, "flops:", 6)) {
        b.kind = w[0] == 't' ? 1 : 2;
        const char *s = strchr(w, ':') + 1;
        b.v = strtod(s, &end);
        if (end == s || *end || !(b.v >= 1) || !isfinite(b.v)) b.v = -1;
        snprintf(b.name, sizeof b.name, "%s%s", b.kind == 1 ? "tok" : "flop", s);
    } else {
        b.v = -1;
    }
    if (b.v <= 0)
        z_die_all("sweep: %s: [campaign] budgets: '%s' is not a budget (20x: tokens = 20 x "
                  "parameters; tokens:N; flops:C)",
                  f, w);
    return b;
}

static void add_point(Campaign *k, int *cap, const Point *p) {
    if (k->npt == *cap) {
        *cap = *cap ? 2 * *cap : 16;
        k->pt = realloc(k->pt, (size_t)*cap * sizeof *k->pt);
        if (!k->pt) z_die_all("sweep: out of memory");
    }
    k->pt[k->npt++] = *p;
}

void campaign_load(Campaign *k, const char *path) {
    memset(k, 0, sizeof *k);
    snprintf(k->path, sizeof k->path, "%s", path);
    FILE *fp = fopen(path, "r");
    if (!fp) z_die_all("sweep: %s: %s", path, strerror(errno));
    Entries x = {0};
    int line = ini_parse_file(fp, on_entry, &x);
    fclose(fp);
    if (line) z_die_all("sweep: %s:%d: not INI (key = value under a [section])", path, line);
    check_keys(k, &x);
    const char *v, *f = path;

    /* [campaign] */
    const char *stem = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
    v = get(&x, "campaign", "name");
    snprintf(k->name, sizeof k->name, "%.*s", v ? (int)strlen(v) : (int)strcspn(stem, "."),
             v ? v : stem);
    for (const char *p = k->name; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.", *p) ||
            !k->name[0])
            z_die_all("sweep: %s: [campaign] name '%s': letters, digits, '-', '_' and '.' only", f,
                      k->name);
    snprintf(k->dir, sizeof k->dir, "%s", (v = get(&x, "campaign", "dir")) ? v : "");
    if (!k->dir[0]) snprintf(k->dir, sizeof k->dir, "runs/%s", k->name);
    if ((v = get(&x, "campaign", "recipe"))) {
        beside(k->recipe, sizeof k->recipe, f, v);
        if (access(k->recipe, R_OK))
            z_die_all("sweep: %s: [campaign] recipe %s: %s", f, k->recipe, strerror(errno));
    }
    if ((v = get(&x, "campaign", "corpus"))) beside(k->corpus, sizeof k->corpus, f, v);
    int nonemb = 0;
    if ((v = get(&x, "campaign", "params"))) {
        if (strcmp(v, "total") && strcmp(v, "nonembedding"))
            z_die_all("sweep: %s: [campaign] params = '%s': total or nonembedding", f, v);
        nonemb = !strcmp(v, "nonembedding");
    }
    char models_buf[1024], budgets_buf[1024], lr_buf[1024], set_buf[2048];
    char *models[MAX_LIST], *budgets[MAX_LIST], *lrs[MAX_LIST], *sets[MAX_LIST];
    if (!(v = get(&x, "campaign", "models")))
        z_die_all("sweep: %s: [campaign] models is missing", f);
    snprintf(models_buf, sizeof models_buf, "%s", v);
    int nm = split(models_buf, models);
    if (!(v = get(&x, "campaign", "budgets")))
        z_die_all("sweep: %s: [campaign] budgets is missing", f);
    snprintf(budgets_buf, sizeof budgets_buf, "%s", v);
    int nb = split(budgets_buf, budgets);
    snprintf(lr_buf, sizeof lr_buf, "%s", (v = get(&x, "campaign", "lr")) ? v : "");
    int nl = split(lr_buf, lrs);
    snprintf(set_buf, sizeof set_buf, "%s", (v = get(&x, "campaign", "set")) ? v : "");
    int ns = split(set_buf, sets);
    if (!nm || !nb)
        z_die_all("sweep: %s: [campaign] models and budgets need one entry at least", f);
    Budget bud[MAX_LIST];
    for (int i = 0; i < nb; i++) bud[i] = parse_budget(f, budgets[i]);

    /* the machine's defaults come from the recipe (precision) */
    Config recipe;
    config_defaults(&recipe);
    if (k->recipe[0]) config_load(&recipe, k->recipe);
    read_machine(k, &x, &recipe);
    read_slurm(k, &x);

    int cap = 0;
    for (int im = 0; im < nm; im++) {
        Config base;
        model_config(&base, k, &x, models[im]);
        for (int i = 0; i < ns; i++) {
            char *eq = strchr(sets[i], '=');
            if (!eq || !memchr(sets[i], '.', (size_t)(eq - sets[i])))
                z_die_all("sweep: %s: [campaign] set: '%s' is not section.key=value", f, sets[i]);
            *eq = 0;
            override(&base, f, "campaign", sets[i], eq + 1);
            *eq = '=';
        }
        if (k->corpus[0]) snprintf(base.data.path, sizeof base.data.path, "%s", k->corpus);
        if (base.train.global_batch <= 0)
            z_die_all("sweep: %s: model %s: [train] global_batch is not set (the recipe or `set`): "
                      "the allocation chooses micro-batch and accumulation under it",
                      f, models[im]);
        /* learning rates: [model.NAME] lr, else [campaign] lr, else the recipe's */
        char sec[CAMPAIGN_NAME + 8], mlr_buf[1024], *mlrs[MAX_LIST];
        snprintf(sec, sizeof sec, "model.%s", models[im]);
        const char *ml = get(&x, sec, "lr");
        snprintf(mlr_buf, sizeof mlr_buf, "%s", ml ? ml : "");
        int nml = split(mlr_buf, mlrs);
        char **L = nml ? mlrs : lrs;
        int nL = nml ? nml : nl;
        double lrv[MAX_LIST];
        for (int i = 0; i < nL; i++) lrv[i] = real_of(f, "lr", L[i], 1e-12, 10);
        if (!nL) lrv[0] = base.train.lr, nL = 1;
        /* the size (parameters, FLOPs per token) at this sequence length */
        Config sized = base;
        config_finish(&sized, f);
        PlanGeo g;
        plan_geo_model(&g, &sized, 1, 1, sized.data.seq_len, 1, 0, sized.data.mask_rate);
        double N = (double)g.pm.nparams, emb = 0;
        for (int i = 0; i < g.pm.ntensors; i++)
            if (g.pm.tensors[i].embedding) emb += (double)g.pm.tensors[i].numel;
        double fpt = g.pm.flops_per_token;
        plan_geo_free(&g);
        for (int ib = 0; ib < nb; ib++) {
            for (int il = 0; il < nL; il++) {
                Point p;
                memset(&p, 0, sizeof p);
                p.cfg = base;
                char lt[32];
                lr_text(lt, sizeof lt, lrv[il]);
                snprintf(p.name, sizeof p.name, "%s-%s-lr%s", models[im], bud[ib].name, lt);
                snprintf(p.model, sizeof p.model, "%s", models[im]);
                snprintf(p.budget, sizeof p.budget, "%s", bud[ib].name);
                for (int q = 0; q < k->npt; q++)
                    if (!strcmp(k->pt[q].name, p.name))
                        z_die_all("sweep: %s: point %s appears twice", f, p.name);
                p.lr = lrv[il];
                Config *c = &p.cfg;
                if (c->train.min_lr > 0 && c->train.lr > 0)
                    c->train.min_lr *= lrv[il] / c->train.lr;
                c->train.lr = lrv[il];
                p.params = N, p.nonembedding = N - emb, p.flops_per_token = fpt;
                double tok_step = (double)c->train.global_batch * c->data.seq_len;
                double want = bud[ib].kind == 0   ? bud[ib].v * (nonemb ? N - emb : N)
                              : bud[ib].kind == 1 ? bud[ib].v
                                                  : bud[ib].v / fpt;
                p.steps = lround(want / tok_step);
                if (p.steps < 1)
                    z_die_all("sweep: %s: point %s: budget %s is %.3g tokens, less than one step "
                              "(%d x %d = %.0f tokens)",
                              f, p.name, budgets[ib], want, c->train.global_batch, c->data.seq_len,
                              tok_step);
                c->train.steps = p.steps;
                p.tokens = (double)p.steps * tok_step;
                p.flops = p.tokens * fpt;
                int n = snprintf(c->run.dir, sizeof c->run.dir, "%s/%s", k->dir, p.name);
                if (n >= (int)sizeof c->run.dir) z_die_all("sweep: %s: dir too long", f);
                snprintf(c->ckpt.resume, sizeof c->ckpt.resume, "auto");
                /* [point.NAME] last: anything for one point */
                char psec[CAMPAIGN_NAME + 8];
                snprintf(psec, sizeof psec, "point.%s", p.name);
                for (int i = 0; i < x.n; i++)
                    if (!strcmp(x.e[i].section, psec))
                        override(c, f, psec, x.e[i].key, x.e[i].value);
                config_finish(c, f);
                p.steps = c->train.steps;
                p.tokens = (double)p.steps * c->train.global_batch * c->data.seq_len;
                p.flops = p.tokens * fpt;
                snprintf(p.ini, sizeof p.ini, "%s/point.ini", c->run.dir);
                add_point(k, &cap, &p);
            }
        }
    }
    /* a [point.NAME] that names no point is a typo */
    for (int i = 0; i < x.n; i++)
        if (!strncmp(x.e[i].section, "point.", 6) && !campaign_point(k, x.e[i].section + 6))
            z_die_all("sweep: %s: [%s] names no point of the campaign", f, x.e[i].section);
    free(x.e);

    for (int i = 0; i < k->npt; i++) {
        Point *p = &k->pt[i];
        allocate(p, k);
        p->cfg.train.micro_batch = p->micro;
        k->total_hours += p->hours, k->total_device_hours += p->device_hours;
    }
}

int campaign_corpus_missing(const Campaign *k, char *err, size_t n) {
    for (int i = 0; i < k->npt; i++) {
        const char *cp = k->pt[i].cfg.data.path;
        if (!cp[0]) {
            snprintf(err, n, "point %s: no corpus ([campaign] corpus)", k->pt[i].name);
            return 1;
        }
        if (access(cp, R_OK)) {
            snprintf(err, n, "point %s: corpus %s: %s", k->pt[i].name, cp, strerror(errno));
            return 1;
        }
    }
    return 0;
}

const Point *campaign_point(const Campaign *k, const char *name) {
    for (int i = 0; i < k->npt; i++)
        if (!strcmp(k->pt[i].name, name)) return &k->pt[i];
    return NULL;
}

static void mkdirs(const char *path) {
    char p[CAMPAIGN_PATH + CAMPAIGN_NAME + 16];
    snprintf(p, sizeof p, "%s", path);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = 0;
        if (mkdir(p, 0777) && errno != EEXIST) z_die_all("sweep: %s: %s", p, strerror(errno));
        *s = '/';
    }
    if (mkdir(p, 0777) && errno != EEXIST) z_die_all("sweep: %s: %s", p, strerror(errno));
}

void campaign_write_points(const Campaign *k) {
    mkdirs(k->dir);
    for (int i = 0; i < k->npt; i++) {
        const Point *p = &k->pt[i];
        mkdirs(p->cfg.run.dir);
        char *text = config_format(&p->cfg, NULL);
        char tmp[sizeof p->ini + 8];
        snprintf(tmp, sizeof tmp, "%s.tmp", p->ini);
        FILE *f = fopen(tmp, "w");
        if (!f) z_die_all("sweep: %s: %s", tmp, strerror(errno));
        fprintf(f, "; point %s of campaign %s (%s), written by zeropt sweep\n", p->name, k->name,
                k->path);
        int bad = fputs(text, f) < 0;
        bad |= fclose(f) != 0;
        free(text);
        if (bad || rename(tmp, p->ini)) z_die_all("sweep: %s: write failed", p->ini);
    }
}

void campaign_free(Campaign *k) {
    free(k->pt);
    k->pt = NULL, k->npt = 0;
}
