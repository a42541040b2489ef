/*
 * jobs.h — a campaign's jobs on Slurm or on this machine: the sbatch
 * command of every job (one point, or a job array of the points that share
 * a shape: nodes, ranks per node, time limit), submission refused as a
 * whole when sbatch --test-only refuses any job, the record of what was
 * submitted (<dir>/jobs.jsonl), the queue as squeue (and sacct, where
 * accounting answers) tell it, local runs through mpirun, and the state of
 * every point.
 *
 * A point is done when its metrics.jsonl ends at its planned step; queued
 * or running while its newest job is in squeue; failed when its newest job
 * left the queue with an error in its log (the line is kept) or a failed
 * exit; unfinished when it left without one; new when never submitted.
 */
#ifndef ZEROPT_SWEEP_JOBS_H
#define ZEROPT_SWEEP_JOBS_H

#include "campaign.h"

#include <stdio.h>

typedef enum { PT_NEW, PT_QUEUED, PT_RUNNING, PT_DONE, PT_FAILED, PT_UNFINISHED } PointState;
const char *point_state_name(PointState s);

typedef struct {
    PointState state;
    char job[64]; /* the newest job's id (123, 123_4, "local"), "" */
    char log[2 * CAMPAIGN_PATH];
    char error[512];      /* failed: the log's last error line, or the exit status */
    char slurm_state[32]; /* sacct's or squeue's word, "" */
} PointStatus;

/* The queue: squeue's jobs (array tasks expanded). −1 with err when squeue
 * cannot be asked (no Slurm here): the states of submitted points are then
 * unknown. */
typedef struct {
    char (*id)[64];
    char (*st)[32];
    int n;
    int ok;
} Queue;
void queue_read(Queue *q);
void queue_free(Queue *q);

/* The status of point i (q may be NULL: no queue). */
PointStatus point_status(const Campaign *k, int i, const Queue *q);

/* One job: the points it runs (indices into k->pt) and its sbatch words. */
typedef struct {
    int *pt, npt;
    char list[2 * CAMPAIGN_PATH]; /* an array's list of point.ini files, "" */
    char **argv;
    int argc;
} Job;

/* The jobs of the points todo[0..n) (same shape: one array), the list
 * files named but not written. */
int jobs_build(const Campaign *k, const int *todo, int n, Job **out);
void jobs_free(Job *j, int n);
/* The command as a shell line. */
void job_print(FILE *f, const Job *j);
/* sbatch --test-only: 0, or −1 with sbatch's complaint in err. */
int job_test(const Job *j, char *err, size_t n);
/* Write the list, submit, record every point's job in <dir>/jobs.jsonl;
 * the job id (an array's base id) in id. 0, or −1 with err. */
int job_submit(const Campaign *k, const Job *j, char *id, size_t idn, char *err, size_t n);

/* Run point i here: mpirun -n ranks zeropt train -c point.ini (output in
 * <dir>/<point>/train.log), recorded in jobs.jsonl; the exit status. */
int point_run_local(const Campaign *k, int i, const char *mpirun);

#endif
