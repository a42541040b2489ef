/*
 * campaign.h — a scaling-law campaign: its file (an INI with [campaign],
 * [machine], [slurm], [model.NAME] and [point.NAME] sections) turned into
 * points, each a finished training Config, and each point's allocation
 * (ranks, nodes, ZeRO stage, micro-batch, accumulation) chosen from the
 * planning library's memory and time arithmetic (src/plan), not by trial.
 *
 * A point is one model × one token budget × one learning rate, named
 * MODEL-BUDGET-lrLR (tiny-20x-lr2e-3), and trains in <dir>/<point>/ from
 * <dir>/<point>/point.ini. The allocation is the smallest rank count that
 * fits (one node's divisors of devices_per_node, then whole nodes), at the
 * lowest ZeRO stage that fits, with the largest micro-batch that fits; with
 * target_hours, more nodes until the predicted time is under it (the
 * fastest allocation when none is).
 *
 * Every problem is one line naming the campaign file and exits (z_die_all):
 * an unknown key or model, a missing recipe, a budget shorter than one step, a point no allocation
 * fits, an impossible Slurm option.
 */
#ifndef ZEROPT_SWEEP_CAMPAIGN_H
#define ZEROPT_SWEEP_CAMPAIGN_H

#include "src/config/config.h"

#define CAMPAIGN_NAME 96
#define CAMPAIGN_PATH 1024

typedef struct {
    char name[CAMPAIGN_NAME], model[CAMPAIGN_NAME], budget[CAMPAIGN_NAME];
    double lr;
    Config cfg; /* finished; run.dir = <dir>/<name>, steps from the budget */
    char ini[CAMPAIGN_PATH + CAMPAIGN_NAME + 16]; /* <dir>/<name>/point.ini */
    double params, nonembedding, flops_per_token;
    double tokens, flops; /* steps × global batch × seq, and × FLOPs per token */
    long steps;
    /* the allocation */
    int ranks, nodes, per_node, stage, micro, accum;
    double mem_bytes, device_bytes; /* rank 0's total and the device's */
    double compute_s, comm_s, step_s, hours, device_hours;
    int over_target; /* no allocation up to max_nodes meets target_hours: the fastest */
} Point;

typedef struct {
    char path[CAMPAIGN_PATH]; /* the campaign file */
    char name[CAMPAIGN_NAME], dir[CAMPAIGN_PATH], recipe[CAMPAIGN_PATH], corpus[CAMPAIGN_PATH];
    /* [machine] */
    int devices_per_node, max_nodes, max_micro, precision; /* PREC_* */
    double device_gib, device_tflops, efficiency, link_gbps, link_us, target_hours;
    /* [slurm] */
    char partition[128], account[128], time[32], extra[1024], script[CAMPAIGN_PATH];
    int gpus_per_task, cpus_per_task;
    long time_s; /* 0: the partition's limit */
    Point *pt;
    int npt;
    double total_hours, total_device_hours;
} Campaign;

/* Read the campaign at path and build its points (configs finished,
 * allocations chosen). Dies with one line on any problem. */
void campaign_load(Campaign *k, const char *path);
void campaign_free(Campaign *k);

/* Create <dir>, write every point's point.ini (creating <dir>/<point>/);
 * dies on a write error. */
void campaign_write_points(const Campaign *k);

/* 1 with the first point whose corpus is not set or not readable in err
 * (submit refuses the campaign; plan sizes it anyway). */
int campaign_corpus_missing(const Campaign *k, char *err, size_t n);

/* <the binary's folder>/../rel in out (build/zeropt -> the checkout's
 * configs/, slurm/); 1 when that file is readable. */
int beside_binary(char *out, size_t n, const char *rel);

/* The point named name, or NULL. */
const Point *campaign_point(const Campaign *k, const char *name);

#endif
