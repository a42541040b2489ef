/*
 * cmd_plan.c — `zeropt plan`: what a run needs per rank, without allocating
 * the model. Memory comes from the same functions a live run uses
 * (model_layout for the padded units, model_arena_floats for activations,
 * zero_plan_bytes / zero_plan_comm_bytes for everything ZeRO), so the plan of
 * an fp32 CPU run equals the bytes that run reports in its first metrics
 * record. On top: whether it fits a device, the largest model of the ladder
 * (configs/model/) that fits, and an alpha-beta step-time model.
 *
 *   zeropt plan --model configs/model/xxl.ini --ranks 512 --stage 3 --precision mixed
 *   zeropt plan --params 7.5e9 --ranks 64 --precision mixed          (ZeRO paper, Fig. 1)
 */
#include "cmd.h"
#include "config.h"
#include "model.h"

#include "../mpi/err.h"
#include "../mpi/zero.h"

#include <jansson.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define USAGE                                                                                      \
    "usage: zeropt plan --model <model.ini> | -c <config.ini> | --params P  [--ranks N] "          \
    "[--stage 0-3|all] [--micro-batch B] [--seq T] [--recompute] [--precision fp32|mixed] "        \
    "[--device-gib M] [--mask-rate R] [--device-tflops F --link-gbps G --link-us U] [--json] "     \
    "[section.key=value ...]"

static const char *const LADDER[] = {"tiny", "mini",  "small", "medium",
                                     "base", "large", "xl",    "xxl"};
#define NLADDER ((int)(sizeof LADDER / sizeof LADDER[0]))
#define DIR_MAX 4096

enum { PREC_FP32 = 0, PREC_MIXED = 1 };

/* Everything the command line fixes apart from the model. */
typedef struct {
    int ranks, stage; /* stage −1: all four */
    int precision;
    int B, T, recompute;
    double mask_rate, device_gib;
    int timed;                 /* --device-tflops given */
    double tflops, gbps, us;   /* per-rank peak, link Gbit/s, latency µs */
    size_t pb, gb, kb, ab, eb; /* bytes: param, grad, optimizer per param, activation, comm */
} Opts;

/* A model reduced to what the plan needs. */
typedef struct {
    int nunits;
    size_t *padded;
    size_t nparams, padded_total;
    int pinned, regather; /* tied embedding: unit 0, else −1 */
    int mlm, head_rows;   /* head_rows: rows the MLM head's arena holds (B·T for decoders) */
    size_t arena;         /* activation arena, elements */
    double fpt;           /* training FLOPs per token */
} Geo;

/* One stage of one model. */
typedef struct {
    int stage;
    ZeroBytes zb;
    double model_state, act, total, comm, device, margin;
    int fits, ncoll;
    double latency_steps;
    double flops, compute_s, comm_s, comm_bw_s, comm_lat_s, step_overlap, step_serial;
    const char *largest; /* largest ladder model that fits at this stage, NULL: none */
} Plan;

/* ------------------------------------------------------------------------- */
/* arguments                                                                  */

static const char *need_value(int argc, char **argv, int i) {
    if (i + 1 >= argc) z_die_all("plan: %s needs a value (" USAGE ")", argv[i]);
    return argv[i + 1];
}

static double parse_real(const char *flag, const char *s, double lo, double hi) {
    char *end;
    double v = strtod(s, &end);
    if (end == s || *end || !isfinite(v)) z_die_all("plan: %s: '%s' is not a number", flag, s);
    if (v < lo || v > hi) z_die_all("plan: %s = %s is outside [%g, %g]", flag, s, lo, hi);
    return v;
}

static int parse_int(const char *flag, const char *s, long lo, long hi) {
    char *end;
    long v = strtol(s, &end, 10);
    if (end == s || *end) z_die_all("plan: %s: '%s' is not an integer", flag, s);
    if (v < lo || v > hi) z_die_all("plan: %s = %s is outside [%ld, %ld]", flag, s, lo, hi);
    return (int)v;
}

/* ------------------------------------------------------------------------- */
/* the arithmetic                                                             */

static void geo_model(Geo *g, const Config *c, const Opts *o) {
    Model m;
    model_layout(&m, &c->model, o->ranks, ALIGN_FLOATS);
    memset(g, 0, sizeof *g);
    g->nunits = m.nunits;
    g->padded = z_malloc(m.nunits * sizeof(size_t), "units");
    for (int u = 0; u < m.nunits; u++) {
        g->padded[u] = m.unit[u].padded;
        g->padded_total += m.unit[u].padded;
    }
    g->nparams = m.nparams;
    /* the trainer's choices (trainer_build): a tied embedding's gradient is
     * written by the head all through backward, and re-gathered for it */
    g->pinned = g->regather = c->model.tied ? 0 : -1;
    int N = o->B * o->T;
    g->mlm = c->data.objective == OBJ_MLM;
    g->head_rows = g->mlm ? model_mlm_head_rows(N, o->mask_rate) : N;
    g->arena = model_arena_floats(&c->model, o->B, o->T, g->head_rows, 0, o->recompute);
    g->fpt = model_flops_per_token(&m, o->T, g->mlm ? o->mask_rate : 1.0);
    model_free(&m);
}

/* --params P: one unit of P parameters, no activations, no tied embedding. */
static void geo_bare(Geo *g, double P, const Opts *o) {
    memset(g, 0, sizeof *g);
    size_t q = (size_t)o->ranks * ALIGN_FLOATS, n = (size_t)llround(P);
    g->nunits = 1;
    g->padded = z_malloc(sizeof(size_t), "units");
    g->padded[0] = (n + q - 1) / q * q;
    g->padded_total = g->padded[0];
    g->nparams = n;
    g->pinned = g->regather = -1;
    g->head_rows = -1;
    g->fpt = 6.0 * (double)n; /* no attention term: the model has no shape */
}

static void plan_stage(Plan *p, const Geo *g, const Opts *o, int stage) {
    memset(p, 0, sizeof *p);
    int N = o->ranks;
    p->stage = stage;
    p->zb = zero_plan_bytes(stage, N, g->nunits, g->padded, g->pinned, o->pb, o->gb, o->kb);
    p->model_state = (double)p->zb.params + (double)p->zb.grads + (double)p->zb.optim;
    p->act = (double)g->arena * (double)o->ab;
    p->total = p->model_state + (double)p->zb.buffers + p->act;
    p->comm = zero_plan_comm_bytes(stage, N, g->nunits, g->padded, g->regather, o->eb);
    p->device = o->device_gib * 1073741824.0;
    p->margin = p->device - p->total;
    p->fits = p->total <= p->device;
    /* ring collectives, each N−1 latency steps: stage 0 one all-reduce per
     * unit (2(N−1) steps), stages 1–2 a reduce-scatter and an all-gather per
     * unit, stage 3 two all-gathers and a reduce-scatter per unit plus the
     * two re-gathers of a tied embedding for the head */
    if (stage == 0)
        p->ncoll = g->nunits, p->latency_steps = 2.0 * (N - 1) * g->nunits;
    else if (stage <= 2)
        p->ncoll = 2 * g->nunits, p->latency_steps = (double)(N - 1) * p->ncoll;
    else
        p->ncoll = 3 * g->nunits + (g->regather >= 0 ? 2 : 0),
        p->latency_steps = (double)(N - 1) * p->ncoll;
    if (N == 1) p->ncoll = 0, p->latency_steps = 0;
    if (!o->timed) return;
    p->flops = (double)o->B * o->T * g->fpt; /* accumulation 1 */
    p->compute_s = p->flops / (o->tflops * 1e12);
    p->comm_lat_s = p->latency_steps * o->us * 1e-6;
    p->comm_bw_s = p->comm > 0 ? p->comm / (o->gbps * 1e9 / 8) : 0;
    p->comm_s = p->comm_lat_s + p->comm_bw_s;
    p->step_serial = p->compute_s + p->comm_s;
    p->step_overlap = p->compute_s > p->comm_s ? p->compute_s : p->comm_s;
}

/* 1 when folder d holds the ladder (tiny.ini … xxl.ini readable). */
static int is_ladder(const char *d) {
    char probe[DIR_MAX + 16];
    for (int i = 0; i < NLADDER; i++) {
        int n = snprintf(probe, sizeof probe, "%s/%s.ini", d, LADDER[i]);
        if (n < 0 || n >= (int)sizeof probe || access(probe, R_OK)) return 0;
    }
    return 1;
}

/* The ladder's folder: beside --model, else configs/model/ from here or
 * from the binary's ../ (build/zeropt). */
static int find_ladder(char dir[DIR_MAX], const char *model_path) {
    const char *slash = model_path ? strrchr(model_path, '/') : NULL;
    if (slash && slash - model_path < DIR_MAX) {
        snprintf(dir, DIR_MAX, "%.*s", (int)(slash - model_path), model_path);
        if (is_ladder(dir)) return 1;
    }
    snprintf(dir, DIR_MAX, "configs/model");
    if (is_ladder(dir)) return 1;
    char exe[DIR_MAX - 16];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return 0;
    exe[len] = 0;
    for (int k = 0; k < 2; k++) {
        char *s = strrchr(exe, '/');
        if (s) *s = 0;
    }
    snprintf(dir, DIR_MAX, "%s/configs/model", exe);
    return is_ladder(dir);
}

/* The ladder's geometries at this batch; an entry whose max_positions is
 * below T stays empty (nunits 0: cannot run this sequence length). */
static void ladder_geos(Geo *lg, const char *dir, const Opts *o) {
    for (int i = 0; i < NLADDER; i++) {
        char path[DIR_MAX + 32];
        snprintf(path, sizeof path, "%s/%s.ini", dir, LADDER[i]);
        Config c;
        config_defaults(&c);
        config_load(&c, path);
        c.data.seq_len = 3;
        c.data.mask_rate = o->mask_rate;
        config_finish(&c, path);
        memset(&lg[i], 0, sizeof lg[i]);
        if (o->T <= c.model.max_positions) geo_model(&lg[i], &c, o);
    }
}

static const char *largest_fitting(const Geo *lg, const Opts *o, int stage) {
    const char *best = NULL;
    for (int i = 0; i < NLADDER; i++) {
        if (!lg[i].nunits) continue;
        Plan p;
        plan_stage(&p, &lg[i], o, stage);
        if (p.fits) best = LADDER[i];
    }
    return best;
}

/* ------------------------------------------------------------------------- */
/* output                                                                     */

/* GB (1e9 bytes) to 3 significant digits: 120, 31.4, 1.88, 0.0430 */
static const char *gb(char *buf, size_t n, double bytes) {
    double v = bytes / 1e9;
    if (v == 0)
        snprintf(buf, n, "0");
    else if (fabs(v) >= 1000 && fabs(v) < 1e6)
        snprintf(buf, n, "%.0f", v);
    else
        snprintf(buf, n, "%#.3g", v);
    size_t len = strlen(buf);
    if (len && buf[len - 1] == '.') buf[len - 1] = 0;
    return buf;
}

static const char *precision_text(const Opts *o) {
    return o->precision == PREC_MIXED
               ? "mixed (bf16 params and grads, fp32 master + Adam m, v: K = 12)"
               : "fp32 (params 4, grads 4, Adam m, v 8 bytes per parameter: K = 8)";
}

static void print_header(const char *what, const Config *c, const Geo *g, const Opts *o) {
    if (c) {
        const ModelConfig *m = &c->model;
        printf("plan: %s: %s, %d layers, width %d, %d heads, FFN %d, vocab %d%s\n", what,
               m->arch == ARCH_ENCODER ? "encoder" : "decoder", m->layers, m->width, m->heads,
               m->ffn, m->vocab_size, m->tied ? ", tied embeddings" : "");
    } else {
        printf("plan: %s parameters (bare count: one unit, no activations; stage 2-3 buffers "
               "are sized for that one unit, so compare model state)\n",
               what);
    }
    printf("  %zu parameters (%.4g B) in %d units, %zu with padding to %d ranks x %d floats\n",
           g->nparams, g->nparams / 1e9, g->nunits, g->padded_total, o->ranks, ALIGN_FLOATS);
    printf("  precision %s\n", precision_text(o));
    if (c) {
        printf("  micro-batch %d x seq %d, accumulation 1, recompute %s", o->B, o->T,
               o->recompute ? "on" : "off");
        if (g->mlm)
            printf(", MLM head rows %d of %d (mask rate %g)", g->head_rows, o->B * o->T,
                   o->mask_rate);
        printf("\n");
    }
}

static void print_one(const Plan *p, const Opts *o, int bare) {
    char b[32];
    printf("\nper rank, ZeRO stage %d, %d ranks        bytes          GB\n", p->stage, o->ranks);
#define ROW(label, v) printf("  %-24s %18.0f %11s\n", label, (double)(v), gb(b, sizeof b, v))
    ROW("parameters", p->zb.params);
    ROW("gradients", p->zb.grads);
    ROW("optimizer state", p->zb.optim);
    ROW("model state", p->model_state);
    ROW("buffers", p->zb.buffers);
    printf("  %-24s %18.0f %11s%s\n", "activations", p->act, gb(b, sizeof b, p->act),
           bare           ? "  (none: bare parameter count)"
           : o->precision ? "  (estimate: bf16 activations, 2 bytes per arena element)"
                          : "");
    ROW("total", p->total);
    ROW("communication per step", p->comm);
#undef ROW
    printf("  (bytes each rank sends per step in %d ring collectives)\n", p->ncoll);
    printf("device %.4g GiB: %s, margin %s GB\n", o->device_gib, p->fits ? "fits" : "DOES NOT FIT",
           gb(b, sizeof b, p->margin));
}

static void print_time(const Plan *p, const Geo *g, const Opts *o) {
    printf("time model (%.4g TFLOP/s per rank, link %.4g Gbit/s, %.4g us latency; ring "
           "collectives):\n",
           o->tflops, o->gbps, o->us);
    printf("  compute  %.4g s  (%d x %d tokens x %.4g FLOPs per token)\n", p->compute_s, o->B, o->T,
           g->fpt);
    printf("  comm     %.4g s  (bandwidth %.4g s + latency %.4g s)\n", p->comm_s, p->comm_bw_s,
           p->comm_lat_s);
    printf("  step     %.4g s with perfect overlap, %.4g s serial\n", p->step_overlap,
           p->step_serial);
    printf("  MFU      %.1f%% .. %.1f%%   tokens/s %.4g .. %.4g (%d ranks)\n",
           100 * p->compute_s / p->step_overlap, 100 * p->compute_s / p->step_serial,
           (double)o->B * o->T * o->ranks / p->step_overlap,
           (double)o->B * o->T * o->ranks / p->step_serial, o->ranks);
}

static void print_all(const Plan *pl, const Opts *o, int bare) {
    char b[32];
    printf("\nper rank, %d ranks, GB          stage 0    stage 1    stage 2    stage 3\n",
           o->ranks);
#define ROW(label, expr)                                                                           \
    do {                                                                                           \
        printf("  %-24s", label);                                                                  \
        for (int s = 0; s < 4; s++) {                                                              \
            const Plan *p = &pl[s];                                                                \
            printf(" %10s", gb(b, sizeof b, (double)(expr)));                                      \
        }                                                                                          \
        printf("\n");                                                                              \
    } while (0)
    ROW("parameters", p->zb.params);
    ROW("gradients", p->zb.grads);
    ROW("optimizer state", p->zb.optim);
    ROW("model state", p->model_state);
    ROW("buffers", p->zb.buffers);
    ROW(bare           ? "activations (none)"
        : o->precision ? "activations (bf16 est.)"
                       : "activations",
        p->act);
    ROW("total", p->total);
    ROW("communication per step", p->comm);
    ROW("margin", p->margin);
#undef ROW
    printf("  %-24s", "fits");
    for (int s = 0; s < 4; s++) printf(" %10s", pl[s].fits ? "yes" : "no");
    printf("\n");
    if (o->timed) {
        printf("  %-24s", "step s (overlap)");
        for (int s = 0; s < 4; s++) printf(" %10.4g", pl[s].step_overlap);
        printf("\n  %-24s", "step s (serial)");
        for (int s = 0; s < 4; s++) printf(" %10.4g", pl[s].step_serial);
        printf("\n  %-24s", "MFU % (overlap)");
        for (int s = 0; s < 4; s++) printf(" %10.1f", 100 * pl[s].compute_s / pl[s].step_overlap);
        printf("\n");
    }
    printf("device %.4g GiB per rank\n", o->device_gib);
}

static json_t *stage_json(const Plan *p, const Opts *o) {
    json_t *j = json_object();
    json_object_set_new(j, "stage", json_integer(p->stage));
    json_object_set_new(j, "params_bytes", json_integer((json_int_t)p->zb.params));
    json_object_set_new(j, "grads_bytes", json_integer((json_int_t)p->zb.grads));
    json_object_set_new(j, "optim_bytes", json_integer((json_int_t)p->zb.optim));
    json_object_set_new(j, "model_state_bytes", json_integer((json_int_t)p->model_state));
    json_object_set_new(j, "buffer_bytes", json_integer((json_int_t)p->zb.buffers));
    json_object_set_new(j, "activation_bytes", json_integer((json_int_t)p->act));
    json_object_set_new(j, "total_bytes", json_integer((json_int_t)p->total));
    json_object_set_new(j, "comm_bytes_per_step", json_real(p->comm));
    json_object_set_new(j, "collectives_per_step", json_integer(p->ncoll));
    json_object_set_new(j, "fits", json_boolean(p->fits));
    json_object_set_new(j, "margin_bytes", json_integer((json_int_t)p->margin));
    json_object_set_new(j, "largest_fitting", p->largest ? json_string(p->largest) : json_null());
    if (o->timed) {
        json_object_set_new(j, "flops_per_step", json_real(p->flops));
        json_object_set_new(j, "compute_s", json_real(p->compute_s));
        json_object_set_new(j, "comm_s", json_real(p->comm_s));
        json_object_set_new(j, "comm_bandwidth_s", json_real(p->comm_bw_s));
        json_object_set_new(j, "comm_latency_s", json_real(p->comm_lat_s));
        json_object_set_new(j, "step_s_overlap", json_real(p->step_overlap));
        json_object_set_new(j, "step_s_serial", json_real(p->step_serial));
        json_object_set_new(j, "mfu_overlap", json_real(p->compute_s / p->step_overlap));
        json_object_set_new(j, "mfu_serial", json_real(p->compute_s / p->step_serial));
        double tok = (double)o->B * o->T * o->ranks;
        json_object_set_new(j, "tokens_per_s", json_real(tok / p->step_overlap));
        json_object_set_new(j, "tokens_per_s_serial", json_real(tok / p->step_serial));
    }
    return j;
}

static json_t *common_json(const char *model, const Geo *g, const Opts *o, int bare) {
    json_t *j = json_object();
    json_object_set_new(j, "model", model ? json_string(model) : json_null());
    json_object_set_new(j, "params", json_integer((json_int_t)g->nparams));
    json_object_set_new(j, "padded_params", json_integer((json_int_t)g->padded_total));
    json_object_set_new(j, "units", json_integer(g->nunits));
    json_object_set_new(j, "ranks", json_integer(o->ranks));
    json_object_set_new(j, "precision", json_string(o->precision ? "mixed" : "fp32"));
    json_object_set_new(j, "param_elem_bytes", json_integer((json_int_t)o->pb));
    json_object_set_new(j, "grad_elem_bytes", json_integer((json_int_t)o->gb));
    json_object_set_new(j, "optim_bytes_per_param", json_integer((json_int_t)o->kb));
    json_object_set_new(j, "micro_batch", json_integer(o->B));
    json_object_set_new(j, "seq", json_integer(o->T));
    json_object_set_new(j, "recompute", json_boolean(o->recompute));
    if (!bare && g->mlm) {
        json_object_set_new(j, "mask_rate", json_real(o->mask_rate));
        json_object_set_new(j, "head_rows", json_integer(g->head_rows));
    }
    json_object_set_new(j, "activation_elements", json_integer((json_int_t)g->arena));
    json_object_set_new(j, "activation_elem_bytes", json_integer((json_int_t)o->ab));
    json_object_set_new(j, "activation_estimate", json_boolean(!bare && o->precision));
    json_object_set_new(j, "flops_per_token", json_real(g->fpt));
    json_object_set_new(j, "device_gib", json_real(o->device_gib));
    json_object_set_new(j, "device_bytes",
                        json_integer((json_int_t)(o->device_gib * 1073741824.0)));
    if (o->timed) {
        json_object_set_new(j, "device_tflops", json_real(o->tflops));
        json_object_set_new(j, "link_gbps", json_real(o->gbps));
        json_object_set_new(j, "link_us", json_real(o->us));
    }
    return j;
}

/* ------------------------------------------------------------------------- */

int cmd_plan(int argc, char **argv) {
    Config cfg;
    config_defaults(&cfg);
    Opts o;
    memset(&o, 0, sizeof o);
    o.ranks = 1, o.stage = -1, o.device_gib = 80;
    const char *model_path = NULL, *cfg_path = NULL, *prec = "fp32";
    double P = 0, mask = -1;
    int json = 0, B = 0, T = 0, recompute = 0, have_gbps = 0, have_us = 0, stage_override = 0;
    for (int i = 0; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--model")) {
            config_load(&cfg, model_path = need_value(argc, argv, i)), i++;
        } else if (!strcmp(a, "-c")) {
            config_load(&cfg, cfg_path = need_value(argc, argv, i)), i++;
        } else if (!strcmp(a, "--params")) {
            P = parse_real(a, need_value(argc, argv, i), 1, 1e15), i++;
        } else if (!strcmp(a, "--ranks")) {
            o.ranks = parse_int(a, need_value(argc, argv, i), 1, 1 << 24), i++;
        } else if (!strcmp(a, "--stage")) {
            const char *v = need_value(argc, argv, i++);
            if (!strcmp(v, "all"))
                o.stage = -1;
            else if (strlen(v) == 1 && v[0] >= '0' && v[0] <= '3')
                o.stage = v[0] - '0';
            else
                z_die_all("plan: --stage must be 0, 1, 2, 3 or all (got '%s')", v);
        } else if (!strcmp(a, "--micro-batch")) {
            B = parse_int(a, need_value(argc, argv, i), 1, 1 << 20), i++;
        } else if (!strcmp(a, "--seq")) {
            T = parse_int(a, need_value(argc, argv, i), 3, 1 << 20), i++;
        } else if (!strcmp(a, "--recompute")) {
            recompute = 1;
        } else if (!strcmp(a, "--precision")) {
            prec = need_value(argc, argv, i++);
            if (strcmp(prec, "fp32") && strcmp(prec, "mixed"))
                z_die_all("plan: --precision must be fp32 or mixed (got '%s')", prec);
        } else if (!strcmp(a, "--device-gib")) {
            o.device_gib = parse_real(a, need_value(argc, argv, i), 1e-6, 1e9), i++;
        } else if (!strcmp(a, "--mask-rate")) {
            mask = parse_real(a, need_value(argc, argv, i), 0.001, 0.999), i++;
        } else if (!strcmp(a, "--device-tflops")) {
            o.tflops = parse_real(a, need_value(argc, argv, i), 1e-9, 1e9), i++, o.timed = 1;
        } else if (!strcmp(a, "--link-gbps")) {
            o.gbps = parse_real(a, need_value(argc, argv, i), 1e-9, 1e9), i++, have_gbps = 1;
        } else if (!strcmp(a, "--link-us")) {
            o.us = parse_real(a, need_value(argc, argv, i), 0, 1e9), i++, have_us = 1;
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (a[0] != '-' && config_override(&cfg, a)) {
            if (!strncmp(a, "zero.stage=", 11)) stage_override = 1;
        } else {
            z_die_all("plan: unknown argument %s (" USAGE ")", a);
        }
    }
    int bare = P > 0;
    if (bare && (model_path || cfg_path))
        z_die_all("plan: give either --params or a model (--model / -c), not both");
    if (!bare && !model_path && !cfg_path)
        z_die_all("plan: nothing to plan: give --model <model.ini>, -c <config.ini> or --params P");
    if ((have_gbps || have_us) && !o.timed)
        z_die_all("plan: --link-gbps and --link-us need --device-tflops");
    if (o.timed && !have_gbps && o.ranks > 1)
        z_die_all("plan: --device-tflops at %d ranks needs --link-gbps (and --link-us)", o.ranks);
    if (stage_override && o.stage < 0) o.stage = cfg.zero.stage;
    o.precision = strcmp(prec, "mixed") ? PREC_FP32 : PREC_MIXED;
    o.pb = o.gb = o.precision ? 2 : 4;
    o.kb = o.precision ? 12 : 8;
    o.ab = o.eb = o.precision ? 2 : 4;
    o.B = B ? B : cfg.train.micro_batch;
    o.T = T ? T : cfg.data.seq_len;
    o.recompute = recompute || cfg.train.recompute;
    o.mask_rate = mask > 0 ? mask : cfg.data.mask_rate;
    if ((long)o.B * o.T > (1L << 30))
        z_die_all("plan: micro-batch x seq = %d x %d is too large", o.B, o.T);

    const char *what = model_path ? model_path : cfg_path;
    Geo g;
    if (bare) {
        geo_bare(&g, P, &o);
    } else {
        if (o.T > cfg.model.max_positions)
            z_die_all("plan: seq %d exceeds [model] max_positions = %d (%s)", o.T,
                      cfg.model.max_positions, what);
        cfg.data.seq_len = o.T, cfg.train.micro_batch = o.B, cfg.data.mask_rate = o.mask_rate;
        cfg.train.recompute = o.recompute;
        config_finish(&cfg, what);
        geo_model(&g, &cfg, &o);
    }

    char ladder_dir[DIR_MAX];
    int have_ladder = find_ladder(ladder_dir, model_path);
    Geo lg[NLADDER];
    if (have_ladder) ladder_geos(lg, ladder_dir, &o);

    int s0 = o.stage < 0 ? 0 : o.stage, s1 = o.stage < 0 ? 3 : o.stage;
    Plan pl[4];
    for (int s = s0; s <= s1; s++) {
        plan_stage(&pl[s], &g, &o, s);
        pl[s].largest = have_ladder ? largest_fitting(lg, &o, s) : NULL;
    }

    if (json) {
        json_t *root = common_json(bare ? NULL : what, &g, &o, bare);
        if (o.stage >= 0) {
            json_t *st = stage_json(&pl[o.stage], &o);
            json_object_update(root, st);
            json_decref(st);
        } else {
            json_object_set_new(root, "stage", json_string("all"));
            json_t *arr = json_array();
            for (int s = 0; s < 4; s++) json_array_append_new(arr, stage_json(&pl[s], &o));
            json_object_set_new(root, "stages", arr);
        }
        json_object_set_new(root, "ladder", have_ladder ? json_string(ladder_dir) : json_null());
        json_dumpf(root, stdout, JSON_INDENT(1));
        printf("\n");
        json_decref(root);
    } else {
        char pbuf[64];
        snprintf(pbuf, sizeof pbuf, "%.4g", P);
        print_header(bare ? pbuf : what, bare ? NULL : &cfg, &g, &o);
        if (o.stage >= 0) {
            print_one(&pl[o.stage], &o, bare);
            if (o.timed) print_time(&pl[o.stage], &g, &o);
        } else {
            print_all(pl, &o, bare);
        }
        for (int s = s0; s <= s1; s++) {
            if (!have_ladder) {
                printf("largest ladder model that fits: (configs/model/ not found)\n");
                break;
            }
            printf("largest ladder model that fits %d x %.4g GiB at stage %d (%s, B=%d, T=%d%s): "
                   "%s\n",
                   o.ranks, o.device_gib, s, o.precision ? "mixed" : "fp32", o.B, o.T,
                   o.recompute ? ", recompute" : "", pl[s].largest ? pl[s].largest : "none");
        }
    }
    free(g.padded);
    if (have_ladder)
        for (int i = 0; i < NLADDER; i++) free(lg[i].padded);
    return 0;
}
