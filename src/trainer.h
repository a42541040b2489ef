/*
 * trainer.h — the state of a training (or evaluation) run, shared by
 * train_setup.c (config, data, parameters in and out), train_zero.c (the
 * model's hooks onto the ZeRO partition, the optimizer step over shards) and
 * train.c (steps, evaluation, logging, the commands).
 */
#ifndef ZEROPT_TRAINER_H
#define ZEROPT_TRAINER_H

#include "config.h"
#include "data.h"
#include "model.h"

#include "../io/metrics.h"
#include "../io/tensorfile.h"
#include "../mpi/zero.h"

typedef struct {
    Config cfg;
    const char *cfg_path;
    Model m;
    Zero *zero;
    float *unit_tmp; /* one unit, full size: init, load and save under ZeRO-3 */
    int rank, nranks, mb, T, accum, gb;
    DataSource train, val;
    int has_val;
    int32_t *tok, *lab; /* [accum][mb·T] this rank's share of a step */
    int64_t *pos;       /* [accum·mb] training positions (dropout streams) */
    Metrics *metrics;
    double peak_flops; /* per rank */
    int32_t *replay_tok, *replay_lab;
    TensorFile *dump;
    int32_t *dump_tok, *dump_lab;
    double t_start;
    long step0;            /* first step of this run (> 0 after a resume) */
    int64_t cursor0;       /* training position of step0's first sample */
    char err[1200];        /* a data error met this step, reported when all ranks agree */
    struct Pruner *pruner; /* rank 0: old checkpoints being removed in the background */
} Trainer;

/* train_setup.c */
void trainer_parse(Trainer *tr, int argc, char **argv, const char *cmd);
/* Everything but the run directory: geometry, data, partition, parameters
 * (initialised from the seed, or from the replay file), activations. */
void trainer_build(Trainer *tr);
void trainer_free(Trainer *tr);
void trainer_mkdir(const char *dir);
/* Each unit's full parameters, one at a time (collective under ZeRO-3):
 * fn(ctx, unit, full buffer). */
void trainer_each_unit(Trainer *tr, void (*fn)(void *ctx, Trainer *tr, int u, float *full),
                       void *ctx);
/* Read every tensor "<prefix>/<name>" of a file into the parameters. */
void trainer_load_params(Trainer *tr, const char *path, const char *prefix);
/* Write every parameter as "model/<name>" (rank 0 writes; collective). */
void trainer_save_model(Trainer *tr, const char *path);
void trainer_start_dump(Trainer *tr);
void trainer_finish_dump(Trainer *tr);
double trainer_measure_peak(void);

/* ckpt.c */
/* Save a checkpoint of the state after `step` steps: written collectively as
 * <dir>/.step_N.h5.partial, closed, renamed to step_N.h5, then `latest`
 * replaced atomically; old ones pruned (rank 0, in a background thread that
 * the next save waits for, so training does not stall on unlinks). */
void trainer_save_ckpt(Trainer *tr, long step);
/* Wait for the background removal of old checkpoints (trainer_free calls it). */
void trainer_ckpt_wait(Trainer *tr);
/* Apply [checkpoint] resume: load parameters, optimizer state, step and data
 * cursor from a checkpoint saved under any rank count and stage. Returns 1
 * when resumed. Collective. */
int trainer_resume(Trainer *tr);

/* train_zero.c */
void trainer_install_hooks(Trainer *tr);
/* Optimizer step over this rank's shards: global norm (double, one
 * all-reduce with a NaN/Inf flag and the loss), clipping, AdamW, parameter
 * all-gather. Returns the gradient norm; *loss_sum is summed over ranks. */
double trainer_update(Trainer *tr, long step, double lr, double *loss_sum);

#endif
