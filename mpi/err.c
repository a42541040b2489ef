/*
 * err.c — fatal errors and logging, aware of MPI (see err.h).
 */
#include "err.h"

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

void *z_alloc(size_t bytes, MemCat cat, const char *what) {
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
