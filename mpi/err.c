/*
 * err.c — fatal errors and logging, aware of MPI (see err.h).
 */
#include "err.h"

#include "kernels/kdev.h"

#include <mpi.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int mpi_live(void) {
    int init = 0, fin = 0;
    MPI_Initialized(&init);
    MPI_Finalized(&fin);
    return init && !fin;
}

int z_rank(void) {
    int r = 0;
    if (mpi_live()) MPI_Comm_rank(MPI_COMM_WORLD, &r);
    return r;
}

int z_nranks(void) {
    int n = 1;
    if (mpi_live()) MPI_Comm_size(MPI_COMM_WORLD, &n);
    return n;
}

static void print_line(const char *fmt, va_list ap) {
    char msg[Z_ERR_MAX];
    vsnprintf(msg, sizeof msg, fmt, ap);
    fprintf(stderr, "zeropt: rank %d: %s\n", z_rank(), msg);
}

/* A failure seen by one rank: the others may be inside a collective, so the
 * only way to free them is to abort the job. */
void z_die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    print_line(fmt, ap);
    va_end(ap);
    fflush(stdout);
    fflush(stderr);
    if (mpi_live() && z_nranks() > 1) MPI_Abort(MPI_COMM_WORLD, 1);
    exit(1);
}

/* A failure every rank detects by itself (same config, same file header):
 * each exits, rank 0 alone explains why. The launcher reaps the rest. */
void z_die_all(const char *fmt, ...) {
    int multi = mpi_live() && z_nranks() > 1, rank = z_rank();
    if (rank == 0) {
        va_list ap;
        va_start(ap, fmt);
        print_line(fmt, ap);
        va_end(ap);
    }
    fflush(stdout);
    fflush(stderr);
    if (multi) {
        if (rank != 0) { /* let rank 0's line out first: its abort ends this process */
            struct timespec ts = {0, 50 * 1000 * 1000};
            for (int i = 0; i < 40; i++) nanosleep(&ts, NULL);
        }
        MPI_Abort(MPI_COMM_WORLD, 1);
    }
    exit(1);
}

static void (*agreed_hook)(void);

void z_at_agreed_exit(void (*fn)(void)) {
    agreed_hook = fn;
}

void z_exit_agreed(const char *my_error) {
    if (my_error && *my_error) fprintf(stderr, "zeropt: rank %d: %s\n", z_rank(), my_error);
    fflush(stderr);
    void (*fn)(void) = agreed_hook;
    agreed_hook = NULL; /* once, even if it fails in turn */
    if (fn) fn();
    fflush(stdout);
    fflush(stderr);
    exit(1);
}

void z_log(const char *fmt, ...) {
    if (z_rank() != 0) return;
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stdout, fmt, ap);
    va_end(ap);
    fputc('\n', stdout);
    fflush(stdout);
}

int z_fail(char *err, size_t errlen, const char *fmt, ...) {
    if (err && errlen) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

void *z_malloc(size_t bytes, const char *what) {
    void *p = malloc(bytes ? bytes : 1);
    if (!p) z_die("out of memory allocating %zu bytes for %s", bytes, what);
    return p;
}

static double mem_limit; /* bytes per rank; 0: unknown */
static int mem_ranks = 1;
static char mem_src[1400];

/* the first number in file path, in bytes; -1 when absent or "max" */
static double read_bytes(const char *path) {
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    double v = -1;
    if (fscanf(f, "%lf", &v) != 1) v = -1;
    fclose(f);
    return v;
}

/* `key`'s value in the memory.stat file of dir; 0 when absent */
static double stat_key(const char *dir, const char *key) {
    char file[1300], name[64];
    snprintf(file, sizeof file, "%s/memory.stat", dir);
    FILE *f = fopen(file, "r");
    double v, got = 0;
    while (f && fscanf(f, "%63s %lf", name, &v) == 2)
        if (!strcmp(name, key)) got = v;
    if (f) fclose(f);
    return got;
}

/* The tightest limit less usage over this process's memory cgroup and its
 * ancestors (v2: memory.max, memory.current; v1: the memory controller's
 * limit_in_bytes, usage_in_bytes); -1: none. Usage counts the page cache,
 * whose inactive file pages the kernel reclaims before it kills: they are
 * left out of it (inactive_file in memory.stat; v1: total_inactive_file). */
static double cgroup_room(char *where, size_t n) {
    FILE *f = fopen("/proc/self/cgroup", "r");
    if (!f) return -1;
    char line[1024], path[1024] = "", root[64] = "";
    const char *lim = NULL, *use = NULL, *cache = NULL;
    while (fgets(line, sizeof line, f)) { /* "0::/path" (v2) or "N:memory:/path" (v1) */
        line[strcspn(line, "\n")] = 0;
        char *a = strchr(line, ':'), *b = a ? strchr(a + 1, ':') : NULL;
        if (!b) continue;
        if (!strncmp(a, "::", 2) && !lim) {
            snprintf(path, sizeof path, "%s", b + 1);
            snprintf(root, sizeof root, "/sys/fs/cgroup");
            lim = "memory.max", use = "memory.current", cache = "inactive_file";
        } else if (!strncmp(a + 1, "memory:", 7) || strstr(a + 1, ",memory:")) {
            snprintf(path, sizeof path, "%s", b + 1);
            snprintf(root, sizeof root, "/sys/fs/cgroup/memory");
            lim = "memory.limit_in_bytes", use = "memory.usage_in_bytes";
            cache = "total_inactive_file";
            break; /* v1's memory controller wins over a v2 line */
        }
    }
    fclose(f);
    double best = -1;
    for (int len = (int)strlen(path); lim && len >= 0;) { /* the cgroup, then its parents */
        char dir[1200], file[1300];
        snprintf(dir, sizeof dir, "%s%.*s", root, len, path);
        snprintf(file, sizeof file, "%s/%s", dir, lim);
        double l = read_bytes(file);
        snprintf(file, sizeof file, "%s/%s", dir, use);
        double u = read_bytes(file);
        if (u > 0) u -= stat_key(dir, cache);
        if (l > 0 && l < 1e18 && u >= 0 && (best < 0 || l - u < best)) {
            best = l - u > 0 ? l - u : 0;
            snprintf(where, n, "%s/%s", dir, lim);
        }
        if (len == 0) break;
        while (len > 0 && path[len - 1] != '/') len--;
        if (len > 0) len--; /* drop the last component and its slash */
    }
    return best;
}

void z_mem_limit_init(int local_ranks) {
    mem_ranks = local_ranks > 0 ? local_ranks : 1;
    const char *env = getenv("ZEROPT_MEM_AVAILABLE_MB");
    double node = -1;
    if (env && *env) {
        char *end;
        node = strtod(env, &end) * 1e6;
        if (*end || !(node > 0)) z_die("ZEROPT_MEM_AVAILABLE_MB=%s: not a positive number", env);
        snprintf(mem_src, sizeof mem_src, "ZEROPT_MEM_AVAILABLE_MB");
    } else {
        FILE *f = fopen("/proc/meminfo", "r");
        char line[256];
        double kb;
        while (f && fgets(line, sizeof line, f))
            if (sscanf(line, "MemAvailable: %lf kB", &kb) == 1) node = kb * 1024;
        if (f) fclose(f);
        if (node > 0) snprintf(mem_src, sizeof mem_src, "MemAvailable in /proc/meminfo");
        char where[sizeof mem_src];
        double cg = cgroup_room(where, sizeof where);
        if (cg >= 0 && (node < 0 || cg < node)) {
            node = cg;
            snprintf(mem_src, sizeof mem_src, "%s", where);
        }
    }
    mem_limit = node > 0 ? node / mem_ranks : 0;
}

double z_mem_limit(const char **src, int *local_ranks) {
    if (src) *src = mem_src;
    if (local_ranks) *local_ranks = mem_ranks;
    return mem_limit;
}

void *z_alloc(size_t bytes, MemCat cat, const char *what) {
    MemStats ms = k_mem_stats();
    if (mem_limit > 0 && !k_dev && (double)ms.total + (double)bytes > mem_limit)
        z_die(
            "out of memory: %.1f MB more for %s, on top of the %.1f MB this rank holds (params "
            "%.1f, "
            "grads %.1f, optimizer %.1f, buffers %.1f, activations %.1f, batch %.1f MB), past the "
            "%.1f MB "
            "each of this node's %d rank(s) can have (%s, at start): a smaller model or "
            "batch, more nodes, or a higher [zero] stage",
            (double)bytes / 1e6, what, (double)ms.total / 1e6, ms.now[MEM_PARAMS] / 1e6,
            ms.now[MEM_GRADS] / 1e6, ms.now[MEM_OPTIM] / 1e6, ms.now[MEM_BUFFERS] / 1e6,
            ms.now[MEM_ACTS] / 1e6, ms.now[MEM_DATA] / 1e6, mem_limit / 1e6, mem_ranks, mem_src);
    void *p = k_alloc(bytes, cat);
    if (!p) z_die("out of memory allocating %.1f MB for %s", (double)bytes / 1e6, what);
    return p;
}

void *z_calloc(size_t n, size_t size, const char *what) {
    void *p = calloc(n ? n : 1, size ? size : 1);
    if (!p) z_die("out of memory allocating %zu x %zu bytes for %s", n, size, what);
    return p;
}

char *z_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    return memcpy(z_malloc(n, "string"), s, n);
}
