/*
 * cmd_model.c — `zeropt model -c <ini> [--json] [section.key=value ...]`:
 * the parameter count and the unit layout, without allocating the model.
 */
#include "cmd.h"
#include "src/config/config.h"
#include "src/model/model.h"

#include "mpi/err.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *unit_name(const Model *m, int u, char *buf, size_t n) {
    if (u == 0) return "embed";
    if (u == m->nunits - 1) return "head";
    snprintf(buf, n, "blocks.%02d", u - 1);
    return buf;
}

static void print_text(const Model *m, const char *cfgtext) {
    printf("%s\n", cfgtext);
    printf("parameters: %zu (%.2fM) in %d units, %.4g training FLOPs/token at T=%d\n", m->nparams,
           m->nparams / 1e6, m->nunits, model_flops_per_token(m, m->c.max_positions, 1.0),
           m->c.max_positions);
    char nb[32];
    for (int u = 0; u < m->nunits; u++) {
        const Unit *U = &m->unit[u];
        printf("unit %3d %-10s %12zu params (padded %zu)\n", u, unit_name(m, u, nb, sizeof nb),
               U->numel, U->padded);
        for (int i = U->first_view; i < U->first_view + U->nviews; i++) {
            const ParamView *v = &m->view[i];
            char shape[48];
            if (v->ndim == 2)
                snprintf(shape, sizeof shape, "[%d, %d]", v->shape[0], v->shape[1]);
            else
                snprintf(shape, sizeof shape, "[%d]", v->shape[0]);
            printf("    %-36s %-16s %12zu  @%zu%s\n", v->name, shape, v->numel, v->offset,
                   v->decay ? "" : "  (no decay)");
        }
    }
}

static void print_json(const Model *m, const char *cfgtext) {
    json_t *units = json_array();
    char nb[32];
    for (int u = 0; u < m->nunits; u++) {
        const Unit *U = &m->unit[u];
        json_t *tensors = json_array();
        for (int i = U->first_view; i < U->first_view + U->nviews; i++) {
            const ParamView *v = &m->view[i];
            json_t *shape = json_array();
            for (int d = 0; d < v->ndim; d++)
                json_array_append_new(shape, json_integer(v->shape[d]));
            json_array_append_new(tensors,
                                  json_pack("{s:s,s:o,s:I,s:I,s:b}", "name", v->name, "shape",
                                            shape, "numel", (json_int_t)v->numel, "offset",
                                            (json_int_t)v->offset, "decay", v->decay));
        }
        json_array_append_new(units, json_pack("{s:i,s:s,s:I,s:I,s:o}", "index", u, "name",
                                               unit_name(m, u, nb, sizeof nb), "numel",
                                               (json_int_t)U->numel, "padded",
                                               (json_int_t)U->padded, "tensors", tensors));
    }
    json_t *root =
        json_pack("{s:I,s:i,s:f,s:s,s:o}", "params", (json_int_t)m->nparams, "units_count",
                  m->nunits, "flops_per_token", model_flops_per_token(m, m->c.max_positions, 1.0),
                  "config", cfgtext, "units", units);
    json_dumpf(root, stdout, JSON_INDENT(1));
    printf("\n");
    json_decref(root);
}

const char USAGE_MODEL[] =
    "zeropt model -c <model.ini> [--json] [--ranks N] [section.key=value ...]\n"
    "    parameter count and unit layout, without allocating\n"
    "zeropt model --keys\n"
    "    every configuration key with its default\n";

int cmd_model(int argc, char **argv) {
    if (cli_help(argc, argv, USAGE_MODEL)) return 0;
    Config cfg;
    config_defaults(&cfg);
    const char *path = NULL;
    int json = 0, ranks = 1;
    for (int i = 0; i < argc; i++) {
        if (!strcmp(argv[i], "-c") && i + 1 < argc)
            config_load(&cfg, path = argv[++i]);
        else if (!strcmp(argv[i], "--json"))
            json = 1;
        else if (!strcmp(argv[i], "--ranks") && i + 1 < argc)
            ranks = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--keys")) {
            config_print_keys();
            return 0;
        } else if (!config_override(&cfg, argv[i]))
            z_die_all("model: unknown argument %s (zeropt model --help)", argv[i]);
    }
    if (ranks < 1) z_die_all("model: --ranks must be at least 1");
    config_finish(&cfg, path ? path : "defaults");
    Model m;
    model_layout(&m, &cfg.model, ranks, MODEL_ALIGN_FLOATS);
    char *text = config_format(&cfg, "model");
    if (json)
        print_json(&m, text);
    else
        print_text(&m, text);
    free(text);
    model_free(&m);
    return 0;
}
