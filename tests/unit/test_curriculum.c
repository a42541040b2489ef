/*
 * test_curriculum.c — the sequence-length warm-up's arithmetic
 * ([curriculum], src/objectives/curriculum.c): lengths grow from seq_start
 * to seq_len in multiples, the run's steps keep the token budget of
 * full-length steps exactly (the first step reaching it), and the
 * learning-rate schedule read at a fractional step agrees with the
 * step-indexed one. Documents by quality: ascending and descending orders,
 * draws weighted by score^power (frequencies within 5 standard errors), and
 * the refusals (no scores, packed windows, a negative score).
 */
#include "tests/lib/check.h"

#include "io/corpus.h"
#include "src/config/config.h"
#include "src/data/data.h"
#include "src/objectives/objective.h"
#include "src/optim/optim.h"

#include <math.h>
#include <string.h>

/* 6 documents scored 3, 1, 0, 2, 5, 1 (the val split unscored); scored = 2:
 * the last scores −1 */
static const float Q[6] = {3, 1, 0, 2, 5, 1};
static void write_corpus(const char *path, int scored) {
    CorpusMeta meta = {50, 0, 1, 2, 3, 4, -1, 5, "test", NULL};
    char err[256];
    CorpusWriter *w = corpus_writer_open(path, &meta, err, sizeof err);
    int32_t doc[8];
    for (int d = 0; d < 6; d++) {
        for (int i = 0; i < 8; i++) doc[i] = 10 + d; /* a document's tokens name it */
        corpus_writer_add(w, 0, doc, 8, err, sizeof err);
        if (scored) corpus_writer_set_quality(w, 0, scored == 2 && d == 5 ? -1 : Q[d]);
    }
    corpus_writer_add(w, 1, doc, 8, err, sizeof err);
    corpus_writer_close(w, err, sizeof err);
}

static void quality(void) {
    const char *path = "/tmp/zeropt_test_quality.h5", *bare = "/tmp/zeropt_test_noquality.h5";
    write_corpus(path, 1);
    write_corpus(bare, 0);
    DataSource d;
    char err[512];
    int32_t out[8];
    int rc = data_open(&d, path, "", err, sizeof err) ||
             data_docs(&d, 8, 3, 7, 1, err, sizeof err) ||
             data_quality_order(&d, DATA_QUALITY_ASCENDING, 1, err, sizeof err);
    int want[6] = {2, 1, 5, 3, 0, 4}, good = !rc; /* ties (1, 1) in document order */
    for (int k = 0; k < 12 && good; k++)
        good = !data_window(&d, k, out, err, sizeof err) && out[0] == 10 + want[k % 6];
    data_close(&d);
    rc = data_open(&d, path, "", err, sizeof err) || data_docs(&d, 8, 3, 7, 1, err, sizeof err) ||
         data_quality_order(&d, DATA_QUALITY_DESCENDING, 1, err, sizeof err);
    for (int k = 0; k < 6 && good && !rc; k++)
        good = !data_window(&d, k, out, err, sizeof err) && out[0] == 10 + want[5 - k];
    check(good && !rc, "quality order: ascending and descending, every epoch the same", "%s", err);
    data_close(&d);
    rc = data_open(&d, path, "", err, sizeof err) || data_docs(&d, 8, 3, 7, 1, err, sizeof err) ||
         data_quality_order(&d, DATA_QUALITY_WEIGHTED, 2, err, sizeof err);
    long cnt[6] = {0}, n = 60000;
    for (long k = 0; k < n && !rc; k++)
        if (!data_window(&d, k, out, err, sizeof err)) cnt[out[0] - 10]++;
    double z = 0, worst = 0;
    for (int i = 0; i < 6; i++) z += Q[i] * Q[i];
    for (int i = 0; i < 6; i++) {
        double p = Q[i] * Q[i] / z, se = sqrt(p * (1 - p) / n) + 1e-12;
        double dev = fabs((double)cnt[i] / n - p) / se;
        worst = dev > worst && p > 0 ? dev : worst;
        if (p == 0 && cnt[i]) worst = 1e9;
    }
    check(!rc && worst < 5, "quality = weighted: documents drawn in proportion to score^2",
          "worst %.2f standard errors", worst);
    data_close(&d);
    rc = data_open(&d, bare, "", err, sizeof err) || data_docs(&d, 8, 3, 7, 1, err, sizeof err) ||
         data_quality_order(&d, DATA_QUALITY_ASCENDING, 1, err, sizeof err);
    int e1 = rc && strstr(err, "/quality") && strstr(err, bare);
    data_close(&d);
    rc = data_open(&d, path, "", err, sizeof err) ||
         data_pack(&d, 6, 0, 3, 7, 1, "seq_len 8", err, sizeof err) ||
         data_quality_order(&d, DATA_QUALITY_ASCENDING, 1, err, sizeof err);
    int e2 = rc && strstr(err, "packing = pad");
    data_close(&d);
    write_corpus(bare, 2);
    rc = data_open(&d, bare, "", err, sizeof err) || data_docs(&d, 8, 3, 7, 1, err, sizeof err) ||
         data_quality_order(&d, DATA_QUALITY_WEIGHTED, 1, err, sizeof err);
    int e3 = rc && strstr(err, "document 5") && strstr(err, "-1 < 0");
    data_close(&d);
    check(e1 && e2 && e3, "refused: no scores, packed windows, a negative weight", "%s", err);
    remove(path), remove(bare);
}

int main(void) {
    check_plan(8);
    quality();
    CurriculumConfig cu = {64, 1000, 8, 0, 1};
    int T = 512, ok_len = 1, prev = 0;
    for (long s = 0; s < 1200; s++) {
        int n = obj_seq_len(&cu, T, s);
        ok_len &= n >= 64 && n <= T && n % 8 == 0 && n >= prev && (s < 1000 || n == T);
        prev = n;
    }
    check(ok_len && obj_seq_len(&cu, T, 0) == 64 && obj_seq_len(&cu, T, 500) == 288,
          "lengths: from seq_start, multiples of 8, growing, seq_len after the warm-up",
          "step 500: %d", obj_seq_len(&cu, T, 500));
    double exact = 0;
    for (long s = 0; s < 1500; s++) exact += obj_seq_len(&cu, T, s);
    check(obj_seq_tokens(&cu, T, 4, 1500) == 4 * exact, "tokens of the first steps", NULL);
    long steps = 3000, total = obj_seq_total_steps(&cu, T, steps);
    double budget = (double)steps * T;
    check(obj_seq_tokens(&cu, T, 1, total) >= budget &&
              obj_seq_tokens(&cu, T, 1, total - 1) < budget && total > steps,
          "the run keeps the token budget of full-length steps", "%ld steps instead of %ld", total,
          steps);
    /* a warm-up longer than the run */
    CurriculumConfig lng = {16, 5000, 16, 0, 1};
    long t2 = obj_seq_total_steps(&lng, T, 100);
    check(obj_seq_tokens(&lng, T, 1, t2) >= 100.0 * T &&
              obj_seq_tokens(&lng, T, 1, t2 - 1) < 100.0 * T,
          "the budget when the warm-up outlasts it", "%ld steps", t2);
    Config c;
    config_defaults(&c);
    c.train.steps = 100, c.train.warmup = 10, c.train.schedule = SCHED_COSINE;
    int same = 1;
    for (long s = 0; s < 100; s++) same &= lr_at(&c.train, s) == lr_at_frac(&c.train, (double)s);
    c.train.schedule = SCHED_WSD;
    for (long s = 0; s < 100; s++) same &= lr_at(&c.train, s) == lr_at_frac(&c.train, (double)s);
    check(same && lr_at_frac(&c.train, 4.5) > lr_at(&c.train, 4) &&
              lr_at_frac(&c.train, 4.5) < lr_at(&c.train, 5),
          "the schedule at fractional steps (the tokens clock)", NULL);
    return check_exit();
}
