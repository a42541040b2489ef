/*
 * gnuplot.c — gnuplot as a child process (gnuplot.h).
 */
#include "gnuplot.h"

#include "mpi/err.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

int gp_render(const char *script, char *err, size_t errlen) {
    fflush(NULL);
    pid_t pid = fork();
    if (pid < 0) return z_fail(err, errlen, "gnuplot: fork: %s", strerror(errno));
    if (pid == 0) {
        execlp("gnuplot", "gnuplot", script, (char *)NULL);
        _exit(127);
    }
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR) return z_fail(err, errlen, "gnuplot: wait: %s", strerror(errno));
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127)
        return z_fail(err, errlen,
                      "gnuplot not found: install Debian's gnuplot-nox (make deps); the script "
                      "is %s",
                      script);
    if (!WIFEXITED(status) || WEXITSTATUS(status))
        return z_fail(err, errlen, "gnuplot %s failed (status %d)", script,
                      WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
    return 0;
}

void gp_quote(FILE *f, const char *s) {
    fputc('\'', f);
    for (; *s; s++) {
        if (*s == '\'') fputc('\'', f);
        if (*s != '\n') fputc(*s, f);
    }
    fputc('\'', f);
}

void gp_num(FILE *f, double v) {
    if (isfinite(v))
        fprintf(f, "%.9g", v);
    else
        fputc('?', f);
}

void gp_preamble(FILE *f, const char *png, int w, int h) {
    fprintf(f, "# written by zeropt; rerun with: gnuplot THIS_FILE\n");
    fprintf(f, "set terminal pngcairo size %d,%d noenhanced font 'sans,10'\nset output ", w, h);
    gp_quote(f, png);
    fprintf(f, "\nset datafile missing '?'\nset grid\nset key top right\n");
}

void gp_script_path(char *out, size_t n, const char *png) {
    size_t len = strlen(png);
    if (len > 4 && !strcmp(png + len - 4, ".png"))
        snprintf(out, n, "%.*s.gp", (int)(len - 4), png);
    else
        snprintf(out, n, "%s.gp", png);
}
