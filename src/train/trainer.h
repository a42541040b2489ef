/*
 * trainer.h — the state of a training (or evaluation) run, and the parts of
 * the trainer, one file each:
 *
 *   setup.c  config and batch geometry, data, the ZeRO partition,
 *            parameters in (seed, dump, model file) and out
 *   hooks.c  the model's passes on the ZeRO partition; the optimizer step
 *            over this rank's shards
 *   step.c   one training step: this rank's samples, forward, backward,
 *            reductions, update
 *   eval.c   validation loss and accuracy; predictions on held-out documents
 *   log.c    the run header, the log lines and the metrics records
 *   loop.c   a whole run: resume, steps, evaluations, checkpoints, a stop
 *            asked by a signal
 *   ckpt.c   checkpoints: save and commit, prune, resume, verify
 *   continual.c  continual pretraining: the original corpus (its validation
 *            loss, replay), the initial parameters and the pull towards them
 */
#ifndef ZEROPT_TRAINER_H
#define ZEROPT_TRAINER_H

#include "src/config/config.h"
#include "src/data/data.h"
#include "src/model/model.h"
#include "src/objectives/objective.h"
#include "src/optim/optim.h"

#include "io/metrics.h"
#include "io/tensorfile.h"
#include "kernels/kernels.h"
#include "mpi/err.h"
#include "mpi/zero.h"

/* `zeropt train` exit status after a signal asked it to stop early (a
 * checkpoint was written): EX_TEMPFAIL, "try again" — requeue the job. */
#define EXIT_STOPPED 75

typedef struct {
    Config cfg;
    const char *cfg_path;
    Model m;
    Zero *zero;
    Optim *opt;         /* this rank's optimizer state */
    float **opt_p;      /* [nunits] this rank's parameters (mixed: master), for the update */
    const void **opt_g; /* [nunits] its gradients (fp32, or bf16 in mixed precision) */
    double *opt_sums;   /* lamb, adafactor: the loss, norm, flag and the optimizer's sums */
    int rank, nranks;
    int micro, seq, accum; /* sequences per forward, tokens per sequence, micro-batches per step */
    int cur_seq;           /* this step's sequence length ([curriculum] warm-up; else seq) */
    long steps_total;      /* steps of the run: [train] steps, more with a length warm-up */
    int batch;             /* global batch: sequences per step over all ranks */
    Objective obj;
    /* continual pretraining ([continual]): the original corpus, replayed
     * (orig) and validated on (orig_val); the initial parameters of the
     * rank's part (w0[u], the layout the optimizer updates) for L2-SP */
    Objective orig_obj;
    DataSource orig, orig_val;
    int has_orig, has_orig_val, replay_per_step;
    float **w0;
    const uint8_t *word_cont; /* [vocab] word continuations for word/span masking (the caller's) */
    DataSource train, val;
    int has_val;
    double unigram;  /* entropy of the training tokens' unigram distribution (nats), NAN: unknown */
    double last_val; /* the last validation loss, NAN: none yet */
    int32_t *tok, *lab; /* [accum · micro, seq] this rank's share of a step */
    uint8_t *mask;      /* [accum · micro, seq] attention masks (packing = pad), else NULL */
    int64_t *pos;       /* [accum · micro] training positions (dropout streams) */
    float *emb;         /* contrastive: [batch, C] the global batch's sequence embeddings */
    float *demb;        /* contrastive: [accum · micro, C] their gradient, this rank's rows */
    Metrics *metrics;
    double peak_flops; /* per rank */
    KBlasInfo blas;
    double rss_base; /* resident bytes before the long-lived buffers were allocated */
    int32_t *replay_tok, *replay_lab;
    TensorFile *dump;
    int32_t *dump_tok, *dump_lab;
    double t_start;
    long step0;          /* first step of this run (> 0 after a resume) */
    int64_t cursor0;     /* training position of step0's first sample */
    char err[Z_ERR_MAX]; /* a data error met this step, reported when all ranks agree */
    /* the divergence guard (loop.c): skipped updates, rewinds, the loss window */
    int skips, rewinds, spiked;
    double *win; /* [guard.window] the latest step losses, a ring */
    int win_n, win_at;
    long lr_hold_until;          /* steps before this one run at lr × guard.rewind_lr */
    struct Pruner *pruner;       /* rank 0: old checkpoints being removed in the background */
    struct PendingSave *pending; /* a checkpoint whose parts are being written (ckpt.c) */
} Trainer;

/* setup.c */
void trainer_parse(Trainer *tr, int argc, char **argv, const char *cmd);
/* Everything but the run directory: geometry, data, partition, parameters
 * (initialised from the seed, or from the replay file), activations. */
void trainer_build(Trainer *tr);
void trainer_free(Trainer *tr);
/* Read every tensor "<prefix>/<name>" of a file into the parameters. */
void trainer_load_params(Trainer *tr, const char *path, const char *prefix);
/* Write every parameter as "model/<name>" (rank 0 writes; collective). */
void trainer_save_model(Trainer *tr, const char *path);
void trainer_start_dump(Trainer *tr);
void trainer_finish_dump(Trainer *tr);
/* This process's resident memory now and at its peak (VmRSS, VmHWM), bytes. */
double trainer_rss(int peak);

/* continual.c */
/* Open the original corpus (after the training data: the same tokenizer). */
void trainer_continual_data(Trainer *tr);
/* Before resume: the initial parameters of [continual] init (and their copy
 * for L2-SP); after it (resumed = 0): start from them. Collective. */
void trainer_continual_init(Trainer *tr, int resumed);
/* The L2-SP pull of the rank's parameters p[u] at learning rate lr. */
void trainer_continual_pull(Trainer *tr, float **p, double lr);
void trainer_continual_free(Trainer *tr);

/* hooks.c */
void trainer_install_hooks(Trainer *tr);
/* Optimizer step over this rank's shards: global norm (double, one
 * all-reduce with a NaN/Inf flag, the loss and the optimizer's first sums),
 * clipping, the optimizer's second sums, the update, parameter all-gather.
 * Returns the gradient norm; *loss_sum is summed over ranks. */
double trainer_update(Trainer *tr, long step, double lr, double *loss_sum);

/* step.c */
typedef struct {
    double loss, gnorm, lr, comm_bytes, control_bytes, wait_s;
    double mlm_loss, con_loss; /* the parts of loss (contrastive on; NAN otherwise) */
    int seq;                   /* the step's sequence length */
    int stop;    /* a rank was asked to stop (SIGUSR1/SIGTERM): the step did not run */
    int skipped; /* a non-finite loss or gradient: no update on any rank ([guard]) */
} StepStats;
void trainer_catch_signals(void);
StepStats trainer_step(Trainer *tr, long s);

/* eval.c */
typedef struct {
    double loss, acc, count;
    double recall1, recall10; /* retrieval ([objective] retrieval_pairs), NAN: not measured */
    int pairs;
} EvalStats;
/* The first val_batches × global batch held-out sequences (collective). */
EvalStats trainer_evaluate(Trainer *tr, DataSource *d, long step);
/* Retrieval on held-out data: view 0 of each of the first n samples of d
 * (a crop, unmasked) is a query, view 1 its document; recall@1 and @10 of
 * ranking the right document first / in the top 10 among all n documents
 * by the objective's similarity of pooled embeddings (collective). */
void trainer_retrieval(Trainer *tr, DataSource *d, int n, double *recall1, double *recall10);
/* One held-out document with some of its words masked, and the model's
 * guesses for each (MLM): for shown predictions. */
#define PREDICT_TOP 3
typedef struct {
    int n;           /* tokens of the document (without [CLS], [SEP]) */
    int32_t *tokens; /* [n] the document */
    int nmasked;     /* masked positions (whole single-token words) */
    int *at;         /* [nmasked] their index in tokens */
    int32_t *guess;  /* [nmasked][PREDICT_TOP] best guesses */
    float *prob;     /* [nmasked][PREDICT_TOP] their probabilities */
} Prediction;
/* Up to n held-out documents of at most seq − 2 tokens, about `rate` of
 * their words masked, each read as a training window is (the following
 * documents fill the rest of the window); kind(ctx, id) says which tokens
 * are whole words (1: a word's start, 2: its continuation, 0: other).
 * Returns how many were filled (collective; every rank returns the same). */
int trainer_predict(Trainer *tr, Prediction *p, int n, double rate,
                    int (*kind)(void *ctx, int32_t id), void *ctx);
void trainer_free_predictions(Prediction *p, int n);

/* log.c */
void trainer_log_header(Trainer *tr, double flops_per_token);
void trainer_log_step(Trainer *tr, long step, const StepStats *st, double dt, double fpt);
/* orig: the original corpus's validation ([continual] original), or NULL */
void trainer_log_eval(Trainer *tr, long step, EvalStats e, const EvalStats *orig, int own_record);
void trainer_log_end(Trainer *tr, long last);

/* loop.c: a whole run; the exit status (0, or EXIT_STOPPED). */
int trainer_run(Trainer *tr);

/* ckpt.c */
/* Save a checkpoint of the state after `step` steps: written collectively as
 * <dir>/.step_N.h5.partial, closed, renamed to step_N.h5, then `latest`
 * replaced atomically; old ones pruned (rank 0, in a background thread that
 * the next save waits for, so training does not stall on unlinks). With
 * [checkpoint] async (io = direct) the tensors are snapshot and written by
 * a thread while training goes on; trainer_ckpt_poll commits. */
void trainer_save_ckpt(Trainer *tr, long step);
/* Finish and commit a save in flight ([checkpoint] async), then wait for
 * the background removal of old checkpoints. Collective. */
void trainer_ckpt_wait(Trainer *tr);
/* Once a step: commit the save in flight when every rank's writer thread
 * is done (collective: one small all-reduce while one is in flight). */
void trainer_ckpt_poll(Trainer *tr);
/* Before anything changes the master shards or the optimizer state: wait
 * for a save in flight that writes them from where they live (not
 * collective). */
void trainer_ckpt_fence(Trainer *tr);
/* Apply [checkpoint] resume: load parameters, optimizer state, step and data
 * cursor from a checkpoint saved under any rank count and stage. Returns 1
 * when resumed. Collective. */
int trainer_resume(Trainer *tr);
/* Parameters only from a checkpoint (a file, or a directory's newest) or a
 * model.h5: [continual] init (collective). */
void trainer_load_init(Trainer *tr, const char *from);
/* The divergence guard's rewind: load the newest complete checkpoint of step
 * ≤ newest (collective). Returns its step (then step0 and cursor0 are its),
 * or −1 when there is none. */
long trainer_rewind(Trainer *tr, long newest);
/* What resume checks, for one checkpoint, in one process: the header
 * (format, complete flag), the stored config, the training state, and every
 * tensor the config implies — model, Adam m and v — with its shape and CRC,
 * read by the same collective reader resume uses. 0 when resume would
 * accept it (then *tensors counts them); otherwise err says why. */
int trainer_verify_ckpt(const char *path, int *tensors, char *err, size_t errlen);
/* Tools, one process: a checkpoint's model with its parameters (laid out
 * for 1 rank, from its stored config), and a step-0 checkpoint of a model's
 * parameters with fresh optimizer state (an import from elsewhere). */
int trainer_ckpt_model(const char *path, Model *m, char *err, size_t errlen);
/* The config a checkpoint was written with. 0 on success. */
int trainer_ckpt_config(const char *path, Config *cfg, char *err, size_t errlen);
int trainer_ckpt_from_model(const char *path, const Model *m, const Config *cfg, const char *origin,
                            char *err, size_t errlen);

#endif
