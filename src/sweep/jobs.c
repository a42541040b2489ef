/*
 * jobs.c — sbatch, squeue, sacct and mpirun for a campaign (jobs.h). Every
 * command runs through fork and execvp with its words as given (no shell),
 * its output captured.
 */
#include "jobs.h"

#include "runlog.h"

#include "mpi/err.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

const char *point_state_name(PointState s) {
    static const char *const name[] = {"new", "queued", "running", "done", "failed", "unfinished"};
    return name[s];
}

/* Run argv; its stdout and stderr into out (NUL-terminated, truncated),
 * or into the file fd_out when >= 0. The exit status, 127: not found. */
static int run(char *const *argv, char *out, size_t n, int fd_out) {
    int pfd[2] = {-1, -1};
    if (fd_out < 0 && pipe(pfd)) return -1;
    fflush(stdout), fflush(stderr);
    pid_t pid = fork();
    if (pid < 0) return -1;
    if (pid == 0) {
        int fd = fd_out >= 0 ? fd_out : pfd[1];
        dup2(fd, 1), dup2(fd, 2);
        if (pfd[0] >= 0) close(pfd[0]);
        execvp(argv[0], argv);
        _exit(127);
    }
    size_t len = 0;
    if (fd_out < 0) {
        close(pfd[1]);
        char buf[4096];
        ssize_t r;
        while ((r = read(pfd[0], buf, sizeof buf)) > 0 || (r < 0 && errno == EINTR)) {
            if (r < 0) continue;
            size_t take =
                out && len + 1 < n ? (size_t)r < n - 1 - len ? (size_t)r : n - 1 - len : 0;
            if (take) memcpy(out + len, buf, take), len += take;
        }
        close(pfd[0]);
    }
    if (out && n) out[len] = 0;
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + (WIFSIGNALED(st) ? WTERMSIG(st) : 0);
}

/* the last non-empty line of s, trimmed */
static void last_line(char *dst, size_t n, const char *s) {
    const char *end = s + strlen(s);
    while (end > s && (end[-1] == '\n' || end[-1] == ' ')) end--;
    const char *b = end;
    while (b > s && b[-1] != '\n') b--;
    snprintf(dst, n, "%.*s", (int)(end - b), b);
}

/* ------------------------------------------------------------------------- */
/* the queue                                                                  */

void queue_read(Queue *q) {
    memset(q, 0, sizeof *q);
    size_t cap = 1 << 20;
    char *out = malloc(cap);
    if (!out) z_die_all("sweep: out of memory");
    char *argv[] = {"squeue", "-h", "-r", "-o", "%i %T", NULL};
    int rc = run(argv, out, cap, -1);
    if (rc == 0) {
        q->ok = 1;
        int lines = 0;
        for (char *s = out; *s; s++) lines += *s == '\n';
        q->id = calloc((size_t)lines + 1, sizeof *q->id);
        q->st = calloc((size_t)lines + 1, sizeof *q->st);
        if (!q->id || !q->st) z_die_all("sweep: out of memory");
        for (char *s = strtok(out, "\n"); s; s = strtok(NULL, "\n"))
            if (sscanf(s, "%63s %31s", q->id[q->n], q->st[q->n]) == 2) q->n++;
    }
    free(out);
}

void queue_free(Queue *q) {
    free(q->id), free(q->st);
    memset(q, 0, sizeof *q);
}

static const char *queue_state(const Queue *q, const char *id) {
    for (int i = 0; q && i < q->n; i++)
        if (!strcmp(q->id[i], id)) return q->st[i];
    return NULL;
}

/* ------------------------------------------------------------------------- */
/* jobs.jsonl                                                                 */

static void jobs_path(char *out, size_t n, const Campaign *k) {
    snprintf(out, n, "%s/jobs.jsonl", k->dir);
}

static void record(const Campaign *k, const char *point, const char *job, const char *log, int rc) {
    char path[CAMPAIGN_PATH + 16];
    jobs_path(path, sizeof path, k);
    json_t *o = json_object();
    json_object_set_new(o, "point", json_string(point));
    json_object_set_new(o, "job", json_string(job));
    json_object_set_new(o, "log", json_string(log));
    json_object_set_new(o, "time", json_integer((json_int_t)time(NULL)));
    if (rc >= 0) json_object_set_new(o, "rc", json_integer(rc));
    char *line = json_dumps(o, JSON_COMPACT);
    json_decref(o);
    FILE *f = fopen(path, "a");
    if (!f) z_die_all("sweep: %s: %s", path, strerror(errno));
    int bad = fprintf(f, "%s\n", line) < 0;
    bad |= fclose(f) != 0;
    free(line);
    if (bad) z_die_all("sweep: %s: write failed", path);
}

/* the newest record of point: job, log, rc (−1: none); 0 when there is none */
static int newest(const Campaign *k, const char *point, char *job, size_t jn, char *log, size_t ln,
                  int *rc) {
    char path[CAMPAIGN_PATH + 16];
    jobs_path(path, sizeof path, k);
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char *line = NULL;
    size_t cap = 0;
    int found = 0;
    while (getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *p = json_object_get(o, "point");
        if (json_is_string(p) && !strcmp(json_string_value(p), point)) {
            json_t *j = json_object_get(o, "job"), *l = json_object_get(o, "log"),
                   *r = json_object_get(o, "rc");
            snprintf(job, jn, "%s", json_is_string(j) ? json_string_value(j) : "");
            snprintf(log, ln, "%s", json_is_string(l) ? json_string_value(l) : "");
            *rc = json_is_integer(r) ? (int)json_integer_value(r) : -1;
            found = 1;
        }
        json_decref(o);
    }
    free(line);
    fclose(f);
    return found;
}

/* the newest attempt's error in a job's log: the first "zeropt: rank" line
 * after the last "train.sbatch: job" line, else the last "error" line */
static void log_error(char *dst, size_t n, const char *log) {
    dst[0] = 0;
    FILE *f = fopen(log, "r");
    if (!f) return;
    char *line = NULL, zl[512] = "", el[512] = "";
    size_t cap = 0;
    while (getline(&line, &cap, f) > 0) {
        line[strcspn(line, "\r\n")] = 0;
        if (!strncmp(line, "train.sbatch: job", 17) || !strncmp(line, "sweep: run ", 11))
            zl[0] = el[0] = 0; /* a new attempt */
        if (!zl[0] && !strncmp(line, "zeropt: rank", 12)) snprintf(zl, sizeof zl, "%s", line);
        if (strstr(line, "error") || strstr(line, "Error")) snprintf(el, sizeof el, "%s", line);
    }
    free(line);
    fclose(f);
    snprintf(dst, n, "%s", zl[0] ? zl : el);
}

PointStatus point_status(const Campaign *k, int i, const Queue *q) {
    const Point *p = &k->pt[i];
    PointStatus s;
    memset(&s, 0, sizeof s);
    int rc = -1;
    int submitted = newest(k, p->name, s.job, sizeof s.job, s.log, sizeof s.log, &rc);
    RunLog r;
    char err[512];
    int have_log = runlog_read(&r, p->cfg.run.dir, err, sizeof err) == 0;
    if (have_log) {
        int done = r.finished && r.steps_planned == p->steps && r.nstep &&
                   r.step[r.nstep - 1].step == p->steps;
        runlog_free(&r);
        if (done) {
            s.state = PT_DONE;
            return s;
        }
    }
    if (!submitted) {
        s.state = PT_NEW;
        return s;
    }
    if (strcmp(s.job, "local")) {
        const char *qs = queue_state(q, s.job);
        if (qs) {
            snprintf(s.slurm_state, sizeof s.slurm_state, "%s", qs);
            s.state = !strcmp(qs, "RUNNING") || !strcmp(qs, "COMPLETING") ? PT_RUNNING : PT_QUEUED;
            return s;
        }
        char out[256];
        char *argv[] = {"sacct", "-n", "-X", "-P", "-o", "State", "-j", s.job, NULL};
        if (run(argv, out, sizeof out, -1) == 0) {
            char w[32] = "";
            if (sscanf(out, "%31s", w) == 1) snprintf(s.slurm_state, sizeof s.slurm_state, "%s", w);
        }
    }
    log_error(s.error, sizeof s.error, s.log);
    int bad_exit = rc > 0 || (s.slurm_state[0] && strcmp(s.slurm_state, "COMPLETED"));
    if (!s.error[0] && rc > 0) snprintf(s.error, sizeof s.error, "exit status %d", rc);
    if (!s.error[0] && bad_exit) snprintf(s.error, sizeof s.error, "Slurm: %s", s.slurm_state);
    s.state = s.error[0] ? PT_FAILED : PT_UNFINISHED;
    return s;
}

/* ------------------------------------------------------------------------- */
/* jobs                                                                       */

/* this binary, and slurm/train.sbatch from here or beside the binary's ../ */
static void exe_path(char *out, size_t n) {
    ssize_t l = readlink("/proc/self/exe", out, n - 1);
    if (l <= 0) z_die_all("sweep: /proc/self/exe: %s", strerror(errno));
    out[l] = 0;
}

static void script_path(char *out, size_t n, const Campaign *k) {
    char p[PATH_MAX];
    if (k->script[0]) {
        if (!realpath(k->script, p)) z_die_all("sweep: %s: %s", k->script, strerror(errno));
        snprintf(out, n, "%s", p);
        return;
    }
    if (realpath("slurm/train.sbatch", p)) {
        snprintf(out, n, "%s", p);
        return;
    }
    if (!beside_binary(out, n, "slurm/train.sbatch"))
        z_die_all("sweep: %s: slurm/train.sbatch not found here or beside the binary ([slurm] "
                  "script)",
                  k->path);
}

static char *dupf(const char *fmt, const char *a, const char *b) {
    size_t n = strlen(fmt) + strlen(a) + (b ? strlen(b) : 0) + 1;
    char *s = malloc(n);
    if (!s) z_die_all("sweep: out of memory");
    snprintf(s, n, fmt, a, b ? b : "");
    return s;
}

static char *numf(const char *flag, long v) {
    char b[64];
    snprintf(b, sizeof b, "%s=%ld", flag, v);
    return dupf("%s", b, NULL);
}

/* the shape jobs share: nodes, ranks per node */
static int same_shape(const Point *a, const Point *b) {
    return a->nodes == b->nodes && a->per_node == b->per_node;
}

static void build_one(const Campaign *k, Job *j, int array_no) {
    const Point *p = &k->pt[j->pt[0]];
    char **w = calloc(64 + 16, sizeof *w);
    if (!w) z_die_all("sweep: out of memory");
    int n = 0;
    char cwd[PATH_MAX], exe[PATH_MAX], script[PATH_MAX];
    if (!getcwd(cwd, sizeof cwd)) z_die_all("sweep: getcwd: %s", strerror(errno));
    exe_path(exe, sizeof exe);
    script_path(script, sizeof script, k);
    w[n++] = dupf("sbatch", "", NULL);
    w[n++] = dupf("--parsable", "", NULL);
    if (j->npt == 1)
        w[n++] = dupf("--job-name=zeropt-%s-%s", k->name, p->name);
    else
        w[n++] = dupf("--job-name=zeropt-%s%s", k->name, NULL);
    w[n++] = numf("--nodes", p->nodes);
    w[n++] = numf("--ntasks-per-node", p->per_node);
    w[n++] = numf("--cpus-per-task", k->cpus_per_task);
    if (k->gpus_per_task) w[n++] = numf("--gpus-per-task", k->gpus_per_task);
    if (k->time[0]) w[n++] = dupf("--time=%s", k->time, NULL);
    if (k->partition[0]) w[n++] = dupf("--partition=%s", k->partition, NULL);
    if (k->account[0]) w[n++] = dupf("--account=%s", k->account, NULL);
    char extra[sizeof k->extra];
    snprintf(extra, sizeof extra, "%s", k->extra);
    for (char *t = strtok(extra, " \t"); t && n < 64; t = strtok(NULL, " \t"))
        w[n++] = dupf("%s", t, NULL);
    w[n++] = dupf("--open-mode=append", "", NULL);
    w[n++] = dupf("--chdir=%s", cwd, NULL);
    w[n++] = dupf("--export=ALL,ZEROPT=%s", exe, NULL);
    if (j->npt == 1) {
        w[n++] = dupf("--output=%s/slurm-%%j.out", p->cfg.run.dir, NULL);
        w[n++] = dupf("%s", script, NULL);
        w[n++] = dupf("%s", p->ini, NULL);
    } else {
        char no[32];
        snprintf(no, sizeof no, "%d", array_no);
        snprintf(j->list, sizeof j->list, "%s/slurm/array-%d.list", k->dir, array_no);
        char range[32];
        snprintf(range, sizeof range, "--array=0-%d", j->npt - 1);
        w[n++] = dupf("%s", range, NULL);
        w[n++] = dupf("--output=%s/slurm/array-%s-%%A_%%a.out", k->dir, no);
        w[n++] = dupf("%s", script, NULL);
        w[n++] = dupf("--list", "", NULL);
        w[n++] = dupf("%s", j->list, NULL);
    }
    j->argv = w, j->argc = n;
}

int jobs_build(const Campaign *k, const int *todo, int n, Job **out) {
    Job *j = calloc((size_t)n + 1, sizeof *j);
    int *taken = calloc((size_t)n + 1, sizeof *taken);
    if (!j || !taken) z_die_all("sweep: out of memory");
    /* the first array number whose list file is not there yet */
    int array_no = 0;
    for (;; array_no++) {
        char p[CAMPAIGN_PATH + 64];
        snprintf(p, sizeof p, "%s/slurm/array-%d.list", k->dir, array_no);
        if (access(p, F_OK)) break;
    }
    int nj = 0;
    for (int a = 0; a < n; a++) {
        if (taken[a]) continue;
        Job *J = &j[nj++];
        J->pt = calloc((size_t)n, sizeof *J->pt);
        if (!J->pt) z_die_all("sweep: out of memory");
        for (int b = a; b < n; b++)
            if (!taken[b] && same_shape(&k->pt[todo[a]], &k->pt[todo[b]]))
                taken[b] = 1, J->pt[J->npt++] = todo[b];
        build_one(k, J, J->npt > 1 ? array_no++ : -1);
    }
    free(taken);
    *out = j;
    return nj;
}

void jobs_free(Job *j, int n) {
    for (int i = 0; i < n; i++) {
        for (int a = 0; a < j[i].argc; a++) free(j[i].argv[a]);
        free(j[i].argv), free(j[i].pt);
    }
    free(j);
}

void job_print(FILE *f, const Job *j) {
    for (int a = 0; a < j->argc; a++) {
        const char *s = j->argv[a];
        int plain =
            strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_=./,:%+@") ==
            strlen(s);
        fprintf(f, "%s%s%s%s", a ? " " : "", plain ? "" : "'", s, plain ? "" : "'");
    }
    fprintf(f, "\n");
}

int job_test(const Job *j, char *err, size_t n) {
    char **w = calloc((size_t)j->argc + 2, sizeof *w);
    if (!w) z_die_all("sweep: out of memory");
    w[0] = j->argv[0];
    w[1] = "--test-only";
    for (int a = 1; a < j->argc; a++) w[a + 1] = j->argv[a];
    char out[4096];
    int rc = run(w, out, sizeof out, -1);
    free(w);
    if (rc == 0) return 0;
    if (rc == 127)
        snprintf(err, n, "sbatch not found (Slurm's client; --local runs the points here)");
    else
        last_line(err, n, out);
    return -1;
}

static void mkdir_for(const char *file) {
    char d[2 * CAMPAIGN_PATH];
    snprintf(d, sizeof d, "%s", file);
    char *s = strrchr(d, '/');
    if (!s) return;
    *s = 0;
    if (mkdir(d, 0777) && errno != EEXIST) z_die_all("sweep: %s: %s", d, strerror(errno));
}

int job_submit(const Campaign *k, const Job *j, char *id, size_t idn, char *err, size_t n) {
    if (j->list[0]) {
        mkdir_for(j->list);
        FILE *f = fopen(j->list, "w");
        if (!f) z_die_all("sweep: %s: %s", j->list, strerror(errno));
        int bad = 0;
        for (int i = 0; i < j->npt; i++) bad |= fprintf(f, "%s\n", k->pt[j->pt[i]].ini) < 0;
        bad |= fclose(f) != 0;
        if (bad) z_die_all("sweep: %s: write failed", j->list);
    }
    char out[4096];
    int rc = run(j->argv, out, sizeof out, -1);
    if (rc) {
        last_line(err, n, out);
        return -1;
    }
    /* --parsable: "id" or "id;cluster" */
    char line[256];
    last_line(line, sizeof line, out);
    line[strcspn(line, ";")] = 0;
    if (!line[0] || strlen(line) > 40 || strspn(line, "0123456789") != strlen(line)) {
        snprintf(err, n, "sbatch answered '%s', not a job id", line);
        return -1;
    }
    snprintf(id, idn, "%s", line);
    for (int i = 0; i < j->npt; i++) {
        const Point *p = &k->pt[j->pt[i]];
        char job[96], log[2 * CAMPAIGN_PATH + 64];
        if (j->list[0]) {
            snprintf(job, sizeof job, "%.40s_%d", line, i);
            snprintf(log, sizeof log, "%.*s-%.40s_%d.out", (int)(strlen(j->list) - 5), j->list,
                     line, i);
        } else {
            snprintf(job, sizeof job, "%.40s", line);
            snprintf(log, sizeof log, "%s/slurm-%.40s.out", p->cfg.run.dir, line);
        }
        record(k, p->name, job, log, -1);
    }
    return 0;
}

int point_run_local(const Campaign *k, int i, const char *mpirun) {
    const Point *p = &k->pt[i];
    char log[CAMPAIGN_PATH + 32], exe[PATH_MAX], np[32];
    snprintf(log, sizeof log, "%s/train.log", p->cfg.run.dir);
    exe_path(exe, sizeof exe);
    snprintf(np, sizeof np, "%d", p->ranks);
    int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0666);
    if (fd < 0) z_die_all("sweep: %s: %s", log, strerror(errno));
    dprintf(fd, "sweep: run %s: %s -n %s %s train -c %s checkpoint.resume=auto\n", p->name, mpirun,
            np, exe, p->ini);
    char *argv[] = {(char *)mpirun,           "-n", np, exe, "train", "-c", (char *)p->ini,
                    "checkpoint.resume=auto", NULL};
    int rc = run(argv, NULL, 0, fd);
    close(fd);
    if (rc == 127) z_die_all("sweep: %s not found (--mpirun)", mpirun);
    record(k, p->name, "local", log, rc);
    return rc;
}
