/*
 * config.h — the run's configuration: INI files read with libinih, then
 * `section.key=value` overrides from the command line, then validation.
 * Every key is declared once in a table (config.c) with its type, default,
 * range and help; unknown keys and impossible values are refused with one
 * line naming the source, the key and the value.
 */
#ifndef ZEROPT_CONFIG_H
#define ZEROPT_CONFIG_H

#include "model.h"
#include "train.h"

typedef struct {
    ModelConfig model;
    DataConfig data;
    TrainConfig train;
    RunConfig run;
    ZeroConfig zero;
    CkptConfig ckpt;
} Config;

/* Defaults for every key. */
void config_defaults(Config *c);
/* Read an INI file (a top-level `include = other.ini` loads another first,
 * relative to the including file). Dies on any error. */
void config_load(Config *c, const char *path);
/* Read INI text (a config stored in a checkpoint); source names it in errors. */
void config_load_string(Config *c, const char *text, const char *source);
/* 1 when two models differ in an architecture key (what names it). */
int config_model_differs(const ModelConfig *a, const ModelConfig *b, char *what, size_t n);
/* Apply "section.key=value"; returns 0 when arg has no '=' (not an override). */
int config_override(Config *c, const char *arg);
/* Resolve derived values (ffn = 0 → 4·width, objective from arch) and
 * check cross-key rules. */
void config_finish(Config *c, const char *source);
/* The resolved configuration as INI text (malloc'd); only one section when
 * `only` is not NULL. */
char *config_format(const Config *c, const char *only);
/* Human-readable key reference, one line per key. */
void config_print_keys(void);

#endif
