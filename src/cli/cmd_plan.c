/*
 * cmd_plan.c — `zeropt plan`: what a run needs per rank, without allocating
 * the model: the arithmetic of src/plan/ for the model's padded units and
 * activation layout, whether it fits a device, the largest model of the
 * ladder (configs/model/) that fits, and an alpha-beta step-time model.
 *
 *   zeropt plan --model configs/model/xxl.ini --ranks 512 --stage 3 --precision mixed
 *   zeropt plan --params 7.5e9 --ranks 64 --precision mixed          (ZeRO paper, Fig. 1)
 */
#include "cmd.h"

#include "src/config/config.h"
#include "src/model/model.h"
#include "src/optim/optim.h"
#include "src/plan/plan.h"
#include "src/sweep/campaign.h"
#include "src/sweep/geometry.h"

#include "mpi/err.h"

#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

const char USAGE_PLAN[] =
    "zeropt plan --model <model.ini> | -c <config.ini> | --params P  [--ranks N]\n"
    "    [--stage 0-3|all] [--micro-batch B] [--seq T] [--recompute]\n"
    "    [--precision fp32|bf16|mixed] [--device-gib M] [--mask-rate R]\n"
    "    [--device-tflops F --link-gbps G --link-us U] [--json]\n"
    "    [section.key=value ...]\n"
    "    per-rank memory (params, grads, optimizer, buffers, activations, batch), communication\n"
    "    and step time, without allocating; the largest ladder model that fits\n"
    "    (precision: the config's by default; bf16 is [train] precision = bf16 as the CPU\n"
    "    path allocates it, mixed the same with bf16 activations, as a GPU keeps them)\n";

static const char *const LADDER[] = {"tiny", "mini",  "small", "medium",
                                     "base", "large", "xl",    "xxl"};
#define NLADDER ((int)(sizeof LADDER / sizeof LADDER[0]))
#define DIR_MAX 4096

/* Everything the command line fixes apart from the model. */
typedef struct {
    int ranks, stage; /* stage −1: all four */
    int precision;
    int micro, seq, recompute;
    double mask_rate, device_gib;
    int timed;               /* --device-tflops given */
    double tflops, gbps, us; /* per-rank peak, link Gbit/s, latency µs */
    PlanBytes bytes;
    OptimConfig optim;
} Opts;

typedef PlanGeo Geo;

/* One stage of one model. */
typedef struct {
    int stage;
    PlanMem mem;
    PlanTime time;
    double model_state, device, margin;
    int fits;
    const char *largest; /* largest ladder model that fits at this stage, NULL: none */
} Plan;

/* ------------------------------------------------------------------------- */
/* arguments                                                                  */

static const char *need_value(int argc, char **argv, int i) {
    if (i + 1 >= argc) z_die_all("plan: %s needs a value (zeropt plan --help)", argv[i]);
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
/* models                                                                     */

/* the model at the command line's batch and ranks (src/sweep/geometry.h) */
static void geo_model(Geo *g, const Config *c, const Opts *o, int accum) {
    plan_geo_model(g, c, o->ranks, o->micro, o->seq, accum, o->recompute, o->mask_rate);
}

static size_t padded_total(const Geo *g) {
    return plan_geo_padded(g);
}

static void plan_stage(Plan *p, const Geo *g, const Opts *o, int stage) {
    memset(p, 0, sizeof *p);
    p->stage = stage;
    p->mem = plan_memory(&g->pm, stage, o->ranks, &o->bytes);
    p->model_state = p->mem.params + p->mem.grads + p->mem.optim;
    p->device = o->device_gib * 1073741824.0;
    p->margin = p->device - p->mem.total;
    p->fits = p->mem.total <= p->device;
    if (o->timed)
        p->time = plan_time(&g->pm, &p->mem, o->tflops * 1e12, o->gbps * 1e9 / 8, o->us * 1e-6);
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
    if (!beside_binary(dir, DIR_MAX, "configs/model/tiny.ini")) return 0;
    dir[strlen(dir) - strlen("/tiny.ini")] = 0; /* the folder */
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
        if (o->seq <= c.model.max_positions) geo_model(&lg[i], &c, o, 1);
    }
}

static const char *largest_fitting(const Geo *lg, const Opts *o, int stage) {
    const char *best = NULL;
    for (int i = 0; i < NLADDER; i++) {
        if (!lg[i].pm.nunits) continue;
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
               ? "mixed (bf16 params and grads, fp32 master and states; bf16 activations)"
           : o->precision == PREC_BF16
               ? "bf16 (bf16 params and grads, fp32 master and states; fp32 activations, as "
                 "[train] precision = bf16 runs on CPUs)"
               : "fp32 (params 4, grads 4 bytes per parameter)";
}

static const char *states_text(const Opts *o) {
    if (o->optim.name == OPT_ADAFACTOR)
        return o->optim.af_beta1 <= 0 ? "no m, v factored (rows + columns)"
               : o->optim.states == STATES_8BIT
                   ? "m 8bit (momentum; block-wise, 2048 per absmax), v factored (rows + columns)"
               : o->optim.states == STATES_BF16 ? "m bf16 (momentum), v factored (rows + columns)"
                                                : "m fp32 (momentum), v factored (rows + columns)";
    return o->optim.states == STATES_8BIT   ? "m, v 8bit (block-wise, 2048 per absmax)"
           : o->optim.states == STATES_BF16 ? "m, v bf16"
                                            : "m, v fp32";
}

/* K: optimizer bytes per parameter this rank updates (the ZeRO paper's K,
 * master weights included in mixed precision). */
static double k_of(const Geo *g, const Opts *o, int stage) {
    double full = (double)padded_total(g);
    double own = stage == 0 ? full : full / o->ranks;
    return plan_optim_bytes(&g->pm, stage, o->ranks, &o->bytes) / own;
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
           g->pm.nparams, g->pm.nparams / 1e9, g->pm.nunits, padded_total(g), o->ranks,
           MODEL_ALIGN_FLOATS);
    printf("  precision %s\n", precision_text(o));
    printf("  optimizer %s, %s: K = %.3f bytes per parameter (stage 1)\n",
           optim_name(o->optim.name), states_text(o), k_of(g, o, 1));
    if (c) {
        printf("  micro-batch %d x seq %d, accumulation %d, recompute %s", o->micro, o->seq,
               g->pm.accum, o->recompute ? "on" : "off");
        if (g->mlm)
            printf(", MLM head rows %d of %d (mask rate %g)", g->pm.head_rows, o->micro * o->seq,
                   o->mask_rate);
        printf("\n");
    }
}

static void print_one(const Plan *p, const Opts *o, int bare) {
    char b[32];
    const PlanMem *m = &p->mem;
    printf("\nper rank, ZeRO stage %d, %d ranks        bytes          GB\n", p->stage, o->ranks);
#define ROW(label, v) printf("  %-24s %18.0f %11s\n", label, (double)(v), gb(b, sizeof b, v))
    ROW("parameters", m->params);
    ROW("gradients", m->grads);
    ROW("optimizer state", m->optim);
    ROW("model state", p->model_state);
    ROW("buffers", m->buffers);
    printf(
        "  %-24s %18.0f %11s%s\n", "activations", m->activations, gb(b, sizeof b, m->activations),
        bare                         ? "  (none: bare parameter count)"
        : o->precision == PREC_MIXED ? "  (estimate: bf16 activations, 2 bytes per arena element)"
                                     : "");
    ROW("batch", m->data);
    ROW("total", m->total);
    ROW("communication per step", m->wire_bytes);
#undef ROW
    printf("  (bytes each rank sends per step in %d ring collectives; %.0f bytes handed to MPI)\n",
           m->collectives, m->mpi_bytes);
    printf("device %.4g GiB: %s, margin %s GB\n", o->device_gib, p->fits ? "fits" : "DOES NOT FIT",
           gb(b, sizeof b, p->margin));
}

static void print_time(const Plan *p, const Geo *g, const Opts *o) {
    const PlanTime *t = &p->time;
    printf("time model (%.4g TFLOP/s per rank, link %.4g Gbit/s, %.4g us latency; ring "
           "collectives):\n",
           o->tflops, o->gbps, o->us);
    printf("  compute  %.4g s  (%d x %d tokens x %.4g FLOPs per token)\n", t->compute_s, o->micro,
           o->seq, g->pm.flops_per_token);
    printf("  comm     %.4g s  (bandwidth %.4g s + latency %.4g s)\n", t->comm_s, t->comm_bw_s,
           t->comm_lat_s);
    printf("  step     %.4g s with perfect overlap, %.4g s serial\n", t->step_overlap,
           t->step_serial);
    double tok = (double)o->micro * o->seq * o->ranks;
    printf("  MFU      %.1f%% .. %.1f%%   tokens/s %.4g .. %.4g (%d ranks)\n",
           100 * t->compute_s / t->step_overlap, 100 * t->compute_s / t->step_serial,
           tok / t->step_overlap, tok / t->step_serial, o->ranks);
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
    ROW("parameters", p->mem.params);
    ROW("gradients", p->mem.grads);
    ROW("optimizer state", p->mem.optim);
    ROW("model state", p->model_state);
    ROW("buffers", p->mem.buffers);
    ROW(bare                         ? "activations (none)"
        : o->precision == PREC_MIXED ? "activations (bf16 est.)"
                                     : "activations",
        p->mem.activations);
    ROW("batch", p->mem.data);
    ROW("total", p->mem.total);
    ROW("communication per step", p->mem.wire_bytes);
    ROW("margin", p->margin);
#undef ROW
    printf("  %-24s", "fits");
    for (int s = 0; s < 4; s++) printf(" %10s", pl[s].fits ? "yes" : "no");
    printf("\n");
    if (o->timed) {
        printf("  %-24s", "step s (overlap)");
        for (int s = 0; s < 4; s++) printf(" %10.4g", pl[s].time.step_overlap);
        printf("\n  %-24s", "step s (serial)");
        for (int s = 0; s < 4; s++) printf(" %10.4g", pl[s].time.step_serial);
        printf("\n  %-24s", "MFU % (overlap)");
        for (int s = 0; s < 4; s++)
            printf(" %10.1f", 100 * pl[s].time.compute_s / pl[s].time.step_overlap);
        printf("\n");
    }
    printf("device %.4g GiB per rank\n", o->device_gib);
}

static json_t *stage_json(const Plan *p, const Opts *o) {
    const PlanMem *m = &p->mem;
    json_t *j = json_object();
#define SET(k, v) json_object_set_new(j, k, v)
    SET("stage", json_integer(p->stage));
    SET("params_bytes", json_integer((json_int_t)m->params));
    SET("grads_bytes", json_integer((json_int_t)m->grads));
    SET("optim_bytes", json_integer((json_int_t)m->optim));
    SET("model_state_bytes", json_integer((json_int_t)p->model_state));
    SET("buffers_bytes", json_integer((json_int_t)m->buffers));
    SET("activations_bytes", json_integer((json_int_t)m->activations));
    SET("data_bytes", json_integer((json_int_t)m->data));
    SET("total_bytes", json_integer((json_int_t)m->total));
    SET("comm_bytes_per_step", json_real(m->wire_bytes));
    SET("mpi_bytes_per_step", json_real(m->mpi_bytes));
    SET("collectives_per_step", json_integer(m->collectives));
    SET("fits", json_boolean(p->fits));
    SET("margin_bytes", json_integer((json_int_t)p->margin));
    SET("largest_fitting", p->largest ? json_string(p->largest) : json_null());
    if (o->timed) {
        const PlanTime *t = &p->time;
        SET("flops_per_step", json_real(t->flops));
        SET("compute_s", json_real(t->compute_s));
        SET("comm_s", json_real(t->comm_s));
        SET("comm_bandwidth_s", json_real(t->comm_bw_s));
        SET("comm_latency_s", json_real(t->comm_lat_s));
        SET("step_s_overlap", json_real(t->step_overlap));
        SET("step_s_serial", json_real(t->step_serial));
        SET("mfu_overlap", json_real(t->compute_s / t->step_overlap));
        SET("mfu_serial", json_real(t->compute_s / t->step_serial));
        double tok = (double)o->micro * o->seq * o->ranks;
        SET("tokens_per_s", json_real(tok / t->step_overlap));
        SET("tokens_per_s_serial", json_real(tok / t->step_serial));
    }
#undef SET
    return j;
}

static json_t *common_json(const char *model, const Geo *g, const Opts *o, int bare) {
    json_t *j = json_object();
    const PlanBytes *b = &o->bytes;
#define SET(k, v) json_object_set_new(j, k, v)
    SET("model", model ? json_string(model) : json_null());
    SET("params", json_integer((json_int_t)g->pm.nparams));
    SET("padded_params", json_integer((json_int_t)padded_total(g)));
    SET("units", json_integer(g->pm.nunits));
    SET("ranks", json_integer(o->ranks));
    SET("precision", json_string(o->precision == PREC_MIXED  ? "mixed"
                                 : o->precision == PREC_BF16 ? "bf16"
                                                             : "fp32"));
    SET("reduce_elem_bytes", json_integer((json_int_t)b->reduce));
    SET("gather_elem_bytes", json_integer((json_int_t)b->comm));
    SET("param_elem_bytes", json_integer((json_int_t)b->param));
    SET("grad_elem_bytes", json_integer((json_int_t)b->grad));
    SET("optim_bytes_per_param", json_integer((json_int_t)b->state));
    SET("optimizer", json_string(optim_name(o->optim.name)));
    SET("optim_states", json_string(o->optim.name == OPT_ADAFACTOR
                                        ? (o->optim.af_beta1 <= 0           ? "factored"
                                           : o->optim.states == STATES_8BIT ? "factored+m 8bit"
                                           : o->optim.states == STATES_BF16 ? "factored+m bf16"
                                                                            : "factored+m")
                                    : o->optim.states == STATES_8BIT ? "8bit"
                                    : o->optim.states == STATES_BF16 ? "bf16"
                                                                     : "fp32"));
    SET("optim_K", json_real(k_of(g, o, 1)));
    SET("micro_batch", json_integer(o->micro));
    SET("accumulation", json_integer(g->pm.accum));
    SET("seq", json_integer(o->seq));
    SET("recompute", json_boolean(o->recompute));
    if (!bare && g->mlm) {
        SET("mask_rate", json_real(o->mask_rate));
        SET("head_rows", json_integer(g->pm.head_rows));
    }
    SET("activation_elements", json_integer((json_int_t)plan_activation_elems(&g->pm)));
    SET("activation_elem_bytes", json_integer((json_int_t)b->act));
    SET("activation_estimate", json_boolean(!bare && o->precision == PREC_MIXED));
    SET("flops_per_token", json_real(g->pm.flops_per_token));
    SET("device_gib", json_real(o->device_gib));
    SET("device_bytes", json_integer((json_int_t)(o->device_gib * 1073741824.0)));
    if (o->timed) {
        SET("device_tflops", json_real(o->tflops));
        SET("link_gbps", json_real(o->gbps));
        SET("link_us", json_real(o->us));
    }
#undef SET
    return j;
}

/* ------------------------------------------------------------------------- */

int cmd_plan(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_PLAN)) return 0;
    Config cfg;
    config_defaults(&cfg);
    Opts o;
    memset(&o, 0, sizeof o);
    o.ranks = 1, o.stage = -1, o.device_gib = 80;
    const char *model_path = NULL, *cfg_path = NULL, *prec = NULL;
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
            if (strcmp(prec, "fp32") && strcmp(prec, "mixed") && strcmp(prec, "bf16"))
                z_die_all("plan: --precision must be fp32, bf16 or mixed (got '%s')", prec);
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
            z_die_all("plan: unknown argument %s (zeropt plan --help)", a);
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
    if (!prec) prec = cfg.train.precision == DT_BF16 ? "bf16" : "fp32"; /* the config's */
    o.precision = !strcmp(prec, "mixed")  ? PREC_MIXED
                  : !strcmp(prec, "bf16") ? PREC_BF16
                                          : PREC_FP32;
    o.bytes = plan_geo_bytes(o.precision, &cfg);
    o.optim = cfg.optim;
    o.micro = B ? B : cfg.train.micro_batch;
    o.seq = T ? T : cfg.data.seq_len;
    o.recompute = recompute || cfg.train.recompute;
    o.mask_rate = mask > 0 ? mask : cfg.data.mask_rate;
    if ((long)o.micro * o.seq > (1L << 30))
        z_die_all("plan: micro-batch x seq = %d x %d is too large", o.micro, o.seq);

    const char *what = model_path ? model_path : cfg_path;
    Geo g;
    if (bare) {
        plan_geo_bare(&g, P, &cfg, o.ranks, o.micro, o.seq);
    } else {
        if (o.seq > cfg.model.max_positions)
            z_die_all("plan: seq %d exceeds [model] max_positions = %d (%s)", o.seq,
                      cfg.model.max_positions, what);
        cfg.data.seq_len = o.seq, cfg.train.micro_batch = o.micro, cfg.data.mask_rate = o.mask_rate;
        cfg.train.recompute = o.recompute;
        config_finish(&cfg, what);
        int per = o.micro * o.ranks, gbatch = cfg.train.global_batch;
        int accum = cfg_path && gbatch > 0 && gbatch % per == 0 ? gbatch / per : 1;
        geo_model(&g, &cfg, &o, accum);
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
                   o.ranks, o.device_gib, s, prec, o.micro, o.seq, o.recompute ? ", recompute" : "",
                   pl[s].largest ? pl[s].largest : "none");
        }
    }
    free(g.padded), free(g.tensors);
    if (have_ladder)
        for (int i = 0; i < NLADDER; i++) free(lg[i].padded), free(lg[i].tensors);
    return 0;
}
