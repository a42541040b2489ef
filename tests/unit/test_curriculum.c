/*
 * test_curriculum.c — the sequence-length warm-up's arithmetic
 * ([curriculum], src/objectives/curriculum.c): lengths grow from seq_start
 * to seq_len in multiples, the run's steps keep the token budget of
 * full-length steps exactly (the first step reaching it), and the
 * learning-rate schedule read at a fractional step agrees with the
 * step-indexed one.
 */
#include "tests/lib/check.h"

#include "src/config/config.h"
#include "src/objectives/objective.h"
#include "src/optim/optim.h"

int main(void) {
    check_plan(5);
    CurriculumConfig cu = {64, 1000, 8};
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
    CurriculumConfig lng = {16, 5000, 16};
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
