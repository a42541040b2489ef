/*
 * metrics.h — the run's metrics log: metrics.jsonl, one JSON object per
 * line, written by rank 0 and flushed every line (a crash loses nothing).
 */
#ifndef ZEROPT_METRICS_H
#define ZEROPT_METRICS_H

typedef struct Metrics Metrics;

/* Open (append) path; NULL + err on failure. */
Metrics *metrics_open(const char *path, char *err, unsigned long errlen);
/* Start a record; then add fields; then end writes the line. */
void metrics_begin(Metrics *m);
void metrics_int(Metrics *m, const char *key, long long v);
void metrics_real(Metrics *m, const char *key, double v);
void metrics_str(Metrics *m, const char *key, const char *v);
int metrics_end(Metrics *m); /* 0 on success */
void metrics_close(Metrics *m);

#endif
