/*
 * report.h — what prep did, for people (a table on stdout) and for scripts
 * (--stats FILE.json): documents and bytes in, what each cleaning rule,
 * dedup and the quality threshold dropped, the quality histogram, tokens
 * out, shards, time and throughput.
 */
#ifndef ZEROPT_PREP_REPORT_H
#define ZEROPT_PREP_REPORT_H

#include "prep.h"

#include <stdio.h>

void prep_report_print(FILE *f, const PrepOptions *o, const PrepStats *st);
/* 0 on success; err names the file otherwise. */
int prep_report_json(const char *path, const PrepOptions *o, const PrepStats *st, char *err,
                     size_t errlen);

#endif
