/*
 * gnuplot.h — drawing through gnuplot (Debian's gnuplot-nox, pngcairo): a
 * command writes a self-contained script (data inline as datablocks) beside
 * the picture, so a user can edit and rerun it, and gp_render runs it.
 */
#ifndef ZEROPT_SWEEP_GNUPLOT_H
#define ZEROPT_SWEEP_GNUPLOT_H

#include <stddef.h>
#include <stdio.h>

/* Run `gnuplot script`. 0, or −1 with one line in err: gnuplot missing
 * (the package to install) or the script failed (its status). */
int gp_render(const char *script, char *err, size_t errlen);

/* s as a gnuplot single-quoted string ('' doubles a quote). */
void gp_quote(FILE *f, const char *s);

/* One number, "?" (gnuplot's missing value, set by gp_preamble) when not
 * finite. */
void gp_num(FILE *f, double v);

/* The common head of a script: a PNG of w × h pixels at png, missing "?". */
void gp_preamble(FILE *f, const char *png, int w, int h);

/* script path for png: "x.png" → "x.gp" (any other name: name + ".gp") */
void gp_script_path(char *out, size_t n, const char *png);

#endif
