/*
 * watchdog.c — the collective watchdog (see watchdog.h).
 */
#include "watchdog.h"

#include "err.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static _Atomic long long since_ns; /* when the main thread entered; 0: not in one */
static _Atomic(const char *) cur_op, cur_what;
static _Atomic long cur_step;
static double limit_s;

static long long now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

void watchdog_enter(const char *op, const char *what, long step) {
    atomic_store(&cur_op, op);
    atomic_store(&cur_what, what);
    atomic_store(&cur_step, step);
    atomic_store(&since_ns, now_ns());
}

void watchdog_leave(void) {
    atomic_store(&since_ns, 0);
}

static void *watch(void *arg) {
    (void)arg;
    struct timespec tick = {0, 100000000}; /* 0.1 s */
    for (;;) {
        nanosleep(&tick, NULL);
        long long t0 = atomic_load(&since_ns);
        if (!t0) continue;
        double held = (double)(now_ns() - t0) / 1e9;
        if (held < limit_s) continue;
        /* one line on stderr with write(2) (the main thread may hold stdio's
         * locks inside MPI), then out: the launcher ends the job */
        char line[512], at[48] = "";
        long step = atomic_load(&cur_step);
        if (step >= 0) snprintf(at, sizeof at, " at step %ld", step + 1);
        int n = snprintf(line, sizeof line,
                         "zeropt: rank %d: watchdog: blocked %.1f s in %s of %s%s, more than "
                         "[run] collective_timeout = %g s (a rank stalled or died): aborting\n",
                         z_rank(), held, atomic_load(&cur_op), atomic_load(&cur_what), at, limit_s);
        if (write(2, line, n > 0 && n < (int)sizeof line ? (size_t)n : strlen(line)) < 0) {
        }
        _exit(1);
    }
    return NULL;
}

void watchdog_start(double seconds) {
    static int started;
    if (seconds <= 0 || started) return;
    started = 1, limit_s = seconds;
    pthread_t t;
    pthread_attr_t a;
    pthread_attr_init(&a);
    pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
    if (pthread_create(&t, &a, watch, NULL)) z_die("watchdog: cannot start its thread");
    pthread_attr_destroy(&a);
}
