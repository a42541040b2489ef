/*
 * ckpt.c — checkpoints of a run: which tensors and state go in, the commit
 * protocol, pruning, resuming under any rank count and ZeRO stage, and
 * verifying a file with the checks resume makes.
 *
 * Each rank contributes, for every tensor, the part that lies in the r-th
 * slice of its unit (DESIGN.md "The ZeRO partition") — at every stage, so
 * each element is written exactly once — and reads back the part its new
 * slice covers; the stage then all-gathers what it keeps whole.
 *
 * Commit: write <dir>/.step_N.h5.partial collectively (the file's own
 * `complete` attribute is written last), close, barrier; rank 0 fsyncs it,
 * renames it to step_N.h5, fsyncs the directory, writes latest.tmp, fsyncs,
 * renames it over `latest`, fsyncs the directory. A crash at any point leaves
 * `latest` naming the previous complete checkpoint.
 */
#include "trainer.h"

#include "io/ckpt.h"
#include "io/fsutil.h"
#include "kernels/clock.h"
#include "kernels/kdev.h"
#include "mpi/comm.h"
#include "mpi/fault.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef ZEROPT_REVISION
#define ZEROPT_REVISION "unknown"
#endif

static void ckpt_dir(const Trainer *tr, char *out, size_t n) {
    if (tr->cfg.ckpt.dir[0])
        snprintf(out, n, "%s", tr->cfg.ckpt.dir);
    else
        snprintf(out, n, "%s/ckpt", tr->cfg.run.dir);
}

/* Every tensor of a checkpoint of model m trained with an optimizer of state
 * kind `kind` (optim_state_kind): the model's, then the optimizer's
 * (optim_tensors; *ot receives them when not NULL), named and shaped, with no
 * part yet. */
static CkptTensor *tensor_list(const Model *m, int kind, int *count, OptTensor **ot) {
    int no = optim_tensors(m, kind, NULL);
    OptTensor *o = z_calloc((size_t)no + 1, sizeof *o, "checkpoint tensors");
    optim_tensors(m, kind, o);
    CkptTensor *t = z_calloc((size_t)m->nviews + no, sizeof *t, "checkpoint tensors");
    const char *pre[4] = {"optim/m", "optim/v", "optim/row", "optim/col"};
    for (int i = 0; i < m->nviews; i++) {
        const ParamView *v = &m->view[i];
        snprintf(t[i].name, sizeof t[i].name, "model/%s", v->name);
        t[i].ndim = v->ndim;
        t[i].dims[0] = v->shape[0], t[i].dims[1] = v->shape[1];
    }
    for (int k = 0; k < no; k++) {
        CkptTensor *c = &t[m->nviews + k];
        snprintf(c->name, sizeof c->name, "%s/%s", pre[o[k].kind], m->view[o[k].view].name);
        c->ndim = o[k].ndim;
        c->dims[0] = o[k].dims[0], c->dims[1] = o[k].dims[1];
    }
    *count = m->nviews + no;
    if (ot)
        *ot = o;
    else
        free(o);
    return t;
}

static double tensor_mb(const CkptTensor *t, int n) {
    double b = 0;
    for (int i = 0; i < n; i++)
        b += 4.0 * (double)t[i].dims[0] * (t[i].ndim == 2 ? t[i].dims[1] : 1);
    return b / 1e6;
}

/* ... with this rank's part of each: what lies in the r-th slice of its unit
 * (the optimizer's replicated factors: all of it on rank 0). Saving fills
 * the optimizer's staging copies from its state. */
static CkptTensor *tensor_parts(Trainer *tr, int kind, int saving, int *count, OptTensor **ot) {
    const Model *m = &tr->m;
    Zero *z = tr->zero;
    CkptTensor *t = tensor_list(m, kind, count, ot);
    for (int n = 0; n < *count; n++) {
        int k = n < m->nviews ? -1 : (*ot)[n - m->nviews].kind;
        const ParamView *v = &m->view[n < m->nviews ? n : (*ot)[n - m->nviews].view];
        if (k == OT_ROW || k == OT_COL) {
            t[n].lo = 0, t[n].hi = tr->rank == 0 ? t[n].dims[0] : 0;
            t[n].data = optim_factor(tr->opt, k, (*ot)[n - m->nviews].view);
            continue;
        }
        size_t S = zero_shard(z, v->unit), a = (size_t)tr->rank * S, b = a + S;
        size_t lo = v->offset > a ? v->offset : a,
               hi = v->offset + v->numel < b ? v->offset + v->numel : b;
        /* the slice's first element in base: parameters from the slice start;
         * the optimizer's image in the unit layout (stage 0: from 0) */
        float *base = k < 0
                          ? zero_slice_params(z, v->unit)
                          : optim_image(tr->opt, k, v->unit, saving) + (zero_stage(z) == 0 ? a : 0);
        t[n].lo = hi > lo ? (int64_t)(lo - v->offset) : 0;
        t[n].hi = hi > lo ? (int64_t)(hi - v->offset) : 0;
        t[n].data = hi > lo ? base + (lo - a) : base;
    }
    return t;
}

/* step_N.h5 files in dir, newest first. */
static int list_ckpts(const char *dir, long *steps, int max) {
    DIR *d = opendir(dir);
    if (!d) return 0;
    int n = 0;
    struct dirent *e;
    while ((e = readdir(d)) && n < max) {
        long s;
        char tail[8];
        if (sscanf(e->d_name, "step_%ld.h%2s", &s, tail) == 2 && !strcmp(tail, "5") &&
            strlen(e->d_name) > 8 && !strcmp(e->d_name + strlen(e->d_name) - 3, ".h5"))
            steps[n++] = s;
    }
    closedir(d);
    for (int i = 0; i < n; i++) /* descending */
        for (int j = i + 1; j < n; j++)
            if (steps[j] > steps[i]) {
                long t = steps[i];
                steps[i] = steps[j], steps[j] = t;
            }
    return n;
}

/* Partial files left by a crash (never named by latest, never loaded). */
static void remove_partials(const char *dir) {
    DIR *d = opendir(dir);
    if (!d) return;
    struct dirent *e;
    char path[PATH_MAX_CFG + 300];
    while ((e = readdir(d))) {
        size_t n = strlen(e->d_name);
        if (!strncmp(e->d_name, ".step_", 6) && n > 8 && !strcmp(e->d_name + n - 8, ".partial")) {
            snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
            remove(path);
        }
    }
    closedir(d);
}

/* Removing the checkpoints [checkpoint] keep_* no longer wants (and partial
 * files) runs in a thread of rank 0: an unlink of a multi-GB file frees its
 * blocks and cached pages for a quarter second, which training need not wait
 * for. The next save, and the end of the run, wait for it. */
struct Pruner {
    pthread_t thread;
    CkptConfig keep;
    char dir[PATH_MAX_CFG + 16];
    long newest;
};

static void *prune(void *arg) {
    const struct Pruner *p = arg;
    const CkptConfig *k = &p->keep;
    remove_partials(p->dir);
    long steps[4096];
    int n = list_ckpts(p->dir, steps, 4096), kept = 0;
    for (int i = 0; i < n; i++) {
        int keep = steps[i] == p->newest || k->keep_last == 0 || kept < k->keep_last ||
                   (k->keep_every > 0 && steps[i] % k->keep_every == 0);
        if (keep) {
            kept += k->keep_every <= 0 || steps[i] % k->keep_every != 0;
            continue;
        }
        char path[PATH_MAX_CFG + 64];
        snprintf(path, sizeof path, "%s/step_%06ld.h5", p->dir, steps[i]);
        remove(path);
    }
    return NULL;
}

/* Name step_N.h5 in <dir>/latest atomically: write .latest.tmp, fsync, rename
 * it over latest, fsync the directory. 0, or −1 with errno set. */
static int point_latest(const char *dir, long step) {
    char latest[PATH_MAX_CFG + 64], tmp[PATH_MAX_CFG + 64];
    snprintf(latest, sizeof latest, "%s/latest", dir);
    snprintf(tmp, sizeof tmp, "%s/.latest.tmp", dir);
    FILE *f = fopen(tmp, "w");
    int bad = !f || fprintf(f, "step_%06ld.h5\n", step) < 0 || fflush(f) || fsync(fileno(f));
    if (f && fclose(f)) bad = 1;
    bad = bad || rename(tmp, latest) || fs_fsync_path(dir);
    if (bad) remove(tmp);
    return bad ? -1 : 0;
}

static void ckpt_finish(Trainer *tr);

void trainer_ckpt_wait(Trainer *tr) {
    ckpt_finish(tr); /* a save in flight first: its commit starts a prune */
    if (!tr->pruner) return;
    pthread_join(tr->pruner->thread, NULL);
    free(tr->pruner);
    tr->pruner = NULL;
}

static void start_prune(Trainer *tr, const char *dir, long newest) {
    struct Pruner *p = z_calloc(1, sizeof *p, "pruner");
    p->keep = tr->cfg.ckpt;
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    p->newest = newest;
    if (pthread_create(&p->thread, NULL, prune, p)) { /* no thread: prune here */
        prune(p);
        free(p);
        return;
    }
    tr->pruner = p;
}

/* An asynchronous save ([checkpoint] async): the tensors' parts copied into
 * one host snapshot, the file and its datasets made collectively, then a
 * thread of each rank writes its parts (ckpt_write_data: no MPI, no HDF5)
 * while training goes on. Every step the ranks agree whether all threads
 * are done (one small all-reduce while a save is in flight); then, or at
 * the next save, a rewind, a stop or the end of the run, the file is
 * finished and committed collectively (CRCs, complete flag, rename,
 * latest). A crash before that leaves the partial file unnamed and the
 * previous checkpoint as latest. */
struct PendingSave {
    pthread_t thread;
    int threaded, slow;
    int live;          /* the thread reads the live shards (no snapshot): the next update waits */
    int joined;        /* the thread has been joined (its parts are written) */
    volatile int done; /* set by the writer thread when its parts are written */
    CkptWriter *w;
    CkptTensor *t;
    OptTensor *ot;
    float *snap;
    char dir[PATH_MAX_CFG + 16], part[PATH_MAX_CFG + 64], final[PATH_MAX_CFG + 64];
    long step;
    int64_t tokens;
    double mb, t0, stall, t_written;
    double t_snap, t_file, t_fence, t_commit; /* the stall's parts */
};

static void *write_parts(void *arg) {
    struct PendingSave *p = arg;
    if (p->slow) sleep(2); /* tests: a write that outlasts several steps */
    ckpt_write_data(p->w);
    __atomic_store_n(&p->done, 1, __ATOMIC_RELEASE);
    return NULL;
}

/* Rename the finished file into place and point latest at it (rank 0), the
 * prune started; collective. */
static void commit(Trainer *tr, const char *dir, const char *part, const char *final, long step) {
    comm_barrier("checkpoint written");
    if (tr->rank == 0) {
        if (fs_fsync_path(part) || rename(part, final) || fs_fsync_path(dir) ||
            point_latest(dir, step))
            z_die("%s: cannot commit checkpoint: %s", final, strerror(errno));
        start_prune(tr, dir, step);
    }
    comm_barrier("checkpoint committed");
}

static void failed(Trainer *tr, const char *part, const char *err) {
    if (tr->rank == 0) remove(part);
    comm_barrier("failed checkpoint");
    z_die_all("%s; the previous checkpoint is intact", err);
}

/* Wait for this rank's writer thread; then the shards it read from where
 * they live (and the optimizer's staging copies) are free again. */
static void join_writer(Trainer *tr, struct PendingSave *p) {
    if (p->threaded && !p->joined) pthread_join(p->thread, NULL);
    p->joined = 1;
    if (p->t_written <= 0) p->t_written = k_now();
    if (p->live) optim_release(tr->opt), p->live = 0;
}

/* Finish the save in flight, if any (collective: every rank calls it at
 * the same point). */
static void ckpt_finish(Trainer *tr) {
    struct PendingSave *p = tr->pending;
    if (!p) return;
    double t0 = k_now();
    char err[Z_ERR_MAX];
    join_writer(tr, p);
    double written = p->t_written;
    tr->pending = NULL;
    int rc = ckpt_write_end(p->w, err, sizeof err);
    free(p->snap), free(p->t), free(p->ot);
    if (rc) failed(tr, p->part, err);
    commit(tr, p->dir, p->part, p->final, p->step);
    p->t_commit = k_now() - t0;
    p->stall += p->t_commit;
    z_log("checkpoint: %s (%ld steps, %lld tokens): %.1f MB written in the background in %.2f s "
          "(%.0f MB/s); training stalled %.3f s for it (snapshot %.3f, file set-up %.3f, waiting "
          "before the update %.3f, commit %.3f)",
          p->final, p->step, (long long)p->tokens, p->mb, written - p->t0,
          p->mb / (written - p->t0 > 1e-9 ? written - p->t0 : 1e-9), p->stall, p->t_snap, p->t_file,
          p->t_fence, p->t_commit);
    free(p);
}

void trainer_ckpt_fence(Trainer *tr) {
    struct PendingSave *p = tr->pending;
    if (!p || !p->live) return;
    double t0 = k_now();
    join_writer(tr, p);
    p->t_fence = k_now() - t0;
    p->stall += p->t_fence;
}

/* An agreed stop (a NaN loss, a bad batch: every rank exits together) first
 * commits a save in flight: what it holds was complete before the failure. */
static Trainer *in_flight_owner;
static void finish_at_exit(void) {
    if (in_flight_owner && in_flight_owner->pending) ckpt_finish(in_flight_owner);
}

void trainer_ckpt_poll(Trainer *tr) {
    struct PendingSave *p = tr->pending;
    if (!p) return;
    int mine = __atomic_load_n(&p->done, __ATOMIC_ACQUIRE);
    if (mine && p->t_written <= 0) p->t_written = k_now();
    if (!comm_any(!mine, "checkpoint progress")) ckpt_finish(tr);
}

void trainer_save_ckpt(Trainer *tr, long step) {
    char dir[PATH_MAX_CFG + 16], part[PATH_MAX_CFG + 64], final[PATH_MAX_CFG + 64], err[Z_ERR_MAX];
    double t0 = k_now();
    trainer_ckpt_wait(tr); /* the previous save committed, its prune done */
    ckpt_dir(tr, dir, sizeof dir);
    if (tr->rank == 0 && fs_mkdir_p(dir, err, sizeof err)) z_die("%s", err);
    comm_barrier("checkpoint directory");
    snprintf(part, sizeof part, "%s/.step_%06ld.h5.partial", dir, step);
    snprintf(final, sizeof final, "%s/step_%06ld.h5", dir, step);
    int n;
    OptTensor *ot;
    CkptTensor *t = tensor_parts(tr, optim_state_kind(&tr->cfg.optim), 1, &n, &ot);
    int async = tr->cfg.ckpt.async && tr->cfg.ckpt.io == CKPT_IO_DIRECT;
    /* On the CPU the thread writes from the live shards: forward and backward
     * never change them, and the next update waits for the thread
     * (trainer_ckpt_fence) — no copy, no second image in memory. A device's
     * buffers are snapshot to host memory instead, so the device keeps its
     * pages while the host writes. */
    int live = async && !k_dev;
    float *snap = NULL;
    double t_snap = k_now();
    if (async && !live) { /* this rank's parts, copied: training may change them from now on */
        size_t total = 0, off = 0;
        for (int i = 0; i < n; i++) total += (size_t)(t[i].hi - t[i].lo);
        snap = z_malloc((total ? total : 1) * sizeof(float), "checkpoint snapshot");
        for (int i = 0; i < n; i++) {
            size_t k = (size_t)(t[i].hi - t[i].lo);
            if (k) memcpy(snap + off, t[i].data, k * sizeof(float));
            t[i].data = snap + off, off += k;
        }
        optim_release(tr->opt);
    }
    t_snap = k_now() - t_snap;
    char *config = config_format(&tr->cfg, NULL);
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int64_t cursor = tr->cursor0 + (int64_t)(step - tr->step0) * tr->batch;
    CkptMeta meta = {0};
    const char *ik[] = {"step", "tokens_seen", "ranks_at_save", "zero_stage", "global_batch"};
    int64_t seen = tr->cfg.curriculum.seq_start > 0
                       ? (int64_t)obj_seq_tokens(&tr->cfg.curriculum, tr->seq, tr->batch, step)
                       : cursor * tr->seq;
    int64_t iv[] = {step, seen, tr->nranks, zero_stage(tr->zero), tr->batch};
    for (int i = 0; i < 5; i++) meta.int_key[i] = ik[i], meta.int_val[i] = iv[i];
    meta.nint = 5;
    const char *sk[] = {"config", "code_revision", "time"};
    const char *sv[] = {config, ZEROPT_REVISION, when};
    for (int i = 0; i < 3; i++) meta.str_key[i] = sk[i], meta.str_val[i] = sv[i];
    meta.nstr = 3;
    /* training state: the next step, the data cursor (next training
     * position), the seed every stream derives from; the schedule is a
     * function of the step; no loss scale (fp32) */
    const char *tk[] = {"step", "cursor", "seed", "global_batch"};
    int64_t tv[] = {step, cursor, tr->cfg.train.seed, tr->batch};
    for (int i = 0; i < 4; i++) meta.state_key[i] = tk[i], meta.state_val[i] = tv[i];
    meta.nstate = 4;
    double mb = tensor_mb(t, n), t_file = k_now();
    CkptWriter *w = ckpt_write_begin(part, t, n, &meta, (CkptIo)tr->cfg.ckpt.io, err, sizeof err);
    free(config);
    if (!async) {
        int rc = w ? (ckpt_write_data(w), ckpt_write_end(w, err, sizeof err)) : -1;
        optim_release(tr->opt);
        free(t), free(ot);
        if (rc) failed(tr, part, err);
        commit(tr, dir, part, final, step);
        double dt = k_now() - t0;
        z_log("checkpoint: %s (%ld steps, %ld tokens): %.1f MB written in %.2f s = %.0f MB/s",
              final, step, (long)(cursor * tr->seq), mb, dt, mb / dt);
        return;
    }
    if (!w) {
        if (live) optim_release(tr->opt);
        free(snap), free(t), free(ot);
        failed(tr, part, err);
    }
    struct PendingSave *p = z_calloc(1, sizeof *p, "checkpoint in flight");
    p->w = w, p->t = t, p->ot = ot, p->snap = snap, p->step = step, p->mb = mb, p->live = live;
    p->tokens = cursor * tr->seq, p->t0 = t0, p->t_snap = t_snap, p->t_file = k_now() - t_file;
    snprintf(p->dir, sizeof p->dir, "%s", dir);
    snprintf(p->part, sizeof p->part, "%s", part);
    snprintf(p->final, sizeof p->final, "%s", final);
    p->slow = z_fault("ckpt-slow"); /* asked here: only the main thread may die */
    p->threaded = pthread_create(&p->thread, NULL, write_parts, p) == 0;
    if (!p->threaded) write_parts(p); /* no thread: write here */
    p->stall = k_now() - t0;
    tr->pending = p;
    in_flight_owner = tr;
    z_at_agreed_exit(finish_at_exit);
    if (live)
        z_log("checkpoint: step %ld: writing %.1f MB to %s in the background from the live shards "
              "(the next update waits for it)",
              step, mb, part);
    else
        z_log("checkpoint: step %ld: %.1f MB snapshot in %.3f s; writing %s in the background",
              step, mb, p->t_snap, part);
}

/* ------------------------------------------------------------------------- */
/* resume                                                                     */

/* The checkpoint `resume = auto` picks: the one `latest` names if it opens
 * as complete, else the newest step_N.h5 that does. "" when none. */
static void pick_auto(const char *dir, char *out, size_t n) {
    char path[PATH_MAX_CFG + 300], name[256], err[Z_ERR_MAX];
    out[0] = 0;
    snprintf(path, sizeof path, "%s/latest", dir);
    FILE *f = fopen(path, "r");
    if (f) {
        if (fgets(name, sizeof name, f)) {
            name[strcspn(name, "\r\n")] = 0;
            snprintf(path, sizeof path, "%s/%s", dir, name);
            CkptInfo *c = ckpt_open(path, err, sizeof err);
            if (c) {
                ckpt_close(c);
                snprintf(out, n, "%s", path);
            }
        }
        fclose(f);
        if (out[0]) return;
    }
    long steps[4096];
    int k = list_ckpts(dir, steps, 4096);
    for (int i = 0; i < k && !out[0]; i++) {
        snprintf(path, sizeof path, "%s/step_%06ld.h5", dir, steps[i]);
        CkptInfo *c = ckpt_open(path, err, sizeof err);
        if (c) {
            ckpt_close(c);
            snprintf(out, n, "%s", path);
        }
    }
}

/* What every rank reads before a collective load, and verify checks: the
 * header (format, complete flag), the stored config (it must parse and
 * describe a model) and the training state. */
typedef struct {
    Config cfg;
    int64_t step, cursor, seed, ranks, stage;
} CkptHead;

static int read_head(const char *path, CkptHead *h, char *err, size_t errlen) {
    CkptInfo *c = ckpt_open(path, err, errlen);
    if (!c) return -1;
    char *text = ckpt_attr_str(c, "config");
    h->step = h->cursor = h->seed = -1, h->ranks = h->stage = 0;
    ckpt_attr_int(c, "ranks_at_save", &h->ranks);
    ckpt_attr_int(c, "zero_stage", &h->stage);
    const char *key[3] = {"step", "cursor", "seed"};
    int64_t *val[3] = {&h->step, &h->cursor, &h->seed};
    const char *missing = NULL;
    for (int i = 0; i < 3 && !missing; i++)
        if (ckpt_state(c, key[i], val[i]) || *val[i] < 0) missing = key[i];
    ckpt_close(c);
    if (!text) return z_fail(err, errlen, "%s: checkpoint lacks its config attribute", path);
    if (missing) {
        free(text);
        return z_fail(err, errlen, "%s: checkpoint lacks its training state (/state/%s)", path,
                      missing);
    }
    config_defaults(&h->cfg);
    config_load_string(&h->cfg, text, path); /* a bad config ends here with its own line */
    config_finish(&h->cfg, path);
    free(text);
    return 0;
}

/* Load parameters, optimizer state, step and data cursor from one
 * checkpoint (collective; any rank count and stage); params_only: the
 * parameters alone (continual pretraining: fresh state at step 0). */
static void load_ckpt(Trainer *tr, const char *path, int params_only) {
    char err[Z_ERR_MAX], what[256];
    /* every rank reads the header itself (the same file, the same answer) */
    CkptHead h;
    if (read_head(path, &h, err, sizeof err)) z_die_all("%s", err);
    if (config_model_differs(&h.cfg.model, &tr->cfg.model, what, sizeof what))
        z_die_all("%s: config does not match the model: %s", path, what);
    if (h.seed != tr->cfg.train.seed)
        z_log("resume: note: [train] seed %ld differs from the checkpoint's %ld",
              tr->cfg.train.seed, (long)h.seed);
    /* the optimizer's state carries over between optimizers of one family
     * (adamw, lamb: m and v; adafactor with or without momentum) and any
     * states encoding; otherwise only from a checkpoint without any (step 0:
     * an import) */
    int saved = h.cfg.optim.name, now = tr->cfg.optim.name, fresh = params_only;
    if (!fresh && !optim_compatible(&h.cfg.optim, &tr->cfg.optim)) {
        int mom = saved == OPT_ADAFACTOR && now == OPT_ADAFACTOR; /* only beta1 differs */
        if (h.step > 0 && mom)
            z_die_all("%s: saved by adafactor with adafactor_beta1 = %g at step %ld; its state "
                      "cannot continue with adafactor_beta1 = %g (resume with %g)",
                      path, h.cfg.optim.af_beta1, (long)h.step, tr->cfg.optim.af_beta1,
                      h.cfg.optim.af_beta1);
        if (h.step > 0)
            z_die_all("%s: saved by [optim] name = %s at step %ld; its state cannot continue as "
                      "%s (resume with name = %s, or start from a step-0 checkpoint)",
                      path, optim_name(saved), (long)h.step, optim_name(now), optim_name(saved));
        fresh = 1;
        z_log("resume: the checkpoint's optimizer state (%s) is not this run's (%s): fresh "
              "optimizer state",
              optim_name(saved), optim_name(now));
    }
    if (h.cfg.train.precision != tr->cfg.train.precision && !params_only)
        z_log("resume: precision %s in the checkpoint, now %s (the checkpoint holds the fp32 "
              "master weights either way)",
              h.cfg.train.precision == DT_BF16 ? "bf16" : "fp32",
              tr->cfg.train.precision == DT_BF16 ? "bf16" : "fp32");
    if (!fresh && (h.cfg.optim.states != tr->cfg.optim.states || saved != now)) {
        const char *st[3] = {"fp32", "bf16", "8bit"};
        z_log("resume: optimizer %s, states %s in the checkpoint; now %s, states %s",
              optim_name(saved), st[h.cfg.optim.states], optim_name(now), st[tr->cfg.optim.states]);
    }
    int n;
    OptTensor *ot;
    CkptTensor *t = tensor_parts(tr, optim_state_kind(&tr->cfg.optim), 0, &n, &ot);
    if (fresh) n = tr->m.nviews;
    double t0 = k_now(), mb = tensor_mb(t, n);
    int rc = ckpt_read(path, t, n, (CkptIo)tr->cfg.ckpt.io, err, sizeof err);
    if (rc) z_die_all("%s", err);
    double dt = k_now() - t0;
    zero_gather_resident(tr->zero);
    /* the optimizer's state: stage 0 keeps it whole (all-gather the slices),
     * replicated factors come from rank 0, staging copies are encoded */
    for (int i = tr->m.nviews; i < n; i++) {
        const OptTensor *o = &ot[i - tr->m.nviews];
        if (o->kind == OT_ROW || o->kind == OT_COL)
            comm_bcast(t[i].data, (size_t)o->dims[0] * sizeof(float), 0, "optimizer factors");
    }
    if (zero_stage(tr->zero) == 0 && !fresh)
        for (int u = 0; u < tr->m.nunits; u++)
            for (int k = OT_M; k <= OT_V; k++) {
                float *img = optim_image(tr->opt, k, u, 0);
                if (img)
                    comm_wait(comm_iallgather_f32(NULL, img, zero_shard(tr->zero, u),
                                                  "optimizer state (load)", -1));
            }
    if (fresh)
        optim_release(tr->opt);
    else
        optim_commit(tr->opt);
    free(t), free(ot);
    if (params_only) {
        z_log("continual: parameters of %s (step %ld of its run; %.1f MB in %.2f s); fresh "
              "optimizer state, step 0",
              path, (long)h.step, mb, dt);
        return;
    }
    z_log("resume: read %.1f MB in %.2f s = %.0f MB/s", mb, dt, mb / dt);
    tr->step0 = (long)h.step;
    tr->cursor0 = h.cursor;
    z_log("resume: %s at step %ld, data cursor %ld (saved by %ld ranks at ZeRO stage %ld; now %d "
          "ranks, stage %d)",
          path, (long)h.step, (long)h.cursor, (long)h.ranks, (long)h.stage, tr->nranks,
          zero_stage(tr->zero));
}

int trainer_resume(Trainer *tr) {
    const CkptConfig *k = &tr->cfg.ckpt;
    char dir[PATH_MAX_CFG + 16], path[PATH_MAX_CFG + 300];
    if (!strcmp(k->resume, "none")) return 0;
    ckpt_dir(tr, dir, sizeof dir);
    if (!strcmp(k->resume, "auto")) {
        if (tr->rank == 0) pick_auto(dir, path, sizeof path);
        comm_bcast(path, sizeof path, 0, "resume path");
        if (!path[0]) return 0;
    } else {
        snprintf(path, sizeof path, "%s", k->resume);
    }
    load_ckpt(tr, path, 0);
    return 1;
}

void trainer_load_init(Trainer *tr, const char *from) {
    char path[PATH_MAX_CFG + 300], err[Z_ERR_MAX];
    struct stat st;
    int dir = !stat(from, &st) && S_ISDIR(st.st_mode);
    path[0] = 0;
    if (dir) { /* a run's checkpoint directory: its newest complete checkpoint */
        if (tr->rank == 0) pick_auto(from, path, sizeof path);
        comm_bcast(path, sizeof path, 0, "continual init path");
        if (!path[0])
            z_die_all("%s: [continual] init: no complete checkpoint in this directory (an HF "
                      "model folder: zeropt ckpt import --from it first)",
                      from);
        load_ckpt(tr, path, 1);
        return;
    }
    CkptInfo *c = ckpt_open(from, err, sizeof err);
    if (c) {
        ckpt_close(c);
        load_ckpt(tr, from, 1);
        return;
    }
    TensorFile *f = tf_open(from, path, sizeof path);
    char *fmt = f ? tf_get_attr(f, "format") : NULL;
    int model = fmt && !strcmp(fmt, "zeropt-model");
    free(fmt);
    if (f) tf_close(f);
    if (!model)
        z_die_all("%s: [continual] init: neither a zeropt checkpoint nor a model.h5 (%s)", from,
                  err);
    trainer_load_params(tr, from, "model");
    z_log("continual: parameters of %s; fresh optimizer state, step 0", from);
}

long trainer_rewind(Trainer *tr, long newest) {
    char dir[PATH_MAX_CFG + 16], path[PATH_MAX_CFG + 300], err[Z_ERR_MAX];
    long at = -1;
    trainer_ckpt_wait(tr); /* no removal in flight under the one we pick */
    ckpt_dir(tr, dir, sizeof dir);
    path[0] = 0;
    if (tr->rank == 0) { /* the newest complete checkpoint at or before `newest` */
        long steps[4096];
        int k = list_ckpts(dir, steps, 4096);
        for (int i = 0; i < k && at < 0; i++) {
            if (steps[i] > newest) continue;
            snprintf(path, sizeof path, "%s/step_%06ld.h5", dir, steps[i]);
            CkptInfo *c = ckpt_open(path, err, sizeof err);
            if (c) {
                ckpt_close(c);
                at = steps[i];
            }
        }
        if (at < 0) path[0] = 0;
        /* the spiked path's checkpoints must not be resumed: latest names the
         * one we go back to, the newer ones are set aside as step_N.h5.rewound
         * (kept for a post-mortem, invisible to resume, pruning and rewinds) */
        if (at >= 0 && point_latest(dir, at))
            z_die("%s/latest: cannot point it at step %ld: %s", dir, at, strerror(errno));
        for (int i = 0; at >= 0 && i < k && steps[i] > at; i++) {
            char from[PATH_MAX_CFG + 300], to[PATH_MAX_CFG + 320];
            snprintf(from, sizeof from, "%s/step_%06ld.h5", dir, steps[i]);
            snprintf(to, sizeof to, "%s.rewound", from);
            if (rename(from, to)) z_die("%s: cannot set it aside: %s", from, strerror(errno));
            z_log("guard: %s is from the path that spiked: set aside as %s", from, to);
        }
        if (at >= 0 && fs_fsync_path(dir)) z_die("%s: cannot fsync: %s", dir, strerror(errno));
    }
    comm_bcast(path, sizeof path, 0, "rewind path");
    if (!path[0]) return -1;
    load_ckpt(tr, path, 0);
    return tr->step0;
}

int trainer_verify_ckpt(const char *path, int *tensors, char *err, size_t errlen) {
    CkptHead h;
    if (read_head(path, &h, err, errlen)) return -1;
    Model m;
    model_layout(&m, &h.cfg.model, 1, 1);
    int n, rc = 0;
    CkptTensor *t = tensor_list(&m, optim_state_kind(&h.cfg.optim), &n, NULL);
    /* whole tensors, read by rank 0 (any other rank passes empty parts), in
     * batches of at most 256 MB */
    for (int i = 0; i < n && !rc;) {
        int j = i;
        double bytes = 0;
        while (j < n && (j == i || bytes < 256e6)) {
            size_t numel = (size_t)t[j].dims[0] * (t[j].ndim == 2 ? (size_t)t[j].dims[1] : 1);
            t[j].lo = 0, t[j].hi = z_rank() == 0 ? (int64_t)numel : 0;
            t[j].data = z_malloc((size_t)t[j].hi * sizeof(float), "tensor");
            bytes += 4.0 * (double)numel;
            j++;
        }
        rc = ckpt_read(path, t + i, j - i, CKPT_IO_DIRECT, err, errlen);
        for (; i < j; i++) free(t[i].data);
    }
    free(t);
    model_free(&m);
    *tensors = n;
    return rc;
}

int trainer_ckpt_config(const char *path, Config *cfg, char *err, size_t errlen) {
    CkptHead h;
    if (read_head(path, &h, err, errlen)) return -1;
    *cfg = h.cfg;
    return 0;
}

int trainer_ckpt_model(const char *path, Model *m, char *err, size_t errlen) {
    CkptHead h;
    if (read_head(path, &h, err, errlen)) return -1;
    CkptInfo *c = ckpt_open(path, err, errlen);
    if (!c) return -1;
    model_layout(m, &h.cfg.model, 1, 1);
    model_alloc_params(m);
    int rc = 0;
    for (int i = 0; i < m->nviews && !rc; i++) {
        char name[PARAM_NAME_MAX + 16];
        int nd;
        int64_t d[2];
        snprintf(name, sizeof name, "model/%s", m->view[i].name);
        float *t = ckpt_tensor(c, name, &nd, d, err, errlen);
        if (!t)
            rc = -1;
        else if ((size_t)d[0] * (nd == 2 ? (size_t)d[1] : 1) != m->view[i].numel)
            rc = z_fail(err, errlen, "%s: /%s has the wrong shape for its config", path, name);
        else
            memcpy(model_param(m, &m->view[i]), t, m->view[i].numel * sizeof(float));
        free(t);
    }
    ckpt_close(c);
    if (rc) model_free(m);
    return rc;
}

int trainer_ckpt_from_model(const char *path, const Model *m, const Config *cfg, const char *origin,
                            char *err, size_t errlen) {
    int n;
    CkptTensor *t = tensor_list(m, optim_state_kind(&cfg->optim), &n, NULL);
    size_t maxn = 0;
    for (int i = 0; i < m->nviews; i++)
        if (m->view[i].numel > maxn) maxn = m->view[i].numel;
    float *zeros = z_calloc(maxn, sizeof(float), "zeros");
    for (int k = 0; k < n; k++) { /* rank 0 writes; the optimizer starts fresh */
        size_t numel = (size_t)t[k].dims[0] * (t[k].ndim == 2 ? (size_t)t[k].dims[1] : 1);
        t[k].lo = 0, t[k].hi = z_rank() == 0 ? (int64_t)numel : 0;
        t[k].data = k < m->nviews ? model_param(m, &m->view[k]) : zeros;
    }
    char *text = config_format(cfg, NULL), part[PATH_MAX_CFG + 16];
    CkptMeta meta = {0};
    const char *ik[] = {"step", "tokens_seen", "ranks_at_save", "zero_stage", "global_batch"};
    for (int i = 0; i < 5; i++) meta.int_key[i] = ik[i], meta.int_val[i] = i == 2;
    meta.nint = 5;
    meta.str_key[0] = "config", meta.str_val[0] = text;
    meta.str_key[1] = "imported_from", meta.str_val[1] = origin;
    meta.nstr = 2;
    const char *sk[] = {"step", "cursor", "seed", "global_batch"};
    for (int i = 0; i < 4; i++) meta.state_key[i] = sk[i], meta.state_val[i] = 0;
    meta.state_val[2] = cfg->train.seed;
    meta.nstate = 4;
    snprintf(part, sizeof part, "%s.partial", path);
    int rc = ckpt_write(part, t, n, &meta, CKPT_IO_DIRECT, err, errlen);
    if (!rc) { /* rank 0 commits as a save does: data on disk before the name */
        char dir[PATH_MAX_CFG + 16];
        const char *slash = strrchr(path, '/');
        snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) : 1, slash ? path : ".");
        int bad = z_rank() == 0 &&
                  (fs_fsync_path(part) || rename(part, path) || fs_fsync_path(dir[0] ? dir : "/"));
        if (bad) z_fail(err, errlen, "%s: cannot commit: %s", path, strerror(errno));
        if (comm_any(bad, "checkpoint commit")) rc = -1;
        if (rc && !bad) z_fail(err, errlen, "%s: rank 0 could not commit the checkpoint", path);
    }
    if (rc && z_rank() == 0) remove(part);
    free(text), free(zeros), free(t);
    return rc;
}
