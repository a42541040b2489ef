/*
 * fault.c — ZEROPT_FAULT, read once (see fault.h).
 */
#include "fault.h"

#include "err.h"

#include <stdlib.h>
#include <string.h>

static const char *const POINTS[] = {"ckpt-write", "ckpt-reserve", "comm-slow", "nan-grad",
                                     "loss-spike", "stall",        "ckpt-slow", "leak"};
#define NPOINTS (int)(sizeof POINTS / sizeof POINTS[0])

int z_fault(const char *point) {
    static int parsed, on[NPOINTS];
    if (!parsed) {
        parsed = 1;
        const char *env = getenv("ZEROPT_FAULT");
        for (const char *p = env; p && *p;) {
            size_t n = strcspn(p, ",");
            int k = 0;
            while (k < NPOINTS && (strlen(POINTS[k]) != n || strncmp(POINTS[k], p, n))) k++;
            if (k == NPOINTS)
                z_die("ZEROPT_FAULT=%s: unknown fault point '%.*s' (known: ckpt-write, "
                      "ckpt-reserve, comm-slow, nan-grad, loss-spike, stall, ckpt-slow, leak)",
                      env, (int)n, p);
            on[k] = 1;
            p += n + (p[n] == ',');
        }
    }
    for (int k = 0; k < NPOINTS; k++)
        if (!strcmp(point, POINTS[k])) return on[k];
    z_die("z_fault: unknown fault point '%s'", point);
}
