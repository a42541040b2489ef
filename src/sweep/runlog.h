/*
 * runlog.h — one run as its metrics.jsonl tells it (src/train/log.c writes
 * it): the header record's facts, every step record and every evaluation, and
 * the summary a campaign collects (final and best validation loss, tokens,
 * FLOPs, wall time, throughput). Read by `zeropt plot` and `zeropt sweep`.
 *
 * A record whose step goes back (a resumed run repeating steps after its
 * last checkpoint, or a guard rewind) replaces the records from that step
 * on, so the series is the history of the weights that survived.
 */
#ifndef ZEROPT_SWEEP_RUNLOG_H
#define ZEROPT_SWEEP_RUNLOG_H

#include <stddef.h>

typedef struct {
    long step;
    double tokens, elapsed_s; /* elapsed: summed over the run's jobs (resumes) */
    double loss, lr, grad_norm, tokens_per_s, mfu;
} RunStep;

typedef struct {
    long step;
    double tokens, elapsed_s, loss;
    double loss_orig; /* continual pretraining: on the original corpus (NAN: none) */
} RunEval;

typedef struct {
    /* the header (step 0) record; 0 / NAN when the run predates a key */
    double params, nonembedding_params, flops_per_token, unigram;
    long seq_len, global_batch, steps_planned;
    int ranks, stage;
    RunStep *step;
    int nstep;
    RunEval *eval;
    int neval;
    int finished; /* the end record (peak_rss_bytes) at the last planned step */
    int resumes;  /* header records after the first: jobs that resumed */
} RunLog;

/* Read path (a run folder holding metrics.jsonl, or the file itself).
 * 0, or −1 with one line in err naming the file (and the line) and the
 * problem: missing, unreadable, not JSON, no header record. */
int runlog_read(RunLog *r, const char *path, char *err, size_t errlen);
void runlog_free(RunLog *r);

/* The quantities a campaign reports of a run (NAN where the log has none). */
typedef struct {
    long last_step;
    double tokens, flops;             /* trained on through last_step: 6·N·D-style, from fpt */
    double final_val, best_val;       /* the last and the lowest validation loss */
    double final_loss;                /* the mean training loss of the last 10 % of steps */
    double wall_s, tokens_per_s, mfu; /* wall: summed over jobs; rates: medians */
} RunSummary;
RunSummary runlog_summary(const RunLog *r);

#endif
