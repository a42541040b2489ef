/*
 * train.h — training configuration ([data], [train], [run]) and the entry
 * point of `zeropt train` / `zeropt eval`.
 */
#ifndef ZEROPT_TRAIN_H
#define ZEROPT_TRAIN_H

#define PATH_MAX_CFG 1024

enum { OBJ_AUTO = 0, OBJ_MLM = 1, OBJ_CLM = 2 };
enum { SCHED_LINEAR = 0, SCHED_COSINE = 1, SCHED_CONSTANT = 2, SCHED_WSD = 3 };

typedef struct {
    char path[PATH_MAX_CFG]; /* corpus.h5 */
    int seq_len;             /* T */
    int objective;           /* OBJ_* (auto: mlm for encoders, clm for decoders) */
    double mask_rate;        /* MLM: fraction of positions predicted (80/10/10) */
    int shuffle;             /* seeded permutation of samples */
    int val_batches;         /* global batches of validation data per evaluation */
} DataConfig;

typedef struct {
    int micro_batch;   /* sequences per rank per forward/backward */
    int global_batch;  /* sequences per optimizer step (0 = micro_batch × ranks) */
    long steps;        /* optimizer steps (the schedule's length) */
    long stop_at;      /* stop this invocation after this step, with a checkpoint (0 = run on) */
    double lr, min_lr; /* peak and floor learning rate */
    long warmup;       /* linear warm-up steps */
    int schedule;      /* SCHED_* after warm-up */
    double decay_frac; /* warmup-stable-decay: fraction of steps spent decaying */
    double weight_decay, beta1, beta2, eps;
    double clip;     /* global gradient-norm clip (0 = off) */
    long seed;       /* init, sampling, masking, dropout */
    long eval_every; /* steps between validations (0 = only at the end) */
    long log_every;
    int threads;                     /* CPU threads per rank (0 = OpenMP default) */
    int recompute;                   /* activation recomputation per block */
    char dump_batches[PATH_MAX_CFG]; /* write initial params + every batch here (1 rank) */
    char replay[PATH_MAX_CFG];       /* train on the batches (and init) of a dump file */
} TrainConfig;

typedef struct {
    char dir[PATH_MAX_CFG]; /* run directory: config.ini, metrics.jsonl, model.h5 */
    double peak_tflops;     /* per-rank peak for MFU (0 = measure sgemm at start) */
} RunConfig;

typedef struct {
    long every;                /* save every N steps (0 = only at the end, −1 = never) */
    int keep_last;             /* keep the newest k checkpoints (0 = all) */
    long keep_every;           /* also keep every m-th step forever (0 = none) */
    char resume[PATH_MAX_CFG]; /* auto | none | <path> */
    char dir[PATH_MAX_CFG];    /* default: <run.dir>/ckpt */
    int io;                    /* 0 direct, 1 hdf5: how tensor bytes move (CkptIo) */
} CkptConfig;

typedef struct {
    int stage;   /* 0–3 */
    int overlap; /* non-blocking reductions and prefetches progressed during compute */
} ZeroConfig;

/* `zeropt train` exit status after a signal asked it to stop early (a
 * checkpoint was written): EX_TEMPFAIL, "try again" — requeue the job. */
#define EXIT_STOPPED 75

int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);

#endif
