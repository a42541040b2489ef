/*
 * ckpt.c — checkpoints of a run: which tensors and state go in, the commit
 * protocol, pruning, and resuming under any rank count and ZeRO stage.
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

#include "../io/ckpt.h"
#include "../mpi/comm.h"
#include "../mpi/err.h"

#include <dirent.h>
#include <mpi.h>
#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
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

/* Every tensor × {model, optim/m, optim/v}: this rank's part of its slice. */
static CkptTensor *tensor_parts(Trainer *tr, int *count) {
    const Model *m = &tr->m;
    Zero *z = tr->zero;
    CkptTensor *t = z_calloc(3 * (size_t)m->nviews, sizeof *t, "checkpoint tensors");
    const char *pre[3] = {"model", "optim/m", "optim/v"};
    int n = 0;
    for (int k = 0; k < 3; k++)
        for (int i = 0; i < m->nviews; i++) {
            const ParamView *v = &m->view[i];
            size_t S = zero_shard(z, v->unit), a = (size_t)tr->rank * S, b = a + S;
            size_t lo = v->offset > a ? v->offset : a,
                   hi = v->offset + v->numel < b ? v->offset + v->numel : b;
            float *base = k == 0   ? zero_slice_params(z, v->unit)
                          : k == 1 ? zero_slice_m(z, v->unit)
                                   : zero_slice_v(z, v->unit);
            CkptTensor *c = &t[n++];
            snprintf(c->name, sizeof c->name, "%s/%s", pre[k], v->name);
            c->ndim = v->ndim;
            c->dims[0] = v->shape[0], c->dims[1] = v->shape[1];
            c->lo = hi > lo ? (int64_t)(lo - v->offset) : 0;
            c->hi = hi > lo ? (int64_t)(hi - v->offset) : 0;
            c->data = hi > lo ? base + (lo - a) : base;
        }
    *count = n;
    return t;
}

static int fsync_path(const char *path) {
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
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

void trainer_ckpt_wait(Trainer *tr) {
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

void trainer_save_ckpt(Trainer *tr, long step) {
    char dir[PATH_MAX_CFG + 16], part[PATH_MAX_CFG + 64], final[PATH_MAX_CFG + 64], err[1200];
    ckpt_dir(tr, dir, sizeof dir);
    trainer_ckpt_wait(tr); /* the previous prune must not meet this save's partial file */
    if (tr->rank == 0) trainer_mkdir(dir);
    comm_barrier("checkpoint directory");
    snprintf(part, sizeof part, "%s/.step_%06ld.h5.partial", dir, step);
    snprintf(final, sizeof final, "%s/step_%06ld.h5", dir, step);
    int n;
    CkptTensor *t = tensor_parts(tr, &n);
    char *config = config_format(&tr->cfg, NULL);
    char when[64];
    time_t now = time(NULL);
    strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    int64_t cursor = tr->cursor0 + (int64_t)(step - tr->step0) * tr->gb;
    CkptMeta meta = {0};
    const char *ik[] = {"step", "tokens_seen", "ranks_at_save", "zero_stage", "global_batch"};
    int64_t iv[] = {step, cursor * tr->T, tr->nranks, zero_stage(tr->zero), tr->gb};
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
    int64_t tv[] = {step, cursor, tr->cfg.train.seed, tr->gb};
    for (int i = 0; i < 4; i++) meta.state_key[i] = tk[i], meta.state_val[i] = tv[i];
    meta.nstate = 4;
    double t0 = MPI_Wtime(), mb = 3.0 * (double)tr->m.nparams * sizeof(float) / 1e6;
    /* fault injection for tests: ZEROPT_FAIL_CKPT=1 fails the whole write,
     * =reserve the disk-space reservation inside it (io/ckpt.c) */
    const char *inject = getenv("ZEROPT_FAIL_CKPT");
    int rc = inject && strcmp(inject, "reserve") ? -1 : 0;
    if (rc)
        snprintf(err, sizeof err, "%s: checkpoint write failed (injected by ZEROPT_FAIL_CKPT)",
                 part);
    else
        rc = ckpt_write(part, t, n, &meta, (CkptIo)tr->cfg.ckpt.io, err, sizeof err);
    free(t);
    free(config);
    if (rc) {
        if (tr->rank == 0) remove(part);
        comm_barrier("failed checkpoint");
        z_die_all("%s; the previous checkpoint is intact", err);
    }
    comm_barrier("checkpoint written");
    if (tr->rank == 0) {
        char latest[PATH_MAX_CFG + 64], tmp[PATH_MAX_CFG + 64];
        snprintf(latest, sizeof latest, "%s/latest", dir);
        snprintf(tmp, sizeof tmp, "%s/.latest.tmp", dir);
        FILE *f = NULL;
        int bad = fsync_path(part) || rename(part, final) || fsync_path(dir) ||
                  !(f = fopen(tmp, "w")) || fprintf(f, "step_%06ld.h5\n", step) < 0 || fflush(f) ||
                  fsync(fileno(f));
        if (f && fclose(f)) bad = 1;
        bad = bad || rename(tmp, latest) || fsync_path(dir);
        if (bad) {
            remove(tmp);
            z_die("%s: cannot commit checkpoint: %s", final, strerror(errno));
        }
        start_prune(tr, dir, step);
    }
    comm_barrier("checkpoint committed");
    double dt = MPI_Wtime() - t0;
    z_log("checkpoint: %s (%ld steps, %ld tokens): %.1f MB written in %.2f s = %.0f MB/s", final,
          step, (long)(cursor * tr->T), mb, dt, mb / dt);
}

/* ------------------------------------------------------------------------- */
/* resume                                                                     */

/* The checkpoint `resume = auto` picks: the one `latest` names if it opens
 * as complete, else the newest step_N.h5 that does. "" when none. */
static void pick_auto(const char *dir, char *out, size_t n) {
    char path[PATH_MAX_CFG + 300], name[256], err[1200];
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

int trainer_resume(Trainer *tr) {
    const CkptConfig *k = &tr->cfg.ckpt;
    char dir[PATH_MAX_CFG + 16], path[PATH_MAX_CFG + 300], err[1200], what[256];
    if (!strcmp(k->resume, "none")) return 0;
    ckpt_dir(tr, dir, sizeof dir);
    if (!strcmp(k->resume, "auto")) {
        if (tr->rank == 0) pick_auto(dir, path, sizeof path);
        comm_bcast(path, sizeof path, 0, "resume path");
        if (!path[0]) return 0;
    } else {
        snprintf(path, sizeof path, "%s", k->resume);
    }
    /* every rank reads the header itself (the same file, the same answer) */
    CkptInfo *c = ckpt_open(path, err, sizeof err);
    if (!c) z_die_all("%s", err);
    char *text = ckpt_attr_str(c, "config");
    int64_t step = -1, cursor = -1, seed = -1, ranks = 0, stage = 0;
    ckpt_attr_int(c, "ranks_at_save", &ranks);
    ckpt_attr_int(c, "zero_stage", &stage);
    ckpt_state(c, "step", &step);
    ckpt_state(c, "cursor", &cursor);
    ckpt_state(c, "seed", &seed);
    ckpt_close(c);
    if (!text || step < 0 || cursor < 0)
        z_die_all("%s: checkpoint lacks its config or training state", path);
    Config saved;
    config_defaults(&saved);
    config_load_string(&saved, text, path);
    config_finish(&saved, path);
    free(text);
    if (config_model_differs(&saved.model, &tr->cfg.model, what, sizeof what))
        z_die_all("%s: config does not match the model: %s", path, what);
    if (seed != tr->cfg.train.seed)
        z_log("resume: note: [train] seed %ld differs from the checkpoint's %ld",
              tr->cfg.train.seed, (long)seed);
    int n;
    CkptTensor *t = tensor_parts(tr, &n);
    double t0 = MPI_Wtime(), mb = 3.0 * (double)tr->m.nparams * sizeof(float) / 1e6;
    int rc = ckpt_read(path, t, n, (CkptIo)tr->cfg.ckpt.io, err, sizeof err);
    free(t);
    if (rc) z_die_all("%s", err);
    double dt = MPI_Wtime() - t0;
    zero_gather_resident(tr->zero);
    z_log("resume: read %.1f MB in %.2f s = %.0f MB/s", mb, dt, mb / dt);
    tr->step0 = (long)step;
    tr->cursor0 = cursor;
    z_log("resume: %s at step %ld, data cursor %ld (saved by %ld ranks at ZeRO stage %ld; now %d "
          "ranks, stage %d)",
          path, (long)step, (long)cursor, (long)ranks, (long)stage, tr->nranks,
          zero_stage(tr->zero));
    return 1;
}
