/*
 * check.h — the unit-test harness (TAP): check_plan(N) first, then each
 * check prints one line, "ok - name" or "not ok - name: detail";
 * tests/run.sh counts them against the plan. main() returns
 * check_exit(): non-zero when any check failed or the count is not the plan.
 */
#ifndef ZEROPT_CHECK_H
#define ZEROPT_CHECK_H

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int check_failures, check_count, check_planned = -1;
/* Under several MPI ranks only rank 0 prints (set check_quiet elsewhere);
 * the checks themselves run on every rank. */
static int check_quiet;

/* The number of checks this test will report. */
static inline void check_plan(int n) {
    check_planned = n;
    if (!check_quiet) printf("1..%d\n", n);
    fflush(stdout);
}

__attribute__((format(printf, 3, 4))) static void check(int cond, const char *name, const char *fmt,
                                                        ...) {
    char detail[512] = "";
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(detail, sizeof detail, fmt, ap);
        va_end(ap);
    }
    check_count++;
    if (!cond) check_failures++;
    if (!check_quiet && cond) printf("ok - %s%s%s\n", name, *detail ? "  # " : "", detail);
    if (!check_quiet && !cond) printf("not ok - %s: %s\n", name, detail);
    fflush(stdout);
}

/* ‖a − b‖ / ‖b‖ in double (b = reference); 0 when both are zero. */
static inline double rel_err_f(const float *a, const float *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (double)b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

static inline double rel_err_d(const double *a, const double *b, size_t n) {
    double num = 0, den = 0;
    for (size_t i = 0; i < n; i++) {
        double d = a[i] - b[i];
        num += d * d;
        den += b[i] * b[i];
    }
    return den > 0 ? sqrt(num / den) : sqrt(num);
}

/* A scratch directory for the test's files (check_tmpdir creates it) and
 * paths in it; check_file writes one. Paths rotate through 8 buffers. */
static char check_dir[64];
static inline const char *check_tmpdir(void) {
    snprintf(check_dir, sizeof check_dir, "/tmp/zeropt_test_XXXXXX");
    return mkdtemp(check_dir);
}
static inline const char *check_path(const char *name) {
    static char p[8][512];
    static int k;
    char *s = p[k++ % 8];
    snprintf(s, sizeof p[0], "%s/%s", check_dir, name);
    return s;
}
static inline const char *check_file(const char *name, const void *data, size_t n) {
    const char *p = check_path(name);
    FILE *f = fopen(p, "wb");
    if (f) fwrite(data, 1, n, f), fclose(f);
    return p;
}

/* main's status: 0 only when every planned check ran and passed. */
static inline int check_exit(void) {
    if (check_count != check_planned && !check_quiet)
        printf("# planned %d checks, ran %d\n", check_planned, check_count);
    return check_failures || check_count != check_planned ? 1 : 0;
}

#endif
